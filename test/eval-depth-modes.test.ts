/**
 * The depth inputs of the novel-view and orbit evaluations (docs/metrics.md §2 `--depth`): the sensor-hole
 * generator (scripts/eval/synth.ts), the depth fill for rendering (view-metrics.ts) and the three modes of
 * scripts/eval/depth-modes.ts, on hand-computable cases.
 */
import { describe, expect, it } from 'vitest';
import { stereoDepthInputs, groundTruthDepth } from '../scripts/eval/depth-modes';
import { hashSeed, holeDiscs, networkInputs, occlusionShadow, sensorDepth, synthMasks, synthRawDepth, HOLE_DISC_COVERAGE } from '../scripts/eval/synth';
import { fillDepthForRendering } from '../scripts/eval/view-metrics';

/** Columns of row 0 where `mask` is set. */
const columns = (mask: Uint8Array, w: number, y = 0): number[] => Array.from({ length: w }, (_, x) => x).filter((x) => mask[y * w + x]);

/**
 * Upper bound on the pixels of one disc of radius r: the unit squares centred on the covered pixel centres
 * are disjoint and lie inside the disc of radius r + √2/2, so there are fewer than π(r + √2/2)² of them.
 */
const maxDiscPixels = (r: number): number => Math.floor(Math.PI * (r + Math.SQRT1_2) ** 2);

describe('sensor holes: occlusion shadow', () => {
  it('is 4 px wide on the far side of a vertical depth edge and leaves the near side alone', () => {
    const w = 20, h = 6;
    const gt = new Float32Array(w * h);
    for (let i = 0; i < gt.length; i++) gt[i] = i % w < 10 ? 2 : 1; // far left half, near right half
    const s = occlusionShadow(gt, w, h);
    for (let y = 0; y < h; y++) expect(columns(s, w, y)).toEqual([6, 7, 8, 9]);
    // The mirrored scene shadows the mirrored columns.
    const m = new Float32Array(w * h);
    for (let i = 0; i < m.length; i++) m[i] = i % w < 10 ? 1 : 2;
    expect(columns(occlusionShadow(m, w, h), w)).toEqual([10, 11, 12, 13]);
  });

  it('follows horizontal edges too (far rows above a near floor)', () => {
    const w = 5, h = 12;
    const gt = new Float32Array(w * h);
    for (let i = 0; i < gt.length; i++) gt[i] = Math.floor(i / w) < 6 ? 3 : 1;
    const s = occlusionShadow(gt, w, h);
    for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) expect(s[y * w + x]).toBe(y >= 2 && y <= 5 ? 1 : 0);
  });

  it('ignores steps within the 1.05 ratio and stops before another foreground', () => {
    const w = 14, h = 1;
    // far 2 | near 1 at x = 6 | far 2 at 7..9 | near 1 from 10: no shadow may land on a near pixel.
    const gt = Float32Array.from({ length: w }, (_, x) => (x === 6 || x >= 10 ? 1 : 2));
    const s = occlusionShadow(gt, w, h);
    // Edge (5, 6): 5, 4, 3, 2. Edges (6, 7) and (9, 10): 7, 8, 9 (the walk from 9 stops before 6, the one
    // from 7 before 10).
    expect(columns(s, w)).toEqual([2, 3, 4, 5, 7, 8, 9]);
    const gentle = Float32Array.from({ length: w }, (_, x) => (x < 7 ? 1.04 : 1));
    expect(columns(occlusionShadow(gentle, w, h), w)).toEqual([]);
    // Unknown pixels form no contour pairs.
    const holes = Float32Array.from({ length: w }, (_, x) => (x === 7 ? 0 : x < 7 ? 2 : 1));
    expect(columns(occlusionShadow(holes, w, h), w)).toEqual([]);
  });
});

describe('sensor holes: discs', () => {
  it('cover at least 2 % of the pixels and less than one extra largest disc beyond it', () => {
    for (const [w, h] of [[640, 480], [384, 288]] as const) {
      const n = w * h;
      const d = holeDiscs(w, h, 12345);
      const covered = d.reduce((a, b) => a + b, 0);
      expect(covered / n).toBeGreaterThanOrEqual(HOLE_DISC_COVERAGE);
      // The loop stops after the first disc that reaches the target; that disc adds < π(8 + √2/2)² pixels.
      expect(covered).toBeLessThan(HOLE_DISC_COVERAGE * n + maxDiscPixels(8));
    }
  });

  it('are deterministic by seed and differ between seeds', () => {
    const a = holeDiscs(200, 150, 7);
    expect(holeDiscs(200, 150, 7)).toEqual(a);
    expect(holeDiscs(200, 150, 8)).not.toEqual(a);
  });
});

describe('sensor depth', () => {
  it('is GT minus the shadow and the discs, deterministic by scene name', () => {
    const w = 64, h = 48;
    const gt = new Float32Array(w * h);
    for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) gt[y * w + x] = x >= 20 && x < 40 && y >= 10 && y < 30 ? 1 : 3;
    gt[5] = 0; // GT unknown stays unknown
    const s = sensorDepth(gt, w, h, 'box');
    for (let i = 0; i < gt.length; i++) {
      const hole = s.shadow[i] || s.discs[i] || gt[i] === 0;
      expect(s.depth[i]).toBe(hole ? 0 : gt[i]);
      // The shadow lies on the far surface only.
      if (s.shadow[i]) expect(gt[i]).toBe(3);
    }
    // The box's four sides each shadow a 4 px strip of the background: 2·(20·4) + 2·(20·4) pixels.
    expect(s.shadow.reduce((a, b) => a + b, 0)).toBe(4 * 20 * 4);
    expect(sensorDepth(gt, w, h, 'box').depth).toEqual(s.depth);
    expect(s.discs).toEqual(holeDiscs(w, h, hashSeed('box/sensor')));
  });
});

describe('depth filled for rendering', () => {
  it('keeps known depth and fills unknown runs from the far side, rows without any from the nearest row', () => {
    const w = 6;
    // row 0: near 1, unknown ×2, far 4, unknown, near 2 ; row 1: nothing known.
    const depth = new Float32Array([1, 0, NaN, 4, 0, 2, 0, 0, 0, 0, 0, 0]);
    const f = fillDepthForRendering(depth, w, 2)!;
    // W / (W / z) in float32: two roundings of ≤ 2⁻²⁴ relative each.
    const expected = [1, 4, 4, 4, 4, 2];
    for (let x = 0; x < w; x++) {
      expect(Math.abs(f[x]! - expected[x]!) / expected[x]!).toBeLessThanOrEqual(2 ** -23);
      expect(f[w + x]).toBe(f[x]);
    }
    expect(fillDepthForRendering(new Float32Array(4), 2, 2)).toBeNull();
  });
});

describe('depth modes of a stereo scene', () => {
  const w = 64, h = 48;
  const disp = new Float32Array(w * h);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) disp[y * w + x] = x >= 20 && x < 40 && y >= 10 && y < 30 ? 16 : 4;
  disp[3 * w + 50] = 0; // one unknown GT pixel
  const gt = groundTruthDepth(disp, w);

  it('oracle: every method gets the GT depth W / d, unknown filled', () => {
    const m = stereoDepthInputs('oracle', disp, w, h, 'box')!;
    expect(m.diorama).toBe(m.baseline);
    expect(m.masks).toBeUndefined();
    expect(m.baseline[0]).toBe(w / 4);
    expect(m.baseline[15 * w + 25]).toBe(w / 16);
    expect(m.baseline[3 * w + 50]).toBe(w / 4);
  });

  it('network: the D̃ and masks of §1 (synthRawDepth with seed hashSeed(name), synthMasks with seed + 1), filled, for every method', () => {
    const m = stereoDepthInputs('network', disp, w, h, 'box')!;
    const net = networkInputs(gt, w, h, 'box');
    const seed = hashSeed('box');
    // networkInputs is what eval-depth's §1 inputs are made of: the same arrays as the documented recipe.
    expect(net.raw).toEqual(synthRawDepth(gt, w, h, seed));
    expect(net.masks).toEqual(synthMasks(gt, w, h, seed + 1));
    expect(m.masks).toEqual(net.masks);
    expect(m.diorama).toBe(m.baseline);
    expect(m.baseline).toEqual(fillDepthForRendering(net.raw, w, h));
    // D̃ is blurred: a pixel next to the box edge lies strictly between the two depths.
    const v = m.baseline[20 * w + 19]!;
    expect(v).toBeGreaterThan(w / 16);
    expect(v).toBeLessThan(w / 4);
  });

  it('sensor: the diorama gets the holes as 0, the baselines get them filled', () => {
    const m = stereoDepthInputs('sensor', disp, w, h, 'box')!;
    const s = sensorDepth(gt, w, h, 'box');
    expect(m.diorama).toEqual(s.depth);
    expect(m.diorama[3 * w + 50]).toBe(0);
    let zeros = 0;
    for (let i = 0; i < w * h; i++) {
      expect(m.baseline[i]).toBeGreaterThan(0);
      if (m.diorama[i] === 0) zeros++;
      else expect(Math.abs(m.baseline[i]! - m.diorama[i]!) / m.diorama[i]!).toBeLessThanOrEqual(2 ** -23);
    }
    expect(m.unknownFraction).toBe(zeros / (w * h));
    expect(zeros).toBeGreaterThan(0);
  });
});
