/**
 * The demo worker's model path: photo → Depth Anything 3 → SAM3 automatic masks → core stages, through
 * diorama's models module (onnxruntime-web; WebGPU when the worker has it, else wasm), and the SAM3 prompts
 * on the resulting photo (click to select an object, text concepts).
 *
 * Models are loaded into one runtime owned here and kept for the next photo as long as their settings do
 * not change (each model is keyed by its own source, the runtime by the execution provider). The depth model
 * and the SAM3 tracker are handed to a `PhotoPipeline` already loaded, so that this module keeps the tracker
 * and the photo's image embedding: a `PromptSession` holds them, with the label map the run fed to the core,
 * and answers each prompt by editing that label map and running the core `decompose()` again on the same
 * depth. The vision encoders run once per photo (tracker: during the automatic segmentation, or on the first
 * click; detector: on the first concept prompt); every later prompt reuses their embedding.
 */
import { decompose } from '../src/core/decompose';
import { DioramaError, throwIfAborted } from '../src/core/errors';
import { resolveMasks } from '../src/core/validate';
import type { DecomposeInput, Decomposition, Intrinsics, MasksInput, RGBAImage } from '../src/core/types';
import { type DepthModel, type DepthResult, loadDepthModel } from '../src/models/da3';
import { PhotoPipeline, type MaskSegmenter } from '../src/models/decompose-photo';
import { fetchModelFile, type DownloadProgress } from '../src/models/fetch';
import type { ModelSource } from '../src/models/registry';
import { createRuntime, type ModelRuntime } from '../src/models/runtime';
import { Sam3Concepts, Sam3ImageEmbedding, Sam3Tracker, resolveSam3Masks, type Sam3MaskSet, type Sam3Point } from '../src/models/sam3';
import { chooseSelectionMask, maxLabel, paintCropMask, paintLabelMap } from './prompt-labels';
import type { ModelFileSetting, ModelSettings, Prompt, PromptOutcome } from './protocol';

/** Where the SAM3 tokenizer comes from when the settings leave it empty: the model's own tokenizer.json. */
export const DEFAULT_SAM3_TOKENIZER_URL = 'https://huggingface.co/facebook/sam3/resolve/main/tokenizer.json';

/** Progress callback of the worker: (stage, fraction in [0, 1], detail, byte progress of download stages). */
export type Progress = (stage: string, fraction: number, detail?: string, bytes?: { loaded: number; total?: number; cached: boolean }) => void;

interface Ctx {
  signal: AbortSignal;
  progress: Progress;
}

/** The models module's source for a setting: a local file's bytes (read now), a URL, or undefined (registry default). */
async function source(s: ModelFileSetting | undefined): Promise<ModelSource | undefined> {
  if (s?.file) return { bytes: new Uint8Array(await s.file.arrayBuffer()), name: s.file.name };
  return s?.url || undefined;
}

/** Identity of a model file setting: its URL, or the local file's name, size and date (bytes are not hashed). */
function keyOf(s: ModelFileSetting | undefined): string {
  if (s?.file) return `file:${s.file.name}:${s.file.size}:${s.file.lastModified}`;
  return s?.url || 'default';
}

/** One progress bar per model file: stage `download:<url>` with its loaded/total bytes. */
function downloadProgress(progress: Progress): (p: DownloadProgress) => void {
  return (p) =>
    progress(`download:${p.file}`, p.total ? p.loaded / p.total : p.cached ? 1 : 0, `${p.file}: ${p.loaded}${p.total !== undefined ? `/${p.total}` : ''} bytes${p.cached ? ' (cached)' : ''}`, {
      loaded: p.loaded,
      ...(p.total !== undefined ? { total: p.total } : {}),
      cached: p.cached,
    });
}

/** Load options shared by every model of the settings (download progress, mirror). */
function loadOptions(settings: ModelSettings, ctx: Ctx) {
  return { signal: ctx.signal, onProgress: downloadProgress(ctx.progress), ...(settings.modelBaseUrl ? { modelBaseUrl: settings.modelBaseUrl } : {}) };
}

/** A loaded model kept while its settings key stays the same. */
class Kept<T extends { dispose(): Promise<void> }> {
  private slot?: { key: string; model: T };

  /** The model for `key`: the kept one, or a new one from `load` (the previous one is disposed first). */
  async get(key: string, ctx: Ctx, load: () => Promise<T>): Promise<T> {
    if (this.slot?.key === key) return this.slot.model;
    ctx.progress('load', 0);
    await this.clear();
    const model = await load();
    this.slot = { key, model };
    ctx.progress('load', 1);
    return model;
  }

  async clear(): Promise<void> {
    const s = this.slot;
    this.slot = undefined;
    await s?.model.dispose().catch(() => undefined);
  }
}

/**
 * The worker's loaded models, on one runtime. Each accessor returns the loaded model for the settings,
 * loading it (and disposing a previous one with other settings) when needed. Calls must not overlap (the
 * worker runs one request at a time).
 */
class ModelSet {
  private readonly runtime = new Kept<ModelRuntime>();
  private readonly depth = new Kept<DepthModel>();
  private readonly tracker = new Kept<Sam3Tracker>();
  private readonly concepts = new Kept<Sam3Concepts>();
  private runtimeKey?: string;

  private async rt(settings: ModelSettings, ctx: Ctx): Promise<ModelRuntime> {
    const ep = settings.executionProvider ?? 'auto';
    // Sessions belong to their runtime: another execution provider means reloading every model.
    if (this.runtimeKey !== ep) await this.disposeAll();
    this.runtimeKey = ep;
    return this.runtime.get(ep, ctx, () =>
      createRuntime({ wasmPaths: '/node_modules/onnxruntime-web/dist/', ...(ep !== 'auto' ? { executionProviders: [ep] } : {}) }),
    );
  }

  /** The depth model of the settings (registry default: DA3-Small). */
  async depthModel(settings: ModelSettings, ctx: Ctx): Promise<DepthModel> {
    const rt = await this.rt(settings, ctx);
    return this.depth.get(`${keyOf(settings.depth)}|${settings.modelBaseUrl ?? ''}`, ctx, async () =>
      loadDepthModel(rt, (await source(settings.depth)) ?? 'da3-small', loadOptions(settings, ctx)),
    );
  }

  /** The SAM3 tracker (vision encoder + prompt decoder) of the settings. */
  async trackerModel(settings: ModelSettings, ctx: Ctx): Promise<Sam3Tracker> {
    const rt = await this.rt(settings, ctx);
    return this.tracker.get(`${keyOf(settings.samEncoder)}|${keyOf(settings.samDecoder)}|${settings.modelBaseUrl ?? ''}`, ctx, async () => {
      const visionEncoder = await source(settings.samEncoder);
      const decoder = await source(settings.samDecoder);
      return Sam3Tracker.load(rt, { ...(visionEncoder ? { visionEncoder } : {}), ...(decoder ? { decoder } : {}) }, loadOptions(settings, ctx));
    });
  }

  /** The SAM3 concept graphs (detector vision encoder, text encoder, decoder) and tokenizer of the settings. */
  async conceptModel(settings: ModelSettings, ctx: Ctx): Promise<Sam3Concepts> {
    const rt = await this.rt(settings, ctx);
    const key = [settings.conceptVision, settings.conceptText, settings.conceptDecoder, settings.conceptTokenizer].map(keyOf).join('|') + `|${settings.modelBaseUrl ?? ''}`;
    return this.concepts.get(key, ctx, async () => {
      const opts = loadOptions(settings, ctx);
      const tokenizer = await loadTokenizer(settings.conceptTokenizer, opts);
      const visionEncoder = await source(settings.conceptVision);
      const textEncoder = await source(settings.conceptText);
      const decoder = await source(settings.conceptDecoder);
      return Sam3Concepts.load(rt, { tokenizer, ...(visionEncoder ? { visionEncoder } : {}), ...(textEncoder ? { textEncoder } : {}), ...(decoder ? { decoder } : {}) }, opts);
    });
  }

  /** Disposes every model, then the runtime. */
  async disposeAll(): Promise<void> {
    for (const k of [this.concepts, this.tracker, this.depth, this.runtime]) await k.clear();
    this.runtimeKey = undefined;
  }
}

/** The SAM3 tokenizer.json (a local file, or fetched and cached like the models), parsed. */
async function loadTokenizer(s: ModelFileSetting | undefined, opts: { signal: AbortSignal; onProgress: (p: DownloadProgress) => void }): Promise<object> {
  const url = s?.url || DEFAULT_SAM3_TOKENIZER_URL;
  const text = s?.file ? await s.file.text() : new TextDecoder().decode(await fetchModelFile(url, opts));
  try {
    return JSON.parse(text) as object;
  } catch (e) {
    const what = s?.file ? `file '${s.file.name}'` : `'${url}'`;
    throw new DioramaError('MODEL_LOAD', `SAM3 tokenizer ${what}: expected a tokenizer.json (JSON); parsing failed (${(e as Error).message})`, { cause: e });
  }
}

const models = new ModelSet();

/**
 * Automatic SAM3 masks that keep the photo's image embedding instead of disposing it, so that the clicks on
 * that photo reuse it. `take(photo)` hands the embedding of `photo` over to the caller (once).
 */
class EmbeddingKeepingSegmenter implements MaskSegmenter {
  private kept?: { image: RGBAImage; emb: Sam3ImageEmbedding };

  constructor(private readonly tracker: Sam3Tracker) {}

  async segment(image: RGBAImage, o: { signal?: AbortSignal; onProgress?: (f: number) => void } = {}): Promise<Sam3MaskSet> {
    this.kept?.emb.dispose();
    this.kept = undefined;
    const emb = await this.tracker.embed(image, { signal: o.signal });
    this.kept = { image, emb };
    return this.tracker.generate(emb, { signal: o.signal, onProgress: o.onProgress });
  }

  take(image: RGBAImage): Sam3ImageEmbedding | undefined {
    const k = this.kept;
    this.kept = undefined;
    if (k && k.image !== image) {
      k.emb.dispose();
      return undefined;
    }
    return k?.emb;
  }
}

/** How the core is called on a prompt session's photo (as `PhotoPipeline.run` calls it after its models). */
interface SessionDepth {
  values: Float32Array;
  isInverse: boolean;
  /** Known intrinsics (model, EXIF or caller); undefined = the core's field-of-view default. */
  intrinsics?: Intrinsics;
}

/**
 * One photo's state for SAM3 prompts: the photo, its depth, the label map last fed to `decompose()` (ids
 * need not be dense), a concept name per id, and the image embeddings. Owned by the worker; `dispose()`
 * releases the embeddings.
 */
export class PromptSession {
  private labels: Int32Array;
  private concepts: (string | undefined)[];
  private nextId: number;
  private trackerEmb?: Sam3ImageEmbedding;
  private conceptEmb?: Sam3ImageEmbedding;
  /** The last click selection, for negative points: its id, points and the label map before it. */
  private last?: { id: number; points: Sam3Point[]; before: Int32Array; concept: string | undefined };
  private selections = 0;

  constructor(
    /** The id of the run that produced the photo (what the page sends prompts to). */
    readonly id: number,
    readonly photo: RGBAImage,
    private readonly depth: SessionDepth,
    /** Depth in metres for the page's overlay (0 = unknown); never modified (it may share the depth's array). */
    readonly overlayDepth: Float32Array,
    private readonly original: { labels: Int32Array; concepts: (string | undefined)[] },
    trackerEmbedding?: Sam3ImageEmbedding,
  ) {
    this.labels = original.labels.slice();
    this.concepts = original.concepts.slice();
    this.nextId = Math.max(maxLabel(this.labels) + 1, this.concepts.length);
    this.trackerEmb = trackerEmbedding;
  }

  get width(): number {
    return this.photo.width;
  }

  get height(): number {
    return this.photo.height;
  }

  /**
   * Answers a prompt: edits a copy of the label map, runs `decompose()` with it and commits the copy only when
   * that succeeds (an aborted or failed prompt leaves the session as it was). Returns the new decomposition,
   * or only a message when the prompt changes nothing (a concept the presence head rejects, an empty mask).
   */
  async apply(prompt: Prompt, settings: ModelSettings, ctx: Ctx): Promise<{ result?: Decomposition; outcome: PromptOutcome }> {
    let edit: Edit | { outcome: PromptOutcome };
    if (prompt.kind === 'click') edit = await this.click(prompt.x, prompt.y, prompt.negative, settings, ctx);
    else if (prompt.kind === 'concepts') edit = await this.conceptPrompt(prompt.phrases, settings, ctx);
    else edit = { labels: this.original.labels.slice(), concepts: this.original.concepts.slice(), nextId: this.nextId, last: undefined, outcome: { kind: 'reset', message: 'masks reset to the model run' } };
    if (!('labels' in edit)) return edit;
    throwIfAborted(ctx.signal);
    const result = await this.decompose(edit.labels, edit.concepts, ctx);
    this.labels = edit.labels;
    this.concepts = edit.concepts;
    this.nextId = edit.nextId;
    this.last = edit.last;
    if (prompt.kind === 'click' && !prompt.negative) this.selections++;
    if (prompt.kind === 'reset') this.selections = 0;
    return { result, outcome: edit.outcome };
  }

  /** Runs the core on the photo with a label map, as the model run did (same depth, same intrinsics rule). */
  private async decompose(labels: Int32Array, concepts: (string | undefined)[], ctx: Ctx): Promise<Decomposition> {
    const masks: MasksInput = { kind: 'labels', labels, concepts };
    const input: DecomposeInput = {
      image: this.photo,
      depth: this.depth.values,
      depthIsInverse: this.depth.isInverse,
      masks,
      ...(this.depth.intrinsics ? { intrinsics: this.depth.intrinsics } : {}),
    };
    return decompose(input, { signal: ctx.signal, onProgress: (s, f) => ctx.progress(s, f) });
  }

  /** The tracker's embedding of this photo (computed on first use, and again if the tracker was reloaded). */
  private async trackerEmbedding(tracker: Sam3Tracker, ctx: Ctx): Promise<Sam3ImageEmbedding> {
    this.trackerEmb = await this.embedding(this.trackerEmb, tracker, ctx);
    return this.trackerEmb;
  }

  /** The concept detector's embedding of this photo (same rules). */
  private async conceptEmbedding(model: Sam3Concepts, ctx: Ctx): Promise<Sam3ImageEmbedding> {
    this.conceptEmb = await this.embedding(this.conceptEmb, model, ctx);
    return this.conceptEmb;
  }

  /** `held` if it is alive and made by `model`, else a fresh embedding of the photo (the stale one disposed). */
  private async embedding(held: Sam3ImageEmbedding | undefined, model: Sam3Tracker | Sam3Concepts, ctx: Ctx): Promise<Sam3ImageEmbedding> {
    if (held && !held.disposed && held.owner === model) return held;
    held?.dispose();
    ctx.progress('embed', 0);
    const emb = await model.embed(this.photo, { signal: ctx.signal });
    ctx.progress('embed', 1);
    return emb;
  }

  /**
   * A click: a positive point starts a new selection (a new mask id painted over the map); a negative point
   * re-runs the last selection's points plus this one and repaints that selection over the map it was
   * painted on.
   */
  private async click(x: number, y: number, negative: boolean, settings: ModelSettings, ctx: Ctx): Promise<Edit | { outcome: PromptOutcome }> {
    const W = this.width, H = this.height;
    if (!(x >= 0 && x < W && y >= 0 && y < H)) {
      throw new DioramaError('INVALID_OPTION', `click at (${x.toFixed(1)}, ${y.toFixed(1)}): expected a point inside the ${W}x${H} photo`);
    }
    if (negative && !this.last) {
      return { outcome: { kind: 'click', message: 'shift-click removes a region from the last selection: click an object first' } };
    }
    const tracker = await models.trackerModel(settings, ctx);
    const emb = await this.trackerEmbedding(tracker, ctx);
    const refine = negative ? this.last : undefined;
    const points: Sam3Point[] = [...(refine?.points ?? []), { x, y, label: negative ? 0 : 1 }];
    ctx.progress('select', 0);
    const [r] = await tracker.predict(emb, [{ points }], { signal: ctx.signal });
    ctx.progress('select', 1);
    const m = chooseSelectionMask(r!, points);
    if (m < 0) return { outcome: { kind: 'click', message: `SAM3 found no object at (${Math.floor(x)}, ${Math.floor(y)})` } };
    const mask = r!.masks[m]!;
    const labels = refine ? refine.before.slice() : this.labels.slice();
    const id = refine ? refine.id : this.nextId;
    const concept = refine ? refine.concept : `selection ${this.selections + 1}`;
    const area = paintCropMask(labels, W, mask, id);
    const concepts = this.concepts.slice();
    concepts[id] = concept;
    const before = refine ? refine.before : this.labels;
    const selection = { x, y, area, predictedIoU: mask.predictedIoU ?? mask.score, refined: !!refine };
    return {
      labels,
      concepts,
      nextId: refine ? this.nextId : id + 1,
      last: { id, points, before, concept },
      outcome: {
        kind: 'click',
        message: `${concept}${refine ? ' refined' : ''}: ${area} pixels (predicted IoU ${selection.predictedIoU.toFixed(2)})`,
        selection,
      },
    };
  }

  /** Text concepts: every accepted concept's masks are painted over the map with their names. */
  private async conceptPrompt(phrases: string[], settings: ModelSettings, ctx: Ctx): Promise<Edit | { outcome: PromptOutcome }> {
    const model = await models.conceptModel(settings, ctx);
    const emb = await this.conceptEmbedding(model, ctx);
    ctx.progress('concepts', 0);
    const r = await model.segment(emb, phrases, { signal: ctx.signal });
    ctx.progress('concepts', 1);
    const infos = r.concepts.map((c) => ({ name: c.name, presence: c.presence, accepted: c.accepted, maskCount: c.maskCount }));
    const found = infos.filter((c) => c.accepted && c.maskCount > 0);
    const missing = infos.filter((c) => !(c.accepted && c.maskCount > 0)).map((c) => `no '${c.name}' in this photo`);
    if (found.length === 0) return { outcome: { kind: 'concepts', message: missing.join('; '), concepts: infos } };
    const resolved = resolveSam3Masks(r).masks;
    const labels = this.labels.slice();
    const base = this.nextId;
    paintLabelMap(labels, resolved.labels, base);
    const concepts = this.concepts.slice();
    const count = resolved.concepts?.length ?? 0;
    for (let k = 0; k < count; k++) concepts[base + k] = resolved.concepts![k];
    const said = found.map((c) => `${c.name}: ${c.maskCount} mask${c.maskCount === 1 ? '' : 's'}`);
    return {
      labels,
      concepts,
      nextId: base + count,
      // A concept prompt paints over the last selection: refining it afterwards would undo the concepts.
      last: undefined,
      outcome: { kind: 'concepts', message: [...said, ...missing].join('; '), concepts: infos },
    };
  }

  /** Releases the image embeddings. */
  dispose(): void {
    this.trackerEmb?.dispose();
    this.conceptEmb?.dispose();
    this.trackerEmb = this.conceptEmb = undefined;
  }
}

/** A candidate label-map state produced by a prompt, committed once the core succeeded on it. */
interface Edit {
  labels: Int32Array;
  concepts: (string | undefined)[];
  nextId: number;
  last: { id: number; points: Sam3Point[]; before: Int32Array; concept: string | undefined } | undefined;
  outcome: PromptOutcome;
}

/**
 * Photo → models → core, with the loaded models kept for the next call. Returns the decomposition (without
 * the model-side extras the page does not need), the depth for the overlay, and the prompt session of this
 * photo (the caller owns it and disposes it when the next photo comes).
 */
export async function runWithModels(
  runId: number,
  photo: RGBAImage,
  settings: ModelSettings,
  options: { masks?: MasksInput; intrinsics?: Intrinsics; photoBytes?: Blob },
  signal: AbortSignal,
  progress: Progress,
): Promise<{ result: Decomposition; inputDepth: Float32Array; session: PromptSession }> {
  const ctx: Ctx = { signal, progress };
  progress('load', 0);
  const depthModel = await models.depthModel(settings, ctx);
  const segmenter = settings.segment && !options.masks ? new EmbeddingKeepingSegmenter(await models.trackerModel(settings, ctx)) : undefined;
  progress('load', 1);
  // Loaded models in, nothing owned: disposing this pipeline releases nothing the next photo needs.
  const pipeline = await PhotoPipeline.load({ depth: depthModel, masks: segmenter ?? false });
  let trackerEmb: Sam3ImageEmbedding | undefined;
  try {
    const out = await pipeline.run(photo, {
      signal,
      onProgress: (s, f) => progress(s, f),
      ...(options.masks ? { masks: options.masks } : {}),
      ...(options.intrinsics ? { intrinsics: options.intrinsics } : {}),
      ...(options.photoBytes ? { exif: options.photoBytes } : {}),
    });
    trackerEmb = segmenter?.take(photo);
    const { depth, maskSet, modelTimings: _t, ...result } = out;
    const core = sessionDepth(depth);
    const session = new PromptSession(
      runId,
      { width: photo.width, height: photo.height, data: photo.data.slice() },
      core,
      core.isInverse ? metresFromInverse(core.values) : core.values,
      initialLabels(options.masks, maskSet, photo.width, photo.height),
      trackerEmb,
    );
    trackerEmb = undefined;
    return { result, inputDepth: session.overlayDepth.slice(), session };
  } finally {
    trackerEmb?.dispose();
    segmenter?.take(photo)?.dispose();
    await pipeline.dispose();
  }
}

/** The depth as `PhotoPipeline.run` feeds it to the core (a copy: the run's arrays are posted to the page). */
function sessionDepth(d: DepthResult): SessionDepth {
  return {
    values: d.depth.slice(),
    isInverse: d.quantity === 'disparity',
    ...(d.intrinsicsSource === 'fov-default' ? {} : { intrinsics: { ...d.intrinsics } }),
  };
}

/** Depth in metres for the overlay from inverse depth (DA2's disparity); 0 stays unknown. */
function metresFromInverse(inv: Float32Array): Float32Array {
  const out = new Float32Array(inv.length);
  for (let i = 0; i < out.length; i++) out[i] = inv[i]! > 0 ? 1 / inv[i]! : 0;
  return out;
}

/** The label map the run fed to the core: the caller's masks (resolved as the core does), the resolved SAM3 masks, or none. */
function initialLabels(given: MasksInput | undefined, maskSet: Sam3MaskSet | undefined, W: number, H: number): { labels: Int32Array; concepts: (string | undefined)[] } {
  if (given) {
    const r = resolveMasks(given, W, H);
    return { labels: r.labels, concepts: r.concepts };
  }
  if (maskSet) {
    const r = resolveSam3Masks(maskSet).masks;
    return { labels: r.labels, concepts: r.concepts ?? [] };
  }
  return { labels: new Int32Array(W * H).fill(-1), concepts: [] };
}
