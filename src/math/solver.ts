/**
 * Weighted least squares on the 4-neighbour pixel grid, solved by Jacobi-preconditioned conjugate gradient.
 *
 * Energy:  E(x) = Σ_p c_p (x_p − b_p)² + Σ_{p~q} w_pq (x_p − x_q)²
 * Normal equations:  (C + L_w) x = C b, where L_w is the weighted graph Laplacian (λ is folded into w).
 * The matrix is symmetric positive definite as long as every connected component of the graph
 * (edges with w > 0) holds at least one pixel with c > 0 or one fixed pixel.
 *
 * Storage: `wx[i]` is the weight between pixel i and its right neighbour (0 in the last column), `wy[i]`
 * between i and the pixel below (0 in the last row). Pixels with `fixed[i] != 0` keep x_i as given
 * (Dirichlet values); the solve runs over the other pixels only. This one routine serves Stage 1
 * (harmonization: c > 0 nearly everywhere) and Stage 3 (harmonic fill: c = 0, known pixels fixed).
 *
 * Internally vectors are padded with one zero row before and after the image so that the stencil needs
 * no bounds checks: index i of the image lives at i + W.
 */
import { DioramaError, throwIfAborted } from '../core/errors';

export interface GridSystem {
  width: number;
  height: number;
  /** Data confidence c_p ≥ 0 (length W·H). */
  c: Float32Array;
  /** Data target b_p (length W·H); ignored where c_p = 0. */
  b: Float32Array;
  /** Right-neighbour weights (length W·H), already multiplied by λ. */
  wx: Float32Array;
  /** Down-neighbour weights (length W·H), already multiplied by λ. */
  wy: Float32Array;
  /** Optional Dirichlet pixels: x keeps its initial value there. */
  fixed?: Uint8Array;
}

export interface SolveOptions {
  /** Stop when sqrt(rᵀM⁻¹r / bᵀM⁻¹b) ≤ tolerance. Default 1e-4. */
  tolerance?: number;
  /** Default 500. */
  maxIterations?: number;
  signal?: AbortSignal;
  /** Check the abort signal every this many iterations. Default 8. */
  abortCheckInterval?: number;
}

export interface SolveResult {
  x: Float32Array;
  iterations: number;
  /** Final relative preconditioned residual. */
  residual: number;
  converged: boolean;
}

/**
 * Solves the system by Jacobi-PCG starting from `x0` (copied; its values at fixed pixels are the
 * Dirichlet values). Float32 storage, float64 reductions.
 */
export function solveGridPCG(sys: GridSystem, x0: Float32Array, options: SolveOptions = {}): SolveResult {
  const { width: W, height: H } = sys;
  const N = W * H;
  for (const [name, arr] of [['c', sys.c], ['b', sys.b], ['wx', sys.wx], ['wy', sys.wy], ['x0', x0]] as const) {
    if (arr.length !== N) {
      throw new DioramaError('SIZE_MISMATCH', `solver: '${name}' has ${arr.length} values; expected ${W}x${H} = ${N}`);
    }
  }
  if (sys.fixed && sys.fixed.length !== N) {
    throw new DioramaError('SIZE_MISMATCH', `solver: 'fixed' has ${sys.fixed.length} values; expected ${N}`);
  }
  const tol = options.tolerance ?? 1e-4;
  const maxIt = options.maxIterations ?? 500;
  const abortEvery = Math.max(1, options.abortCheckInterval ?? 8);
  const signal = options.signal;

  const P = N + 2 * W; // padded length
  const x = new Float32Array(P);
  const r = new Float32Array(P);
  const z = new Float32Array(P);
  const p = new Float32Array(P);
  const q = new Float32Array(P);
  const wx = new Float32Array(P);
  const wy = new Float32Array(P);
  const invD = new Float32Array(P);
  const diag = new Float32Array(P); // zero at fixed/inactive pixels so q stays zero there
  x.set(x0, W);
  wx.set(sys.wx, W);
  wy.set(sys.wy, W);
  // Zero the weights that would leave the grid (last column's right, last row's down).
  for (let y = 0; y < H; y++) wx[W + y * W + W - 1] = 0;
  for (let i = (H - 1) * W; i < N; i++) wy[W + i] = 0;

  const { c, b, fixed } = sys;
  const setup = setupSystem(c, b, fixed, x, r, z, p, wx, wy, diag, invD, W, N);
  const freeCount = setup.freeCount;
  const bNorm = setup.bNorm;
  let rz = setup.rz;
  if (freeCount === 0) return { x: x.slice(W, W + N), iterations: 0, residual: 0, converged: true };
  const denom = bNorm > 0 ? bNorm : 1;
  let residual = Math.sqrt(Math.max(rz, 0) / denom);
  let it = 0;
  // Each iteration is two passes over memory (kernels below): the first applies the pending direction update
  // p = z + βp one row ahead of the stencil q = A p and accumulates pᵀq; the second updates x, r, z and
  // accumulates rᵀz. Fixed and inactive pixels need no branch: invD = diag = 0 there keeps z, p and their
  // contribution to q at zero (r may drift there but is never read through z).
  let beta = 0;
  let pending = 0; // α of the current direction p, not yet applied to x (applied lazily in pass 1)
  while (residual > tol && it < maxIt) {
    if (it % abortEvery === 0) throwIfAborted(signal);
    const pq = directionAndStencil(p, z, q, diag, wx, wy, x, pending, W, H, beta, it > 0);
    pending = 0;
    if (!(pq > 0)) {
      if (pq === 0 || Number.isNaN(pq)) break;
      throw new DioramaError('SOLVER_FAILED', `solver: the system is not positive definite (pᵀAp = ${pq})`);
    }
    const alpha = rz / pq;
    const rzNew = updateResidual(r, q, z, invD, alpha, W, W + N);
    pending = alpha;
    beta = rzNew / rz;
    rz = rzNew;
    it++;
    residual = Math.sqrt(Math.max(rz, 0) / denom);
  }
  if (pending !== 0) for (let k = W; k < W + N; k++) x[k] = x[k]! + pending * p[k]!;
  return { x: x.slice(W, W + N), iterations: it, residual, converged: residual <= tol };
}

/**
 * Diagonal and its inverse (zero at fixed and isolated pixels: the weights of a fixed pixel still act on its
 * free neighbours through their diagonals and through x at the fixed pixel, which is how Dirichlet data
 * enters, but no direction moves it), then r = C b − A x, z = p = M⁻¹ r. Returns rᵀz, the number of free
 * pixels and the scale ‖f‖²_{M⁻¹} of the right-hand side f = C b + Σ_{j fixed} w_ij x_j.
 */
function setupSystem(
  c: Float32Array,
  b: Float32Array,
  fixed: Uint8Array | undefined,
  x: Float32Array,
  r: Float32Array,
  z: Float32Array,
  p: Float32Array,
  wx: Float32Array,
  wy: Float32Array,
  diag: Float32Array,
  invD: Float32Array,
  W: number,
  N: number,
): { rz: number; freeCount: number; bNorm: number } {
  let freeCount = 0;
  for (let k = W; k < W + N; k++) {
    const d = c[k - W]! + wx[k]! + wx[k - 1]! + wy[k]! + wy[k - W]!;
    if (d > 0) {
      diag[k] = d;
      invD[k] = 1 / d;
      freeCount++;
    }
  }
  if (fixed) {
    for (let i = 0; i < N; i++) {
      if (fixed[i] && invD[i + W] !== 0) {
        diag[i + W] = 0;
        invD[i + W] = 0;
        freeCount--;
      }
    }
  }
  let rz = 0;
  let bNorm = 0;
  for (let k = W; k < W + N; k++) {
    const id = invD[k]!;
    const cb = c[k - W]! * b[k - W]!;
    const ax = diag[k]! * x[k]! - wx[k]! * x[k + 1]! - wx[k - 1]! * x[k - 1]! - wy[k]! * x[k + W]! - wy[k - W]! * x[k - W]!;
    // ax already holds the fixed neighbours' values, so the residual is C b − A x.
    const ri = id === 0 ? 0 : cb - ax;
    r[k] = ri;
    const zi = ri * id;
    z[k] = zi;
    p[k] = zi;
    rz += ri * zi;
    bNorm += cb * cb * id;
  }
  if (fixed) {
    // The Dirichlet coupling belongs to the right-hand side's scale.
    bNorm = 0;
    for (let k = W; k < W + N; k++) {
      const id = invD[k]!;
      if (id === 0) continue;
      let f = c[k - W]! * b[k - W]!;
      if (invD[k + 1] === 0) f += wx[k]! * x[k + 1]!;
      if (invD[k - 1] === 0) f += wx[k - 1]! * x[k - 1]!;
      if (invD[k + W] === 0) f += wy[k]! * x[k + W]!;
      if (invD[k - W] === 0) f += wy[k - W]! * x[k - W]!;
      bNorm += f * f * id;
    }
  }
  return { rz, freeCount, bNorm };
}

/**
 * Pass 1 of a PCG iteration: applies the previous step to the solution, x += α_prev·p, and the direction
 * update p = z + βp (when `update`), one row ahead of the stencil q = A p that needs rows y−1..y+1; returns
 * pᵀq. Folding the x update in here saves pass 2 a read of p.
 */
function directionAndStencil(
  p: Float32Array,
  z: Float32Array,
  q: Float32Array,
  diag: Float32Array,
  wx: Float32Array,
  wy: Float32Array,
  x: Float32Array,
  alphaPrev: number,
  W: number,
  H: number,
  beta: number,
  update: boolean,
): number {
  if (update) advanceRow(x, p, z, alphaPrev, beta, W, 2 * W);
  let pq = 0;
  for (let y = 0; y < H; y++) {
    const start = W + y * W;
    const end = start + W;
    if (update && y + 1 < H) advanceRow(x, p, z, alphaPrev, beta, end, end + W);
    for (let k = start; k < end; k++) {
      const pk = p[k]!;
      const v = diag[k]! * pk - wx[k]! * p[k + 1]! - wx[k - 1]! * p[k - 1]! - wy[k]! * p[k + W]! - wy[k - W]! * p[k - W]!;
      q[k] = v;
      pq += pk * v;
    }
  }
  return pq;
}

/** x += α·p, then p = z + βp, over [start, end). */
function advanceRow(x: Float32Array, p: Float32Array, z: Float32Array, alpha: number, beta: number, start: number, end: number): void {
  for (let k = start; k < end; k++) {
    const pk = p[k]!;
    x[k] = x[k]! + alpha * pk;
    p[k] = z[k]! + beta * pk;
  }
}

/** Pass 2: r −= αq, z = M⁻¹r over [start, end); returns rᵀz. */
function updateResidual(r: Float32Array, q: Float32Array, z: Float32Array, invD: Float32Array, alpha: number, start: number, end: number): number {
  let rz = 0;
  for (let k = start; k < end; k++) {
    const rk = r[k]! - alpha * q[k]!;
    r[k] = rk;
    const zk = rk * invD[k]!;
    z[k] = zk;
    rz += rk * zk;
  }
  return rz;
}

/**
 * Restricts a grid system to half resolution (2×2 blocks): data terms add up, weights between blocks add up
 * over the block edges, b becomes the c-weighted mean. A block containing fixed pixels becomes a fixed pixel
 * holding their mean (the coarse level only provides a starting guess).
 */
export function restrictSystem(sys: GridSystem, x0: Float32Array): { sys: GridSystem; x0: Float32Array } {
  const { width: W, height: H } = sys;
  const w2 = Math.ceil(W / 2);
  const h2 = Math.ceil(H / 2);
  const n2 = w2 * h2;
  const c = new Float32Array(n2);
  const cb = new Float64Array(n2);
  const wx = new Float32Array(n2);
  const wy = new Float32Array(n2);
  const fsum = new Float64Array(n2);
  const fcnt = new Float32Array(n2);
  const xs = new Float64Array(n2);
  const xc = new Float32Array(n2);
  const fixed = sys.fixed;
  for (let y = 0; y < H; y++) {
    const Y = y >> 1;
    for (let x = 0; x < W; x++) {
      const i = y * W + x;
      const I = Y * w2 + (x >> 1);
      if (fixed && fixed[i]) {
        fsum[I] += x0[i]!;
        fcnt[I]++;
      } else {
        c[I] += sys.c[i]!;
        cb[I] += sys.c[i]! * sys.b[i]!;
      }
      xs[I] += x0[i]!;
      xc[I]++;
      // An edge crossing a block border becomes a coarse edge; edges inside a block vanish.
      if (x + 1 < W && ((x + 1) >> 1) !== x >> 1) wx[I] += sys.wx[i]!;
      if (y + 1 < H && ((y + 1) >> 1) !== Y) wy[I] += sys.wy[i]!;
    }
  }
  const b = new Float32Array(n2);
  const x0c = new Float32Array(n2);
  const coarseFixed = fixed ? new Uint8Array(n2) : undefined;
  for (let I = 0; I < n2; I++) {
    b[I] = c[I]! > 0 ? cb[I]! / c[I]! : 0;
    x0c[I] = xs[I]! / xc[I]!;
    if (coarseFixed && fcnt[I]! > 0) {
      // A block holding Dirichlet pixels is a Dirichlet pixel with their mean value.
      coarseFixed[I] = 1;
      x0c[I] = fsum[I]! / fcnt[I]!;
    }
    // Coarse edges are half as many per unit length but span twice the distance: the sum over the two fine
    // edges, divided by 2 for the doubled spacing, keeps the continuum Laplacian's scale (h² scaling of the
    // data term is already in the summed c).
    wx[I] = wx[I]! * 0.5;
    wy[I] = wy[I]! * 0.5;
  }
  return { sys: { width: w2, height: h2, c, b, wx, wy, fixed: coarseFixed }, x0: x0c };
}

/**
 * Bilinear prolongation: fine pixel (x, y) samples the coarse grid at ((x + ½)/2 − ½, (y + ½)/2 − ½), the
 * position of its centre in coarse pixel units (clamped at the borders). Fixed pixels keep their values.
 */
export function prolongInto(coarse: Float32Array, w2: number, fine: Float32Array, W: number, H: number, fixed?: Uint8Array): void {
  const h2 = coarse.length / w2;
  for (let y = 0; y < H; y++) {
    const cy = Math.min(h2 - 1, Math.max(0, (y + 0.5) / 2 - 0.5));
    const y0 = Math.floor(cy);
    const y1 = Math.min(h2 - 1, y0 + 1);
    const fy = cy - y0;
    for (let x = 0; x < W; x++) {
      const i = y * W + x;
      if (fixed && fixed[i]) continue;
      const cx = Math.min(w2 - 1, Math.max(0, (x + 0.5) / 2 - 0.5));
      const x0 = Math.floor(cx);
      const x1 = Math.min(w2 - 1, x0 + 1);
      const fx = cx - x0;
      const a = coarse[y0 * w2 + x0]! * (1 - fx) + coarse[y0 * w2 + x1]! * fx;
      const c = coarse[y1 * w2 + x0]! * (1 - fx) + coarse[y1 * w2 + x1]! * fx;
      fine[i] = a * (1 - fy) + c * fy;
    }
  }
}

export interface MultilevelOptions extends SolveOptions {
  /** Coarse levels to use for the starting guess (0 = plain PCG). Default: until the grid is ≤ 64 px wide. */
  levels?: number;
  /** Iteration cap on each intermediate coarse level. Default 30 (the coarsest level: twice its larger side). */
  coarseIterations?: number;
}

/**
 * Coarse-to-fine PCG: solves restricted copies of the system on a pyramid, uses each coarse solution as the
 * next finer level's starting guess (at pixels that are not fixed), then runs PCG at full resolution. Long-range propagation (large holes, low
 * confidence regions) happens on coarse grids where it is cheap.
 */
export function solveGridMultilevel(
  sys: GridSystem,
  x0: Float32Array,
  options: MultilevelOptions = {},
): SolveResult & { coarseIterations: number } {
  const maxLevels = options.levels ?? Math.max(0, Math.ceil(Math.log2(Math.max(sys.width, sys.height) / 64)));
  if (maxLevels <= 0 || sys.width < 4 || sys.height < 4) {
    return { ...solveGridPCG(sys, x0, options), coarseIterations: 0 };
  }
  const coarse = restrictSystem(sys, x0);
  // Cascade: the coarsest grid gets enough iterations to carry values across its whole width (CG needs
  // O(width) iterations on a Laplacian) — it is tiny; every finer level only cleans up what prolongation
  // left, which takes a few tens of iterations.
  const cw = coarse.sys.width;
  const chh = coarse.sys.height;
  const coarsest = maxLevels - 1 === 0 || cw < 4 || chh < 4;
  const sub = solveGridMultilevel(coarse.sys, coarse.x0, {
    ...options,
    levels: maxLevels - 1,
    maxIterations: coarsest ? Math.ceil(2 * Math.max(cw, chh)) : (options.coarseIterations ?? 30),
    tolerance: Math.min(options.tolerance ?? 1e-4, 1e-4),
  });
  const start = Float32Array.from(x0);
  prolongInto(sub.x, coarse.sys.width, start, sys.width, sys.height, sys.fixed);
  const fine = solveGridPCG(sys, start, options);
  return { ...fine, coarseIterations: sub.iterations + sub.coarseIterations };
}
