/**
 * Photo → depth (Depth Anything 3, or V2 as a fallback) → masks (SAM3 automatic or concept mode, optional) →
 * the core `decompose()` (harmonize, layers, inpaint, mesh).
 *
 * ```ts
 * // One call: loads the default models (DA3-Small, SAM3 tracker), runs, releases them.
 * const scene = await decomposePhoto(photo, { models: { depth: 'da3-small', masks: {} }, exif: jpegBytes });
 * // Reuse across photos: load once.
 * const pipeline = await PhotoPipeline.load({ depth: { source: '/models/da3-metric.onnx', kind: 'da3-metric' } });
 * const a = await pipeline.run(photoA); const b = await pipeline.run(photoB); await pipeline.dispose();
 * ```
 * Models can be given loaded (a DepthModel, a Sam3Tracker, or the Web Worker proxies of worker-client.ts —
 * anything implementing DepthEstimator / MaskSegmenter), or as sources to load on a runtime. Progress reports
 * the model stages ('load', 'depth', 'segment') before the core's stages. The abort signal is honoured between
 * and inside stages. Depth from a model with unknown metric scale is passed on as relative depth (the layered
 * scene is then correct up to one global scale); DA2 disparity is passed as inverse depth.
 */
import { decompose, type DecomposeOptions } from '../core/decompose';
import { throwIfAborted } from '../core/errors';
import type { Decomposition, Intrinsics, MasksInput, RGBAImage, Stage } from '../core/types';
import type { ExifFocalTags, ExifOptions } from '../io/exif';
import { type DepthModel, type DepthModelOptions, type DepthResult, type EstimateOptions, loadDepthModel } from './da3';
import type { ModelCache } from './cache';
import type { DownloadProgress } from './fetch';
import type { ModelSource } from './registry';
import { type ModelRuntime, type Precision, type RuntimeOptions, createRuntime } from './runtime';
import {
  type Sam3AutoOptions,
  type Sam3ConceptOptions,
  Sam3Concepts,
  type Sam3ConceptSources,
  type Sam3MaskSet,
  Sam3Tracker,
  type Sam3TrackerSources,
  resolveSam3Masks,
  sam3AutomaticMasks,
} from './sam3';

/** Anything that turns a photo into depth (DepthModel, or the worker proxy). */
export interface DepthEstimator {
  estimate(image: RGBAImage, options?: EstimateOptions): Promise<DepthResult>;
  dispose?(): Promise<void>;
}

/** Anything that turns a photo into instance masks (SAM3 automatic or concepts, or the worker proxy). */
export interface MaskSegmenter {
  segment(image: RGBAImage, options?: { signal?: AbortSignal; onProgress?: (fraction: number) => void }): Promise<Sam3MaskSet>;
  dispose?(): Promise<void>;
}

export type PhotoStage = 'load' | 'depth' | 'segment' | Stage;

export interface PhotoModels {
  /** Runtime to load sources on: a ModelRuntime, or options to create one. Default: createRuntime(). */
  runtime?: ModelRuntime | RuntimeOptions;
  /** Depth model: loaded, a source, or a source with options. Default 'da3-small'. */
  depth?: DepthEstimator | ModelSource | ({ source: ModelSource } & DepthModelOptions);
  /**
   * Masks: a loaded segmenter; SAM3 tracker sources (`{}` = registry defaults) for automatic masks;
   * `{ concepts: [...], sources }` for concept mode; false or absent = no model masks (the core segments
   * the depth map's own discontinuities).
   */
  masks?: MaskSegmenter | (Sam3TrackerSources & { automatic?: Sam3AutoOptions }) | { concepts: readonly string[]; sources: Sam3ConceptSources; options?: Sam3ConceptOptions } | false;
  /** Download progress of model files (loaded/total bytes per file). */
  onDownloadProgress?: (p: DownloadProgress) => void;
  /** Mirror of the public model hosts, in their layout (LoadModelOptions.modelBaseUrl). Default: the public hosts. */
  modelBaseUrl?: string;
  /** Precision of the registry models ('auto': the runtime's choice). Default 'auto'. */
  precision?: Precision | 'auto';
  /** Model cache (false: none). Default: the platform's (Cache API / ~/.cache/diorama or $DIORAMA_CACHE_DIR). */
  cache?: ModelCache | false;
  /** Node disk-cache folder. Default $DIORAMA_CACHE_DIR, else ~/.cache/diorama. */
  cacheDir?: string;
}

export interface DecomposePhotoOptions extends Omit<DecomposeOptions, 'onProgress'> {
  /** Models (loaded or sources), or a loaded PhotoPipeline. */
  models?: PhotoModels | PhotoPipeline;
  /** (stage, fraction in [0, 1]) for the model stages and then the core's stages. */
  onProgress?: (stage: PhotoStage, fraction: number) => void;
  /** The photo's encoded bytes (or EXIF tags), for intrinsics from the EXIF focal length. */
  exif?: Uint8Array | ArrayBuffer | Blob | ExifFocalTags;
  exifOptions?: ExifOptions;
  /** Known intrinsics (photo pixels); win over model, EXIF and the FOV default. */
  intrinsics?: Intrinsics;
  /** Masks from the caller: the segmentation model is not run. */
  masks?: MasksInput;
}

/** The core decomposition plus what the models produced. */
export interface PhotoDecomposition extends Decomposition {
  depth: DepthResult;
  /** 'metric' (metres) or 'relative' (correct up to one global scale): from the depth model's kind. */
  depthKind: 'metric' | 'relative';
  /** The segmentation model's masks (before resolution into `labels`), when a model ran. */
  maskSet?: Sam3MaskSet;
  modelTimings: { loadMs: number; depthMs: number; segmentMs: number };
}

/** Wraps a SAM3 tracker as an automatic-mask segmenter. */
export function automaticSegmenter(tracker: Sam3Tracker, defaults: Sam3AutoOptions = {}): MaskSegmenter {
  return {
    segment: (image, o = {}) => sam3AutomaticMasks(tracker, image, { ...defaults, signal: o.signal, onProgress: o.onProgress }),
    dispose: () => tracker.dispose(),
  };
}

/** Wraps a SAM3 concept model and a list of phrases as a segmenter. */
export function conceptSegmenter(model: Sam3Concepts, concepts: readonly string[], defaults: Sam3ConceptOptions = {}): MaskSegmenter {
  return {
    async segment(image, o = {}) {
      const emb = await model.embed(image, { signal: o.signal });
      try {
        const r = await model.segment(emb, concepts, { ...defaults, signal: o.signal });
        o.onProgress?.(1);
        return r;
      } finally {
        emb.dispose();
      }
    },
    dispose: () => model.dispose(),
  };
}

function isEstimator(v: unknown): v is DepthEstimator {
  return !!v && typeof (v as DepthEstimator).estimate === 'function';
}
function isSegmenter(v: unknown): v is MaskSegmenter {
  return !!v && typeof (v as MaskSegmenter).segment === 'function';
}

/** Loaded models for photo → scene, reusable across photos. */
export class PhotoPipeline {
  private constructor(
    readonly depth: DepthEstimator,
    readonly segmenter: MaskSegmenter | undefined,
    /** What dispose() releases (models and runtime this pipeline created). */
    private readonly owned: { dispose(): Promise<void> }[],
    readonly loadMs: number,
  ) {}

  /** Loads what `models` names (sources are fetched and sessions created; loaded models are used as is). */
  static async load(models: PhotoModels = {}, options: { signal?: AbortSignal; onProgress?: (stage: PhotoStage, f: number) => void } = {}): Promise<PhotoPipeline> {
    const t0 = performance.now();
    const owned: { dispose(): Promise<void> }[] = [];
    const { signal } = options;
    options.onProgress?.('load', 0);
    try {
      const needsRuntime = !isEstimator(models.depth) || (models.masks && !isSegmenter(models.masks));
      let runtime: ModelRuntime | undefined;
      if (needsRuntime) {
        if (models.runtime && 'createSession' in models.runtime) runtime = models.runtime;
        else {
          runtime = await createRuntime((models.runtime as RuntimeOptions | undefined) ?? {});
          owned.push(runtime);
        }
      }
      const fetchOpts = {
        signal,
        onProgress: models.onDownloadProgress,
        ...(models.modelBaseUrl !== undefined ? { modelBaseUrl: models.modelBaseUrl } : {}),
        ...(models.precision !== undefined ? { precision: models.precision } : {}),
        ...(models.cache !== undefined ? { cache: models.cache } : {}),
        ...(models.cacheDir !== undefined ? { cacheDir: models.cacheDir } : {}),
      };
      let depth: DepthEstimator;
      if (isEstimator(models.depth)) depth = models.depth;
      else {
        const d = models.depth ?? 'da3-small';
        const loaded: DepthModel =
          typeof d === 'object' && 'source' in d ? await loadDepthModel(runtime!, d.source, { ...fetchOpts, ...d }) : await loadDepthModel(runtime!, d, fetchOpts);
        owned.push(loaded);
        depth = loaded;
      }
      throwIfAborted(signal);
      options.onProgress?.('load', 0.5);
      let segmenter: MaskSegmenter | undefined;
      const m = models.masks;
      if (isSegmenter(m)) segmenter = m;
      else if (m && 'concepts' in m) {
        const c = await Sam3Concepts.load(runtime!, m.sources, fetchOpts);
        segmenter = conceptSegmenter(c, m.concepts, m.options);
        owned.push(c);
      } else if (m) {
        const { automatic, ...sources } = m as Sam3TrackerSources & { automatic?: Sam3AutoOptions };
        const t = await Sam3Tracker.load(runtime!, sources, fetchOpts);
        segmenter = automaticSegmenter(t, automatic);
        owned.push(t);
      }
      options.onProgress?.('load', 1);
      // Models first, runtime last.
      owned.reverse();
      return new PhotoPipeline(depth, segmenter, owned, performance.now() - t0);
    } catch (e) {
      for (const o of owned.reverse()) await o.dispose().catch(() => undefined);
      throw e;
    }
  }

  /** Runs photo → depth → masks → decompose. */
  async run(photo: RGBAImage, options: Omit<DecomposePhotoOptions, 'models'> = {}): Promise<PhotoDecomposition> {
    const { signal, onProgress } = options;
    throwIfAborted(signal);
    onProgress?.('depth', 0);
    const t0 = performance.now();
    const depth = await this.depth.estimate(photo, { signal, intrinsics: options.intrinsics, exif: options.exif, exifOptions: options.exifOptions, fieldOfView: options.fieldOfView });
    const t1 = performance.now();
    onProgress?.('depth', 1);
    throwIfAborted(signal);

    let masks = options.masks;
    let maskSet: Sam3MaskSet | undefined;
    if (!masks && this.segmenter) {
      onProgress?.('segment', 0);
      maskSet = await this.segmenter.segment(photo, { signal, onProgress: (f) => onProgress?.('segment', f) });
      masks = resolveSam3Masks(maskSet).masks;
      onProgress?.('segment', 1);
    }
    const t2 = performance.now();
    throwIfAborted(signal);

    const { models: _m, exif: _e, exifOptions: _o, intrinsics: _i, masks: _k, onProgress: _p, ...core } = options as DecomposePhotoOptions;
    const result = await decompose(
      {
        image: photo,
        depth: depth.depth,
        depthIsInverse: depth.quantity === 'disparity',
        masks,
        // A field-of-view guess is left to the core (it applies the same default and reports intrinsicsKnown = false).
        intrinsics: depth.intrinsicsSource === 'fov-default' ? undefined : depth.intrinsics,
      },
      { ...core, onProgress },
    );
    return { ...result, depth, depthKind: depth.metric ? 'metric' : 'relative', maskSet, modelTimings: { loadMs: this.loadMs, depthMs: t1 - t0, segmentMs: t2 - t1 } };
  }

  /** Releases the models and runtime this pipeline loaded (not the ones passed in loaded). */
  async dispose(): Promise<void> {
    const all = this.owned.splice(0);
    for (const o of all) await o.dispose().catch(() => undefined);
  }
}

/**
 * Photo → layered scene in one call. Models given as sources are loaded for this call and released at the
 * end; pass a PhotoPipeline (or loaded models) to reuse them across photos.
 * @throws DioramaError: the model layer's codes (MODEL_FETCH, MODEL_LOAD, MODEL_CONTRACT, …), the core's, ABORTED.
 */
export async function decomposePhoto(photo: RGBAImage, options: DecomposePhotoOptions = {}): Promise<PhotoDecomposition> {
  const given = options.models;
  const pipeline = given instanceof PhotoPipeline ? given : await PhotoPipeline.load(given ?? {}, { signal: options.signal, onProgress: options.onProgress });
  try {
    return await pipeline.run(photo, options);
  } finally {
    if (pipeline !== given) await pipeline.dispose();
  }
}

/** What {@link loaderEstimator} resolves to: the shape of diorama/babylon's `DioramaDepthEstimate`. */
export interface PhotoEstimate {
  depth: Float32Array;
  isInverse: boolean;
  intrinsics?: Intrinsics;
  masks?: MasksInput;
  /** 'metric' when the depth is in metres, 'relative' when it is known only up to scale (and shift, for disparity). */
  depthKind: 'metric' | 'relative';
  /** Where the intrinsics came from ('fov-default' = a field-of-view guess: not passed on). */
  intrinsicsSource: string;
}

/**
 * Plugs a loaded pipeline into the Babylon loader (`pluginOptions.diorama.estimateDepth`), so that
 * `ImportMeshAsync('photo.jpg', scene, { pluginOptions: { diorama: { estimateDepth: loaderEstimator(p) } } })`
 * runs depth and, when the pipeline has a segmenter, masks. Intrinsics are passed on only when they are not
 * the field-of-view guess (the loader then applies its own `fieldOfView`).
 */
export function loaderEstimator(
  pipeline: PhotoPipeline,
  options: { exif?: Uint8Array | ArrayBuffer | Blob | ExifFocalTags; exifOptions?: ExifOptions } = {},
): (image: RGBAImage, signal: AbortSignal) => Promise<PhotoEstimate> {
  return async (image, signal) => {
    const d = await pipeline.depth.estimate(image, { signal, exif: options.exif, exifOptions: options.exifOptions });
    throwIfAborted(signal);
    let masks: MasksInput | undefined;
    if (pipeline.segmenter) masks = resolveSam3Masks(await pipeline.segmenter.segment(image, { signal })).masks;
    return {
      depth: d.depth,
      isInverse: d.quantity === 'disparity',
      ...(d.intrinsicsSource === 'fov-default' ? {} : { intrinsics: d.intrinsics }),
      ...(masks ? { masks } : {}),
      depthKind: d.metric ? 'metric' : 'relative',
      intrinsicsSource: d.intrinsicsSource,
    };
  };
}
