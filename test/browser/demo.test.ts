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
import { writeHub } from '../fixtures/make-hub-models';
import { DETECTOR_SPEC, TOKENS, TRACKER_SPEC } from '../fixtures/make-sam3-models';

/** Parses a GLB container: its JSON chunk (glTF 2.0 binary layout: 12-byte header, then chunks). */
function glbJson(bytes: Uint8Array): { meshes?: unknown[]; materials?: { alphaMode?: string }[]; nodes?: { name?: string; mesh?: number }[] } {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  expect(view.getUint32(0, true)).toBe(0x46546c67); // 'glTF'
  expect(view.getUint32(4, true)).toBe(2);
  const len = view.getUint32(12, true);
  expect(view.getUint32(16, true)).toBe(0x4e4f534a); // 'JSON'
  return JSON.parse(new TextDecoder().decode(bytes.subarray(20, 20 + len)));
}

/** A served demo opened in its own browser, with page errors collected (one per describe, in beforeAll). */
interface OpenDemo {
  server: StaticServer;
  browser: Browser;
  page: Page;
  errors: string[];
  close(): Promise<void>;
}

async function openDemo(engine: 'webgl' | 'webgpu', consoleErrors = false): Promise<OpenDemo> {
  const server = await startDemo();
  const browser = await launchBrowser();
  const page = await browser.newPage();
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(String((e as Error).message ?? e)));
  if (consoleErrors) {
    page.on('console', (m) => {
      if (m.type() === 'error') errors.push(m.text());
    });
  }
  await page.setViewport({ width: 1200, height: 700 });
  await page.goto(`${server.url}/?engine=${engine}`, { waitUntil: 'load' });
  await page.waitForFunction('window.dioramaDemo && window.dioramaDemo.ready', { timeout: 60_000 });
  return {
    server,
    browser,
    page,
    errors,
    async close() {
      await browser.close();
      await server.close();
    },
  };
}

/**
 * Points the model settings at the generated tiny models (wasm EP; plus the concept graphs when asked) and runs
 * the room sample's photo alone, so that depth and masks must come from the models.
 */
function runTinyModels(page: Page, concepts: boolean): Promise<void> {
  return page.evaluate(async (withConcepts) => {
    const set = (id: string, v: string): void => {
      (document.getElementById(id) as HTMLInputElement | HTMLSelectElement).value = v;
    };
    set('depth-model-url', '/out/models/da3-tiny.onnx');
    set('sam-encoder-url', '/out/models/sam3/tracker-vision-encoder.onnx');
    set('sam-decoder-url', '/out/models/sam3/tracker-prompt-encoder-mask-decoder.onnx');
    if (withConcepts) {
      set('concept-vision-url', '/out/models/sam3/detector-vision-encoder.onnx');
      set('concept-text-url', '/out/models/sam3/text-encoder.onnx');
      set('concept-decoder-url', '/out/models/sam3/detector-decoder.onnx');
      set('concept-tokenizer-url', '/out/models/sam3/tokenizer.json');
    }
    set('model-ep', 'wasm');
    const app = window.dioramaDemo!;
    await app.useSample('room', false);
    app.input.depth = undefined;
    app.input.masks = undefined;
    app.input.intrinsics = undefined;
    await app.run();
  }, concepts);
}

for (const engine of ['webgpu', 'webgl'] as const) {
  describe.skipIf(!hasChromium)(`demo page (${engine}, Chromium at ${CHROME_PATH})`, () => {
    let demo: OpenDemo;
    let page: Page;
    let errors: string[];
    const stages: string[] = [];

    beforeAll(async () => {
      demo = await openDemo(engine, true);
      ({ page, errors } = demo);
    }, 120_000);

    afterAll(async () => {
      await demo?.close();
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
  let demo: OpenDemo;
  let page: Page;
  let errors: string[];

  beforeAll(async () => {
    await writeModels(); // out/models/: DA3-shaped and SAM3-tracker-shaped graphs with the real tensor names
    demo = await openDemo('webgl');
    ({ page, errors } = demo);
  }, 120_000);

  afterAll(async () => {
    await demo?.close();
  });

  it('runs the model stages in the worker and builds the scene', async () => {
    await runTinyModels(page, false);
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

  it('a photo without depth runs the default DA3 model from a mirror, with a byte progress bar per file', async () => {
    writeHub();
    const bars = await page.evaluate(async () => {
      const set = (id: string, v: string): void => {
        (document.getElementById(id) as HTMLInputElement | HTMLSelectElement).value = v;
      };
      set('depth-model-url', '');
      set('model-base-url', `${location.origin}/out/hub`);
      (document.getElementById('use-sam') as HTMLInputElement).checked = false;
      set('model-ep', 'wasm');
      const app = window.dioramaDemo!;
      await app.useSample('room', false);
      app.input.depth = undefined;
      app.input.masks = undefined;
      app.input.intrinsics = undefined;
      await app.run();
      return Array.from(document.querySelectorAll<HTMLLIElement>('#stages li'))
        .filter((li) => li.dataset.stage!.startsWith('download:'))
        .map((li) => ({
          stage: li.dataset.stage!.replace(location.origin, ''),
          name: li.querySelector('.name')!.textContent,
          value: li.querySelector('progress')!.value,
          loaded: Number(li.dataset.loaded),
          total: Number(li.dataset.total),
          text: li.querySelector('.bytes')!.textContent,
        }));
    });
    const message = await page.$eval('#message', (el) => el.textContent ?? '');
    expect(message).toMatch(/^\d+ layers from 960×640 .*depth from the model/);
    const base = 'download:/out/hub/onnx-community/depth-anything-v3-small/resolve/main/onnx/';
    expect(bars.map((b) => b.stage)).toEqual([`${base}model.onnx`, `${base}model.onnx_data`]);
    expect(bars.map((b) => b.name)).toEqual(['download model.onnx', 'download model.onnx_data']);
    for (const b of bars) {
      // Either downloaded now (loaded = total bytes) or served from the page's Cache API by an earlier run.
      expect(b.value).toBe(1);
      if (b.text !== 'cached') {
        expect(b.total).toBeGreaterThan(0);
        expect(b.loaded).toBe(b.total);
        expect(b.text).toMatch(/^\d+\.\d+ \/ \d+\.\d+ MB$/);
      }
    }
  }, 300_000);

  it('says clearly when a model cannot be fetched', async () => {
    await page.evaluate(async () => {
      (document.getElementById('depth-model-url') as HTMLInputElement).value = '/out/models/no-such-model.onnx';
      (document.getElementById('use-sam') as HTMLInputElement).checked = true;
      (document.getElementById('model-base-url') as HTMLInputElement).value = '';
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

/**
 * SAM3 prompts in the demo, with the generated tiny models (test/fixtures/make-sam3-models.ts), whose outputs
 * are known functions of the prompt:
 *  - tracker decoder: mask k is positive exactly inside a rectangle of half-size halfX[k] × halfY[k] cells of
 *    the 256² mask grid centred on the first point (mask 1 minus a hole of L1 radius 1.5 cells around the
 *    point), when that point is positive; iou_scores[k] = iouBase[k] + iouSlopeX·x/1008;
 *  - detector: per token, constant query logits and presence; query q's mask is its constant box.
 */
describe.skipIf(!hasChromium)('demo page: SAM3 click and text-concept prompts with the generated tiny models', () => {
  let demo: OpenDemo;
  let page: Page;
  let errors: string[];
  const W = 960;
  const H = 640;
  // The core re-decides labels within this many pixels of a mask boundary (harmonize's default snapRadius).
  const SNAP = 3;

  beforeAll(async () => {
    await writeModels(); // out/models/ and out/models/sam3/
    demo = await openDemo('webgl');
    ({ page, errors } = demo);
    await runTinyModels(page, true);
  }, 600_000);

  afterAll(async () => {
    await demo?.close();
  });

  const message = (): Promise<{ text: string; error: boolean }> =>
    page.$eval('#message', (el) => ({ text: el.textContent ?? '', error: el.classList.contains('error') }));
  const sceneVersion = (): Promise<number> => page.evaluate(() => window.dioramaDemo!.sceneVersion);

  it('shows the prompt section after a model run', async () => {
    expect((await message()).text).toMatch(/depth from the model/);
    expect(await page.$eval('#prompt-section', (el) => (el as HTMLElement).hidden)).toBe(false);
  });

  it('a click on the view selects the tiny decoder rectangle around that photo pixel and rebuilds the scene', async () => {
    await page.click('#click-mode');
    // At the photo's viewpoint the view shows the photo with a fixed vertical field of view: continuous photo
    // point (u, v) appears at canvas (cw/2 + (u − W/2)·ch/H, v·ch/H). Click an integer CSS pixel (pointer
    // coordinates may be rounded) and compute the photo point it shows.
    const rect = await page.$eval('#render-canvas', (el) => {
      const r = el.getBoundingClientRect();
      return { left: r.left, top: r.top, width: r.width, height: r.height };
    });
    const s = rect.height / H;
    const sx = Math.round(rect.left + rect.width / 2 + (300 - W / 2) * s);
    const sy = Math.round(rect.top + 150 * s);
    const u = W / 2 + (sx - rect.left - rect.width / 2) / s;
    const v = (sy - rect.top) / s;
    const v0 = await sceneVersion();
    await page.mouse.click(sx, sy);
    await page.waitForFunction((v0) => window.dioramaDemo!.sceneVersion > v0 || document.getElementById('message')!.classList.contains('error'), { timeout: 300_000 }, v0);
    expect((await message()).error).toBe(false);
    expect(await sceneVersion()).toBe(v0 + 1);

    const sel = await page.evaluate(() => window.dioramaDemo!.lastPrompt!.selection!);
    // The picked layer point projects back to the clicked point (float32 geometry: far below a pixel).
    expect(Math.abs(sel.x - u)).toBeLessThan(0.05);
    expect(Math.abs(sel.y - v)).toBeLessThan(0.05);
    expect(sel.refined).toBe(false);

    // The selection: among the candidates that contain the clicked pixel (mask 1 has a hole there), the one
    // with the highest predicted IoU is mask 0 (iouBase 0.9 > 0.6): |Δx| < halfX·W/256, |Δy| < halfY·H/256.
    const hx = (TRACKER_SPEC.halfX[0] * W) / TRACKER_SPEC.lowRes;
    const hy = (TRACKER_SPEC.halfY[0] * H) / TRACKER_SPEC.lowRes;
    // Logits are linear across the edges, so bilinear upsampling puts the edge exactly (1 px margin for
    // rounding) except near corners (within one cell); the core then snaps boundaries within SNAP pixels.
    const inner = { x: hx - 1 - SNAP, y: hy - 1 - SNAP };
    const outer = { x: hx + W / TRACKER_SPEC.lowRes + SNAP, y: hy + H / TRACKER_SPEC.lowRes + SNAP };
    const check = await page.evaluate(
      ({ cx, cy, inner, outer }) => {
        const r = window.dioramaDemo!.result!.result;
        const L = r.labels[Math.floor(cy) * r.width + Math.floor(cx)]!;
        let innerTotal = 0, innerHits = 0, outsideHits = 0;
        for (let y = 0; y < r.height; y++) {
          for (let x = 0; x < r.width; x++) {
            const dx = Math.abs(x + 0.5 - cx), dy = Math.abs(y + 0.5 - cy);
            const l = r.labels[y * r.width + x];
            if (dx <= inner.x && dy <= inner.y) {
              innerTotal++;
              if (l === L) innerHits++;
            } else if ((dx >= outer.x || dy >= outer.y) && l === L) outsideHits++;
          }
        }
        const layer = r.layers.find((l) => l.maskIds.includes(L));
        return { L, innerTotal, innerHits, outsideHits, concepts: layer?.concepts ?? null, panel: document.getElementById('layer-list')!.textContent ?? '' };
      },
      { cx: sel.x, cy: sel.y, inner, outer },
    );
    expect(check.L).toBeGreaterThanOrEqual(0);
    // At least floor(2a) pixel centres lie within ±a of any point on each axis.
    expect(check.innerTotal).toBeGreaterThanOrEqual(Math.floor(2 * inner.x) * Math.floor(2 * inner.y));
    expect(check.innerHits).toBe(check.innerTotal);
    expect(check.outsideHits).toBe(0);
    // Its own mask, named as a selection, in a layer of the rebuilt scene.
    expect(check.concepts).toContain('selection 1');
    expect(check.panel).toContain('selection 1');
    // The selection is no larger than the rectangle (plus the snapping band).
    expect(sel.area).toBeLessThanOrEqual(Math.ceil(2 * (hx + 1)) * Math.ceil(2 * (hy + 1)));
    expect(errors).toEqual([]);
  }, 300_000);

  it('a shift-click outside the selection refines it without adding a mask', async () => {
    const before = await page.evaluate(() => {
      const r = window.dioramaDemo!.result!.result;
      const s = window.dioramaDemo!.lastPrompt!.selection!;
      return { maskCount: r.stats.maskCount, x: s.x, y: s.y, label: r.labels[Math.floor(s.y) * r.width + Math.floor(s.x)] };
    });
    const v0 = await sceneVersion();
    // 60 px to the right of the first point: outside mask 0 (half-width 22.5 px), so mask 0 still agrees
    // with both points and is chosen again; the selection keeps its id.
    await page.evaluate(async () => {
      const app = window.dioramaDemo!;
      const canvas = document.getElementById('render-canvas')!.getBoundingClientRect();
      const r = app.result!.result;
      const s = canvas.height / r.height;
      const p = app.lastPrompt!.selection!;
      await app.clickAt(canvas.width / 2 + (p.x + 60 - r.width / 2) * s, p.y * s, true);
    });
    expect((await message()).error).toBe(false);
    expect(await sceneVersion()).toBe(v0 + 1);
    const after = await page.evaluate(({ x, y }) => {
      const r = window.dioramaDemo!.result!.result;
      const s = window.dioramaDemo!.lastPrompt!.selection!;
      return { maskCount: r.stats.maskCount, refined: s.refined, x: s.x, label: r.labels[Math.floor(y) * r.width + Math.floor(x)] };
    }, before);
    expect(after.refined).toBe(true);
    expect(Math.abs(after.x - (before.x + 60))).toBeLessThan(0.05);
    // Same label map as before the refinement: same mask count, same label under the first point.
    expect(after.maskCount).toBe(before.maskCount);
    expect(after.label).toBe(before.label);
  }, 300_000);

  it('an accepted text concept becomes named masks and layers', async () => {
    const v0 = await sceneVersion();
    await page.$eval('#concept-input', (el) => ((el as HTMLInputElement).value = 'cat'));
    await page.click('#concept-form button[type=submit]');
    await page.waitForFunction((v0) => window.dioramaDemo!.sceneVersion > v0 || document.getElementById('message')!.classList.contains('error'), { timeout: 300_000 }, v0);
    expect((await message()).error).toBe(false);
    // Masks kept: queries with sigmoid(logit)·sigmoid(presence) > 0.5 (the default score threshold).
    const cat = TOKENS.cat;
    const expected = Object.entries(DETECTOR_SPEC.logits[cat]!)
      .filter(([, l]) => sigmoidOf(l) * sigmoidOf(DETECTOR_SPEC.presence[cat]!) > 0.5)
      .map(([q]) => Number(q));
    expect(expected.length).toBeGreaterThan(0);
    const info = await page.evaluate(() => window.dioramaDemo!.lastPrompt!.concepts!);
    expect(info).toEqual([expect.objectContaining({ name: 'cat', accepted: true, maskCount: expected.length })]);
    // Each kept query's box (normalised) is a 'cat' mask: its centre pixel lies in a layer named 'cat'.
    const boxes = expected.map((q) => DETECTOR_SPEC.boxes[q]!);
    const layersAtCentres = await page.evaluate((boxes) => {
      const r = window.dioramaDemo!.result!.result;
      return boxes.map(([x0, y0, x1, y1]) => {
        const x = Math.floor(((x0 + x1) / 2) * r.width), y = Math.floor(((y0 + y1) / 2) * r.height);
        const L = r.labels[y * r.width + x]!;
        return r.layers.find((l) => l.maskIds.includes(L))?.concepts ?? [];
      });
    }, boxes);
    for (const c of layersAtCentres) expect(c).toContain('cat');
    expect(await page.$eval('#layer-list', (el) => el.textContent ?? '')).toContain('cat');
    expect(errors).toEqual([]);
  }, 300_000);

  it('a phrase the presence head rejects gives a message and keeps the scene', async () => {
    // 'sky' has presence logit −5: sigmoid ≈ 0.007 < 0.5.
    expect(sigmoidOf(DETECTOR_SPEC.presence[TOKENS.sky]!)).toBeLessThan(0.5);
    const v0 = await sceneVersion();
    await page.evaluate(() => window.dioramaDemo!.prompt({ kind: 'concepts', phrases: ['sky'] }));
    const m = await message();
    expect(m.text).toBe("no 'sky' in this photo");
    expect(m.error).toBe(false);
    expect(await sceneVersion()).toBe(v0);
  }, 300_000);

  it('cancel stops a prompt and keeps the scene; prompts work again afterwards', async () => {
    const v0 = await sceneVersion();
    const text = await page.evaluate(async () => {
      const app = window.dioramaDemo!;
      const cancel = document.getElementById('cancel-button') as HTMLButtonElement;
      const done = app.prompt({ kind: 'concepts', phrases: ['dog'] });
      while (cancel.disabled) await new Promise((ok) => setTimeout(ok, 5));
      cancel.click();
      await done;
      return document.getElementById('message')!.textContent;
    });
    expect(text).toBe('cancelled');
    expect(await sceneVersion()).toBe(v0);
    // Back to the run's masks: the camera pose survives the rebuild.
    await page.evaluate(() => window.dioramaDemo!.view.orbitBy(0.05, 0));
    const alpha = await page.evaluate(() => (window.dioramaDemo!.view.scene.activeCamera as unknown as { alpha: number }).alpha);
    await page.evaluate(() => window.dioramaDemo!.prompt({ kind: 'reset' }));
    expect((await message()).error).toBe(false);
    expect(await sceneVersion()).toBe(v0 + 1);
    const after = await page.evaluate(() => {
      const app = window.dioramaDemo!;
      return {
        alpha: (app.view.scene.activeCamera as unknown as { alpha: number }).alpha,
        concepts: app.result!.result.layers.flatMap((l) => l.concepts),
      };
    });
    expect(after.alpha).toBeCloseTo(alpha, 6);
    expect(after.concepts).not.toContain('cat');
    expect(after.concepts).not.toContain('selection 1');
    expect(errors).toEqual([]);
  }, 300_000);

  it('a concept model that cannot be fetched gives a clear error and keeps the scene', async () => {
    const v0 = await sceneVersion();
    await page.evaluate(async () => {
      (document.getElementById('concept-tokenizer-url') as HTMLInputElement).value = '/out/models/sam3/no-such-tokenizer.json';
      await window.dioramaDemo!.prompt({ kind: 'concepts', phrases: ['cat'] });
    });
    const m = await message();
    expect(m.text).toMatch(/^MODEL_FETCH: .*no-such-tokenizer\.json/);
    expect(m.error).toBe(true);
    expect(await sceneVersion()).toBe(v0);
    // The session survives the failure: with the tokenizer back, the same prompt rebuilds the scene.
    await page.evaluate(async () => {
      (document.getElementById('concept-tokenizer-url') as HTMLInputElement).value = '/out/models/sam3/tokenizer.json';
      await window.dioramaDemo!.prompt({ kind: 'concepts', phrases: ['cat'] });
    });
    expect((await message()).error).toBe(false);
    expect(await sceneVersion()).toBe(v0 + 1);
  }, 300_000);
});

function sigmoidOf(x: number): number {
  return 1 / (1 + Math.exp(-x));
}
