/** `ImportMeshAsync(photo, scene)` with the depth and masks from diorama/models (generated tiny models). */
import { describe, expect, it } from 'vitest';
import { writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { hasChromium, openPage, REPO_ROOT, useHarness } from './harness';
import { writeModels } from '../fixtures/make-models';
import { makeScene } from '../fixtures/scene';

describe.skipIf(!hasChromium)('Babylon loader + models (tiny DA3 and SAM3, wasm)', () => {
  const h = useHarness({
    timeout: 120_000,
    async before() {
      await writeModels();
      const s = makeScene({ width: 320, height: 240 });
      mkdirSync(join(REPO_ROOT, 'out', 'models'), { recursive: true });
      const png = await sharp(Buffer.from(s.image.data), { raw: { width: 320, height: 240, channels: 4 } }).png().toBuffer();
      writeFileSync(join(REPO_ROOT, 'out', 'models', 'photo.png'), png);
    },
  });

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
