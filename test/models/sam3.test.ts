/**
 * SAM3 tracker adapter through the real onnxruntime-web (wasm EP in Node) with the tiny generated graphs of
 * test/fixtures/make-sam3-models.ts, whose outputs are known functions of their inputs:
 * - mask k of a point prompt is positive exactly inside a 2·halfX_k × 2·halfY_k-cell rectangle (256² grid)
 *   around the point → in the photo, pixel x is inside iff |x + 0.5 − u| < halfX_k·W/256 (same for y);
 * - iou_scores = iouBase_k + 0.01·(point x)/1008, object_score_logits = normalised red under the point.
 * Expected boundaries are kept ≥ 0.01 px away from pixel centres (asserted), far above the float32 error of
 * the coordinate arithmetic (~1e-4 px).
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { resolveMasks } from '../../src/core/validate';
import type { RGBAImage } from '../../src/core/types';
import { type ModelRuntime, createRuntime } from '../../src/models/runtime';
import { type Sam3ImageEmbedding, type Sam3Mask, Sam3Tracker, resolveSam3Masks, sam3AutomaticMasks } from '../../src/models/sam3';
import { cropMaskToFull } from '../../src/models/sam3-masks';
import { TRACKER_SPEC, buildTrackerDecoder, buildTrackerVisionEncoder } from '../fixtures/make-sam3-models';
import { rgbImage } from '../fixtures/images';
import { GraphBuilder, attr } from '../fixtures/onnx/writer';
import { counted } from './helpers';

const T = TRACKER_SPEC;

/**
 * Photo A (640×360, wide): red = 255 for x < 200 above y = 270, 0 below it; 128 for 200 ≤ x < 440; 0 right of
 * 440. Blue = 255 − red, green = 0.
 */
function photoA(): RGBAImage {
  return rgbImage(640, 360, (x, y) => {
    const r = x < 200 ? (y < 270 ? 255 : 0) : x < 440 ? 128 : 0;
    return [r, 0, 255 - r];
  });
}

function photoB(): RGBAImage {
  const W = 300, H = 500;
  const data = new Uint8ClampedArray(W * H * 4).fill(200);
  return { width: W, height: H, data };
}

/** Expected pixel range [lo, hi] of centres c + 0.5 with |c + 0.5 − centre| < half. */
function range(centre: number, half: number): [number, number] {
  const a = centre - half - 0.5, b = centre + half - 0.5;
  // The test's own assumption: no boundary within 0.01 px of a pixel centre.
  expect(Math.abs(a - Math.round(a))).toBeGreaterThan(0.01);
  expect(Math.abs(b - Math.round(b))).toBeGreaterThan(0.01);
  return [Math.floor(a) + 1, Math.ceil(b) - 1];
}

/** Checks mask k of a point prompt at (u, v) on a W×H photo: bbox and the rows/columns through the point. */
function expectPointMask(m: Sam3Mask, k: number, u: number, v: number, W: number, H: number): void {
  const ax = (T.halfX[k] * W) / T.lowRes, ay = (T.halfY[k] * H) / T.lowRes;
  const [x0, x1] = range(u, ax);
  const [y0, y1] = range(v, ay);
  expect(m.bbox, `mask ${k} bbox`).toEqual({ x: x0, y: y0, width: x1 - x0 + 1, height: y1 - y0 + 1 });
  if (k === 1) return; // mask 1 has a hole around the point (for the cleanup test)
  const full = cropMaskToFull(m, W, H);
  const row = Math.floor(v), col = Math.floor(u);
  for (let x = 0; x < W; x++) expect(full[row * W + x], `row ${row}, x ${x}`).toBe(x >= x0 && x <= x1 ? 1 : 0);
  for (let y = 0; y < H; y++) expect(full[y * W + col], `column ${col}, y ${y}`).toBe(y >= y0 && y <= y1 ? 1 : 0);
}

describe('SAM3 tracker adapter (tiny graphs, onnxruntime-web wasm)', () => {
  let rt: ModelRuntime;
  let sam: Sam3Tracker;
  let visionRuns: () => number;
  let decoderRuns: () => number;
  let embA: Sam3ImageEmbedding;
  const A = photoA();

  beforeAll(async () => {
    rt = await createRuntime({ onWarning: () => {} });
    const loaded = await Sam3Tracker.load(rt, { visionEncoder: { bytes: buildTrackerVisionEncoder() }, decoder: { bytes: buildTrackerDecoder() } });
    const v = counted(loaded.visionEncoder);
    const d = counted(loaded.decoder);
    visionRuns = v.runs;
    decoderRuns = d.runs;
    sam = new Sam3Tracker(v.session, d.session);
    embA = await sam.embed(A);
  });

  it('puts each prompt’s masks exactly around its point on a wide photo (no transposed or flipped axes)', async () => {
    const pts = [
      [100.3, 200.2],
      [500.6, 80.3],
    ] as const;
    const res = await sam.predict(embA, pts.map(([x, y]) => ({ points: [{ x, y }] })));
    expect(res).toHaveLength(2);
    res.forEach((r, i) => {
      expect(r.masks).toHaveLength(3);
      for (let k = 0; k < 3; k++) expectPointMask(r.masks[k]!, k, pts[i]![0], pts[i]![1], A.width, A.height);
      // iou = base + 0.01·x_model/1008 with x_model = u·1008/W (the +0.5/−0.5 cancel): exact to float32.
      for (let k = 0; k < 3; k++) expect(r.masks[k]!.predictedIoU).toBeCloseTo(T.iouBase[k] + (T.iouSlopeX * pts[i]![0]) / A.width, 6);
      expect(r.best).toBe(1); // base 0.95 is the highest
    });
  });

  it('is exact on a tall photo too', async () => {
    const B = photoB();
    const emb = await sam.embed(B);
    const [r] = await sam.predict(emb, [{ points: [{ x: 77.7, y: 333.6 }] }]);
    for (let k = 0; k < 3; k++) expectPointMask(r!.masks[k]!, k, 77.7, 333.6, B.width, B.height);
    emb.dispose();
  });

  it('normalises and orients the image: the object score is the normalised red under the point', async () => {
    // Red 255 top-left, 0 bottom-left (a vertical flip would swap them), 128 in the middle band, 0 on the right.
    const res = await sam.predict(embA, [
      { points: [{ x: 100.3, y: 150.2 }] },
      { points: [{ x: 100.3, y: 320.7 }] },
      { points: [{ x: 320.3, y: 100.2 }] },
      { points: [{ x: 600.1, y: 300.4 }] },
    ]);
    // A uniform 14×14 patch averages to the normalised value itself: 255 → 1, 128 → 128/127.5 − 1, 0 → −1.
    expect(res.map((r) => r.objectScore)).toEqual([1, -1, 128 / 127.5 - 1, -1].map((v) => expect.closeTo(v, 5)));
  });

  it('feeds boxes (alone or with points), pads point lists and keeps results in prompt order', async () => {
    const res = await sam.predict(embA, [
      { points: [{ x: 100.3, y: 200.2 }, { x: 600.3, y: 300.3 }] }, // 2 points: the other prompts are padded
      { box: [300.2, 50.2, 400.2, 150.2] },
      { points: [{ x: 500.6, y: 80.3 }] },
      { points: [{ x: 520.4, y: 250.3, label: 0 }] }, // negative only: nothing
      { points: [{ x: 100.3, y: 200.2 }], box: [300.2, 50.2, 400.2, 150.2] },
    ]);
    expectPointMask(res[0]!.masks[0]!, 0, 100.3, 200.2, A.width, A.height);
    // The box: pixels whose centres lie inside (300.2, 400.2) × (50.2, 150.2).
    for (const m of res[1]!.masks) expect(m.bbox).toEqual({ x: 300, y: 50, width: 100, height: 100 });
    expectPointMask(res[2]!.masks[2]!, 2, 500.6, 80.3, A.width, A.height);
    for (const m of res[3]!.masks) expect(m.area).toBe(0);
    // Point and box together: the union of both rectangles.
    const both = cropMaskToFull(res[4]!.masks[0]!, A.width, A.height);
    expect(both[200 * A.width + 100]).toBe(1);
    expect(both[100 * A.width + 350]).toBe(1);
    expect(both[100 * A.width + 200]).toBe(0);
  });

  it('computes the image embedding once and reuses it for every prompt and automatic call', async () => {
    const before = decoderRuns();
    await sam.predict(embA, [{ points: [{ x: 10.3, y: 10.2 }] }]);
    await sam.predict(embA, [{ points: [{ x: 20.3, y: 10.2 }] }, { box: [1, 1, 50, 50] }]); // 2 decoder runs (with/without box)
    await sam.generate(embA, { pointsPerSide: 8, pointsPerBatch: 16 }); // 64 points / 16 = 4 runs
    // One vision run for photo A (beforeAll) and one for photo B's test; none for the prompts.
    expect(visionRuns()).toBe(2);
    expect(decoderRuns() - before).toBe(1 + 2 + 4);
  });

  it('automatic mode with SAM2 defaults keeps exactly the stable, confident mask of every grid point', async () => {
    let progress = 0;
    const set = await sam.generate(embA, { onProgress: (f) => (progress = f) });
    expect(progress).toBe(1);
    // Per point: mask 0 (IoU ≈ 0.90, stability 1) passes; mask 1 (IoU 0.95, stability 216/560) fails the
    // stability test; mask 2 (IoU 0.6) fails the IoU test. Neighbouring rectangles overlap with IoU 0.2 < 0.7.
    expect(set.masks).toHaveLength(32 * 32);
    for (const m of set.masks) {
      expect(m.stability).toBe(1);
      expect(m.predictedIoU).toBeGreaterThan(0.9);
      expect(m.predictedIoU).toBeLessThan(0.91);
    }
    for (let i = 1; i < set.masks.length; i++) expect(set.masks[i]!.score).toBeLessThanOrEqual(set.masks[i - 1]!.score);
    // Each mask is the mask-0 rectangle of its own grid point ((i + 0.5)/32·W, (j + 0.5)/32·H), clipped to
    // the photo. Where a boundary falls exactly on a pixel centre (e.g. y = 11.25·j − 0.5 for even j) float32
    // rounding decides, so one pixel of slack is allowed there and nowhere else.
    const ax = (T.halfX[0] * A.width) / T.lowRes, ay = (T.halfY[0] * A.height) / T.lowRes;
    const check = (lo: number, hi: number, centre: number, half: number, size: number) => {
      const a = centre - half - 0.5, b = centre + half - 0.5;
      const slackA = Math.abs(a - Math.round(a)) < 1e-6 ? 1 : 0, slackB = Math.abs(b - Math.round(b)) < 1e-6 ? 1 : 0;
      expect(Math.abs(lo - Math.max(0, Math.floor(a) + 1))).toBeLessThanOrEqual(slackA);
      expect(Math.abs(hi - Math.min(size - 1, Math.ceil(b) - 1))).toBeLessThanOrEqual(slackB);
    };
    const seen = new Set<string>();
    for (const m of set.masks) {
      const [u, v] = m.point!;
      const i = (u / A.width) * 32 - 0.5, j = (v / A.height) * 32 - 0.5;
      expect(Math.abs(i - Math.round(i))).toBeLessThan(1e-9);
      expect(Math.abs(j - Math.round(j))).toBeLessThan(1e-9);
      seen.add(`${Math.round(i)},${Math.round(j)}`);
      check(m.bbox.x, m.bbox.x + m.bbox.width - 1, u, ax, A.width);
      check(m.bbox.y, m.bbox.y + m.bbox.height - 1, v, ay, A.height);
    }
    expect(seen.size).toBe(32 * 32);
  });

  it('filters by predicted IoU and stability (decoder and photo resolution), multimask off', async () => {
    const g = { pointsPerSide: 4 };
    expect((await sam.generate(embA, { ...g, predIouThreshold: 0.96 })).masks).toHaveLength(0);
    const loose = await sam.generate(embA, { ...g, stabilityScoreThreshold: 0.3 });
    expect(loose.masks).toHaveLength(32); // masks 0 and 1 of 16 points (IoU(0,1) = 0.25 < 0.7)
    // Mask 1's stability on the 256² grid, from its logits: the ±1 thresholds select 20×12 cells minus a
    // 24-cell diamond (|du| + |dv| ≤ 3.5) versus 28×20 cells: (240 − 24)/560.
    const m1 = loose.masks.filter((m) => m.predictedIoU! > 0.95);
    expect(m1).toHaveLength(16);
    for (const m of m1) expect(m.stability).toBeCloseTo(216 / 560, 12);
    expect((await sam.generate(embA, { ...g, predIouThreshold: 0.5, stabilityScoreThreshold: 0.3 })).masks).toHaveLength(48);
    // multimask off: each point's best (mask 1, IoU 0.95) only.
    expect((await sam.generate(embA, { ...g, multimask: false })).masks).toHaveLength(0);
    const best = await sam.generate(embA, { ...g, multimask: false, stabilityScoreThreshold: 0.3 });
    expect(best.masks).toHaveLength(16);
    for (const m of best.masks) expect(m.predictedIoU).toBeGreaterThan(0.95);
    // Photo-resolution stability: same decisions (mask 0 stable, mask 1 not).
    const photo = await sam.generate(embA, { ...g, stabilityResolution: 'photo' });
    expect(photo.masks).toHaveLength(16);
    for (const m of photo.masks) expect(m.stability).toBeGreaterThanOrEqual(0.95);
    // Mask 1 of each point (the only one above IoU 0.92) passes a 0.3 threshold, with a photo stability below 0.5.
    const photo1 = await sam.generate(embA, { ...g, stabilityResolution: 'photo', stabilityScoreThreshold: 0.3, predIouThreshold: 0.92 });
    expect(photo1.masks).toHaveLength(16);
    for (const m of photo1.masks) expect(m.stability).toBeLessThan(0.5);
  });

  it('box NMS removes the lower-scored of two near-duplicates and keeps distinct masks', async () => {
    // a and b one decoder cell apart horizontally (rectangle IoU ≈ 11/13 ≈ 0.85); c far away.
    const grid = [0.3, 0.5, 0.3 + 1 / 256, 0.5, 0.7, 0.5];
    const set = await sam.generate(embA, { pointGrid: grid });
    expect(set.masks).toHaveLength(2);
    // b has the larger x, hence the higher predicted IoU: it survives.
    expect(set.masks.map((m) => m.point![0])).toEqual([0.7 * A.width, (0.3 + 1 / 256) * A.width].map((v) => expect.closeTo(v, 3)));
    expect((await sam.generate(embA, { pointGrid: grid, boxNmsThreshold: 0.9 })).masks).toHaveLength(3);
  });

  it('small-region cleanup fills the hole of mask 1 only when it is below the area threshold', async () => {
    // Only mask 1 (IoU 0.95) passes IoU > 0.92; stability filter off. Its hole: an L1 diamond of radius 1.5
    // cells ≈ 2·(1.5·2.5)·(1.5·1.406) ≈ 16 photo pixels around the point.
    const o = { pointsPerSide: 2, predIouThreshold: 0.92, stabilityScoreThreshold: 0 };
    const raw = await sam.generate(embA, o);
    const filled = await sam.generate(embA, { ...o, minMaskRegionArea: 50 });
    const kept = await sam.generate(embA, { ...o, minMaskRegionArea: 5 });
    expect(raw.masks).toHaveLength(4);
    expect(filled.masks).toHaveLength(4);
    const at = (m: Sam3Mask) => cropMaskToFull(m, A.width, A.height)[Math.floor(m.point![1]) * A.width + Math.floor(m.point![0])];
    for (let i = 0; i < 4; i++) {
      expect(at(raw.masks[i]!)).toBe(0); // the hole
      expect(at(filled.masks[i]!)).toBe(1);
      expect(filled.masks[i]!.area - raw.masks[i]!.area).toBeGreaterThan(8);
      expect(filled.masks[i]!.area - raw.masks[i]!.area).toBeLessThan(30);
      expect(kept.masks[i]!.area).toBe(raw.masks[i]!.area);
    }
  });

  it('resolves automatic masks into a label map where the higher score owns the overlap', async () => {
    // Two points 4 cells apart: rectangles overlap by a third of their width (IoU 0.5 < 0.7, both kept).
    const set = await sam.generate(embA, { pointGrid: [0.3, 0.5, 0.3 + 4 / 256, 0.5] });
    expect(set.masks).toHaveLength(2);
    const r = resolveSam3Masks(set);
    expect(r.masks.kind).toBe('labels');
    const W = A.width;
    // The overlap's middle pixel: right point (higher IoU) = label 0, painted first.
    const xo = Math.floor(0.3 * W + 5), yo = Math.floor(0.5 * A.height);
    expect(r.masks.labels[yo * W + xo]).toBe(0);
    expect(set.masks[r.source[0]!]!.point![0]).toBeGreaterThan(set.masks[r.source[1]!]!.point![0]);
    expect(Array.from(r.scores)).toEqual(set.masks.map((m) => Math.fround(m.score)));
    // The core accepts it unchanged (labels compacted in raster order).
    const core = resolveMasks(r.masks, W, A.height);
    expect(core.count).toBe(2);
  });

  it('one-call automatic masks dispose their embedding', async () => {
    const before = visionRuns();
    const set = await sam3AutomaticMasks(sam, photoB(), { pointsPerSide: 2 });
    expect(set.width).toBe(300);
    expect(set.masks).toHaveLength(4);
    expect(visionRuns() - before).toBe(1);
  });

  it('rejects disposed, foreign and aborted use with clear errors', async () => {
    const emb = await sam.embed(photoB());
    emb.dispose();
    await expect(sam.predict(emb, [{ points: [{ x: 1, y: 1 }] }])).rejects.toMatchObject({ code: 'MODEL_DISPOSED' });
    const other = new Sam3Tracker(sam.visionEncoder, sam.decoder);
    await expect(other.predict(embA, [{ points: [{ x: 1, y: 1 }] }])).rejects.toMatchObject({ code: 'INVALID_OPTION' });
    const ac = new AbortController();
    ac.abort();
    await expect(sam.generate(embA, { signal: ac.signal })).rejects.toMatchObject({ code: 'ABORTED' });
    await expect(sam.predict(embA, [{}])).rejects.toThrow(/neither points nor a box/);
    await expect(sam.generate(embA, { boxNmsThreshold: 2 })).rejects.toThrow(/boxNmsThreshold must be in \[0, 1\]; found 2/);
  });

  it('a decoder whose output names differ fails with MODEL_CONTRACT naming expected and found', async () => {
    const bad = buildTrackerDecoder({ rename: { iou_scores: 'iou_predictions' } });
    const err = await Sam3Tracker.load(rt, { visionEncoder: { bytes: buildTrackerVisionEncoder() }, decoder: { bytes: bad } }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'MODEL_CONTRACT' });
    expect(String((err as Error).message)).toMatch(/'iou_scores'/);
    expect(String((err as Error).message)).toMatch(/'iou_predictions'/);
  });

  it('a vision encoder with another input size fails with MODEL_CONTRACT naming both shapes', async () => {
    const g = new GraphBuilder('wrong_size');
    const x = g.input('pixel_values', 'float32', [1, 3, 1024, 1024]);
    const p = g.op('AveragePool', [x], { kernel_shape: attr.ints([4, 4]), strides: attr.ints([4, 4]) });
    for (const [i, s] of [
      [0, 256],
      [1, 128],
      [2, 64],
    ] as const) {
      g.op('Identity', [s === 256 ? p : g.op('AveragePool', [p], { kernel_shape: attr.ints([256 / s, 256 / s]), strides: attr.ints([256 / s, 256 / s]) })], {}, `image_embeddings.${i}`);
      g.output(`image_embeddings.${i}`, 'float32', [1, 3, s, s]);
    }
    const err = await Sam3Tracker.load(rt, { visionEncoder: { bytes: g.toModel() }, decoder: { bytes: buildTrackerDecoder() } }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'MODEL_CONTRACT' });
    expect(String((err as Error).message)).toContain('[B,3,1008,1008]');
    expect(String((err as Error).message)).toContain('[1,3,1024,1024]');
  });
});
