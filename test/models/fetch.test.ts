/**
 * Downloads, caches, integrity checks and model sources, against a local HTTP server (127.0.0.1) and a
 * temporary disk cache.
 *
 * Proves: byte progress reaches the total; a second fetch is served from the cache (no request); an aborted
 * download throws ABORTED and leaves no cache entry (no final file, no partial file); a truncated body
 * (Content-Length not reached) is MODEL_FETCH and not cached; SHA-256 match passes, mismatch is MODEL_INTEGRITY
 * and not cached, a cached entry with the wrong hash is refetched; a failing cache is a warning, not an error;
 * HTTP errors name the status; registry ids, mirrors, precision suffixes, local paths and external data resolve
 * to the right files, and the loaded bytes run in onnxruntime.
 */
import { createHash } from 'node:crypto';
import { createServer, type Server, type ServerResponse } from 'node:http';
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { memoryCache, type ModelCache } from '../../src/models/cache';
import { cacheFileName, diskCache } from '../../src/models/cache-node';
import { loadDepthModel } from '../../src/models/da3';
import { type DownloadProgress, fetchModelFile, sha256Hex } from '../../src/models/fetch';
import { MODEL_REGISTRY, huggingFaceUrl, loadModelBytes, variantFile } from '../../src/models/registry';
import { createRuntime } from '../../src/models/runtime';
import { EXTERNAL_WEIGHTS, da2Model, externalDataModel } from '../fixtures/make-models';
import { rejection } from './helpers';

const BIG = new Uint8Array(256 * 1024).map((_, i) => (i * 31 + (i >> 8)) & 255);
const BIG_SHA = createHash('sha256').update(BIG).digest('hex');
const DA2 = da2Model();
const EXT = externalDataModel('model.onnx_data');

let server: Server;
let base: string;
const hits = new Map<string, number>();
let tmp: string;

function send(res: ServerResponse, body: Uint8Array, status = 200): void {
  res.writeHead(status, { 'Content-Type': 'application/octet-stream', 'Content-Length': body.byteLength });
  res.end(body);
}

beforeAll(async () => {
  tmp = mkdtempSync(join(tmpdir(), 'diorama-fetch-'));
  server = createServer((req, res) => {
    const p = new URL(req.url ?? '/', 'http://x').pathname;
    hits.set(p, (hits.get(p) ?? 0) + 1);
    if (p === '/big.bin' || p === '/big2.bin' || p === '/big3.bin' || p === '/big4.bin') return send(res, BIG);
    if (p === '/chunked.bin') {
      res.writeHead(200, { 'Content-Type': 'application/octet-stream' });
      for (let o = 0; o < BIG.length; o += 65536) res.write(BIG.subarray(o, o + 65536));
      return res.end();
    }
    if (p === '/slow.bin') {
      // Half the body, then nothing: the client must abort.
      res.writeHead(200, { 'Content-Length': BIG.byteLength });
      res.write(BIG.subarray(0, BIG.length / 2));
      return;
    }
    if (p === '/short.bin') {
      res.writeHead(200, { 'Content-Length': BIG.byteLength });
      res.write(BIG.subarray(0, 1000), () => setTimeout(() => res.destroy(), 20));
      return;
    }
    if (p === '/mirror/onnx/model.onnx' || p === '/mirror/onnx/model_quantized.onnx' || p === '/da2.onnx') return send(res, DA2);
    if (p === '/mirror/onnx/model_fp16.onnx') return send(res, new TextEncoder().encode('fp16 variant'));
    if (p === '/ext/model.onnx') return send(res, EXT.model);
    if (p === '/ext/model.onnx_data') return send(res, EXT.data);
    res.writeHead(404, { 'Content-Type': 'text/plain' });
    res.end('not found');
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise<void>((ok) => server.close(() => ok()));
  rmSync(tmp, { recursive: true, force: true });
});

/** Byte equality without a per-element deep compare. */
function same(a: Uint8Array, b: Uint8Array): boolean {
  return Buffer.compare(Buffer.from(a.buffer, a.byteOffset, a.byteLength), Buffer.from(b.buffer, b.byteOffset, b.byteLength)) === 0;
}

function freshDir(name: string): string {
  const d = join(tmp, name);
  rmSync(d, { recursive: true, force: true });
  return d;
}

describe('fetchModelFile', () => {
  it('reports byte progress up to the total and serves the second call from the disk cache', async () => {
    const dir = freshDir('progress');
    const cache = diskCache(dir);
    const events: DownloadProgress[] = [];
    const url = `${base}/big.bin`;
    const a = await fetchModelFile(url, { cache, onProgress: (p) => events.push(p) });
    expect(same(a, BIG)).toBe(true);
    expect(events[0]).toMatchObject({ loaded: 0, total: BIG.length, cached: false });
    expect(events.at(-1)).toMatchObject({ loaded: BIG.length, total: BIG.length, cached: false });
    for (let i = 1; i < events.length; i++) expect(events[i]!.loaded).toBeGreaterThanOrEqual(events[i - 1]!.loaded);
    expect(readdirSync(dir)).toEqual([await cacheFileName(url)]);
    const before = hits.get('/big.bin');
    const events2: DownloadProgress[] = [];
    const b = await fetchModelFile(url, { cache, onProgress: (p) => events2.push(p) });
    expect(same(b, BIG)).toBe(true);
    expect(hits.get('/big.bin')).toBe(before);
    expect(events2).toEqual([{ file: url, loaded: BIG.length, total: BIG.length, cached: true }]);
  });

  it('handles a body without Content-Length (total unknown)', async () => {
    const events: DownloadProgress[] = [];
    const b = await fetchModelFile(`${base}/chunked.bin`, { cache: false, onProgress: (p) => events.push(p) });
    expect(same(b, BIG)).toBe(true);
    expect(events.at(-1)).toMatchObject({ loaded: BIG.length, total: undefined });
  });

  it('an aborted download throws ABORTED and leaves no cache entry', async () => {
    const dir = freshDir('abort');
    const ac = new AbortController();
    const p = fetchModelFile(`${base}/slow.bin`, {
      cache: diskCache(dir),
      signal: ac.signal,
      onProgress: (e) => {
        if (e.loaded > 0) ac.abort(new Error('user cancelled'));
      },
    });
    const e = await rejection(p);
    expect(e.code).toBe('ABORTED');
    // Nothing under the cache directory: no entry and no partial file.
    expect(existsSync(dir) ? readdirSync(dir) : []).toEqual([]);
  });

  it('a truncated body is MODEL_FETCH and is not cached', async () => {
    const cache = memoryCache();
    const e = await rejection(fetchModelFile(`${base}/short.bin`, { cache }));
    expect(e.code).toBe('MODEL_FETCH');
    expect(e.message).toMatch(/short\.bin/);
    expect(cache.entries.size).toBe(0);
  });

  it('HTTP errors name the status', async () => {
    const e = await rejection(fetchModelFile(`${base}/nope.onnx`, { cache: false }));
    expect(e.code).toBe('MODEL_FETCH');
    expect(e.message).toContain('HTTP 404');
  });

  it('checks SHA-256: a match passes, a mismatch is MODEL_INTEGRITY and nothing is cached', async () => {
    expect(await sha256Hex(BIG)).toBe(BIG_SHA);
    const cache = memoryCache();
    const ok = await fetchModelFile(`${base}/big2.bin`, { cache, sha256: BIG_SHA.toUpperCase() });
    expect(same(ok, BIG)).toBe(true);
    expect(cache.entries.size).toBe(1);
    const wrong = BIG_SHA.replace(/^./, (c) => (c === '0' ? '1' : '0'));
    const e = await rejection(fetchModelFile(`${base}/big3.bin`, { cache, sha256: wrong }));
    expect(e.code).toBe('MODEL_INTEGRITY');
    expect(e.message).toContain(BIG_SHA);
    expect(e.message).toContain(wrong);
    expect(cache.entries.has(`${base}/big3.bin`)).toBe(false);
  });

  it('drops a cached entry whose hash is wrong and downloads again', async () => {
    const cache = memoryCache();
    const url = `${base}/big4.bin`;
    await cache.put(url, new Uint8Array([1, 2, 3]));
    const before = hits.get('/big4.bin') ?? 0;
    const b = await fetchModelFile(url, { cache, sha256: BIG_SHA });
    expect(same(b, BIG)).toBe(true);
    expect(hits.get('/big4.bin')).toBe(before + 1);
    expect(same(cache.entries.get(url)!, BIG)).toBe(true);
  });

  it('a failing cache is a warning, not an error', async () => {
    const broken: ModelCache = {
      get: async () => {
        throw new Error('quota exceeded');
      },
      put: async () => {
        throw new Error('read-only');
      },
      delete: async () => undefined,
    };
    const warnings: string[] = [];
    const b = await fetchModelFile(`${base}/big.bin`, { cache: broken, onWarning: (m) => warnings.push(m) });
    expect(same(b, BIG)).toBe(true);
    expect(warnings.length).toBe(2);
    expect(warnings[0]).toContain('quota exceeded');
    expect(warnings[1]).toContain('read-only');
  });
});

describe('model sources', () => {
  it('variant file names follow the transformers.js suffixes', () => {
    expect(variantFile('onnx/model.onnx', 'fp32')).toBe('onnx/model.onnx');
    expect(variantFile('onnx/model.onnx', 'fp16')).toBe('onnx/model_fp16.onnx');
    expect(variantFile('onnx/model.onnx', 'q8')).toBe('onnx/model_quantized.onnx');
    expect(huggingFaceUrl('onnx-community/depth-anything-v2-small', 'onnx/model.onnx')).toBe(
      'https://huggingface.co/onnx-community/depth-anything-v2-small/resolve/main/onnx/model.onnx',
    );
    expect(MODEL_REGISTRY['da2-small']!.variants.fp16!.model).toBe('onnx/model_fp16.onnx');
    for (const e of Object.values(MODEL_REGISTRY)) expect(e.variants.fp32 ?? e.variants.fp16).toBeDefined();
  });

  it('a registry id from a mirror: the precision chooser picks the file', async () => {
    // The registry pins the published fp32 file's SHA-256: the test file is refused; the q8 file is not pinned.
    const pinned = await rejection(loadModelBytes({ id: 'da2-small', baseUrl: `${base}/mirror/` }, { cache: false }));
    expect(pinned.code).toBe('MODEL_INTEGRITY');
    const q8 = await loadModelBytes({ id: 'da2-small', baseUrl: `${base}/mirror/` }, { cache: false, choosePrecision: () => 'q8' });
    expect(q8.precision).toBe('q8');
    expect(q8.bytes).toEqual(DA2);
    expect(q8.entry?.kind).toBe('da2');
    const fp16 = await loadModelBytes({ id: 'da2-small', baseUrl: `${base}/mirror` }, { cache: false, choosePrecision: () => 'fp16' });
    expect(fp16.precision).toBe('fp16');
    expect(new TextDecoder().decode(fp16.bytes)).toBe('fp16 variant');
    const e = await rejection(loadModelBytes('no-such-model'));
    expect(e.code).toBe('INVALID_OPTION');
    expect(e.message).toContain('da3-small');
  });

  it('URL with external data (`<file>_data`), loaded and run by onnxruntime', async () => {
    const m = await loadModelBytes({ url: `${base}/ext/model.onnx`, externalData: true }, { cache: false });
    expect(m.externalData?.map((f) => f.path)).toEqual(['model.onnx_data']);
    const rt = await createRuntime();
    const s = await rt.createSession(m, { id: 'ext', inputs: [{ name: 'x', types: ['float32'], shapes: [[4]] }], outputs: [{ name: 'y', types: ['float32'], shapes: [[4]] }] });
    const y = await s.run({ x: { type: 'float32', dims: [4], data: Float32Array.from([1, 2, 3, 4]) } });
    expect(Array.from(y.y!.data as Float32Array)).toEqual(Array.from(EXTERNAL_WEIGHTS, (w, i) => w + i + 1));
    // Without the data file the model does not load: MODEL_LOAD.
    const e = await rejection(rt.createSession({ bytes: m.bytes, name: 'ext' }, s.contract));
    expect(e.code).toBe('MODEL_LOAD');
    await rt.dispose();
  });

  it('URL and local path sources load into a working depth model', async () => {
    const rt = await createRuntime();
    const fromUrl = await loadDepthModel(rt, `${base}/da2.onnx`, { kind: 'da2', cache: false });
    expect(fromUrl.fixedInputSize).toEqual([518, 518]);
    const file = join(tmp, 'da2.onnx');
    writeFileSync(file, DA2);
    const fromPath = await loadDepthModel(rt, { path: file, sha256: createHash('sha256').update(DA2).digest('hex') }, { kind: 'da2' });
    expect(fromPath.session.provider).toBe('wasm');
    // In Node a plain string that is not a URL or registry id is a path.
    expect(same((await loadModelBytes(file)).bytes, DA2)).toBe(true);
    const e = await rejection(loadModelBytes({ path: join(tmp, 'missing.onnx') }));
    expect(e.code).toBe('MODEL_FETCH');
    expect(e.message).toContain('missing.onnx');
    await rt.dispose();
  });
});
