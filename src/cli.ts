#!/usr/bin/env node
/**
 * diorama <photo> --depth <file> [--masks <file>] --out <dir>
 * Decomposes a photo with its depth map into layers and writes them (RGBA + depth images, scene.json).
 */
import { parseArgs } from 'node:util';
import { decompose } from './core/decompose';
import { DioramaError } from './core/errors';
import type { Intrinsics, Stage } from './core/types';
import { readDepthFile, readImageFile, readLabelFile, writeDecomposition } from './node';

const USAGE = `usage: diorama <photo> --depth <file> [--masks <file>] --out <dir> [options]

  <photo>             any image sharp decodes (JPEG, PNG, WebP, ...)
  --depth <file>      depth map: .pfm (metres), .npy (metres), or 16-bit .png (millimetres)
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
  if (!photo || !values.depth || !values.out) {
    console.error(USAGE);
    return 2;
  }
  const log = (s: string): void => {
    if (!values.quiet) process.stderr.write(s + '\n');
  };
  const image = await readImageFile(photo);
  const depth = await readDepthFile(values.depth);
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
  let intrinsics: Intrinsics | undefined;
  if (values.fx) {
    const fx = Number(values.fx);
    intrinsics = { fx, fy: Number(values.fy ?? fx), cx: Number(values.cx ?? image.width / 2), cy: Number(values.cy ?? image.height / 2) };
  }
  const started = new Map<Stage, number>();
  const result = await decompose(
    { image, depth: depth.data, depthIsInverse: values.inverse, masks, intrinsics },
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
  const path = await writeDecomposition(values.out, result, { photo, depth: values.depth, masks: values.masks ?? null });
  log(`[diorama] ${result.layers.length} layers, ${result.stats.vertexCount} vertices in ${result.stats.totalMs.toFixed(0)} ms → ${path}`);
  return 0;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    if (err instanceof DioramaError) console.error(`diorama: ${err.code}: ${err.message}`);
    else console.error('diorama:', err);
    process.exit(1);
  },
);
