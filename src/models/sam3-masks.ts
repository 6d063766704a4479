/**
 * SAM-family mask post-processing on the CPU: the automatic mask generator's point grid, stability score,
 * box non-maximum suppression, bilinear upsampling of low-resolution mask logits to the photo, small-region
 * cleanup and resolution of overlapping masks into a non-overlapping label map.
 *
 * Everything here is pure (typed arrays in, typed arrays out) and independent of onnxruntime, so it is tested
 * directly, including with property tests.
 *
 * Masks are kept as crops: a tight bounding box in photo pixels plus a bitmap of that box. A 1080p photo has
 * 2 M pixels while a typical mask covers a small part of it; crops keep the automatic mode's few hundred
 * candidate masks within memory and make every per-mask pass proportional to the mask's own extent.
 */
import type { Rect } from '../core/types';
import { type LinearTaps, linearTaps } from './resample';

/** A binary mask stored as a crop of the photo. `data[(y - bbox.y) * bbox.width + (x - bbox.x)]` ≠ 0 = inside. */
export interface CropMask {
  /** Tight bounding box (photo pixels); width = height = 0 for an empty mask. */
  bbox: Rect;
  data: Uint8Array;
  /** Number of inside pixels. */
  area: number;
}

// ---------------------------------------------------------------------------------------------------------
// Point grid

/**
 * The automatic mask generator's point grid: n×n points at ((i + 0.5)/n, (j + 0.5)/n) in normalised image
 * coordinates (0 = left/top edge, 1 = right/bottom edge), row-major (y outer, x inner), as interleaved x, y.
 */
export function buildPointGrid(n: number): Float32Array {
  if (!Number.isInteger(n) || n < 1) throw new RangeError(`points per side must be a positive integer; found ${n}`);
  const out = new Float32Array(n * n * 2);
  for (let r = 0; r < n; r++) {
    for (let c = 0; c < n; c++) {
      const k = (r * n + c) * 2;
      out[k] = (c + 0.5) / n;
      out[k + 1] = (r + 0.5) / n;
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------------
// Stability score

/**
 * SAM's stability score of one mask logit map: the IoU between the mask thresholded at `threshold + offset`
 * and at `threshold - offset`. The first is contained in the second, so the IoU is the ratio of their areas.
 * A mask whose boundary sits on a steep logit slope barely changes when the threshold moves and scores near
 * 1. Returns 0 when even the looser mask is empty.
 *
 * @param logits logit values; the map is `logits[start .. start + length)`
 * @param offset threshold offset (SAM default 1.0)
 * @param threshold mask threshold (SAM default 0.0 on logits)
 */
export function stabilityScore(logits: Float32Array, start: number, length: number, offset = 1, threshold = 0): number {
  const hi = threshold + offset;
  const lo = threshold - offset;
  let inter = 0;
  let union = 0;
  const end = start + length;
  for (let i = start; i < end; i++) {
    const v = logits[i]!;
    if (v > lo) {
      union++;
      if (v > hi) inter++;
    }
  }
  return union === 0 ? 0 : inter / union;
}

// ---------------------------------------------------------------------------------------------------------
// Boxes and NMS

/** IoU of two boxes given as [x0, y0, x1, y1) with exclusive ends, at offsets a and b of `boxes`. */
export function boxIoU(boxes: ArrayLike<number>, a: number, b: number): number {
  const ax0 = boxes[a * 4]!, ay0 = boxes[a * 4 + 1]!, ax1 = boxes[a * 4 + 2]!, ay1 = boxes[a * 4 + 3]!;
  const bx0 = boxes[b * 4]!, by0 = boxes[b * 4 + 1]!, bx1 = boxes[b * 4 + 2]!, by1 = boxes[b * 4 + 3]!;
  const iw = Math.min(ax1, bx1) - Math.max(ax0, bx0);
  const ih = Math.min(ay1, by1) - Math.max(ay0, by0);
  if (iw <= 0 || ih <= 0) return 0;
  const inter = iw * ih;
  const union = (ax1 - ax0) * (ay1 - ay0) + (bx1 - bx0) * (by1 - by0) - inter;
  return union > 0 ? inter / union : 0;
}

/**
 * Greedy box non-maximum suppression: visit boxes by decreasing score (equal scores: lower index first) and
 * keep a box unless its IoU with an already kept box exceeds `iouThreshold` (torchvision semantics).
 *
 * @param boxes [x0, y0, x1, y1) per box, exclusive ends
 * @returns indices of the kept boxes, in visiting order (decreasing score)
 */
export function nonMaxSuppression(boxes: ArrayLike<number>, scores: ArrayLike<number>, iouThreshold: number): number[] {
  const n = scores.length;
  const order = stableOrderByScore(scores);
  const kept: number[] = [];
  for (let oi = 0; oi < n; oi++) {
    const i = order[oi]!;
    let keep = true;
    for (let k = 0; k < kept.length; k++) {
      if (boxIoU(boxes, i, kept[k]!) > iouThreshold) {
        keep = false;
        break;
      }
    }
    if (keep) kept.push(i);
  }
  return kept;
}

/** Indices sorted by decreasing score; ties keep increasing index (a stable order). NaN sorts last. */
export function stableOrderByScore(scores: ArrayLike<number>): Int32Array {
  const idx = Array.from({ length: scores.length }, (_, i) => i);
  idx.sort((a, b) => {
    const sa = scores[a]!, sb = scores[b]!;
    const na = Number.isNaN(sa), nb = Number.isNaN(sb);
    if (na || nb) return na === nb ? a - b : na ? 1 : -1;
    return sb - sa || a - b;
  });
  return Int32Array.from(idx);
}

/** [x0, y0, x1, y1) of a crop mask's bbox. */
export function maskBox(m: CropMask): [number, number, number, number] {
  return [m.bbox.x, m.bbox.y, m.bbox.x + m.bbox.width, m.bbox.y + m.bbox.height];
}

// ---------------------------------------------------------------------------------------------------------
// Bilinear upsampling of low-resolution logits

/**
 * Upsamples one low-resolution logit map (lw × lh, row-major, at `offset` in `logits`) bilinearly to the
 * photo (W × H, align_corners=False, i.e. both grids cover the same image extent) and thresholds it:
 * inside = interpolated logit > `threshold`. Only the photo pixels whose four interpolation taps include a
 * cell above the threshold are evaluated (a convex combination of values ≤ threshold cannot exceed it), so
 * the cost follows the mask's extent, not the photo's size.
 */
export function upsampleMask(
  logits: Float32Array,
  offset: number,
  lw: number,
  lh: number,
  W: number,
  H: number,
  threshold = 0,
): CropMask {
  const span = photoSpanAbove(logits, offset, lw, lh, W, H, threshold);
  if (!span) return emptyMask();
  const { tx, ty, x0, x1, y0, y1 } = span;
  if (x1 < x0 || y1 < y0) return emptyMask();
  const bw = x1 - x0 + 1;
  const bh = y1 - y0 + 1;
  const buf = new Uint8Array(bw * bh);
  let minX = bw, minY = bh, maxX = -1, maxY = -1, area = 0;
  for (let y = y0; y <= y1; y++) {
    const r0 = offset + ty.i0[y]! * lw;
    const r1 = offset + ty.i1[y]! * lw;
    const wy1 = ty.w1[y]!;
    const o = (y - y0) * bw - x0;
    let rowHit = false;
    for (let x = x0; x <= x1; x++) {
      if (bilinearAt(logits, r0, r1, wy1, tx, x) > threshold) {
        buf[o + x] = 1;
        area++;
        rowHit = true;
        const lx = x - x0;
        if (lx < minX) minX = lx;
        if (lx > maxX) maxX = lx;
      }
    }
    if (rowHit) {
      const ly = y - y0;
      if (ly < minY) minY = ly;
      maxY = ly;
    }
  }
  if (area === 0) return emptyMask();
  return cropTo({ x: x0, y: y0, width: bw, height: bh }, buf, minX, minY, maxX, maxY, area);
}

/**
 * The photo pixels an upsampled logit map can have above `threshold` at: the bounding box of the cells above
 * it, widened to the photo columns [x0, x1] and rows [y0, y1] whose bilinear taps touch that box (a convex
 * combination of values ≤ threshold cannot exceed it). Undefined when no cell is above the threshold; the
 * ranges may be empty (x1 < x0 or y1 < y0). Also returns the taps, for the caller's interpolation.
 */
function photoSpanAbove(
  logits: Float32Array,
  offset: number,
  lw: number,
  lh: number,
  W: number,
  H: number,
  threshold: number,
): { tx: LinearTaps; ty: LinearTaps; x0: number; x1: number; y0: number; y1: number } | undefined {
  let cx0 = lw, cy0 = lh, cx1 = -1, cy1 = -1;
  for (let j = 0; j < lh; j++) {
    const row = offset + j * lw;
    for (let i = 0; i < lw; i++) {
      if (logits[row + i]! > threshold) {
        if (i < cx0) cx0 = i;
        if (i > cx1) cx1 = i;
        if (j < cy0) cy0 = j;
        if (j > cy1) cy1 = j;
      }
    }
  }
  if (cx1 < 0) return undefined;
  const tx = linearTaps(lw, W);
  const ty = linearTaps(lh, H);
  // i0 and i1 are non-decreasing in the output index, so the ranges are found by binary search.
  return { tx, ty, x0: firstIndex(tx.i1, cx0), x1: lastIndex(tx.i0, cx1), y0: firstIndex(ty.i1, cy0), y1: lastIndex(ty.i0, cy1) };
}

/** The bilinear value at photo column x between the logit rows starting at r0 and r1 (weight of r1: wy1). */
function bilinearAt(logits: Float32Array, r0: number, r1: number, wy1: number, tx: LinearTaps, x: number): number {
  const a = tx.i0[x]!, b = tx.i1[x]!;
  const wx1 = tx.w1[x]!;
  const wx0 = 1 - wx1;
  return (1 - wy1) * (wx0 * logits[r0 + a]! + wx1 * logits[r0 + b]!) + wy1 * (wx0 * logits[r1 + a]! + wx1 * logits[r1 + b]!);
}

function firstIndex(arr: Int32Array, atLeast: number): number {
  let lo = 0, hi = arr.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (arr[mid]! >= atLeast) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

function lastIndex(arr: Int32Array, atMost: number): number {
  let lo = 0, hi = arr.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (arr[mid]! <= atMost) lo = mid + 1;
    else hi = mid;
  }
  return lo - 1;
}

/** The empty mask. */
export function emptyMask(): CropMask {
  return { bbox: { x: 0, y: 0, width: 0, height: 0 }, data: new Uint8Array(0), area: 0 };
}

/** Re-crops `buf` (a bitmap of `box`) to its local tight box [minX..maxX]×[minY..maxY]. */
function cropTo(box: Rect, buf: Uint8Array, minX: number, minY: number, maxX: number, maxY: number, area: number): CropMask {
  const w = maxX - minX + 1;
  const h = maxY - minY + 1;
  if (w === box.width && h === box.height) return { bbox: box, data: buf, area };
  const data = new Uint8Array(w * h);
  for (let y = 0; y < h; y++) {
    const s = (y + minY) * box.width + minX;
    data.set(buf.subarray(s, s + w), y * w);
  }
  return { bbox: { x: box.x + minX, y: box.y + minY, width: w, height: h }, data, area };
}

/** Tight box of the non-zero bytes of a w×h bitmap and their count: [minX, minY, maxX, maxY, area] (area 0: none). */
function bitmapBounds(buf: Uint8Array | Uint8ClampedArray, w: number, h: number): [number, number, number, number, number] {
  let minX = w, minY = h, maxX = -1, maxY = -1, area = 0;
  for (let y = 0; y < h; y++) {
    for (let x = 0, k = y * w; x < w; x++, k++) {
      if (buf[k]) {
        area++;
        if (x < minX) minX = x;
        if (x > maxX) maxX = x;
        if (y < minY) minY = y;
        maxY = y;
      }
    }
  }
  return [minX, minY, maxX, maxY, area];
}

/** A crop mask from a full-photo bitmap (non-zero = inside). */
export function cropMaskFromFull(full: Uint8Array | Uint8ClampedArray, W: number, H: number): CropMask {
  const [minX, minY, maxX, maxY, area] = bitmapBounds(full, W, H);
  if (area === 0) return emptyMask();
  const box = { x: minX, y: minY, width: maxX - minX + 1, height: maxY - minY + 1 };
  const data = new Uint8Array(box.width * box.height);
  for (let y = 0; y < box.height; y++) {
    for (let x = 0; x < box.width; x++) data[y * box.width + x] = full[(y + minY) * W + x + minX] ? 1 : 0;
  }
  return { bbox: box, data, area };
}

/** The mask as a full-photo bitmap of W·H bytes (1 = inside). */
export function cropMaskToFull(m: CropMask, W: number, H: number): Uint8Array {
  const out = new Uint8Array(W * H);
  const { x, y, width, height } = m.bbox;
  for (let r = 0; r < height; r++) {
    const src = r * width;
    const dst = (r + y) * W + x;
    for (let c = 0; c < width; c++) if (m.data[src + c]) out[dst + c] = 1;
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------------
// Connected components and small-region cleanup

/**
 * 8-connected components of the non-zero pixels of a w×h bitmap (two-pass union-find).
 * Returns a label per pixel (-1 = zero pixel, else 0..count-1 in raster order of first pixel) and sizes.
 */
export function connectedComponents(bin: Uint8Array, w: number, h: number): { labels: Int32Array; count: number; sizes: Int32Array } {
  const n = w * h;
  const labels = new Int32Array(n).fill(-1);
  const parent = new Int32Array(n);
  let provisional = 0;
  const find = (a: number): number => {
    while (parent[a] !== a) {
      parent[a] = parent[parent[a]!]!;
      a = parent[a]!;
    }
    return a;
  };
  const union = (a: number, b: number): number => {
    const ra = find(a), rb = find(b);
    if (ra === rb) return ra;
    if (ra < rb) {
      parent[rb] = ra;
      return ra;
    }
    parent[ra] = rb;
    return rb;
  };
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const i = y * w + x;
      if (!bin[i]) continue;
      let l = -1;
      // Already-visited 8-neighbours: W, NW, N, NE.
      if (x > 0 && bin[i - 1]) l = labels[i - 1]!;
      if (y > 0) {
        const up = i - w;
        if (x > 0 && bin[up - 1]) l = l < 0 ? labels[up - 1]! : union(l, labels[up - 1]!);
        if (bin[up]) l = l < 0 ? labels[up]! : union(l, labels[up]!);
        if (x < w - 1 && bin[up + 1]) l = l < 0 ? labels[up + 1]! : union(l, labels[up + 1]!);
      }
      if (l < 0) {
        l = provisional;
        parent[provisional] = provisional;
        provisional++;
      }
      labels[i] = l;
    }
  }
  const remap = new Int32Array(provisional).fill(-1);
  let count = 0;
  const sizesTmp = new Int32Array(provisional);
  for (let i = 0; i < n; i++) {
    const l = labels[i]!;
    if (l < 0) continue;
    const r = find(l);
    let c = remap[r]!;
    if (c < 0) {
      c = count++;
      remap[r] = c;
    }
    labels[i] = c;
    sizesTmp[c]!++;
  }
  return { labels, count, sizes: sizesTmp.slice(0, count) };
}

/**
 * SAM's small-region cleanup of one mask, in photo pixels (8-connectivity):
 *  - 'holes': connected background regions smaller than `minArea` pixels are filled;
 *  - 'islands': connected foreground regions smaller than `minArea` are removed; if every region is small,
 *    the largest one is kept.
 * Background regions are measured over the whole photo: the parts of the photo outside the mask's crop count
 * towards the region they touch, so a region open to the outside of the crop is never a "hole" unless the
 * whole outside region is small too (then the computation falls back to the full photo).
 *
 * @returns the cleaned mask (a new object, tight bbox) and whether anything changed
 */
export function removeSmallRegions(m: CropMask, W: number, H: number, minArea: number, mode: 'holes' | 'islands'): { mask: CropMask; changed: boolean } {
  if (m.area === 0 || minArea <= 0) return { mask: m, changed: false };
  const { x: bx, y: by, width: bw, height: bh } = m.bbox;
  if (mode === 'islands') {
    const cc = connectedComponents(m.data, bw, bh);
    let small = 0;
    for (let c = 0; c < cc.count; c++) if (cc.sizes[c]! < minArea) small++;
    if (small === 0) return { mask: m, changed: false };
    const keep = new Uint8Array(cc.count);
    if (small === cc.count) {
      let best = 0;
      for (let c = 1; c < cc.count; c++) if (cc.sizes[c]! > cc.sizes[best]!) best = c;
      keep[best] = 1;
    } else {
      for (let c = 0; c < cc.count; c++) keep[c] = cc.sizes[c]! >= minArea ? 1 : 0;
    }
    const out = new Uint8Array(bw * bh);
    for (let i = 0; i < out.length; i++) {
      const l = cc.labels[i]!;
      if (l >= 0 && keep[l]) out[i] = 1;
    }
    return { mask: tighten({ x: bx, y: by, width: bw, height: bh }, out), changed: true };
  }
  // Holes: background components of the crop padded by one pixel on every side that is not the photo's
  // border. Each pad strip stands for the photo region beyond that side of the crop.
  const padL = bx > 0 ? 1 : 0, padT = by > 0 ? 1 : 0;
  const padR = bx + bw < W ? 1 : 0, padB = by + bh < H ? 1 : 0;
  const pw = bw + padL + padR, ph = bh + padT + padB;
  const inv = new Uint8Array(pw * ph).fill(1);
  for (let y = 0; y < bh; y++) {
    for (let x = 0; x < bw; x++) inv[(y + padT) * pw + x + padL] = m.data[y * bw + x] ? 0 : 1;
  }
  const cc = connectedComponents(inv, pw, ph);
  // True photo area of each background component: in-crop pixels plus the outside regions it touches.
  const area = new Float64Array(cc.count);
  for (let y = padT; y < padT + bh; y++) {
    for (let x = padL; x < padL + bw; x++) {
      const l = cc.labels[y * pw + x]!;
      if (l >= 0) area[l]! += 1;
    }
  }
  // The pad strips (always background, so labelled) and the photo area each stands for; corners belong to the
  // left/right strips, which span the photo's full height.
  const strips: [label: number, photoArea: number][] = [];
  if (padL) strips.push([cc.labels[padT * pw]!, bx * H]);
  if (padR) strips.push([cc.labels[padT * pw + pw - 1]!, (W - bx - bw) * H]);
  if (padT) strips.push([cc.labels[padL]!, bw * by]);
  if (padB) strips.push([cc.labels[(ph - 1) * pw + padL]!, bw * (H - by - bh)]);
  for (const [l, a] of strips) area[l]! += a;
  const fill = new Uint8Array(cc.count);
  let any = false;
  for (let c = 0; c < cc.count; c++) {
    if (area[c]! < minArea) {
      fill[c] = 1;
      any = true;
    }
  }
  if (!any) return { mask: m, changed: false };
  // A small background region that reaches beyond the crop: fill it on the full photo instead.
  const touchesOutside = strips.some(([l]) => fill[l]);
  if (touchesOutside) {
    const full = cropMaskToFull(m, W, H);
    const ccf = connectedComponents(invert(full), W, H);
    for (let i = 0; i < full.length; i++) {
      const l = ccf.labels[i]!;
      if (l >= 0 && ccf.sizes[l]! < minArea) full[i] = 1;
    }
    return { mask: cropMaskFromFull(full, W, H), changed: true };
  }
  const out = m.data.slice();
  for (let y = 0; y < bh; y++) {
    for (let x = 0; x < bw; x++) {
      const l = cc.labels[(y + padT) * pw + x + padL]!;
      if (l >= 0 && fill[l]) out[y * bw + x] = 1;
    }
  }
  return { mask: tighten({ x: bx, y: by, width: bw, height: bh }, out), changed: true };
}

function invert(a: Uint8Array): Uint8Array {
  const o = new Uint8Array(a.length);
  for (let i = 0; i < a.length; i++) o[i] = a[i] ? 0 : 1;
  return o;
}

/** Crop mask of bitmap `buf` over `box`, re-cropped to its tight box. */
function tighten(box: Rect, buf: Uint8Array): CropMask {
  const [minX, minY, maxX, maxY, area] = bitmapBounds(buf, box.width, box.height);
  if (area === 0) return emptyMask();
  return cropTo(box, buf, minX, minY, maxX, maxY, area);
}

// ---------------------------------------------------------------------------------------------------------
// Label map

/** Result of resolving overlapping masks into one label map. */
export interface ResolvedLabels {
  /** W·H, -1 = no mask, k ≥ 0 = the k-th painted mask (masks are painted by decreasing score). */
  labels: Int32Array;
  /** For each label k, the index of its source mask in the input list. */
  source: Int32Array;
  /** For each label k, the source mask's score. */
  scores: Float32Array;
  /** For each label k, the number of pixels it owns after resolution. */
  areas: Int32Array;
}

/**
 * Resolves possibly overlapping masks into a non-overlapping label map: masks are painted in order of
 * decreasing score (equal scores: input order), each onto the pixels still free, so where masks overlap the
 * higher score wins. Masks left with no pixel are dropped; labels are numbered in painting order.
 * This is the same rule as the core's `resolveMasks` for a list of binary masks, applied to crop masks.
 */
export function resolveLabelMap(masks: readonly CropMask[], scores: ArrayLike<number>, W: number, H: number): ResolvedLabels {
  if (scores.length !== masks.length) throw new RangeError(`${masks.length} masks but ${scores.length} scores`);
  const labels = new Int32Array(W * H).fill(-1);
  const order = stableOrderByScore(scores);
  const source: number[] = [];
  const areas: number[] = [];
  for (let oi = 0; oi < order.length; oi++) {
    const k = order[oi]!;
    const m = masks[k]!;
    if (m.area === 0) continue;
    const id = source.length;
    const { x, y, width, height } = m.bbox;
    let painted = 0;
    for (let r = 0; r < height; r++) {
      const src = r * width;
      const dst = (r + y) * W + x;
      for (let c = 0; c < width; c++) {
        if (m.data[src + c] && labels[dst + c] === -1) {
          labels[dst + c] = id;
          painted++;
        }
      }
    }
    if (painted > 0) {
      source.push(k);
      areas.push(painted);
    }
  }
  const src = Int32Array.from(source);
  const sc = new Float32Array(src.length);
  for (let i = 0; i < src.length; i++) sc[i] = scores[src[i]!]!;
  return { labels, source: src, scores: sc, areas: Int32Array.from(areas) };
}

/**
 * The stability score of one low-resolution logit map measured on the photo grid: the map is upsampled
 * bilinearly (as in `upsampleMask`) and the photo pixels above `threshold + offset` and above
 * `threshold - offset` are counted. This is SAM2's definition (it scores the upsampled masks); it costs the
 * loose mask's extent in photo pixels, against 256² for `stabilityScore` on the decoder grid.
 */
export function stabilityScoreUpsampled(
  logits: Float32Array,
  offset: number,
  lw: number,
  lh: number,
  W: number,
  H: number,
  stabilityOffset = 1,
  threshold = 0,
): number {
  const lo = threshold - stabilityOffset;
  const hi = threshold + stabilityOffset;
  const span = photoSpanAbove(logits, offset, lw, lh, W, H, lo);
  if (!span) return 0;
  const { tx, ty, x0, x1, y0, y1 } = span;
  let inter = 0;
  let union = 0;
  for (let y = y0; y <= y1; y++) {
    const r0 = offset + ty.i0[y]! * lw;
    const r1 = offset + ty.i1[y]! * lw;
    const wy1 = ty.w1[y]!;
    for (let x = x0; x <= x1; x++) {
      const v = bilinearAt(logits, r0, r1, wy1, tx, x);
      if (v > lo) {
        union++;
        if (v > hi) inter++;
      }
    }
  }
  return union === 0 ? 0 : inter / union;
}
