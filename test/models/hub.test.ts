/**
 * Every registry entry, loaded by its id from a local server that plays Hugging Face / GitHub releases
 * (test/models/hub-server.ts, tiny models of test/fixtures/make-hub-models.ts in the public layout), through the
 * real adapters and onnxruntime-web (wasm) in Node.
 *
 * Proves: each contract the registry needs loads and computes its known function (DA3 5-D float with external
 * data, DA3 uint8 NHWC letterboxed, DA2, the SAM3 tracker's fp32 and q8 file sets with external data, the concept
 * graphs from the GitHub-release layout); the adapter picks the DA3 contract from the session's inputs; unknown
 * tensor names give MODEL_CONTRACT naming expected and found; a browser asking for a GitHub-release entry without
 * a mirror gets MODEL_FETCH saying why and what to do; downloads report loaded/total bytes per file, are cached on
 * disk and served from it; a dropped connection, a 404, a short body and a wrong size are MODEL_FETCH naming the
 * URL and the two ways forward, leave nothing in the cache, and a later retry succeeds.
 */
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { diskCache } from '../../src/models/cache-node';
import { DA3_NHWC_CONTRACT, letterboxBox, loadDepthModel } from '../../src/models/da3';
import type { DownloadProgress } from '../../src/models/fetch';
import { MODEL_REGISTRY, entryBaseUrl, loadModelBytes } from '../../src/models/registry';
import { type ModelRuntime, createRuntime } from '../../src/models/runtime';
import { Sam3Concepts, Sam3Tracker } from '../../src/models/sam3';
import { rgbImage } from '../fixtures/images';
import { da3Model, tinyModelOutput as out } from '../fixtures/make-models';
import { buildTinyTokenizer } from '../fixtures/make-sam3-models';
import { GraphBuilder } from '../fixtures/onnx/writer';
import { rejection } from './helpers';
import { type HubServer, startHubServer } from './hub-server';

let hub: HubServer;
let rt: ModelRuntime;
let tmp: string;
beforeAll(async () => {
  hub = await startHubServer();
  rt = await createRuntime({ onWarning: () => {} });
  tmp = mkdtempSync(join(tmpdir(), 'diorama-hub-'));
});
afterAll(async () => {
  await rt.dispose();
  await hub.close();
  rmSync(tmp, { recursive: true, force: true });
});

/** Red varies with x (so a transposition or flip shows), green/blue constant. */
const ramp = (W: number, H: number) => rgbImage(W, H, (x) => [Math.round((255 * x) / (W - 1)), 90, 30]);

describe('registry entries through the real adapters', () => {
  it('da3-small (pixel_values [batch, views, 3, H, W], external data) computes the known function at the identity size', async () => {
    const model = await loadDepthModel(rt, 'da3-small', { modelBaseUrl: hub.url, cache: false });
    expect(model.layout).toBe('nchw-float');
    expect(model.session.inputs.get('image')!.modelName).toBe('pixel_values');
    expect(model.session.inputs.get('image')!.shape).toEqual(['batch_size', 'num_views', 3, 'height', 'width']);
    // 504×280 is its own DA3 processing size: no resampling, so depth = out(red) to float32 rounding (a few ulp of
    // values ≤ 5.3 → 1e-5).
    const photo = ramp(504, 280);
    const r = await model.estimate(photo);
    expect([r.processedWidth, r.processedHeight]).toEqual([504, 280]);
    expect(r.quantity).toBe('depth');
    expect(r.metric).toBe(false);
    let worst = 0;
    for (let i = 0; i < r.depth.length; i++) worst = Math.max(worst, Math.abs(r.depth[i]! - out(photo.data[i * 4]!)));
    expect(worst).toBeLessThan(1e-5);
    await model.dispose();
  });

  it('da3-base resolves to its own repository with the same layout', async () => {
    hub.hits.clear();
    const model = await loadDepthModel(rt, 'da3-base', { modelBaseUrl: hub.url, cache: false });
    expect([...hub.hits.keys()].sort()).toEqual([
      '/onnx-community/depth-anything-v3-base/resolve/main/onnx/model.onnx',
      '/onnx-community/depth-anything-v3-base/resolve/main/onnx/model.onnx_data',
    ]);
    await model.dispose();
  });

  it('a uint8 NHWC export is driven through the second DA3 contract: letterboxed canvas, photo part cropped back', async () => {
    const url = `${hub.url}/zerochocobo/DepthAnything3_ONNX/resolve/main/da3_small.onnx`;
    const model = await loadDepthModel(rt, url, { cache: false });
    expect(model.session.contract.id).toBe(DA3_NHWC_CONTRACT.id);
    expect(model.layout).toBe('nhwc-uint8');
    // 259×130 → scale 2 exactly (518/259), box 518×260 at y0 = 129: upsampling a constant-per-column photo whose
    // red steps at x = 130 (columns < 130: red 200, else 40). Inside each half, far from the step and from the
    // padding, the depth is out(red); the photo's top and bottom rows must not see the black padding (out(0)).
    const W = 259;
    const H = 130;
    const photo = rgbImage(W, H, (x) => [x < 130 ? 200 : 40, 10, 10]);
    expect(letterboxBox(W, H, 518)).toEqual({ x0: 0, y0: 129, width: 518, height: 260 });
    const r = await model.estimate(photo);
    expect([r.processedWidth, r.processedHeight]).toEqual([518, 518]);
    expect(r.layout).toBe('nhwc-uint8');
    // The canvas bytes are exact (a constant region resamples to itself: weights sum to 1 within 2⁻²³, well under
    // the 0.5 rounding margin), so the model's value is out(red) in float32; the crop maps 1:1 back at half scale
    // (bilinear in inverse depth between equal values is exact up to float32 rounding: 1e-5).
    for (const y of [0, 1, 64, H - 2, H - 1]) {
      expect(r.depth[y * W + 10]).toBeCloseTo(out(200), 5);
      expect(r.depth[y * W + 250]).toBeCloseTo(out(40), 5);
    }
    await model.dispose();
  });

  it('da2-small: the q8 _quantized and fp16 files give disparity; the fp32 file is checked against its pinned SHA-256', async () => {
    const pick = (r: string) => (r === 'auto' ? 'fp32' : r) as 'fp32';
    for (const precision of ['q8', 'fp16'] as const) {
      hub.hits.clear();
      const model = await loadDepthModel(rt, { id: 'da2-small', precision }, { modelBaseUrl: hub.url, cache: false, choosePrecision: pick });
      expect([...hub.hits.keys()]).toEqual([`/onnx-community/depth-anything-v2-small/resolve/main/onnx/model${precision === 'q8' ? '_quantized' : '_fp16'}.onnx`]);
      const r = await model.estimate(ramp(518, 518));
      expect(r.quantity).toBe('disparity');
      expect(r.depth[0]).toBeCloseTo(out(0), 5);
      await model.dispose();
    }
    // The tiny stand-in is not the published file: the registry's pin refuses it.
    const e = await rejection(loadDepthModel(rt, { id: 'da2-small', precision: 'fp32' }, { modelBaseUrl: hub.url, cache: false, choosePrecision: pick }));
    expect(e.code).toBe('MODEL_INTEGRITY');
    expect(e.message).toContain('afb6a5c28f3b6bf1618c6e43f02073ef9dfdc70e937502d51603e57b0a1df10c');
  });

  it('the SAM3 tracker loads its fp32 and q8 file sets (each with its .onnx_data) and segments around a point', async () => {
    for (const precision of ['fp32', 'q8'] as const) {
      hub.hits.clear();
      const sam = await Sam3Tracker.load(rt, {}, { modelBaseUrl: hub.url, cache: false, precision, choosePrecision: (r) => (r === 'auto' ? 'fp32' : r) });
      const s = precision === 'q8' ? '_quantized' : '';
      expect([...hub.hits.keys()].sort()).toEqual(
        [`prompt_encoder_mask_decoder${s}.onnx`, `prompt_encoder_mask_decoder${s}.onnx_data`, `vision_encoder${s}.onnx`, `vision_encoder${s}.onnx_data`].map(
          (f) => `/onnx-community/sam3-tracker-ONNX/resolve/main/onnx/${f}`,
        ),
      );
      const photo = ramp(400, 300);
      const emb = await sam.embed(photo);
      const [res] = await sam.predict(emb, [{ points: [{ x: 200.5, y: 150.5 }] }]);
      // Mask 0 of the tiny decoder is a 12×8-cell rectangle around the point: it contains the point's pixel.
      const m = res!.masks[0]!;
      expect(m.area).toBeGreaterThan(0);
      expect(m.bbox.x).toBeLessThanOrEqual(200);
      expect(m.bbox.x + m.bbox.width).toBeGreaterThan(200);
      emb.dispose();
      await sam.dispose();
    }
  });

  it('box prompts run one per decoder call (the export takes one box per image with points)', async () => {
    const sam = await Sam3Tracker.load(rt, {}, { modelBaseUrl: hub.url, cache: false });
    let runs = 0;
    const run = sam.decoder.run.bind(sam.decoder);
    const feeds: { boxes: number; points: readonly number[]; labels: readonly number[] }[] = [];
    (sam.decoder as { run: typeof run }).run = (f, o) => {
      runs++;
      feeds.push({ boxes: f.input_boxes!.dims[1]!, points: f.input_points!.dims, labels: f.input_labels!.dims });
      return run(f, o);
    };
    const emb = await sam.embed(ramp(400, 300));
    const res = await sam.predict(emb, [{ box: [10, 10, 100, 100] }, { points: [{ x: 50, y: 50 }] }, { box: [200, 50, 300, 150] }, { points: [{ x: 20, y: 20 }] }]);
    expect(runs).toBe(3); // the two point prompts together, each box alone
    // transformers.js's feeds: points [1,N,P,2] with no box; a box alone: [1,1,4] with points [1,1,0,2], labels [1,1,0].
    expect(feeds).toEqual([
      { boxes: 0, points: [1, 2, 1, 2], labels: [1, 2, 1] },
      { boxes: 1, points: [1, 1, 0, 2], labels: [1, 1, 0] },
      { boxes: 1, points: [1, 1, 0, 2], labels: [1, 1, 0] },
    ]);
    expect(res[0]!.masks[0]!.bbox).toEqual({ x: 10, y: 10, width: 90, height: 90 });
    expect(res[2]!.masks[0]!.bbox).toEqual({ x: 200, y: 50, width: 100, height: 100 });
    emb.dispose();
    await sam.dispose();
  });

  it('the concept graphs load from the GitHub-release layout of a mirror in Node', async () => {
    hub.hits.clear();
    const c = await Sam3Concepts.load(rt, { tokenizer: buildTinyTokenizer() }, { modelBaseUrl: hub.url, cache: false });
    expect([...hub.hits.keys()].every((p) => p.startsWith('/jamjamjon/assets/releases/download/sam3/'))).toBe(true);
    expect(hub.hits.size).toBe(3);
    await c.dispose();
  });

  it('a browser asking for a GitHub-release entry without a mirror gets MODEL_FETCH saying why and what to do', async () => {
    const g = globalThis as { window?: unknown };
    g.window = {};
    try {
      const e = await rejection(loadModelBytes('sam3-concept-decoder', { cache: false }));
      expect(e.code).toBe('MODEL_FETCH');
      expect(e.message).toContain('https://github.com/jamjamjon/assets/releases/download/sam3/geo-encoder-mask-decoder.onnx');
      expect(e.message).toMatch(/CORS/);
      expect(e.message).toMatch(/modelBaseUrl/);
    } finally {
      delete g.window;
    }
  });

  it('unknown tensor names → MODEL_CONTRACT naming the expected and the found names (both DA3 contracts)', async () => {
    const e = await rejection(loadDepthModel(rt, { bytes: da3Model({ names: { input: 'rgb', output: 'dist' } }) }));
    expect(e.code).toBe('MODEL_CONTRACT');
    expect(e.message).toContain("'pixel_values'");
    expect(e.message).toContain("'predicted_depth'");
    expect(e.message).toContain("'rgb'");
    expect(e.message).toContain("'dist'");
    expect(e.message).toContain(DA3_NHWC_CONTRACT.id);
  });

  it('a file using an operator onnxruntime-web does not implement → MODEL_LOAD naming the operator and the way forward', async () => {
    const g = new GraphBuilder('unsupported');
    g.output(g.op('NoSuchOp', [g.input('pixel_values', 'float32', ['B', 3, 'H', 'W'])]), 'float32', ['B', 1, 'H', 'W'], 'predicted_depth');
    const e = await rejection(loadDepthModel(rt, { bytes: g.toModel(), name: 'model_quantized.onnx' }));
    expect(e.code).toBe('MODEL_LOAD');
    expect(e.message).toContain('uses operator NoSuchOp');
    expect(e.message).toMatch(/choose another precision/);
  });

  it('every registry entry names its files under the public host layout', () => {
    expect(entryBaseUrl(MODEL_REGISTRY['da3-small']!)).toBe('https://huggingface.co/onnx-community/depth-anything-v3-small/resolve/main/');
    expect(entryBaseUrl(MODEL_REGISTRY['sam3-concept-decoder']!)).toBe('https://github.com/jamjamjon/assets/releases/download/sam3/');
    expect(MODEL_REGISTRY['da3-small']!.variants.fp32).toMatchObject({ model: 'onnx/model.onnx', externalData: ['onnx/model.onnx_data'] });
    for (const id of ['sam3-tracker-vision-encoder', 'sam3-tracker-decoder']) {
      const v = MODEL_REGISTRY[id]!.variants;
      for (const p of ['fp32', 'fp16', 'q8'] as const) expect(v[p]!.externalData).toEqual([`${v[p]!.model}_data`]);
      expect(v.q8!.model).toMatch(/_quantized\.onnx$/);
    }
  });
});

describe('downloads from the local hub', () => {
  const da3Files = ['onnx/model.onnx', 'onnx/model.onnx_data'].map((f) => `/onnx-community/depth-anything-v3-small/resolve/main/${f}`);

  it('reports loaded/total bytes per file, caches both files on disk, and serves the second load from the cache', async () => {
    const dir = join(tmp, 'ok');
    const events: DownloadProgress[] = [];
    hub.hits.clear();
    const a = await loadModelBytes('da3-small', { modelBaseUrl: hub.url, cacheDir: dir, onProgress: (p) => events.push(p) });
    for (const f of da3Files) {
      const mine = events.filter((e) => e.file === hub.url + f);
      const last = mine.at(-1)!;
      expect(last.total).toBeGreaterThan(0);
      expect(last.loaded).toBe(last.total);
      expect(mine.every((e, i) => i === 0 || e.loaded >= mine[i - 1]!.loaded)).toBe(true);
      expect(hub.hits.get(f)).toBe(1);
    }
    expect(readdirSync(dir).filter((n) => !n.endsWith('.partial'))).toHaveLength(2);
    events.length = 0;
    const b = await loadModelBytes('da3-small', { modelBaseUrl: hub.url, cacheDir: dir, onProgress: (p) => events.push(p) });
    for (const f of da3Files) expect(hub.hits.get(f)).toBe(1);
    expect(events.every((e) => e.cached)).toBe(true);
    expect(b.bytes).toEqual(a.bytes);
    expect(b.externalData![0]!.path).toBe('model.onnx_data');
  });

  for (const fault of ['drop', '404', 'short'] as const) {
    it(`${fault} on the external data file → MODEL_FETCH naming the URL and the two ways forward; nothing cached; a retry succeeds`, async () => {
      const dir = join(tmp, fault);
      const url = hub.url + da3Files[1]!;
      hub.faults.set(da3Files[1]!, fault);
      const e = await rejection(loadModelBytes('da3-small', { modelBaseUrl: hub.url, cacheDir: dir }));
      expect(e.code).toBe('MODEL_FETCH');
      expect(e.message).toContain(url);
      expect(e.message).toMatch(/modelBaseUrl/);
      expect(e.message).toMatch(/pass a depth map/);
      // The data file is not cached (the model file, which arrived whole, may be).
      const cache = diskCache(dir);
      expect(await cache.get(url)).toBeUndefined();
      expect(readdirSync(dir, { withFileTypes: true }).filter((d) => d.name.endsWith('.partial'))).toEqual([]);
      hub.faults.clear();
      const ok = await loadModelBytes('da3-small', { modelBaseUrl: hub.url, cacheDir: dir });
      expect(ok.externalData![0]!.bytes.byteLength).toBeGreaterThan(0);
      expect(await cache.get(url)).toEqual(ok.externalData![0]!.bytes);
    });
  }

  it('a file of the wrong size (the registry pins the real one) → MODEL_FETCH, nothing cached', async () => {
    const dir = join(tmp, 'size');
    const e = await rejection(loadModelBytes('da3-small-nhwc', { modelBaseUrl: hub.url, cacheDir: dir }));
    expect(e.code).toBe('MODEL_FETCH');
    expect(e.message).toMatch(/expected 100704575/);
    expect(e.message).toContain(`${hub.url}/zerochocobo/DepthAnything3_ONNX/resolve/main/da3_small.onnx`);
    expect(existsSync(dir) ? readdirSync(dir) : []).toEqual([]);
  });
});
