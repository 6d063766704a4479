/** `ImportMeshAsync(photo, scene)` with the depth and masks from diorama/models (generated tiny models). */
import { describe, expect, it } from 'vitest';
import { writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { hasChromium, openPage, REPO_ROOT, useHarness } from './harness';
import { writeModels } from '../fixtures/make-models';
import { writeHub } from '../fixtures/make-hub-models';
import { makeScene } from '../fixtures/scene';

describe.skipIf(!hasChromium)('Babylon loader + models (tiny DA3 and SAM3, wasm)', () => {
  const h = useHarness({
    timeout: 120_000,
    async before() {
      await writeModels();
      writeHub();
      const s = makeScene({ width: 320, height: 240 });
      mkdirSync(join(REPO_ROOT, 'out', 'models'), { recursive: true });
      const png = await sharp(Buffer.from(s.image.data), { raw: { width: 320, height: 240, channels: 4 } }).png().toBuffer();
      writeFileSync(join(REPO_ROOT, 'out', 'models', 'photo.png'), png);
      // The same photo as a JPEG whose EXIF says 24 mm (35 mm equivalent).
      const jpeg = await sharp(Buffer.from(s.image.data), { raw: { width: 320, height: 240, channels: 4 } }).jpeg({ quality: 95 }).withExif({ IFD2: { FocalLengthIn35mmFilm: '24' } }).toBuffer();
      writeFileSync(join(REPO_ROOT, 'out', 'models', 'photo-exif.jpg'), jpeg);
    },
  });

  it('a photo alone: ImportMeshAsync with no depth runs the default DA3 model from a mirror, with byte progress per file', async () => {
    const { page, errors } = await openPage(h(), 'test/browser/pages/babylon-models.page.ts');
    const origin = new URL(page.url()).origin;
    const r = (await page.evaluate((o) => window.diorama.importPhotoAlone({ engine: 'webgl', photo: '/out/models/photo.png', modelBaseUrl: `${o}/out/hub` }), origin)) as {
      ok: boolean;
      layers: number;
      meshes: number;
      message: string;
      progress: Record<string, { loaded: number; total: number; events: number }>;
      depthKind: string;
      intrinsicsKnown: boolean;
      maskCount: number;
      masksFrom: string;
    };
    expect(r.message).toBe('');
    expect(r.ok).toBe(true);
    // DA3 main series: relative depth; no EXIF in the PNG: the field-of-view guess, said so.
    expect(r.depthKind).toBe('relative');
    expect(r.intrinsicsKnown).toBe(false);
    expect(r.masksFrom).toBe('depth'); // no SAM3: the core segments the depth map's discontinuities
    expect(r.layers).toBeGreaterThanOrEqual(2);
    expect(r.meshes).toBe(r.layers);
    const base = '/onnx-community/depth-anything-v3-small/resolve/main/onnx/';
    expect(Object.keys(r.progress).sort()).toEqual([`${base}model.onnx`, `${base}model.onnx_data`]);
    for (const p of Object.values(r.progress)) {
      expect(p.total).toBeGreaterThan(0);
      expect(p.loaded).toBe(p.total);
    }
    expect(errors).toEqual([]);
    await page.close();
  }, 300_000);

  it('a photo alone with masks: true runs DA3 and SAM3 automatic masks (tracker files with external data) from the mirror', async () => {
    const { page } = await openPage(h(), 'test/browser/pages/babylon-models.page.ts');
    const origin = new URL(page.url()).origin;
    const r = (await page.evaluate((o) => window.diorama.importPhotoAlone({ engine: 'webgl', photo: '/out/models/photo.png', modelBaseUrl: `${o}/out/hub`, masks: true }), origin)) as {
      ok: boolean;
      message: string;
      layers: number;
      maskCount: number;
      masksFrom: string;
      progress: Record<string, unknown>;
    };
    expect(r.message).toBe('');
    const tracker = '/onnx-community/sam3-tracker-ONNX/resolve/main/onnx/';
    for (const f of ['vision_encoder.onnx', 'vision_encoder.onnx_data', 'prompt_encoder_mask_decoder.onnx', 'prompt_encoder_mask_decoder.onnx_data']) {
      expect(Object.keys(r.progress)).toContain(tracker + f);
    }
    // The tiny decoder answers each of the 36 grid points with its own rectangle: SAM3's label map reaches the core.
    expect(r.masksFrom).toBe('model');
    expect(r.maskCount).toBeGreaterThan(1);
    expect(r.layers).toBeGreaterThanOrEqual(2);
    await page.close();
  }, 300_000);

  it('a JPEG alone takes its focal length from EXIF: intrinsics known, fx = 24 mm equivalent', async () => {
    const { page } = await openPage(h(), 'test/browser/pages/babylon-models.page.ts');
    const origin = new URL(page.url()).origin;
    const r = (await page.evaluate((o) => window.diorama.importPhotoAlone({ engine: 'webgl', photo: '/out/models/photo-exif.jpg', modelBaseUrl: `${o}/out/hub` }), origin)) as {
      ok: boolean;
      message: string;
      intrinsicsKnown: boolean;
      depthKind: string;
      fx: number;
    };
    expect(r.message).toBe('');
    expect(r.intrinsicsKnown).toBe(true);
    expect(r.depthKind).toBe('relative');
    // 35 mm equivalent: f_px = f35 · diag_px / diag_35mm (io/exif.ts), 320×240 → 24·400/43.27 px.
    expect(r.fx).toBeCloseTo((24 * Math.hypot(320, 240)) / Math.hypot(36, 24), 3);
    await page.close();
  }, 300_000);

  it('a photo alone with the models unreachable: MODEL_FETCH naming the URL and the ways forward; the scene is unchanged', async () => {
    const { page } = await openPage(h(), 'test/browser/pages/babylon-models.page.ts');
    const origin = new URL(page.url()).origin;
    const r = (await page.evaluate((o) => window.diorama.importPhotoAlone({ engine: 'webgl', photo: '/out/models/photo.png', modelBaseUrl: `${o}/out/no-such-hub` }), origin)) as {
      ok: boolean;
      code: string;
      message: string;
      meshesAfter: number;
      before: number;
    };
    expect(r.ok).toBe(false);
    expect(r.code).toBe('MODEL_FETCH');
    expect(r.message).toContain(`${origin}/out/no-such-hub/onnx-community/depth-anything-v3-small/resolve/main/onnx/model.onnx`);
    expect(r.message).toMatch(/modelBaseUrl.*pass a depth map/);
    expect(r.meshesAfter).toBe(r.before);
    await page.close();
  }, 300_000);

  for (const engine of ['webgl', 'webgpu'] as const) {
    it(`builds the layered scene from the photo alone (${engine})`, async () => {
      const { page, errors } = await openPage(h(), 'test/browser/pages/babylon-models.page.ts');
      const r = (await page.evaluate((e) => window.diorama.importWithModels({ engine: e, photo: '/out/models/photo.png' }), engine)) as {
        estimated: number;
        meshes: number;
        layers: number;
      };
      expect(r.estimated).toBe(1);
      expect(r.layers).toBeGreaterThanOrEqual(4);
      expect(r.meshes).toBe(r.layers);
      expect(errors).toEqual([]);
      await page.close();
    }, 300_000);
  }
});
