/**
 * Browser page of test/browser/gpu-harmonize.test.ts: Stage 1 on the ../shared/data stereo scenes with the
 * CPU solve (harmonize) and the GPU solve (harmonizeGpu) in the same page, scored by the metrics.md §1
 * functions of scripts/eval/depth-metrics.ts.
 *
 * Scene inputs are made as scripts/eval-depth.ts makes them: GT depth = W / disparity, raw depth =
 * synthRawDepth(GT, hashSeed(name)), masks = synthMasks(GT, hashSeed(name) + 1) (scripts/eval/synth.ts).
 * left.png is decoded by createImageBitmap (no colour-space conversion), disp.pfm by src/io/pfm.ts.
 */
import { expose, requestTestDevice } from './boot';
import { decodePFM } from '../../../src/io/pfm';
import type { RGBAImage } from '../../../src/core/types';
import { harmonize } from '../../../src/math/harmonize';
import { harmonizeGpu } from '../../../src/gpu/harmonize';
import type { GpuDevice } from '../../../src/gpu/webgpu';
import { evaluateDepth, type DepthMetrics } from '../../../scripts/eval/depth-metrics';
import { hashSeed, synthMasks, synthRawDepth } from '../../../scripts/eval/synth';

let device: GpuDevice | null = null;

async function loadImage(url: string): Promise<RGBAImage> {
  const res = await fetch(url);
  if (!res.ok) throw new Error(`${url}: HTTP ${res.status}`);
  const bmp = await createImageBitmap(await res.blob(), { colorSpaceConversion: 'none', premultiplyAlpha: 'none' });
  const canvas = new OffscreenCanvas(bmp.width, bmp.height);
  const ctx = canvas.getContext('2d');
  if (!ctx) throw new Error('no 2d context');
  ctx.drawImage(bmp, 0, 0);
  const data = ctx.getImageData(0, 0, bmp.width, bmp.height).data;
  return { width: bmp.width, height: bmp.height, data };
}

async function loadStereo(name: string): Promise<{ image: RGBAImage; gt: Float32Array }> {
  const base = `/shared-data/stereo/${name}`;
  const image = await loadImage(`${base}/left.png`);
  const res = await fetch(`${base}/disp.pfm`);
  if (!res.ok) throw new Error(`${base}/disp.pfm: HTTP ${res.status}`);
  const pfm = decodePFM(new Uint8Array(await res.arrayBuffer()));
  if (pfm.width !== image.width || pfm.height !== image.height) throw new Error(`${name}: image ${image.width}x${image.height}, disparity ${pfm.width}x${pfm.height}`);
  const gt = new Float32Array(pfm.data.length);
  for (let i = 0; i < gt.length; i++) {
    const d = pfm.data[i]!;
    if (d > 0 && d < Infinity) gt[i] = image.width / d;
  }
  return { image, gt };
}

async function harmonizeScene(args: { name: string }) {
  const dev = device!;
  const { image, gt } = await loadStereo(args.name);
  const { width: w, height: h } = image;
  const seed = hashSeed(args.name);
  const raw = synthRawDepth(gt, w, h, seed);
  const masks = synthMasks(gt, w, h, (seed + 1) >>> 0);
  const input = { width: w, height: h, depth: raw, labels: masks, image };
  dev.pushErrorScope('validation');
  const cpu = harmonize(input);
  const gpu = await harmonizeGpu(input, { device: dev });
  const err = await dev.popErrorScope();
  let maxRel = 0;
  let labelDiff = 0;
  for (let i = 0; i < w * h; i++) {
    maxRel = Math.max(maxRel, Math.abs(gpu.depth[i]! - cpu.depth[i]!) / cpu.depth[i]!);
    if (gpu.labels[i] !== cpu.labels[i]) labelDiff++;
  }
  const mCpu: DepthMetrics = evaluateDepth(gt, cpu.depth, masks, w, h);
  const mGpu: DepthMetrics = evaluateDepth(gt, gpu.depth, masks, w, h);
  return {
    name: args.name,
    width: w,
    height: h,
    backend: gpu.backend,
    cpu: { metrics: mCpu, iterations: cpu.iterations, residual: cpu.residual, solveMs: cpu.timings.solve },
    gpu: { metrics: mGpu, iterations: gpu.iterations, residual: gpu.residual, solveMs: gpu.timings.solve },
    maxRelDepthDiff: maxRel,
    labelDiff,
    validationError: err ? err.message : null,
  };
}

expose(
  {
    async adapter() {
      return { available: !!device };
    },
    harmonizeScene,
  },
  async () => {
    device = await requestTestDevice();
  },
);
