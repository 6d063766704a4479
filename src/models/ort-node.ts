/**
 * Node: which onnxruntime build runs the models. onnxruntime-node (an optional dependency: native CPU kernels,
 * several times faster than wasm) when it is installed and loads, else onnxruntime-web's wasm build. Both go
 * through the same ModelRuntime (runtime.ts): the same session options (external data as bytes included, which
 * onnxruntime-node 1.30 accepts like the web build) and the same contracts; only the execution provider name
 * differs ('cpu' vs 'wasm').
 */
import type { RuntimeOptions } from './runtime';

export interface NodeBackend {
  /** Which package runs the models. */
  readonly backend: 'onnxruntime-node' | 'onnxruntime-web';
  /** Options for createRuntime(). */
  readonly runtime: RuntimeOptions;
  /** Why onnxruntime-node is not used (not installed, or failed to load), when it is not. */
  readonly reason?: string;
}

/**
 * Picks the Node backend. `prefer: 'wasm'` forces onnxruntime-web (e.g. to compare); the default tries
 * onnxruntime-node first.
 */
export async function nodeBackend(prefer: 'auto' | 'wasm' = 'auto'): Promise<NodeBackend> {
  if (prefer === 'wasm') return { backend: 'onnxruntime-web', runtime: { executionProviders: ['wasm'] }, reason: 'wasm requested' };
  // A variable specifier keeps bundlers from resolving the optional package.
  const spec = 'onnxruntime-node';
  try {
    const ort = (await import(/* @vite-ignore */ spec)) as { InferenceSession?: unknown };
    if (!ort?.InferenceSession) throw new Error('the module has no InferenceSession');
    return { backend: 'onnxruntime-node', runtime: { ort, executionProviders: ['cpu'] } };
  } catch (e) {
    return { backend: 'onnxruntime-web', runtime: { executionProviders: ['wasm'] }, reason: e instanceof Error ? e.message.split('\n')[0] : String(e) };
  }
}
