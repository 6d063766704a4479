/**
 * Browser page of test/browser/gpu-fill.test.ts: Stage 3's harmonic fill, harmonicFill (CPU) against
 * harmonicFillGpu (GPU cascade), on random fill problems, inside a validation error scope.
 */
import { expose, requestTestDevice } from './boot';
import { mulberry32 as rng } from '../../fixtures/rng';
import { harmonicFill } from '../../../src/math/harmonic';
import { harmonicFillGpu } from '../../../src/gpu/fill';
import type { GpuDevice } from '../../../src/gpu/webgpu';

let device: GpuDevice | null = null;

/**
 * Random fill problem: a smooth positive depth (sum of random planes and bumps, as a layer crop would show),
 * `known` everywhere except inside random discs, which are `fill`; some pixels in neither set, and with
 * `isolated` a fill disc cut off by a ring of neither-pixels (exercises the unreachable-component rule).
 */
function fillProblem(W: number, H: number, seed: number, isolated: boolean) {
  const r = rng(seed);
  const n = W * H;
  const values = new Float32Array(n);
  const a = 1 + r(), bx = (r() - 0.5) * 0.01, by = (r() - 0.5) * 0.01;
  for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) values[y * W + x] = a + bx * x + by * y + 0.2 * Math.sin(x * 0.05 + r() * 0.01) * Math.cos(y * 0.07);
  const known = new Uint8Array(n).fill(1);
  const fill = new Uint8Array(n);
  const discs = 3 + Math.floor(r() * 4);
  for (let k = 0; k < discs; k++) {
    const cx = r() * W, cy = r() * H, rad = 3 + r() * Math.min(W, H) * 0.25;
    for (let y = 0; y < H; y++) {
      for (let x = 0; x < W; x++) {
        const d = Math.hypot(x - cx, y - cy);
        const i = y * W + x;
        if (d < rad) {
          known[i] = 0;
          fill[i] = 1;
          values[i] = 0;
        }
      }
    }
  }
  for (let i = 0; i < n; i++) if (r() < 0.01) known[i] = 0; // neither known nor fill
  if (isolated) {
    const cx = Math.floor(W / 2), cy = Math.floor(H / 2);
    for (let y = 0; y < H; y++) {
      for (let x = 0; x < W; x++) {
        const d = Math.hypot(x - cx, y - cy);
        const i = y * W + x;
        if (d < 5) { fill[i] = 1; known[i] = 0; values[i] = 0; } else if (d < 7) { fill[i] = 0; known[i] = 0; }
      }
    }
  }
  return { values, known, fill };
}

async function fillCompare(args: { seed: number; width: number; height: number; domain: 'linear' | 'inverse'; tolerance: number; maxIterations: number; isolated: boolean }) {
  const dev = device!;
  const { values, known, fill } = fillProblem(args.width, args.height, args.seed, args.isolated);
  const opts = { domain: args.domain, tolerance: args.tolerance, maxIterations: args.maxIterations };
  dev.pushErrorScope('validation');
  const cpu = harmonicFill(values, args.width, args.height, known, fill, opts);
  const gpu = await harmonicFillGpu(values, args.width, args.height, known, fill, { ...opts, device: dev });
  const err = await dev.popErrorScope();
  let maxAbs = 0, scale = 0, nonFinite = 0, outsideChanged = 0;
  for (let i = 0; i < values.length; i++) {
    if (!Number.isFinite(gpu.values[i]!)) nonFinite++;
    maxAbs = Math.max(maxAbs, Math.abs(gpu.values[i]! - cpu.values[i]!));
    scale = Math.max(scale, Math.abs(cpu.values[i]!));
    if (!(fill[i] && !known[i]) && gpu.values[i] !== values[i]) outsideChanged++;
  }
  return {
    maxRelError: maxAbs / scale,
    nonFinite,
    outsideChanged,
    iterations: [cpu.iterations, gpu.iterations],
    backend: gpu.backend,
    validationError: err ? err.message : null,
  };
}

expose(
  {
    async adapter() {
      return { available: !!device };
    },
    fillCompare,
  },
  async () => {
    device = await requestTestDevice();
  },
);
