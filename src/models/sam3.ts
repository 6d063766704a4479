/**
 * SAM3 adapter: instance masks for a photo through onnxruntime-web, in three modes.
 *
 *  - Prompts (`Sam3Tracker.predict`): points (positive/negative) and boxes from the caller — click to select an
 *    object, add points to refine it. Tracker export: vision encoder + prompt-encoder/mask-decoder.
 *  - Automatic (`Sam3Tracker.generate`): SAM2's automatic mask generator — a grid of single-point prompts run
 *    through the decoder in batches, filtered by predicted IoU and stability score, de-duplicated by box NMS,
 *    optionally cleaned of small holes and islands.
 *  - Concepts (`Sam3Concepts.segment`): text phrases → tokenizer → text encoder → DETR-style decoder with a
 *    presence head; a detection's score is sigmoid(logit)·sigmoid(presence); only concepts the presence head
 *    accepts return masks, and each mask carries its concept name.
 *
 * The image embedding is computed once per photo (`embed()`, an explicit handle with `dispose()`) and reused
 * by every prompt, automatic or concept call on that photo.
 *
 * Geometry (see sam3-preprocess.ts): the photo is resized to 1008×1008 without keeping its aspect ratio, so
 * prompt coordinates scale per axis and mask logits are resized straight back to W×H (bilinear,
 * align_corners=False) and thresholded at logit 0. Masks are returned as crops (`CropMask`), and
 * `resolveSam3Masks` turns a mask set into the core's `MasksInput` (a non-overlapping label map, higher score
 * wins, stable order, concept name per label) plus per-label scores.
 *
 * Usage:
 * ```ts
 * const rt = await createRuntime();
 * const sam = await Sam3Tracker.load(rt);                      // registry defaults, or { visionEncoder, decoder } sources
 * const emb = await sam.embed(photo);                          // vision encoder runs once
 * const [r] = await sam.predict(emb, [{ points: [{ x: 412.5, y: 300.5 }] }]);
 * const chosen = r.masks[r.best];                              // crop mask + predicted IoU
 * const auto = await sam.generate(emb);                        // SAM2 AMG defaults
 * const { masks, scores } = resolveSam3Masks(auto);            // → decompose({ image, depth, masks })
 * emb.dispose();
 * ```
 */
import { DioramaError, throwIfAborted } from '../core/errors';
import type { BinaryMask, MasksInput, RGBAImage } from '../core/types';
import { modelError, validatePhoto } from './errors';
import { type LoadModelOptions, type ModelSource, loadModelBytes } from './registry';
import type { CpuTensor, ModelContract, ModelRuntime, ModelSession, SessionOptions } from './runtime';
import {
  SAM3_DETECTOR_DECODER_CONTRACT,
  SAM3_DETECTOR_VISION_CONTRACT,
  SAM3_TEXT_ENCODER_CONTRACT,
  SAM3_TRACKER_DECODER_CONTRACT,
  SAM3_TRACKER_VISION_CONTRACT,
} from './sam3-contracts';
import {
  type CropMask,
  buildPointGrid,
  cropMaskToFull,
  maskBox,
  nonMaxSuppression,
  removeSmallRegions,
  resolveLabelMap,
  stabilityScore,
  stabilityScoreUpsampled,
  upsampleMask,
} from './sam3-masks';
import { SAM3_INPUT_SIZE, photoToModelPoint, preprocessSam3Image } from './sam3-preprocess';
import { TextTokenizer } from './tokenizer';

// ---------------------------------------------------------------------------------------------------------
// Public types

/** One mask of a photo: a crop plus what the model said about it. */
export interface Sam3Mask extends CropMask {
  /** Ordering score (higher wins overlaps): predicted IoU for tracker masks, detection score for concepts. */
  score: number;
  /** The decoder's predicted IoU (tracker masks). */
  predictedIoU?: number;
  /** Stability score (automatic mode). */
  stability?: number;
  /** Concept name (concept mode). */
  concept?: string;
  /** The grid point that produced the mask (automatic mode), continuous photo coordinates. */
  point?: [number, number];
  /** The detector's box (concept mode), photo pixels [x0, y0, x1, y1]. */
  box?: [number, number, number, number];
}

/** Masks of one photo. */
export interface Sam3MaskSet {
  width: number;
  height: number;
  /** Sorted by decreasing score. */
  masks: Sam3Mask[];
}

/** A point prompt in continuous photo coordinates (pixel (x, y)'s centre is (x + 0.5, y + 0.5)). */
export interface Sam3Point {
  x: number;
  y: number;
  /** 1 = on the object (default), 0 = not on the object. */
  label?: 0 | 1;
}

/** One object to segment: points, a box, or both. */
export interface Sam3Prompt {
  points?: readonly Sam3Point[];
  /** [x0, y0, x1, y1] in continuous photo coordinates. */
  box?: readonly [number, number, number, number];
}

/** The decoder's answer for one prompt: its candidate masks (usually 3) with predicted IoUs. */
export interface Sam3PromptResult {
  masks: Sam3Mask[];
  /** Index of the mask with the highest predicted IoU. */
  best: number;
  /** Object-presence logit when the export has it (> 0: an object is there). */
  objectScore?: number;
}

/** Options of the automatic mask generator; defaults are SAM2's (`SAM3_AUTO_DEFAULTS`). */
export interface Sam3AutoOptions {
  /** Grid of pointsPerSide² points at ((i + 0.5)/n, (j + 0.5)/n). Default 32. */
  pointsPerSide?: number;
  /** Explicit normalised points (x, y interleaved, in [0, 1]); overrides pointsPerSide. */
  pointGrid?: Float32Array | readonly number[];
  /** Points per decoder run. Default 64. */
  pointsPerBatch?: number;
  /** Keep masks with predicted IoU > this. Default 0.8. */
  predIouThreshold?: number;
  /** Keep masks with stability score ≥ this. Default 0.95. */
  stabilityScoreThreshold?: number;
  /** Logit offset of the stability score. Default 1.0. */
  stabilityScoreOffset?: number;
  /**
   * Where the stability score is measured: 'decoder' (the 256² logits, fast, default) or 'photo' (the
   * logits upsampled to the photo, SAM2's exact definition; costs each candidate's extent in photo pixels).
   */
  stabilityResolution?: 'decoder' | 'photo';
  /** Mask threshold on logits. Default 0. */
  maskThreshold?: number;
  /** Box NMS IoU threshold. Default 0.7. */
  boxNmsThreshold?: number;
  /** Fill holes and remove islands smaller than this many photo pixels (0 = off). Default 0. */
  minMaskRegionArea?: number;
  /** Use all 3 masks per point (default true); false keeps each point's best mask only. */
  multimask?: boolean;
  signal?: AbortSignal;
  /** Called after each decoder batch with the fraction of points done. */
  onProgress?: (fraction: number) => void;
}

export const SAM3_AUTO_DEFAULTS = Object.freeze({
  pointsPerSide: 32,
  pointsPerBatch: 64,
  predIouThreshold: 0.8,
  stabilityScoreThreshold: 0.95,
  stabilityScoreOffset: 1.0,
  stabilityResolution: 'decoder' as 'decoder' | 'photo',
  maskThreshold: 0,
  boxNmsThreshold: 0.7,
  minMaskRegionArea: 0,
  multimask: true,
});

export interface Sam3ConceptOptions {
  /** Keep detections with sigmoid(logit)·sigmoid(presence) > this. Default 0.5 (transformers' default is 0.3). */
  scoreThreshold?: number;
  /** A concept is accepted when sigmoid(presence logit) ≥ this. Default 0.5. */
  presenceThreshold?: number;
  /** Mask threshold on logits. Default 0. */
  maskThreshold?: number;
  signal?: AbortSignal;
}

export const SAM3_CONCEPT_DEFAULTS = Object.freeze({ scoreThreshold: 0.5, presenceThreshold: 0.5, maskThreshold: 0 });

/** What the presence head said about one concept. */
export interface Sam3ConceptInfo {
  name: string;
  /** sigmoid(presence logit). */
  presence: number;
  accepted: boolean;
  /** Number of masks returned for it. */
  maskCount: number;
}

export interface Sam3ConceptResult extends Sam3MaskSet {
  /** One entry per requested concept, in request order. */
  concepts: Sam3ConceptInfo[];
}

// ---------------------------------------------------------------------------------------------------------
// Image embedding

/**
 * A photo's image embedding (the vision encoder's outputs), computed once and reused by every call on that
 * photo. Holds the tensors until `dispose()`; using it afterwards throws MODEL_DISPOSED.
 */
export class Sam3ImageEmbedding {
  private _tensors: Record<string, CpuTensor> | undefined;

  /** @internal created by `Sam3Tracker.embed` / `Sam3Concepts.embed` */
  constructor(
    /** Which vision encoder produced it (tracker and detector exports have different encoders). */
    readonly kind: 'tracker' | 'detector',
    readonly width: number,
    readonly height: number,
    tensors: Record<string, CpuTensor>,
    /** @internal identity of the producing model object */
    readonly owner: object,
  ) {
    this._tensors = tensors;
  }

  get disposed(): boolean {
    return this._tensors === undefined;
  }

  /** The encoder outputs, keyed by contract name. */
  get tensors(): Readonly<Record<string, CpuTensor>> {
    if (!this._tensors) throw modelError('MODEL_DISPOSED', `the SAM3 ${this.kind} image embedding was disposed; call embed() again`);
    return this._tensors;
  }

  /** Releases the tensors. */
  dispose(): void {
    this._tensors = undefined;
  }
}

// ---------------------------------------------------------------------------------------------------------
// Helpers

/**
 * Runs a vision encoder (tracker or detector) on a photo: validated, resized to 1008², fed as the contract's
 * single input; every contract output is kept as the embedding (the matching decoder's inputs of the same names).
 */
async function embedWith(session: ModelSession, kind: 'tracker' | 'detector', owner: object, image: RGBAImage, signal: AbortSignal | undefined): Promise<Sam3ImageEmbedding> {
  validatePhoto(image);
  throwIfAborted(signal);
  const S = SAM3_INPUT_SIZE;
  const out = await session.run({ [session.contract.inputs[0]!.name]: f32([1, 3, S, S], preprocessSam3Image(image, S)) }, { signal });
  const tensors: Record<string, CpuTensor> = {};
  for (const { name } of session.contract.outputs) {
    const t = out[name];
    if (!t) throw modelError('MODEL_RUN', `SAM3 ${kind} vision encoder returned no '${name}'; it returned ${Object.keys(out).join(', ')}`);
    tensors[name] = t;
  }
  return new Sam3ImageEmbedding(kind, image.width, image.height, tensors, owner);
}

function checkEmbedding(emb: Sam3ImageEmbedding, kind: 'tracker' | 'detector', owner: object): void {
  if (!(emb instanceof Sam3ImageEmbedding)) throw new DioramaError('INVALID_OPTION', `expected a Sam3ImageEmbedding from embed(); found ${typeof emb}`);
  if (emb.kind !== kind) {
    throw new DioramaError('INVALID_OPTION', `this embedding comes from the SAM3 ${emb.kind} vision encoder; the ${kind} needs its own (call its embed())`);
  }
  if (emb.owner !== owner) throw new DioramaError('INVALID_OPTION', `this embedding was made by another SAM3 ${kind} instance`);
  void emb.tensors; // throws when disposed
}

function f32(dims: number[], data: Float32Array): CpuTensor {
  return { type: 'float32', dims, data };
}

function i64(dims: number[], data: BigInt64Array): CpuTensor {
  return { type: 'int64', dims, data };
}

function asF32(t: CpuTensor | undefined, what: string): Float32Array {
  if (!t || !(t.data instanceof Float32Array)) throw modelError('MODEL_RUN', `${what}: expected float32 output data; found ${t ? t.type : 'nothing'}`);
  return t.data;
}

function sigmoid(x: number): number {
  return x >= 0 ? 1 / (1 + Math.exp(-x)) : Math.exp(x) / (1 + Math.exp(x));
}

function finite(name: string, v: unknown): number {
  if (typeof v !== 'number' || !Number.isFinite(v)) throw new DioramaError('INVALID_OPTION', `${name} must be a finite number; found ${String(v)}`);
  return v;
}

function inUnit(name: string, v: number): number {
  finite(name, v);
  if (v < 0 || v > 1) throw new DioramaError('INVALID_OPTION', `${name} must be in [0, 1]; found ${v}`);
  return v;
}

/**
 * Loads the model files of `graphs` in order and creates a session for each against its contract. The
 * precision of every file is chosen by `options.choosePrecision`, else by the runtime. If any step fails,
 * the sessions already created are disposed before the error is rethrown.
 */
async function loadSessions(
  runtime: ModelRuntime,
  graphs: ReadonlyArray<readonly [ModelSource, ModelContract]>,
  options: LoadModelOptions & SessionOptions,
): Promise<ModelSession[]> {
  const choosePrecision = options.choosePrecision ?? ((r, a) => runtime.choosePrecision(r, a));
  const made: ModelSession[] = [];
  try {
    for (const [src, contract] of graphs) {
      const bytes = await loadModelBytes(src, { ...options, choosePrecision });
      made.push(await runtime.createSession(bytes, contract, options));
    }
    return made;
  } catch (e) {
    await Promise.all(made.map((s) => s.dispose()));
    throw e;
  }
}

// ---------------------------------------------------------------------------------------------------------
// Tracker: prompts and automatic masks

export interface Sam3TrackerSources {
  /** Default: registry id 'sam3-tracker-vision-encoder'. */
  visionEncoder?: ModelSource;
  /** Default: registry id 'sam3-tracker-decoder'. */
  decoder?: ModelSource;
}

export interface Sam3TrackerOptions {
  /**
   * Label of padding points (prompts with fewer points than others in a batch, box-only prompts). Default -10
   * (transformers' convention: the prompt encoder gives such points a zero embedding); the original SAM code
   * uses -1 ("not a point").
   */
  padLabel?: number;
}

/** The SAM3 tracker (interactive segmentation) over a vision encoder and a prompt decoder session. */
export class Sam3Tracker {
  readonly padLabel: number;

  /**
   * @param visionEncoder a session bound to SAM3_TRACKER_VISION_CONTRACT
   * @param decoder a session bound to SAM3_TRACKER_DECODER_CONTRACT
   */
  constructor(
    readonly visionEncoder: ModelSession,
    readonly decoder: ModelSession,
    options: Sam3TrackerOptions = {},
  ) {
    this.padLabel = options.padLabel ?? -10;
  }

  /**
   * Loads both graphs (registry defaults: onnx-community/sam3-tracker-ONNX) and creates sessions checked
   * against the tracker contracts.
   */
  static async load(
    runtime: ModelRuntime,
    sources: Sam3TrackerSources = {},
    options: LoadModelOptions & SessionOptions & Sam3TrackerOptions = {},
  ): Promise<Sam3Tracker> {
    const [vs, ds] = await loadSessions(runtime, [
      [sources.visionEncoder ?? 'sam3-tracker-vision-encoder', SAM3_TRACKER_VISION_CONTRACT],
      [sources.decoder ?? 'sam3-tracker-decoder', SAM3_TRACKER_DECODER_CONTRACT],
    ], options);
    return new Sam3Tracker(vs!, ds!, options);
  }

  /** Runs the vision encoder on a photo once; the returned embedding serves every later call on it. */
  embed(image: RGBAImage, options: { signal?: AbortSignal } = {}): Promise<Sam3ImageEmbedding> {
    return embedWith(this.visionEncoder, 'tracker', this, image, options.signal);
  }

  /** One decoder run over N prompts of P points each (already in model coordinates). */
  private async _decode(
    emb: Sam3ImageEmbedding,
    N: number,
    P: number,
    points: Float32Array,
    labels: BigInt64Array,
    boxes: Float32Array | undefined,
    signal: AbortSignal | undefined,
  ): Promise<{ iou: Float32Array; masks: Float32Array; M: number; h: number; w: number; objectScores?: Float32Array }> {
    const feeds: Record<string, CpuTensor> = {
      ...emb.tensors,
      input_points: f32([1, N, P, 2], points),
      input_labels: i64([1, N, P], labels),
      input_boxes: boxes ? f32([1, N, 4], boxes) : f32([1, 0, 4], new Float32Array(0)),
    };
    const out = await this.decoder.run(feeds, { signal });
    const pm = out.pred_masks;
    const iou = asF32(out.iou_scores, 'SAM3 decoder iou_scores');
    const masks = asF32(pm, 'SAM3 decoder pred_masks');
    const [, , M, h, w] = pm!.dims as number[];
    if (!(M! >= 1 && h! >= 1 && w! >= 1) || iou.length !== N * M!) {
      throw modelError('MODEL_RUN', `SAM3 decoder returned pred_masks ${JSON.stringify(pm!.dims)} and ${iou.length} IoU scores for ${N} prompts; expected [1,${N},M,h,w] and ${N}·M scores`);
    }
    const os = out.object_score_logits;
    return { iou, masks, M: M!, h: h!, w: w!, objectScores: os ? asF32(os, 'SAM3 decoder object_score_logits') : undefined };
  }

  /**
   * Segments one object per prompt. Coordinates are continuous photo coordinates. Point-only prompts share one
   * decoder run; each prompt with a box runs alone (the export takes one box per image with points).
   *
   * @returns one result per prompt, in order; each has the decoder's candidate masks (usually 3) upsampled
   *   to the photo and thresholded, with predicted IoUs, and the index of the best.
   */
  async predict(emb: Sam3ImageEmbedding, prompts: readonly Sam3Prompt[], options: { maskThreshold?: number; signal?: AbortSignal } = {}): Promise<Sam3PromptResult[]> {
    checkEmbedding(emb, 'tracker', this);
    if (!Array.isArray(prompts as unknown) || prompts.length === 0) throw new DioramaError('INVALID_OPTION', `prompts must be a non-empty array; found ${Array.isArray(prompts) ? 'an empty array' : typeof prompts}`);
    const thr = finite('maskThreshold', options.maskThreshold ?? 0);
    const { width: W, height: H } = emb;
    prompts.forEach((p, k) => {
      const pts = p?.points ?? [];
      if (pts.length === 0 && !p?.box) throw new DioramaError('INVALID_OPTION', `prompt ${k} has neither points nor a box`);
      pts.forEach((q, j) => {
        finite(`prompts[${k}].points[${j}].x`, q.x);
        finite(`prompts[${k}].points[${j}].y`, q.y);
        if (q.label !== undefined && q.label !== 0 && q.label !== 1) throw new DioramaError('INVALID_OPTION', `prompts[${k}].points[${j}].label must be 0 or 1; found ${String(q.label)}`);
      });
      if (p.box) {
        if (p.box.length !== 4) throw new DioramaError('INVALID_OPTION', `prompts[${k}].box must be [x0, y0, x1, y1]; found ${p.box.length} values`);
        p.box.forEach((v, j) => finite(`prompts[${k}].box[${j}]`, v));
      }
    });
    const results: Sam3PromptResult[] = new Array(prompts.length);
    // Batches: all point-only prompts in one decoder run; each prompt with a box in a run of its own. The
    // exporter's model accepts one box per image together with points (transformers.js Sam2Model.forward:
    // "When both `input_points` and `input_boxes` are provided, the number of boxes per image must be 1",
    // packages/transformers/src/models/sam2/modeling_sam2.js), so boxes are never batched.
    const all = prompts.map((p, k) => ({ p, k }));
    const batches = [all.filter(({ p }) => !p.box), ...all.filter(({ p }) => !!p.box).map((e) => [e])];
    for (const idx of batches) {
      if (idx.length === 0) continue;
      const withBox = !!idx[0]!.p.box;
      throwIfAborted(options.signal);
      const N = idx.length;
      // A box alone is fed with no points at all (input_points [1,1,0,2], input_labels [1,1,0]), as the
      // exporter's own pipeline does (transformers.js Sam2Model.forward, "only boxes"); point batches pad
      // shorter prompts with padLabel.
      const P = withBox ? (idx[0]!.p.points?.length ?? 0) : Math.max(1, ...idx.map(({ p }) => p.points?.length ?? 0));
      const points = new Float32Array(N * P * 2);
      const labels = new BigInt64Array(N * P).fill(BigInt(this.padLabel));
      const boxes = withBox ? new Float32Array(N * 4) : undefined;
      idx.forEach(({ p }, n) => {
        (p.points ?? []).forEach((q, j) => {
          const [mx, my] = photoToModelPoint(q.x, q.y, W, H);
          points[(n * P + j) * 2] = mx;
          points[(n * P + j) * 2 + 1] = my;
          labels[n * P + j] = BigInt(q.label ?? 1);
        });
        if (boxes && p.box) {
          const [ax, ay] = photoToModelPoint(p.box[0], p.box[1], W, H);
          const [bx, by] = photoToModelPoint(p.box[2], p.box[3], W, H);
          boxes.set([Math.min(ax, bx), Math.min(ay, by), Math.max(ax, bx), Math.max(ay, by)], n * 4);
        }
      });
      const d = await this._decode(emb, N, P, points, labels, boxes, options.signal);
      const plane = d.h * d.w;
      idx.forEach(({ k }, n) => {
        const masks: Sam3Mask[] = [];
        let best = 0;
        for (let m = 0; m < d.M; m++) {
          const s = d.iou[n * d.M + m]!;
          const crop = upsampleMask(d.masks, (n * d.M + m) * plane, d.w, d.h, W, H, thr);
          masks.push({ ...crop, score: s, predictedIoU: s });
          if (s > d.iou[n * d.M + best]!) best = m;
        }
        results[k] = { masks, best, objectScore: d.objectScores?.[n] };
      });
    }
    return results;
  }

  /**
   * SAM2's automatic mask generator on one photo: grid points → decoder batches → predicted-IoU filter →
   * stability filter → upsampling → box NMS (by predicted IoU) → optional small-region cleanup (then a second
   * NMS that prefers unchanged masks, as SAM does).
   */
  async generate(emb: Sam3ImageEmbedding, options: Sam3AutoOptions = {}): Promise<Sam3MaskSet> {
    checkEmbedding(emb, 'tracker', this);
    const o = { ...SAM3_AUTO_DEFAULTS, ...stripUndefined(options) };
    const perBatch = o.pointsPerBatch;
    if (!Number.isInteger(perBatch) || perBatch < 1) throw new DioramaError('INVALID_OPTION', `pointsPerBatch must be a positive integer; found ${perBatch}`);
    inUnit('boxNmsThreshold', o.boxNmsThreshold);
    finite('predIouThreshold', o.predIouThreshold);
    finite('stabilityScoreThreshold', o.stabilityScoreThreshold);
    finite('stabilityScoreOffset', o.stabilityScoreOffset);
    finite('maskThreshold', o.maskThreshold);
    finite('minMaskRegionArea', o.minMaskRegionArea);
    if (o.stabilityResolution !== 'decoder' && o.stabilityResolution !== 'photo') {
      throw new DioramaError('INVALID_OPTION', `stabilityResolution must be 'decoder' or 'photo'; found '${String(o.stabilityResolution)}'`);
    }
    const grid = options.pointGrid ? Float32Array.from(options.pointGrid) : buildPointGrid(o.pointsPerSide);
    if (grid.length % 2 !== 0 || grid.length === 0) throw new DioramaError('INVALID_OPTION', `pointGrid must hold x, y pairs; found ${grid.length} values`);
    const { width: W, height: H } = emb;
    const total = grid.length / 2;
    const candidates: Sam3Mask[] = [];
    for (let start = 0; start < total; start += perBatch) {
      throwIfAborted(o.signal);
      const N = Math.min(perBatch, total - start);
      const points = new Float32Array(N * 2);
      const photoPts = new Float64Array(N * 2);
      for (let n = 0; n < N; n++) {
        const u = grid[(start + n) * 2]! * W;
        const v = grid[(start + n) * 2 + 1]! * H;
        photoPts[n * 2] = u;
        photoPts[n * 2 + 1] = v;
        const [mx, my] = photoToModelPoint(u, v, W, H);
        points[n * 2] = mx;
        points[n * 2 + 1] = my;
      }
      const labels = new BigInt64Array(N).fill(1n);
      const d = await this._decode(emb, N, 1, points, labels, undefined, o.signal);
      const plane = d.h * d.w;
      for (let n = 0; n < N; n++) {
        let mFrom = 0, mTo = d.M;
        if (!o.multimask) {
          let best = 0;
          for (let m = 1; m < d.M; m++) if (d.iou[n * d.M + m]! > d.iou[n * d.M + best]!) best = m;
          mFrom = best;
          mTo = best + 1;
        }
        for (let m = mFrom; m < mTo; m++) {
          const iou = d.iou[n * d.M + m]!;
          if (!(iou > o.predIouThreshold)) continue;
          const off = (n * d.M + m) * plane;
          const stab =
            o.stabilityResolution === 'photo'
              ? stabilityScoreUpsampled(d.masks, off, d.w, d.h, W, H, o.stabilityScoreOffset, o.maskThreshold)
              : stabilityScore(d.masks, off, plane, o.stabilityScoreOffset, o.maskThreshold);
          if (!(stab >= o.stabilityScoreThreshold)) continue;
          const crop = upsampleMask(d.masks, off, d.w, d.h, W, H, o.maskThreshold);
          if (crop.area === 0) continue;
          candidates.push({ ...crop, score: iou, predictedIoU: iou, stability: stab, point: [photoPts[n * 2]!, photoPts[n * 2 + 1]!] });
        }
      }
      o.onProgress?.(Math.min(1, (start + N) / total));
    }
    let kept = nmsMasks(candidates, candidates.map((c) => c.score), o.boxNmsThreshold);
    if (o.minMaskRegionArea > 0) {
      throwIfAborted(o.signal);
      const cleaned: Sam3Mask[] = [];
      const prefer: number[] = [];
      for (const m of kept) {
        const a = removeSmallRegions(m, W, H, o.minMaskRegionArea, 'holes');
        const b = removeSmallRegions(a.mask, W, H, o.minMaskRegionArea, 'islands');
        if (b.mask.area === 0) continue;
        cleaned.push({ ...m, ...b.mask });
        // SAM re-runs NMS preferring masks the cleanup left unchanged; ties are broken by predicted IoU
        // (the score is in [0, 1], so "unchanged" dominates).
        prefer.push((a.changed || b.changed ? 0 : 2) + m.score);
      }
      kept = nmsMasks(cleaned, prefer, o.boxNmsThreshold).sort((a, b) => b.score - a.score);
    }
    return { width: W, height: H, masks: kept };
  }

  /** Disposes both sessions. */
  async dispose(): Promise<void> {
    await Promise.all([this.visionEncoder.dispose(), this.decoder.dispose()]);
  }
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  const r: Partial<T> = {};
  for (const [k, v] of Object.entries(o)) if (v !== undefined) (r as Record<string, unknown>)[k] = v;
  return r;
}

function nmsMasks(masks: Sam3Mask[], scores: number[], threshold: number): Sam3Mask[] {
  const boxes = new Float64Array(masks.length * 4);
  masks.forEach((m, i) => boxes.set(maskBox(m), i * 4));
  return nonMaxSuppression(boxes, scores, threshold).map((i) => masks[i]!);
}

/**
 * Automatic masks for one photo in one call (embed → generate → dispose the embedding): what the pipeline
 * uses when no masks are given.
 */
export async function sam3AutomaticMasks(tracker: Sam3Tracker, image: RGBAImage, options: Sam3AutoOptions = {}): Promise<Sam3MaskSet> {
  const emb = await tracker.embed(image, { signal: options.signal });
  try {
    return await tracker.generate(emb, options);
  } finally {
    emb.dispose();
  }
}

// ---------------------------------------------------------------------------------------------------------
// Concepts

export interface Sam3ConceptSources {
  /** Default: registry id 'sam3-concept-vision-encoder'. */
  visionEncoder?: ModelSource;
  /** Default: registry id 'sam3-concept-text-encoder'. */
  textEncoder?: ModelSource;
  /** Default: registry id 'sam3-concept-decoder'. */
  decoder?: ModelSource;
  /** The model's tokenizer.json: parsed JSON or its text. */
  tokenizer: object | string;
  /** tokenizer_config.json when available. */
  tokenizerConfig?: object;
}

/** SAM3 text-concept segmentation over vision encoder, text encoder and decoder sessions. */
export class Sam3Concepts {
  /**
   * @param tokenizer must produce the text encoder's sequence length (checked when the model declares it)
   */
  constructor(
    readonly visionEncoder: ModelSession,
    readonly textEncoder: ModelSession,
    readonly decoder: ModelSession,
    readonly tokenizer: TextTokenizer,
  ) {
    const L = textEncoder.inputs.get('input_ids')?.shape?.[1];
    if (typeof L === 'number' && L !== tokenizer.maxLength) {
      throw new DioramaError('INVALID_OPTION', `the text encoder takes ${L} tokens but the tokenizer produces ${tokenizer.maxLength}; create the TextTokenizer with maxLength ${L}`);
    }
  }

  /** Loads the three graphs and the tokenizer (its length follows the text encoder's declared input). */
  static async load(runtime: ModelRuntime, sources: Sam3ConceptSources, options: LoadModelOptions & SessionOptions = {}): Promise<Sam3Concepts> {
    const made = await loadSessions(runtime, [
      [sources.visionEncoder ?? 'sam3-concept-vision-encoder', SAM3_DETECTOR_VISION_CONTRACT],
      [sources.textEncoder ?? 'sam3-concept-text-encoder', SAM3_TEXT_ENCODER_CONTRACT],
      [sources.decoder ?? 'sam3-concept-decoder', SAM3_DETECTOR_DECODER_CONTRACT],
    ], options);
    try {
      const L = made[1]!.inputs.get('input_ids')?.shape?.[1];
      const tok = new TextTokenizer(sources.tokenizer, sources.tokenizerConfig ?? {}, { maxLength: typeof L === 'number' ? L : 32 });
      return new Sam3Concepts(made[0]!, made[1]!, made[2]!, tok);
    } catch (e) {
      await Promise.all(made.map((s) => s.dispose()));
      throw e;
    }
  }

  /** Runs the detector's vision encoder once for a photo. */
  embed(image: RGBAImage, options: { signal?: AbortSignal } = {}): Promise<Sam3ImageEmbedding> {
    return embedWith(this.visionEncoder, 'detector', this, image, options.signal);
  }

  /**
   * Segments every instance of each text concept. The text encoder runs once for all concepts; the decoder
   * runs once per concept. Concepts the presence head rejects return no mask; each returned mask carries
   * its concept name and score sigmoid(logit)·sigmoid(presence).
   */
  async segment(emb: Sam3ImageEmbedding, concepts: readonly string[], options: Sam3ConceptOptions = {}): Promise<Sam3ConceptResult> {
    checkEmbedding(emb, 'detector', this);
    const o = { ...SAM3_CONCEPT_DEFAULTS, ...stripUndefined(options) };
    inUnit('scoreThreshold', o.scoreThreshold);
    inUnit('presenceThreshold', o.presenceThreshold);
    finite('maskThreshold', o.maskThreshold);
    if (!Array.isArray(concepts as unknown) || concepts.length === 0) throw new DioramaError('INVALID_OPTION', `concepts must be a non-empty array of strings`);
    const names = concepts.map((c, i) => {
      if (typeof c !== 'string' || c.trim() === '') throw new DioramaError('INVALID_OPTION', `concepts[${i}] must be a non-empty string; found ${JSON.stringify(c)}`);
      return c.trim();
    });
    const { width: W, height: H } = emb;
    throwIfAborted(o.signal);
    const tb = this.tokenizer.encodeBatch(names);
    const T = tb.count, L = tb.length;
    const text = await this.textEncoder.run(
      { input_ids: i64([T, L], tb.ids), attention_mask: i64([T, L], tb.attentionMask) },
      { signal: o.signal },
    );
    const tf = asF32(text.text_features, 'SAM3 text encoder text_features');
    const tm = text.text_mask!;
    const D = text.text_features!.dims[2]!;
    const maskType = this.decoder.inputs.get('text_mask')?.type ?? tm.type;
    const clampX = (v: number) => Math.min(W, Math.max(0, v * W));
    const clampY = (v: number) => Math.min(H, Math.max(0, v * H));
    const infos: Sam3ConceptInfo[] = [];
    const masks: Sam3Mask[] = [];
    for (let t = 0; t < T; t++) {
      throwIfAborted(o.signal);
      const feats = tf.slice(t * L * D, (t + 1) * L * D);
      const maskVals = textMaskRow(tm, t, L, maskType);
      const out = await this.decoder.run(
        {
          ...emb.tensors,
          text_features: f32([1, L, D], feats),
          text_mask: maskVals,
          // No box exemplar: one padding box labelled -10, as the reference pipeline feeds.
          input_boxes: f32([1, 1, 4], new Float32Array(4)),
          input_boxes_labels: i64([1, 1], BigInt64Array.of(-10n)),
        },
        { signal: o.signal },
      );
      const presence = sigmoid(asF32(out.presence_logits, 'SAM3 decoder presence_logits')[0]!);
      const logits = asF32(out.pred_logits, 'SAM3 decoder pred_logits');
      const boxes = asF32(out.pred_boxes, 'SAM3 decoder pred_boxes');
      const pm = out.pred_masks!;
      const mdata = asF32(pm, 'SAM3 decoder pred_masks');
      const [, Q, h, w] = pm.dims as number[];
      if (logits.length !== Q || boxes.length !== Q! * 4) {
        throw modelError('MODEL_RUN', `SAM3 decoder returned ${logits.length} logits and ${boxes.length / 4} boxes for ${Q} mask queries`);
      }
      const accepted = presence >= o.presenceThreshold;
      let count = 0;
      if (accepted) {
        for (let q = 0; q < Q!; q++) {
          const score = sigmoid(logits[q]!) * presence;
          if (!(score > o.scoreThreshold)) continue;
          const crop = upsampleMask(mdata, q * h! * w!, w!, h!, W, H, o.maskThreshold);
          if (crop.area === 0) continue;
          masks.push({
            ...crop,
            score,
            concept: names[t],
            box: [clampX(boxes[q * 4]!), clampY(boxes[q * 4 + 1]!), clampX(boxes[q * 4 + 2]!), clampY(boxes[q * 4 + 3]!)],
          });
          count++;
        }
      }
      infos.push({ name: names[t]!, presence, accepted, maskCount: count });
    }
    masks.sort((a, b) => b.score - a.score);
    return { width: W, height: H, masks, concepts: infos };
  }

  /** Disposes the three sessions. */
  async dispose(): Promise<void> {
    await Promise.all([this.visionEncoder.dispose(), this.textEncoder.dispose(), this.decoder.dispose()]);
  }
}

/** Row t of the text encoder's mask, in the element type the decoder takes (bool or int64). */
function textMaskRow(tm: CpuTensor, t: number, L: number, type: string): CpuTensor {
  const src = tm.data;
  if (type === 'int64') {
    const out = new BigInt64Array(L);
    for (let i = 0; i < L; i++) out[i] = (src as ArrayLike<number | bigint>)[t * L + i] ? 1n : 0n;
    return { type: 'int64', dims: [1, L], data: out };
  }
  const out = new Uint8Array(L);
  for (let i = 0; i < L; i++) out[i] = (src as ArrayLike<number | bigint>)[t * L + i] ? 1 : 0;
  return { type: 'bool', dims: [1, L], data: out };
}

// ---------------------------------------------------------------------------------------------------------
// Into the core

/** A mask set resolved for the core. */
export interface ResolvedSam3Masks {
  /** `{ kind: 'labels', labels, concepts }`: non-overlapping, concept name per label id. */
  masks: MasksInput & { kind: 'labels' };
  /** Score of each label id. */
  scores: Float32Array;
  /** For each label id, the index of its mask in the set's `masks`. */
  source: Int32Array;
}

/**
 * Resolves a mask set into a non-overlapping label map for `decompose()`: masks are painted by decreasing
 * score (ties: set order) onto free pixels, so the higher score wins where masks overlap; masks left with no
 * pixel are dropped. Label ids follow painting order; `concepts[id]` is the mask's concept name.
 */
export function resolveSam3Masks(set: Sam3MaskSet): ResolvedSam3Masks {
  const r = resolveLabelMap(set.masks, set.masks.map((m) => m.score), set.width, set.height);
  const concepts = Array.from(r.source, (k) => set.masks[k]!.concept);
  return { masks: { kind: 'labels', labels: r.labels, concepts }, scores: r.scores, source: r.source };
}

/** The mask set as the core's list of full-size binary masks (score and concept on each). */
export function sam3MasksToList(set: Sam3MaskSet): BinaryMask[] {
  return set.masks.map((m) => ({ data: cropMaskToFull(m, set.width, set.height), score: m.score, concept: m.concept }));
}
