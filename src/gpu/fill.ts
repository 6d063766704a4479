/**
 * Stage 3's harmonic depth fill with the coarse-to-fine solve on the GPU: the GPU twin of harmonicFill
 * (src/math/harmonic.ts). The set-up (working rectangle, Dirichlet pixels, graph edges, components that
 * touch no known pixel) runs on the CPU; the cascade of PCG solves runs on
 * the GPU (solveGridMultilevelGpu: restriction on the CPU, level solves and prolongation on the GPU), like
 * the CPU version's solveGridMultilevel. The set-up and the write-back are harmonicFill's own
 * (assembleHarmonicFill); test/browser/gpu-fill.test.ts checks the two against each other on random inputs.
 */
import { assembleHarmonicFill, type HarmonicFillOptions, type HarmonicFillResult } from '../math/harmonic';
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
  const setup = assembleHarmonicFill(values, W, H, known, fill, options, 'harmonicFillGpu');
  if (setup.kind === 'done') return { ...setup.result, backend: 'cpu' };
  const res = await solveGridMultilevelGpu(options.device, setup.sys, setup.start, { ...setup.solveOptions, checkInterval: options.checkInterval });
  return { values: setup.finish(res.x), iterations: res.iterations, residual: res.residual, backend: res.backend };
}
