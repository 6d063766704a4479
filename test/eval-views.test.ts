/**
 * Unit tests of the novel-view metrics (scripts/eval/view-metrics.ts) and the rubber-sheet geometry
 * (scripts/eval/rubber-sheet.ts), on hand-computable cases.
 */
import { describe, expect, it } from 'vitest';
import type { RGBAImage } from '../src/core/types';
import { rgbImage } from './fixtures/images';
import {
  CLEAR_GREEN,
  CLEAR_MAGENTA,
  coverageFromPair,
  depthFromDisparity,
  enclosedHoles,
  fillDisparityForRendering,
  fillDisparityRows,
  holeFraction,
  orbitHoles,
  scoreView,
  scoredRegions,
} from '../scripts/eval/view-metrics';
import { rubberSheetGeometry } from '../scripts/eval/rubber-sheet';
import { convolveSeparable, gaussianKernel, luminance, meanOver } from '../scripts/eval/image-metrics';

/** Regions of the right view for a left disparity (row-filled first, as the protocol does). */
const regionsOf = (disp: Float32Array, W: number, H: number) => scoredRegions(fillDisparityRows(disp, W, H));

/** A W×H disparity of 2 px with one jump on row y: 6 px from x = 20 to the row's end. */
function oneJump(W: number, H: number, y: number): Float32Array {
  const disp = new Float32Array(W * H).fill(2);
  disp.fill(6, y * W + 20, (y + 1) * W);
  return disp;
}

/** A textured test image: values stay within [20, 235] so a ±5 offset never clips. */
const textured = (w: number, h: number): RGBAImage => rgbImage(w, h, (x, y) => [20 + ((x * 7 + y * 13) % 200), 20 + ((x * 3 + y * 5) % 200), 20 + ((x * 11 + y) % 200)]);

describe('row filling of unknown disparities', () => {
  it('fills each unknown run with the smaller (background) bounding disparity, edges from their only side', () => {
    const W = 8;
    const disp = new Float32Array([0, 5, 0, 0, 2, NaN, -1, 3, /* row 1: nothing known */ 0, 0, 0, 0, 0, 0, 0, 0]);
    const f = fillDisparityRows(disp, W, 2);
    expect(Array.from(f.disparity.subarray(0, W))).toEqual([5, 5, 2, 2, 2, 2, 2, 3]);
    expect(Array.from(f.rowKnown)).toEqual([1, 0]);
    expect(Array.from(f.disparity.subarray(W))).toEqual(new Array(W).fill(0));
    // A trailing run takes the last known value.
    const g = fillDisparityRows(new Float32Array([4, 0, 0]), 3, 1);
    expect(Array.from(g.disparity)).toEqual([4, 4, 4]);
  });

  it('copies the nearest known row into rows without any for rendering, and converts to depth W/d', () => {
    const W = 2;
    // rows: known(1), none, none, none, known(4)
    const disp = new Float32Array([1, 1, 0, 0, 0, 0, 0, 0, 4, 4]);
    const r = fillDisparityForRendering(fillDisparityRows(disp, W, 5))!;
    // row 1 and row 2 (tie: upper) from row 0, row 3 from row 4
    expect(Array.from(r)).toEqual([1, 1, 1, 1, 1, 1, 4, 4, 4, 4]);
    expect(Array.from(depthFromDisparity(r, W))).toEqual([2, 2, 2, 2, 2, 2, 0.5, 0.5, 0.5, 0.5]);
    expect(fillDisparityForRendering(fillDisparityRows(new Float32Array(4), 2, 2))).toBeNull();
  });
});

describe('scored regions ALL and BAND', () => {
  it('ALL drops the border, the strip right of max(x − d) and rows without known disparity', () => {
    const W = 40;
    const H = 30;
    const disp = new Float32Array(W * H).fill(25);
    disp.fill(0, 15 * W, 16 * W); // row 15 unknown
    const r = regionsOf(disp, W, H);
    // max(x − d) = 39 − 25 = 14: columns 10..14 of rows 10..19 except row 15.
    expect(r.allCount).toBe(5 * 9);
    expect(r.all[12 * W + 14]).toBe(1);
    expect(r.all[12 * W + 15]).toBe(0);
    expect(r.all[12 * W + 9]).toBe(0);
    expect(r.all[15 * W + 12]).toBe(0);
    expect(r.all[9 * W + 12]).toBe(0);
    expect(r.all[20 * W + 12]).toBe(0);
    // No jump anywhere: empty band.
    expect(r.bandCount).toBe(0);
  });

  it('BAND is the 8 px disc neighbourhood of the warped jump segment, within ALL', () => {
    const W = 50;
    const H = 41;
    // One jump, on row 20 only: d = 2 left of x = 20, 6 from x = 20 on. Warped: 19 − 2 = 17, 20 − 6 = 14.
    const r = regionsOf(oneJump(W, H, 20), W, H);
    // ALL: rows 10..30, columns 10..39 (max(x − d) ≥ 43 on every row, the border cuts at 39).
    expect(r.allCount).toBe(21 * 30);
    const at = (x: number, y: number): number => r.band[y * W + x]!;
    expect(at(10, 20)).toBe(1); // 4 px left of the segment; x < 10 is border
    expect(at(25, 20)).toBe(1); // 25 − 17 = 8
    expect(at(26, 20)).toBe(0);
    expect(at(17, 28)).toBe(1); // straight below the segment end, dy = 8
    expect(at(18, 28)).toBe(0);
    expect(at(14, 12)).toBe(1);
    expect(at(13, 12)).toBe(0);
    expect(at(15, 11)).toBe(0); // dy = 9
    // Row by row, |dy| = 0…8: [ceil(14 − √(64 − dy²)), floor(17 + √(64 − dy²))] ∩ [10, 39] has
    // 16, 15, 15, 15, 14, 14, 13, 10, 4 pixels: 16 + 2·100 = 216.
    expect(r.bandCount).toBe(216);
  });

  it('ignores disparity steps of at most 1 px', () => {
    const W = 40;
    const H = 30;
    const disp = new Float32Array(W * H);
    for (let i = 0; i < disp.length; i++) disp[i] = 3 + (i % W < 20 ? 0 : 1);
    expect(regionsOf(disp, W, H).bandCount).toBe(0);
  });
});

describe('coverage pair and holes', () => {
  it('recovers content over black and the transmittance from renders over magenta and green', () => {
    const W = 3;
    const C: [number, number, number] = [100, 150, 200];
    // Pixel 0 opaque content, pixel 1 nothing rendered, pixel 2 content at alpha ½ (straight "over").
    const over = (K: readonly number[]): RGBAImage =>
      rgbImage(W, 1, (x) => (x === 0 ? C : x === 1 ? [K[0]!, K[1]!, K[2]!] : [Math.round(0.5 * C[0] + 0.5 * K[0]!), Math.round(0.5 * C[1] + 0.5 * K[1]!), Math.round(0.5 * C[2] + 0.5 * K[2]!)]));
    const cov = coverageFromPair(over(CLEAR_MAGENTA), over(CLEAR_GREEN));
    expect(Array.from(cov.content.data.subarray(0, 4))).toEqual([100, 150, 200, 255]);
    expect(Array.from(cov.content.data.subarray(4, 8))).toEqual([0, 0, 0, 255]);
    // ½·C + ½·K with C even: the content channels are exact (R and B from green, G from magenta: 0 there).
    expect(Array.from(cov.content.data.subarray(8, 12))).toEqual([50, 75, 100, 255]);
    expect(cov.transmittance[0]).toBe(0);
    expect(cov.transmittance[1]).toBe(1);
    // Each channel's 127.5 rounds half up to 128 over one clear colour and is 0 over the other: T = 128/255.
    expect(cov.transmittance[2]).toBeCloseTo(128 / 255, 6);
    // Threshold ½ counts it (128/255 > ½); at 0.51 only the empty pixel is a hole.
    expect(holeFraction(cov.transmittance)).toBeCloseTo(2 / 3, 12);
    expect(holeFraction(cov.transmittance, undefined, 0.51)).toBeCloseTo(1 / 3, 12);
    expect(holeFraction(cov.transmittance, new Uint8Array([1, 0, 0]))).toBe(0);
    expect(holeFraction(cov.transmittance, new Uint8Array(3))).toBeNull();
  });

  it('counts only clear pixels enclosed by rendered ones as orbit holes', () => {
    // 5×5: outer ring clear except the top-left corner, centre clear, the rest rendered.
    const W = 5;
    const t = new Float32Array(25);
    for (let y = 0; y < 5; y++) for (let x = 0; x < 5; x++) if (x === 0 || y === 0 || x === 4 || y === 4) t[y * W + x] = 1;
    t[0] = 0;
    t[12] = 1; // centre
    t[6] = 0.4; // partly covered, below the threshold
    const h = enclosedHoles(t, W, 5);
    expect(h.count).toBe(1);
    expect(h.mask[12]).toBe(1);
    expect(h.outside).toBe(15);
  });
});

describe('orbit holes', () => {
  it('counts uncovered pixels inside the backdrop footprint (its gaps included) as holes, enclosed ones beyond it as pockets', () => {
    // 7×5 view. Backdrop covers columns 0..3 except a gap at (1, 2); beyond column 3 nothing of it.
    const W = 7;
    const H = 5;
    const back = new Float32Array(W * H);
    for (let y = 0; y < H; y++) for (let x = 4; x < W; x++) back[y * W + x] = 1;
    back[2 * W + 1] = 1;
    // Full render: the backdrop's gap stays open (a hole); a nearer layer covers columns 4..6 except
    // (5, 2), which it encloses (a pocket), and leaves (6, 0) open to the frame (neither).
    const full = new Float32Array(W * H);
    full[2 * W + 1] = 1;
    full[2 * W + 5] = 1;
    full[6] = 1;
    const h = orbitHoles(full, back, W, H);
    expect(h.holes).toBe(1);
    expect(h.mask[2 * W + 1]).toBe(1);
    expect(h.pockets).toBe(1);
  });
});

describe('PSNR and SSIM of a view', () => {
  const W = 40;
  const H = 30;
  const regions = regionsOf(oneJump(W, H, 15), W, H);
  const covered = (img: RGBAImage) => ({ content: img, transmittance: new Float32Array(W * H) });

  it('identical images: PSNR +∞, SSIM 1, no holes', () => {
    const ref = textured(W, H);
    const s = scoreView(ref, covered(ref), regions);
    expect(s.psnr).toBe(Infinity);
    expect(s.psnrBand).toBe(Infinity);
    expect(s.ssim).toBe(1);
    expect(s.ssimBand).toBe(1);
    expect(s.holes).toBe(0);
  });

  it('a constant offset of k levels gives PSNR = 20·log10(255/k)', () => {
    const ref = textured(W, H);
    const k = 5;
    const off = rgbImage(W, H, (x, y) => {
      const o = (y * W + x) * 4;
      return [ref.data[o]! + k, ref.data[o + 1]! + k, ref.data[o + 2]! + k];
    });
    const s = scoreView(ref, covered(off), regions);
    const expected = 20 * Math.log10(255 / k); // 34.151 dB: MSE = k² exactly
    expect(s.psnr!).toBeCloseTo(expected, 10);
    expect(s.psnrBand!).toBeCloseTo(expected, 10);
    // A luminance shift of k (Y = 0.299 R + 0.587 G + 0.114 B, weights summing to 1) keeps every variance
    // and covariance, so the contrast-structure factor is exactly 1 and SSIM is the mean of the luminance
    // factor (2μ(μ + k) + C1) / (μ² + (μ + k)² + C1), μ the reference's Gaussian local mean (11 taps, σ 1.5).
    // Rounding: the variances are differences of local means of squares ≤ 240², so off by ~1e-11 in double,
    // against a denominator ≥ C2 ≈ 58.5: the factor is 1 within ~1e-12, far inside 9 decimals.
    const mu = convolveSeparable(luminance(ref), W, H, gaussianKernel(11, 1.5));
    const C1 = (0.01 * 255) ** 2;
    const lum = mu.map((m) => (2 * m * (m + k) + C1) / (m * m + (m + k) ** 2 + C1));
    expect(s.ssim!).toBeCloseTo(meanOver(lum, regions.all)!, 9);
    expect(s.ssimBand!).toBeCloseTo(meanOver(lum, regions.band)!, 9);
    expect(s.ssim!).toBeLessThan(1);
  });

  it('an empty BAND gives null band metrics', () => {
    const flat = regionsOf(new Float32Array(W * H).fill(2), W, H);
    const ref = textured(W, H);
    const s = scoreView(ref, covered(ref), flat);
    expect(s.psnrBand).toBeNull();
    expect(s.ssimBand).toBeNull();
    expect(s.psnr).toBe(Infinity);
  });
});

describe('rubber-sheet geometry', () => {
  const W = 6;
  const H = 4;
  const intr = { fx: 5, fy: 5, cx: 3, cy: 2 };
  const depth = new Float32Array(W * H);
  for (let i = 0; i < depth.length; i++) depth[i] = 1 + (i % 5) * 0.7;
  const g = rubberSheetGeometry(depth, W, H, intr);

  it('has one vertex per pixel and two triangles per quad of pixel centres', () => {
    expect(g.positions.length).toBe(W * H * 3);
    expect(g.indices.length).toBe((W - 1) * (H - 1) * 6);
  });

  it('projects every vertex back to its UV point (pixel centres, image edges on the border)', () => {
    for (let i = 0; i < W * H; i++) {
      const [X, Y, Z] = [g.positions[3 * i]!, g.positions[3 * i + 1]!, g.positions[3 * i + 2]!];
      expect(Z).toBeCloseTo(depth[i]!, 6);
      const u = intr.fx * (X / Z) + intr.cx;
      const v = -intr.fy * (Y / Z) + intr.cy;
      // float32 positions: ~1e-6 relative.
      expect(u).toBeCloseTo(g.uvs[2 * i]! * W, 4);
      expect(v).toBeCloseTo(g.uvs[2 * i + 1]! * H, 4);
    }
    // Vertex (1, 1) sits at the centre (1.5, 1.5); vertex (W−1, 0) at the corner (W, 0).
    expect(g.uvs[2 * (W + 1)]! * W).toBeCloseTo(1.5, 6);
    expect(g.uvs[2 * (W - 1)]! * W).toBe(W);
    expect(g.uvs[2 * (W - 1) + 1]).toBe(0);
  });

  it('winds every triangle counter-clockwise seen from the camera (x right, y up)', () => {
    for (let t = 0; t < g.indices.length; t += 3) {
      const p = [0, 1, 2].map((k) => g.indices[t + k]!).map((i) => [g.uvs[2 * i]! * W, -g.uvs[2 * i + 1]! * H]);
      const area = (p[1]![0]! - p[0]![0]!) * (p[2]![1]! - p[0]![1]!) - (p[1]![1]! - p[0]![1]!) * (p[2]![0]! - p[0]![0]!);
      expect(area).toBeGreaterThan(0);
    }
  });

  it('rejects unknown depth', () => {
    const bad = depth.slice();
    bad[7] = 0;
    expect(() => rubberSheetGeometry(bad, W, H, intr)).toThrow(/depth at \(1, 1\) is 0/);
  });
});
