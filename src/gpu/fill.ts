/**
 * Stage 3's harmonic depth fill with the coarse-to-fine solve on the GPU: the GPU twin of harmonicFill
 * (src/math/harmonic.ts). The set-up (working rectangle, Dirichlet pixels, graph edges, components that
 * touch no known pixel) runs on the CPU exactly as harmonicFill does it; the cascade of PCG solves runs on
 * the GPU (solveGridMultilevelGpu: restriction on the CPU, level solves and prolongation on the GPU), like
 * the CPU version's solveGridMultilevel.
 *
 * harmonic.ts exposes no split between set-up and solve (harmonize.ts has assembleHarmonizeSystem), so the
 * set-up is restated here from harmonicFill's definition; test/browser/gpu-fill.test.ts checks the two
 * against each other on random inputs.
 */
import { DioramaError, throwIfAborted } from '../core/errors';
import type { Rect } from '../core/types';
import type { HarmonicFillOptions, HarmonicFillResult } from '../math/harmonic';
import { fillNearest } from '../math/labels';
import type { GridSystem } from '../math/solver';
import { solveGridMultilevelGpu, type GpuGridSolver } from './pcg';
import type { GpuDevice } from './webgpu';

export interface HarmonicFillGpuOptions extends HarmonicFillOptions {
  /** Device or reusable solver; default a device of our own (CPU fallback without WebGPU). */
  device?: GpuDevice | GpuGridSolver | null;
  /** Iterations per submission. Default 8. */
  checkInterval?: number;
}

export interface HarmonicFillGpuResult extends HarmonicFillResult {
  backend: 'webgpu' | 'cpu';
}

/** The fill's grid system on its working rectangle, or the finished result when no solve is needed. */
type FillSetup =
  | { kind: 'done'; result: HarmonicFillResult }
  | { kind: 'solve'; sys: GridSystem; start: Float32Array; finish: (x: Float32Array) => Float32Array };

/**
 * Everything of harmonicFill before its solve: the bounding box of the fill pixels grown by one (their
 * Dirichlet ring), known pixels as Dirichlet values (1/value in 'inverse' mode; non-positive known values
 * are dropped there), unit weights on edges that touch a fill pixel, fill components unreachable from any
 * known pixel fixed at their nearest-known starting value, and the nearest-known fallback when the
 * rectangle holds no known pixel at all.
 */
function setupFill(values: Float32Array, W: number, H: number, known: Uint8Array, fill: Uint8Array, options: HarmonicFillOptions): FillSetup {
  const N = W * H;
  if (values.length !== N || known.length !== N || fill.length !== N) {
    throw new DioramaError('SIZE_MISMATCH', `harmonicFillGpu: expected arrays of ${W}x${H} = ${N}; found values ${values.length}, known ${known.length}, fill ${fill.length}`);
  }
  throwIfAborted(options.signal);
  const out = values.slice();
  let x0 = W, y0 = H, x1 = -1, y1 = -1;
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
  if (!anyKnown) throw new DioramaError('NO_VALID_DEPTH', 'harmonicFillGpu: no known pixel to fill from');
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
        if (inverse && !(val > 0)) continue;
        kn[j] = 1;
        v[j] = inverse ? 1 / val : val;
        knownInRect++;
      } else if (fill[i]) fl[j] = 1;
    }
  }
  if (knownInRect === 0) {
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
      // Unit weight on edges between active pixels that touch a fill pixel.
      if (x + 1 < w && (kn[j + 1] || fl[j + 1]) && (fl[j] || fl[j + 1])) wx[j] = 1;
      if (y + 1 < h && (kn[j + w] || fl[j + w]) && (fl[j] || fl[j + w])) wy[j] = 1;
    }
  }
  // Fill pixels not connected to a known pixel through the edges keep their starting value (fixed).
  const reached = new Uint8Array(n);
  const queue = new Int32Array(n);
  let head = 0;
  let tail = 0;
  for (let j = 0; j < n; j++) {
    if (kn[j]) {
      reached[j] = 1;
      queue[tail++] = j;
    }
  }
  while (head < tail) {
    const j = queue[head++]!;
    const x = j % w;
    if (x + 1 < w && wx[j]! > 0 && !reached[j + 1]) { reached[j + 1] = 1; queue[tail++] = j + 1; }
    if (x > 0 && wx[j - 1]! > 0 && !reached[j - 1]) { reached[j - 1] = 1; queue[tail++] = j - 1; }
    if (j + w < n && wy[j]! > 0 && !reached[j + w]) { reached[j + w] = 1; queue[tail++] = j + w; }
    if (j >= w && wy[j - w]! > 0 && !reached[j - w]) { reached[j - w] = 1; queue[tail++] = j - w; }
  }
  for (let j = 0; j < n; j++) if (fl[j] && !reached[j]) kn[j] = 1;
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
  return { kind: 'solve', sys: { width: w, height: h, c: new Float32Array(n), b: start, wx, wy, fixed: kn }, start, finish };
}

/**
 * Fills `fill` pixels of `values` (W×H) harmonically from the `known` pixels, with the solve on the GPU;
 * same semantics, options and defaults as harmonicFill (tolerance 1e-4, 400 iterations, 'linear' domain).
 * Returns a new array. Without WebGPU, or after a GPU failure, the CPU cascade runs (see solveGridPCGGpu).
 */
export async function harmonicFillGpu(
  values: Float32Array,
  W: number,
  H: number,
  known: Uint8Array,
  fill: Uint8Array,
  options: HarmonicFillGpuOptions = {},
): Promise<HarmonicFillGpuResult> {
  const setup = setupFill(values, W, H, known, fill, options);
  if (setup.kind === 'done') return { ...setup.result, backend: 'cpu' };
  const res = await solveGridMultilevelGpu(options.device, setup.sys, setup.start, {
    tolerance: options.tolerance ?? 1e-4,
    maxIterations: options.maxIterations ?? 400,
    signal: options.signal,
    ...(options.checkInterval === undefined ? {} : { checkInterval: options.checkInterval }),
  });
  return { values: setup.finish(res.x), iterations: res.iterations, residual: res.residual, backend: res.backend };
}
