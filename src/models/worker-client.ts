/**
 * Page side of the model worker (worker.ts): proxies that implement the same interfaces as the in-thread
 * models (DepthEstimator, MaskSegmenter), so `decomposePhoto` / `PhotoPipeline` accept them unchanged and the
 * page stays responsive while the models run.
 *
 * ```ts
 * const client = await ModelWorkerClient.create(new Worker(workerUrl, { type: 'module' }), { wasmPaths: '/ort/' });
 * const depth = await client.loadDepthModel('da3-small');
 * const masks = await client.loadSam3Tracker();
 * const scene = await decomposePhoto(photo, { models: { depth, masks } });
 * client.terminate();
 * ```
 * The photo is copied once and the copy's buffer transferred to the worker (the caller keeps its photo);
 * results come back by transfer. An abort signal sends an abort message; the worker stops at its next check.
 */
import { DioramaError, type DioramaErrorCode, throwIfAborted } from '../core/errors';
import type { RGBAImage } from '../core/types';
import type { DepthResult, EstimateOptions } from './da3';
import type { DepthEstimator, MaskSegmenter } from './decompose-photo';
import type { DepthModelKind, ModelSource } from './registry';
import type { ExecutionProvider } from './runtime';
import type { Sam3AutoOptions, Sam3MaskSet, Sam3TrackerSources } from './sam3';
import type { WorkerDepthOptions, WorkerRequest, WorkerResponse, WorkerRuntimeOptions } from './worker-protocol';

type Pending = { resolve(v: unknown): void; reject(e: unknown): void; onProgress?: (f: number) => void };

/** Distributes Omit over a union (TypeScript's Omit collapses unions). */
type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

export interface WorkerRuntimeInfo {
  providers: ExecutionProvider[];
  supportsFp16: boolean;
  adapterInfo?: string;
}

export class ModelWorkerClient {
  private _next = 1;
  private _handles = 1;
  private readonly _pending = new Map<number, Pending>();
  /** What the worker's runtime chose. */
  info!: WorkerRuntimeInfo;

  private constructor(
    readonly worker: Worker,
    private readonly onWarning: (m: string) => void,
  ) {
    worker.addEventListener('message', (ev: MessageEvent<WorkerResponse>) => this._onMessage(ev.data));
    worker.addEventListener('error', (ev: ErrorEvent) => {
      const err = new DioramaError('INTERNAL', `model worker failed: ${ev.message}`);
      for (const p of this._pending.values()) p.reject(err);
      this._pending.clear();
    });
  }

  /**
   * Wraps a started module worker running worker.ts (or a URL to start one) and initialises its runtime.
   * @param runtime runtime options for the worker (wasmPaths must be absolute or relative to the worker script)
   */
  static async create(worker: Worker | URL | string, runtime: WorkerRuntimeOptions = {}, options: { onWarning?: (m: string) => void } = {}): Promise<ModelWorkerClient> {
    const w = typeof worker === 'string' || worker instanceof URL ? new Worker(worker, { type: 'module' }) : worker;
    const c = new ModelWorkerClient(w, options.onWarning ?? ((m) => console.warn(`[diorama worker] ${m}`)));
    c.info = (await c._call({ type: 'init', runtime })) as WorkerRuntimeInfo;
    return c;
  }

  private _onMessage(msg: WorkerResponse): void {
    if ('warning' in msg) {
      this.onWarning(msg.warning);
      return;
    }
    const p = this._pending.get(msg.id);
    if (!p) return;
    if ('progress' in msg) {
      p.onProgress?.(msg.progress);
      return;
    }
    this._pending.delete(msg.id);
    if (msg.ok) p.resolve(msg.result);
    else p.reject(new DioramaError(msg.error.code as DioramaErrorCode, msg.error.message));
  }

  /** @internal */
  _call(req: DistributiveOmit<WorkerRequest, 'id'>, transfer: Transferable[] = [], signal?: AbortSignal, onProgress?: (f: number) => void): Promise<unknown> {
    throwIfAborted(signal);
    const id = this._next++;
    return new Promise((resolve, reject) => {
      // Abort: tell the worker to stop, and settle now (a late answer is ignored).
      const onAbort = () => {
        this.worker.postMessage({ id, type: 'abort' } satisfies WorkerRequest);
        const p = this._pending.get(id);
        this._pending.delete(id);
        p?.reject(new DioramaError('ABORTED', 'operation aborted', { cause: signal?.reason }));
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      const done = () => signal?.removeEventListener('abort', onAbort);
      this._pending.set(id, {
        resolve: (v) => {
          done();
          resolve(v);
        },
        reject: (e) => {
          done();
          reject(e);
        },
        onProgress,
      });
      this.worker.postMessage({ ...req, id } as WorkerRequest, transfer);
    });
  }

  /** Loads a depth model inside the worker. Sources must be cloneable (ids, URLs, bytes). */
  async loadDepthModel(source: ModelSource, options: WorkerDepthOptions = {}): Promise<WorkerDepthModel> {
    const handle = this._handles++;
    const info = (await this._call({ type: 'loadDepth', handle, source, options })) as { provider: ExecutionProvider; kind: DepthModelKind; fixedInputSize?: [number, number] };
    return new WorkerDepthModel(this, handle, info.provider, info.kind);
  }

  /** Loads the SAM3 tracker inside the worker (automatic masks). */
  async loadSam3Tracker(sources: Sam3TrackerSources = {}, options: { cache?: false; headers?: Record<string, string>; automatic?: Omit<Sam3AutoOptions, 'signal' | 'onProgress'> } = {}): Promise<WorkerSegmenter> {
    const handle = this._handles++;
    const { automatic, ...load } = options;
    const info = (await this._call({ type: 'loadSam3', handle, sources, options: load })) as { provider: ExecutionProvider };
    return new WorkerSegmenter(this, handle, info.provider, automatic ?? {});
  }

  /** Stops the worker; pending calls reject. */
  terminate(): void {
    this.worker.terminate();
    const err = new DioramaError('ABORTED', 'model worker terminated');
    for (const p of this._pending.values()) p.reject(err);
    this._pending.clear();
  }
}

/** Copies an image into a fresh buffer that can be transferred without detaching the caller's. */
function transferableCopy(image: RGBAImage): { image: RGBAImage; transfer: ArrayBuffer[] } {
  const data = new Uint8ClampedArray(image.data);
  return { image: { width: image.width, height: image.height, data }, transfer: [data.buffer] };
}

/** A depth model living in the worker. */
export class WorkerDepthModel implements DepthEstimator {
  constructor(
    private readonly client: ModelWorkerClient,
    readonly handle: number,
    readonly provider: ExecutionProvider,
    readonly kind: DepthModelKind,
  ) {}

  async estimate(image: RGBAImage, options: EstimateOptions = {}): Promise<DepthResult> {
    const { signal, exif, ...rest } = options;
    const { image: copy, transfer } = transferableCopy(image);
    // Blob and tag objects clone; bytes are copied by structured clone (the caller keeps them).
    return (await this.client._call({ type: 'estimate', handle: this.handle, image: copy, options: { ...rest, exif } }, transfer, signal)) as DepthResult;
  }

  async dispose(): Promise<void> {
    await this.client._call({ type: 'dispose', handle: this.handle });
  }
}

/** A SAM3 tracker living in the worker, producing automatic masks. */
export class WorkerSegmenter implements MaskSegmenter {
  constructor(
    private readonly client: ModelWorkerClient,
    readonly handle: number,
    readonly provider: ExecutionProvider,
    private readonly defaults: Omit<Sam3AutoOptions, 'signal' | 'onProgress'>,
  ) {}

  async segment(image: RGBAImage, options: { signal?: AbortSignal; onProgress?: (f: number) => void } = {}): Promise<Sam3MaskSet> {
    const { image: copy, transfer } = transferableCopy(image);
    return (await this.client._call({ type: 'segment', handle: this.handle, image: copy, options: this.defaults }, transfer, options.signal, options.onProgress)) as Sam3MaskSet;
  }

  async dispose(): Promise<void> {
    await this.client._call({ type: 'dispose', handle: this.handle });
  }
}
