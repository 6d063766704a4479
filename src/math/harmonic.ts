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
import { solveGridMultilevel, type GridSystem, type SolveOptions } from './solver';

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

/** What harmonicFill needs solved, or its finished result when no solve is needed. */
export type HarmonicFillSetup =
  | { kind: 'done'; result: HarmonicFillResult }
  | {
      kind: 'solve';
      /** The grid system on the working rectangle (c = 0, b = start, known and unreachable pixels fixed). */
      sys: GridSystem;
      /** Starting guess: nearest known value on the rectangle. */
      start: Float32Array;
      /** Solve options with the defaults applied (tolerance 1e-4, 400 iterations). */
      solveOptions: SolveOptions;
      /** Writes a solution of `sys` back into a copy of the input values and returns it. */
      finish: (x: Float32Array) => Float32Array;
    };

/**
 * Everything of harmonicFill before its solve: the bounding box of the fill pixels grown by one pixel (their
 * Dirichlet ring), known pixels as Dirichlet values (1/value in 'inverse' mode, where non-positive known
 * values are dropped), unit weights on edges that touch a fill pixel, fill components unreachable from any
 * known pixel fixed at their nearest-known starting value, and the nearest-known fallback over the whole
 * image when the rectangle holds no known pixel at all. `caller` names the function in error messages.
 * Shared by harmonicFill and the GPU fill (src/gpu/fill.ts).
 */
export function assembleHarmonicFill(
  values: Float32Array,
  W: number,
  H: number,
  known: Uint8Array,
  fill: Uint8Array,
  options: HarmonicFillOptions = {},
  caller = 'harmonicFill',
): HarmonicFillSetup {
  const N = W * H;
  if (values.length !== N || known.length !== N || fill.length !== N) {
    throw new DioramaError('SIZE_MISMATCH', `${caller}: expected arrays of ${W}x${H} = ${N}; found values ${values.length}, known ${known.length}, fill ${fill.length}`);
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
      if (known[i]) anyKnown = true;
      else if (fill[i]) {
        if (x < x0) x0 = x;
        if (x > x1) x1 = x;
        if (y < y0) y0 = y;
        if (y > y1) y1 = y;
      }
    }
  }
  if (x1 < 0) return { kind: 'done', result: { values: out, iterations: 0, residual: 0 } };
  if (!anyKnown) throw new DioramaError('NO_VALID_DEPTH', `${caller}: no known pixel to fill from`);
  const rx = Math.max(0, x0 - 1);
  const ry = Math.max(0, y0 - 1);
  const rect: Rect = { x: rx, y: ry, width: Math.min(W - 1, x1 + 1) - rx + 1, height: Math.min(H - 1, y1 + 1) - ry + 1 };
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
      const i = (ry + y) * W + rx + x;
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
    return { kind: 'done', result: { values: out, iterations: 0, residual: 0 } };
  }
  const start = fillNearest(v, kn, w, h);
  const wx = new Float32Array(n);
  const wy = new Float32Array(n);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const j = y * w + x;
      if (!kn[j] && !fl[j]) continue;
      // An edge between two known pixels carries no information; keep only edges between active pixels
      // that touch a fill pixel.
      if (x + 1 < w && (kn[j + 1] || fl[j + 1]) && (fl[j] || fl[j + 1])) wx[j] = 1;
      if (y + 1 < h && (kn[j + w] || fl[j + w]) && (fl[j] || fl[j + w])) wy[j] = 1;
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

  const finish = (x: Float32Array): Float32Array => {
    for (let y = 0; y < h; y++) {
      for (let xx = 0; xx < w; xx++) {
        const j = y * w + xx;
        if (!fl[j]) continue;
        const val = x[j]!;
        out[(ry + y) * W + rx + xx] = inverse ? (val > 0 ? 1 / val : 1 / start[j]!) : val;
      }
    }
    return out;
  };
  return {
    kind: 'solve',
    sys: { width: w, height: h, c: new Float32Array(n), b: start, wx, wy, fixed: kn },
    start,
    solveOptions: { tolerance: options.tolerance ?? 1e-4, maxIterations: options.maxIterations ?? 400, signal: options.signal },
    finish,
  };
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
  const setup = assembleHarmonicFill(values, W, H, known, fill, options);
  if (setup.kind === 'done') return setup.result;
  const res = solveGridMultilevel(setup.sys, setup.start, setup.solveOptions);
  return { values: setup.finish(res.x), iterations: res.iterations, residual: res.residual };
}
