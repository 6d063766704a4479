/**
 * The CLI with a photo alone (`diorama photo.png --out DIR`): the depth model runs, its files come from a local
 * mirror in the Hugging Face layout (hub-server.ts) into a fresh cache folder, with a progress display; the
 * second run is served from the cache (no request); an unreachable mirror is MODEL_FETCH naming the URL and the
 * two ways forward, with exit code 1 and no scene written. Both Node backends run the same adapter code:
 * onnxruntime-node (optional dependency; skipped when not installed) and onnxruntime-web wasm (--backend wasm).
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rgbImage } from '../fixtures/images';
import { tinyModelOutput as out } from '../fixtures/make-models';
import { type HubServer, startHubServer } from './hub-server';

const ROOT = resolve(import.meta.dirname, '..', '..');
const TSX = join(ROOT, 'node_modules', '.bin', 'tsx');
let hasOrtNode = false;
try {
  createRequire(import.meta.url).resolve('onnxruntime-node');
  hasOrtNode = true;
} catch {
  hasOrtNode = false;
}

function cli(args: string[], env: Record<string, string> = {}): Promise<{ code: number; stderr: string }> {
  return new Promise((done) => {
    execFile(TSX, [join(ROOT, 'src', 'cli.ts'), ...args], { cwd: ROOT, timeout: 120_000, env: { ...process.env, ...env } }, (err, _stdout, stderr) => {
      done({ code: err ? (typeof err.code === 'number' ? err.code : -1) : 0, stderr });
    });
  });
}

describe('diorama CLI with a photo alone (local model mirror)', () => {
  let hub: HubServer;
  const dir = mkdtempSync(join(tmpdir(), 'diorama-cli-models-'));
  const photo = join(dir, 'photo.png');
  const W = 504;
  const H = 280; // its own DA3 processing size: the depth is the tiny model's function of the red byte, exactly
  beforeAll(async () => {
    hub = await startHubServer();
    const img = rgbImage(W, H, (x) => [x < W / 2 ? 60 : 220, 100, 100]);
    await sharp(Buffer.from(img.data.buffer), { raw: { width: W, height: H, channels: 4 } }).png().toFile(photo);
  });
  afterAll(async () => {
    await hub.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const backends = [...(hasOrtNode ? ['auto'] : []), 'wasm'] as const;
  for (const backend of backends) {
    it(`runs DA3 on ${backend === 'auto' ? 'onnxruntime-node' : 'onnxruntime-web wasm'}, caches the files, writes the scene`, async () => {
      const cache = join(dir, `cache-${backend}`);
      const outDir = join(dir, `out-${backend}`);
      hub.hits.clear();
      const r = await cli([photo, '--out', outDir, '--backend', backend, '--model-base-url', hub.url], { DIORAMA_CACHE_DIR: cache });
      expect(r.stderr).not.toMatch(/diorama: /);
      expect(r.code).toBe(0);
      expect(r.stderr).toContain(`models on ${backend === 'auto' ? 'onnxruntime-node' : 'onnxruntime-web'}`);
      // Progress display (not a terminal): a line per file when it starts and when it ends.
      const base = `${hub.url}/onnx-community/depth-anything-v3-small/resolve/main/onnx/`;
      expect(r.stderr).toContain(`downloading ${base}model.onnx `);
      expect(r.stderr).toContain(`downloading ${base}model.onnx_data `);
      expect(r.stderr).toMatch(/model\.onnx_data: (\d+)\/\1 bytes/);
      expect(readdirSync(cache)).toHaveLength(2);
      const scene = JSON.parse(readFileSync(join(outDir, 'scene.json'), 'utf8'));
      expect(scene.depthKind).toBe('relative');
      expect(scene.intrinsicsKnown).toBe(false);
      expect(scene.model).toMatchObject({ source: 'da3-small', kind: 'da3-main', quantity: 'depth', intrinsicsSource: 'fov-default', processed: [504, 280], provider: backend === 'auto' ? 'cpu' : 'wasm' });
      expect(scene.layers.length).toBeGreaterThanOrEqual(2);
      // Two depth planes: out(60) ≈ 1.20 on the left, out(220) ≈ 4.04 on the right; every layer's range lies in one.
      for (const l of scene.layers) {
        const [a, b] = l.depthRange as [number, number];
        expect(a).toBeGreaterThan(out(60) * 0.5);
        expect(b).toBeLessThan(out(220) * 1.5);
      }
      // Second run: from the cache, no request.
      hub.hits.clear();
      const again = await cli([photo, '--out', join(outDir, 'again'), '--backend', backend, '--model-base-url', hub.url], { DIORAMA_CACHE_DIR: cache });
      expect(again.code).toBe(0);
      expect(again.stderr).toContain('model.onnx_data: from the cache');
      expect(hub.hits.size).toBe(0);
    }, 180_000);
  }

  it('an unreachable mirror: MODEL_FETCH naming the URL and the two ways forward, exit 1, no scene', async () => {
    const outDir = join(dir, 'out-offline');
    const r = await cli([photo, '--out', outDir, '--backend', 'wasm', '--model-base-url', `${hub.url}/nowhere`, '--cache-dir', join(dir, 'cache-offline')]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`diorama: MODEL_FETCH: cannot download ${hub.url}/nowhere/onnx-community/depth-anything-v3-small/resolve/main/onnx/model.onnx`);
    expect(r.stderr).toMatch(/modelBaseUrl.*pass a depth map/);
    expect(existsSync(join(outDir, 'scene.json'))).toBe(false);
  }, 120_000);
});
