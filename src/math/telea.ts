/**
 * Image inpainting by the fast marching method, after A. Telea, "An Image Inpainting Technique Based on
 * the Fast Marching Method", Journal of Graphics Tools 9(1), 2004.
 *
 * The hole Ω is filled from its boundary inwards, in the order in which a front moving at unit speed
 * reaches each pixel. That order is the distance map T solving the eikonal equation |∇T| = 1 with T = 0
 * on the boundary ∂Ω, computed by fast marching (Sethian): a narrow band of tentative values in a
 * priority queue, where the pixel with the smallest T is frozen and its neighbours are updated from their
 * frozen ("upwind") 4-neighbours by the first-order upwind discretisation
 *
 *   max(T − Tx, 0)² + max(T − Ty, 0)² = 1,   Tx = min(T(x−1, y), T(x+1, y)),  Ty likewise,
 *
 * whose solution is T = (Tx + Ty + √(2 − (Tx − Ty)²)) / 2 when |Tx − Ty| < 1, and min(Tx, Ty) + 1 otherwise.
 * Pixels are KNOWN (frozen), BAND (tentative T in the queue) or INSIDE (not reached yet); the boundary
 * ∂Ω is the ring of original pixels 4-adjacent to the hole. So that the normal and the level-set weight
 * below are also meaningful next to the boundary, T is extended outside the hole as a negative distance
 * by a second, outward march over the known pixels (limited to the radius + 1), making T a signed
 * distance to ∂Ω.
 *
 * Each hole pixel p is painted from the pixels q already known in the disk B_ε(p) of radius ε:
 *
 *   I(p) = Σ w(p, q) [I(q) + clamp(∇I(q)·(p − q), ±C)] / Σ w(p, q),   w = dir · dst · lev,
 *   dir = |N(p)·(p − q)| / |p − q| + 0.01   (N = ∇T/|∇T|, the normal of the level set through p),
 *   dst = 1 / |p − q|²                       (geometric distance, d0 = 1),
 *   lev = 1 / (1 + |T(p) − T(q)|)           (level-set distance, T0 = 1).
 *
 * dir favours pixels along the propagation direction, so isophotes that reach the boundary are continued
 * into the hole; lev favours pixels on or near p's own level set; the first-order term I(q) + ∇I(q)·(p − q)
 * (the paper's eq. 3) extrapolates smooth shading instead of flattening it. N(p) is the finite
 * difference of T over p's known 4-neighbours (central where both are known, one-sided otherwise);
 * ∇I(q) likewise over q's neighbours that were known when q became known. The 0.01 floor keeps a pixel
 * whose known neighbours lie exactly across the normal from getting no weight at all.
 *
 * Choices beyond the paper, measured with `npm run eval:inpaint` on the 16 photos of the shared data set
 * (mean PSNR inside disocclusion bands; protocol in scripts/eval-inpaint.ts):
 * - The first-order term is clamped per neighbour to ±C = 32 grey levels (CLAMP). Unclamped, the
 *   gradient across a strong edge, extrapolated over up to ε pixels, overshoots: 12.60 dB, barely above
 *   the zeroth-order average (12.58 dB, close to what OpenCV's INPAINT_TELEA computes: its gradient term
 *   is normalised to at most ±√2 grey levels); clamped at 16: 13.1, at 32: 13.3, at 48: 13.2 dB.
 *   These photos also chose C, so as a check on 18 other images (the stereo left views and RGB-D
 *   frames of the shared data) the same settings give 13.67 dB against OpenCV Telea's 13.41 dB.
 * - Order: the paper paints a pixel when it enters the band. Here T is computed first, then pixels are
 *   painted by level ℓ = ⌊T / LEVEL⌋ with LEVEL = ½ px, in raster order within a level, each seeing the
 *   original pixels and the pixels of lower levels. With LEVEL ≤ 1/√2 every hole pixel has a 4-neighbour
 *   in a lower level (the eikonal update puts T at least 1/√2 above its smaller upwind value), so no
 *   average is ever empty. This scored as well as painting each pixel when frozen in strict marching
 *   order (13.31 against 13.30 dB; painting on band entry, as the paper does, was 0.16 dB worse in the
 *   zeroth-order variant), makes the result independent of queue tie breaking, and reads memory row by row.
 * - Because only levels matter, the march uses an O(1) bucketed ("untidy") priority queue with buckets
 *   of 1/16 px instead of a binary heap (Yatziv et al. 2006); the quantisation is far below LEVEL.
 * - Dropping the outside extension of T (all known pixels at T = 0) cost 0.16 dB; dropping lev cost
 *   0.12 dB (zeroth-order variant).
 *
 * Memory: the output copy, plus 17 bytes per pixel of the working window (the hole's bounding box grown
 * by ε + 1: T, state, colour gradients) and about 16 bytes per hole pixel, allocated per call.
 * Time: about (hole pixels) × (pixels in the disk: 80 for ε = 5) weight evaluations, plus two marches
 * with O(1) queue operations; see bench/inpaint.bench.ts.
 */
import { DioramaError, throwIfAborted } from '../core/errors';
import type { Rect, RGBAImage } from '../core/types';
import { BucketQueue } from './heap';

/** Options of {@link inpaintTelea} and {@link inpaintTeleaScalar}. */
export interface TeleaOptions {
  /** Radius ε (pixels) of the disk of known pixels averaged into each hole pixel; in [1, 64]. Default 5. */
  radius?: number;
  /** Aborts the fill with a DioramaError('ABORTED'); checked every few thousand pixels. */
  signal?: AbortSignal;
  /**
   * Restricts all work to this rectangle (clamped to the image): only hole pixels inside it are filled
   * and only pixels inside it are read. Hole pixels outside it are returned unchanged. Default: the whole
   * image (work is then restricted to the hole's bounding box grown by the radius, automatically).
   */
  region?: Rect;
  /**
   * Pixels (width·height bytes, non-zero) that are neither sources nor filled: the march does not pass
   * through them and they never enter an average, as if outside the image. Hole pixels reachable only
   * through ignored pixels are unreachable. Default: none.
   */
  ignore?: Uint8Array | Uint8ClampedArray;
  /**
   * The first-order (gradient) term is used only for hole pixels within this distance (px, along T) of the
   * hole's boundary; deeper pixels take the plain weighted average. Extrapolated gradients compound level
   * after level, which in holes tens of pixels deep drifts into colours the image never had. Default
   * Infinity (the paper's method everywhere, as evaluated in metrics §4 on thin disocclusion bands).
   */
  firstOrderDepth?: number;
}

/** Grey level given to hole pixels that no known pixel can reach (the hole covers the whole region). */
export const TELEA_UNREACHABLE_FILL = 128;

/** Floor added to the direction factor. */
const DIR_FLOOR = 0.01;
/** Per-neighbour clamp of the first-order term, grey levels. */
const CLAMP = 32;
/** Width of a painting level, in units of T (pixels); must be ≤ 1/√2 (see the header). */
const LEVEL = 0.5;
const INV_LEVEL = 1 / LEVEL;
/** Bucket width of the marching queue, pixels. */
const QUEUE_DELTA = 1 / 16;

// Marching states (Telea's KNOWN / BAND / INSIDE, plus two for the outward march and the padding).
// UNVISITED must be 0: a freshly allocated state array means "original pixel, not reached yet".
const UNVISITED = 0; // original pixel not reached by the outward march
const BAND = 1; // tentative T, in the queue
const KNOWN = 2; // frozen: T final
const BLOCKED = 3; // padding outside the working window
const INSIDE = 4; // hole pixel not reached by the inward march (yet)

/**
 * Result of the marching stage, on a padded working grid: the hole's bounding box grown by R + 1,
 * clamped to the region, then padded by R + 1 cells so that no loop needs bounds checks.
 *
 * T also encodes what is known when: hole pixel p (level ℓ = ⌊T(p)/LEVEL⌋ ≥ 1, as T ≥ 1/√2) is painted
 * from the pixels q with T(q) < ℓ·LEVEL, i.e. original pixels (T ≤ 0) and hole pixels of lower levels;
 * padding and unreachable hole pixels have T = +∞ and are never known.
 */
interface March {
  pw: number;
  /** Image coordinates of the padded grid's (0, 0). */
  ox: number;
  oy: number;
  /** Signed distance: > 0 inside the hole, < 0 on known pixels reached by the outward march, 0 on the
   * ring and on known pixels farther out, +∞ on padding and unreachable hole pixels. */
  T: Float32Array;
  /** Padded indices of the reached hole pixels, by level, raster order within a level. */
  order: Int32Array;
  count: number;
  /** Image indices of hole pixels inside the region that no known pixel reaches. */
  unreached: Int32Array;
  /** Padded indices of the original pixels reached by the outward march. */
  touched: Int32Array;
  nTouched: number;
}

/** Disk of offsets around a pixel, with per-offset geometry, for the weighted average. */
interface Disk {
  n: number;
  /** Offset in the padded grid. */
  grid: Int32Array;
  /** Offset in the image, pixels. */
  image: Int32Array;
  /** (p − q)/2 = −(dx, dy)/2 (colour gradients are stored doubled). */
  hx: Float32Array;
  hy: Float32Array;
  /** Unit vector (dx, dy)/|d|. */
  ux: Float32Array;
  uy: Float32Array;
  /** 1/|d|². */
  invDist2: Float32Array;
}

function checkRadius(radius: number): void {
  if (typeof radius !== 'number' || !Number.isFinite(radius) || radius < 1 || radius > 64) {
    throw new DioramaError('INVALID_OPTION', `inpaint radius must be a finite number in [1, 64], found ${radius}`);
  }
}

function clampRegion(region: Rect | undefined, width: number, height: number): Rect {
  if (!region) return { x: 0, y: 0, width, height };
  const { x, y } = region;
  const w = region.width;
  const h = region.height;
  if (![x, y, w, h].every(Number.isInteger) || w < 0 || h < 0) {
    throw new DioramaError(
      'INVALID_OPTION',
      `inpaint region must have integer x, y and non-negative integer width, height; found ${JSON.stringify(region)}`,
    );
  }
  const x0 = Math.max(0, x);
  const y0 = Math.max(0, y);
  const x1 = Math.min(width, x + w);
  const y1 = Math.min(height, y + h);
  return { x: x0, y: y0, width: Math.max(0, x1 - x0), height: Math.max(0, y1 - y0) };
}

function checkHole(hole: Uint8Array | Uint8ClampedArray, width: number, height: number): void {
  if (!(hole instanceof Uint8Array || hole instanceof Uint8ClampedArray)) {
    throw new DioramaError('INVALID_MASKS', 'inpaint hole must be a Uint8Array of width·height bytes');
  }
  if (hole.length !== width * height) {
    throw new DioramaError(
      'SIZE_MISMATCH',
      `inpaint hole has ${hole.length} bytes; expected width·height = ${width}·${height} = ${width * height}`,
    );
  }
}

/** Upwind eikonal update of grid cell i from its KNOWN 4-neighbours (see the file header). */
function solveEikonal(T: Float32Array, state: Uint8Array, i: number, pw: number): number {
  let a = Infinity;
  let b = Infinity;
  if (state[i - 1] === KNOWN) a = T[i - 1];
  if (state[i + 1] === KNOWN && T[i + 1] < a) a = T[i + 1];
  if (state[i - pw] === KNOWN) b = T[i - pw];
  if (state[i + pw] === KNOWN && T[i + pw] < b) b = T[i + pw];
  const d = a - b;
  // Also covers one infinite side: d is then ±Infinity.
  if (d >= 1 || d <= -1) return (a < b ? a : b) + 1;
  return 0.5 * (a + b + Math.sqrt(2 - d * d));
}

/** Growable Int32 list. */
class IntList {
  data: Int32Array;
  length = 0;
  constructor(capacity: number) {
    this.data = new Int32Array(Math.max(64, capacity));
  }
  push(v: number): void {
    if (this.length === this.data.length) {
      const d = new Int32Array(this.data.length * 2);
      d.set(this.data);
      this.data = d;
    }
    this.data[this.length++] = v;
  }
}

/** Appends the image indices of the non-zero bytes of hole[a, b) to `out`, skipping zero words. */
function collectHoles(
  hole: Uint8Array | Uint8ClampedArray,
  words: Uint32Array | null,
  a: number,
  b: number,
  out: IntList,
): void {
  let i = a;
  if (words) {
    for (; i < b && (i & 3) !== 0; i++) if (hole[i] !== 0) out.push(i);
    for (; i + 4 <= b; i += 4) {
      if (words[i >> 2] === 0) continue;
      if (hole[i] !== 0) out.push(i);
      if (hole[i + 1] !== 0) out.push(i + 1);
      if (hole[i + 2] !== 0) out.push(i + 2);
      if (hole[i + 3] !== 0) out.push(i + 3);
    }
  }
  for (; i < b; i++) if (hole[i] !== 0) out.push(i);
}

/** Builds the working grid, runs both marches and orders the hole by level. Null when nothing to fill. */
function march(
  width: number,
  height: number,
  hole: Uint8Array | Uint8ClampedArray,
  region: Rect,
  R: number,
  signal: AbortSignal | undefined,
  ignore?: Uint8Array | Uint8ClampedArray,
): March | null {
  // Hole pixels inside the region (raster order) and their bounding box.
  const rx0 = region.x;
  const ry0 = region.y;
  const rx1 = region.x + region.width;
  const ry1 = region.y + region.height;
  const words = hole.byteOffset % 4 === 0 ? new Uint32Array(hole.buffer, hole.byteOffset, hole.length >> 2) : null;
  const holes = new IntList(1 << 12);
  let bx0 = rx1;
  let by0 = ry1;
  let bx1 = rx0 - 1;
  let by1 = ry0 - 1;
  for (let y = ry0; y < ry1; y++) {
    const row = y * width;
    const before = holes.length;
    collectHoles(hole, words, row + rx0, row + rx1, holes);
    if (holes.length > before) {
      const first = holes.data[before] - row;
      const last = holes.data[holes.length - 1] - row;
      if (first < bx0) bx0 = first;
      if (last > bx1) bx1 = last;
      if (y < by0) by0 = y;
      by1 = y;
    }
  }
  const holeCount = holes.length;
  if (holeCount === 0) return null;
  throwIfAborted(signal);

  const wx0 = Math.max(rx0, bx0 - R - 1);
  const wy0 = Math.max(ry0, by0 - R - 1);
  const wx1 = Math.min(rx1, bx1 + R + 2);
  const wy1 = Math.min(ry1, by1 + R + 2);
  const pad = R + 1;
  const pw = wx1 - wx0 + 2 * pad;
  const ph = wy1 - wy0 + 2 * pad;
  const ox = wx0 - pad;
  const oy = wy0 - pad;
  const size = pw * ph;
  // Zero-filled: every window cell starts as a known, unvisited pixel (state UNVISITED, T 0).
  const T = new Float32Array(size);
  const state = new Uint8Array(size);
  for (let y = 0; y < ph; y++) {
    const row = y * pw;
    if (y < pad || y >= ph - pad) {
      state.fill(BLOCKED, row, row + pw);
      T.fill(Infinity, row, row + pw);
    } else {
      state.fill(BLOCKED, row, row + pad);
      state.fill(BLOCKED, row + pw - pad, row + pw);
      T.fill(Infinity, row, row + pad);
      T.fill(Infinity, row + pw - pad, row + pw);
    }
  }
  if (ignore) {
    for (let y = Math.max(0, oy + pad); y < Math.min(height, oy + ph - pad); y++) {
      for (let x = Math.max(0, ox + pad); x < Math.min(width, ox + pw - pad); x++) {
        const i = y * width + x;
        if (!ignore[i] || hole[i]) continue;
        const p = (y - oy) * pw + (x - ox);
        state[p] = BLOCKED;
        T[p] = Infinity;
      }
    }
  }
  const hd = holes.data;
  for (let h = 0; h < holeCount; h++) {
    const i = hd[h];
    const y = (i / width) | 0;
    const p = (y - oy) * pw + (i - y * width - ox);
    hd[h] = p; // from here on: padded index, still in raster order
    state[p] = INSIDE;
    T[p] = Infinity;
  }

  // Outward march over known pixels from the boundary ring, positive distances, stopped beyond
  // outLimit (the disk of a hole pixel reaches at most R pixels outside).
  const outLimit = R + 1;
  const queue = new BucketQueue(QUEUE_DELTA, 1.5);
  const touched = new IntList(holeCount);
  for (let h = 0; h < holeCount; h++) {
    const p = hd[h];
    for (let k = 0; k < 4; k++) {
      const n = k === 0 ? p - 1 : k === 1 ? p + 1 : k === 2 ? p - pw : p + pw;
      if (state[n] !== UNVISITED) continue;
      touched.push(n);
      state[n] = BAND; // T = 0
      queue.push(0, n);
    }
  }
  let steps = 0;
  while (queue.size > 0) {
    const i = queue.pop();
    if (state[i] === KNOWN) continue;
    if (T[i] > outLimit) break;
    state[i] = KNOWN;
    // Polled from the first step on: a path first taken after the JIT has compiled the loop costs a
    // deoptimisation, which on a first call is slower than the poll.
    if ((steps++ & 0xffff) === 0) throwIfAborted(signal);
    for (let k = 0; k < 4; k++) {
      const n = k === 0 ? i - 1 : k === 1 ? i + 1 : k === 2 ? i - pw : i + pw;
      const s = state[n];
      if (s !== UNVISITED && s !== BAND) continue;
      const t = solveEikonal(T, state, n, pw);
      if (s === UNVISITED) {
        touched.push(n);
      } else if (t >= T[n]) {
        continue;
      }
      T[n] = t;
      state[n] = BAND;
      queue.push(t, n);
    }
  }
  queue.clear();
  const td = touched.data;
  const nTouched = touched.length;
  for (let s = 0; s < nTouched; s++) T[td[s]] = -T[td[s]];

  // Inward march. Seeds: hole pixels next to the ring (the only KNOWN cells they touch, at T = 0).
  for (let h = 0; h < holeCount; h++) {
    const p = hd[h];
    if (state[p - 1] === KNOWN || state[p + 1] === KNOWN || state[p - pw] === KNOWN || state[p + pw] === KNOWN) {
      const t = solveEikonal(T, state, p, pw);
      T[p] = t;
      state[p] = BAND;
      queue.push(t, p);
    }
  }
  let count = 0;
  let maxT = 0;
  while (queue.size > 0) {
    const i = queue.pop();
    if (state[i] === KNOWN) continue;
    state[i] = KNOWN;
    const ti = T[i];
    if (ti > maxT) maxT = ti;
    if ((count++ & 0xffff) === 0) throwIfAborted(signal);
    for (let k = 0; k < 4; k++) {
      const n = k === 0 ? i - 1 : k === 1 ? i + 1 : k === 2 ? i - pw : i + pw;
      const s = state[n];
      if (s === INSIDE) {
        const t = solveEikonal(T, state, n, pw);
        T[n] = t;
        state[n] = BAND;
        queue.push(t, n);
      } else if (s === BAND) {
        const t = solveEikonal(T, state, n, pw);
        if (t < T[n]) {
          T[n] = t;
          queue.push(t, n);
        }
      }
    }
  }

  // Order by level (counting sort; the hole list is in raster order, so each level stays in raster order).
  const levels = Math.floor(maxT * INV_LEVEL) + 1;
  const start = new Int32Array(levels + 1);
  for (let h = 0; h < holeCount; h++) {
    const p = hd[h];
    if (state[p] === KNOWN) start[Math.floor(T[p] * INV_LEVEL) + 1]++;
  }
  for (let l = 1; l <= levels; l++) start[l] += start[l - 1];
  const order = new Int32Array(count);
  let unreached = new Int32Array(0);
  let u = 0;
  if (count < holeCount) unreached = new Int32Array(holeCount - count);
  for (let h = 0; h < holeCount; h++) {
    const p = hd[h];
    if (state[p] === KNOWN) {
      const l = Math.floor(T[p] * INV_LEVEL);
      order[start[l]++] = p;
    } else {
      const py = (p / pw) | 0;
      unreached[u++] = (py + oy) * width + (p - py * pw + ox);
    }
  }
  return { pw, ox, oy, T, order, count, unreached, touched: td, nTouched };
}

function makeDisk(radius: number, pw: number, width: number): Disk {
  const R = Math.ceil(radius);
  const r2 = radius * radius;
  const grid: number[] = [];
  const image: number[] = [];
  const hx: number[] = [];
  const hy: number[] = [];
  const ux: number[] = [];
  const uy: number[] = [];
  const inv: number[] = [];
  for (let dy = -R; dy <= R; dy++) {
    for (let dx = -R; dx <= R; dx++) {
      const d2 = dx * dx + dy * dy;
      if (d2 === 0 || d2 > r2) continue;
      const d = Math.sqrt(d2);
      grid.push(dy * pw + dx);
      image.push(dy * width + dx);
      hx.push(-0.5 * dx); // gradients are stored doubled
      hy.push(-0.5 * dy);
      ux.push(dx / d);
      uy.push(dy / d);
      inv.push(1 / d2);
    }
  }
  return {
    n: grid.length,
    grid: Int32Array.from(grid),
    image: Int32Array.from(image),
    hx: Float32Array.from(hx),
    hy: Float32Array.from(hy),
    ux: Float32Array.from(ux),
    uy: Float32Array.from(uy),
    invDist2: Float32Array.from(inv),
  };
}

/**
 * Unit normal of the level set at grid cell p: finite differences of T over the 4-neighbours known
 * below threshold `thr`, central where both sides are, one-sided where one is, zero where none is.
 * Writes (nx, ny) into `out` ((0, 0) when the gradient vanishes) and returns the additive term of the
 * direction factor: DIR_FLOOR, or 1 + DIR_FLOOR when there is no normal (every direction counts).
 */
function levelSetNormal(T: Float32Array, p: number, thr: number, pw: number, out: Float64Array): number {
  const tp = T[p];
  const tl = T[p - 1];
  const tr = T[p + 1];
  const tu = T[p - pw];
  const td = T[p + pw];
  const l = tl < thr;
  const r = tr < thr;
  const u = tu < thr;
  const d = td < thr;
  const gx = l && r ? 0.5 * (tr - tl) : l ? tp - tl : r ? tr - tp : 0;
  const gy = u && d ? 0.5 * (td - tu) : u ? tp - tu : d ? td - tp : 0;
  const g = Math.sqrt(gx * gx + gy * gy);
  // Branch-free on purpose (a rare branch first taken after the JIT compiled the caller's loop
  // deoptimises it): vanishing is 1 for g = 0 and 0 for g ≥ 1e-6.
  const inv = 1 / Math.max(g, 1e-6);
  out[0] = gx * inv;
  out[1] = gy * inv;
  const vanishing = 1 - Math.min(1, g * 1e6);
  return DIR_FLOOR + vanishing;
}

/**
 * Stores in G[6p .. 6p+5] twice the colour gradient (∂x, ∂y for R, G, B) at grid cell p (image byte
 * offset c) from its 4-neighbours with T < tk: central differences where both are known, one-sided where
 * one is, zero where none is. Doubled byte differences are exact in int16.
 */
function colourGradient(
  G: Int16Array,
  data: Uint8ClampedArray,
  T: Float32Array,
  p: number,
  c: number,
  tk: number,
  pw: number,
  rowBytes: number,
): void {
  const l = T[p - 1] < tk;
  const r = T[p + 1] < tk;
  const u = T[p - pw] < tk;
  const d = T[p + pw] < tk;
  const x0 = l ? c - 4 : c;
  const x1 = r ? c + 4 : c;
  const fx = l && r ? 1 : 2; // with no known neighbour x0 = x1 and the difference is 0 anyway
  const y0 = u ? c - rowBytes : c;
  const y1 = d ? c + rowBytes : c;
  const fy = u && d ? 1 : 2;
  const g = 6 * p;
  G[g] = fx * (data[x1] - data[x0]);
  G[g + 1] = fy * (data[y1] - data[y0]);
  G[g + 2] = fx * (data[x1 + 1] - data[x0 + 1]);
  G[g + 3] = fy * (data[y1 + 1] - data[y0 + 1]);
  G[g + 4] = fx * (data[x1 + 2] - data[x0 + 2]);
  G[g + 5] = fy * (data[y1 + 2] - data[y0 + 2]);
}

/** Paints the RGB of the hole pixels (RGBA, stride 4) in level order. */
function paintRGB(m: March, disk: Disk, width: number, data: Uint8ClampedArray, signal: AbortSignal | undefined, firstOrderDepth = Infinity): void {
  const { T, order, count, pw, ox, oy, touched, nTouched } = m;
  const { n: nd, grid, image, hx, hy, ux, uy, invDist2 } = disk;
  const rowBytes = width << 2;
  const normal = new Float64Array(2);
  // Doubled colour gradients ∇I(q), 6 per cell laid out like the grid, each computed once, when q
  // becomes known, over the neighbours known then: original pixels for an original q (those the
  // outward march reached; farther ones are never inside a disk), lower levels for a filled q.
  const G = new Int16Array(6 * T.length);
  for (let s = 0; s < nTouched; s++) {
    const p = touched[s];
    const py = (p / pw) | 0;
    colourGradient(G, data, T, p, ((py + oy) * width + (p - py * pw + ox)) << 2, LEVEL, pw, rowBytes);
  }
  for (let n = 0; n < count; n++) {
    if ((n & 0xfff) === 0) throwIfAborted(signal);
    const p = order[n];
    const py = (p / pw) | 0;
    const ip = (py + oy) * width + (p - py * pw + ox);
    const tp = T[p];
    const thr = Math.floor(tp * INV_LEVEL) * LEVEL; // pixels with T below this are known to p
    const firstOrder = tp <= firstOrderDepth;
    const clamp = firstOrder ? CLAMP : 0;
    // dir floor, raised to 1 + floor (every direction counts fully) where the normal vanishes.
    const dirAdd = levelSetNormal(T, p, thr, pw, normal);
    const nx = normal[0];
    const ny = normal[1];
    let sr = 0;
    let sg = 0;
    let sb = 0;
    let sw = 0;
    for (let j = 0; j < nd; j++) {
      const q = p + grid[j];
      const tq = T[q];
      if (tq >= thr) continue;
      // Math.abs rather than comparisons: the signs vary from pixel to pixel and would mispredict.
      const w = ((Math.abs(nx * ux[j] + ny * uy[j]) + dirAdd) * invDist2[j]) / (1 + Math.abs(tp - tq));
      const g = 6 * q;
      const ex = hx[j];
      const ey = hy[j];
      const er = Math.max(-clamp, Math.min(clamp, G[g] * ex + G[g + 1] * ey));
      const eg = Math.max(-clamp, Math.min(clamp, G[g + 2] * ex + G[g + 3] * ey));
      const eb = Math.max(-clamp, Math.min(clamp, G[g + 4] * ex + G[g + 5] * ey));
      const c = (ip + image[j]) << 2;
      sr += w * (data[c] + er);
      sg += w * (data[c + 1] + eg);
      sb += w * (data[c + 2] + eb);
      sw += w;
    }
    // sw > 0: p has a 4-neighbour of a lower level or on the ring (see the header), inside the disk.
    const c = ip << 2;
    const inv = 1 / sw;
    data[c] = sr * inv; // Uint8ClampedArray rounds to nearest (ties to even) and clamps to [0, 255]
    data[c + 1] = sg * inv;
    data[c + 2] = sb * inv;
    if (firstOrder) colourGradient(G, data, T, p, c, thr, pw, rowBytes);
  }
}

/** Paints the hole values of a scalar field in level order (zeroth-order average, see inpaintTeleaScalar). */
function paintScalar(m: March, disk: Disk, width: number, data: Float32Array, signal: AbortSignal | undefined): void {
  const { T, order, count, pw, ox, oy } = m;
  const { n: nd, grid, image, ux, uy, invDist2 } = disk;
  const normal = new Float64Array(2);
  for (let n = 0; n < count; n++) {
    if ((n & 0xfff) === 0) throwIfAborted(signal);
    const p = order[n];
    const py = (p / pw) | 0;
    const ip = (py + oy) * width + (p - py * pw + ox);
    const tp = T[p];
    const thr = Math.floor(tp * INV_LEVEL) * LEVEL;
    const dirAdd = levelSetNormal(T, p, thr, pw, normal);
    const nx = normal[0];
    const ny = normal[1];
    let sv = 0;
    let sw = 0;
    for (let j = 0; j < nd; j++) {
      const q = p + grid[j];
      const tq = T[q];
      if (tq >= thr) continue;
      const w = ((Math.abs(nx * ux[j] + ny * uy[j]) + dirAdd) * invDist2[j]) / (1 + Math.abs(tp - tq));
      sv += w * data[ip + image[j]];
      sw += w;
    }
    data[ip] = sv / sw;
  }
}

/**
 * Fills the hole of an RGBA image by Telea's fast-marching inpainting (method and weights in the file
 * header).
 *
 * @param image RGBA8 image (straight alpha); not modified.
 * @param hole width·height bytes; non-zero marks a pixel to fill.
 * @param options `radius` (default 5), `signal`, `region`; see {@link TeleaOptions}.
 * @returns a new image of the same size and array type. Known pixels are byte-identical to the input;
 *   hole pixels get filled RGB and keep their input alpha (compositing is the caller's business). Hole
 *   pixels that no known pixel reaches (the hole covers the whole image or region) become mid-grey
 *   ({@link TELEA_UNREACHABLE_FILL}). An empty hole returns a copy.
 * @throws DioramaError `INVALID_IMAGE` (size or data length), `SIZE_MISMATCH` (hole length),
 *   `INVALID_MASKS` (hole not a byte array), `INVALID_OPTION` (radius, region), `ABORTED` (signal).
 */
export function inpaintTelea(
  image: RGBAImage,
  hole: Uint8Array | Uint8ClampedArray,
  options: TeleaOptions = {},
): RGBAImage {
  const { width, height } = image;
  if (!Number.isInteger(width) || !Number.isInteger(height) || width <= 0 || height <= 0) {
    throw new DioramaError('INVALID_IMAGE', `inpaint image must have positive integer size, found ${width}x${height}`);
  }
  if (!image.data || image.data.length !== width * height * 4) {
    throw new DioramaError(
      'INVALID_IMAGE',
      `inpaint image data has ${image.data?.length} bytes; expected width·height·4 = ${width * height * 4}`,
    );
  }
  checkHole(hole, width, height);
  if (options.ignore) checkHole(options.ignore, width, height);
  const radius = options.radius ?? 5;
  checkRadius(radius);
  const region = clampRegion(options.region, width, height);
  throwIfAborted(options.signal);

  // Work on a Uint8ClampedArray (one element kind keeps the hot loop monomorphic; it also rounds and
  // clamps on store); hand back the input's array type over the same buffer.
  const work = new Uint8ClampedArray(image.data);
  const m = march(width, height, hole, region, Math.ceil(radius), options.signal, options.ignore);
  if (m) {
    paintRGB(m, makeDisk(radius, m.pw, width), width, work, options.signal, options.firstOrderDepth ?? Infinity);
    for (let u = 0; u < m.unreached.length; u++) {
      const c = m.unreached[u] << 2;
      work[c] = work[c + 1] = work[c + 2] = TELEA_UNREACHABLE_FILL;
    }
  }
  const data = image.data instanceof Uint8ClampedArray ? work : new Uint8Array(work.buffer);
  return { width, height, data };
}

/**
 * Fills the hole of a scalar float field (e.g. depth) the same way as {@link inpaintTelea}, but with the
 * zeroth-order average only: the first-order term's clamp is in grey levels and has no scale-free
 * equivalent for an arbitrary field. Known values should be finite: they are averaged as they are.
 *
 * @param values width·height values; not modified.
 * @param width field width.
 * @param height field height.
 * @param hole width·height bytes; non-zero marks a value to fill.
 * @param options see {@link TeleaOptions}; hole values no known value reaches become 0.
 * @returns a new Float32Array; known values are copied bit for bit.
 * @throws DioramaError `INVALID_OPTION` (size, radius, region), `SIZE_MISMATCH`, `INVALID_MASKS`, `ABORTED`.
 */
export function inpaintTeleaScalar(
  values: Float32Array,
  width: number,
  height: number,
  hole: Uint8Array | Uint8ClampedArray,
  options: TeleaOptions = {},
): Float32Array {
  if (!Number.isInteger(width) || !Number.isInteger(height) || width <= 0 || height <= 0) {
    throw new DioramaError('INVALID_OPTION', `inpaint field must have positive integer size, found ${width}x${height}`);
  }
  if (values.length !== width * height) {
    throw new DioramaError(
      'SIZE_MISMATCH',
      `inpaint field has ${values.length} values; expected width·height = ${width}·${height} = ${width * height}`,
    );
  }
  checkHole(hole, width, height);
  if (options.ignore) checkHole(options.ignore, width, height);
  const radius = options.radius ?? 5;
  checkRadius(radius);
  const region = clampRegion(options.region, width, height);
  throwIfAborted(options.signal);
  const out = new Float32Array(values);
  const m = march(width, height, hole, region, Math.ceil(radius), options.signal, options.ignore);
  if (m) {
    paintScalar(m, makeDisk(radius, m.pw, width), width, out, options.signal);
    for (let u = 0; u < m.unreached.length; u++) out[m.unreached[u]] = 0;
  }
  return out;
}
