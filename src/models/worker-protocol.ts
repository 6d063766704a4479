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
  | { id: number; ok: true; result: unknown }
  | { id: number; ok: false; error: { code: string; message: string } }
  | { id: number; progress: number }
  | { id: -1; warning: string };

/**
 * Buffers of the typed arrays in a value (found through arrays and objects up to 4 levels deep), for a transfer
 * list. Only views that span their whole buffer are listed (transferring a shared buffer would detach the rest).
 */
export function transferables(value: unknown): ArrayBuffer[] {
  const out = new Set<ArrayBuffer>();
  const visit = (v: unknown, depth: number): void => {
    if (depth > 4 || v === null || typeof v !== 'object') return;
    if (ArrayBuffer.isView(v)) {
      if (v.buffer instanceof ArrayBuffer && v.byteLength === v.buffer.byteLength) out.add(v.buffer);
      return;
    }
    for (const x of Array.isArray(v) ? v : Object.values(v)) visit(x, depth + 1);
  };
  visit(value, 0);
  return [...out];
}
