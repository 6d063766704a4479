/**
 * Where model files live, and turning a model source into bytes for the runtime.
 *
 * A source is one of:
 *   - a registry id ('da3-small', 'da2-small', …) — public Hugging Face exports, see MODEL_REGISTRY;
 *   - `{ id, precision?, baseUrl?, revision? }` — a registry entry, optionally from a mirror (`baseUrl` replaces
 *     the Hugging Face `resolve/<revision>/` prefix: point it at a local copy of the repository's files);
 *   - a URL string (in Node, a string with a slash or an .onnx suffix that is not an http(s)/data/blob URL is a file path) or
 *     `{ url, externalData?, sha256?, precision? }`;
 *   - `{ path, externalData?, sha256? }` — a local file (Node);
 *   - `{ bytes, externalData?, name? }` — bytes the caller already has.
 *
 * Variants: fp32 / fp16 / q8 are separate files named by suffix, the transformers.js convention:
 * `model.onnx`, `model_fp16.onnx`, `model_quantized.onnx`. For a URL or path source a non-fp32 precision applies
 * the suffix; registry entries list their files explicitly (not every export ships every variant).
 * External data: `externalData: true` means `<file>_data` next to the model (transformers.js convention); a list
 * names the files relative to the model's directory. The graph refers to them by base name.
 *
 * The URLs are real public locations (verified by listing, not by loading: these machines cannot download).
 * Tensor names of third-party exports differ; the adapters' contracts list the known aliases and fail with
 * MODEL_CONTRACT naming both sides when a file does not fit.
 */
import { modelError } from './errors';
import { type FetchOptions, fetchModelFile, readModelFile } from './fetch';
import { type ModelBytes, type Precision, isNode } from './runtime';

/** What a depth model's output means (decides the metric conversion). */
export type DepthModelKind =
  /** DA3 main series (Small/Base/Large/Giant): relative depth; camera head (intrinsics) when exported. */
  | 'da3-main'
  /** DA3Mono-Large: relative depth. */
  | 'da3-mono'
  /** DA3Metric-Large: metres = focal_px · output / 300. */
  | 'da3-metric'
  /** DA3Nested-Giant-Large: metres directly. */
  | 'da3-nested'
  /** Depth Anything V2: relative disparity (inverse depth up to scale and shift). */
  | 'da2';

export interface ModelFileSet {
  /** Path of the .onnx file relative to the entry's base URL. */
  readonly model: string;
  /** External data files relative to the base URL. */
  readonly externalData?: readonly string[];
  /** Expected SHA-256 (hex) of the model file. */
  readonly sha256?: string;
}

export interface RegistryEntry {
  readonly id: string;
  readonly description: string;
  /** SPDX id or licence name of the weights. */
  readonly license: string;
  /** Hugging Face repository (owner/name). */
  readonly repo: string;
  /** Where the files live when not on Hugging Face (a directory URL); wins over `repo`. */
  readonly baseUrl?: string;
  readonly variants: Readonly<Partial<Record<Precision, ModelFileSet>>>;
  /** Depth models: how to read the output. */
  readonly kind?: DepthModelKind;
}

/** Hugging Face file URL: https://huggingface.co/<repo>/resolve/<revision>/<file>. */
export function huggingFaceUrl(repo: string, file: string, revision = 'main'): string {
  return `https://huggingface.co/${repo}/resolve/${encodeURIComponent(revision)}/${file}`;
}

/** The public exports Diorama knows. */
export const MODEL_REGISTRY: Readonly<Record<string, RegistryEntry>> = Object.freeze({
  'da3-small': {
    id: 'da3-small',
    description: 'Depth Anything 3 Small (main series), depth branch only, fixed-resolution ONNX export; relative depth',
    license: 'Apache-2.0',
    repo: 'zerochocobo/DepthAnything3_ONNX',
    kind: 'da3-main',
    variants: { fp32: { model: 'da3_small.onnx' } },
  },
  'da3-base': {
    id: 'da3-base',
    description: 'Depth Anything 3 Base (main series), depth branch only, fixed-resolution ONNX export; relative depth',
    license: 'Apache-2.0',
    repo: 'zerochocobo/DepthAnything3_ONNX',
    kind: 'da3-main',
    variants: { fp32: { model: 'da3_base.onnx' } },
  },
  'da2-small': {
    id: 'da2-small',
    description: 'Depth Anything V2 Small (transformers.js export); relative disparity — the non-metric fallback',
    license: 'Apache-2.0',
    repo: 'onnx-community/depth-anything-v2-small',
    kind: 'da2',
    variants: {
      fp32: { model: 'onnx/model.onnx' },
      fp16: { model: 'onnx/model_fp16.onnx' },
      q8: { model: 'onnx/model_quantized.onnx' },
    },
  },
  // SAM3 tracker (point/box prompts), two graphs, transformers.js layout. Meta SAM License; the repository may be
  // gated (pass an Authorization header through `fetch` options, or a local mirror with `baseUrl`). External-data
  // and variant file names follow the public download scripts for this export; the int8 files stand in for q8.
  'sam3-tracker-vision-encoder': {
    id: 'sam3-tracker-vision-encoder',
    description: 'SAM3 tracker vision encoder (pixel_values → image_embeddings.0/1/2)',
    license: 'SAM License (Meta)',
    repo: 'onnx-community/sam3-tracker-ONNX',
    variants: {
      fp32: { model: 'onnx/vision_encoder.onnx', externalData: ['onnx/vision_encoder.onnx_data'] },
      fp16: { model: 'onnx/vision_encoder_fp16.onnx', externalData: ['onnx/vision_encoder_fp16.onnx_data'] },
      q8: { model: 'onnx/vision_encoder_int8.onnx' },
    },
  },
  'sam3-tracker-decoder': {
    id: 'sam3-tracker-decoder',
    description: 'SAM3 tracker prompt encoder + mask decoder (points/boxes → iou_scores, pred_masks, object_score_logits)',
    license: 'SAM License (Meta)',
    repo: 'onnx-community/sam3-tracker-ONNX',
    variants: {
      fp32: { model: 'onnx/prompt_encoder_mask_decoder.onnx', externalData: ['onnx/prompt_encoder_mask_decoder.onnx_data'] },
      fp16: { model: 'onnx/prompt_encoder_mask_decoder_fp16.onnx', externalData: ['onnx/prompt_encoder_mask_decoder_fp16.onnx_data'] },
      q8: { model: 'onnx/prompt_encoder_mask_decoder_int8.onnx' },
    },
  },
  // SAM3 detector (text concepts), three graphs from a public export hosted as GitHub release assets
  // (jamjamjon/assets, tag sam3). Meta SAM License. The model's tokenizer.json (facebook/sam3) is passed separately.
  'sam3-concept-vision-encoder': {
    id: 'sam3-concept-vision-encoder',
    description: 'SAM3 detector vision encoder (images → fpn_feat_0/1/2, fpn_pos_2)',
    license: 'SAM License (Meta)',
    repo: 'jamjamjon/assets',
    baseUrl: 'https://github.com/jamjamjon/assets/releases/download/sam3/',
    variants: { fp32: { model: 'vision-encoder.onnx' } },
  },
  'sam3-concept-text-encoder': {
    id: 'sam3-concept-text-encoder',
    description: 'SAM3 text encoder (input_ids, attention_mask [T, 32] → text_features, text_mask)',
    license: 'SAM License (Meta)',
    repo: 'jamjamjon/assets',
    baseUrl: 'https://github.com/jamjamjon/assets/releases/download/sam3/',
    variants: { fp32: { model: 'text-encoder.onnx' } },
  },
  'sam3-concept-decoder': {
    id: 'sam3-concept-decoder',
    description: 'SAM3 geometry encoder + DETR decoder (→ pred_boxes, pred_logits, pred_masks, presence_logits)',
    license: 'SAM License (Meta)',
    repo: 'jamjamjon/assets',
    baseUrl: 'https://github.com/jamjamjon/assets/releases/download/sam3/',
    variants: { fp32: { model: 'geo-encoder-mask-decoder.onnx' } },
  },
} satisfies Record<string, RegistryEntry>);

export type ModelSource =
  | string
  | { readonly id: string; readonly precision?: Precision | 'auto'; readonly baseUrl?: string; readonly revision?: string }
  | { readonly url: string; readonly externalData?: readonly string[] | boolean; readonly sha256?: string; readonly precision?: Precision }
  | { readonly path: string; readonly externalData?: readonly string[] | boolean; readonly sha256?: string; readonly precision?: Precision }
  | { readonly bytes: Uint8Array | ArrayBuffer; readonly externalData?: readonly { readonly path: string; readonly bytes: Uint8Array }[]; readonly name?: string };

/** File name of a precision variant: model.onnx → model_fp16.onnx / model_quantized.onnx. */
export function variantFile(file: string, precision: Precision): string {
  if (precision === 'fp32') return file;
  const suffix = precision === 'fp16' ? '_fp16' : '_quantized';
  const m = /^(.*?)(\.onnx)?$/.exec(file)!;
  return `${m[1]}${suffix}${m[2] ?? ''}`;
}

export interface LoadModelOptions extends FetchOptions {
  /** Requested precision (default 'auto': the chooser decides; plain URLs/paths default to fp32). */
  precision?: Precision | 'auto';
  /** Maps a requested precision to a runnable one (ModelRuntime.choosePrecision). */
  choosePrecision?: (requested: Precision | 'auto', available: readonly Precision[]) => Precision;
}

/** Model bytes plus what was loaded. */
export interface LoadedModel extends ModelBytes {
  readonly precision: Precision;
  /** Registry entry when the source was one. */
  readonly entry?: RegistryEntry;
}

function isUrlLike(s: string): boolean {
  return /^(https?:|blob:|data:)/i.test(s) || s.startsWith('/') || s.startsWith('./') || s.startsWith('../');
}

function dirOf(urlOrPath: string): string {
  const clean = urlOrPath.split(/[?#]/)[0]!;
  const i = clean.lastIndexOf('/');
  return i >= 0 ? clean.slice(0, i + 1) : '';
}

function baseName(p: string): string {
  return p.split(/[?#]/)[0]!.split('/').pop()!;
}

function resolveRelative(base: string, rel: string): string {
  if (/^[a-z]+:/i.test(rel) || rel.startsWith('/')) return rel;
  return dirOf(base) + rel;
}

/**
 * Loads a model source into bytes (downloading, reading or passing through), with its external data.
 * Throws MODEL_FETCH / MODEL_INTEGRITY / ABORTED from the fetch layer and INVALID_OPTION for an unknown id.
 */
export async function loadModelBytes(source: ModelSource, options: LoadModelOptions = {}): Promise<LoadedModel> {
  const choose = options.choosePrecision ?? ((r: Precision | 'auto') => (r === 'auto' ? 'fp32' : r));
  if (typeof source === 'string') {
    if (MODEL_REGISTRY[source]) return loadModelBytes({ id: source }, options);
    // In Node a string that is not a URL is a file path; in browsers, paths are URLs relative to the page.
    const pathLike = /[\\/]/.test(source) || /\.onnx$/i.test(source);
    if (isNode() && pathLike && !/^(https?|data|blob):/i.test(source)) return loadModelBytes({ path: source }, options);
    if (isUrlLike(source) || source.endsWith('.onnx')) return loadModelBytes({ url: source }, options);
    return loadModelBytes({ id: source }, options);
  }
  if ('bytes' in source) {
    const b = source.bytes instanceof Uint8Array ? source.bytes : new Uint8Array(source.bytes);
    return { bytes: b, name: source.name ?? 'model bytes', externalData: source.externalData, precision: 'fp32' };
  }
  if ('id' in source) {
    const entry = MODEL_REGISTRY[source.id];
    if (!entry) throw modelError('INVALID_OPTION', `unknown model id '${source.id}'; known: ${Object.keys(MODEL_REGISTRY).join(', ')}`);
    const available = Object.keys(entry.variants) as Precision[];
    let precision = choose(source.precision ?? options.precision ?? 'auto', available);
    // A precision the entry does not ship: its fp32 file, else its first one.
    if (!entry.variants[precision]) precision = available.includes('fp32') ? 'fp32' : available[0]!;
    const files = entry.variants[precision]!;
    const base = source.baseUrl ?? entry.baseUrl ?? huggingFaceUrl(entry.repo, '', source.revision);
    const join = (rel: string) => (base.endsWith('/') ? base : base + '/') + rel;
    const loaded = await fetchSet(join(files.model), (files.externalData ?? []).map(join), files.sha256, false, options);
    return { ...loaded, precision, entry };
  }
  const precision: Precision = source.precision ?? (options.precision && options.precision !== 'auto' ? choose(options.precision, ['fp32', 'fp16', 'q8']) : 'fp32');
  const isPath = 'path' in source;
  const main = variantFile(isPath ? source.path : source.url, precision);
  const ext = source.externalData === true ? [`${baseName(main)}_data`] : source.externalData === false || !source.externalData ? [] : [...source.externalData];
  const loaded = await fetchSet(main, ext.map((e) => resolveRelative(main, e)), source.sha256, isPath, options);
  return { ...loaded, precision };
}

async function fetchSet(main: string, external: string[], sha256: string | undefined, isPath: boolean, options: LoadModelOptions): Promise<ModelBytes> {
  const get = (f: string, sha?: string) => (isPath ? readModelFile(f, { ...options, sha256: sha }) : fetchModelFile(f, { ...options, sha256: sha }));
  const bytes = await get(main, sha256);
  const externalData: { path: string; bytes: Uint8Array }[] = [];
  for (const f of external) externalData.push({ path: baseName(f), bytes: await get(f) });
  return { bytes, name: main, externalData: externalData.length ? externalData : undefined };
}
