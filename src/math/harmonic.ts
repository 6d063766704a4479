/**
 * Harmonic (Laplace) fill: values inside a region are the solution of Δx = 0 with the known pixels around
 * the region as Dirichlet boundary (Stage 3's depth fill). It is the same grid system as harmonization with
 * c = 0, uniform weights, known pixels fixed; pixels that are neither known nor to be filled are cut out
 * of the graph (no weight to them), so the fill sees only the boundary it is given.
 *
 * In 'inverse' mode the fill runs on 1/x: a plane in camera space has an inverse depth that is affine in
 * image coordinates, and affine functions are harmonic, so hidden parts of planar surfaces are continued
 * exactly. In 'linear' mode the values are filled as given.
 *
 * The solve is coarse-to-fine (solver.ts): a hole tens of pixels wide needs long-range propagation that
 * plain CG does slowly; the pyramid provides it cheaply.
 */
import { DioramaError, throwIfAborted } from '../core/errors';
import type { Rect } from '../core/types';
import { fillNearest } from './labels';
import { solveGridMultilevel } from './solver';

export interface HarmonicFillOptions {
  domain?: 'linear' | 'inverse';
  /** Relative preconditioned residual. Default 1e-4. */
  tolerance?: number;
  /** Default 400. */
  maxIterations?: number;
  signal?: AbortSignal;
}

export interface HarmonicFillResult {
  values: Float32Array;
  iterations: number;
  residual: number;
}

/**
 * Fills `fill` pixels of `values` (W×H) harmonically from the `known` pixels. Pixels in neither set are left
 * unchanged and play no part. A fill component that touches no known pixel gets the value of the nearest
 * known pixel (city-block distance) inside the working rectangle, i.e. the bounding box of all fill pixels
 * grown by one pixel; only when that rectangle holds no known pixel at all is the whole image searched.
 * Returns a new array.
 */
export function harmonicFill(
  values: Float32Array,
  W: number,
  H: number,
  known: Uint8Array,
  fill: Uint8Array,
  options: HarmonicFillOptions = {},
): HarmonicFillResult {
  const N = W * H;
  if (values.length !== N || known.length !== N || fill.length !== N) {
    throw new DioramaError('SIZE_MISMATCH', `harmonicFill: expected arrays of ${W}x${H} = ${N}; found values ${values.length}, known ${known.length}, fill ${fill.length}`);
  }
  throwIfAborted(options.signal);
  const out = values.slice();
  // Work on the bounding box of the fill region grown by one pixel (its Dirichlet ring).
  let x0 = W;
  let y0 = H;
  let x1 = -1;
  let y1 = -1;
  let anyKnown = false;
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) {
      const i = y * W + x;
      if (fill[i] && !known[i]) {
        if (x < x0) x0 = x;
        if (x > x1) x1 = x;
        if (y < y0) y0 = y;
        if (y > y1) y1 = y;
      }
      if (known[i]) anyKnown = true;
    }
  }
  if (x1 < 0) return { values: out, iterations: 0, residual: 0 };
  if (!anyKnown) throw new DioramaError('NO_VALID_DEPTH', 'harmonicFill: no known pixel to fill from');
  const rect: Rect = {
    x: Math.max(0, x0 - 1),
    y: Math.max(0, y0 - 1),
    width: Math.min(W - 1, x1 + 1) - Math.max(0, x0 - 1) + 1,
    height: Math.min(H - 1, y1 + 1) - Math.max(0, y0 - 1) + 1,
  };
  const w = rect.width;
  const h = rect.height;
  const n = w * h;
  const inverse = options.domain === 'inverse';
  const v = new Float32Array(n);
  const kn = new Uint8Array(n);
  const fl = new Uint8Array(n);
  let knownInRect = 0;
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const i = (rect.y + y) * W + rect.x + x;
      const j = y * w + x;
      if (known[i]) {
        const val = values[i]!;
        if (inverse && !(val > 0)) continue; // an invalid known value cannot anchor an inverse fill
        kn[j] = 1;
        v[j] = inverse ? 1 / val : val;
        knownInRect++;
      } else if (fill[i]) fl[j] = 1;
    }
  }
  if (knownInRect === 0) {
    // The region's ring holds no known pixel: fall back to the nearest known value in the whole image.
    const near = fillNearest(values, known, W, H);
    for (let i = 0; i < N; i++) if (fill[i] && !known[i]) out[i] = near[i]!;
    return { values: out, iterations: 0, residual: 0 };
  }
  const start = fillNearest(v, kn, w, h);
  const c = new Float32Array(n);
  const wx = new Float32Array(n);
  const wy = new Float32Array(n);
  const active = (j: number): boolean => kn[j] === 1 || fl[j] === 1;
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const j = y * w + x;
      if (!active(j)) continue;
      // An edge between two known pixels carries no information; keep only edges touching a fill pixel.
      if (x + 1 < w && active(j + 1) && (fl[j] || fl[j + 1])) wx[j] = 1;
      if (y + 1 < h && active(j + w) && (fl[j] || fl[j + w])) wy[j] = 1;
    }
  }
  // Fill components that touch no known pixel have no boundary to be harmonic with: they keep their
  // starting value (the nearest known value) as if it were given. Found by a search from the known pixels
  // along the graph's edges.
  const reached = new Uint8Array(n);
  const queue = new Int32Array(n);
  let head = 0;
  let tail = 0;
  for (let j = 0; j < n; j++) if (kn[j]) { reached[j] = 1; queue[tail++] = j; }
  while (head < tail) {
    const j = queue[head++]!;
    const x = j % w;
    if (x + 1 < w && wx[j]! > 0 && !reached[j + 1]) { reached[j + 1] = 1; queue[tail++] = j + 1; }
    if (x > 0 && wx[j - 1]! > 0 && !reached[j - 1]) { reached[j - 1] = 1; queue[tail++] = j - 1; }
    if (j + w < n && wy[j]! > 0 && !reached[j + w]) { reached[j + w] = 1; queue[tail++] = j + w; }
    if (j >= w && wy[j - w]! > 0 && !reached[j - w]) { reached[j - w] = 1; queue[tail++] = j - w; }
  }
  for (let j = 0; j < n; j++) if (fl[j] && !reached[j]) kn[j] = 1; // fixed at its starting value

  const res = solveGridMultilevel(
    { width: w, height: h, c, b: start, wx, wy, fixed: kn },
    start,
    { tolerance: options.tolerance ?? 1e-4, maxIterations: options.maxIterations ?? 400, signal: options.signal },
  );
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const j = y * w + x;
      if (!fl[j]) continue;
      const val = res.x[j]!;
      out[(rect.y + y) * W + rect.x + x] = inverse ? (val > 0 ? 1 / val : 1 / start[j]!) : val;
    }
  }
  return { values: out, iterations: res.iterations, residual: res.residual };
}
