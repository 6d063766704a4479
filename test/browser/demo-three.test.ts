/**
 * The demo's three.js example page (/three) on both renderers: the sample loads through DioramaLoader, the
 * canvas shows the photo from the photo camera (38 dB, the argument of test/browser/three.test.ts; the page
 * scales the canvas only when the window is narrower than the photo, not here), and no page error occurs.
 */
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { hasChromium, launchBrowser } from './harness';
import { startDemo } from '../../demo/serve';
import { psnrRGB } from '../../scripts/eval/image-metrics';

describe.skipIf(!hasChromium)('demo: three.js page', () => {
  it('loads the room sample on WebGLRenderer and WebGPURenderer and shows the photo', async () => {
    const server = await startDemo();
    const browser = await launchBrowser();
    try {
      const photo = await sharp('out/demo/samples/room-depth-only.png').ensureAlpha().raw().toBuffer({ resolveWithObject: true });
      for (const renderer of ['webgl', 'webgpu']) {
        const page = await browser.newPage();
        const errors: string[] = [];
        page.on('console', (m) => m.type() === 'error' && errors.push(m.text()));
        page.on('pageerror', (e) => errors.push(String(e)));
        await page.setViewport({ width: 1100, height: 800 });
        await page.goto(`${server.url}/three?sample=room-depth-only&renderer=${renderer}`, { waitUntil: 'load' });
        await page.waitForFunction('window.dioramaThree !== undefined', { timeout: 240_000 });
        const state = (await page.evaluate(() => ({ ...window.dioramaThree, diorama: undefined }))) as { ready: boolean; error?: string; layers: number; width: number; height: number; renderer: string };
        expect(state.error).toBeUndefined();
        expect(state.ready).toBe(true);
        expect(state.renderer).toBe(renderer);
        expect(state.layers).toBeGreaterThanOrEqual(2);
        await new Promise((r) => setTimeout(r, 300));
        const shot = await (await page.$('#view canvas'))!.screenshot({ type: 'png' });
        const { data, info } = await sharp(shot).ensureAlpha().raw().toBuffer({ resolveWithObject: true });
        expect([info.width, info.height]).toEqual([photo.info.width, photo.info.height]);
        const psnr = psnrRGB(
          { width: photo.info.width, height: photo.info.height, data: new Uint8ClampedArray(photo.data.buffer, photo.data.byteOffset, photo.data.length) },
          { width: info.width, height: info.height, data: new Uint8ClampedArray(data.buffer, data.byteOffset, data.length) },
        )!;
        console.log(`[demo-three] ${renderer}: ${state.layers} layers, PSNR ${psnr.toFixed(2)} dB`);
        // antialias: true (MSAA) only touches silhouettes, a small fraction of the pixels.
        expect(psnr).toBeGreaterThanOrEqual(38);
        expect(errors).toEqual([]);
        await page.close();
      }
    } finally {
      await browser.close();
      await server.close();
    }
  }, 600_000);
});
