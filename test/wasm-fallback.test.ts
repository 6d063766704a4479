import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { smoothForMesh } from '../src/core/build-layers';
import { buildLayerMeshDetailed, type MeshCrop } from '../src/math/mesh';
import { solveGridPCG, type GridSystem } from '../src/math/solver';
import { mulberry32 } from './fixtures/rng';

/*
 * The hand-written WebAssembly SIMD kernels (solver sweep, mesh pyramid, mesh smoothing) against the
 * JavaScript loops that run where WebAssembly is refused (e.g. a content security policy without
 * 'wasm-unsafe-eval'). The fallback modules are a second instance of the same sources, imported after
 * vi.resetModules() and run with WebAssembly.validate answering false, so their kernel caches give up
 * and every call takes the JavaScript path; the statically imported instance keeps its kernels.
 */

type Modules = {
  smoothForMesh: typeof smoothForMesh;
  buildLayerMeshDetailed: typeof buildLayerMeshDetailed;
  solveGridPCG: typeof solveGridPCG;
};
let js: Modules;
let refused = 0;

/** Runs `f` with WebAssembly refused (the fallback instance compiles its kernels lazily, on first use). */
function withoutWasm<T>(f: () => T): T {
  const spy = vi.spyOn(WebAssembly, 'validate').mockImplementation(() => {
    refused++;
    return false;
  });
  try {
    return f();
  } finally {
    spy.mockRestore();
  }
}

beforeAll(async () => {
  vi.resetModules();
  const layers = await import('../src/core/build-layers');
  const mesh = await import('../src/math/mesh');
  const solver = await import('../src/math/solver');
  js = { smoothForMesh: layers.smoothForMesh, buildLayerMeshDetailed: mesh.buildLayerMeshDetailed, solveGridPCG: solver.solveGridPCG };
});

afterEach(() => vi.restoreAllMocks());

const K = { fx: 900, fy: 900, cx: 160, cy: 120 };

/**
 * A crop of odd size (so kernels' tails and partial blocks run too) with an empty band (whole 4×4 blocks
 * without alpha), a nearer island (a 1.5× jump) and depth quantised to multiples of 1/64 m in [0.5, 4]:
 * every partial sum the kernels form (≤ 16 values ≤ 4 with weights ≤ 9) is then exact in float32, so the
 * float32 lanes and the JavaScript float64 agree bit for bit.
 */
function quantisedCrop(w: number, h: number, seed: number): MeshCrop {
  const rnd = mulberry32(seed);
  const depth = new Float32Array(w * h);
  const alpha = new Uint8Array(w * h);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const k = y * w + x;
      if (y >= 12 && y < 24) continue; // empty band
      const base = 2 + 0.6 * Math.sin(x / 17) + 0.4 * Math.cos(y / 11) + 0.02 * rnd();
      const island = (x - 0.6 * w) ** 2 + (y - 0.6 * h) ** 2 < (0.15 * w) ** 2;
      depth[k] = Math.round((island ? base / 1.5 : base) * 64) / 64;
      alpha[k] = 255;
    }
  }
  return { bbox: { x: 20, y: 10, width: w, height: h }, width: w, height: h, depth, alpha };
}

describe('WebAssembly kernels = JavaScript fallback', () => {
  it('mesh pyramid: identical meshes and noise estimate where the sums are exact', () => {
    for (const [w, h, seed] of [[203, 141, 1], [256, 128, 2]] as const) {
      const crop = quantisedCrop(w, h, seed);
      const opts = { depthTolerance: 0.002, jumpRatio: 1.1, noiseFactor: 3 };
      const a = buildLayerMeshDetailed(crop, K, opts);
      const b = withoutWasm(() => js.buildLayerMeshDetailed(crop, K, opts));
      expect(a.mesh.positions.length).toBeGreaterThan(0);
      expect(b.mesh.positions).toEqual(a.mesh.positions);
      expect(b.mesh.indices).toEqual(a.mesh.indices);
      expect(b.blockNoise).toBe(a.blockNoise);
    }
    expect(refused).toBeGreaterThan(0);
  });

  it('smoothForMesh: equal to float32 rounding (≤ 2e-6 relative)', () => {
    // 1 % noise keeps neighbour ratios below 1.05 and the island's 1.5× jump is far above 1.1, so no link
    // test sits near its threshold. Kernel: sums of ≤ 9 float32 inverse depths and one division per pixel,
    // ≲ 10 roundings of 2^-24 each ≈ 6e-7; the JavaScript loop rounds once.
    const w = 131;
    const h = 77;
    const rnd = mulberry32(3);
    const depth = new Float32Array(w * h);
    const alpha = new Uint8Array(w * h);
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        const k = y * w + x;
        if ((x * 7 + y * 3) % 29 === 0) continue; // scattered holes
        const island = x > 60 && x < 90 && y > 20 && y < 50;
        depth[k] = (island ? 2 : 3) * (1 + 0.01 * (rnd() - 0.5));
        alpha[k] = 255;
      }
    }
    const a = smoothForMesh(depth, alpha, w, h, 1.1);
    const b = withoutWasm(() => js.smoothForMesh(depth, alpha, w, h, 1.1));
    let worst = 0;
    for (let k = 0; k < w * h; k++) {
      if (a[k] === b[k]) continue;
      worst = Math.max(worst, Math.abs(a[k] - b[k]) / Math.abs(b[k]));
    }
    expect(worst).toBeLessThanOrEqual(2e-6);
  });

  it('solver sweep: same solution within the tolerance the conditioning allows, same iterations ± 1', () => {
    // c = 1 everywhere and weights in [0, 1]: A = I + L_w has eigenvalues in [1, 9], κ ≤ 9. The stopping
    // test is on the Jacobi-scaled residual (diagonal in [1, 9], changing norms by ≤ 3×), so a relative
    // residual of 1e-6 bounds each solution's relative error by 3 · 9 · 1e-6 = 2.7e-5, their difference by
    // 5.4e-5; float32 storage adds ~1e-7.
    const W = 97;
    const H = 61;
    const N = W * H;
    const rnd = mulberry32(4);
    const sys: GridSystem = {
      width: W,
      height: H,
      c: new Float32Array(N).fill(1),
      b: new Float32Array(N).map(() => rnd() * 10),
      wx: new Float32Array(N).map((_, i) => ((i + 1) % W === 0 ? 0 : rnd())),
      wy: new Float32Array(N).map((_, i) => (i >= N - W ? 0 : rnd())),
    };
    const opts = { tolerance: 1e-6, maxIterations: 1000 };
    const a = solveGridPCG(sys, new Float32Array(N), opts);
    const b = withoutWasm(() => js.solveGridPCG(sys, new Float32Array(N), opts));
    expect(a.converged && b.converged).toBe(true);
    expect(Math.abs(a.iterations - b.iterations)).toBeLessThanOrEqual(1);
    let d2 = 0;
    let x2 = 0;
    for (let i = 0; i < N; i++) {
      d2 += (a.x[i] - b.x[i]) ** 2;
      x2 += b.x[i] ** 2;
    }
    expect(Math.sqrt(d2 / x2)).toBeLessThan(5.5e-5);
  });
});
