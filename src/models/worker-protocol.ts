/**
 * Messages between worker-client.ts (page) and worker.ts (Web Worker). Every request carries an id; the worker
 * answers `{ id, ok: true, result }` or `{ id, ok: false, error }`, may send `{ id, progress }` before, and
 * stops a request on `{ type: 'abort', id }`. Pixel and tensor buffers are transferred, not copied.
 */
import type { RGBAImage } from '../core/types';
import type { DepthModelOptions, EstimateOptions } from './da3';
import type { ModelSource } from './registry';
import type { RuntimeOptions } from './runtime';
import type { Sam3AutoOptions, Sam3TrackerSources } from './sam3';

/** Runtime options that can cross postMessage (no functions, no GPUDevice). */
export type WorkerRuntimeOptions = Pick<RuntimeOptions, 'executionProviders' | 'wasmPaths' | 'numThreads' | 'outputLocation'>;

/** Depth model options that can cross postMessage. */
export type WorkerDepthOptions = Pick<DepthModelOptions, 'kind' | 'processRes' | 'precision' | 'sha256' | 'headers' | 'cache'> & { cache?: false };

export type WorkerRequest =
  | { id: number; type: 'init'; runtime: WorkerRuntimeOptions }
  | { id: number; type: 'loadDepth'; handle: number; source: ModelSource; options: WorkerDepthOptions }
  | { id: number; type: 'estimate'; handle: number; image: RGBAImage; options: Omit<EstimateOptions, 'signal'> }
  | { id: number; type: 'loadSam3'; handle: number; sources: Sam3TrackerSources; options: { cache?: false; headers?: Record<string, string> } }
  | { id: number; type: 'segment'; handle: number; image: RGBAImage; options: Omit<Sam3AutoOptions, 'signal' | 'onProgress'> }
  | { id: number; type: 'dispose'; handle: number }
  | { id: number; type: 'abort' };

export type WorkerResponse =
  | { id: number; ok: true; result: unknown; log?: string[] }
  | { id: number; ok: false; error: { code: string; message: string } }
  | { id: number; progress: number }
  | { id: -1; warning: string };

/** Buffers of typed arrays found (shallowly and in arrays/objects up to depth 3) in a value, for transfer lists. */
export function transferables(value: unknown, depth = 0, out: Set<ArrayBuffer> = new Set()): ArrayBuffer[] {
  if (depth > 4 || value === null || typeof value !== 'object') return [...out];
  if (ArrayBuffer.isView(value)) {
    if (value.buffer instanceof ArrayBuffer && value.byteLength === value.buffer.byteLength) out.add(value.buffer);
    return [...out];
  }
  if (Array.isArray(value)) for (const v of value) transferables(v, depth + 1, out);
  else for (const v of Object.values(value)) transferables(v, depth + 1, out);
  return [...out];
}
