/**
 * decompose({ gpu }) solves Stage 1 on WebGPU and gives the CPU path's result: the same system and stopping
 * rule, so the same iteration count; the harmonized depth then differs only by float32 summation order in CG
 * (bench/gpu.bench.ts measures ~1e-4 at the worst pixel after 9 iterations at 1080p), well inside 1e-3.
 */
import { describe, expect, it } from 'vitest';
import { hasChromium, openPage, useHarness } from './harness';

describe.skipIf(!hasChromium)('decompose with the gpu option (Chromium, WebGPU)', () => {
  const h = useHarness();

  it('runs Stage 1 on the GPU and matches the CPU pipeline', async (ctx) => {
    const { page, errors } = await openPage(h(), 'test/browser/pages/gpu-decompose.page.ts');
    const r = (await page.evaluate('window.diorama.compare()')) as {
      available: boolean; backend: string; cpuBackend: string; validation: string | null; maxRel: number; layers: number[]; iterations: number[];
    };
    if (!r.available) ctx.skip('no WebGPU adapter in this Chromium');
    expect(r.cpuBackend).toBe('cpu');
    expect(r.backend).toBe('webgpu');
    expect(r.validation).toBeNull();
    expect(r.iterations[1]).toBe(r.iterations[0]);
    expect(r.maxRel).toBeLessThan(1e-3);
    expect(r.layers[1]).toBe(r.layers[0]);
    expect(errors).toEqual([]);
  }, 180_000);
});
