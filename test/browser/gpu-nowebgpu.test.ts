/**
 * The GPU entry points in an environment without WebGPU (Node: no navigator.gpu): they run the CPU path,
 * return its exact results with backend 'cpu', and log one line per page/process, not one per call.
 * Needs no browser.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { harmonicFill } from '../../src/math/harmonic';
import { harmonize } from '../../src/math/harmonize';
import { solveGridPCG } from '../../src/math/solver';
import { harmonicFillGpu, harmonizeGpu, solveGridPCGGpu } from '../../src/gpu';
import { makeScene } from '../fixtures/scene';

describe('GPU API without WebGPU (Node)', () => {
  afterEach(() => vi.restoreAllMocks());

  it('falls back to the CPU path with one log line', async () => {
    expect((globalThis as { navigator?: { gpu?: unknown } }).navigator?.gpu).toBeUndefined();
    const info = vi.spyOn(console, 'info').mockImplementation(() => undefined);
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => undefined);
    const s = makeScene({ width: 64, height: 48 });
    const input = { width: 64, height: 48, depth: s.depth, labels: s.labels, image: s.image };
    const g = await harmonizeGpu(input);
    const c = harmonize(input);
    expect(g.backend).toBe('cpu');
    expect(g.depth).toEqual(c.depth);
    expect(g.iterations).toBe(c.iterations);

    const n = 40 * 30;
    const sys = { width: 40, height: 30, c: new Float32Array(n).fill(1), b: new Float32Array(n).map((_, i) => i % 7), wx: new Float32Array(n).fill(0.5), wy: new Float32Array(n).fill(0.5) };
    const x0 = new Float32Array(n);
    const r = await solveGridPCGGpu(undefined, sys, x0, { tolerance: 1e-6 });
    expect(r.backend).toBe('cpu');
    expect(r.x).toEqual(solveGridPCG(sys, x0, { tolerance: 1e-6 }).x);

    const known = new Uint8Array(n).fill(1);
    const fill = new Uint8Array(n);
    for (let i = 300; i < 420; i++) {
      known[i] = 0;
      fill[i] = 1;
    }
    const values = new Float32Array(n).map((_, i) => 1 + (i % 40) * 0.01);
    const f = await harmonicFillGpu(values, 40, 30, known, fill, { domain: 'inverse' });
    expect(f.backend).toBe('cpu');
    expect(f.values).toEqual(harmonicFill(values, 40, 30, known, fill, { domain: 'inverse' }).values);

    expect(info).toHaveBeenCalledTimes(1);
    expect(String(info.mock.calls[0]![0])).toMatch(/WebGPU is not available .*CPU path/);
    expect(warn).not.toHaveBeenCalled();
  });
});
