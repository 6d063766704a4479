import { describe, expect, it } from 'vitest';
import { hasChromium, openPage, CHROME_PATH, useHarness } from './harness';

describe.skipIf(!hasChromium)(`browser harness (Chromium at ${CHROME_PATH})`, () => {
  const h = useHarness();

  it('offers WebGPU, WebGL2 and cross-origin isolation', async () => {
    const { page, errors } = await openPage(h(), 'test/browser/pages/smoke.page.ts');
    const env = (await page.evaluate('window.diorama.environment()')) as Record<string, unknown>;
    expect(env.webgpu).toBe(true);
    expect(env.webgl2).toBe(true);
    expect(env.crossOriginIsolated).toBe(true);
    expect(errors).toEqual([]);
    await page.close();
  });
});
