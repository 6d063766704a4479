/**
 * Browser page of test/browser/models.test.ts: the models runtime in Chromium with the generated models served
 * from /out/models/ (written by the Node side before the page opens).
 *
 * Entry points return plain numbers and strings (max errors, providers, warnings) so the Node side asserts.
 */
import * as ortDefault from 'onnxruntime-web';
import { expose } from './boot';
import type { RGBAImage } from '../../../src/core/types';
import { loadDepthModel } from '../../../src/models/da3';
import { type DownloadProgress } from '../../../src/models/fetch';
import { loadModelBytes } from '../../../src/models/registry';
import { createRuntime, type ExecutionProvider, type GpuTensor } from '../../../src/models/runtime';
import { ModelWorkerClient } from '../../../src/models/worker-client';
import { decomposePhoto } from '../../../src/models/decompose-photo';
import { exifIntrinsics } from '../../../src/io/exif';
import { rgbImage } from '../../fixtures/images';

const WASM_PATHS = '/node_modules/onnxruntime-web/dist/';
const MODELS = '/out/models/';
const MEAN_R = 0.485;
const STD_R = 0.229;
const OFFSET = 3;
const modelOut = (red: number) => (red / 255 - MEAN_R) / STD_R + OFFSET;

/** The test photo: an asymmetric byte pattern in red, independent patterns in green and blue. */
function photo(W: number, H: number, red: (x: number, y: number) => number): RGBAImage {
  return rgbImage(W, H, (x, y) => [red(x, y), (x * 3) & 255, (y * 5) & 255]);
}

function maxDiff(a: Float32Array, b: Float32Array | ((i: number) => number)): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i]! - (typeof b === 'function' ? b(i) : b[i]!));
    m = Number.isNaN(d) ? Infinity : Math.max(m, d);
  }
  return m;
}

async function requestDevice(): Promise<GPUDevice | null> {
  const adapter = await navigator.gpu?.requestAdapter();
  if (!adapter) return null;
  return adapter.requestDevice({ requiredFeatures: adapter.features.has('shader-f16') ? ['shader-f16'] : [] });
}

/** A raw WebGPU pass on `device`: dst[i] = 2·src[i] + 1 for i < n, src bound directly (no copy). */
async function doubledPlusOne(device: GPUDevice, src: GPUBuffer, n: number): Promise<{ values: Float32Array; error: string | null }> {
  device.pushErrorScope('validation');
  const module = device.createShaderModule({
    code: `@group(0) @binding(0) var<storage, read> src: array<f32>;
@group(0) @binding(1) var<storage, read_write> dst: array<f32>;
@compute @workgroup_size(64) fn main(@builtin(global_invocation_id) id: vec3u) {
  let i = id.x;
  if (i < arrayLength(&dst)) { dst[i] = 2.0 * src[i] + 1.0; }
}`,
  });
  const pipeline = device.createComputePipeline({ layout: 'auto', compute: { module, entryPoint: 'main' } });
  const dst = device.createBuffer({ size: n * 4, usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC });
  const read = device.createBuffer({ size: n * 4, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
  const bind = device.createBindGroup({
    layout: pipeline.getBindGroupLayout(0),
    entries: [
      { binding: 0, resource: { buffer: src, offset: 0, size: n * 4 } },
      { binding: 1, resource: { buffer: dst } },
    ],
  });
  const enc = device.createCommandEncoder();
  const pass = enc.beginComputePass();
  pass.setPipeline(pipeline);
  pass.setBindGroup(0, bind);
  pass.dispatchWorkgroups(Math.ceil(n / 64));
  pass.end();
  enc.copyBufferToBuffer(dst, 0, read, 0, n * 4);
  device.queue.submit([enc.finish()]);
  const err = await device.popErrorScope();
  if (err) return { values: new Float32Array(0), error: err.message };
  await read.mapAsync(GPUMapMode.READ);
  const values = new Float32Array(read.getMappedRange().slice(0));
  read.unmap();
  dst.destroy();
  read.destroy();
  return { values, error: null };
}

expose({
  async environment() {
    const adapter = await navigator.gpu?.requestAdapter();
    return { webgpu: !!adapter, f16: !!adapter?.features.has('shader-f16'), crossOriginIsolated: self.crossOriginIsolated };
  },

  /** DA3 and DA2 on webgpu and on wasm: errors against the known function and between the two EPs. */
  /**
   * Every registry contract, loaded by registry id from a same-origin mirror in the public layout (out/hub), on
   * one execution provider: DA3 5-D float with external data, DA3 uint8 NHWC, DA2 (q8 file), the SAM3 tracker
   * (fp32 files with external data). Returns per model the provider, the worst error against the known function,
   * and the contract it matched.
   */
  async registryContracts(args: { ep: 'webgpu' | 'wasm' }) {
    const warnings: string[] = [];
    const rt = await createRuntime({ executionProviders: [args.ep], wasmPaths: WASM_PATHS, onWarning: (m) => warnings.push(m) });
    const opts = { modelBaseUrl: `${location.origin}/out/hub`, cache: false as const, choosePrecision: (r: string) => (r === 'auto' ? 'fp32' : r) as 'fp32' };
    const out: Record<string, { provider: string; err: number; contract: string }> = {};
    try {
      const red = (x: number, y: number) => (x * 7 + y * 13) % 256;
      // da3-small at its own processing size (504×280): no resampling, the known function exactly.
      const a = await loadDepthModel(rt, 'da3-small', opts);
      const ra = await a.estimate(photo(504, 280, red));
      out['da3-small'] = { provider: ra.provider, err: maxDiff(ra.depth, (i) => modelOut(red(i % 504, Math.floor(i / 504)))), contract: a.session.contract.id };
      await a.dispose();
      // da3-small-nhwc's registry entry pins the real file's size: load the tiny file by URL instead.
      const n = await loadDepthModel(rt, `${location.origin}/out/hub/zerochocobo/DepthAnything3_ONNX/resolve/main/da3_small.onnx`, { cache: false });
      // 518×259 fills the canvas width exactly (scale 1): rows are copied, the known function of each red byte.
      const rn = await n.estimate(photo(518, 259, red));
      out['da3-nhwc'] = { provider: rn.provider, err: maxDiff(rn.depth, (i) => modelOut(red(i % 518, Math.floor(i / 518)))), contract: n.session.contract.id };
      await n.dispose();
      const d = await loadDepthModel(rt, { id: 'da2-small', precision: 'q8' }, opts);
      const rd = await d.estimate(photo(518, 518, red));
      out['da2-small'] = { provider: rd.provider, err: maxDiff(rd.depth, (i) => modelOut(red(i % 518, Math.floor(i / 518)))), contract: d.session.contract.id };
      await d.dispose();
      const { Sam3Tracker } = await import('../../../src/models/sam3');
      const t = await Sam3Tracker.load(rt, {}, opts);
      const emb = await t.embed(photo(400, 300, red));
      const [res] = await t.predict(emb, [{ points: [{ x: 200.5, y: 150.5 }] }]);
      const m = res!.masks[0]!;
      const inside = m.bbox.x <= 200 && m.bbox.x + m.bbox.width > 200 && m.bbox.y <= 150 && m.bbox.y + m.bbox.height > 150;
      out['sam3-tracker'] = { provider: t.visionEncoder.provider, err: inside && m.area > 0 ? 0 : 1, contract: t.decoder.contract.id };
      emb.dispose();
      await t.dispose();
    } finally {
      await rt.dispose();
    }
    return { out, warnings };
  },

  async bothProviders(args: { W: number; H: number }) {
    const { W, H } = args;
    const red = (x: number, y: number) => (x * 7 + y * 13) % 256;
    const img = photo(W, H, red);
    const results: Record<string, { provider: ExecutionProvider; depth: Float32Array; processed: [number, number] }> = {};
    const warnings: string[] = [];
    for (const ep of ['webgpu', 'wasm'] as const) {
      const rt = await createRuntime({ executionProviders: [ep], wasmPaths: WASM_PATHS, onWarning: (m) => warnings.push(m) });
      for (const [name, kind] of [
        ['da3-tiny.onnx', 'da3-main'],
        ['da2-tiny-dynamic.onnx', 'da2'],
      ] as const) {
        const m = await loadDepthModel(rt, MODELS + name, { kind, cache: false });
        const r = await m.estimate(img);
        results[`${ep}/${kind}`] = { provider: r.provider, depth: r.depth, processed: [r.processedWidth, r.processedHeight] };
        await m.dispose();
      }
      await rt.dispose();
    }
    const identity = W === 504 && H === 280;
    return {
      providers: Object.fromEntries(Object.entries(results).map(([k, v]) => [k, v.provider])),
      processed: Object.fromEntries(Object.entries(results).map(([k, v]) => [k, v.processed])),
      da3Diff: maxDiff(results['webgpu/da3-main']!.depth, results['wasm/da3-main']!.depth),
      da2Diff: maxDiff(results['webgpu/da2']!.depth, results['wasm/da2']!.depth),
      da3VsFormula: identity ? maxDiff(results['webgpu/da3-main']!.depth, (i) => modelOut(red(i % W, Math.floor(i / W)))) : null,
      warnings,
    };
  },

  /** WebGPU missing (navigator.gpu hidden) or no adapter: wasm with one warning. */
  async fallback(args: { mode: 'no-gpu' | 'null-adapter' }) {
    const nav = navigator as Navigator & { gpu?: GPU };
    const saved = Object.getOwnPropertyDescriptor(Navigator.prototype, 'gpu');
    const gpu = nav.gpu;
    const savedRequest = gpu?.requestAdapter;
    if (args.mode === 'no-gpu') Object.defineProperty(Navigator.prototype, 'gpu', { configurable: true, get: () => undefined });
    else if (gpu) gpu.requestAdapter = async () => null;
    try {
      const warnings: string[] = [];
      const rt = await createRuntime({ wasmPaths: WASM_PATHS, onWarning: (m) => warnings.push(m) });
      const m = await loadDepthModel(rt, MODELS + 'da3-tiny.onnx', { cache: false });
      const r = await m.estimate(photo(56, 28, (x) => x * 4));
      const err = maxDiff(r.depth, (i) => modelOut((i % 56) * 4));
      // A second runtime and session: still one warning per runtime, none from sessions.
      const m2 = await loadDepthModel(rt, MODELS + 'da3-tiny.onnx', { cache: false });
      await m2.estimate(photo(28, 28, () => 9));
      await rt.dispose();
      return { providers: rt.providers, provider: r.provider, warnings, err };
    } finally {
      if (saved) Object.defineProperty(Navigator.prototype, 'gpu', saved);
      if (gpu && savedRequest) gpu.requestAdapter = savedRequest;
    }
  },

  /**
   * Shared device: onnxruntime (webgpu build) runs on the page's GPUDevice with outputs left on the GPU; a raw
   * WebGPU compute pass on that device consumes the output buffer directly. Also feeds a GPU buffer of that
   * device as the model input.
   */
  async sharedDevice() {
    const device = await requestDevice();
    if (!device) return { skipped: 'no adapter' };
    const warnings: string[] = [];
    const rt = await createRuntime({ device, outputLocation: 'gpu-buffer', wasmPaths: WASM_PATHS, onWarning: (m) => warnings.push(m) });
    const m = await loadDepthModel(rt, MODELS + 'da3-tiny.onnx', { cache: false });
    const W = 56;
    const H = 42;
    // Input prepared on the CPU exactly as the adapter would (identity size: 56×42 are multiples of 14 but the
    // longest side is scaled to 504, so build the tensor directly at 28×14 instead).
    const w = 28;
    const h = 14;
    const data = new Float32Array(3 * w * h);
    for (let i = 0; i < w * h; i++) data[i] = (i % 17) / 10 - 0.8; // the normalised red plane
    const out = await m.session.runGpu({ image: { type: 'float32', dims: [1, 3, h, w], data } });
    const depth = out.depth as GpuTensor;
    const onGpu = depth.location === 'gpu-buffer';
    const sameDevice = onGpu && depth.device === device;
    const pass = onGpu ? await doubledPlusOne(device, depth.gpuBuffer, w * h) : { values: new Float32Array(0), error: 'not on GPU' };
    const expected = (i: number) => 2 * ((i % 17) / 10 - 0.8 + OFFSET) + 1;
    const passErr = pass.error ? Infinity : maxDiff(pass.values, expected);
    if (onGpu) depth.dispose();

    // GPU feed: upload the same tensor into a buffer of the shared device and run from it.
    const inBuf = device.createBuffer({ size: data.byteLength, usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST | GPUBufferUsage.COPY_SRC });
    device.queue.writeBuffer(inBuf, 0, data);
    let feedErr = Infinity;
    let feedError = '';
    try {
      const out2 = await m.session.run({ image: { location: 'gpu-buffer', type: 'float32', dims: [1, 3, h, w], gpuBuffer: inBuf, device } });
      feedErr = maxDiff(out2.depth!.data as Float32Array, (i) => (i % 17) / 10 - 0.8 + OFFSET);
    } catch (e) {
      feedError = (e as Error).message;
    }
    inBuf.destroy();

    // A full estimate through the adapter in shared mode still returns CPU maps.
    const r = await m.estimate(photo(W, H, (x, y) => (x * 7 + y * 13) % 256));
    await rt.dispose();
    device.destroy();
    return { deviceMode: rt.deviceMode, onGpu, sameDevice, passError: pass.error, passErr, feedErr, feedError, provider: r.provider, warnings };
  },

  /**
   * The default `onnxruntime-web` bundle (JSEP) ignores a supplied device: the runtime must detect it, refuse
   * sharing with a warning, hand back CPU data and refuse GPU feeds from the page's device.
   */
  async ignoredDevice() {
    const device = await requestDevice();
    if (!device) return { skipped: 'no adapter' };
    const warnings: string[] = [];
    const rt = await createRuntime({ ort: ortDefault, device, outputLocation: 'gpu-buffer', wasmPaths: WASM_PATHS, onWarning: (m) => warnings.push(m) });
    const modeBefore = rt.deviceMode;
    const m = await loadDepthModel(rt, MODELS + 'da3-tiny.onnx', { cache: false });
    const w = 28;
    const h = 14;
    const data = new Float32Array(3 * w * h).map((_, i) => (i % 11) / 10);
    const out = await m.session.runGpu({ image: { type: 'float32', dims: [1, 3, h, w], data } });
    const depth = out.depth!;
    const location = 'location' in depth ? depth.location : 'cpu';
    const cpuErr = 'data' in depth ? maxDiff(depth.data as Float32Array, (i) => (i % 11) / 10 + OFFSET) : Infinity;
    const inBuf = device.createBuffer({ size: data.byteLength, usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST });
    let feedError = '';
    try {
      await m.session.run({ image: { location: 'gpu-buffer', type: 'float32', dims: [1, 3, h, w], gpuBuffer: inBuf, device } });
    } catch (e) {
      feedError = `${(e as { code?: string }).code}: ${(e as Error).message}`;
    }
    inBuf.destroy();
    await rt.dispose();
    device.destroy();
    return { modeBefore, modeAfter: rt.deviceMode, location, cpuErr, feedError, warnings };
  },

  /** Model files through the Cache API: the second load is served from the cache. */
  /**
   * da3-small by registry id from a (cross-origin) mirror with the Cache API as cache: the outcome, and whether
   * each of its two files is in the cache afterwards.
   */
  async mirrorLoad(args: { modelBaseUrl: string; reset: boolean }) {
    if (args.reset) await caches.delete('diorama-models');
    const base = `${args.modelBaseUrl}/onnx-community/depth-anything-v3-small/resolve/main/onnx/`;
    const progress: DownloadProgress[] = [];
    let code = '';
    let message = '';
    try {
      await loadModelBytes('da3-small', { modelBaseUrl: args.modelBaseUrl, onProgress: (p) => progress.push(p) });
    } catch (e) {
      code = (e as { code?: string }).code ?? 'not a DioramaError';
      message = (e as Error).message;
    }
    const store = await caches.open('diorama-models');
    return {
      code,
      message,
      cachedModel: !!(await store.match(base + 'model.onnx')),
      cachedData: !!(await store.match(base + 'model.onnx_data')),
      fromCache: progress.filter((p) => p.cached).map((p) => p.file.slice(base.length)),
    };
  },

  async browserCache() {
    const rt = await createRuntime({ executionProviders: ['wasm'], wasmPaths: WASM_PATHS });
    const url = MODELS + 'da3-tiny-camera.onnx';
    await caches.delete('diorama-models');
    const first: DownloadProgress[] = [];
    const second: DownloadProgress[] = [];
    const a = await loadDepthModel(rt, url, { onProgress: (p) => first.push(p) });
    const b = await loadDepthModel(rt, url, { onProgress: (p) => second.push(p) });
    const cached = await (await caches.open('diorama-models')).match(new URL(url, location.href).href);
    const r = await b.estimate(photo(28, 28, () => 100));
    await a.dispose();
    await b.dispose();
    await rt.dispose();
    return {
      firstCached: first.some((p) => p.cached),
      firstLast: first.at(-1),
      second: second.map((p) => p.cached),
      entry: !!cached,
      hasIntrinsics: r.intrinsicsSource,
    };
  },

  /** EXIF focal length read by exifr in the browser (bytes made by sharp on the Node side). */
  async exif(args: { bytes: number[]; width: number; height: number }) {
    const r = await exifIntrinsics(new Uint8Array(args.bytes), args.width, args.height);
    return r ? { fx: r.intrinsics.fx, source: r.source } : null;
  },

  /** decomposePhoto end to end with both models in the worker (wasm there: SAM3 on SwiftShader is minutes). */
  async workerPipeline(args: { workerUrl: string }) {
    const abs = (p: string) => new URL(p, location.href).href;
    const client = await ModelWorkerClient.create(args.workerUrl, { executionProviders: ['wasm'], wasmPaths: abs(WASM_PATHS) });
    const depth = await client.loadDepthModel(abs(MODELS + 'da3-tiny.onnx'), { cache: false });
    const masks = await client.loadSam3Tracker(
      { visionEncoder: abs(MODELS + 'sam3/tracker-vision-encoder.onnx'), decoder: abs(MODELS + 'sam3/tracker-prompt-encoder-mask-decoder.onnx') },
      { cache: false, automatic: { pointsPerSide: 4, pointsPerBatch: 8 } },
    );
    const img = photo(256, 192, (x) => (x < 100 ? 40 : 230));
    const stages: string[] = [];
    let segmentProgress = 0;
    const r = await decomposePhoto(img, {
      models: { depth, masks },
      harmonize: false,
      onProgress: (s, f) => {
        if (f === 0) stages.push(s);
        if (s === 'segment' && f > 0 && f < 1) segmentProgress++;
      },
    });
    client.terminate();
    return {
      layers: r.layers.length,
      masks: r.maskSet?.masks.length ?? 0,
      maskCount: r.stats.maskCount,
      near: r.harmonizedDepth[96 * 256 + 10],
      far: r.harmonizedDepth[96 * 256 + 250],
      stages,
      segmentProgress,
      provider: r.depth.provider,
    };
  },

  /** The Web Worker option: the same depth as in the page, computed in the worker; the page's photo survives. */
  async worker(args: { workerUrl: string }) {
    const client = await ModelWorkerClient.create(args.workerUrl, { wasmPaths: new URL(WASM_PATHS, location.href).href });
    const img = photo(320, 180, (x, y) => (x + 2 * y) % 256);
    const depth = await client.loadDepthModel(new URL(MODELS + 'da3-tiny.onnx', location.href).href, { cache: false });
    const inWorker = await depth.estimate(img);
    const rt = await createRuntime({ executionProviders: ['wasm'], wasmPaths: WASM_PATHS });
    const local = await (await loadDepthModel(rt, MODELS + 'da3-tiny.onnx', { cache: false })).estimate(img);
    await rt.dispose();
    // Abort: a request aborted before it is answered rejects with ABORTED.
    const ac = new AbortController();
    const p = depth.estimate(img, { signal: ac.signal });
    ac.abort();
    let abortCode = '';
    try {
      await p;
    } catch (e) {
      abortCode = (e as { code: string }).code;
    }
    await depth.dispose();
    client.terminate();
    return {
      info: client.info,
      provider: inWorker.provider,
      diff: maxDiff(inWorker.depth, local.depth),
      length: inWorker.depth.length,
      photoIntact: img.data.length === 320 * 180 * 4 && img.data[4] === 1,
      abortCode,
    };
  },
});
