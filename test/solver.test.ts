import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { solveGridPCG, solveGridMultilevel, type GridSystem } from '../src/math/solver';
import { harmonize } from '../src/math/harmonize';
import { DioramaError } from '../src/core/errors';

/** Dense reference: assembles (C + L_w) with Dirichlet rows and solves by Gaussian elimination (float64). */
function denseSolve(sys: GridSystem, x0: Float32Array): Float64Array {
  const { width: W, height: H } = sys;
  const N = W * H;
  const A = Array.from({ length: N }, () => new Float64Array(N + 1));
  for (let i = 0; i < N; i++) {
    A[i]![i] += sys.c[i]!;
    A[i]![N] += sys.c[i]! * sys.b[i]!;
  }
  const edge = (i: number, j: number, w: number): void => {
    A[i]![i] += w;
    A[j]![j] += w;
    A[i]![j] -= w;
    A[j]![i] -= w;
  };
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) {
      const i = y * W + x;
      if (x + 1 < W) edge(i, i + 1, sys.wx[i]!);
      if (y + 1 < H) edge(i, i + W, sys.wy[i]!);
    }
  }
  if (sys.fixed) {
    for (let i = 0; i < N; i++) {
      if (!sys.fixed[i]) continue;
      A[i]!.fill(0);
      A[i]![i] = 1;
      A[i]![N] = x0[i]!;
    }
  }
  for (let k = 0; k < N; k++) {
    let p = k;
    for (let i = k + 1; i < N; i++) if (Math.abs(A[i]![k]!) > Math.abs(A[p]![k]!)) p = i;
    [A[k], A[p]] = [A[p]!, A[k]!];
    for (let i = k + 1; i < N; i++) {
      const m = A[i]![k]! / A[k]![k]!;
      if (m !== 0) for (let j = k; j <= N; j++) A[i]![j] -= m * A[k]![j]!;
    }
  }
  const x = new Float64Array(N);
  for (let i = N - 1; i >= 0; i--) {
    let s = A[i]![N]!;
    for (let j = i + 1; j < N; j++) s -= A[i]![j]! * x[j]!;
    x[i] = s / A[i]![i]!;
  }
  return x;
}

const problem = fc
  .record({ W: fc.integer({ min: 1, max: 12 }), H: fc.integer({ min: 1, max: 12 }), seed: fc.integer(), withFixed: fc.boolean() })
  .map(({ W, H, seed, withFixed }) => {
    let s = seed >>> 0 || 1;
    const rnd = (): number => ((s = (s * 1664525 + 1013904223) >>> 0) / 2 ** 32);
    const N = W * H;
    const c = new Float32Array(N), b = new Float32Array(N), wx = new Float32Array(N), wy = new Float32Array(N), x0 = new Float32Array(N);
    const fixed = withFixed ? new Uint8Array(N) : undefined;
    for (let i = 0; i < N; i++) {
      c[i] = rnd() < 0.3 ? 0 : rnd();
      b[i] = 1 + 10 * rnd();
      wx[i] = 5 * rnd();
      wy[i] = 5 * rnd();
      x0[i] = rnd();
      if (fixed && rnd() < 0.2) {
        fixed[i] = 1;
        x0[i] = b[i]!;
      }
    }
    c[0] = Math.max(c[0]!, 0.1); // at least one data term: the system is positive definite
    return { sys: { width: W, height: H, c, b, wx, wy, fixed } as GridSystem, x0 };
  });

describe('grid PCG solver', () => {
  // Tolerance: the solve stops at a relative preconditioned residual of 1e-7 in float32 storage; the
  // condition numbers here are ≤ ~1e3, so the relative solution error is bounded by ~1e3 × float32 rounding
  // (6e-8) ≈ 6e-5, inside the 1e-4 the issue asks for.
  it('matches a dense direct solve on small random problems (≤ 1e-4 relative)', () => {
    fc.assert(
      fc.property(problem, fc.boolean(), ({ sys, x0 }, multilevel) => {
        const ref = denseSolve(sys, x0);
        const res = (multilevel ? solveGridMultilevel : solveGridPCG)(sys, x0, { tolerance: 1e-7, maxIterations: 5000 });
        let err = 0, scale = 0;
        for (let i = 0; i < ref.length; i++) {
          err = Math.max(err, Math.abs(res.x[i]! - ref[i]!));
          scale = Math.max(scale, Math.abs(ref[i]!));
        }
        expect(err / scale).toBeLessThanOrEqual(1e-4);
        if (sys.fixed) for (let i = 0; i < ref.length; i++) if (sys.fixed[i]) expect(res.x[i]).toBe(x0[i]);
      }),
      { numRuns: 60 },
    );
  });

  it('with tolerance 0 runs until round-off and stops cleanly (no false indefiniteness), still matching the direct solve', () => {
    fc.assert(
      fc.property(problem, ({ sys, x0 }) => {
        const ref = denseSolve(sys, x0);
        const res = solveGridPCG(sys, x0, { tolerance: 0, maxIterations: 400 });
        let err = 0, scale = 0;
        for (let i = 0; i < ref.length; i++) {
          err = Math.max(err, Math.abs(res.x[i]! - ref[i]!));
          scale = Math.max(scale, Math.abs(ref[i]!));
        }
        expect(err / scale).toBeLessThanOrEqual(1e-4);
      }),
      { numRuns: 30 },
    );
  });

  it('reports an indefinite system as SOLVER_FAILED', () => {
    // Two pixels, c = −½ each, joined by w = 1: A = [[½, −1], [−1, ½]] has a positive diagonal (so Jacobi
    // scaling is defined) but eigenvalues −½ and 3/2. From x = 0 with b = (1, 1): r = Cb = (−½, −½),
    // z = (−1, −1) and pᵀAp = Σ A = −1 < 0 on the first step.
    const sys = { width: 2, height: 1, c: Float32Array.of(-0.5, -0.5), b: Float32Array.of(1, 1), wx: Float32Array.of(1, 0), wy: new Float32Array(2) };
    expect(() => solveGridPCG(sys, new Float32Array(2))).toThrowError(expect.objectContaining({ code: 'SOLVER_FAILED' }));
  });

  it('rejects mismatched array sizes with SIZE_MISMATCH', () => {
    const sys = { width: 3, height: 3, c: new Float32Array(9), b: new Float32Array(9), wx: new Float32Array(8), wy: new Float32Array(9) };
    expect(() => solveGridPCG(sys, new Float32Array(9))).toThrowError(DioramaError);
    try {
      solveGridPCG(sys, new Float32Array(9));
    } catch (e) {
      expect((e as DioramaError).code).toBe('SIZE_MISMATCH');
      expect((e as Error).message).toMatch(/wx.*8.*expected 3x3 = 9/);
    }
  });

  it('reaches its tolerance on a 1080p harmonization problem', () => {
    const W = 1920, H = 1080, N = W * H;
    const depth = new Float32Array(N);
    const labels = new Int32Array(N);
    let s = 7;
    const rnd = (): number => ((s = (s * 1664525 + 1013904223) >>> 0) / 2 ** 32);
    for (let y = 0; y < H; y++) {
      for (let x = 0; x < W; x++) {
        const i = y * W + x;
        const inside = (x - 900) ** 2 + (y - 500) ** 2 < 300 ** 2;
        labels[i] = inside ? 1 : x < 400 ? 2 : 0;
        depth[i] = (inside ? 2 : 5 + y / H) * (1 + 0.02 * (rnd() - 0.5));
      }
    }
    const res = harmonize({ width: W, height: H, depth, labels }, { tolerance: 1e-3, maxIterations: 400 });
    expect(res.residual).toBeLessThanOrEqual(1e-3);
    expect(res.iterations).toBeLessThan(400);
  });
});
