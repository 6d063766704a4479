/**
 * Screenshots of the demo for the README (docs/screenshots/*.png): serves the demo, opens it in headless
 * Chromium (puppeteer-core; CHROME_PATH or /usr/bin/chromium), loads the bundled RGB-D sample, and captures
 * the photo view, an orbited view, the layer highlight and the mask overlay.
 *
 * Usage: npm run screenshots [-- --engine webgl|webgpu]
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { startDemo, REPO_ROOT } from '../demo/serve';
import { launchBrowser } from '../test/browser/harness';

const { values } = parseArgs({ options: { engine: { type: 'string', default: 'webgpu' }, sample: { type: 'string', default: 'room' } } });
const outDir = join(REPO_ROOT, 'docs', 'screenshots');
mkdirSync(outDir, { recursive: true });

const server = await startDemo();
const browser = await launchBrowser();
try {
  const page = await browser.newPage();
  page.on('console', (m) => {
    if (m.type() === 'error' || m.type() === 'warn') console.log(`[page ${m.type()}] ${m.text()}`);
  });
  await page.setViewport({ width: 1620, height: 760 });
  await page.goto(`${server.url}/?engine=${values.engine}`, { waitUntil: 'load' });
  await page.waitForFunction('window.dioramaDemo && window.dioramaDemo.ready', { timeout: 60_000 });
  await page.evaluate((id) => window.dioramaDemo!.useSample(id, true), values.sample!);
  await page.waitForFunction('document.querySelectorAll("#layer-list li").length > 0', { timeout: 300_000 });
  const settle = (): Promise<void> => page.evaluate(() => new Promise<void>((ok) => requestAnimationFrame(() => requestAnimationFrame(() => ok()))));
  await settle();
  await page.screenshot({ path: join(outDir, 'demo-photo-view.png') });
  await page.evaluate(() => window.dioramaDemo!.view.orbitBy(0.07, 0.02));
  await settle();
  await page.screenshot({ path: join(outDir, 'demo-orbit.png') });
  await page.evaluate(() => (document.querySelector('#layer-list li .highlight') as HTMLButtonElement).click());
  await settle();
  await page.screenshot({ path: join(outDir, 'demo-highlight.png') });
  await page.evaluate(() => {
    (document.querySelector('#layer-list li .highlight') as HTMLButtonElement).click();
    const sel = document.getElementById('overlay-select') as HTMLSelectElement;
    sel.value = 'masks';
    sel.dispatchEvent(new Event('change'));
  });
  await settle();
  await page.screenshot({ path: join(outDir, 'demo-masks-overlay.png') });
  console.log(`screenshots written to ${outDir}`);
} finally {
  await browser.close();
  await server.close();
}
