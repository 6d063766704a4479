/**
 * `DioramaLoader`: a three.js loader (in the conventions of the addons loaders, e.g. GLTFLoader and
 * PLYLoader) that turns a photo (PNG, JPEG, WebP, AVIF) plus its depth into a layered 3D scene.
 *
 * ```ts
 * const loader = new DioramaLoader().setOptions({ depth: 'photo_depth.pfm' });
 * const diorama = await loader.loadAsync('photo.jpg');
 * scene.add(diorama.scene);          // Group, one Mesh per layer, back to front
 * renderer.render(scene, diorama.camera);
 * ```
 *
 * - `load(url, onLoad, onProgress, onError)` fetches the photo through a `FileLoader` (responseType
 *   'arraybuffer', the loader's path, request header and credentials, the manager's URL modifier);
 *   `loadAsync(url, onProgress)` is the promise form (three.js's Loader); `parse(data, onLoad, onError)` /
 *   `parseAsync(data)` take the photo's bytes.
 * - The LoadingManager sees `itemStart(url)` before the fetch and `itemEnd(url)` after the diorama is built
 *   (so `manager.onLoad` waits for the decomposition), `itemError(url)` on failure, as GLTFLoader does.
 * - Options mirror the Babylon plugin's `pluginOptions.diorama` one to one: the shared definition of
 *   src/scene/options.ts, plus `renderOrderBase` (Babylon's alphaIndexBase) and `gpuDevice` (Babylon's
 *   useEngineGpu: a WebGPU device to run the harmonization on). A relative `depth` URL resolves against the
 *   loader's path.
 * - Errors reach `onError` (and reject `loadAsync` / `parseAsync`) as a DioramaError with a stable `code`
 *   (DECODE_FAILED for an HTTP or network failure and undecodable bytes, UNSUPPORTED_FORMAT, IMAGE_TOO_LARGE,
 *   INVALID_OPTION, SIZE_MISMATCH, NO_VALID_DEPTH, ABORTED, …), with the underlying error as `cause`.
 * - `abort()` cancels every load in flight (requests, decoding, decomposition): they fail with ABORTED.
 *
 * This loader builds WebGLRenderer materials; `diorama/three/webgpu` exports the same loader for
 * WebGPURenderer (node materials).
 */
import { FileLoader, Loader, LoaderUtils, type LoadingManager } from 'three';
import { DioramaError } from '../core/errors';
import type { GpuDevice } from '../gpu/webgpu';
import { decomposePhotoBytes, explainAbort, nameFromFile } from '../scene/load';
import { DIORAMA_SHARED_LOADER_DEFAULTS, mergeLoaderOptions, type DioramaLoadingStage, type DioramaSharedLoaderOptions, type DioramaStageEvent } from '../scene/options';
import { createDiorama, type Diorama } from './diorama';
import { webglMaterials, type DioramaMaterialFactory } from './materials';

/**
 * Options of {@link DioramaLoader}: the shared loader options (documented in DioramaSharedLoaderOptions) plus
 * the three.js-specific ones. Every field is optional; defaults in {@link DIORAMA_THREE_LOADER_DEFAULTS}.
 */
export type DioramaThreeLoaderOptions = DioramaSharedLoaderOptions & {
  /** renderOrder of the farthest layer (layer k gets renderOrderBase + k). Default 0. */
  renderOrderBase: number;
  /** A WebGPU device to solve the harmonization on (e.g. a WebGPURenderer's `backend.device`). Default none (CPU). */
  gpuDevice: GpuDevice | undefined;
};

/** Defaults of {@link DioramaThreeLoaderOptions}. */
export const DIORAMA_THREE_LOADER_DEFAULTS: Readonly<DioramaThreeLoaderOptions> = Object.freeze({
  ...DIORAMA_SHARED_LOADER_DEFAULTS,
  renderOrderBase: 0,
  gpuDevice: undefined,
});

/** Wraps whatever a load failed with into a coded DioramaError (a DioramaError passes unchanged). */
function toDioramaError(e: unknown, url: string, signal: AbortSignal): DioramaError {
  const explained = explainAbort(e, signal);
  if (explained instanceof DioramaError) return explained;
  if (signal.aborted || (e instanceof Error && e.name === 'AbortError')) return new DioramaError('ABORTED', `loading '${url}' was cancelled`, { cause: e });
  const msg = e instanceof Error ? e.message : String(e);
  return new DioramaError('DECODE_FAILED', `'${url}': request failed (${msg})`, { cause: e });
}

/** The three.js loader of Diorama scenes (see the module comment). */
export class DioramaLoader extends Loader<Diorama> {
  /** Current options (defaults merged in); change them with {@link DioramaLoader.setOptions}. */
  public options: Readonly<DioramaThreeLoaderOptions>;
  /** The last stage event of the latest load, or null. */
  public stage: DioramaStageEvent | null = null;

  protected readonly materials: DioramaMaterialFactory;
  private _abort = new AbortController();
  private _fileLoaders = new Set<FileLoader>();

  /**
   * @param manager the LoadingManager (default three.js's DefaultLoadingManager)
   * @param options loader options (every field optional)
   * @param materials the renderer's materials (WebGL ShaderMaterials here; the WebGPU entry passes node materials)
   */
  constructor(manager?: LoadingManager, options: Partial<DioramaThreeLoaderOptions> = {}, materials: DioramaMaterialFactory = webglMaterials) {
    super(manager);
    this.options = mergeLoaderOptions(DIORAMA_THREE_LOADER_DEFAULTS, options);
    this.materials = materials;
  }

  /**
   * Merges options into the current ones (undefined leaves a field as it is).
   * @returns this loader
   */
  public setOptions(options: Partial<DioramaThreeLoaderOptions>): this {
    this.options = mergeLoaderOptions(this.options, options);
    return this;
  }

  /**
   * Loads a photo from a URL and builds its diorama.
   * @param url the photo (resolved against the loader's path and the manager's URL modifier)
   * @param onLoad receives the {@link Diorama}
   * @param onProgress byte progress of the photo's request
   * @param onError receives a DioramaError (default: console.error)
   */
  public override load(url: string, onLoad: (diorama: Diorama) => void, onProgress?: (event: ProgressEvent) => void, onError?: (err: unknown) => void): void {
    const signal = this._abort.signal;
    // Tracked until the diorama is built, so that manager.onLoad does not fire at the end of the fetch.
    this.manager.itemStart(url);
    const fail = (e: unknown): void => {
      const err = toDioramaError(e, url, signal);
      if (onError) onError(err);
      else console.error(err);
      this.manager.itemError(url);
      this.manager.itemEnd(url);
    };
    const loader = new FileLoader(this.manager);
    loader.setPath(this.path);
    loader.setResponseType('arraybuffer');
    loader.setRequestHeader(this.requestHeader);
    loader.setWithCredentials(this.withCredentials);
    // Request priority and cache mode exist on recent three.js loaders only (the peer range starts at r160).
    const recent = loader as FileLoader & { setPriority?: (p: unknown) => unknown; setCache?: (c: unknown) => unknown };
    const self = this as unknown as { priority?: unknown; cache?: unknown };
    if (typeof recent.setPriority === 'function' && self.priority !== undefined) recent.setPriority(self.priority);
    if (typeof recent.setCache === 'function' && self.cache !== undefined) recent.setCache(self.cache);
    this._fileLoaders.add(loader);
    loader.load(
      url,
      (data) => {
        this._fileLoaders.delete(loader);
        this.parseAsync(data as ArrayBuffer, url).then((diorama) => {
          try {
            onLoad(diorama);
          } finally {
            this.manager.itemEnd(url);
          }
        }, fail);
      },
      onProgress,
      (e) => {
        this._fileLoaders.delete(loader);
        fail(e);
      },
    );
  }

  /**
   * Builds a diorama from the photo's encoded bytes.
   * @param data the photo's bytes
   * @param onLoad receives the {@link Diorama}
   * @param onError receives a DioramaError (default: console.error)
   * @param fileName names the group (its base name) and error messages; default 'diorama'
   */
  public parse(data: ArrayBuffer | ArrayBufferView, onLoad: (diorama: Diorama) => void, onError?: (err: unknown) => void, fileName?: string): void {
    this.parseAsync(data, fileName).then(onLoad, (e: unknown) => {
      if (onError) onError(e);
      else console.error(e);
    });
  }

  /**
   * Promise form of {@link DioramaLoader.parse}; rejects with a DioramaError.
   * @param data the photo's bytes
   * @param fileName names the group and error messages
   */
  public async parseAsync(data: ArrayBuffer | ArrayBufferView, fileName?: string): Promise<Diorama> {
    const opt = this.options;
    const own = this._abort.signal;
    const signal = opt.signal ? AbortSignal.any([own, opt.signal]) : own;
    try {
      const depth = typeof opt.depth === 'string' && this.path ? this.manager.resolveURL(LoaderUtils.resolveURL(opt.depth, this.path)) : typeof opt.depth === 'string' ? this.manager.resolveURL(opt.depth) : opt.depth;
      const notify = (stage: DioramaLoadingStage, fraction: number): void => {
        const ev = { stage, fraction };
        this.stage = ev;
        opt.onStageChanged?.(ev);
      };
      const result = await decomposePhotoBytes(data, fileName, { ...opt, depth }, { signal, notify, ...(opt.gpuDevice ? { gpuDevice: opt.gpuDevice } : {}) });
      notify('nodes', 0);
      const diorama = createDiorama(result, {
        name: opt.name ?? nameFromFile(fileName),
        lighting: opt.lighting,
        depthMode: opt.depthMode,
        mipmaps: opt.mipmaps,
        renderOrderBase: opt.renderOrderBase,
        materials: this.materials,
      });
      notify('nodes', 1);
      notify('complete', 1);
      return diorama;
    } catch (e) {
      throw toDioramaError(e, fileName ?? 'image bytes', signal);
    }
  }

  /**
   * Cancels every load in flight (requests, decoding, decomposition); they fail with DioramaError ABORTED.
   * Later loads are not affected.
   * @returns this loader
   */
  public override abort(): this {
    this._abort.abort(new DioramaError('ABORTED', 'DioramaLoader.abort() was called'));
    this._abort = new AbortController();
    for (const l of this._fileLoaders) l.abort();
    this._fileLoaders.clear();
    return this;
  }
}
