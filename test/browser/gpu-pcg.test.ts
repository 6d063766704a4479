/**
 * WebGPU Jacobi-PCG (src/gpu/pcg.ts, shaders/pcg) against its CPU twins, in headless Chromium on whatever
 * adapter it offers (SwiftShader here). Skips with a message when Chromium or a WebGPU adapter is missing.
 *
 * Tolerances, from the arithmetic (u = 2⁻²⁴ ≈ 6e-8, f32 unit roundoff):
 * - pointwise kernels: each output is a sum of at most ~8 rounded f32 products and one division (2.5 ulp in
 *   WGSL), so |error| ≤ ~10u · Σ|terms| ≈ 6e-7 relative to the sum of the absolute terms; we allow 2e-6;
 * - reductions: a pairwise tree over a 256-invocation workgroup adds log2(256) = 8 roundings per level, the
 *   Kahan pass over the partials ~2u, on top of the products: ≤ ~12u·Σ|terms| ≈ 7e-7; we allow 2e-6;
 * - full solves: 1e-4 relative (style.md), i.e. max|x_gpu − x_cpu| ≤ 1e-4·max|x_cpu|. Both runs are f32 CG;
 *   they part only by reduction rounding (f32 here, f64 on the CPU). Run to a tight tolerance both reach the
 *   f32 accuracy floor of the solution (≈ κ·u, κ ≤ ~100 for these systems), far inside 1e-4. With the
 *   stopping rule active, the stopping iteration can differ by one when the residual lands within rounding
 *   of the tolerance; the change of x in one late iteration is of the order of the residual, so those cases
 *   use a tolerance ≤ 1e-6 to keep that step far below 1e-4.
 */
import { describe, expect, it } from 'vitest';
import { hasChromium, useGpuPage } from './harness';

const KERNEL_TOL = 2e-6;
const SOLVE_TOL = 1e-4;

describe.skipIf(!hasChromium)('WebGPU PCG kernels and solver vs the CPU (Chromium)', () => {
  const { available, errors, call } = useGpuPage('test/browser/pages/gpu-pcg.page.ts');

  const seed = (): number => Math.floor(Math.random() * 2 ** 31);

  for (const [W, H, fixedFraction] of [[97, 61, 0], [64, 48, 0.2], [130, 35, 0.05]] as const) {
    it(`every kernel matches its f64 twin and writes every element (${W}×${H}, ${fixedFraction * 100}% fixed)`, async (ctx) => {
      if (!available()) ctx.skip('no WebGPU adapter in this Chromium');
      const s = seed();
      const res = await call<{ reports: { kernel: string; outputs: Record<string, { maxRel: number; nonFinite: number }>; extra?: Record<string, unknown> }[]; validationError: string | null }>(
        'kernelChecks',
        { seed: s, width: W, height: H, fixedFraction },
      );
      expect(res.validationError, `seed ${s}`).toBeNull();
      const kernels = res.reports.map((r) => r.kernel);
      expect(kernels).toEqual(expect.arrayContaining(['diagonal', 'residual', 'applyOperator(parity 0)', 'applyOperator(parity 1)', 'updateResidual', 'applyStep(parity 0)', 'finishSetup', 'finishAlpha', 'finishBeta', 'prolong']));
      for (const r of res.reports) {
        for (const [name, o] of Object.entries(r.outputs)) {
          expect(o.nonFinite, `${r.kernel}.${name}: unwritten (NaN) elements, seed ${s}`).toBe(0);
          expect(o.maxRel, `${r.kernel}.${name} relative error, seed ${s}`).toBeLessThanOrEqual(KERNEL_TOL);
        }
      }
      console.log(`kernels ${W}x${H}: ` + res.reports.map((r) => `${r.kernel} ${Object.entries(r.outputs).map(([k, o]) => `${k}=${o.maxRel.toExponential(1)}`).join(' ')}`).join('; '));
      const by = Object.fromEntries(res.reports.map((r) => [r.kernel, r.extra ?? {}]));
      expect(by['applyOperator(parity 0)']!.oldDirectionChanged).toBe(0);
      expect(by['applyOperator(parity 1)']!.oldDirectionChanged).toBe(0);
      expect(by['finishSetup']).toMatchObject({ iterations: 0, alpha: 0, beta: 0, status: 0 });
      expect(by['finishSetup']!.done).toBe(by['finishSetup']!.expectDone);
      expect(by['finishAlpha']).toMatchObject({ okStatus: 0, okDone: false, negStatus: 2, negDone: true, zeroStatus: 1, zeroDone: true, zeroAlpha: 0, roundStatus: 1, roundDone: true });
      expect(by['finishBeta']!.iterations).toBe(6);
      expect(by['finishBeta']!.done).toBe(by['finishBeta']!.expectDone);
      expect(by['finishBeta(done)']).toMatchObject({ iterations: 5, beta: 0.25 });
      expect(by['prolong']!.fixedChanged).toBe(0);
    });
  }

  const solveCases = [
    { name: 'plain, fixed 60 iterations (no stopping rule)', width: 120, height: 90, fixedFraction: 0, tolerance: 0, maxIterations: 60 },
    { name: 'plain, to tolerance 1e-6', width: 150, height: 101, fixedFraction: 0, tolerance: 1e-6, maxIterations: 2000 },
    { name: 'Dirichlet pixels, to tolerance 1e-6', width: 128, height: 96, fixedFraction: 0.1, tolerance: 1e-6, maxIterations: 2000 },
    { name: 'Dirichlet pixels, sparse data, read-back every 3', width: 77, height: 129, fixedFraction: 0.02, sparseData: true, tolerance: 1e-6, maxIterations: 3000, checkInterval: 3 },
    { name: 'multilevel cascade, Dirichlet pixels', width: 200, height: 150, fixedFraction: 0.01, sparseData: true, tolerance: 1e-6, maxIterations: 3000, multilevel: true },
    // With tolerance 0 both solvers run to float32 resolution and stop there, without an error and before the
    // cap (rᵀz reaching 0, or pᵀAp ≤ 0 from round-off: the kernel test above checks that rule directly).
    { name: 'tolerance 0 until round-off (a clean stop, as on the CPU)', width: 48, height: 40, fixedFraction: 0, tolerance: 0, maxIterations: 1000, untilRoundOff: true },
  ];
  for (const c of solveCases) {
    it(`full GPU solve matches the CPU solver within 1e-4 relative: ${c.name}`, async (ctx) => {
      if (!available()) ctx.skip('no WebGPU adapter in this Chromium');
      const s = seed();
      const r = await call<{
        cpu: { iterations: number; residual: number; converged: boolean };
        gpu: { iterations: number; residual: number; converged: boolean; backend: string };
        maxRelError: number;
        nonFinite: number;
        validationError: string | null;
      }>('solveCompare', { seed: s, ...c });
      const msg = `seed ${s}: ${JSON.stringify(r)}`;
      console.log(`solve ${c.name}: max rel error ${r.maxRelError.toExponential(2)}, iterations cpu ${r.cpu.iterations} gpu ${r.gpu.iterations}`);
      expect(r.validationError, msg).toBeNull();
      expect(r.gpu.backend, msg).toBe('webgpu');
      expect(r.nonFinite, msg).toBe(0);
      expect(r.maxRelError, msg).toBeLessThanOrEqual(SOLVE_TOL);
      if (c.tolerance > 0) {
        expect(r.gpu.converged, msg).toBe(true);
        // Same stopping rule: at most one iteration apart per level (residual rounding at the threshold).
        expect(Math.abs(r.gpu.iterations - r.cpu.iterations), msg).toBeLessThanOrEqual(1);
      } else if (c.untilRoundOff) {
        expect(r.cpu.iterations, msg).toBeLessThan(c.maxIterations);
        expect(r.gpu.iterations, msg).toBeLessThan(c.maxIterations);
      } else {
        expect(r.gpu.iterations, msg).toBe(c.maxIterations);
      }
    }, 240_000);
  }

  it('accepts GPU buffers for b and x0 and can leave the solution on the GPU', async (ctx) => {
    if (!available()) ctx.skip('no WebGPU adapter in this Chromium');
    const s = seed();
    const r = await call<{ maxRelError: number; nonFinite: number; liveBefore: number; liveAfter: number; handedOut: number; validationError: string | null }>('solveBuffers', {
      seed: s,
      width: 90,
      height: 70,
      tolerance: 1e-6,
      maxIterations: 2000,
    });
    const msg = `seed ${s}: ${JSON.stringify(r)}`;
    expect(r.validationError, msg).toBeNull();
    expect(r.nonFinite, msg).toBe(0);
    expect(r.maxRelError, msg).toBeLessThanOrEqual(SOLVE_TOL);
    expect(r.handedOut, msg).toBe(1);
    expect(r.liveAfter, msg).toBe(r.liveBefore);
  });

  it('repeated runs and dispose leave no GPU buffers behind', async (ctx) => {
    if (!available()) ctx.skip('no WebGPU adapter in this Chromium');
    const r = await call<{ liveBefore: number; liveDuring: number; liveAfterDispose: number; liveAfterOneCall: number; created: number; disposedError: string; validationError: string | null }>(
      'leakCheck',
      { seed: seed(), runs: 4 },
    );
    expect(r.validationError).toBeNull();
    expect(r.liveDuring).toBeGreaterThan(r.liveBefore);
    expect(r.liveAfterDispose).toBe(r.liveBefore);
    expect(r.liveAfterOneCall).toBe(r.liveBefore);
    expect(r.created).toBeGreaterThan(0);
    expect(r.disposedError).toMatch(/disposed/);
  });

  it('reports an indefinite system like the CPU solver', async (ctx) => {
    if (!available()) ctx.skip('no WebGPU adapter in this Chromium');
    const r = await call<{ cpu: string; gpu: string }>('indefinite', {});
    expect(r.cpu).toMatch(/not positive definite/);
    expect(r.gpu).toMatch(/not positive definite/);
  });

  it('device loss: warns once per device and finishes on the CPU; GPU-buffer inputs throw', async (ctx) => {
    if (!available()) ctx.skip('no WebGPU adapter in this Chromium');
    const r = await call<{
      a: { backend: string; maxRelError: number };
      a2: { backend: string };
      b: { backend: string; maxRelError: number };
      encoders: number;
      cError: string;
      warnings: string[];
    }>('deviceLoss', { seed: seed() });
    const msg = JSON.stringify(r);
    expect(r.a.backend, msg).toBe('cpu');
    expect(r.a2.backend, msg).toBe('cpu');
    expect(r.a.maxRelError, msg).toBe(0); // it IS the CPU solver
    expect(r.b.backend, msg).toBe('cpu');
    expect(r.b.maxRelError, msg).toBe(0);
    expect(r.encoders, msg).toBeGreaterThanOrEqual(3); // the loss did happen mid-solve
    expect(r.cError, msg).toMatch(/^SOLVER_FAILED: .*(lost|GPU buffers)/);
    expect(r.warnings.length, msg).toBe(2); // devices 1 and 2 (device 1 called twice), none for the throw
    for (const w of r.warnings) expect(w, msg).toMatch(/failed on the GPU .*CPU path/);
  });

  it('without a device argument, runs on a device of its own', async (ctx) => {
    if (!available()) ctx.skip('no WebGPU adapter in this Chromium');
    const r = await call<{ backends: string[]; maxRelError: number }>('ownDevice', { seed: seed() });
    expect(r.backends).toEqual(['webgpu', 'webgpu']);
    expect(r.maxRelError).toBeLessThanOrEqual(SOLVE_TOL);
  });

  it('logs no page errors', () => {
    expect(errors()).toEqual([]);
  });
});
