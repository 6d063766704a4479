/**
 * The loader options every engine adapter shares (Babylon's `pluginOptions.diorama`, three.js's
 * `DioramaLoader.setOptions`), their defaults, and the stage events the loaders report. Engine-specific
 * options (Babylon's alphaIndexBase, three.js's renderOrderBase, …) extend {@link DioramaSharedLoaderOptions}
 * in each adapter.
 */
import type { DecomposeOptions } from '../core/decompose';
import type { Intrinsics, MasksInput, RGBAImage, Stage } from '../core/types';
import { DEFAULT_MAX_PIXELS } from '../core/validate';
import type { DepthSource } from '../io/browser-decode';
import type { DioramaDepthMode } from './depth-slices';

/** What a depth estimator returns: depth (or inverse depth) of any size, resampled to the photo. */
export type DioramaDepthEstimate = {
  /** width·height values: metres, or inverse depth (any positive scale) when `isInverse`. */
  depth: Float32Array;
  /** Size of `depth`; default the photo's size. */
  width?: number;
  height?: number;
  isInverse?: boolean;
  /** Intrinsics in pixels of the photo, when the estimator knows them. */
  intrinsics?: Intrinsics;
  /** Instance masks at the photo's size (e.g. SAM3's), used unless the `masks` option is given. */
  masks?: MasksInput;
  /** 'metric' (metres) or 'relative' (up to scale). Default: 'relative' for inverse depth, else 'metric'. */
  depthKind?: 'metric' | 'relative';
};

/**
 * Hook for a monocular depth model (the `diorama/models` package plugs in here): receives the decoded
 * photo and the load's abort signal, resolves to its depth. Called only when no `depth` option is given.
 */
export type DioramaDepthEstimator = (image: RGBAImage, signal: AbortSignal) => Promise<DioramaDepthEstimate>;

/** Byte progress of one model file (diorama/models DownloadProgress). */
export type DioramaDownloadProgress = { file: string; loaded: number; total: number | undefined; cached: boolean };

/**
 * The models the loaders run when neither `depth` nor `estimateDepth` is given (a photo alone). They are loaded
 * from diorama/models on first use (a dynamic import: no model code is fetched by loads that bring their depth),
 * run once, and released.
 */
export type DioramaModelOptions = {
  /** Depth model: a registry id ('da3-small', 'da3-base', 'da2-small', 'da3-small-nhwc', …) or a URL. Default 'da3-small'. */
  depth?: string;
  /**
   * Also run SAM3 automatic masks (the tracker, about 1 GB in fp16): true for SAM2's defaults (32×32 point grid),
   * or the grid to use. Default false.
   */
  masks?: boolean | { pointsPerSide?: number; pointsPerBatch?: number };
  /** 'auto' (fp16 on WebGPU with shader-f16, else fp32), 'fp32', 'fp16' or 'q8'. Default 'auto'. */
  precision?: 'auto' | 'fp32' | 'fp16' | 'q8';
  /** Mirror of the public model hosts in their layout (`<modelBaseUrl>/<repo>/resolve/<revision>/<file>`). Default: the public hosts. */
  modelBaseUrl?: string;
  /** Where onnxruntime-web's .wasm/.mjs files are served. Default: onnxruntime-web's own guess. */
  wasmPaths?: string;
  /** Execution providers to try. Default ['webgpu', 'wasm']. */
  executionProviders?: ('webgpu' | 'wasm')[];
  /** Keep downloads in the browser's Cache API. Default true. */
  cache?: boolean;
  /** Byte progress per model file. Default none. */
  onDownloadProgress?: (progress: DioramaDownloadProgress) => void;
};

/** Stages reported by the loaders, in order. The decompose() stages sit between 'depth' and 'nodes'. */
export type DioramaLoadingStage = 'image' | 'depth' | Stage | 'nodes' | 'complete';

/** A stage progress event: `fraction` in [0, 1] within the stage. */
export type DioramaStageEvent = {
  stage: DioramaLoadingStage;
  fraction: number;
};

/**
 * Options of the Diorama loaders common to every engine; every field is optional and defaults to
 * {@link DIORAMA_SHARED_LOADER_DEFAULTS}. (A type alias, not an interface, so that it satisfies
 * Babylon's SceneLoaderPluginOptions index signature.)
 */
export type DioramaSharedLoaderOptions = {
  /**
   * The photo's depth: `{ data: Float32Array, width, height }`, a URL, a Blob or the bytes of a .pfm, .npy or
   * 16-bit greyscale .png in millimetres (the PNG is decoded at full 16-bit precision). 0 / NaN = unknown.
   * A depth map of another size than the photo is resampled bilinearly. Default: none, then
   * `estimateDepth` is used, and without it the default `models` run (INVALID_OPTION with `models: false`).
   */
  depth: DepthSource | undefined;
  /** The depth values are inverse depth (disparity-like). Default false. */
  depthIsInverse: boolean;
  /**
   * Multiplier applied to depth values (metric = scale·value), or to inverse ones (metric = scale/value)
   * when `depthIsInverse`. For a stereo disparity map with focal f and baseline B: scale = f·B. Default 1.
   */
  depthScale: number;
  /** Depth estimator used when no `depth` is given (see {@link DioramaDepthEstimator}). Default none. */
  estimateDepth: DioramaDepthEstimator | undefined;
  /**
   * Models run when neither `depth` nor `estimateDepth` is given (see {@link DioramaModelOptions}); false: fail with
   * INVALID_OPTION instead. Default {} (DA3-Small from Hugging Face, no masks). Offline or blocked downloads fail with
   * MODEL_FETCH, leaving the scene unchanged.
   */
  models: DioramaModelOptions | false;
  /** Camera intrinsics in pixels. Default: a `fieldOfView` guess (or the estimator's intrinsics). */
  intrinsics: Intrinsics | undefined;
  /** Horizontal field of view (degrees, longer side) assumed without intrinsics. Default 60. */
  fieldOfView: number;
  /** Segmentation masks of the photo. Default none (depth discontinuities segment the photo). */
  masks: MasksInput | undefined;
  /** Largest accepted photo, in pixels; checked from the file header before decoding. Default 8192·4096. */
  maxPixels: number;
  /** Further decompose() options (harmonize, layers, inpaint, mesh, segmentation). Default none. */
  decompose: Omit<DecomposeOptions, 'signal' | 'onProgress' | 'maxPixels' | 'fieldOfView' | 'stopAfter'> | undefined;
  /** Name of the root node. Default: the file name without its extension ('diorama' for bytes). */
  name: string | undefined;
  /** Receive scene lighting instead of the unlit MPI material. Default false. */
  lighting: boolean;
  /** 'layered' (default) or 'scene' depth handling; see src/scene/depth-slices.ts. */
  depthMode: DioramaDepthMode;
  /** Texture mipmaps. Default false. */
  mipmaps: boolean;
  /** An external abort signal, in addition to the loader's own cancellation. Default none. */
  signal: AbortSignal | undefined;
  /** Called with the stage events. Default none. */
  onStageChanged: ((event: DioramaStageEvent) => void) | undefined;
};

/** Defaults of {@link DioramaSharedLoaderOptions}. */
export const DIORAMA_SHARED_LOADER_DEFAULTS: Readonly<DioramaSharedLoaderOptions> = Object.freeze({
  depth: undefined,
  depthIsInverse: false,
  depthScale: 1,
  estimateDepth: undefined,
  models: {},
  intrinsics: undefined,
  fieldOfView: 60,
  masks: undefined,
  maxPixels: DEFAULT_MAX_PIXELS,
  decompose: undefined,
  name: undefined,
  lighting: false,
  depthMode: 'layered',
  mipmaps: false,
  signal: undefined,
  onStageChanged: undefined,
});

/** `defaults` with every defined field of `options` over it (undefined never overrides a default). */
export function mergeLoaderOptions<T extends object>(defaults: Readonly<T>, options: Partial<T> = {}): T {
  const merged = { ...defaults } as T;
  for (const [k, v] of Object.entries(options)) if (v !== undefined) (merged as Record<string, unknown>)[k] = v;
  return merged;
}
