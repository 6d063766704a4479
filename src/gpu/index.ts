/**
 * Diorama's WebGPU compute (a candidate `diorama/gpu` entry point): the Stage 1 harmonization solve and the
 * Stage 3 harmonic fill on a caller's GPUDevice (Babylon's WebGPUEngine device, the device shared with
 * onnxruntime-web) or on a device of our own, each with the CPU path as fallback.
 * Importing this module has no side effects: no device is requested until a function runs.
 */
export { harmonizeGpu, type HarmonizeGpuOptions, type HarmonizeGpuResult } from './harmonize';
export { harmonicFillGpu, type HarmonicFillGpuOptions, type HarmonicFillGpuResult } from './fill';
export {
  GpuGridSolver,
  solveGridPCGGpu,
  solveGridMultilevelGpu,
  defaultWorkgroups,
  isSoftwareAdapter,
  pcgBytesPerPixelIteration,
  PCG_BYTES_PER_PIXEL_ITERATION,
  type GpuGridSystem,
  type GpuSolveOptions,
  type GpuSolveResult,
  type GpuMultilevelOptions,
  type PcgWorkgroups,
} from './pcg';
export { acquireGpuDevice, gpuBufferStats, isGpuFailure, type GpuBufferStats } from './device';
export type { GpuDevice, GpuBuffer, GpuAdapter } from './webgpu';
