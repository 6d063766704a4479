/**
 * Original view of the real stereo scenes of ../shared/data/stereo through the Diorama scene loader, both
 * Babylon engines: ImportMeshAsync(left.png) with the disparity PFM as inverse depth (depth = W/d: focal W,
 * baseline 1; unknown disparity 0 is left unknown and filled by decompose), then the photo camera's render
 * is compared with left.png over all pixels: PSNR ≥ 38 dB (see babylon-nodes.test.ts for why).
 * Skipped when the shared data folder is absent.
 */
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { hasChromium, hasSharedData, openPage, SHARED_DATA, useHarness } from './harness';

const stereoDir = join(SHARED_DATA, 'stereo');
const scenes = hasSharedData && existsSync(stereoDir) ? readdirSync(stereoDir).filter((n) => existsSync(join(stereoDir, n, 'left.png')) && existsSync(join(stereoDir, n, 'disp.pfm'))).sort() : [];

describe.skipIf(!hasChromium || scenes.length === 0)('babylon loader: original view of the stereo scenes (shared data)', () => {
  const h = useHarness({ timeout: 120_000 });

  for (const scene of scenes) {
    it(`${scene}: WebGL2 and WebGPU renders of the photo camera reproduce left.png (PSNR ≥ 38 dB)`, async () => {
      const { page, errors } = await openPage(h(), 'test/browser/pages/babylon-loader.page.ts');
      const r = (await page.evaluate((a) => window.diorama.stereoOriginal(a), { scene, engines: ['webgl', 'webgpu'] })) as Record<string, { psnr: number | null; holes: number; layers: number; loadMs: number }>;
      for (const engine of ['webgl', 'webgpu']) {
        const e = r[engine]!;
        // An exact reproduction has PSNR Infinity, which page.evaluate's JSON transfer turns into null.
        e.psnr ??= Infinity;
        console.log(`[babylon-stereo] ${scene} ${engine}: PSNR ${e.psnr.toFixed(2)} dB, ${e.layers} layers, load ${e.loadMs.toFixed(0)} ms`);
        expect(e.layers).toBeGreaterThanOrEqual(1);
        expect(e.psnr).toBeGreaterThanOrEqual(38);
      }
      expect(errors).toEqual([]);
      await page.close();
    }, 600_000);
  }
});
