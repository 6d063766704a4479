/**
 * Web Worker entry: runs the model runtime, DA3 and SAM3 off the main thread. Start it as a module worker and
 * talk to it through worker-client.ts:
 * ```ts
 * const worker = new Worker(new URL('diorama/models/worker', import.meta.url), { type: 'module' });
 * const client = await ModelWorkerClient.create(worker, { wasmPaths: '/ort/' });
 * ```
 * Inside the worker, WebGPU is used when the worker has `navigator.gpu` (Chromium exposes it to workers),
 * else wasm. A GPUDevice cannot be shared with the page across threads, so outputs always come back as CPU
 * buffers, transferred (zero-copy) to the page.
 */
import { DioramaError } from '../core/errors';
import { type DepthModel, loadDepthModel } from './da3';
import { type ModelRuntime, createRuntime } from './runtime';
import { Sam3Tracker, sam3AutomaticMasks } from './sam3';
import { type WorkerRequest, type WorkerResponse, transferables } from './worker-protocol';

interface WorkerScope {
  postMessage(message: unknown, transfer?: Transferable[]): void;
  addEventListener(type: 'message', listener: (ev: MessageEvent<WorkerRequest>) => void): void;
}
const scope = globalThis as unknown as WorkerScope;

let runtime: ModelRuntime | undefined;
const handles = new Map<number, DepthModel | Sam3Tracker>();
const running = new Map<number, AbortController>();

function post(msg: WorkerResponse, transfer: ArrayBuffer[] = []): void {
  scope.postMessage(msg, transfer);
}

function needRuntime(): ModelRuntime {
  if (!runtime) throw new DioramaError('INVALID_OPTION', 'the model worker was not initialised (send init first)');
  return runtime;
}

async function handle(req: WorkerRequest, signal: AbortSignal): Promise<unknown> {
  switch (req.type) {
    case 'init': {
      if (runtime) await runtime.dispose();
      runtime = await createRuntime({ ...req.runtime, onWarning: (w) => post({ id: -1, warning: w }) });
      return { providers: runtime.providers, supportsFp16: runtime.supportsFp16, adapterInfo: runtime.adapterInfo };
    }
    case 'loadDepth': {
      const m = await loadDepthModel(needRuntime(), req.source, { ...req.options, signal });
      handles.set(req.handle, m);
      return { provider: m.session.provider, kind: m.kind, fixedInputSize: m.fixedInputSize };
    }
    case 'estimate': {
      const m = handles.get(req.handle);
      if (!m || !('estimate' in m)) throw new DioramaError('INVALID_OPTION', `no depth model with handle ${req.handle} in the worker`);
      return m.estimate(req.image, { ...req.options, signal });
    }
    case 'loadSam3': {
      const t = await Sam3Tracker.load(needRuntime(), req.sources, { ...req.options, signal });
      handles.set(req.handle, t);
      return { provider: t.decoder.provider };
    }
    case 'segment': {
      const t = handles.get(req.handle);
      if (!(t instanceof Sam3Tracker)) throw new DioramaError('INVALID_OPTION', `no SAM3 model with handle ${req.handle} in the worker`);
      return sam3AutomaticMasks(t, req.image, { ...req.options, signal, onProgress: (f) => post({ id: req.id, progress: f }) });
    }
    case 'dispose': {
      const h = handles.get(req.handle);
      handles.delete(req.handle);
      await h?.dispose();
      return true;
    }
    default:
      throw new DioramaError('INVALID_OPTION', `unknown worker request '${(req as { type: string }).type}'`);
  }
}

scope.addEventListener('message', (ev) => {
  const req = ev.data;
  if (req.type === 'abort') {
    running.get(req.id)?.abort(new DioramaError('ABORTED', 'aborted by the page'));
    return;
  }
  const ac = new AbortController();
  running.set(req.id, ac);
  handle(req, ac.signal).then(
    (result) => {
      running.delete(req.id);
      post({ id: req.id, ok: true, result }, transferables(result));
    },
    (e: unknown) => {
      running.delete(req.id);
      const code = e instanceof DioramaError ? e.code : 'INTERNAL';
      post({ id: req.id, ok: false, error: { code, message: e instanceof Error ? e.message : String(e) } });
    },
  );
});
