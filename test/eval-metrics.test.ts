/**
 * Unit tests of the §1 evaluation code (scripts/eval/depth-metrics.ts, scripts/eval/synth.ts) on tiny
 * hand-made cases whose answers follow from the definitions.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  DBE_MAX_DIST,
  blurSeparable,
  boundaryF1,
  canny,
  contourPairs,
  dbeScores,
  depthBoundaryError,
  evaluateDepth,
  fillFromNearest,
  gaussianKernel,
  nearMaskBoundary,
  prepareGroundTruth,
  squaredDistanceTransform,
} from '../scripts/eval/depth-metrics';
import {
  blurKnownDepth,
  createRng,
  depthRegions,
  displacementField,
  fillUnlabelled,
  jitterLabels,
  mergeSmallRegions,
  regionLabels,
  synthMasks,
  synthRawDepth,
} from '../scripts/eval/synth';

/** Brute-force squared distance to the nearest seed. */
function bruteEdt(seeds: Uint8Array, w: number, h: number): Float32Array {
  const out = new Float32Array(w * h).fill(Infinity);
  for (let i = 0; i < w * h; i++) {
    for (let j = 0; j < w * h; j++) {
      if (!seeds[j]) continue;
      const dx = (i % w) - (j % w);
      const dy = Math.floor(i / w) - Math.floor(j / w);
      out[i] = Math.min(out[i]!, dx * dx + dy * dy);
    }
  }
  return out;
}

/** Depth map W×H with value `bg` and a rectangle [x0,x1)×[y0,y1) at `fg`. */
function rectScene(w: number, h: number, bg: number, fg: number, x0: number, y0: number, x1: number, y1: number): Float32Array {
  const d = new Float32Array(w * h).fill(bg);
  for (let y = y0; y < y1; y++) for (let x = x0; x < x1; x++) d[y * w + x] = fg;
  return d;
}

describe('squaredDistanceTransform (Felzenszwalb–Huttenlocher)', () => {
  it('equals brute force on random seed sets, and its nearest-seed map points at a seed at that distance', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 12 }), fc.integer({ min: 1, max: 12 }), fc.integer(), fc.double({ min: 0, max: 0.5 }), (w, h, seed, p) => {
        const rng = createRng(seed);
        const seeds = new Uint8Array(w * h);
        for (let i = 0; i < seeds.length; i++) seeds[i] = rng() < p ? 1 : 0;
        const nearest = new Int32Array(w * h);
        const d = squaredDistanceTransform(seeds, w, h, nearest);
        const ref = bruteEdt(seeds, w, h);
        for (let i = 0; i < w * h; i++) {
          expect(d[i]).toBe(ref[i]); // integers, exact
          if (ref[i] === Infinity) {
            expect(nearest[i]).toBe(-1);
          } else {
            const j = nearest[i]!;
            expect(seeds[j]).toBe(1);
            const dx = (i % w) - (j % w);
            const dy = Math.floor(i / w) - Math.floor(j / w);
            expect(dx * dx + dy * dy).toBe(ref[i]);
          }
        }
      }),
      { numRuns: 200 },
    );
  });

  it('fillFromNearest copies the nearest valid value into invalid pixels', () => {
    // 5×1: [2, 0, 0, 0, 7] → the middle ties (distance 2 both ways) are resolved to one of the two.
    const out = fillFromNearest(new Float32Array([2, 0, NaN, 0, 7]), 5, 1);
    expect(out[0]).toBe(2);
    expect(out[1]).toBe(2);
    expect([2, 7]).toContain(out[2]);
    expect(out[3]).toBe(7);
    expect(out[4]).toBe(7);
  });
});

describe('AbsRel', () => {
  it('is mean |D − D*| / D* over known GT pixels only', () => {
    // 2×2 GT [1, 2; 4, unknown], prediction [1.1, 2; 3, 5]: (0.1 + 0 + 0.25) / 3.
    const gt = new Float32Array([1, 2, 4, 0]);
    const pred = new Float32Array([1.1, 2, 3, 5]);
    const m = evaluateDepth(gt, pred, new Int32Array(4), 2, 2);
    expect(m.absrel).toBeCloseTo(0.35 / 3, 6);
  });

  it('splits the edge band into covered / uncovered by the distance to a mask boundary', () => {
    // 40×20, left half at 1 m, right half at 2 m: GT contour pairs between x = 19 and 20, band x ∈ [16, 23].
    const w = 40, h = 20;
    const gt = rectScene(w, h, 2, 1, 0, 0, 20, h);
    const pred = new Float32Array(gt).map((v) => v * 1.1); // AbsRel 0.1 everywhere
    // Masks with a boundary far away (x = 35 | 36): the whole band is uncovered.
    const far = new Int32Array(w * h).map((_, i) => (i % w < 36 ? 0 : 1));
    const a = evaluateDepth(gt, pred, far, w, h);
    expect(a.absrel).toBeCloseTo(0.1, 6);
    expect(a.absrelEdge).toBeCloseTo(0.1, 6);
    expect(a.absrelEdgeCovered).toBeNull();
    expect(a.absrelEdgeUncovered).toBeCloseTo(0.1, 6);
    // Masks along the depth edge: the whole band (within 3 px of x = 19/20) is within 5 px of the boundary.
    const along = new Int32Array(w * h).map((_, i) => (i % w < 20 ? 0 : 1));
    const b = evaluateDepth(gt, pred, along, w, h);
    expect(b.absrelEdgeCovered).toBeCloseTo(0.1, 6);
    expect(b.absrelEdgeUncovered).toBeNull();
  });
});

describe('contours', () => {
  it('marks a pair when the nearer pixel’s inverse depth exceeds the other’s by more than t, with its direction', () => {
    // 4×2: columns at 2, 2, 1, 1 m (inverse 0.5, 0.5, 1, 1): the pair (1,2) has z_right / z_left = 2.
    const d = new Float32Array([2, 2, 1, 1, 2, 2, 1, 1]);
    const { horizontal, vertical } = contourPairs(d, 4, 2, 1.05);
    expect(Array.from(horizontal)).toEqual([0, 1, 0, 0, 0, 1, 0, 0]); // +1 = "right" (right pixel nearer)
    expect(Array.from(vertical)).toEqual([0, 0, 0, 0, 0, 0, 0, 0]);
    // Mirrored: left pixel nearer → −1; ratio 2 is not > 2.
    const m = new Float32Array([1, 2]);
    expect(Array.from(contourPairs(m, 2, 1, 1.05).horizontal)).toEqual([-1, 0]);
    expect(Array.from(contourPairs(m, 2, 1, 2).horizontal)).toEqual([0, 0]);
    // Vertical: the lower pixel nearer → +1 ("down"); unknown depth → no pair.
    expect(Array.from(contourPairs(new Float32Array([3, 1]), 1, 2, 1.05).vertical)).toEqual([1, 0]);
    expect(Array.from(contourPairs(new Float32Array([0, 1]), 1, 2, 1.05).vertical)).toEqual([0, 0]);
  });
});

describe('boundary F1', () => {
  it('is 1 for identical maps (a square: all four directions; a step: one direction)', () => {
    const w = 24, h = 20;
    const square = rectScene(w, h, 3, 1, 6, 5, 15, 14);
    expect(boundaryF1(prepareGroundTruth(square, w, h), square)).toBeCloseTo(1, 12);
    const step = rectScene(w, h, 3, 1, 0, 0, 10, h);
    expect(boundaryF1(prepareGroundTruth(step, w, h), step)).toBeCloseTo(1, 12);
  });

  it('is scale invariant and 0 for a flat prediction or a one-pixel-shifted edge', () => {
    const w = 24, h = 20;
    const gt = rectScene(w, h, 3, 1, 6, 5, 15, 14);
    const prep = prepareGroundTruth(gt, w, h);
    expect(boundaryF1(prep, gt.map((v) => 7 * v))).toBeCloseTo(1, 12);
    expect(boundaryF1(prep, new Float32Array(w * h).fill(2))).toBe(0);
    expect(boundaryF1(prep, rectScene(w, h, 3, 1, 7, 5, 16, 14))).toBeGreaterThan(0); // top/bottom rows mostly still match
    // A pure 1-px shift of a vertical step: no exact pair match at all.
    const step = rectScene(w, h, 3, 1, 0, 0, 10, h);
    expect(boundaryF1(prepareGroundTruth(step, w, h), rectScene(w, h, 3, 1, 0, 0, 11, h))).toBe(0);
  });

  it('counts a contour only at the thresholds it exceeds: half the recall at every t above the weak edge', () => {
    // GT has two vertical steps of ratio 1.5 (above every threshold); the prediction keeps only the first.
    const w = 30, h = 10;
    const gt = new Float32Array(w * h);
    const pred = new Float32Array(w * h);
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        gt[y * w + x] = x < 10 ? 1.5 : x < 20 ? 2.25 : 3.375;
        pred[y * w + x] = x < 10 ? 1.5 : 2.25;
      }
    }
    // Both GT steps have the nearer pixel on the left: direction "left" only (the other directions have
    // neither GT nor predicted pairs and take no part). P = 1, R = 1/2 at every threshold → F1 = 2/3.
    expect(boundaryF1(prepareGroundTruth(gt, w, h), pred)).toBeCloseTo(2 / 3, 12);
  });
});

describe('depth boundary error', () => {
  it('is 0 / 0 for identical edge maps, 1 / 1 for a 1-px shift, and 10 / 10 with no predicted edge', () => {
    const w = 20, h = 10;
    const gtEdges = new Uint8Array(w * h);
    for (let y = 0; y < h; y++) gtEdges[y * w + 9] = 1;
    expect(dbeScores(gtEdges, gtEdges, w, h)).toEqual({ accuracy: 0, completeness: 0 });
    const shifted = new Uint8Array(w * h);
    for (let y = 0; y < h; y++) shifted[y * w + 10] = 1;
    expect(dbeScores(gtEdges, shifted, w, h)).toEqual({ accuracy: 1, completeness: 1 });
    expect(dbeScores(gtEdges, new Uint8Array(w * h), w, h)).toEqual({ accuracy: DBE_MAX_DIST, completeness: DBE_MAX_DIST });
    // Predicted edges farther than 10 px from every GT edge are not kept (30 px wide: x = 25 is 16 px away).
    const w2 = 30;
    const gt2 = new Uint8Array(w2 * h);
    const far = new Uint8Array(w2 * h);
    for (let y = 0; y < h; y++) {
      gt2[y * w2 + 9] = 1;
      far[y * w2 + 25] = 1;
    }
    expect(dbeScores(gt2, far, w2, h)).toEqual({ accuracy: DBE_MAX_DIST, completeness: DBE_MAX_DIST });
    expect(dbeScores(new Uint8Array(w * h), shifted, w, h)).toEqual({ accuracy: null, completeness: null });
  });

  it('is 0 / 0 when the prediction is the GT itself on a symmetric step', () => {
    // Left half near (1 m), right half far (2 m): normalised 0 | 1, the blur is symmetric about x = 9.5 and
    // so are its 8-bit values (round(127.5 − a) + round(127.5 + a) = 255), so the Sobel magnitudes at x = 9
    // and x = 10 are equal and non-max suppression keeps x = 9 (strict against the left, ≥ the right).
    // The GT edge is the nearer pixel of the pair (9, 10): x = 9.
    const w = 20, h = 10;
    const gt = rectScene(w, h, 2, 1, 0, 0, 10, h);
    const r = depthBoundaryError(prepareGroundTruth(gt, w, h), gt);
    expect(r.accuracy).toBe(0);
    expect(r.completeness).toBe(0);
  });
});

describe('canny', () => {
  it('finds a vertical 0 | 255 step in the column left of the step, on every row', () => {
    // Sobel gx = 1020 at x = 9 and x = 10 (equal): NMS keeps x = 9 (m > left, m ≥ right), drops x = 10.
    const w = 20, h = 8;
    const img = new Uint8Array(w * h).map((_, i) => (i % w < 10 ? 0 : 255));
    const e = canny(img, w, h, 25.5, 51);
    for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) expect(e[y * w + x]).toBe(x === 9 ? 1 : 0);
  });

  it('keeps a weak ridge only when 8-connected to a strong one', () => {
    // Horizontal steps between rows 4 and 5: a step of 10 gives |gy| = 4·10 = 40 (between the thresholds
    // 25.5 and 51: weak), a step of 20 gives 80 (strong). NMS keeps the upper row (4) of each step.
    const w = 20, h = 10;
    const weakOnly = new Uint8Array(w * h).map((_, i) => (Math.floor(i / w) < 5 ? 0 : 10));
    expect(canny(weakOnly, w, h, 25.5, 51).reduce((a, b) => a + b, 0)).toBe(0);
    // Weak for x < 10, strong for x ≥ 10, touching: the weak ridge x = 0..8 of row 4 is kept through the
    // strong pixel (9, 5) at the junction.
    const joined = new Uint8Array(w * h).map((_, i) => (Math.floor(i / w) < 5 ? 0 : i % w < 10 ? 10 : 20));
    const e = canny(joined, w, h, 25.5, 51);
    for (let x = 0; x <= 8; x++) expect(e[4 * w + x]).toBe(1);
    for (let x = 11; x < w; x++) expect(e[4 * w + x]).toBe(1);
    // Weak for x < 6, flat 0 for 6 ≤ x < 12, strong for x ≥ 12: every gradient on the left is ≤ 40 in
    // each axis and never reaches 51 in L2, and it is separated from the strong part: dropped.
    const apart = new Uint8Array(w * h).map((_, i) => (Math.floor(i / w) < 5 ? 0 : i % w < 6 ? 10 : i % w < 12 ? 0 : 20));
    const f = canny(apart, w, h, 25.5, 51);
    for (let y = 0; y < h; y++) for (let x = 0; x <= 7; x++) expect(f[y * w + x]).toBe(0);
    for (let x = 13; x < w; x++) expect(f[4 * w + x]).toBe(1); // (12, 4) loses NMS to the junction pixel (12, 5)
  });
});

describe('raw depth synthesis', () => {
  it('leaves unknown pixels unknown and a constant region constant before noise (normalised convolution)', () => {
    const w = 30, h = 20;
    const gt = new Float32Array(w * h).fill(3);
    for (let y = 0; y < h; y++) for (let x = 12; x < 15; x++) gt[y * w + x] = 0;
    const b = blurKnownDepth(gt, w, h);
    for (let i = 0; i < w * h; i++) {
      if (gt[i] === 0) expect(b[i]).toBe(0);
      else expect(Math.abs(b[i]! - 3)).toBeLessThan(3 * 1e-6); // float32 rounding of a weighted mean of 3s
    }
    const raw = synthRawDepth(gt, w, h, 7);
    for (let i = 0; i < w * h; i++) expect(raw[i] === 0).toBe(gt[i] === 0);
    expect(Array.from(synthRawDepth(gt, w, h, 7))).toEqual(Array.from(raw)); // fixed seed → same values
  });

  it('has 2 % multiplicative noise', () => {
    const w = 200, h = 100;
    const gt = new Float32Array(w * h).fill(5);
    const raw = synthRawDepth(gt, w, h, 123);
    let s = 0, s2 = 0;
    for (let i = 0; i < raw.length; i++) {
      const e = raw[i]! / 5 - 1;
      s += e;
      s2 += e * e;
    }
    const mean = s / raw.length;
    const std = Math.sqrt(s2 / raw.length - mean * mean);
    // std of the sample mean = 0.02/√20000 ≈ 1.4e-4; of the sample std ≈ 0.02/√40000 = 1e-4: 7σ bounds.
    expect(Math.abs(mean)).toBeLessThan(1e-3);
    expect(Math.abs(std - 0.02)).toBeLessThan(7e-4);
  });
});

describe('mask synthesis', () => {
  it('joins neighbours within an inverse-depth ratio of 1.05 and splits at larger jumps', () => {
    // A ramp with 4 % steps is one region (chained), a 6 % step splits it.
    const w = 12, h = 1;
    const ramp = new Float32Array(w).map((_, x) => Math.pow(1.04, x));
    expect(depthRegions(ramp, w, h).count).toBe(1);
    const step = new Float32Array(w).map((_, x) => (x < 6 ? 1 : 1.06));
    const r = depthRegions(step, w, h);
    expect(r.count).toBe(2);
    expect(Array.from(r.labels)).toEqual([0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1]);
  });

  it('gives unknown pixels the label of the nearest known pixel', () => {
    const labels = new Int32Array([0, 0, -1, -1, -1, 1]);
    // −1 at x = 2 → nearest x = 1 (label 0); x = 4 → x = 5 (label 1); x = 3 ties (distance 2 each way).
    fillUnlabelled(labels, 6, 1);
    expect(labels[2]).toBe(0);
    expect(labels[4]).toBe(1);
    expect([0, 1]).toContain(labels[3]);
  });

  it('merges regions under 64 px into the neighbour with the longest shared border', () => {
    const w = 40, h = 40;
    const gt = new Float32Array(w * h).fill(1);
    const put = (x0: number, y0: number, s: number, v: number): void => {
      for (let y = y0; y < y0 + s; y++) for (let x = x0; x < x0 + s; x++) gt[y * w + x] = v;
    };
    put(20, 20, 10, 3); // 100 px: stays
    put(3, 3, 5, 2); // 25 px inside the background: joins the background
    put(27, 17, 3, 5); // 9 px just above the 3 m square's top edge (row 20)
    const labels = regionLabels(gt, w, h);
    const sizes = new Map<number, number>();
    for (const l of labels) sizes.set(l, (sizes.get(l) ?? 0) + 1);
    expect(sizes.size).toBe(2);
    for (const s of sizes.values()) expect(s).toBeGreaterThanOrEqual(64);
    expect(labels[5 * w + 5]).toBe(labels[0]); // the 5×5 patch is background now
    expect(labels[25 * w + 25]).not.toBe(labels[0]);
    // The 3×3 patch (x 27–29, y 17–19) borders the background on 3+3+3 = 9 pairs and the square on 3: background.
    expect(labels[18 * w + 28]).toBe(labels[0]);
  });

  it('merges every region below the minimum size, whatever the label map', () => {
    fc.assert(
      fc.property(fc.integer({ min: 8, max: 40 }), fc.integer({ min: 8, max: 40 }), fc.integer(), (w, h, seed) => {
        const rng = createRng(seed);
        const labels = new Int32Array(w * h).map(() => Math.floor(rng() * 6));
        const { labels: out, count } = mergeSmallRegions(labels, w, h, 16);
        const sizes = new Float64Array(count);
        for (const l of out) sizes[l]++;
        if (count > 1) for (const s of sizes) expect(s).toBeGreaterThanOrEqual(16);
      }),
      { numRuns: 50 },
    );
  });

  it('displaces every boundary by at most 2 px per axis, smoothly', () => {
    const w = 120, h = 90;
    // Blocky labels so that there are many boundaries.
    const labels = new Int32Array(w * h).map((_, i) => (Math.floor((i % w) / 7) + 3 * Math.floor(i / w / 9)) % 5);
    const out = jitterLabels(labels, w, h, 99);
    let changed = 0;
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        const l = out[y * w + x]!;
        if (l !== labels[y * w + x]) changed++;
        let found = false;
        for (let oy = -2; oy <= 2 && !found; oy++) {
          for (let ox = -2; ox <= 2 && !found; ox++) {
            const xx = Math.min(w - 1, Math.max(0, x + ox));
            const yy = Math.min(h - 1, Math.max(0, y + oy));
            if (labels[yy * w + xx] === l) found = true;
          }
        }
        expect(found).toBe(true);
      }
    }
    expect(changed).toBeGreaterThan(0);
    const { dx, dy } = displacementField(w, h, 99);
    let maxStep = 0;
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        const i = y * w + x;
        expect(Math.abs(dx[i]!)).toBeLessThanOrEqual(2);
        expect(Math.abs(dy[i]!)).toBeLessThanOrEqual(2);
        if (x + 1 < w) maxStep = Math.max(maxStep, Math.abs(dx[i + 1]! - dx[i]!), Math.abs(dy[i + 1]! - dy[i]!));
      }
    }
    // White noise blurred with σ = 6 has a neighbour-difference std of about spread/(σ√2) ≈ 0.12 px after
    // rescaling to std 1: a jump of 1 px would be an ~8σ event.
    expect(maxStep).toBeLessThan(1);
  });

  it('synthMasks labels every pixel and is deterministic for a seed', () => {
    const w = 50, h = 40;
    const gt = rectScene(w, h, 4, 1, 10, 10, 30, 30);
    gt[0] = 0;
    const a = synthMasks(gt, w, h, 3);
    expect(Array.from(a).every((l) => l >= 0)).toBe(true);
    expect(Array.from(synthMasks(gt, w, h, 3))).toEqual(Array.from(a));
  });
});

describe('helpers', () => {
  it('gaussian blur keeps constants (reflect-101 border) and the mask boundary band has the right width', () => {
    const w = 9, h = 7;
    const c = blurSeparable(new Float32Array(w * h).fill(2), w, h, gaussianKernel(1.5, 6), 'reflect101');
    for (const v of c) expect(v).toBeCloseTo(2, 5);
    // Boundary between x = 4 and 5: boundary pixels x = 4, 5; within 2 px: x = 2..7.
    const labels = new Int32Array(w * h).map((_, i) => (i % w < 5 ? 0 : 1));
    const near = nearMaskBoundary(labels, w, h, 2);
    for (let x = 0; x < w; x++) expect(near[x]).toBe(x >= 2 && x <= 7 ? 1 : 0);
  });
});
