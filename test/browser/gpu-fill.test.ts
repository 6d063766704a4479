/**
 * Stage 3's harmonic fill on the GPU (harmonicFillGpu: CPU set-up, GPU coarse-to-fine PCG) against
 * harmonicFill on fresh random fill problems, in Chromium; skips without Chromium or a WebGPU adapter.
 *
 * Tolerance 1e-4 relative to the largest value (style.md's float32-solver figure): run to a tolerance of
 * 1e-6, or for a fixed iteration count, both cascades follow the same f32 iterates up to reduction rounding
 * (f32 here, f64 on the CPU); the pure Laplacian with Dirichlet ring of these problems (discs up to a quarter
 * of the side) has κ ~ (disc diameter)², which still leaves the f32 error floor κ·u well below 1e-4.
 */
import { describe, expect, it } from 'vitest';
import { hasChromium, useGpuPage } from './harness';

describe.skipIf(!hasChromium)('harmonicFillGpu vs harmonicFill (Chromium)', () => {
  const { available, errors, call } = useGpuPage('test/browser/pages/gpu-fill.page.ts');

  const cases = [
    { name: 'linear, tolerance 1e-6', width: 96, height: 80, domain: 'linear', tolerance: 1e-6, maxIterations: 2000, isolated: false },
    { name: 'inverse, isolated component, tolerance 1e-6', width: 150, height: 70, domain: 'inverse', tolerance: 1e-6, maxIterations: 2000, isolated: true },
    { name: 'Stage 3 settings (inverse, 1e-3, 40 iterations)', width: 127, height: 63, domain: 'inverse', tolerance: 1e-3, maxIterations: 40, isolated: false },
  ] as const;
  for (const c of cases) {
    it(`matches the CPU fill within 1e-4 relative: ${c.name}`, async (ctx) => {
      if (!available()) ctx.skip('no WebGPU adapter in this Chromium');
      const seed = Math.floor(Math.random() * 2 ** 31);
      const r = (await call('fillCompare', { seed, ...c })) as {
        maxRelError: number;
        nonFinite: number;
        outsideChanged: number;
        iterations: [number, number];
        backend: string;
        validationError: string | null;
      };
      const msg = `seed ${seed}: ${JSON.stringify(r)}`;
      console.log(`fill ${c.name}: max rel error ${r.maxRelError.toExponential(2)}, iterations cpu ${r.iterations[0]} gpu ${r.iterations[1]}`);
      expect(r.validationError, msg).toBeNull();
      expect(r.backend, msg).toBe('webgpu');
      expect(r.nonFinite, msg).toBe(0);
      expect(r.outsideChanged, msg).toBe(0);
      expect(r.maxRelError, msg).toBeLessThanOrEqual(1e-4);
      expect(Math.abs(r.iterations[0] - r.iterations[1]), msg).toBeLessThanOrEqual(1);
    }, 120_000);
  }

  it('logs no page errors', () => {
    expect(errors()).toEqual([]);
  });
});
