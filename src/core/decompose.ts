/**
 * The CPU pipeline: photo + depth (+ masks) → harmonized depth → layers → inpainted layers → meshes.
 * Pure TypeScript; runs in Node and in browsers. Every stage checks the abort signal and reports progress.
 */
import { DioramaError, throwIfAborted } from './errors';
import type { Decomposition, DecompositionStats, DecomposeInput, ProgressCallback, Stage, StageTiming } from './types';
import { DEFAULT_FOV_DEGREES, DEFAULT_MAX_PIXELS, normaliseDepth, resolveIntrinsics, resolveMasks, validateImage } from './validate';
import { buildLayers, type InpaintOptions } from './build-layers';
import { assignOcclusionLayers, buildOcclusionLayers } from './occlusion-layers';
import { completeDepthFarSide } from '../math/occlusion';
import { harmonize, type HarmonizeOptions } from '../math/harmonize';
import { assignLayers, validateLayerOptions, type LayerOptions } from '../math/layers';
import { segmentDepth, type DepthSegmentOptions } from '../math/labels';
import type { MeshOptions } from '../math/mesh';

export interface DecomposeOptions {
  signal?: AbortSignal;
  /** Called with (stage, fraction in [0, 1]) as work proceeds. */
  onProgress?: ProgressCallback;
  /** Largest accepted image in pixels. Default 8192·4096. */
  maxPixels?: number;
  /** Horizontal field of view (degrees, over the longer side) assumed when no intrinsics are given. Default 60. */
  fieldOfView?: number;
  /**
   * Stage 1 options, or false to skip harmonization (the input depth is used as is). Default: harmonize when
   * the caller gives masks, skip otherwise. Harmonization snaps depth edges to silhouettes that a segmenter
   * saw independently of the depth; without masks the only segments are the depth map's own discontinuities,
   * so it has nothing to snap to and would only smooth away real detail (thin structures, holes in a grid).
   * Pass options (even `{}`) to harmonize depth-derived segments anyway (e.g. misaligned sensor depth).
   */
  harmonize?: HarmonizeOptions | false;
  /**
   * How pixels are grouped into layers. 'occlusion' (default): slabs of inverse depth cut where a tear needs
   * a layer behind it (src/core/occlusion-layers.ts). 'clusters': the earlier Stage 2–3, complete-linkage
   * clusters of masks with margin fills (src/math/layers.ts, src/core/build-layers.ts), kept for comparison.
   */
  layering?: 'occlusion' | 'clusters';
  /**
   * Solve Stage 1 on WebGPU (src/gpu, the same system and stopping rule as the CPU solver): `true` for a
   * device of its own, or `{ device }` to share one (Babylon's WebGPUEngine, onnxruntime-web). Without WebGPU,
   * or when the device is lost, the CPU solves (one log line). Default: CPU.
   */
  gpu?: boolean | { device?: GPUDevice };
  /** Segmentation of depth discontinuities, used where no mask covers a pixel. */
  segmentation?: DepthSegmentOptions;
  /** Stage 2 options. */
  layers?: LayerOptions;
  /** Stage 3 options. */
  inpaint?: InpaintOptions;
  /** Meshing options. */
  mesh?: MeshOptions;
  /**
   * Stop after a stage: 'harmonize' returns no layers; 'layers' returns the layer assignment
   * (`stats.layerCount`, `layerOfPixel`) without inpainting or meshes.
   */
  stopAfter?: 'harmonize' | 'layers';
}

/** Yields to the event loop so that timers, abort signals and UI updates get a turn between stages. */
function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 0));
}

/**
 * Runs the whole CPU pipeline. Throws DioramaError on bad input (codes INVALID_IMAGE, INVALID_DEPTH,
 * SIZE_MISMATCH, IMAGE_TOO_LARGE, NO_VALID_DEPTH, INVALID_MASKS, INVALID_INTRINSICS, INVALID_OPTION) and
 * ABORTED when the signal fires.
 */
export async function decompose(input: DecomposeInput, options: DecomposeOptions = {}): Promise<Decomposition> {
  const { signal, onProgress } = options;
  const timings: StageTiming[] = [];
  const tStart = performance.now();
  let tStage = tStart;
  const begin = (stage: Stage): void => {
    throwIfAborted(signal);
    tStage = performance.now();
    onProgress?.(stage, 0);
  };
  const end = async (stage: Stage): Promise<void> => {
    timings.push({ stage, ms: performance.now() - tStage });
    onProgress?.(stage, 1);
    await yieldToEventLoop();
    throwIfAborted(signal);
  };

  begin('validate');
  const maxPixels = options.maxPixels ?? DEFAULT_MAX_PIXELS;
  const { W, H } = validateImage(input, maxPixels);
  const { depth: raw, knownCount } = normaliseDepth(input, W, H);
  // Depth holes (0) are completed before anything else, from the far side at silhouettes, so that thin
  // objects stay whole and occlusion shadows belong to the surface behind (completeDepthFarSide).
  const metric = knownCount < W * H ? completeDepthFarSide(raw, W, H).depth : raw;
  const { intrinsics, known: intrinsicsKnown } = resolveIntrinsics(input, W, H, options.fieldOfView ?? DEFAULT_FOV_DEGREES);
  await end('validate');

  // Masks: the caller's (resolved to a label map), completed where they leave pixels uncovered by
  // segments of the depth map's own discontinuities.
  begin('masks');
  const resolved = resolveMasks(input.masks, W, H);
  let { labels, count } = resolved;
  const concepts = resolved.concepts.slice();
  let uncovered = 0;
  for (let i = 0; i < labels.length; i++) if (labels[i]! < 0) uncovered++;
  if (uncovered > 0) {
    const seg = segmentDepth(metric, W, H, options.segmentation);
    if (count === 0) {
      labels = seg.labels;
      count = seg.count;
      for (let k = 0; k < count; k++) concepts.push(undefined);
    } else {
      // Unmasked pixels get depth segments as extra labels (renumbered after the caller's masks).
      const remap = new Int32Array(seg.count).fill(-1);
      for (let i = 0; i < labels.length; i++) {
        if (labels[i]! >= 0) continue;
        const s = seg.labels[i]!;
        if (s < 0) continue;
        if (remap[s] === -1) {
          remap[s] = count++;
          concepts.push(undefined);
        }
        labels[i] = remap[s]!;
      }
    }
  }
  await end('masks');

  begin('harmonize');
  let harmonized: Float32Array;
  let iterations = 0;
  let residual = 0;
  let harmonizeBackend: 'cpu' | 'webgpu' = 'cpu';
  const layering = options.layering ?? 'occlusion';
  if (layering !== 'occlusion' && layering !== 'clusters') throw new DioramaError('INVALID_OPTION', `layering must be 'occlusion' or 'clusters'; found ${String(layering)}`);
  const skipHarmonize = options.harmonize === false || (options.harmonize === undefined && resolved.count === 0 && layering === 'occlusion');
  if (skipHarmonize) {
    harmonized = metric;
  } else {
    const hInput = { width: W, height: H, depth: metric, labels, image: input.image };
    let h: ReturnType<typeof harmonize>;
    if (options.gpu) {
      // Loaded only when asked for: the WGSL kernels stay out of CPU-only bundles.
      const { harmonizeGpu } = await import('../gpu/harmonize');
      const device = options.gpu === true ? undefined : options.gpu.device;
      const g = await harmonizeGpu(hInput, { ...options.harmonize, signal, ...(device ? { device } : {}) });
      harmonizeBackend = g.backend;
      h = g;
    } else h = harmonize(hInput, { ...options.harmonize, signal });
    harmonized = h.depth;
    labels = h.labels;
    iterations = h.iterations;
    residual = h.residual;
  }
  await end('harmonize');

  const stats: DecompositionStats = {
    timings,
    totalMs: 0,
    width: W,
    height: H,
    maskCount: count,
    layerCount: 0,
    solverIterations: iterations,
    solverResidual: residual,
    solverBackend: harmonizeBackend,
    vertexCount: 0,
    triangleCount: 0,
  };
  const result: Decomposition = { width: W, height: H, intrinsics, intrinsicsKnown, harmonizedDepth: harmonized, labels, layers: [], stats };
  if (options.stopAfter === 'harmonize') {
    stats.totalMs = performance.now() - tStart;
    return result;
  }

  begin('layers');
  // Occlusion layering uses maxLayers only: it makes as many layers as the tears need, up to that bound.
  const { maxL: maxLayers } = validateLayerOptions(options.layers ?? {});
  const occ = layering === 'occlusion' ? assignOcclusionLayers(harmonized, W, H, intrinsics, maxLayers, options.inpaint?.orbitBaseline) : undefined;
  const assignment = occ ? undefined : assignLayers(harmonized, labels, count, { ...options.layers, signal });
  stats.layerCount = occ ? occ.layerCount : assignment!.layerCount;
  await end('layers');
  if (options.stopAfter === 'layers') {
    result.layerOfPixel = occ ? occ.pixelLayer : assignment!.pixelLayer;
    stats.totalMs = performance.now() - tStart;
    return result;
  }

  begin('inpaint');
  onProgress?.('mesh', 0);
  const onLayer = (stage: 'inpaint' | 'mesh', done: number, total: number): void => onProgress?.(stage, done / total);
  let built: { layers: Decomposition['layers']; timings: { inpaintMs: number; teleaMs: number; depthFillMs: number; meshMs: number } };
  let pixelLayer: Uint8Array;
  if (occ) {
    const b = buildOcclusionLayers(
      { W, H, image: input.image, depth: harmonized, intrinsics, labels, maskCount: count, concepts, inpaint: options.inpaint ?? {}, mesh: options.mesh ?? {}, signal, onLayer },
      occ,
    );
    built = b;
    pixelLayer = b.pixelLayer;
    stats.tearEdges = b.stats.tearEdges;
    stats.fillPixels = b.stats.fillPixels;
  } else {
    const a = assignment!;
    const b = buildLayers({
      W,
      H,
      image: input.image,
      depth: harmonized,
      pixelLayer: a.pixelLayer,
      layerCount: a.layerCount,
      planeDepths: a.planeDepths,
      layerMasks: a.layerMasks,
      concepts,
      intrinsics,
      inpaint: options.inpaint ?? {},
      mesh: options.mesh ?? {},
      signal,
      onLayer,
    });
    built = b;
    pixelLayer = a.pixelLayer;
    if (b.sourceIndex.length !== a.layerCount) {
      const back = new Uint8Array(a.layerCount);
      b.sourceIndex.forEach((src, k) => (back[src] = k));
      for (let i = 0; i < pixelLayer.length; i++) pixelLayer[i] = back[pixelLayer[i]!]!;
    }
  }
  // Inpainting and meshing are interleaved per layer; report them as two stages with their own times.
  timings.push({ stage: 'inpaint', ms: built.timings.inpaintMs });
  stats.inpaintRgbMs = built.timings.teleaMs;
  stats.inpaintDepthMs = built.timings.depthFillMs;
  onProgress?.('inpaint', 1);
  timings.push({ stage: 'mesh', ms: built.timings.meshMs });
  onProgress?.('mesh', 1);
  // Like every other stage end: an abort requested up to the last progress report still rejects.
  throwIfAborted(signal);
  result.layers = built.layers;
  result.layerOfPixel = pixelLayer;
  stats.layerCount = built.layers.length;
  for (const l of built.layers) {
    stats.vertexCount += l.mesh.positions.length / 3;
    stats.triangleCount += l.mesh.indices.length / 3;
  }
  stats.totalMs = performance.now() - tStart;
  if (built.layers.length === 0) throw new DioramaError('INTERNAL', 'decompose produced no layer although depth was valid');
  return result;
}
