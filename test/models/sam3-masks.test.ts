/**
 * Pure SAM mask post-processing (src/models/sam3-masks.ts) against straightforward reference
 * implementations written from the definitions, on hand-made cases and random inputs (fast-check).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { resolveMasks } from '../../src/core/validate';
import {
  type CropMask,
  boxIoU,
  buildPointGrid,
  connectedComponents,
  cropMaskFromFull,
  cropMaskToFull,
  nonMaxSuppression,
  removeSmallRegions,
  resolveLabelMap,
  stabilityScore,
  stabilityScoreUpsampled,
  upsampleMask,
} from '../../src/models/sam3-masks';
import { linearTaps } from '../../src/models/resample';

// ---------------------------------------------------------------------------------------------------------
// References

/** Bilinear (align_corners=False, PyTorch) value of a lw×lh map at photo pixel (x, y) of a W×H photo. */
function bilinearRef(l: Float32Array, lw: number, lh: number, W: number, H: number, x: number, y: number): number {
  const src = (d: number, n: number, N: number) => Math.max(0, ((d + 0.5) * n) / N - 0.5);
  const sx = src(x, lw, W), sy = src(y, lh, H);
  const x0 = Math.min(Math.floor(sx), lw - 1), y0 = Math.min(Math.floor(sy), lh - 1);
  const x1 = Math.min(x0 + 1, lw - 1), y1 = Math.min(y0 + 1, lh - 1);
  const fx = sx - x0, fy = sy - y0;
  const at = (i: number, j: number) => l[j * lw + i]!;
  return (1 - fy) * ((1 - fx) * at(x0, y0) + fx * at(x1, y0)) + fy * ((1 - fx) * at(x0, y1) + fx * at(x1, y1));
}

/** 8-connected components by breadth-first flood fill. */
function componentsRef(bin: Uint8Array, w: number, h: number): { labels: Int32Array; sizes: number[] } {
  const labels = new Int32Array(w * h).fill(-1);
  const sizes: number[] = [];
  for (let s = 0; s < w * h; s++) {
    if (!bin[s] || labels[s]! >= 0) continue;
    const id = sizes.length;
    let size = 0;
    const queue = [s];
    labels[s] = id;
    while (queue.length) {
      const p = queue.pop()!;
      size++;
      const px = p % w, py = (p - px) / w;
      for (let dy = -1; dy <= 1; dy++) {
        for (let dx = -1; dx <= 1; dx++) {
          const x = px + dx, y = py + dy;
          if (x < 0 || y < 0 || x >= w || y >= h) continue;
          const q = y * w + x;
          if (bin[q] && labels[q] === -1) {
            labels[q] = id;
            queue.push(q);
          }
        }
      }
    }
    sizes.push(size);
  }
  return { labels, sizes };
}

/** SAM's remove_small_regions on the full photo, written from its definition. */
function removeSmallRef(full: Uint8Array, W: number, H: number, minArea: number, mode: 'holes' | 'islands'): { mask: Uint8Array; changed: boolean } {
  const holes = mode === 'holes';
  const working = Uint8Array.from(full, (v) => (holes ? (v ? 0 : 1) : v ? 1 : 0));
  const { labels, sizes } = componentsRef(working, W, H);
  const small = sizes.map((s) => s < minArea);
  if (!small.some(Boolean)) return { mask: full.slice(), changed: false };
  const out = new Uint8Array(W * H);
  if (holes) {
    for (let i = 0; i < out.length; i++) out[i] = full[i] || (labels[i]! >= 0 && small[labels[i]!]) ? 1 : 0;
  } else {
    let keep = sizes.map((s) => s >= minArea);
    if (!keep.some(Boolean)) {
      const best = sizes.indexOf(Math.max(...sizes));
      keep = sizes.map((_, i) => i === best);
    }
    for (let i = 0; i < out.length; i++) out[i] = labels[i]! >= 0 && keep[labels[i]!] ? 1 : 0;
  }
  return { mask: out, changed: true };
}

function nmsRef(boxes: number[], scores: number[], thr: number): number[] {
  const n = scores.length;
  const order = [...Array(n).keys()].sort((a, b) => scores[b]! - scores[a]! || a - b);
  const kept: number[] = [];
  for (const i of order) {
    const [ax0, ay0, ax1, ay1] = boxes.slice(i * 4, i * 4 + 4) as [number, number, number, number];
    const ok = kept.every((k) => {
      const [bx0, by0, bx1, by1] = boxes.slice(k * 4, k * 4 + 4) as [number, number, number, number];
      const iw = Math.max(0, Math.min(ax1, bx1) - Math.max(ax0, bx0));
      const ih = Math.max(0, Math.min(ay1, by1) - Math.max(ay0, by0));
      const inter = iw * ih;
      const uni = (ax1 - ax0) * (ay1 - ay0) + (bx1 - bx0) * (by1 - by0) - inter;
      return !(uni > 0 && inter / uni > thr);
    });
    if (ok) kept.push(i);
  }
  return kept;
}

const bitmap = (w: number, h: number) => fc.uint8Array({ minLength: w * h, maxLength: w * h, min: 0, max: 1 });

// ---------------------------------------------------------------------------------------------------------

describe('point grid', () => {
  it('is SAM2’s 32×32 grid at ((i + 0.5)/32, (j + 0.5)/32), row-major with x varying fastest', () => {
    const g = buildPointGrid(32);
    expect(g.length).toBe(32 * 32 * 2);
    expect([g[0], g[1]]).toEqual([0.5 / 32, 0.5 / 32].map(Math.fround));
    expect([g[2], g[3]]).toEqual([1.5 / 32, 0.5 / 32].map(Math.fround)); // second point: next x, same y
    expect([g[64], g[65]]).toEqual([0.5 / 32, 1.5 / 32].map(Math.fround)); // point 32: next row
    expect([g[2046], g[2047]]).toEqual([31.5 / 32, 31.5 / 32].map(Math.fround));
  });

  it('property: n² distinct points strictly inside (0, 1), symmetric about the centre', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 48 }), (n) => {
        const g = buildPointGrid(n);
        const seen = new Set<string>();
        for (let i = 0; i < n * n; i++) {
          const x = g[2 * i]!, y = g[2 * i + 1]!;
          if (!(x > 0 && x < 1 && y > 0 && y < 1)) return false;
          seen.add(`${x},${y}`);
          // The mirrored point is in the grid at the mirrored index.
          const r = Math.floor(i / n), c = i % n;
          const m = (n - 1 - r) * n + (n - 1 - c);
          if (Math.abs(g[2 * m]! - (1 - x)) > 1e-6 || Math.abs(g[2 * m + 1]! - (1 - y)) > 1e-6) return false;
        }
        return seen.size === n * n;
      }),
    );
  });
});

describe('stability score', () => {
  it('is the area ratio of the masks thresholded at +offset and −offset', () => {
    // 10 values: 4 above +1, 7 above −1 → 4/7.
    const l = Float32Array.from([5, 2, 1.5, 1.01, 1, 0.5, -0.99, -1, -3, -10]);
    expect(stabilityScore(l, 0, 10, 1, 0)).toBeCloseTo(4 / 7, 12);
    // Sub-range and threshold shift: values > 0.5+1 = {5, 2}, > 0.5−1 = {5,2,1.5,1.01,1,0.5} → 2/6.
    expect(stabilityScore(l, 0, 10, 1, 0.5)).toBeCloseTo(2 / 6, 12);
    expect(stabilityScore(l, 6, 4, 1, 0)).toBe(0); // nothing above −1 except −0.99 → union 1, inter 0
    expect(stabilityScore(new Float32Array([-5, -6]), 0, 2)).toBe(0); // empty loose mask
  });

  it('property: in [0, 1] and non-increasing in the offset', () => {
    fc.assert(
      fc.property(fc.float32Array({ minLength: 1, maxLength: 200, noNaN: true, noDefaultInfinity: true }), fc.float({ min: 0, max: 4, noNaN: true }), (arr, off) => {
        const a = stabilityScore(arr, 0, arr.length, off);
        const b = stabilityScore(arr, 0, arr.length, off + 0.5);
        return a >= 0 && a <= 1 && b <= a + 1e-12;
      }),
    );
  });

  it('the photo-grid version counts the upsampled logits (reference: per-pixel bilinear)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 2, max: 9 }),
        fc.integer({ min: 2, max: 9 }),
        fc.integer({ min: 1, max: 40 }),
        fc.integer({ min: 1, max: 40 }),
        fc.array(fc.float({ min: -4, max: 4, noNaN: true }), { minLength: 81, maxLength: 81 }),
        (lw, lh, W, H, vals) => {
          const l = Float32Array.from(vals.slice(0, lw * lh));
          let inter = 0, union = 0;
          for (let y = 0; y < H; y++) {
            for (let x = 0; x < W; x++) {
              const v = bilinearRef(l, lw, lh, W, H, x, y);
              // The implementation interpolates in float32: |error| ≤ a few ulp of |v| ≤ 4, i.e. < 1e-6. A value
              // within 1e-5 of a threshold may fall on either side, so such draws decide nothing.
              fc.pre(Math.abs(Math.abs(v) - 1) > 1e-5);
              if (v > -1) union++;
              if (v > 1) inter++;
            }
          }
          const ref = union === 0 ? 0 : inter / union;
          return Math.abs(stabilityScoreUpsampled(l, 0, lw, lh, W, H, 1, 0) - ref) < 1e-12;
        },
      ),
    );
  });
});

describe('box NMS', () => {
  it('suppresses by IoU > threshold in decreasing score order; equal scores keep the lower index', () => {
    const boxes = [0, 0, 10, 10, 1, 0, 11, 10, 20, 20, 30, 30, 0, 0, 10, 10];
    // IoU(0,1) = 90/110 = 0.818; box 3 duplicates box 0 with the same score.
    expect(boxIoU(boxes, 0, 1)).toBeCloseTo(90 / 110, 12);
    expect(nonMaxSuppression(boxes, [0.9, 0.95, 0.5, 0.9], 0.7)).toEqual([1, 2]);
    expect(nonMaxSuppression(boxes, [0.9, 0.95, 0.5, 0.9], 0.85)).toEqual([1, 0, 2]); // 0.818 ≤ 0.85; box 3 = box 0 → IoU 1
    expect(nonMaxSuppression(boxes, [0.9, 0.5, 0.5, 0.9], 0.99)).toEqual([0, 1, 2]);
  });

  it('property: matches a reference greedy NMS; kept boxes pairwise ≤ threshold', () => {
    const box = fc.tuple(fc.integer({ min: 0, max: 40 }), fc.integer({ min: 0, max: 40 }), fc.integer({ min: 1, max: 30 }), fc.integer({ min: 1, max: 30 }));
    fc.assert(
      fc.property(fc.array(fc.tuple(box, fc.integer({ min: 0, max: 5 })), { minLength: 0, maxLength: 40 }), fc.double({ min: 0, max: 1, noNaN: true }), (items, thr) => {
        const boxes = items.flatMap(([[x, y, w, h]]) => [x, y, x + w, y + h]);
        const scores = items.map(([, s]) => s / 5); // few distinct values: many ties
        const got = nonMaxSuppression(boxes, scores, thr);
        expect(got).toEqual(nmsRef(boxes, scores, thr));
        for (let i = 0; i < got.length; i++) for (let j = i + 1; j < got.length; j++) expect(boxIoU(boxes, got[i]!, got[j]!)).toBeLessThanOrEqual(thr);
      }),
    );
  });
});

describe('mask upsampling', () => {
  it('taps follow PyTorch align_corners=False: ×4 upsampling of 2 samples', () => {
    const t = linearTaps(2, 8);
    // s = (d + 0.5)/4 − 0.5, clamped at 0: d = 0..7 → 0, 0, 0.125, 0.375, 0.625, 0.875, 1.125, 1.375.
    // Past the last sample both taps are sample 1 (PyTorch keeps the fractional weight, which then has no effect).
    expect(Array.from(t.i0)).toEqual([0, 0, 0, 0, 0, 0, 1, 1]);
    expect(Array.from(t.i1)).toEqual([1, 1, 1, 1, 1, 1, 1, 1]);
    expect(Array.from(t.w1)).toEqual([0, 0, 0.125, 0.375, 0.625, 0.875, 0.125, 0.375].map(Math.fround));
  });

  it('property: the crop equals thresholding a per-pixel bilinear reference, and the bbox is tight', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 9 }),
        fc.integer({ min: 1, max: 9 }),
        fc.integer({ min: 1, max: 37 }),
        fc.integer({ min: 1, max: 37 }),
        fc.array(fc.float({ min: -3, max: 3, noNaN: true }), { minLength: 81, maxLength: 81 }),
        fc.float({ min: -1, max: 1, noNaN: true }),
        (lw, lh, W, H, vals, thr) => {
          const l = Float32Array.from([7, ...vals.slice(0, lw * lh)]); // offset 1 exercises `offset`
          const m = upsampleMask(l, 1, lw, lh, W, H, thr);
          const full = cropMaskToFull(m, W, H);
          // The adapter's weights are float32, the reference's float64: they differ by at most 2⁻²⁴ relative, so
          // the interpolated values by at most 2⁻²³·max|v|. A pixel whose reference value lies within that of the
          // threshold (a tie, e.g. 0.25·(−32·2⁻¹⁴⁹) against −8·2⁻¹⁴⁹) may fall either way; all others must agree.
          let maxAbs = 0;
          for (let i = 0; i < lw * lh; i++) maxAbs = Math.max(maxAbs, Math.abs(l[1 + i]!));
          const margin = 2 ** -22 * maxAbs;
          let area = 0;
          for (let y = 0; y < H; y++) {
            for (let x = 0; x < W; x++) {
              const ref = bilinearRef(l.subarray(1), lw, lh, W, H, x, y);
              if (Math.abs(ref - thr) <= margin) {
                area += full[y * W + x]!;
                continue;
              }
              const inside = ref > thr ? 1 : 0;
              expect(full[y * W + x], `pixel ${x},${y}`).toBe(inside);
              area += inside;
            }
          }
          expect(m.area).toBe(area);
          if (area > 0) {
            const tight = cropMaskFromFull(full, W, H);
            expect(m.bbox).toEqual(tight.bbox);
          } else {
            expect(m.bbox.width).toBe(0);
          }
        },
      ),
    );
  });
});

describe('connected components and small-region cleanup', () => {
  it('property: components match a flood-fill reference (same partition, sizes)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 14 }), fc.integer({ min: 1, max: 14 }), bitmap(14, 14), (w, h, bits) => {
        const bin = bits.slice(0, w * h);
        const got = connectedComponents(bin, w, h);
        const ref = componentsRef(bin, w, h);
        expect(got.count).toBe(ref.sizes.length);
        // Both number components by first pixel in raster order, so the labels agree exactly.
        expect(Array.from(got.labels)).toEqual(Array.from(ref.labels));
        expect(Array.from(got.sizes)).toEqual(ref.sizes);
      }),
    );
  });

  it('fills a small hole and removes a small island', () => {
    const W = 12, H = 10;
    const full = new Uint8Array(W * H);
    for (let y = 1; y < 8; y++) for (let x = 1; x < 8; x++) full[y * W + x] = 1; // 7×7 square
    full[4 * W + 4] = 0; // 1-pixel hole
    full[8 * W + 10] = 1; // 1-pixel island (not 8-adjacent to the square)
    const m = cropMaskFromFull(full, W, H);
    const holes = removeSmallRegions(m, W, H, 2, 'holes');
    expect(holes.changed).toBe(true);
    expect(holes.mask.area).toBe(50);
    const islands = removeSmallRegions(holes.mask, W, H, 2, 'islands');
    expect(islands.changed).toBe(true);
    expect(islands.mask.area).toBe(49);
    expect(islands.mask.bbox).toEqual({ x: 1, y: 1, width: 7, height: 7 });
    expect(removeSmallRegions(islands.mask, W, H, 2, 'holes').changed).toBe(false);
  });

  it('property: crop-based cleanup equals SAM’s definition applied to the full photo', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 12 }),
        fc.integer({ min: 1, max: 12 }),
        bitmap(12, 12),
        fc.integer({ min: 1, max: 30 }),
        fc.constantFrom<'holes' | 'islands'>('holes', 'islands'),
        (W, H, bits, minArea, mode) => {
          const full = bits.slice(0, W * H);
          const m = cropMaskFromFull(full, W, H);
          if (m.area === 0) return;
          const got = removeSmallRegions(m, W, H, minArea, mode);
          const ref = removeSmallRef(full, W, H, minArea, mode);
          expect(Array.from(cropMaskToFull(got.mask, W, H))).toEqual(Array.from(ref.mask));
          // "changed" follows SAM: true when a small region existed (the mask may still come out equal).
          expect(got.changed).toBe(ref.changed);
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe('label map', () => {
  const rect = (W: number, H: number, x0: number, y0: number, x1: number, y1: number): CropMask => {
    const full = new Uint8Array(W * H);
    for (let y = y0; y < y1; y++) for (let x = x0; x < x1; x++) full[y * W + x] = 1;
    return cropMaskFromFull(full, W, H);
  };

  it('overlaps go to the higher score; equal scores keep input order; covered masks are dropped', () => {
    const W = 10, H = 4;
    const a = rect(W, H, 0, 0, 6, 4);
    const b = rect(W, H, 4, 0, 10, 4);
    const c = rect(W, H, 5, 1, 6, 2); // inside both a and b
    const r = resolveLabelMap([a, b, c], [0.5, 0.9, 0.1], W, H);
    // b (0.9) painted first → label 0; a → label 1 on x < 4; c fully covered → dropped.
    expect(Array.from(r.source)).toEqual([1, 0]);
    expect(r.labels[0 * W + 4]).toBe(0);
    expect(r.labels[0 * W + 3]).toBe(1);
    expect(Array.from(r.areas)).toEqual([24, 16]);
    expect(Array.from(r.scores)).toEqual([0.9, 0.5].map(Math.fround));
    const tie = resolveLabelMap([a, b], [0.5, 0.5], W, H);
    expect(tie.labels[0 * W + 4]).toBe(0); // a first (input order) → owns the overlap
    expect(Array.from(tie.source)).toEqual([0, 1]);
  });

  it('property: agrees with the core’s resolveMasks on the same masks as full bitmaps', () => {
    const W = 9, H = 7;
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.integer({ min: 0, max: 8 }), fc.integer({ min: 0, max: 6 }), fc.integer({ min: 1, max: 9 }), fc.integer({ min: 1, max: 7 }), fc.integer({ min: 0, max: 3 })), {
          maxLength: 8,
        }),
        (items) => {
          const masks = items.map(([x, y, w, h]) => rect(W, H, x, y, Math.min(W, x + w), Math.min(H, y + h)));
          const scores = items.map(([, , , , s]) => s / 3);
          const got = resolveLabelMap(masks, scores, W, H);
          const core = resolveMasks({ kind: 'list', masks: masks.map((m, k) => ({ data: cropMaskToFull(m, W, H), score: scores[k], concept: `m${k}` })) }, W, H);
          expect(Array.from(got.labels)).toEqual(Array.from(core.labels));
          expect(Array.from(got.source, (k) => `m${k}`)).toEqual(core.concepts);
          // Every labelled pixel lies in its source mask, and no mask of higher priority covers it.
          for (let i = 0; i < W * H; i++) {
            const l = got.labels[i]!;
            if (l < 0) continue;
            const src = got.source[l]!;
            expect(cropMaskToFull(masks[src]!, W, H)[i]).toBe(1);
          }
        },
      ),
    );
  });
});
