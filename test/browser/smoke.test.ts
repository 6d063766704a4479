import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hasChromium, openPage, startHarness, CHROME_PATH, type Harness } from './harness';

describe.skipIf(!hasChromium)(`browser harness (Chromium at ${CHROME_PATH})`, () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness();
  });
  afterAll(async () => {
    await h?.close();
  });

  it('offers WebGPU, WebGL2 and cross-origin isolation', async () => {
    const { page, errors } = await openPage(h, 'test/browser/pages/smoke.page.ts');
    const env = (await page.evaluate('window.diorama.environment()')) as Record<string, unknown>;
    expect(env.webgpu).toBe(true);
    expect(env.webgl2).toBe(true);
    expect(env.crossOriginIsolated).toBe(true);
    expect(errors).toEqual([]);
    await page.close();
  });
});
