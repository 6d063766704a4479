#!/usr/bin/env node
/**
 * diorama <photo> [--depth <file>] [--masks <file>] --out <dir>
 * Decomposes a photo into layers and writes them (RGBA + depth images, scene.json). Without --depth the depth
 * model runs (DA3-Small by default; onnxruntime-node when installed, else onnxruntime-web's wasm build), its files
 * downloaded once into the cache folder with a progress bar.
 */
import { parseArgs } from 'node:util';
import { decompose } from './core/decompose';
import { DioramaError } from './core/errors';
import type { Intrinsics, Stage } from './core/types';
import { readFile } from 'node:fs/promises';
import type { MasksInput, RGBAImage } from './core/types';
import { readDepthFile, readImageFile, readLabelFile, writeDecomposition } from './node';
import type { DownloadProgress } from './models/fetch';

type CliValues = {
  model?: string;
  'auto-masks'?: boolean;
  precision?: string;
  'model-base-url'?: string;
  'cache-dir'?: string;
  backend?: string;
  quiet?: boolean;
};

/**
 * A download progress display on stderr: one bar per file, redrawn in place on a terminal; on a pipe, a line when
 * a file starts and when it ends (and cache hits as one line).
 */
export function downloadProgress(write: (s: string) => void, tty: boolean): (p: DownloadProgress) => void {
  const started = new Set<string>();
  const mb = (n: number) => (n / 1e6).toFixed(1);
  return (p) => {
    const name = p.file.split('/').slice(-1)[0]!;
    if (p.cached) return write(`[diorama] ${name}: from the cache (${mb(p.loaded)} MB)\n`);
    const done = p.total !== undefined && p.loaded >= p.total;
    if (tty) {
      const f = p.total ? p.loaded / p.total : 0;
      const bar = '#'.repeat(Math.round(f * 24)).padEnd(24, '.');
      write(`\r[diorama] ${name.padEnd(28).slice(0, 28)} [${bar}] ${mb(p.loaded)}/${p.total !== undefined ? mb(p.total) : '?'} MB${done ? '\n' : ''}`);
    } else if (!started.has(p.file)) {
      started.add(p.file);
      write(`[diorama] downloading ${p.file} (${p.total !== undefined ? mb(p.total) + ' MB' : 'size unknown'})\n`);
    } else if (done) {
      write(`[diorama] ${name}: ${p.loaded}/${p.total} bytes\n`);
    }
  };
}

/** Runs the depth model (and SAM3 automatic masks with --auto-masks) on the photo. */
async function runModels(image: RGBAImage, photoBytes: Uint8Array, values: CliValues, log: (s: string) => void) {
  const { nodeBackend } = await import('./models/ort-node');
  const { PhotoPipeline } = await import('./models/decompose-photo');
  const { resolveSam3Masks } = await import('./models/sam3');
  const precision = values.precision ?? 'auto';
  if (!['auto', 'fp32', 'fp16', 'q8'].includes(precision)) throw new DioramaError('INVALID_OPTION', `--precision must be auto, fp32, fp16 or q8; found '${precision}'`);
  const backend = await nodeBackend(values.backend === 'wasm' ? 'wasm' : 'auto');
  log(`[diorama] models on ${backend.backend}${backend.reason && values.backend !== 'wasm' ? ` (onnxruntime-node not used: ${backend.reason})` : ''}`);
  const modelBaseUrl = values['model-base-url'] ?? process.env.DIORAMA_MODEL_BASE_URL;
  const pipeline = await PhotoPipeline.load({
    runtime: { ...backend.runtime, onWarning: (m) => log(`[diorama] warning: ${m}`) },
    depth: values.model ?? 'da3-small',
    masks: values['auto-masks'] ? {} : false,
    precision: precision as 'auto',
    ...(modelBaseUrl ? { modelBaseUrl } : {}),
    ...(values['cache-dir'] ? { cacheDir: values['cache-dir'] } : {}),
    onDownloadProgress: values.quiet ? undefined : downloadProgress((s) => process.stderr.write(s), !!process.stderr.isTTY),
  });
  try {
    const t0 = performance.now();
    const d = await pipeline.depth.estimate(image, { exif: photoBytes });
    log(`[diorama] depth     done in ${(performance.now() - t0).toFixed(0)} ms (${d.processedWidth}x${d.processedHeight}, ${d.provider})`);
    let masks: MasksInput | undefined;
    if (pipeline.segmenter) masks = resolveSam3Masks(await pipeline.segmenter.segment(image)).masks;
    return {
      depth: d.depth,
      isInverse: d.quantity === 'disparity',
      intrinsics: d.intrinsicsSource === 'fov-default' ? undefined : d.intrinsics,
      masks,
      info: {
        source: values.model ?? 'da3-small',
        backend: backend.backend,
        provider: d.provider,
        kind: d.kind,
        depthKind: d.metric ? 'metric' : 'relative',
        quantity: d.quantity,
        intrinsicsSource: d.intrinsicsSource,
        processed: [d.processedWidth, d.processedHeight],
      },
    };
  } finally {
    await pipeline.dispose();
  }
}

const USAGE = `usage: diorama <photo> [--depth <file>] [--masks <file>] --out <dir> [options]

  <photo>             any image sharp decodes (JPEG, PNG, WebP, ...)
  --depth <file>      depth map: .pfm (metres), .npy (metres), or 16-bit .png (millimetres);
                      without it the depth model runs on the photo
  --model <id|url|path>  depth model (default da3-small; also da3-base, da2-small, da3-small-nhwc)
  --auto-masks        also run SAM3 automatic masks (sam3-tracker, large download)
  --precision <p>     auto | fp32 | fp16 | q8 (default auto)
  --model-base-url <url>  mirror of the model hosts in their layout (<url>/<repo>/resolve/<revision>/<file>);
                      default $DIORAMA_MODEL_BASE_URL, else https://huggingface.co
  --cache-dir <dir>   model cache (default $DIORAMA_CACHE_DIR, else ~/.cache/diorama)
  --backend <b>       auto (onnxruntime-node when installed, else wasm) | wasm
  --inverse           the depth file holds inverse depth (disparity-like) instead of depth
  --masks <file>      label map: greyscale .png (0 = none, k = mask k-1) or integer .npy (-1 = none)
  --out <dir>         output folder (created)
  --fx/--fy/--cx/--cy intrinsics in pixels (default: ${60}° horizontal field of view, centred)
  --min-layers <n>    default 4          --max-layers <n>  default 12
  --quiet             no progress lines
  --help`;

async function main(): Promise<number> {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      depth: { type: 'string' },
      masks: { type: 'string' },
      model: { type: 'string' },
      'auto-masks': { type: 'boolean', default: false },
      precision: { type: 'string' },
      'model-base-url': { type: 'string' },
      'cache-dir': { type: 'string' },
      backend: { type: 'string' },
      out: { type: 'string' },
      inverse: { type: 'boolean', default: false },
      fx: { type: 'string' },
      fy: { type: 'string' },
      cx: { type: 'string' },
      cy: { type: 'string' },
      'min-layers': { type: 'string' },
      'max-layers': { type: 'string' },
      quiet: { type: 'boolean', default: false },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  const photo = positionals[0];
  if (!photo || !values.out) {
    console.error(USAGE);
    return 2;
  }
  const log = (s: string): void => {
    if (!values.quiet) process.stderr.write(s + '\n');
  };
  const image = await readImageFile(photo);
  let depth: { width: number; height: number; data: Float32Array };
  let depthIsInverse = values.inverse;
  let modelIntrinsics: Intrinsics | undefined;
  let modelMasks: MasksInput | undefined;
  let modelInfo: Record<string, unknown> | undefined;
  if (values.depth) {
    depth = await readDepthFile(values.depth);
  } else {
    const est = await runModels(image, await readFile(photo), values, log);
    depth = { width: image.width, height: image.height, data: est.depth };
    depthIsInverse = est.isInverse;
    modelIntrinsics = est.intrinsics;
    modelMasks = est.masks;
    modelInfo = est.info;
  }
  if (depth.width !== image.width || depth.height !== image.height) {
    throw new DioramaError('SIZE_MISMATCH', `depth map is ${depth.width}x${depth.height} but the photo is ${image.width}x${image.height}; they must match`);
  }
  let masks;
  if (values.masks) {
    const m = await readLabelFile(values.masks);
    if (m.width !== image.width || m.height !== image.height) {
      throw new DioramaError('SIZE_MISMATCH', `mask map is ${m.width}x${m.height} but the photo is ${image.width}x${image.height}`);
    }
    masks = { kind: 'labels' as const, labels: m.labels };
  }
  masks ??= modelMasks;
  let intrinsics: Intrinsics | undefined = modelIntrinsics;
  if (values.fx) {
    const fx = Number(values.fx);
    intrinsics = { fx, fy: Number(values.fy ?? fx), cx: Number(values.cx ?? image.width / 2), cy: Number(values.cy ?? image.height / 2) };
  }
  const started = new Map<Stage, number>();
  const result = await decompose(
    { image, depth: depth.data, depthIsInverse, masks, intrinsics },
    {
      layers: {
        minLayers: values['min-layers'] ? Number(values['min-layers']) : undefined,
        maxLayers: values['max-layers'] ? Number(values['max-layers']) : undefined,
      },
      onProgress: (stage, fraction) => {
        if (fraction === 0) started.set(stage, performance.now());
        // Inpainting and meshing run interleaved per layer: their own times are printed at the end.
        if (fraction === 1 && started.has(stage) && stage !== 'inpaint' && stage !== 'mesh') {
          log(`[diorama] ${stage.padEnd(9)} done in ${(performance.now() - started.get(stage)!).toFixed(0)} ms`);
          started.delete(stage);
        }
      },
    },
  );
  for (const t of result.stats.timings) {
    if (t.stage === 'inpaint' || t.stage === 'mesh') log(`[diorama] ${t.stage.padEnd(9)} done in ${t.ms.toFixed(0)} ms`);
  }
  const path = await writeDecomposition(values.out, result, {
    photo,
    depth: values.depth ?? null,
    masks: values.masks ?? null,
    depthKind: modelInfo?.depthKind ?? (values.inverse ? 'relative' : 'metric'),
    ...(modelInfo ? { model: modelInfo } : {}),
  });
  log(`[diorama] ${result.layers.length} layers, ${result.stats.vertexCount} vertices in ${result.stats.totalMs.toFixed(0)} ms → ${path}`);
  return 0;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    if (err instanceof DioramaError) {
      console.error(`diorama: ${err.code}: ${err.message}`);
      if (err.code === 'MODEL_FETCH') console.error('diorama: on the command line: --model-base-url <mirror> (or $DIORAMA_MODEL_BASE_URL), or --depth <file>');
    }
    else console.error('diorama:', err);
    process.exit(1);
  },
);
