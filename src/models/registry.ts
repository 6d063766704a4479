/**
 * Where model files live, and turning a model source into bytes for the runtime.
 *
 * A source is one of:
 *   - a registry id ('da3-small', 'da2-small', …) — public Hugging Face exports, see MODEL_REGISTRY;
 *   - `{ id, precision?, baseUrl?, modelBaseUrl?, revision? }` — a registry entry, optionally from a mirror:
 *     `modelBaseUrl` replaces the public host and keeps its layout (`<modelBaseUrl>/<repo>/resolve/<revision>/<file>`),
 *     `baseUrl` replaces the whole prefix (point it at the folder holding the entry's files);
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
  /** External data files relative to the base URL (transformers.js names them `<model>.onnx_data`). */
  readonly externalData?: readonly string[];
  /** Expected SHA-256 (hex) of the model file, where a public source pins it. */
  readonly sha256?: string;
  /** Exact size in bytes of the model file, where known (checked after download and on cache hits). */
  readonly bytes?: number;
  /** Approximate download size of the whole set (model + external data), in MB, for documentation and UIs. */
  readonly approxMB?: number;
}

/** The DA3 input layouts Diorama drives (see da3.ts: the adapter picks one from the session's inputs). */
export type DepthLayout = 'nchw-float' | 'nhwc-uint8';

export interface RegistryEntry {
  readonly id: string;
  readonly description: string;
  /** SPDX id or licence name of the weights. */
  readonly license: string;
  /** Repository (owner/name) on `host`. */
  readonly repo: string;
  /**
   * Where the repository lives: 'huggingface' (files at https://huggingface.co/<repo>/resolve/<revision>/<file>)
   * or 'github-release' (files at https://github.com/<repo>/releases/download/<tag>/<file>, `revision` = tag).
   */
  readonly host: 'huggingface' | 'github-release';
  /** Default revision (Hugging Face branch/commit, or the GitHub release tag). */
  readonly revision: string;
  readonly variants: Readonly<Partial<Record<Precision, ModelFileSet>>>;
  /** Depth models: how to read the output. */
  readonly kind?: DepthModelKind;
  /** Depth models: the input layout of the export (informative; the adapter reads it from the session). */
  readonly layout?: DepthLayout;
  /**
   * Set when browsers cannot download the files from their public location (GitHub release assets are served
   * without CORS headers): loading in a browser then needs `baseUrl` / `modelBaseUrl` pointing at a mirror.
   */
  readonly browserNeedsMirror?: string;
}

/** Hugging Face file URL: https://huggingface.co/<repo>/resolve/<revision>/<file>. */
export function huggingFaceUrl(repo: string, file: string, revision = 'main'): string {
  return `https://huggingface.co/${repo}/resolve/${encodeURIComponent(revision)}/${file}`;
}

/** The public host of an entry's files ('https://huggingface.co/' or 'https://github.com/'). */
export const PUBLIC_HOSTS: Readonly<Record<RegistryEntry['host'], string>> = Object.freeze({
  huggingface: 'https://huggingface.co/',
  'github-release': 'https://github.com/',
});

/**
 * The directory URL of an entry's files at `revision`. `modelBaseUrl` replaces the public host only, so a mirror
 * keeps the public layout: `<modelBaseUrl>/<repo>/resolve/<revision>/` (Hugging Face) or
 * `<modelBaseUrl>/<repo>/releases/download/<tag>/` (GitHub releases).
 */
export function entryBaseUrl(entry: RegistryEntry, options: { modelBaseUrl?: string; revision?: string } = {}): string {
  const host = options.modelBaseUrl ? (options.modelBaseUrl.endsWith('/') ? options.modelBaseUrl : options.modelBaseUrl + '/') : PUBLIC_HOSTS[entry.host];
  const rev = encodeURIComponent(options.revision ?? entry.revision);
  return entry.host === 'huggingface' ? `${host}${entry.repo}/resolve/${rev}/` : `${host}${entry.repo}/releases/download/${rev}/`;
}

const GITHUB_NO_CORS =
  'GitHub release assets are served without CORS headers, so a browser cannot download them; serve the files from your own origin and pass `modelBaseUrl` (layout <modelBaseUrl>/<repo>/releases/download/<tag>/<file>) or `baseUrl` (the folder holding the files), or load them in Node';

/**
 * The public exports Diorama knows. Every file named here was checked against a public listing or a public
 * project that downloads it (cited per entry); none can be downloaded on the machines this was written on.
 */
export const MODEL_REGISTRY: Readonly<Record<string, RegistryEntry>> = Object.freeze({
  // Depth Anything 3, transformers.js-style exports (onnx/model.onnx + onnx/model.onnx_data, fp32 only). Input
  // `pixel_values` float32 [batch, views, 3, H, W] (DA3's own forward takes x (B, N, 3, H, W):
  // ByteDance-Seed/Depth-Anything-3 src/depth_anything_3/model/da3.py), output `predicted_depth` per view (DualDPT
  // main head [B, S, …, H, W]: src/depth_anything_3/model/dualdpt.py), depth: larger is farther. Files and sizes
  // as listed by public projects that download them (e.g. a Rust model list: repo onnx-community/depth-anything-v3-small,
  // files ["onnx/model.onnx", "onnx/model.onnx_data"], 105 MB; -base 413 MB). External data name: transformers.js
  // getExternalDataChunkNames() → `${fullName}_data` (packages/transformers/src/utils/model-loader.js).
  'da3-small': {
    id: 'da3-small',
    description: 'Depth Anything 3 Small (main series), depth branch; relative depth (larger = farther)',
    license: 'Apache-2.0',
    repo: 'onnx-community/depth-anything-v3-small',
    host: 'huggingface',
    revision: 'main',
    kind: 'da3-main',
    layout: 'nchw-float',
    variants: { fp32: { model: 'onnx/model.onnx', externalData: ['onnx/model.onnx_data'], approxMB: 105 } },
  },
  'da3-base': {
    id: 'da3-base',
    description: 'Depth Anything 3 Base (main series), depth branch; relative depth (larger = farther)',
    license: 'Apache-2.0',
    repo: 'onnx-community/depth-anything-v3-base',
    host: 'huggingface',
    revision: 'main',
    kind: 'da3-main',
    layout: 'nchw-float',
    variants: { fp32: { model: 'onnx/model.onnx', externalData: ['onnx/model.onnx_data'], approxMB: 413 } },
  },
  // The uint8 channels-last export with the ImageNet normalisation folded into the graph: input uint8
  // [B, 518, 518, 3] RGB, letterboxed to the square; output a 518×518 depth map per image. Layout, size and letterbox
  // from a public consumer of these files (offline/da3_depth.py: "Folded-preprocess models take a uint8
  // (B,size,size,3) canvas"; DA3_INPUT_SIZE = 518); file size and SHA-256 of da3_small.onnx as pinned by another
  // public consumer (MODEL_BYTES 100_704_575, MODEL_SHA256 d659ca25…). Users who already have these files keep them.
  'da3-small-nhwc': {
    id: 'da3-small-nhwc',
    description: 'Depth Anything 3 Small, uint8 NHWC 518×518 export with folded normalisation (zerochocobo); relative depth',
    license: 'Apache-2.0',
    repo: 'zerochocobo/DepthAnything3_ONNX',
    host: 'huggingface',
    revision: 'main',
    kind: 'da3-main',
    layout: 'nhwc-uint8',
    variants: {
      fp32: { model: 'da3_small.onnx', bytes: 100_704_575, sha256: 'd659ca25f1c665d5c064a64294d5fd0303e456aa94bf224a7777d9682cac7a39', approxMB: 101 },
    },
  },
  'da3-base-nhwc': {
    id: 'da3-base-nhwc',
    description: 'Depth Anything 3 Base, uint8 NHWC 518×518 export with folded normalisation (zerochocobo); relative depth',
    license: 'Apache-2.0',
    repo: 'zerochocobo/DepthAnything3_ONNX',
    host: 'huggingface',
    revision: 'main',
    kind: 'da3-main',
    layout: 'nhwc-uint8',
    variants: { fp32: { model: 'da3_base.onnx', approxMB: 394 } },
  },
  // Depth Anything V2 Small, transformers.js export: pixel_values [batch_size, 3, 518, 518] → predicted_depth
  // [batch_size, 518, 518] (disparity). Hugging Face file listing of onnx-community/depth-anything-v2-small/onnx:
  // model.onnx 99.1 MB (SHA-256 afb6a5c2…), model_fp16.onnx 49.6 MB, model_quantized.onnx 27.3 MB (single files).
  'da2-small': {
    id: 'da2-small',
    description: 'Depth Anything V2 Small (transformers.js export); relative disparity — the small non-metric fallback',
    license: 'Apache-2.0',
    repo: 'onnx-community/depth-anything-v2-small',
    host: 'huggingface',
    revision: 'main',
    kind: 'da2',
    layout: 'nchw-float',
    variants: {
      fp32: { model: 'onnx/model.onnx', sha256: 'afb6a5c28f3b6bf1618c6e43f02073ef9dfdc70e937502d51603e57b0a1df10c', approxMB: 99 },
      fp16: { model: 'onnx/model_fp16.onnx', approxMB: 50 },
      q8: { model: 'onnx/model_quantized.onnx', approxMB: 27 },
    },
  },
  // SAM3 tracker (point/box prompts), two graphs, transformers.js layout (Sam3TrackerModel extends Sam2Model:
  // packages/transformers/src/models/sam2/modeling_sam2.js). Meta SAM License. Every variant ships external data
  // `<file>_data` (fp32, fp16 and the q8 `_quantized` files: public download lists of onnx-community/sam3-tracker-ONNX
  // name onnx/vision_encoder{,_fp16,_quantized}.onnx + .onnx_data and the same for prompt_encoder_mask_decoder).
  // transformers.js's q8 is the `_quantized` suffix (DEFAULT_DTYPE_SUFFIX_MAPPING, packages/transformers/src/utils/dtypes.js)
  // and its default dtype on wasm. The repository's `_int8` files are not offered.
  'sam3-tracker-vision-encoder': {
    id: 'sam3-tracker-vision-encoder',
    description: 'SAM3 tracker vision encoder (pixel_values → image_embeddings.0/1/2)',
    license: 'SAM License (Meta)',
    repo: 'onnx-community/sam3-tracker-ONNX',
    host: 'huggingface',
    revision: 'main',
    variants: {
      fp32: { model: 'onnx/vision_encoder.onnx', externalData: ['onnx/vision_encoder.onnx_data'] },
      fp16: { model: 'onnx/vision_encoder_fp16.onnx', externalData: ['onnx/vision_encoder_fp16.onnx_data'], approxMB: 936 },
      q8: { model: 'onnx/vision_encoder_quantized.onnx', externalData: ['onnx/vision_encoder_quantized.onnx_data'] },
    },
  },
  'sam3-tracker-decoder': {
    id: 'sam3-tracker-decoder',
    description: 'SAM3 tracker prompt encoder + mask decoder (points/boxes → iou_scores, pred_masks, object_score_logits)',
    license: 'SAM License (Meta)',
    repo: 'onnx-community/sam3-tracker-ONNX',
    host: 'huggingface',
    revision: 'main',
    variants: {
      fp32: { model: 'onnx/prompt_encoder_mask_decoder.onnx', externalData: ['onnx/prompt_encoder_mask_decoder.onnx_data'], approxMB: 22 },
      fp16: { model: 'onnx/prompt_encoder_mask_decoder_fp16.onnx', externalData: ['onnx/prompt_encoder_mask_decoder_fp16.onnx_data'] },
      q8: { model: 'onnx/prompt_encoder_mask_decoder_quantized.onnx', externalData: ['onnx/prompt_encoder_mask_decoder_quantized.onnx_data'] },
    },
  },
  // SAM3 detector (text concepts), three graphs from a public export hosted as GitHub release assets
  // (jamjamjon/assets, tag sam3; made by jamjamjon/usls scripts/sam3-image). Meta SAM License. The model's
  // tokenizer.json (facebook/sam3) is passed separately. Browsers need a mirror (no CORS on release assets).
  'sam3-concept-vision-encoder': {
    id: 'sam3-concept-vision-encoder',
    description: 'SAM3 detector vision encoder (images → fpn_feat_0/1/2, fpn_pos_2)',
    license: 'SAM License (Meta)',
    repo: 'jamjamjon/assets',
    host: 'github-release',
    revision: 'sam3',
    browserNeedsMirror: GITHUB_NO_CORS,
    variants: { fp32: { model: 'vision-encoder.onnx' } },
  },
  'sam3-concept-text-encoder': {
    id: 'sam3-concept-text-encoder',
    description: 'SAM3 text encoder (input_ids, attention_mask [T, 32] → text_features, text_mask)',
    license: 'SAM License (Meta)',
    repo: 'jamjamjon/assets',
    host: 'github-release',
    revision: 'sam3',
    browserNeedsMirror: GITHUB_NO_CORS,
    variants: { fp32: { model: 'text-encoder.onnx' } },
  },
  'sam3-concept-decoder': {
    id: 'sam3-concept-decoder',
    description: 'SAM3 geometry encoder + DETR decoder (→ pred_boxes, pred_logits, pred_masks, presence_logits)',
    license: 'SAM License (Meta)',
    repo: 'jamjamjon/assets',
    host: 'github-release',
    revision: 'sam3',
    browserNeedsMirror: GITHUB_NO_CORS,
    variants: { fp32: { model: 'geo-encoder-mask-decoder.onnx' } },
  },
} satisfies Record<string, RegistryEntry>);

export type ModelSource =
  | string
  | {
      readonly id: string;
      readonly precision?: Precision | 'auto';
      /** The folder holding the entry's files (replaces the whole public prefix). */
      readonly baseUrl?: string;
      /** A mirror of the public host keeping its layout (see entryBaseUrl); wins over LoadModelOptions.modelBaseUrl. */
      readonly modelBaseUrl?: string;
      readonly revision?: string;
    }
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
  /**
   * A mirror of the public hosts for registry ids, in their layout: `<modelBaseUrl>/<repo>/resolve/<revision>/<file>`
   * for Hugging Face entries (`huggingface-cli download <repo> --local-dir <root>/<repo>/resolve/main` writes it),
   * `<modelBaseUrl>/<repo>/releases/download/<tag>/<file>` for GitHub-release entries.
   */
  modelBaseUrl?: string;
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
    const mirror = source.modelBaseUrl ?? options.modelBaseUrl;
    if (entry.browserNeedsMirror && !isNode() && !source.baseUrl && !mirror) {
      const url = entryBaseUrl(entry, { revision: source.revision }) + files.model;
      throw modelError('MODEL_FETCH', `cannot download ${url} for '${entry.id}' in a browser: ${entry.browserNeedsMirror}`);
    }
    const base = source.baseUrl ?? entryBaseUrl(entry, { modelBaseUrl: mirror, revision: source.revision });
    const join = (rel: string) => (base.endsWith('/') ? base : base + '/') + rel;
    const loaded = await fetchSet(join(files.model), (files.externalData ?? []).map(join), files, false, options);
    return { ...loaded, precision, entry };
  }
  const precision: Precision = source.precision ?? (options.precision && options.precision !== 'auto' ? choose(options.precision, ['fp32', 'fp16', 'q8']) : 'fp32');
  const isPath = 'path' in source;
  const main = variantFile(isPath ? source.path : source.url, precision);
  const ext = source.externalData === true ? [`${baseName(main)}_data`] : source.externalData === false || !source.externalData ? [] : [...source.externalData];
  const loaded = await fetchSet(main, ext.map((e) => resolveRelative(main, e)), { sha256: source.sha256 }, isPath, options);
  return { ...loaded, precision };
}

async function fetchSet(main: string, external: string[], pins: { sha256?: string; bytes?: number }, isPath: boolean, options: LoadModelOptions): Promise<ModelBytes> {
  const get = (f: string, sha?: string, size?: number) =>
    isPath ? readModelFile(f, { ...options, sha256: sha, expectedBytes: size }) : fetchModelFile(f, { ...options, sha256: sha, expectedBytes: size });
  const bytes = await get(main, pins.sha256, pins.bytes);
  const externalData: { path: string; bytes: Uint8Array }[] = [];
  for (const f of external) externalData.push({ path: baseName(f), bytes: await get(f) });
  return { bytes, name: main, externalData: externalData.length ? externalData : undefined };
}
