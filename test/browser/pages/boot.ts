/**
 * Page-side half of the browser harness: `expose()` publishes a page's test functions on `window.diorama`
 * and signals readiness; a setup failure is published as `window.dioramaError` so the Node side fails
 * fast with the message instead of timing out.
 */
import { navigatorGpu, type GpuDevice } from '../../../src/gpu/webgpu';

declare global {
  interface Window {
    diorama: Record<string, (...args: any[]) => unknown>;
    dioramaReady?: boolean;
    dioramaError?: string;
  }
}

export function expose(fns: Record<string, (...args: any[]) => unknown>, setup?: () => Promise<void>): void {
  (async () => {
    if (setup) await setup();
    window.diorama = fns;
    window.dioramaReady = true;
  })().catch((e: unknown) => {
    window.dioramaError = e instanceof Error ? `${e.name}: ${e.message}\n${e.stack ?? ''}` : String(e);
  });
}

/** The page's canvas (512×512 unless the test asked otherwise). */
export function canvas(): HTMLCanvasElement {
  return document.getElementById('c') as HTMLCanvasElement;
}

/** A WebGPU device of the browser's default adapter, or null when WebGPU or an adapter is missing. */
export async function requestTestDevice(): Promise<GpuDevice | null> {
  const gpu = navigatorGpu();
  const adapter = gpu ? await gpu.requestAdapter() : null;
  return adapter ? adapter.requestDevice() : null;
}
