/**
 * The demo in a real browser: serve it as `npm run demo` does, load the bundled RGB-D sample, wait for the
 * stage events, check the layer panel, toggle a layer (the screenshot must change and not be blank), and
 * export a GLB that loads again.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'puppeteer-core';
import { hasChromium, launchBrowser, CHROME_PATH } from './harness';
import { startDemo } from '../../demo/serve';
import type { StaticServer } from '../../demo/server';
import { decodeImageBytes } from '../../src/node';
import { writeModels } from '../fixtures/make-models';

/** Parses a GLB container: its JSON chunk (glTF 2.0 binary layout: 12-byte header, then chunks). */
function glbJson(bytes: Uint8Array): { meshes?: unknown[]; materials?: { alphaMode?: string }[]; nodes?: { name?: string; mesh?: number }[] } {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  expect(view.getUint32(0, true)).toBe(0x46546c67); // 'glTF'
  expect(view.getUint32(4, true)).toBe(2);
  const len = view.getUint32(12, true);
  expect(view.getUint32(16, true)).toBe(0x4e4f534a); // 'JSON'
  return JSON.parse(new TextDecoder().decode(bytes.subarray(20, 20 + len)));
}

for (const engine of ['webgpu', 'webgl'] as const) {
  describe.skipIf(!hasChromium)(`demo page (${engine}, Chromium at ${CHROME_PATH})`, () => {
    let server: StaticServer;
    let browser: Browser;
    let page: Page;
    const errors: string[] = [];
    const stages: string[] = [];

    beforeAll(async () => {
      server = await startDemo();
      browser = await launchBrowser();
      page = await browser.newPage();
      page.on('pageerror', (e) => errors.push(String((e as Error).message ?? e)));
      page.on('console', (m) => {
        if (m.type() === 'error') errors.push(m.text());
      });
      await page.setViewport({ width: 1200, height: 700 });
      await page.goto(`${server.url}/?engine=${engine}`, { waitUntil: 'load' });
      await page.waitForFunction('window.dioramaDemo && window.dioramaDemo.ready', { timeout: 60_000 });
    }, 120_000);

    afterAll(async () => {
      await browser?.close();
      await server?.close();
    });

    it('serves the engine it was asked for', async () => {
      const badge = await page.$eval('#engine-badge', (el) => el.textContent);
      expect(badge).toBe(engine === 'webgpu' ? 'WebGPU' : 'WebGL2');
    });

    it('decomposes the RGB-D sample with stage events and lists its layers', async () => {
      await page.evaluate(() => window.dioramaDemo!.useSample('room', true));
      stages.push(...(await page.$$eval('#stages li', (lis) => lis.map((li) => `${li.dataset.stage}:${li.classList.contains('done')}`))));
      for (const s of ['decode', 'harmonize', 'layers', 'inpaint', 'mesh', 'scene']) expect(stages).toContain(`${s}:true`);
      const message = await page.$eval('#message', (el) => el.textContent ?? '');
      expect(message).toMatch(/^\d+ layers from 960×640/);
      const layerCount = Number(/^(\d+)/.exec(message)![1]);
      expect(await page.$$eval('#layer-list li', (l) => l.length)).toBe(layerCount);
      expect(layerCount).toBeGreaterThanOrEqual(4);
      expect(errors).toEqual([]);
    }, 300_000);

    it('toggling a layer changes the picture, which is not blank', async () => {
      const shot = async (): Promise<Uint8Array> => {
        await page.evaluate(() => new Promise<void>((ok) => requestAnimationFrame(() => requestAnimationFrame(() => ok()))));
        const el = await page.$('#render-canvas');
        return new Uint8Array(await el!.screenshot({ type: 'png' }));
      };
      const before = await decodeImageBytes(await shot());
      // The front layer is listed first; hide it.
      await page.click('#layer-list li input[type=checkbox]');
      const after = await decodeImageBytes(await shot());
      expect([after.width, after.height]).toEqual([before.width, before.height]);
      // Not blank: the luminance spread of the photo view is far above a flat clear colour's 0.
      const lum = (img: typeof before, i: number): number => 0.299 * img.data[i * 4]! + 0.587 * img.data[i * 4 + 1]! + 0.114 * img.data[i * 4 + 2]!;
      const n = before.width * before.height;
      let mean = 0;
      for (let i = 0; i < n; i++) mean += lum(before, i) / n;
      let varSum = 0;
      for (let i = 0; i < n; i++) varSum += (lum(before, i) - mean) ** 2 / n;
      expect(Math.sqrt(varSum)).toBeGreaterThan(10);
      let changed = 0;
      for (let i = 0; i < n * 4; i++) if (Math.abs(before.data[i]! - after.data[i]!) > 8) changed++;
      // The hidden front layer covers a visible part of the photo: at least 0.5 % of the samples change.
      expect(changed / (n * 4)).toBeGreaterThan(0.005);
      await page.click('#layer-list li input[type=checkbox]');
    }, 120_000);

    it('exports a GLB that loads again with every layer', async () => {
      const b64 = await page.evaluate(async () => {
        const bytes = await window.dioramaDemo!.exportGLB();
        let s = '';
        for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
        return btoa(s);
      });
      const glb = new Uint8Array(Buffer.from(b64, 'base64'));
      const json = glbJson(glb);
      const layerCount = await page.$$eval('#layer-list li', (l) => l.length);
      expect(json.meshes?.length).toBe(layerCount);
      expect(json.materials?.every((m) => m.alphaMode === 'BLEND')).toBe(true);
      // Reload through Babylon's glTF loader in the page itself.
      const reloaded = await page.evaluate((data) => window.dioramaDemo!.view.reloadGLBMeshCount(data), b64);
      expect(reloaded).toBe(layerCount);
    }, 120_000);
  });
}

describe.skipIf(!hasChromium)('demo page with the generated tiny models (photo → DA3 → SAM3 → scene)', () => {
  let server: StaticServer;
  let browser: Browser;
  let page: Page;
  const errors: string[] = [];

  beforeAll(async () => {
    await writeModels(); // out/models/: DA3-shaped and SAM3-tracker-shaped graphs with the real tensor names
    server = await startDemo();
    browser = await launchBrowser();
    page = await browser.newPage();
    page.on('pageerror', (e) => errors.push(String((e as Error).message ?? e)));
    await page.setViewport({ width: 1200, height: 700 });
    await page.goto(`${server.url}/?engine=webgl`, { waitUntil: 'load' });
    await page.waitForFunction('window.dioramaDemo && window.dioramaDemo.ready', { timeout: 60_000 });
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });

  it('runs the model stages in the worker and builds the scene', async () => {
    await page.evaluate(async () => {
      const set = (id: string, v: string): void => {
        (document.getElementById(id) as HTMLInputElement | HTMLSelectElement).value = v;
      };
      set('depth-model-url', '/out/models/da3-tiny.onnx');
      set('sam-encoder-url', '/out/models/sam3/tracker-vision-encoder.onnx');
      set('sam-decoder-url', '/out/models/sam3/tracker-prompt-encoder-mask-decoder.onnx');
      set('model-ep', 'wasm');
      const app = window.dioramaDemo!;
      await app.useSample('room', false);
      // The photo alone: depth and masks must come from the models.
      app.input.depth = undefined;
      app.input.masks = undefined;
      app.input.intrinsics = undefined;
      await app.run();
    });
    const message = await page.$eval('#message', (el) => el.textContent ?? '');
    expect(message).toMatch(/^\d+ layers from 960×640 .*depth from the model/);
    const stages = await page.$$eval('#stages li', (lis) => lis.map((li) => li.dataset.stage));
    for (const s of ['load', 'depth', 'segment', 'harmonize', 'layers', 'inpaint', 'mesh', 'scene']) expect(stages).toContain(s);
    // The tiny SAM3 decoder answers every grid point with its own rectangle: the label map holds many masks.
    const stats = await page.$eval('#stats', (el) => el.textContent ?? '');
    expect(Number(/(\d+) masks/.exec(stats)![1])).toBeGreaterThan(10);
    expect(await page.$$eval('#layer-list li', (l) => l.length)).toBeGreaterThanOrEqual(4);
    expect(errors).toEqual([]);
  }, 600_000);

  it('says clearly when a model cannot be fetched', async () => {
    await page.evaluate(async () => {
      (document.getElementById('depth-model-url') as HTMLInputElement).value = '/out/models/no-such-model.onnx';
      const app = window.dioramaDemo!;
      app.input.depth = undefined;
      app.input.masks = undefined;
      await app.run();
    });
    const message = await page.$eval('#message', (el) => el.textContent ?? '');
    expect(message).toMatch(/^MODEL_FETCH: .*no-such-model\.onnx/);
    expect(await page.$eval('#message', (el) => el.classList.contains('error'))).toBe(true);
  }, 120_000);
});
