/**
 * The engine-neutral part of every Diorama loader: photo bytes → decoded image → depth (option or
 * estimator) → decompose(), with stage events and cancellation. The adapters only fetch the bytes and turn
 * the decomposition into engine objects.
 */
import { decompose } from '../core/decompose';
import { DioramaError, throwIfAborted } from '../core/errors';
import type { DecomposeInput, Decomposition, Intrinsics, MasksInput, RGBAImage } from '../core/types';
import type { GpuDevice } from '../gpu/webgpu';
import { decodeImageInBrowser, loadDepth, resampleDepth } from '../io/browser-decode';
import type { DioramaLoadingStage, DioramaModelOptions, DioramaSharedLoaderOptions } from './options';

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Root-node name from a file name or URL: the base name without extension; 'diorama' for anonymous bytes. */
export function nameFromFile(fileName: string | undefined): string {
  const base = (fileName ?? '').split(/[\\/]/).pop()!.split('?')[0]!;
  const stem = base.replace(/\.[^.]*$/, '');
  return stem && !GUID.test(stem) ? stem : 'diorama';
}

/** How a file name appears in error messages: quoted, or 'image bytes' when anonymous. */
export function fileLabel(fileName: string | undefined): string {
  return fileName && !GUID.test(fileName) ? `'${fileName}'` : 'image bytes';
}

/** The photo's bytes from an ArrayBuffer or ArrayBufferView; DECODE_FAILED otherwise. */
export function toBytes(data: unknown): Uint8Array {
  if (data instanceof Uint8Array) return data;
  if (data instanceof ArrayBuffer) return new Uint8Array(data);
  if (ArrayBuffer.isView(data)) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  throw new DioramaError('DECODE_FAILED', `expected the photo's bytes (ArrayBuffer or ArrayBufferView); the loader received ${data === null ? 'null' : typeof data}`);
}

/** Context of one load: its abort signal, stage reporting and an optional GPU device to share. */
export interface PhotoLoadContext {
  signal: AbortSignal;
  notify: (stage: DioramaLoadingStage, fraction: number) => void;
  /** The engine's WebGPU device, when the harmonization may run on it. */
  gpuDevice?: GpuDevice;
}

/** A decomposed photo and what its depth can be trusted for. */
export interface PhotoDecomposition {
  decomposition: Decomposition;
  /** 'metric' (metres) or 'relative' (up to scale). */
  depthKind: 'metric' | 'relative';
  /** Where the masks came from: the `masks` option, the estimator / models, or none (depth segments the photo). */
  masksFrom: 'option' | 'model' | 'depth';
}

/**
 * Decodes the photo, resolves its depth (the `depth` option, `estimateDepth`, or the default `models`) and
 * decomposes it, reporting the stages 'image', 'depth' and the decompose() stages. Throws the typed DioramaError of
 * the failing step.
 * @param data the photo's encoded bytes
 * @param fileName for error messages
 * @param opt merged loader options
 * @param ctx signal, stage reporting, GPU device
 */
export async function decomposePhoto(data: unknown, fileName: string | undefined, opt: DioramaSharedLoaderOptions, ctx: PhotoLoadContext): Promise<PhotoDecomposition> {
  const { signal, notify } = ctx;
  throwIfAborted(signal);
  const bytes = toBytes(data);
  notify('image', 0);
  const image = await decodeImageInBrowser(bytes, { name: fileLabel(fileName), maxPixels: opt.maxPixels, signal });
  throwIfAborted(signal);
  notify('image', 1);

  notify('depth', 0);
  const { depth, depthIsInverse, intrinsics, masks, depthKind } = await resolveDepth(image, opt, signal, bytes);
  throwIfAborted(signal);
  notify('depth', 1);

  const input: DecomposeInput = { image, depth, depthIsInverse, masks: opt.masks ?? masks, intrinsics };
  const result = await decompose(input, {
    ...(ctx.gpuDevice ? { gpu: { device: ctx.gpuDevice } } : {}),
    ...opt.decompose,
    signal,
    maxPixels: opt.maxPixels,
    fieldOfView: opt.fieldOfView,
    onProgress: (stage, fraction) => notify(stage, fraction),
  });
  throwIfAborted(signal);
  return { decomposition: result, depthKind, masksFrom: opt.masks ? 'option' : masks ? 'model' : 'depth' };
}

/** {@link decomposePhoto}'s decomposition alone. */
export async function decomposePhotoBytes(data: unknown, fileName: string | undefined, opt: DioramaSharedLoaderOptions, ctx: PhotoLoadContext): Promise<Decomposition> {
  return (await decomposePhoto(data, fileName, opt, ctx)).decomposition;
}

/**
 * Maps an ABORTED error of a cancelled load to one naming why it was cancelled; other errors pass unchanged.
 */
export function explainAbort(e: unknown, signal: AbortSignal): unknown {
  if (signal.aborted && e instanceof DioramaError && e.code === 'ABORTED') {
    const why = signal.reason instanceof Error ? signal.reason.message : 'the abort signal fired';
    return new DioramaError('ABORTED', `loading was cancelled (${why})`, { cause: signal.reason });
  }
  return e;
}

/**
 * The depth to decompose with: the `depth` option, else the estimator (which may also bring masks), else the
 * default `models` (unless `models: false`), else an INVALID_OPTION error.
 * @param photoBytes the photo's encoded bytes (their EXIF focal length goes to the depth model)
 */
export async function resolveDepth(
  image: RGBAImage,
  opt: DioramaSharedLoaderOptions,
  signal: AbortSignal,
  photoBytes?: Uint8Array,
): Promise<{ depth: Float32Array; depthIsInverse: boolean; intrinsics: Intrinsics | undefined; masks?: MasksInput; depthKind: 'metric' | 'relative' }> {
  // Checked before any depth is fetched or estimated: a bad scale must not cost a model run.
  if (!(opt.depthScale > 0) || !Number.isFinite(opt.depthScale)) throw new DioramaError('INVALID_OPTION', `depthScale must be a positive finite number; found ${opt.depthScale}`);
  const { width: W, height: H } = image;
  let src: { width: number; height: number; data: Float32Array };
  let inverse = opt.depthIsInverse;
  let intrinsics = opt.intrinsics;
  let masks: MasksInput | undefined;
  // A depth map in metres is metric; inverse values are metric only with a scale (depthScale = f·B).
  let depthKind: 'metric' | 'relative' = opt.depthIsInverse && opt.depthScale === 1 ? 'relative' : 'metric';
  if (opt.depth !== undefined && opt.depth !== null) {
    src = await loadDepth(opt.depth, signal);
  } else if (opt.estimateDepth) {
    const est = await opt.estimateDepth(image, signal);
    throwIfAborted(signal);
    if (!est || !(est.depth instanceof Float32Array)) throw new DioramaError('INVALID_DEPTH', 'estimateDepth resolved without a Float32Array `depth`');
    src = { width: est.width ?? W, height: est.height ?? H, data: est.depth };
    if (src.data.length !== src.width * src.height) {
      throw new DioramaError('SIZE_MISMATCH', `estimateDepth returned ${src.data.length} values for ${src.width}x${src.height}`);
    }
    inverse = est.isInverse ?? inverse;
    intrinsics = intrinsics ?? est.intrinsics;
    masks = est.masks;
    depthKind = est.depthKind ?? (inverse ? 'relative' : 'metric');
  } else if (opt.models) {
    const est = await estimateWithModels(image, opt.models, signal, photoBytes);
    throwIfAborted(signal);
    src = { width: W, height: H, data: est.depth };
    inverse = est.isInverse;
    intrinsics = intrinsics ?? est.intrinsics;
    masks = est.masks;
    depthKind = est.depthKind;
  } else {
    throw new DioramaError(
      'INVALID_OPTION',
      'no depth for the photo: pass the depth option ({ data, width, height }, or a .pfm / .npy / 16-bit .png in millimetres), a depth estimator (estimateDepth), or let the default models run (do not set models: false)',
    );
  }
  let depth = src.width === W && src.height === H ? src.data : resampleDepth(src, W, H);
  if (opt.depthScale !== 1) {
    // metric = s·v, or for inverse values metric = s / v, i.e. inverse' = v / s.
    const k = inverse ? 1 / opt.depthScale : opt.depthScale;
    const scaled = new Float32Array(depth.length);
    for (let i = 0; i < depth.length; i++) scaled[i] = depth[i]! * k;
    depth = scaled;
  }
  return { depth, depthIsInverse: inverse, intrinsics, ...(masks ? { masks } : {}), depthKind };
}

/**
 * Runs the `models` option on the photo: loads diorama/models on demand (dynamic import), the depth model (and SAM3
 * automatic masks when asked), estimates, and releases everything.
 */
async function estimateWithModels(image: RGBAImage, m: DioramaModelOptions, signal: AbortSignal, photoBytes: Uint8Array | undefined) {
  const { PhotoPipeline, loaderEstimator } = await import('../models/decompose-photo');
  const pipeline = await PhotoPipeline.load(
    {
      runtime: { ...(m.wasmPaths !== undefined ? { wasmPaths: m.wasmPaths } : {}), ...(m.executionProviders ? { executionProviders: m.executionProviders } : {}) },
      depth: m.depth ?? 'da3-small',
      masks: m.masks ? { automatic: typeof m.masks === 'object' ? m.masks : {} } : false,
      modelBaseUrl: m.modelBaseUrl,
      precision: m.precision,
      ...(m.cache === false ? { cache: false as const } : {}),
      onDownloadProgress: m.onDownloadProgress,
    },
    { signal },
  );
  try {
    // The photo's bytes carry its EXIF focal length (intrinsics, and the metric scale of DA3Metric).
    return await loaderEstimator(pipeline, photoBytes ? { exif: photoBytes } : {})(image, signal);
  } finally {
    await pipeline.dispose();
  }
}
