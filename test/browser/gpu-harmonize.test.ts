/**
 * Stage 1 with the GPU solve (harmonizeGpu) against the CPU path (harmonize) on the ../shared/data stereo
 * scenes, both run in the same Chromium page on the same inputs (scripts/eval/synth.ts) and scored with the
 * metrics.md §1 functions (scripts/eval/depth-metrics.ts). Acceptance: every §1 number within 1 % of the
 * CPU path's (relative; absolute 1e-6 for numbers at 0). Skips when the data folder, Chromium or a WebGPU
 * adapter is missing.
 *
 * Why the numbers agree although the solves differ in rounding: both are f32 Jacobi-PCG with the same
 * stopping rule (relative residual ≤ 1e-2, the harmonize default); their iterates differ by reduction
 * rounding only (≈1e-6 relative), and at most by one iteration where the residual lands within rounding of
 * the tolerance. The §1 metrics are averages over thousands of pixels or counts of threshold crossings, which
 * such differences move by far less than 1 %.
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { SHARED_DATA, hasChromium, hasSharedData, useGpuPage } from './harness';

const METRICS = ['absrel', 'absrelEdge', 'absrelEdgeCovered', 'absrelEdgeUncovered', 'boundaryF1', 'dbeAccuracy', 'dbeCompleteness'] as const;
const scenes = hasSharedData ? readdirSync(join(SHARED_DATA, 'stereo')).sort() : [];

describe.skipIf(!hasChromium || !hasSharedData)(`harmonizeGpu vs harmonize on the stereo scenes (${hasSharedData ? `${scenes.length} scenes` : '../shared/data absent'})`, () => {
  const { available, errors, call } = useGpuPage('test/browser/pages/gpu-harmonize.page.ts');

  for (const name of scenes) {
    it(`${name}: §1 metrics of the GPU solve within 1 % of the CPU path`, async (ctx) => {
      if (!available()) ctx.skip('no WebGPU adapter in this Chromium');
      type M = Record<(typeof METRICS)[number], number | null>;
      const r = (await call('harmonizeScene', { name })) as {
        backend: string;
        width: number;
        height: number;
        cpu: { metrics: M; iterations: number; solveMs: number };
        gpu: { metrics: M; iterations: number; solveMs: number };
        maxRelDepthDiff: number;
        labelDiff: number;
        validationError: string | null;
      };
      const msg = JSON.stringify(r);
      console.log(
        `${name} ${r.width}x${r.height}: iterations cpu ${r.cpu.iterations} gpu ${r.gpu.iterations}, max rel depth diff ${r.maxRelDepthDiff.toExponential(2)}; ` +
          METRICS.map((m) => `${m} ${r.cpu.metrics[m]?.toFixed(5)}/${r.gpu.metrics[m]?.toFixed(5)}`).join(', '),
      );
      expect(r.validationError, msg).toBeNull();
      expect(r.backend, msg).toBe('webgpu');
      expect(r.labelDiff, msg).toBe(0);
      expect(Math.abs(r.gpu.iterations - r.cpu.iterations), msg).toBeLessThanOrEqual(1);
      for (const m of METRICS) {
        const a = r.cpu.metrics[m];
        const b = r.gpu.metrics[m];
        if (a === null || b === null) {
          expect(b, `${m}: ${msg}`).toBe(a);
          continue;
        }
        expect(Math.abs(b - a), `${m}: ${msg}`).toBeLessThanOrEqual(Math.max(0.01 * Math.abs(a), 1e-6));
      }
    }, 180_000);
  }

  it('logs no page errors', () => {
    expect(errors()).toEqual([]);
  });
});
