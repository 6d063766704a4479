/**
 * Depth-edge metrics of docs/metrics.md §1, plus the small image operations they rest on (exact Euclidean
 * distance transform, separable Gaussian blur, Canny). Pure code on typed arrays: no I/O, no globals other
 * than a WeakMap cache of per-ground-truth precomputations.
 *
 * Conventions: images are row-major, W·H; depth 0 / NaN / ≤ 0 = unknown. "Inverse depth" z = 1/D.
 * A "contour pair" at ratio t is a horizontal or vertical neighbour pair (p, q) with z_q / z_p > t
 * (q is nearer than p by more than the ratio t).
 *
 * Where metrics.md leaves a choice, these are the ones made (each repeated at its function):
 * - "within N px" = Euclidean distance between pixel centres ≤ N, by an exact distance transform;
 * - the edge band is measured from both pixels of every GT contour pair at t = 1.05 (either direction);
 *   a mask boundary is both pixels of every 4-neighbour pair with different labels;
 * - a prediction's invalid pixels (0, NaN, ≤ 0, e.g. raw depth where GT is unknown) are filled from the
 *   nearest valid pixel before contours and Canny; unknown-GT pixels never enter any average, and pairs
 *   with an unknown-GT pixel are no contour pairs, for the GT nor for the prediction;
 * - boundary F1: per-direction precision (recall) is averaged over the directions with at least one
 *   predicted (GT) pair, so a scene whose edges all face one way can still score 1;
 * - DBE: "normalised to [0,1]" uses min/max over the known-GT pixels; 255 × blur is rounded to 8 bits
 *   (cv2.Canny takes 8-bit input); predicted edges on unknown-GT pixels are dropped; "within 10 px" is ≤ 10.
 */

/** Ratio of the GT contours that define the edge band and the DBE ground-truth edges. */
export const EDGE_RATIO = 1.05;
/** Edge band: pixels within this many px of a GT contour pair at t = EDGE_RATIO. */
export const BAND_RADIUS = 3;
/** Covered part of the band: within this many px of a mask boundary. */
export const COVER_RADIUS = 5;
/** DBE: predicted edges farther than this from any GT edge are ignored; also the value when none is kept. */
export const DBE_MAX_DIST = 10;
/** Canny thresholds of the DBE (on a 0..255 image). */
export const DBE_CANNY_LOW = 0.1 * 255;
export const DBE_CANNY_HIGH = 0.2 * 255;
/** σ of the Gaussian applied before Canny in the DBE. */
export const DBE_BLUR_SIGMA = Math.SQRT2;

/** Boundary-F1 thresholds: linspace(1.05, 1.25, 10). */
export const F1_THRESHOLDS: readonly number[] = Array.from({ length: 10 }, (_, i) => 1.05 + (0.2 * i) / 9);

/** The seven numbers of §1 for one prediction. `null` = not computable (e.g. an empty edge band). */
export interface DepthMetrics {
  absrel: number | null;
  absrelEdge: number | null;
  absrelEdgeCovered: number | null;
  absrelEdgeUncovered: number | null;
  boundaryF1: number | null;
  dbeAccuracy: number | null;
  dbeCompleteness: number | null;
}

// ---------------------------------------------------------------------------------------------------------
// Distance transform

/**
 * Exact squared Euclidean distance transform (Felzenszwalb & Huttenlocher, "Distance Transforms of Sampled
 * Functions", 2012). For every pixel, the squared distance (in pixels, between pixel centres) to the
 * nearest pixel with `seeds[i] !== 0`; `Infinity` everywhere when there is no seed.
 *
 * Pass 1 (columns): the 1-D distance to the nearest seed of the same column, by a downward and an upward
 * sweep. Pass 2 (rows): the squared distance is min_q ((x − q)² + f(q)) with f the column result, i.e. the
 * lower envelope of parabolas rooted at (q, f(q)), built in one left-to-right sweep and read back in a
 * second. Both passes are O(W·H).
 *
 * @param nearest optional output (W·H): the linear index of a nearest seed for every pixel (-1 if none).
 */
export function squaredDistanceTransform(
  seeds: Uint8Array,
  w: number,
  h: number,
  nearest?: Int32Array,
): Float32Array {
  const n = w * h;
  const out = new Float32Array(n);
  // Column pass: colDist = vertical distance to the nearest seed in the column, colRow = that seed's row.
  const colDist = new Float64Array(n);
  const colRow = new Int32Array(n);
  const last = new Int32Array(w).fill(-1);
  for (let y = 0; y < h; y++) {
    const row = y * w;
    for (let x = 0; x < w; x++) {
      if (seeds[row + x] !== 0) last[x] = y;
      const ly = last[x]!;
      if (ly >= 0) {
        colDist[row + x] = y - ly;
        colRow[row + x] = ly;
      } else {
        colDist[row + x] = Infinity;
        colRow[row + x] = -1;
      }
    }
  }
  last.fill(-1);
  for (let y = h - 1; y >= 0; y--) {
    const row = y * w;
    for (let x = 0; x < w; x++) {
      if (seeds[row + x] !== 0) last[x] = y;
      const ly = last[x]!;
      if (ly >= 0 && ly - y < colDist[row + x]!) {
        colDist[row + x] = ly - y;
        colRow[row + x] = ly;
      }
    }
  }
  // Row pass: lower envelope of parabolas g(x) = (x − q)² + f(q) over the columns q with a finite f.
  const v = new Int32Array(w);
  const z = new Float64Array(w + 1);
  const f = new Float64Array(w);
  for (let y = 0; y < h; y++) {
    const row = y * w;
    for (let x = 0; x < w; x++) {
      const d = colDist[row + x]!;
      f[x] = d * d;
    }
    let k = -1;
    for (let q = 0; q < w; q++) {
      const fq = f[q]!;
      if (fq === Infinity) continue;
      if (k < 0) {
        k = 0;
        v[0] = q;
        z[0] = -Infinity;
        z[1] = Infinity;
        continue;
      }
      // Intersection of the parabola at q with the current rightmost one of the envelope.
      let s = 0;
      for (;;) {
        const p = v[k]!;
        s = (fq + q * q - (f[p]! + p * p)) / (2 * (q - p));
        if (s <= z[k]!) k--;
        else break;
      }
      k++;
      v[k] = q;
      z[k] = s;
      z[k + 1] = Infinity;
    }
    if (k < 0) {
      for (let x = 0; x < w; x++) {
        out[row + x] = Infinity;
        if (nearest) nearest[row + x] = -1;
      }
      continue;
    }
    k = 0;
    for (let x = 0; x < w; x++) {
      while (z[k + 1]! < x) k++;
      const p = v[k]!;
      out[row + x] = (x - p) * (x - p) + f[p]!;
      if (nearest) nearest[row + x] = colRow[row + p]! * w + p;
    }
  }
  return out;
}

/** Euclidean distance (pixels) to the nearest seed: the square root of {@link squaredDistanceTransform}. */
export function distanceTransform(seeds: Uint8Array, w: number, h: number): Float32Array {
  const d = squaredDistanceTransform(seeds, w, h);
  for (let i = 0; i < d.length; i++) d[i] = Math.sqrt(d[i]!);
  return d;
}

/** 1 where `d² ≤ r²` (pixel within `r` px of a seed), else 0. */
function withinRadius(seeds: Uint8Array, w: number, h: number, r: number): Uint8Array {
  const d2 = squaredDistanceTransform(seeds, w, h);
  const out = new Uint8Array(w * h);
  const r2 = r * r;
  for (let i = 0; i < out.length; i++) out[i] = d2[i]! <= r2 ? 1 : 0;
  return out;
}

/** True for a usable depth value: finite and > 0. */
export function isValidDepth(v: number): boolean {
  return v > 0 && v < Infinity;
}

/**
 * Replaces every invalid value (see {@link isValidDepth}) by the value of the nearest valid pixel (exact
 * Euclidean distance, ties broken by the transform's scan order). Returns a new array; an input with no
 * valid pixel is returned as a copy unchanged.
 *
 * @param nearest optional precomputed nearest-valid-pixel index map for exactly this validity pattern.
 */
export function fillFromNearest(values: Float32Array, w: number, h: number, nearest?: Int32Array): Float32Array {
  const out = new Float32Array(values);
  let invalid = 0;
  for (let i = 0; i < out.length; i++) if (!isValidDepth(out[i]!)) invalid++;
  if (invalid === 0 || invalid === out.length) return out;
  let map = nearest;
  if (!map) {
    const seeds = new Uint8Array(out.length);
    for (let i = 0; i < out.length; i++) seeds[i] = isValidDepth(out[i]!) ? 1 : 0;
    map = new Int32Array(out.length);
    squaredDistanceTransform(seeds, w, h, map);
  }
  for (let i = 0; i < out.length; i++) if (!isValidDepth(out[i]!)) out[i] = values[map[i]!]!;
  return out;
}

// ---------------------------------------------------------------------------------------------------------
// Gaussian blur

/** Normalised 1-D Gaussian taps exp(−k²/2σ²), k = −radius..radius, summing to 1. */
export function gaussianKernel(sigma: number, radius: number): Float64Array {
  const k = new Float64Array(2 * radius + 1);
  let sum = 0;
  for (let i = -radius; i <= radius; i++) {
    const v = Math.exp(-(i * i) / (2 * sigma * sigma));
    k[i + radius] = v;
    sum += v;
  }
  for (let i = 0; i < k.length; i++) k[i] = k[i]! / sum;
  return k;
}

/**
 * Border rule of {@link blurSeparable}: 'zero' treats outside pixels as 0 (used by normalised convolution,
 * where the weights are blurred the same way), 'reflect101' mirrors without repeating the edge pixel
 * (OpenCV's default: ...c b | a b c d | c b...), 'replicate' repeats the edge pixel.
 */
export type Border = 'zero' | 'reflect101' | 'replicate';

function borderIndex(i: number, n: number, border: Border): number {
  if (i >= 0 && i < n) return i;
  if (border === 'zero') return -1;
  if (border === 'replicate' || n === 1) return i < 0 ? 0 : n - 1;
  // reflect101, repeated in case the kernel is wider than the image
  const period = 2 * (n - 1);
  let j = ((i % period) + period) % period;
  if (j >= n) j = period - j;
  return j;
}

/** Separable convolution with the symmetric kernel `kernel` (odd length) along x then y. */
export function blurSeparable(src: Float32Array, w: number, h: number, kernel: Float64Array, border: Border): Float32Array {
  const r = (kernel.length - 1) >> 1;
  const tmp = new Float32Array(w * h);
  const out = new Float32Array(w * h);
  const idx = new Int32Array(w + 2 * r);
  for (let i = 0; i < idx.length; i++) idx[i] = borderIndex(i - r, w, border);
  for (let y = 0; y < h; y++) {
    const row = y * w;
    for (let x = 0; x < w; x++) {
      let acc = 0;
      if (x >= r && x + r < w) {
        const base = row + x - r;
        for (let k = 0; k < kernel.length; k++) acc += kernel[k]! * src[base + k]!;
      } else {
        for (let k = 0; k < kernel.length; k++) {
          const j = idx[x + k]!;
          if (j >= 0) acc += kernel[k]! * src[row + j]!;
        }
      }
      tmp[row + x] = acc;
    }
  }
  const acc = new Float64Array(w);
  for (let y = 0; y < h; y++) {
    acc.fill(0);
    for (let k = 0; k < kernel.length; k++) {
      const yy = borderIndex(y + k - r, h, border);
      if (yy < 0) continue;
      const kv = kernel[k]!;
      const base = yy * w;
      for (let x = 0; x < w; x++) acc[x] += kv * tmp[base + x]!;
    }
    const row = y * w;
    for (let x = 0; x < w; x++) out[row + x] = acc[x]!;
  }
  return out;
}

/**
 * OpenCV's kernel size for `GaussianBlur(src, (0, 0), sigma)` on float images: round(8σ + 1) made odd.
 * Returns the radius (size − 1)/2.
 */
export function opencvGaussianRadius(sigma: number): number {
  const size = Math.round(sigma * 8 + 1) | 1;
  return (size - 1) >> 1;
}

// ---------------------------------------------------------------------------------------------------------
// Canny

/** tan(22.5°) in Q15 fixed point, as used for the gradient-direction sectors. */
const TAN22_Q15 = Math.round(Math.tan(Math.PI / 8) * (1 << 15));

/**
 * Canny edge detector with the semantics of OpenCV's `cv2.Canny(img, low, high, L2gradient=True)` on an
 * 8-bit image, re-derived from Canny (1986) and OpenCV's documented behaviour:
 * 1. gradients by the 3×3 Sobel operator (border: replicate);
 * 2. magnitude m = dx² + dy² compared against low², high² (the L2 norm, squared to stay integral);
 * 3. non-maximum suppression along the gradient direction quantised into 4 sectors (horizontal when
 *    |dy| < tan 22.5°·|dx|, vertical when |dy| > tan 67.5°·|dx|, otherwise the diagonal whose sign is that of
 *    dx·dy); a pixel survives if m > low and m is a maximum along that direction, strictly against the
 *    "previous" neighbour (left / above / the upper diagonal one) and non-strictly against the next one for
 *    the horizontal and vertical sectors, strictly against both on the diagonals; outside pixels have m = 0;
 * 4. hysteresis: survivors with m > high are edges, and so is every survivor 8-connected to an edge.
 *
 * @returns W·H bytes, 1 = edge.
 */
export function canny(img: Uint8Array, w: number, h: number, low: number, high: number): Uint8Array {
  const n = w * h;
  const dx = new Int32Array(n);
  const dy = new Int32Array(n);
  const mag = new Int32Array(n);
  for (let y = 0; y < h; y++) {
    const ym = (y > 0 ? y - 1 : 0) * w;
    const y0 = y * w;
    const yp = (y < h - 1 ? y + 1 : h - 1) * w;
    for (let x = 0; x < w; x++) {
      const xm = x > 0 ? x - 1 : 0;
      const xp = x < w - 1 ? x + 1 : w - 1;
      const a = img[ym + xm]!, b = img[ym + x]!, c = img[ym + xp]!;
      const d = img[y0 + xm]!, f = img[y0 + xp]!;
      const g = img[yp + xm]!, hh = img[yp + x]!, k = img[yp + xp]!;
      const gx = c + 2 * f + k - (a + 2 * d + g);
      const gy = g + 2 * hh + k - (a + 2 * b + c);
      dx[y0 + x] = gx;
      dy[y0 + x] = gy;
      mag[y0 + x] = gx * gx + gy * gy;
    }
  }
  const lo = low * low;
  const hi = high * high;
  const magAt = (x: number, y: number): number => (x < 0 || y < 0 || x >= w || y >= h ? 0 : mag[y * w + x]!);
  // state: 0 = not an edge, 1 = weak survivor, 2 = edge
  const state = new Uint8Array(n);
  const stack = new Int32Array(n);
  let top = 0;
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const i = y * w + x;
      const m = mag[i]!;
      if (!(m > lo)) continue;
      const gx = dx[i]!, gy = dy[i]!;
      const xs = Math.abs(gx), ys = Math.abs(gy);
      const tg22x = xs * TAN22_Q15;
      const yq = ys * 32768;
      let isMax: boolean;
      if (yq < tg22x) {
        isMax = m > magAt(x - 1, y) && m >= magAt(x + 1, y);
      } else if (yq > tg22x + xs * 65536) {
        isMax = m > magAt(x, y - 1) && m >= magAt(x, y + 1);
      } else {
        const s = (gx < 0) !== (gy < 0) ? -1 : 1;
        isMax = m > magAt(x - s, y - 1) && m > magAt(x + s, y + 1);
      }
      if (!isMax) continue;
      if (m > hi) {
        state[i] = 2;
        stack[top++] = i;
      } else {
        state[i] = 1;
      }
    }
  }
  while (top > 0) {
    const i = stack[--top]!;
    const x = i % w;
    const y = (i - x) / w;
    for (let oy = -1; oy <= 1; oy++) {
      const yy = y + oy;
      if (yy < 0 || yy >= h) continue;
      for (let ox = -1; ox <= 1; ox++) {
        const xx = x + ox;
        if (xx < 0 || xx >= w) continue;
        const j = yy * w + xx;
        if (state[j] === 1) {
          state[j] = 2;
          stack[top++] = j;
        }
      }
    }
  }
  const edges = new Uint8Array(n);
  for (let i = 0; i < n; i++) edges[i] = state[i] === 2 ? 1 : 0;
  return edges;
}

// ---------------------------------------------------------------------------------------------------------
// Contours

/**
 * Contour pairs of a depth map at ratio t. `horizontal[y·W + x]` describes the pair ((x, y), (x+1, y)):
 * +1 if the right pixel is nearer (z_right / z_left > t; the "right" direction), −1 if the left one is
 * (the "left" direction), 0 otherwise or when either depth is invalid. `vertical[y·W + x]` likewise for
 * ((x, y), (x, y+1)): +1 "down" (lower pixel nearer), −1 "up". The last column / row is always 0.
 */
export function contourPairs(depth: Float32Array, w: number, h: number, t: number): { horizontal: Int8Array; vertical: Int8Array } {
  const horizontal = new Int8Array(w * h);
  const vertical = new Int8Array(w * h);
  const sign = (dp: number, dq: number): number => {
    if (!isValidDepth(dp) || !isValidDepth(dq)) return 0;
    // z_q / z_p = D_p / D_q
    if (dp / dq > t) return 1;
    if (dq / dp > t) return -1;
    return 0;
  };
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const i = y * w + x;
      if (x + 1 < w) horizontal[i] = sign(depth[i]!, depth[i + 1]!);
      if (y + 1 < h) vertical[i] = sign(depth[i]!, depth[i + w]!);
    }
  }
  return { horizontal, vertical };
}

/**
 * Signed contour level of one pair (p, q): +L when z_q/z_p exceeds exactly the first L thresholds of
 * `F1_THRESHOLDS` (L = number of thresholds t with ratio > t, the thresholds being increasing), −L for the
 * opposite direction, 0 for none. With depths, z_q/z_p = D_p/D_q.
 */
function pairLevel(dp: number, dq: number): number {
  const r = dp / dq;
  if (r > F1_THRESHOLDS[0]!) {
    let l = 1;
    while (l < F1_THRESHOLDS.length && r > F1_THRESHOLDS[l]!) l++;
    return l;
  }
  const ri = dq / dp;
  if (ri > F1_THRESHOLDS[0]!) {
    let l = 1;
    while (l < F1_THRESHOLDS.length && ri > F1_THRESHOLDS[l]!) l++;
    return -l;
  }
  return 0;
}

// ---------------------------------------------------------------------------------------------------------
// Ground-truth precomputation

/** Everything about a ground-truth depth map that does not depend on the prediction or the masks. */
export interface GroundTruthPrep {
  w: number;
  h: number;
  gt: Float32Array;
  /** 1 = known GT pixel. */
  known: Uint8Array;
  knownCount: number;
  /** Index of the nearest known pixel (identity on known pixels); null when every pixel is known. */
  nearestKnown: Int32Array | null;
  /** Signed F1 level per horizontal / vertical pair (see pairLevel); 0 where either GT is unknown. */
  levelH: Int8Array;
  levelV: Int8Array;
  /** 1 = valid pair (both GT known): only those pairs enter the boundary F1. */
  validH: Uint8Array;
  validV: Uint8Array;
  /** 1 = known pixel within BAND_RADIUS px of a GT contour pair at EDGE_RATIO. */
  band: Uint8Array;
  bandCount: number;
  /** DBE ground-truth edges: the nearer pixel of every GT contour pair at EDGE_RATIO. */
  gtEdges: Uint8Array;
  gtEdgeCount: number;
  /** Distance (px) to the nearest GT edge. */
  gtEdgeDist: Float32Array;
}

const gtCache = new WeakMap<Float32Array, GroundTruthPrep>();

/**
 * Precomputes the ground-truth side of the metrics: validity, contour levels at every F1 threshold, the
 * edge band, the DBE edges and their distance transform. Cached per `gt` array (by identity).
 */
export function prepareGroundTruth(gt: Float32Array, w: number, h: number): GroundTruthPrep {
  const cached = gtCache.get(gt);
  if (cached && cached.w === w && cached.h === h) return cached;
  const n = w * h;
  if (gt.length !== n) throw new Error(`ground truth has ${gt.length} values; expected ${w}x${h} = ${n}`);
  const known = new Uint8Array(n);
  let knownCount = 0;
  for (let i = 0; i < n; i++) {
    if (isValidDepth(gt[i]!)) {
      known[i] = 1;
      knownCount++;
    }
  }
  let nearestKnown: Int32Array | null = null;
  if (knownCount < n && knownCount > 0) {
    nearestKnown = new Int32Array(n);
    squaredDistanceTransform(known, w, h, nearestKnown);
  }
  const levelH = new Int8Array(n);
  const levelV = new Int8Array(n);
  const validH = new Uint8Array(n);
  const validV = new Uint8Array(n);
  const contour = new Uint8Array(n);
  const gtEdges = new Uint8Array(n);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const i = y * w + x;
      if (!known[i]) continue;
      if (x + 1 < w && known[i + 1]) {
        validH[i] = 1;
        const l = pairLevel(gt[i]!, gt[i + 1]!);
        levelH[i] = l;
        if (l !== 0) {
          // Level ≥ 1 means the ratio exceeds F1_THRESHOLDS[0] = EDGE_RATIO.
          contour[i] = 1;
          contour[i + 1] = 1;
          gtEdges[l > 0 ? i + 1 : i] = 1;
        }
      }
      if (y + 1 < h && known[i + w]) {
        validV[i] = 1;
        const l = pairLevel(gt[i]!, gt[i + w]!);
        levelV[i] = l;
        if (l !== 0) {
          contour[i] = 1;
          contour[i + w] = 1;
          gtEdges[l > 0 ? i + w : i] = 1;
        }
      }
    }
  }
  const near = withinRadius(contour, w, h, BAND_RADIUS);
  const band = new Uint8Array(n);
  let bandCount = 0;
  for (let i = 0; i < n; i++) {
    if (near[i] && known[i]) {
      band[i] = 1;
      bandCount++;
    }
  }
  let gtEdgeCount = 0;
  for (let i = 0; i < n; i++) gtEdgeCount += gtEdges[i]!;
  const gtEdgeDist = distanceTransform(gtEdges, w, h);
  const prep: GroundTruthPrep = {
    w, h, gt, known, knownCount, nearestKnown, levelH, levelV, validH, validV, band, bandCount, gtEdges, gtEdgeCount, gtEdgeDist,
  };
  gtCache.set(gt, prep);
  return prep;
}

/**
 * 1 where a pixel is within `radius` px of a mask boundary: a pixel of a 4-neighbour pair whose labels
 * differ (both pixels of the pair count as boundary).
 */
export function nearMaskBoundary(labels: Int32Array, w: number, h: number, radius: number): Uint8Array {
  const seeds = new Uint8Array(w * h);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const i = y * w + x;
      const l = labels[i]!;
      if (x + 1 < w && labels[i + 1] !== l) {
        seeds[i] = 1;
        seeds[i + 1] = 1;
      }
      if (y + 1 < h && labels[i + w] !== l) {
        seeds[i] = 1;
        seeds[i + w] = 1;
      }
    }
  }
  return withinRadius(seeds, w, h, radius);
}

const coverCache = new WeakMap<Int32Array, { w: number; h: number; covered: Uint8Array }>();

function coveredMap(labels: Int32Array, w: number, h: number): Uint8Array {
  const c = coverCache.get(labels);
  if (c && c.w === w && c.h === h) return c.covered;
  const covered = nearMaskBoundary(labels, w, h, COVER_RADIUS);
  coverCache.set(labels, { w, h, covered });
  return covered;
}

// ---------------------------------------------------------------------------------------------------------
// Individual metrics

/**
 * Scale-invariant boundary F1 (after Depth Pro): for each threshold t of F1_THRESHOLDS, contour pairs of
 * the prediction and of the GT in each of the four directions (right, left, down, up); per direction
 * precision = |pred ∩ GT| / |pred| and recall = |pred ∩ GT| / |GT| (exact pair matches); P and R are the
 * means over the directions where they are defined (non-empty denominator; P = 0 when nothing is
 * predicted at all); F1 = 2PR/(P+R) (0 when P + R = 0). The result is the mean over the thresholds
 * where GT has at least one contour, weighted ∝ t; null when GT has none at any threshold. Only pairs whose
 * two GT pixels are known take part. `pred` must be valid at every known GT pixel.
 */
export function boundaryF1(prep: GroundTruthPrep, pred: Float32Array): number | null {
  const { w, h } = prep;
  const L = F1_THRESHOLDS.length;
  // Histograms by level 0..L for 4 directions: [right, left, down, up].
  const histG = new Float64Array(4 * (L + 1));
  const histP = new Float64Array(4 * (L + 1));
  const histT = new Float64Array(4 * (L + 1));
  const add = (dirPos: number, lg: number, lp: number): void => {
    // dirPos is the direction index of positive levels; negative ones use dirPos + 1.
    const gDir = lg > 0 ? dirPos : dirPos + 1;
    const pDir = lp > 0 ? dirPos : dirPos + 1;
    const ag = lg < 0 ? -lg : lg;
    const ap = lp < 0 ? -lp : lp;
    if (ag > 0) histG[gDir * (L + 1) + ag]++;
    if (ap > 0) histP[pDir * (L + 1) + ap]++;
    if (ag > 0 && ap > 0 && gDir === pDir) histT[gDir * (L + 1) + Math.min(ag, ap)]++;
  };
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const i = y * w + x;
      if (prep.validH[i]) {
        const lp = pairLevel(pred[i]!, pred[i + 1]!);
        const lg = prep.levelH[i]!;
        if (lp !== 0 || lg !== 0) add(0, lg, lp);
      }
      if (prep.validV[i]) {
        const lp = pairLevel(pred[i]!, pred[i + w]!);
        const lg = prep.levelV[i]!;
        if (lp !== 0 || lg !== 0) add(2, lg, lp);
      }
    }
  }
  // Count at threshold index k = number of pairs with level > k (levels are 1-based).
  const countAt = (hist: Float64Array, dir: number, k: number): number => {
    let s = 0;
    for (let l = k + 1; l <= L; l++) s += hist[dir * (L + 1) + l]!;
    return s;
  };
  let num = 0;
  let den = 0;
  for (let k = 0; k < L; k++) {
    let pSum = 0, pN = 0, rSum = 0, rN = 0, predTotal = 0, gtTotal = 0;
    for (let d = 0; d < 4; d++) {
      const g = countAt(histG, d, k);
      const p = countAt(histP, d, k);
      const tp = countAt(histT, d, k);
      predTotal += p;
      gtTotal += g;
      if (p > 0) {
        pSum += tp / p;
        pN++;
      }
      if (g > 0) {
        rSum += tp / g;
        rN++;
      }
    }
    if (gtTotal === 0) continue;
    const P = predTotal > 0 ? pSum / pN : 0;
    const R = rSum / rN;
    const f1 = P + R > 0 ? (2 * P * R) / (P + R) : 0;
    const t = F1_THRESHOLDS[k]!;
    num += t * f1;
    den += t;
  }
  return den > 0 ? num / den : null;
}

/**
 * Depth boundary error (after iBims-1). Predicted edges: Canny (L2 gradient, thresholds 0.1·255 and
 * 0.2·255) on round(255 × GaussianBlur(D̂, σ = √2)), with D̂ = (D − min) / (max − min), min and max over
 * the known-GT pixels, the blur with OpenCV's kernel size and reflect-101 border, and the product rounded
 * to 8 bits as cv2.Canny requires. Predicted edges on unknown-GT pixels are dropped. Accuracy = mean
 * distance to the nearest GT edge over the predicted edges within DBE_MAX_DIST px of one; completeness =
 * mean distance from the GT edges to the nearest predicted edge. Both DBE_MAX_DIST when no predicted
 * edge is kept; both null when GT has no edge.
 *
 * @returns the two numbers and the predicted edge map (for inspection).
 */
export function depthBoundaryError(
  prep: GroundTruthPrep,
  pred: Float32Array,
): { accuracy: number | null; completeness: number | null; edges: Uint8Array } {
  const { w, h, known } = prep;
  const n = w * h;
  let lo = Infinity, hi = -Infinity;
  for (let i = 0; i < n; i++) {
    if (!known[i]) continue;
    const v = pred[i]!;
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  const norm = new Float32Array(n);
  const span = hi - lo;
  if (span > 0) for (let i = 0; i < n; i++) norm[i] = (pred[i]! - lo) / span;
  const blurred = blurSeparable(norm, w, h, gaussianKernel(DBE_BLUR_SIGMA, opencvGaussianRadius(DBE_BLUR_SIGMA)), 'reflect101');
  const img8 = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    const v = Math.round(255 * blurred[i]!);
    img8[i] = v < 0 ? 0 : v > 255 ? 255 : v;
  }
  const edges = canny(img8, w, h, DBE_CANNY_LOW, DBE_CANNY_HIGH);
  for (let i = 0; i < n; i++) if (!known[i]) edges[i] = 0;
  const scores = dbeScores(prep.gtEdges, edges, w, h, prep.gtEdgeDist);
  return { ...scores, edges };
}

/**
 * The two DBE numbers from edge maps (1 = edge): accuracy = mean distance to the nearest GT edge over the
 * predicted edges within DBE_MAX_DIST px of one; completeness = mean distance from the GT edges to the
 * nearest predicted edge. DBE_MAX_DIST for both when no predicted edge is within reach; null for both when
 * there is no GT edge.
 *
 * @param gtEdgeDist optional precomputed distance transform of `gtEdges`.
 */
export function dbeScores(
  gtEdges: Uint8Array,
  predEdges: Uint8Array,
  w: number,
  h: number,
  gtEdgeDist?: Float32Array,
): { accuracy: number | null; completeness: number | null } {
  const n = w * h;
  let gtCount = 0;
  for (let i = 0; i < n; i++) gtCount += gtEdges[i] ? 1 : 0;
  if (gtCount === 0) return { accuracy: null, completeness: null };
  const dGt = gtEdgeDist ?? distanceTransform(gtEdges, w, h);
  let accSum = 0, accN = 0;
  for (let i = 0; i < n; i++) {
    if (!predEdges[i]) continue;
    const d = dGt[i]!;
    if (d <= DBE_MAX_DIST) {
      accSum += d;
      accN++;
    }
  }
  if (accN === 0) return { accuracy: DBE_MAX_DIST, completeness: DBE_MAX_DIST };
  const predDist = distanceTransform(predEdges, w, h);
  let comSum = 0;
  for (let i = 0; i < n; i++) if (gtEdges[i]) comSum += predDist[i]!;
  return { accuracy: accSum / accN, completeness: comSum / gtCount };
}

/**
 * Makes a prediction usable by the metrics: invalid values (0, NaN, ±∞, negative) are replaced by the
 * value of the nearest valid pixel. When the invalid pixels are all unknown in GT, the cached nearest-known
 * map of the GT is reused.
 */
export function completePrediction(prep: GroundTruthPrep, pred: Float32Array): Float32Array {
  const n = prep.w * prep.h;
  if (pred.length !== n) throw new Error(`prediction has ${pred.length} values; expected ${prep.w}x${prep.h} = ${n}`);
  let invalid = 0;
  let invalidOnKnown = 0;
  for (let i = 0; i < n; i++) {
    if (!isValidDepth(pred[i]!)) {
      invalid++;
      if (prep.known[i]) invalidOnKnown++;
    }
  }
  if (invalid === 0) return pred;
  if (invalidOnKnown === 0 && prep.nearestKnown) return fillFromNearest(pred, prep.w, prep.h, prep.nearestKnown);
  return fillFromNearest(pred, prep.w, prep.h);
}

/**
 * All §1 metrics of one prediction against one ground truth (both W·H metric depth, 0/NaN = unknown),
 * with `masks` the label map given to the method (for the covered / uncovered split of the edge band).
 *
 * AbsRel = mean |D − D*| / D* over the known-GT pixels, over the edge band, and over its covered (within
 * COVER_RADIUS px of a mask boundary) and uncovered parts. Invalid predicted values are first filled from
 * the nearest valid pixel (see {@link completePrediction}). Ground-truth precomputations are cached per
 * `gtDepth` array and the covered map per `masks` array, so evaluating several methods on the same scene
 * pays for them once.
 */
export function evaluateDepth(gtDepth: Float32Array, pred: Float32Array, masks: Int32Array, w: number, h: number): DepthMetrics {
  const prep = prepareGroundTruth(gtDepth, w, h);
  if (masks.length !== w * h) throw new Error(`masks have ${masks.length} labels; expected ${w}x${h} = ${w * h}`);
  const covered = coveredMap(masks, w, h);
  const d = completePrediction(prep, pred);
  let all = 0, band = 0, cov = 0, unc = 0;
  let nCov = 0, nUnc = 0;
  const { known, gt } = prep;
  for (let i = 0; i < d.length; i++) {
    if (!known[i]) continue;
    const g = gt[i]!;
    const e = Math.abs(d[i]! - g) / g;
    all += e;
    if (prep.band[i]) {
      band += e;
      if (covered[i]) {
        cov += e;
        nCov++;
      } else {
        unc += e;
        nUnc++;
      }
    }
  }
  const dbe = depthBoundaryError(prep, d);
  return {
    absrel: prep.knownCount > 0 ? all / prep.knownCount : null,
    absrelEdge: prep.bandCount > 0 ? band / prep.bandCount : null,
    absrelEdgeCovered: nCov > 0 ? cov / nCov : null,
    absrelEdgeUncovered: nUnc > 0 ? unc / nUnc : null,
    boundaryF1: prep.knownCount > 0 ? boundaryF1(prep, d) : null,
    dbeAccuracy: dbe.accuracy,
    dbeCompleteness: dbe.completeness,
  };
}
