/**
 * The slice of the WebGPU API that src/gpu uses, as structural types.
 *
 * The project does not depend on @webgpu/types and TypeScript's DOM library does not declare WebGPU, so
 * these interfaces name exactly the members the drivers call. They are deliberately subsets: a real
 * `GPUDevice` (from the browser, Babylon's `WebGPUEngine._device`, or onnxruntime-web's `env.webgpu.device`)
 * is assignable to {@link GpuDevice}. The usage and map-mode flags are spelled as numbers because the
 * `GPUBufferUsage` / `GPUMapMode` globals do not exist in Node, where this module must still load.
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

export interface GpuBuffer {
  readonly size: number;
  readonly usage: number;
  label: string;
  mapAsync(mode: number, offset?: number, size?: number): Promise<void>;
  getMappedRange(offset?: number, size?: number): ArrayBuffer;
  unmap(): void;
  destroy(): void;
}

export interface GpuBufferDescriptor {
  label?: string;
  size: number;
  usage: number;
  mappedAtCreation?: boolean;
}

export interface GpuShaderModule {
  getCompilationInfo(): Promise<{ messages: ReadonlyArray<{ message: string; type: string; lineNum: number; linePos: number }> }>;
}

export interface GpuBindGroupLayout {
  readonly label?: string;
}

export interface GpuBindGroupLayoutEntry {
  binding: number;
  visibility: number;
  buffer?: { type?: 'uniform' | 'storage' | 'read-only-storage'; hasDynamicOffset?: boolean; minBindingSize?: number };
}

export interface GpuPipelineLayout {
  readonly label?: string;
}

export interface GpuComputePipeline {
  getBindGroupLayout(index: number): GpuBindGroupLayout;
}

export interface GpuBindGroup {
  readonly label?: string;
}

export interface GpuComputePassEncoder {
  setPipeline(pipeline: GpuComputePipeline): void;
  setBindGroup(index: number, bindGroup: GpuBindGroup): void;
  dispatchWorkgroups(x: number, y?: number, z?: number): void;
  end(): void;
}

export interface GpuCommandBuffer {
  readonly label?: string;
}

export interface GpuCommandEncoder {
  beginComputePass(descriptor?: { label?: string }): GpuComputePassEncoder;
  copyBufferToBuffer(source: GpuBuffer, sourceOffset: number, destination: GpuBuffer, destinationOffset: number, size: number): void;
  clearBuffer(buffer: GpuBuffer, offset?: number, size?: number): void;
  finish(descriptor?: { label?: string }): GpuCommandBuffer;
}

export interface GpuQueue {
  writeBuffer(buffer: GpuBuffer, bufferOffset: number, data: ArrayBufferView | ArrayBuffer, dataOffset?: number, size?: number): void;
  submit(commandBuffers: Iterable<GpuCommandBuffer>): void;
  onSubmittedWorkDone(): Promise<void>;
}

export interface GpuDeviceLostInfo {
  readonly reason: string;
  readonly message: string;
}

export interface GpuError {
  readonly message: string;
}

export interface GpuSupportedLimits {
  readonly maxStorageBufferBindingSize: number;
  readonly maxBufferSize: number;
  readonly maxComputeWorkgroupSizeX: number;
  readonly maxComputeWorkgroupSizeY: number;
  readonly maxComputeInvocationsPerWorkgroup: number;
  readonly maxComputeWorkgroupsPerDimension: number;
  readonly maxStorageBuffersPerShaderStage: number;
}

export interface GpuDevice {
  readonly queue: GpuQueue;
  readonly lost: Promise<GpuDeviceLostInfo>;
  readonly limits: GpuSupportedLimits;
  label: string;
  createBuffer(descriptor: GpuBufferDescriptor): GpuBuffer;
  createShaderModule(descriptor: { label?: string; code: string }): GpuShaderModule;
  createBindGroupLayout(descriptor: { label?: string; entries: GpuBindGroupLayoutEntry[] }): GpuBindGroupLayout;
  createPipelineLayout(descriptor: { label?: string; bindGroupLayouts: GpuBindGroupLayout[] }): GpuPipelineLayout;
  createComputePipeline(descriptor: {
    label?: string;
    layout: GpuPipelineLayout | 'auto';
    compute: { module: GpuShaderModule; entryPoint?: string; constants?: Record<string, number> };
  }): GpuComputePipeline;
  createBindGroup(descriptor: {
    label?: string;
    layout: GpuBindGroupLayout;
    entries: { binding: number; resource: { buffer: GpuBuffer; offset?: number; size?: number } }[];
  }): GpuBindGroup;
  createCommandEncoder(descriptor?: { label?: string }): GpuCommandEncoder;
  pushErrorScope(filter: 'validation' | 'out-of-memory' | 'internal'): void;
  popErrorScope(): Promise<GpuError | null>;
  destroy(): void;
}

export interface GpuAdapter {
  readonly limits: GpuSupportedLimits;
  readonly info?: { vendor?: string; architecture?: string; device?: string; description?: string };
  readonly isFallbackAdapter?: boolean;
  requestDevice(descriptor?: { label?: string; requiredLimits?: Record<string, number> }): Promise<GpuDevice>;
}

export interface Gpu {
  requestAdapter(options?: { powerPreference?: 'low-power' | 'high-performance' }): Promise<GpuAdapter | null>;
}

/** `navigator.gpu` when the environment has WebGPU, else undefined (Node, old browsers, WebGL-only setups). */
export function navigatorGpu(): Gpu | undefined {
  const nav = (globalThis as { navigator?: { gpu?: Gpu } }).navigator;
  return nav?.gpu ?? undefined;
}

/** True when `v` looks like a GPUBuffer (duck-typed: the class is not a global in Node). */
export function isGpuBuffer(v: unknown): v is GpuBuffer {
  return typeof v === 'object' && v !== null && typeof (v as GpuBuffer).mapAsync === 'function' && typeof (v as GpuBuffer).size === 'number';
}
