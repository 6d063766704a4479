/**
 * Stage 1 (depth harmonization) with its linear solve on the GPU: assembleHarmonizeSystem (CPU: data term,
 * boundary snapping, confidence band, weights, starting guess), Jacobi-PCG on WebGPU (pcg.ts), then the
 * CPU `finish` (back to metric depth). Same energy, weights, confidence, tolerance and iteration cap as
 * harmonize() in src/math/harmonize.ts, so the results agree within the solver's f32 tolerance.
 */
import { throwIfAborted } from '../core/errors';
import { assembleHarmonizeSystem, type HarmonizeInput, type HarmonizeOptions, type HarmonizeResult } from '../math/harmonize';
import { solveGridPCGGpu, type GpuGridSolver } from './pcg';
import type { GpuDevice } from './webgpu';

export interface HarmonizeGpuOptions extends HarmonizeOptions {
  /**
   * Device to solve on (Babylon's WebGPUEngine device, the one shared with onnxruntime-web), or a
   * GpuGridSolver to reuse its buffers across frames. Default: a device of our own via navigator.gpu; without
   * WebGPU the CPU solver runs (one log line per page).
   */
  device?: GpuDevice | GpuGridSolver | null;
  /** Iterations per submission (solver state read back once per batch). Default 8. */
  checkInterval?: number;
}

export interface HarmonizeGpuResult extends HarmonizeResult {
  /** Where the solve ran ('cpu' after a fallback: no WebGPU, device lost, out of memory). */
  backend: 'webgpu' | 'cpu';
}

/**
 * Runs Stage 1 with the PCG solve on the GPU. Throws what harmonize() throws (DioramaError on bad input,
 * ABORTED on abort); a GPU failure (device lost, out of memory) warns once and finishes on the CPU.
 */
export async function harmonizeGpu(input: HarmonizeInput, options: HarmonizeGpuOptions = {}): Promise<HarmonizeGpuResult> {
  const { device, checkInterval, ...harmonizeOptions } = options;
  const hs = assembleHarmonizeSystem(input, harmonizeOptions);
  throwIfAborted(options.signal);
  const t0 = performance.now();
  const res = await solveGridPCGGpu(device, hs.system, hs.start, { ...hs.solveOptions, signal: options.signal, checkInterval });
  const out = hs.finish(res.x, res.iterations, res.residual, performance.now() - t0);
  return { ...out, backend: res.backend };
}
