/**
 * Resampling kernels of the model pre/post-processing (src/models/resample.ts).
 *
 * Proves: every axis table is a partition of unity with in-range indices (property test over sizes); area
 * shrinking by an integer factor is the exact block mean; a constant image normalises to the exact constant;
 * the map resize is exact on constants (in value and in inverse space), interpolates 1/x (not x), excludes invalid
 * values with renormalised weights, and returns 0 where no neighbour is valid.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { axisTable, resizeMap, resizeToNCHW } from '../../src/models/resample';
import { isPartitionOfUnity, nonZeroTaps } from './helpers';

describe('axisTable', () => {
  it('weights sum to 1 and indices stay inside the source (area and cubic)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 700 }), fc.integer({ min: 1, max: 700 }), (inSize, outSize) => {
        const t = axisTable(inSize, outSize);
        return t.outSize === outSize && isPartitionOfUnity(t, inSize);
      }),
      { numRuns: 300 },
    );
  });

  it('area weights are overlap lengths: 5 → 2 gives [1, 1, 0.5]/2.5 and [0.5, 1, 1]/2.5', () => {
    const t = axisTable(5, 2);
    expect(nonZeroTaps(t, 0).map(([j]) => j)).toEqual([0, 1, 2]);
    nonZeroTaps(t, 0).forEach(([, w], k) => expect(w).toBeCloseTo([0.4, 0.4, 0.2][k]!, 7));
    expect(nonZeroTaps(t, 1).map(([j]) => j)).toEqual([2, 3, 4]);
    nonZeroTaps(t, 1).forEach(([, w], k) => expect(w).toBeCloseTo([0.2, 0.4, 0.4][k]!, 7));
  });
});

describe('resizeToNCHW', () => {
  const mean = [0.485, 0.456, 0.406] as const;
  const std = [0.229, 0.224, 0.225] as const;

  it('halving is the exact 2×2 block mean, written as planar normalised RGB', () => {
    const W = 6;
    const H = 4;
    const data = new Uint8Array(W * H * 4).map((_, i) => (i * 37 + 11) & 255);
    const out = resizeToNCHW({ width: W, height: H, data }, 3, 2, mean, std);
    for (let c = 0; c < 3; c++) {
      for (let y = 0; y < 2; y++) {
        for (let x = 0; x < 3; x++) {
          let s = 0;
          for (const [dx, dy] of [[0, 0], [1, 0], [0, 1], [1, 1]]) s += data[((2 * y + dy) * W + 2 * x + dx) * 4 + c]!;
          const want = (s / 4 / 255 - mean[c]!) / std[c]!;
          expect(out[c * 6 + y * 3 + x]).toBeCloseTo(want, 5);
        }
      }
    }
  });

  it('a constant image stays constant through area and cubic resampling', () => {
    const data = new Uint8Array(37 * 23 * 4).fill(200);
    for (const [w, h] of [[14, 28], [140, 70], [37, 23]] as const) {
      const out = resizeToNCHW({ width: 37, height: 23, data }, w, h, mean, std);
      for (let c = 0; c < 3; c++) {
        const want = (200 / 255 - mean[c]!) / std[c]!;
        for (let i = 0; i < w * h; i++) expect(Math.abs(out[c * w * h + i]! - want)).toBeLessThan(2e-5);
      }
    }
  });
});

describe('resizeMap', () => {
  it('is exact on constants, in value and in inverse space', () => {
    const src = new Float32Array(7 * 5).fill(2.5);
    for (const inverse of [false, true]) {
      const out = resizeMap(src, 7, 5, 20, 9, { inverse });
      for (const v of out) expect(v).toBeCloseTo(2.5, 6);
    }
  });

  it('interpolates inverse depth: halfway between depths 1 and 3 is 1/((1 + 1/3)/2) = 1.5, not 2', () => {
    const src = Float32Array.from([1, 3]);
    // 2 → 4 columns: output column 1 sits at source x = 0.25, column 2 at 0.75 (half-pixel centres).
    const inv = resizeMap(src, 2, 1, 4, 1, { inverse: true });
    expect(inv[1]).toBeCloseTo(1 / (0.75 * 1 + 0.25 / 3), 6);
    expect(inv[2]).toBeCloseTo(1 / (0.25 * 1 + 0.75 / 3), 6);
    const lin = resizeMap(src, 2, 1, 4, 1);
    expect(lin[1]).toBeCloseTo(1.5, 6);
    expect(lin[0]).toBe(1);
    expect(lin[3]).toBe(3);
  });

  it('excludes invalid depth, renormalising the valid neighbours, and gives 0 where none is valid', () => {
    // 4×1 source [2, 0, NaN, 4] upsampled ×2: the invalid middle pixels never contribute.
    const out = resizeMap(Float32Array.from([2, 0, Number.NaN, 4]), 4, 1, 8, 1, { inverse: true, scale: 10 });
    // Output x samples source at (x + 0.5)/2 − 0.5: −0.25 (clamped to 0), 0.25, 0.75, 1.25, 1.75, 2.25, 2.75, 3.25.
    expect(Array.from(out)).toEqual([20, 20, 20, 0, 0, 40, 40, 40].map((v) => expect.closeTo(v, 5)));
  });
});
