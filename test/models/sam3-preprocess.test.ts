/**
 * SAM3 preprocessing: resize to S×S (antialiased bilinear, aspect not kept), mean = std = 0.5 normalisation,
 * NCHW layout, and the photo → prompt-encoder coordinate mapping.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { photoToModelPoint, preprocessSam3Image, triangleAxisTable } from '../../src/models/sam3-preprocess';
import { rgbImage as image } from '../fixtures/images';
import { isPartitionOfUnity, nonZeroTaps } from './helpers';

/** Triangle-kernel weight of input sample i for output sample d (the definition, unnormalised). */
function tri(src: number, dst: number, d: number, i: number): number {
  const scale = src / dst;
  const f = Math.max(1, scale);
  const c = (d + 0.5) * scale;
  return Math.max(0, 1 - Math.abs((i + 0.5 - c) / f));
}

describe('SAM3 preprocessing', () => {
  it('normalises each channel as v/127.5 − 1 (mean = std = 0.5) in R, G, B order', () => {
    const out = preprocessSam3Image(image(37, 23, () => [255, 0, 51]), 16);
    // Uniform input: every resampled value is the input value (weights sum to 1), so exact up to float32.
    for (let i = 0; i < 256; i++) {
      expect(out[i]).toBeCloseTo(1, 6);
      expect(out[256 + i]).toBeCloseTo(-1, 6);
      expect(out[512 + i]).toBeCloseTo(51 / 127.5 - 1, 6);
    }
  });

  it('keeps orientation on a non-square photo: left/right and top/bottom halves land on the same sides', () => {
    // Wide photo: red on the left half, blue on the right; green in the top half.
    const W = 300, H = 120;
    const out = preprocessSam3Image(image(W, H, (x, y) => [x < W / 2 ? 255 : 0, y < H / 2 ? 255 : 0, x < W / 2 ? 0 : 255]), 64);
    const at = (c: number, row: number, col: number) => out[c * 64 * 64 + row * 64 + col]!;
    // Away from the seams (blending spans about one input-to-output ratio), values are exact.
    expect(at(0, 5, 3)).toBeCloseTo(1, 5); // red, left
    expect(at(0, 5, 60)).toBeCloseTo(-1, 5);
    expect(at(2, 5, 60)).toBeCloseTo(1, 5); // blue, right
    expect(at(1, 3, 30)).toBeCloseTo(1, 5); // green, top
    expect(at(1, 60, 30)).toBeCloseTo(-1, 5); // not green, bottom
  });

  it('resample weights are non-negative and sum to 1; enlarging is plain bilinear', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 300 }), fc.integer({ min: 1, max: 300 }), (src, dst) => {
        const t = triangleAxisTable(src, dst);
        return t.outSize === dst && t.weight.every((w) => w >= 0) && isPartitionOfUnity(t, src);
      }),
    );
    // 2 → 4: output centres at 0.25, 0.75, 1.25, 1.75 in input units; sample centres at 0.5 and 1.5.
    const t = triangleAxisTable(2, 4);
    expect(nonZeroTaps(t, 0)).toEqual([[0, 1]]); // clamped to the first sample (tri weight of sample 1 is 0)
    expect(nonZeroTaps(t, 1)).toEqual([[0, 0.75], [1, 0.25]]);
    expect(nonZeroTaps(t, 2)).toEqual([[0, 0.25], [1, 0.75]]);
  });

  it('property: the separable resize equals the direct 2-D triangle-filter definition', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 24 }),
        fc.integer({ min: 1, max: 24 }),
        fc.integer({ min: 1, max: 12 }),
        fc.uint8Array({ minLength: 24 * 24 * 3, maxLength: 24 * 24 * 3 }),
        (W, H, S, px) => {
          const img = image(W, H, (x, y) => [px[(y * W + x) * 3]!, px[(y * W + x) * 3 + 1]!, px[(y * W + x) * 3 + 2]!]);
          const out = preprocessSam3Image(img, S);
          for (let c = 0; c < 3; c++) {
            for (let oy = 0; oy < S; oy++) {
              for (let ox = 0; ox < S; ox++) {
                let acc = 0, norm = 0;
                for (let y = 0; y < H; y++) {
                  const wy = tri(H, S, oy, y);
                  if (wy === 0) continue;
                  for (let x = 0; x < W; x++) {
                    const wgt = wy * tri(W, S, ox, x);
                    acc += wgt * img.data[(y * W + x) * 4 + c]!;
                    norm += wgt;
                  }
                }
                const ref = acc / norm / 127.5 - 1;
                // float32 accumulation of ≤ 24² terms of magnitude ≤ 255: well within 1e-4 after /127.5.
                expect(Math.abs(out[c * S * S + oy * S + ox]! - ref)).toBeLessThan(1e-4);
              }
            }
          }
        },
      ),
      { numRuns: 60 },
    );
  });

  it('maps photo points per axis and subtracts the prompt encoder’s +0.5', () => {
    expect(photoToModelPoint(320, 90, 640, 180)).toEqual([503.5, 503.5]); // centre → centre
    expect(photoToModelPoint(0, 0, 640, 180)).toEqual([-0.5, -0.5]); // top-left corner of the image
    expect(photoToModelPoint(640, 180, 640, 180)).toEqual([1007.5, 1007.5]);
    expect(photoToModelPoint(64, 90, 640, 180, 1008)).toEqual([100.8 - 0.5, 503.5]);
  });
});
