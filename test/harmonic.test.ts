/**
 * Harmonic fill (src/math/harmonic.ts).
 *
 * Error bound used below (Dirichlet-only fill regions: every 4-neighbour of a fill pixel is a known or a
 * fill pixel, so every fill pixel has diagonal d = 4 + c; harmonicFill uses c = 0 on fill pixels, and fixes
 * fill components that touch no known pixel at their starting value instead of solving them):
 *
 * 1. Solver. PCG stops at sqrt(rᵀM⁻¹r / fᵀM⁻¹f) ≤ τ (M = diag(d), f = Dirichlet coupling + c·b), hence
 *    ‖r‖₂ ≤ √max(d) · τ · √(fᵀM⁻¹f). The error e = A⁻¹r, A = cI + L_D, has ‖e‖∞ ≤ ‖e‖₂ ≤ ‖r‖₂ / λmin(A),
 *    and λmin(L_D) on a region inside an a×b box is at least the box's Dirichlet eigenvalue
 *    4 sin²(π/(2(a+1))) + 4 sin²(π/(2(b+1))) (eigenvalues of a principal submatrix interlace).
 * 2. A pull c towards the nearest-known start b would move the exact solution by δ with
 *    (cI + L_D)δ = c(b − x_h): ‖δ‖∞ ≤ c · (max b − min b) · (min(a,b) + 1)² / 8 (the 1-D torsion function
 *    x(n + 1 − x)/2 is a supersolution of L_D u = 1). With c = 0 this term is 0; it is kept in the bound
 *    so that reintroducing a pull must update C_PULL.
 * 3. float32: the boundary values and the result are rounded to float32 (2^-24 relative each); by the
 *    maximum principle a boundary perturbation moves the harmonic solution by at most its own size.
 *    In 'inverse' mode the boundary goes through two roundings (Z, then 1/Z) and the result through one.
 */
import { describe, expect, it } from 'vitest';
import { harmonicFill } from '../src/math/harmonic';
import { DioramaError } from '../src/core/errors';

const C_PULL = 0; // harmonicFill's data term on fill pixels
const U = 2 ** -24;

interface Problem {
  W: number;
  H: number;
  values: Float32Array;
  known: Uint8Array;
  fill: Uint8Array;
}

/**
 * A priori bound on max |x − x_harmonic| over the fill pixels for tolerance `tol`, where `bvals` are the
 * boundary values as the solver sees them (the values themselves, or their inverses).
 */
function dirichletBound(p: Problem, bvals: (i: number) => number, tol: number): number {
  const { W, H, known, fill } = p;
  let x0 = W, y0 = H, x1 = -1, y1 = -1;
  let fM = 0;
  let bmin = Infinity, bmax = -Infinity;
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) {
      const i = y * W + x;
      if (known[i]) {
        bmin = Math.min(bmin, bvals(i));
        bmax = Math.max(bmax, bvals(i));
      }
      if (!fill[i] || known[i]) continue;
      x0 = Math.min(x0, x); x1 = Math.max(x1, x);
      y0 = Math.min(y0, y); y1 = Math.max(y1, y);
      let coupling = 0;
      for (const [dx, dy] of [[1, 0], [-1, 0], [0, 1], [0, -1]] as const) {
        const xx = x + dx, yy = y + dy;
        // Precondition of the bound: no Neumann (image border or excluded) neighbour.
        if (xx < 0 || yy < 0 || xx >= W || yy >= H) throw new Error('fill touches the image border');
        const j = yy * W + xx;
        if (known[j]) coupling += bvals(j);
        else if (!fill[j]) throw new Error('fill touches an excluded pixel');
      }
      fM += coupling * coupling / (4 + C_PULL);
    }
  }
  const a = x1 - x0 + 1;
  const b = y1 - y0 + 1;
  const lam = 4 * Math.sin(Math.PI / (2 * (a + 1))) ** 2 + 4 * Math.sin(Math.PI / (2 * (b + 1))) ** 2;
  const solver = (Math.sqrt(4 + C_PULL) * tol * Math.sqrt(fM)) / lam;
  const whisper = (C_PULL * (bmax - bmin) * (Math.min(a, b) + 1) ** 2) / 8;
  const f32 = 2 * U * Math.max(Math.abs(bmin), Math.abs(bmax));
  return solver + whisper + f32;
}

/**
 * 48×36 grid; fill = an L-shaped hole (a rectangle minus a corner) strictly inside; two excluded blocks
 * (a NaN one and a sentinel one) away from the hole, touching only known pixels; known elsewhere.
 */
function lShapedProblem(value: (x: number, y: number) => number): Problem & { excluded: Uint8Array } {
  const W = 48, H = 36, N = W * H;
  const values = new Float32Array(N);
  const known = new Uint8Array(N);
  const fill = new Uint8Array(N);
  const excluded = new Uint8Array(N);
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) {
      const i = y * W + x;
      const hole = x >= 6 && x <= 33 && y >= 5 && y <= 27 && !(x > 22 && y > 18);
      const exclNaN = x >= 40 && y <= 5;
      const exclSentinel = x <= 3 && y >= 31;
      if (hole) {
        fill[i] = 1;
        values[i] = (x * 37 + y) % 5; // garbage the fill must overwrite
      } else if (exclNaN || exclSentinel) {
        excluded[i] = 1;
        values[i] = exclNaN ? NaN : -7.25;
      } else {
        known[i] = 1;
        values[i] = value(x, y);
      }
    }
  }
  return { W, H, values, known, fill, excluded };
}

function expectUntouched(p: Problem & { excluded: Uint8Array }, out: Float32Array): void {
  for (let i = 0; i < out.length; i++) {
    if (p.known[i] || p.excluded[i]) expect(Object.is(out[i], p.values[i]), `pixel ${i} changed`).toBe(true);
  }
}

describe('harmonicFill', () => {
  it.each([1e-4, 1e-6])("reproduces a linear field exactly up to the derived bound ('linear', tolerance %s)", (tol) => {
    // A linear function has a zero discrete Laplacian, so it is the exact solution of the Dirichlet problem.
    const f = (x: number, y: number): number => 2 + 0.05 * x - 0.03 * y;
    const p = lShapedProblem(f);
    const res = harmonicFill(p.values, p.W, p.H, p.known, p.fill, { domain: 'linear', tolerance: tol, maxIterations: 5000 });
    expect(res.residual).toBeLessThanOrEqual(tol);
    const bound = dirichletBound(p, (i) => p.values[i]!, tol);
    let err = 0;
    for (let y = 0; y < p.H; y++) {
      for (let x = 0; x < p.W; x++) {
        const i = y * p.W + x;
        if (p.fill[i]) err = Math.max(err, Math.abs(res.values[i]! - f(x, y)));
      }
    }
    expect(err).toBeLessThanOrEqual(bound);
    // The bound is not vacuous: it stays far below the field's own variation over the hole (~1.6).
    expect(bound).toBeLessThan(tol === 1e-6 ? 2e-3 : 0.2);
    expectUntouched(p, res.values);
  });

  it("continues a slanted plane in 'inverse' mode (inverse depth is affine in image coordinates)", () => {
    // Plane with 1/Z = 0.25 + 0.004 x + 0.002 y (Z from 4 m to about 1.9 m): harmonic in inverse depth.
    const inv = (x: number, y: number): number => 0.25 + 0.004 * x + 0.002 * y;
    const p = lShapedProblem((x, y) => 1 / inv(x, y));
    const tol = 1e-6;
    const res = harmonicFill(p.values, p.W, p.H, p.known, p.fill, { domain: 'inverse', tolerance: tol, maxIterations: 5000 });
    const bInv = dirichletBound(p, (i) => Math.fround(1 / p.values[i]!), tol) + 2 * U * inv(47, 35);
    let relErr = 0;
    let linearDomainErr = 0;
    for (let y = 0; y < p.H; y++) {
      for (let x = 0; x < p.W; x++) {
        const i = y * p.W + x;
        if (!p.fill[i]) continue;
        const z = 1 / inv(x, y);
        relErr = Math.max(relErr, Math.abs(res.values[i]! - z) / z);
        linearDomainErr = Math.max(linearDomainErr, Math.abs(res.values[i]! - z));
      }
    }
    // |ΔZ|/Z = |Δ(1/Z)|/(1/Z) to first order, plus the final float32 rounding of 1/x.
    expect(relErr).toBeLessThanOrEqual(bInv / 0.25 + U);
    expectUntouched(p, res.values);
    // The same hole filled in the linear domain bends (depth is not affine): its error is far larger,
    // so the inverse test above really distinguishes the two.
    const lin = harmonicFill(p.values, p.W, p.H, p.known, p.fill, { domain: 'linear', tolerance: tol, maxIterations: 5000 });
    let linErr = 0;
    for (let y = 0; y < p.H; y++) {
      for (let x = 0; x < p.W; x++) {
        const i = y * p.W + x;
        if (p.fill[i]) linErr = Math.max(linErr, Math.abs(lin.values[i]! - 1 / inv(x, y)));
      }
    }
    expect(linErr).toBeGreaterThan(100 * linearDomainErr);
  });

  it('cuts excluded pixels out of the graph: a wall separates two fills that see only their own boundary', () => {
    // Column 0 known = 1, column 19 known = 5, column 6 excluded (NaN), the rest filled. Left of the wall the
    // only boundary is 1 (Neumann elsewhere) → exactly 1; right of it only 5 → 5. Without the cut the fill
    // would ramp from 1 to 5 across the whole width.
    const W = 20, H = 10, N = W * H;
    const values = new Float32Array(N);
    const known = new Uint8Array(N);
    const fill = new Uint8Array(N);
    for (let y = 0; y < H; y++) {
      for (let x = 0; x < W; x++) {
        const i = y * W + x;
        if (x === 0) { known[i] = 1; values[i] = 1; }
        else if (x === W - 1) { known[i] = 1; values[i] = 5; }
        else if (x === 6) values[i] = NaN;
        else fill[i] = 1;
      }
    }
    const tol = 1e-6;
    const res = harmonicFill(values, W, H, known, fill, { domain: 'linear', tolerance: tol, maxIterations: 5000 });
    // Right region: Dirichlet on one side only, 12 columns to it. λmin ≥ 4 sin²(π/(2(2·12+1))) (the mixed 1-D
    // problem reflected into a Dirichlet one of length 2n+1); f: 10 boundary pixels coupling 5 each, d ≥ 3;
    // its start (nearest known by BFS across the wall) is 1 in columns 7–9, so the c pull is ≤ c·4·n²/2.
    const lam = 4 * Math.sin(Math.PI / (2 * 25)) ** 2;
    const bound = (2 * tol * Math.sqrt((10 * 25) / 3)) / lam + C_PULL * 4 * 72 + 2 * U * 5;
    for (let y = 0; y < H; y++) {
      for (let x = 1; x < W - 1; x++) {
        const v = res.values[y * W + x]!;
        if (x === 6) expect(Number.isNaN(v)).toBe(true);
        else if (x < 6) expect(Math.abs(v - 1)).toBeLessThanOrEqual(bound);
        else expect(Math.abs(v - 5)).toBeLessThanOrEqual(bound);
      }
    }
  });

  it('a fill component with no known pixel in its ring takes the nearest known value', () => {
    // One known pixel at (0, 0) = 3.5, excluded pixels around a far-away fill block: the ring is empty.
    const W = 30, H = 20, N = W * H;
    const values = new Float32Array(N).fill(-1);
    const known = new Uint8Array(N);
    const fill = new Uint8Array(N);
    known[0] = 1;
    values[0] = 3.5;
    for (let y = 10; y < 15; y++) for (let x = 20; x < 26; x++) fill[y * W + x] = 1;
    const res = harmonicFill(values, W, H, known, fill);
    for (let i = 0; i < N; i++) expect(res.values[i]).toBe(fill[i] ? 3.5 : values[i]);
  });

  /**
   * Known: left block (x < 4) = 3, right block (x ≥ 26) = 7. Fill: column pair x = 4–5 (touching the left
   * block), a 4×4 blob at x = 8–11, y = 4–7 enclosed by excluded pixels, and x = 14–25 (touching the right
   * block). With `withLeftFill` false the x = 4–5 fill is excluded too, so the working rectangle (fill
   * bounding box + 1 px) no longer reaches the left block.
   */
  function enclosedBlob(withLeftFill: boolean): Problem {
    const W = 30, H = 12, N = W * H;
    const values = new Float32Array(N);
    const known = new Uint8Array(N);
    const fill = new Uint8Array(N);
    for (let y = 0; y < H; y++) {
      for (let x = 0; x < W; x++) {
        const i = y * W + x;
        if (x < 4) { known[i] = 1; values[i] = 3; }
        else if (x >= 26) { known[i] = 1; values[i] = 7; }
        else if ((x >= 8 && x <= 11 && y >= 4 && y <= 7) || x >= 14 || (withLeftFill && x <= 5)) fill[i] = 1;
        else values[i] = NaN; // excluded
      }
    }
    return { W, H, values, known, fill };
  }

  it('a fill component enclosed by excluded pixels takes its nearest known value (within the working rectangle)', () => {
    // The blob has no boundary: its only data is the c-pull to its start, the nearest known value by
    // city-block BFS (3 from the left block, 5 px away; the right block is 15 px away). The start is then
    // already the exact solution of that component, so the result is 3 up to float32.
    const p = enclosedBlob(true);
    const res = harmonicFill(p.values, p.W, p.H, p.known, p.fill, { tolerance: 1e-6, maxIterations: 2000 });
    for (let y = 4; y <= 7; y++) for (let x = 8; x <= 11; x++) expect(res.values[y * p.W + x]).toBeCloseTo(3, 5);
    // Ordinary regions see only one boundary value each (Neumann elsewhere): 3 on the left, 7 on the right.
    // Right region: 12 columns to its Dirichlet side, bound as in the wall test (λ ≥ 4 sin²(π/50)).
    const bound = (2 * 1e-6 * Math.sqrt((12 * 49) / 3)) / (4 * Math.sin(Math.PI / 50) ** 2) + C_PULL * 4 * 72 + 2 * U * 7;
    for (let y = 0; y < p.H; y++) {
      for (let x = 4; x <= 5; x++) expect(Math.abs(res.values[y * p.W + x]! - 3)).toBeLessThanOrEqual(bound);
      for (let x = 14; x < 26; x++) expect(Math.abs(res.values[y * p.W + x]! - 7)).toBeLessThanOrEqual(bound);
    }
    // Documented limit: the nearest known value is searched only inside the working rectangle. Without the
    // left fill, the rectangle starts at x = 7 and the blob takes the right block's 7 although 3 is nearer.
    const q = enclosedBlob(false);
    const res2 = harmonicFill(q.values, q.W, q.H, q.known, q.fill, { tolerance: 1e-6, maxIterations: 2000 });
    for (let y = 4; y <= 7; y++) for (let x = 8; x <= 11; x++) expect(res2.values[y * q.W + x]).toBeCloseTo(7, 5);
  });

  it("'inverse' mode ignores non-positive known values as anchors and stays within the known range", () => {
    const p = lShapedProblem((x, y) => 1 + 0.1 * x + 0.05 * y);
    // Zero out a few known pixels of the hole's ring: they must neither anchor (1/0) nor leak Infinity.
    for (const [x, y] of [[5, 10], [5, 11], [34, 6], [20, 28]] as const) p.values[y * p.W + x] = 0;
    const res = harmonicFill(p.values, p.W, p.H, p.known, p.fill, { domain: 'inverse', tolerance: 1e-6, maxIterations: 5000 });
    let lo = Infinity, hi = -Infinity;
    for (let i = 0; i < p.values.length; i++) {
      if (p.known[i] && p.values[i]! > 0) {
        lo = Math.min(lo, p.values[i]!);
        hi = Math.max(hi, p.values[i]!);
      }
    }
    for (let i = 0; i < p.values.length; i++) {
      if (!p.fill[i]) continue;
      expect(Number.isFinite(res.values[i]!)).toBe(true);
      // The exact discrete solution obeys the maximum principle (in inverse depth, hence in depth). The 1e-3
      // margin covers the τ = 1e-6 solve: bound (1) of the linear test gives ≤ 1e-5 relative for this hole,
      // and four Neumann pixels among the ~100 of its ring lower λmin only marginally.
      expect(res.values[i]!).toBeGreaterThanOrEqual(lo * (1 - 1e-3));
      expect(res.values[i]!).toBeLessThanOrEqual(hi * (1 + 1e-3));
    }
  });

  it('returns a copy and does no work when there is nothing to fill', () => {
    const values = Float32Array.from([1, 2, 3, 4]);
    const res = harmonicFill(values, 2, 2, Uint8Array.from([1, 1, 1, 1]), Uint8Array.from([0, 1, 0, 0]));
    expect(res.iterations).toBe(0);
    expect(Array.from(res.values)).toEqual([1, 2, 3, 4]);
    expect(res.values).not.toBe(values);
  });

  it('rejects bad input with typed errors', () => {
    const err = (f: () => unknown): DioramaError => {
      try {
        f();
      } catch (e) {
        expect(e).toBeInstanceOf(DioramaError);
        return e as DioramaError;
      }
      throw new Error('expected a throw');
    };
    const e1 = err(() => harmonicFill(new Float32Array(6), 3, 2, new Uint8Array(6), new Uint8Array(5)));
    expect(e1.code).toBe('SIZE_MISMATCH');
    expect(e1.message).toMatch(/expected arrays of 3x2 = 6; found values 6, known 6, fill 5/);
    const e2 = err(() => harmonicFill(new Float32Array(4), 2, 2, new Uint8Array(4), Uint8Array.from([1, 0, 0, 0])));
    expect(e2.code).toBe('NO_VALID_DEPTH');
    const ctl = new AbortController();
    ctl.abort();
    const e3 = err(() => harmonicFill(new Float32Array(4), 2, 2, Uint8Array.from([1, 0, 0, 0]), Uint8Array.from([0, 1, 1, 1]), { signal: ctl.signal }));
    expect(e3.code).toBe('ABORTED');
  });
});
