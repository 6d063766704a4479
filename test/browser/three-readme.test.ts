/**
 * The README's three.js example runs as written: its code block is bundled unchanged (only the package name
 * `diorama/three` resolves to src/three), served as a page whose `photo.png` and `photo_depth.pfm` are the
 * synthetic scene, and the canvas it renders must show the photo from the photo camera (38 dB: the argument of
 * test/browser/three.test.ts; the default 60° field-of-view guess is exactly the synthetic scene's camera).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { build } from 'esbuild';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { hasChromium, REPO_ROOT, useHarness } from './harness';
import { makeScene } from '../fixtures/scene';
import { encodePNG } from '../../src/io/png-encode';
import { encodePFM } from '../../src/io/pfm';
import { psnrRGB } from '../../scripts/eval/image-metrics';

/** The first ```ts block after the README's three.js heading. */
function readmeExample(): string {
  const readme = readFileSync(join(REPO_ROOT, 'README.md'), 'utf8');
  const at = readme.indexOf('## three.js (`diorama/three`)');
  if (at < 0) throw new Error('README.md has no "## three.js (`diorama/three`)" section');
  const m = /```ts\n([\s\S]*?)```/.exec(readme.slice(at));
  if (!m) throw new Error('the three.js section of README.md has no ```ts block');
  return m[1]!;
}

describe.skipIf(!hasChromium)('README three.js example', () => {
  const h = useHarness({ timeout: 120_000 });

  it('runs as written and shows the photo', async () => {
    const code = readmeExample();
    expect(code).toMatch(/from 'diorama\/three'/);
    const outfile = join(REPO_ROOT, 'out', 'browser', 'readme-three.js');
    await build({
      stdin: { contents: code, loader: 'ts', resolveDir: REPO_ROOT, sourcefile: 'README.md#three.js' },
      bundle: true,
      format: 'esm',
      platform: 'browser',
      target: 'es2022',
      outfile,
      loader: { '.wgsl': 'text' },
      logLevel: 'warning',
      plugins: [
        {
          name: 'diorama-package',
          setup(b) {
            b.onResolve({ filter: /^diorama\/three(\/webgpu)?$/ }, (a) => ({ path: join(REPO_ROOT, 'src', 'three', a.path.endsWith('/webgpu') ? 'webgpu.ts' : 'index.ts') }));
          },
        },
      ],
    });
    const s = makeScene({ width: 192, height: 144 });
    const png = await encodePNG(s.image);
    const pfm = encodePFM({ width: s.width, height: s.height, data: s.depth });
    const page = await h().browser.newPage();
    const errors: string[] = [];
    const logs: string[] = [];
    page.on('console', (m) => (m.type() === 'error' ? errors : logs).push(m.text()));
    page.on('pageerror', (e) => errors.push(String(e)));
    await page.setViewport({ width: 640, height: 720 });
    await page.setRequestInterception(true);
    page.on('request', (req) => {
      const path = new URL(req.url()).pathname;
      if (path === '/photo.png') void req.respond({ status: 200, contentType: 'image/png', body: Buffer.from(png) });
      else if (path === '/photo_depth.pfm') void req.respond({ status: 200, contentType: 'application/octet-stream', body: Buffer.from(pfm) });
      else void req.continue();
    });
    await page.goto(`${h().server.url}/__page?entry=${encodeURIComponent('/out/browser/readme-three.js')}&w=16&h=16`, { waitUntil: 'load' });
    // The example appends the renderer's canvas and sizes it to the photo once the diorama is built.
    await page.waitForFunction((w: number) => Array.from(document.getElementsByTagName("canvas")).some((c) => c.width === w), { timeout: 120_000 }, s.width);
    await new Promise((r) => setTimeout(r, 500));
    const handles = await page.$$('canvas');
    let shot: Uint8Array | null = null;
    for (const c of handles) {
      const w = await c.evaluate((el) => (el as HTMLCanvasElement).width);
      if (w === s.width) shot = await c.screenshot({ type: 'png' });
    }
    if (!shot) throw new Error('no canvas of the photo size');
    const { data, info } = await sharp(shot).ensureAlpha().raw().toBuffer({ resolveWithObject: true });
    expect([info.width, info.height]).toEqual([s.width, s.height]);
    const psnr = psnrRGB(s.image, { width: info.width, height: info.height, data: new Uint8ClampedArray(data.buffer, data.byteOffset, data.length) })!;
    console.log(`[three-readme] PSNR ${psnr.toFixed(2)} dB; stages logged: ${logs.filter((l) => /^complete /.test(l)).length}`);
    expect(logs).toContain('complete 1');
    expect(psnr).toBeGreaterThanOrEqual(38);
    expect(errors).toEqual([]);
    await page.close();
  }, 300_000);
});
