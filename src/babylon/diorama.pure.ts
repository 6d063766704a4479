/**
 * The Diorama scene-loader plugin: a photo (PNG, JPEG, WebP, AVIF) plus its depth becomes a layered 3D
 * scene through Babylon's own SceneLoader entry points. Importing this file registers nothing; call
 * {@link RegisterDioramaLoader} (or import `diorama/babylon`, which does).
 *
 * ```ts
 * import { ImportMeshAsync } from '@babylonjs/core/Loading/sceneLoader.js';
 * import 'diorama/babylon';
 *
 * const result = await ImportMeshAsync('photo.jpg', scene, {
 *   pluginOptions: { diorama: { depth: 'photo-depth.png', onNodesCreated: (nodes) => (scene.activeCamera = nodes.createPhotoCamera()) } },
 * });
 * // result.transformNodes[0] is the root, result.meshes the layers (back to front);
 * // getDioramaNodes(result.meshes[0]) gives the same DioramaNodes (camera helper, orbit range, dispose).
 * ```
 *
 * Sources: a URL, a File (a Blob becomes one with `new File([blob], 'photo.png')`), or an ArrayBufferView
 * of the encoded image with `pluginExtension: '.png'` (Babylon requires the extension for bytes).
 * Progress: bytes through the loader's `onProgress`; stages through {@link DioramaFileLoader.onStageChangedObservable}
 * (get the plugin from `SceneLoader.OnPluginActivatedObservable`) or `pluginOptions.diorama.onStageChanged`.
 * Cancelling: `plugin.dispose()` aborts the fetch, the decoding and the decomposition; the load rejects and the
 * scene is left as it was. Errors: Babylon wraps plugin errors in a RuntimeError whose `innerError` is a
 * DioramaError with a stable `code` (DECODE_FAILED, UNSUPPORTED_FORMAT, IMAGE_TOO_LARGE, INVALID_OPTION,
 * SIZE_MISMATCH, NO_VALID_DEPTH, ABORTED, …).
 */
import { Observable } from '@babylonjs/core/Misc/observable.js';
import { AssetContainer } from '@babylonjs/core/assetContainer.js';
import {
  RegisterSceneLoaderPlugin,
  type ISceneLoaderAsyncResult,
  type ISceneLoaderPluginAsync,
  type ISceneLoaderPluginFactory,
  type ISceneLoaderProgressEvent,
  type SceneLoaderPluginOptions,
} from '@babylonjs/core/Loading/sceneLoader.js';
import type { Scene } from '@babylonjs/core/scene.js';
import type { IFileRequest } from '@babylonjs/core/Misc/fileRequest.js';
import type { WebRequest } from '@babylonjs/core/Misc/webRequest.js';
import type { LoadFileError } from '@babylonjs/core/Misc/fileTools.js';
import type { Nullable } from '@babylonjs/core/types.js';
import { DioramaError, throwIfAborted } from '../core/errors';
import { decomposePhoto, explainAbort, nameFromFile } from '../scene/load';
import { mergeLoaderOptions } from '../scene/options';
import { DioramaFileLoaderMetadata } from './diorama.metadata';
import { DIORAMA_LOADER_DEFAULTS, type DioramaLoaderOptions, type DioramaLoadingStage, type DioramaStageEvent } from './diorama.options';
import { createDioramaNodes, dioramaLayerName, type DioramaNodes } from './nodes';
export * from './diorama.types';

/**
 * Scene-loader plugin (and its own factory, like Babylon's glTF loader): each SceneLoader operation gets a
 * fresh instance carrying that operation's `pluginOptions.diorama`.
 */
export class DioramaFileLoader implements ISceneLoaderPluginAsync, ISceneLoaderPluginFactory {
  /** Plugin name: 'diorama' (the key of `pluginOptions`). */
  public readonly name = DioramaFileLoaderMetadata.name;
  /** Image extensions and mime types this plugin claims. */
  public readonly extensions = DioramaFileLoaderMetadata.extensions;
  /** Options of this operation, defaults merged in. */
  public readonly options: Readonly<DioramaLoaderOptions>;
  /** Stage progress (image decoding, depth, each decompose() stage, node building, completion). */
  public readonly onStageChangedObservable = new Observable<DioramaStageEvent>();
  /** Fires once when the plugin is disposed (Babylon's SceneLoader cancels a pending fetch on it). */
  public readonly onDisposeObservable = new Observable<void>();
  /** Nodes built by the last successful load of this instance, or null. */
  public nodes: DioramaNodes | null = null;

  private _abort = new AbortController();
  private _requests: IFileRequest[] = [];
  private _disposed = false;
  private _stage: DioramaStageEvent | null = null;

  /**
   * @param options loader options (every field optional; defaults in DIORAMA_LOADER_DEFAULTS)
   */
  constructor(options: Partial<DioramaLoaderOptions> = {}) {
    const merged = mergeLoaderOptions(DIORAMA_LOADER_DEFAULTS, options);
    this.options = merged;
    const external = merged.signal;
    if (external) {
      if (external.aborted) this._abort.abort(external.reason);
      else external.addEventListener('abort', () => this._abort.abort(external.reason), { once: true });
    }
    if (merged.onStageChanged) this.onStageChangedObservable.add(merged.onStageChanged);
  }

  /** The last stage event, or null before the first. */
  public get stage(): DioramaStageEvent | null {
    return this._stage;
  }

  /** True once dispose() ran. */
  public get isDisposed(): boolean {
    return this._disposed;
  }

  /**
   * Creates the plugin of one SceneLoader operation.
   * @param options the operation's plugin options; `options.diorama` are this plugin's
   * @returns a new DioramaFileLoader
   */
  public createPlugin(options: SceneLoaderPluginOptions): DioramaFileLoader {
    return new DioramaFileLoader((options[DioramaFileLoaderMetadata.name] ?? {}) as Partial<DioramaLoaderOptions>);
  }

  /**
   * Reads the photo's bytes: URLs and Files through the scene's file loader (byte progress through
   * `onProgress`), ArrayBufferViews as they are.
   * @returns the file request (null for in-memory bytes)
   * @internal
   */
  public loadFile(
    scene: Scene,
    fileOrUrl: File | string | ArrayBufferView,
    _rootUrl: string,
    onSuccess: (data: unknown, responseURL?: string) => void,
    onProgress?: (ev: ISceneLoaderProgressEvent) => void,
    _useArrayBuffer?: boolean,
    onError?: (request?: WebRequest, exception?: LoadFileError) => void,
  ): Nullable<IFileRequest> {
    if (ArrayBuffer.isView(fileOrUrl)) {
      onSuccess(fileOrUrl);
      return null;
    }
    const request = scene._loadFile(
      fileOrUrl,
      (data, responseURL) => onSuccess(data, responseURL),
      onProgress ? (ev: ProgressEvent) => onProgress({ lengthComputable: ev.lengthComputable, loaded: ev.loaded, total: ev.total }) : undefined,
      true,
      true,
      onError,
    );
    this._requests.push(request);
    return request;
  }

  /**
   * Builds the layers into the scene. `meshesNames` filters layers by mesh name (`<root>.layer_NN`).
   * @returns the layer meshes (back to front) and the root TransformNode
   * @internal
   */
  public async importMeshAsync(
    meshesNames: string | readonly string[] | null | undefined,
    scene: Scene,
    data: unknown,
    _rootUrl: string,
    _onProgress?: (event: ISceneLoaderProgressEvent) => void,
    fileName?: string,
  ): Promise<ISceneLoaderAsyncResult> {
    const names = meshesNames ? (Array.isArray(meshesNames) ? (meshesNames as readonly string[]) : [meshesNames as string]).filter(Boolean) : [];
    const nodes = await this._loadAsync(scene, data, fileName, null, names);
    return {
      meshes: nodes.layers.slice(),
      particleSystems: [],
      skeletons: [],
      animationGroups: [],
      transformNodes: [nodes.root],
      geometries: [],
      lights: [],
      spriteManagers: [],
    };
  }

  /**
   * Appends the layers to the scene.
   * @internal
   */
  public async loadAsync(scene: Scene, data: unknown, _rootUrl: string, _onProgress?: (event: ISceneLoaderProgressEvent) => void, fileName?: string): Promise<void> {
    await this._loadAsync(scene, data, fileName, null, []);
  }

  /**
   * Builds the layers into a new AssetContainer (nothing is added to the scene).
   * @returns the container
   * @internal
   */
  public async loadAssetContainerAsync(scene: Scene, data: unknown, _rootUrl: string, _onProgress?: (event: ISceneLoaderProgressEvent) => void, fileName?: string): Promise<AssetContainer> {
    const container = new AssetContainer(scene);
    try {
      await this._loadAsync(scene, data, fileName, container, []);
    } catch (e) {
      container.dispose();
      throw e;
    }
    return container;
  }

  /**
   * Cancels the operation: aborts a pending fetch, the decoding and the decomposition (the load rejects
   * with DioramaError ABORTED), then fires onDisposeObservable. Nodes already built are not disposed
   * (they belong to the scene or container now; use their own dispose()).
   */
  public dispose(): void {
    if (this._disposed) return;
    this._disposed = true;
    this._abort.abort(new DioramaError('ABORTED', 'the Diorama loader was disposed'));
    for (const r of this._requests) r.abort();
    this._requests.length = 0;
    this.onDisposeObservable.notifyObservers();
    this.onDisposeObservable.clear();
    this.onStageChangedObservable.clear();
  }

  private _notify(stage: DioramaLoadingStage, fraction: number): void {
    const ev = { stage, fraction };
    this._stage = ev;
    this.onStageChangedObservable.notifyObservers(ev);
  }

  private async _loadAsync(scene: Scene, data: unknown, fileName: string | undefined, container: AssetContainer | null, meshNames: readonly string[]): Promise<DioramaNodes> {
    try {
      return await this._loadCoreAsync(scene, data, fileName, container, meshNames);
    } catch (e) {
      throw explainAbort(e, this._abort.signal);
    }
  }

  private async _loadCoreAsync(scene: Scene, data: unknown, fileName: string | undefined, container: AssetContainer | null, meshNames: readonly string[]): Promise<DioramaNodes> {
    const opt = this.options;
    const signal = this._abort.signal;
    throwIfAborted(signal);
    const rootName = opt.name ?? nameFromFile(fileName);
    const engine = scene.getEngine() as { isWebGPU?: boolean; _device?: GPUDevice };
    const gpuDevice = opt.useEngineGpu && engine.isWebGPU && engine._device ? engine._device : undefined;
    const { decomposition: result, depthKind, masksFrom } = await decomposePhoto(data, fileName, opt, { signal, notify: (stage, fraction) => this._notify(stage, fraction), ...(gpuDevice ? { gpuDevice } : {}) });
    if (scene.isDisposed) throw new DioramaError('ABORTED', 'the scene was disposed while the photo was loading');

    this._notify('nodes', 0);
    const nodes = createDioramaNodes(scene, result, {
      name: rootName,
      container: container ?? undefined,
      lighting: opt.lighting,
      depthMode: opt.depthMode,
      alphaIndexBase: opt.alphaIndexBase,
      mipmaps: opt.mipmaps,
      layerFilter: meshNames.length ? (l) => meshNames.includes(dioramaLayerName(rootName, l.index)) : undefined,
    });
    // What the scene's geometry can be trusted for: metric or relative depth, real or guessed intrinsics (shared
    // with the glTF extras object of the root).
    const rootMeta = (nodes.root.metadata as { diorama?: Record<string, unknown> } | null)?.diorama;
    if (rootMeta) Object.assign(rootMeta, { intrinsicsKnown: result.intrinsicsKnown, depthKind, masksFrom, maskCount: result.stats.maskCount });
    this.nodes = nodes;
    this._notify('nodes', 1);
    opt.onNodesCreated?.(nodes);
    this._notify('complete', 1);
    return nodes;
  }
}

let registered = false;

/**
 * Registers the Diorama loader with Babylon's SceneLoader (image extensions .png, .jpg, .jpeg, .webp, .avif).
 * Safe to call multiple times; only the first call has an effect.
 */
export function RegisterDioramaLoader(): void {
  if (registered) return;
  registered = true;
  RegisterSceneLoaderPlugin(new DioramaFileLoader());
}
