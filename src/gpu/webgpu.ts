/**
 * WebGPU names used by src/gpu: the types are @webgpu/types' own (aliased); the usage and map-mode flags are
 * spelled as numbers because the `GPUBufferUsage` / `GPUMapMode` globals do not exist in Node, where this
 * module must still load.
 */

/** GPUBufferUsage flags (WebGPU spec values). */
export const BufferUsage = Object.freeze({
  MAP_READ: 0x0001,
  MAP_WRITE: 0x0002,
  COPY_SRC: 0x0004,
  COPY_DST: 0x0008,
  INDEX: 0x0010,
  VERTEX: 0x0020,
  UNIFORM: 0x0040,
  STORAGE: 0x0080,
  INDIRECT: 0x0100,
  QUERY_RESOLVE: 0x0200,
});

/** GPUMapMode flags. */
export const MapMode = Object.freeze({ READ: 0x0001, WRITE: 0x0002 });

/** GPUShaderStage flags. */
export const ShaderStage = Object.freeze({ VERTEX: 0x1, FRAGMENT: 0x2, COMPUTE: 0x4 });

// The WebGPU types themselves come from @webgpu/types (a real GPUDevice from the browser, Babylon's
// WebGPUEngine or onnxruntime-web); these aliases keep the drivers' names.
export type GpuBuffer = GPUBuffer;
export type GpuBufferDescriptor = GPUBufferDescriptor;
export type GpuBindGroupLayout = GPUBindGroupLayout;
export type GpuComputePipeline = GPUComputePipeline;
export type GpuBindGroup = GPUBindGroup;
export type GpuComputePassEncoder = GPUComputePassEncoder;
export type GpuCommandEncoder = GPUCommandEncoder;
export type GpuError = GPUError;
export type GpuDevice = GPUDevice;
export type GpuAdapter = GPUAdapter;
export type Gpu = GPU;

/** `navigator.gpu` when the environment has WebGPU, else undefined (Node, old browsers, WebGL-only setups). */
export function navigatorGpu(): Gpu | undefined {
  const nav = (globalThis as { navigator?: { gpu?: Gpu } }).navigator;
  return nav?.gpu ?? undefined;
}

/** True when `v` looks like a GPUBuffer (duck-typed: the class is not a global in Node). */
export function isGpuBuffer(v: unknown): v is GpuBuffer {
  return typeof v === 'object' && v !== null && typeof (v as GpuBuffer).mapAsync === 'function' && typeof (v as GpuBuffer).size === 'number';
}
