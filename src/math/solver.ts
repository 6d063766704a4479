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
 * How the iteration is organised (identical iterates to textbook Jacobi-PCG in exact arithmetic):
 *
 * 1. Symmetric scaling. With D the diagonal of A = C + L_w over the free pixels and S = D^{-1/2}, Jacobi-PCG
 *    on A x = f is plain CG on Â y = f̂ with Â = S A S (unit diagonal, off-diagonal −w_pq s_p s_q),
 *    f̂ = S f and x = S y. Fixed pixels (and free pixels with no coupling at all) get s = 0, so their scaled
 *    edges vanish and their values enter only through f. The relative preconditioned residual
 *    sqrt(rᵀD⁻¹r / fᵀD⁻¹f) of Jacobi-PCG is exactly ‖r̂‖ / ‖f̂‖ here.
 * 2. One pass over memory per iteration (Chronopoulos–Gear CG). With γ_k = r̂_kᵀr̂_k, w_k = Â r̂_k and
 *    δ_k = w_kᵀr̂_k, the direction p_k = r̂_k + β_k p_{k−1} and s_k = Â p_k = w_k + β_k s_{k−1} follow
 *    without a second operator application, and pᵀÂp = δ_k − β_k γ_k / α_{k−1}, so
 *      β_k = γ_k / γ_{k−1},  α_k = γ_k / (δ_k − β_k γ_k / α_{k−1})   (β_0 = 0, α_0 = γ_0 / δ_0),
 *      y += α_k p_k,  r̂ −= α_k s_k,  then w = Â r̂, γ and δ for the next step,
 *    and both dot products come out of the same sweep. Each sweep updates image row j+1 of p, s, r̂ and
 *    then applies the 5-point stencil to row j (which needs r̂ on rows j−1..j+1). The solution y is brought
 *    up to date on every second step only, with two steps' directions at once (see sweep).
 * A GPU port may equally run textbook Jacobi-PCG on the unscaled system: the iterates, the residual measure
 * and hence the iteration count agree up to rounding.
 *
 * Vectors are float32 with one zero padding row before and after the image, so that the stencil needs no
 * bounds checks (image index i lives at i + W; the last column's right weight and the last row's down
 * weight are zero). Reductions are float64. The work vectors are reused across calls (see `scratch`).
 * The sweep runs as a WebAssembly SIMD kernel, a transcription of the JavaScript `sweep` (see
 * sweepModuleBytes), where the platform allows; the set-up and the scalar recurrences stay in JavaScript.
 */
import { DioramaError, invariant, throwIfAborted } from '../core/errors';
import { ADD, ELSE, END, F32, F64, I32, IF, KernelCache, LT_S, MUL, SUB, V128, V128_LOAD, V128_STORE, i32Const, localGet, localSet, simd, wasmModule, whileLoop, type KernelInstance } from './wasm';

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

/** The solver's padded work vectors (see `scratch`). */
interface Work {
  /** Scaled solution y = x / s. */
  y: Float32Array;
  /** Scaled residual r̂. */
  r: Float32Array;
  /** Search direction p. */
  p: Float32Array;
  /** s = Â p. */
  s: Float32Array;
  /** w = Â r̂. */
  w: Float32Array;
  /** Scaled right / down weights w_pq s_p s_q. */
  ax: Float32Array;
  ay: Float32Array;
  /** Scale s = D^{-1/2} (0 at fixed and uncoupled pixels). */
  sc: Float32Array;
}

const WORK_VECTORS = 8;

/** The WebAssembly sweep (see sweepModuleBytes): the work vectors live in its memory. */
type SweepKernel = (y: number, r: number, p: number, s: number, w: number, ax: number, ay: number, W: number, H: number, alpha: number, beta: number, alphaPrev: number, updateY: number) => void;

/** Work vectors, and the kernel whose memory holds them (with their byte offsets there) when there is one. */
interface Scratch {
  work: Work;
  kernel?: KernelInstance<SweepKernel>;
  /** Byte offsets of y, r, p, s, w, ax, ay in the kernel's memory. */
  offsets: number[];
}

/** Bytes 0–15 of the kernel's memory receive γ and δ; the vectors start here. */
const KERNEL_DATA = 64;
const SWEEP = new KernelCache<SweepKernel>('sweep', () => sweepModuleBytes());
let bufferHeld: { buffer: WeakRef<ArrayBuffer>; length: number } | undefined;

/**
 * Work vectors of padded length `P`, kept between calls: in the kernels' shared memory (src/math/wasm.ts)
 * when WebAssembly SIMD is available, else in an ordinary buffer. Both are held weakly, so an idle solver
 * does not pin ~70 MB at 1080p (the collector may reclaim them and the next call allocates afresh).
 * Contents are stale: the caller initialises every element it reads. Safe because solves are synchronous
 * and never nested, and no other kernel runs during a solve.
 */
function scratch(P: number): Scratch {
  const stride = 4 * Math.ceil(P / 4); // 16-byte aligned vectors
  const kernel = SWEEP.get(KERNEL_DATA + WORK_VECTORS * stride * 4);
  let buf: ArrayBuffer;
  let base: number;
  if (kernel) {
    buf = kernel.memory.buffer;
    base = KERNEL_DATA;
  } else {
    let b = bufferHeld && bufferHeld.length >= stride ? bufferHeld.buffer.deref() : undefined;
    if (!b) {
      b = new ArrayBuffer(WORK_VECTORS * stride * 4);
      bufferHeld = { buffer: new WeakRef(b), length: stride };
    }
    buf = b;
    base = 0;
  }
  const offsets = Array.from({ length: WORK_VECTORS }, (_, k) => base + k * stride * 4);
  const v = (k: number): Float32Array => new Float32Array(buf, offsets[k], P);
  return { work: { y: v(0), r: v(1), p: v(2), s: v(3), w: v(4), ax: v(5), ay: v(6), sc: v(7) }, kernel, offsets };
}

/**
 * Solves the system by Jacobi-PCG starting from `x0` (not modified; its values at fixed pixels are the
 * Dirichlet values). Float32 storage, float64 reductions; see the module comment for the organisation.
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
  if (N === 0) return { x: new Float32Array(0), iterations: 0, residual: 0, converged: true };

  const { work, kernel, offsets: o } = scratch(N + 2 * W);
  const setup = setupScaled(sys, x0, work);
  const dots = kernel ? new Float64Array(kernel.memory.buffer, 0, 2) : undefined;
  const out = x0.slice();
  if (setup.freeCount === 0) return { x: out, iterations: 0, residual: 0, converged: true };
  const denom = setup.fNorm > 0 ? setup.fNorm : 1;
  let gamma = setup.gamma;
  const gamma0 = gamma;
  let delta = setup.delta;
  let residual = Math.sqrt(gamma / denom);
  let it = 0;
  let alpha = 0;
  let beta = 0;
  while (residual > tol && it < maxIt) {
    if (it % abortEvery === 0) throwIfAborted(signal);
    // pᵀÂp of the direction this step takes (see the module comment).
    const pAp = it === 0 ? delta : delta - (beta * gamma) / alpha;
    if (!(pAp > 0)) {
      // Round-off, not indefiniteness: once the residual is at float32 resolution (rᵀz down by 1e-12 from the
      // start, i.e. 1e-6 in norm), pᵀAp = δ − βγ/α is a difference of equal tiny numbers and may come out ≤ 0.
      if (pAp === 0 || Number.isNaN(pAp) || gamma <= gamma0 * 1e-12) break;
      throw new DioramaError('SOLVER_FAILED', `solver: the system is not positive definite (pᵀAp = ${pAp})`);
    }
    const alphaPrev = alpha;
    alpha = gamma / pAp;
    // y is brought up to date on odd steps (k = 1, 3, …) with the directions of steps k−1 and k.
    const ap = it % 2 === 1 ? alphaPrev : 0;
    let next: Dots;
    if (kernel) {
      kernel.fn(o[0]!, o[1]!, o[2]!, o[3]!, o[4]!, o[5]!, o[6]!, W, H, alpha, beta, ap, it % 2);
      next = { gamma: dots![0]!, delta: dots![1]! };
    } else next = sweep(work, alpha, beta, ap, it % 2 === 1, W, H);
    it++;
    beta = next.gamma / gamma;
    gamma = next.gamma;
    delta = next.delta;
    residual = Math.sqrt(gamma / denom);
  }
  // x = S y at free pixels (with the last step's α p when an even step left it pending); fixed and
  // uncoupled pixels keep x0.
  const { y, p, sc } = work;
  const pending = it % 2 === 1 ? alpha : 0;
  for (let i = 0; i < N; i++) {
    const s = sc[i + W]!;
    if (s !== 0) out[i] = s * (y[i + W]! + pending * p[i + W]!);
  }
  return { x: out, iterations: it, residual, converged: residual <= tol };
}

/** Result of `sweep` and of the set-up: γ = r̂ᵀr̂ and δ = (Âr̂)ᵀr̂ of the current residual. */
interface Dots {
  gamma: number;
  delta: number;
}

/**
 * Set-up, three passes:
 * 1. the diagonal d_p = c_p + Σ_q w_pq and the scale s_p = d_p^{-1/2} at free pixels (0 elsewhere);
 * 2. the residual r = C b − A x0 over the free pixels (the stencil reads x0 at every neighbour, fixed ones
 *    included, which is how Dirichlet values enter), r̂ = s r, y = x0 / s, ‖f̂‖² = Σ s_p² f_p² with
 *    f_p = c_p b_p + Σ_{q not free} w_pq x_q, and the scaled right and down weights w_pq s_p s_q;
 * 3. w = Â r̂ with γ = r̂ᵀr̂ and δ = wᵀr̂.
 * The unscaled padded weights are staged in p and s, which are zeroed at the end so that the first step
 * (β = 0) starts the recurrences; x0 is staged, padded, in w until step 3 overwrites it.
 */
function setupScaled(sys: GridSystem, x0: Float32Array, work: Work): Dots & { freeCount: number; fNorm: number } {
  const { width: W, height: H, c, b, fixed } = sys;
  const N = W * H;
  const P = N + 2 * W;
  // Stage: unscaled weights in p / s (zero padding, zero off-grid edges), x0 padded in w.
  const uwx = work.p;
  const uwy = work.s;
  const { y, r, w, ax, ay, sc } = work;
  for (const v of [y, r, uwx, uwy, w, ax, ay, sc]) {
    v.fill(0, 0, W);
    v.fill(0, W + N, P);
  }
  uwx.set(sys.wx, W);
  uwy.set(sys.wy, W);
  for (let k = 2 * W - 1; k < W + N; k += W) uwx[k] = 0; // the last column has no right neighbour
  for (let k = N; k < W + N; k++) uwy[k] = 0; // the last row has no down neighbour
  const xp = w;
  xp.set(x0, W);
  const freeCount = computeScales(sc, c, uwx, uwy, fixed, W, W, W + N);
  let fNorm = 0;
  for (let k = W; k < W + N; k++) {
    // Step 2.
    const sk = sc[k]!;
    const wr = uwx[k]!;
    const wd = uwy[k]!;
    ax[k] = wr * sk * sc[k + 1]!;
    ay[k] = wd * sk * sc[k + W]!;
    if (sk === 0) {
      y[k] = 0;
      r[k] = 0;
      continue;
    }
    const wl = uwx[k - 1]!;
    const wu = uwy[k - W]!;
    const xk = xp[k]!;
    const ck = c[k - W]!;
    const cb = ck * b[k - W]!;
    const d = ck + wr + wl + wd + wu;
    const tr = wr * xp[k + 1]!;
    const tl = wl * xp[k - 1]!;
    const td = wd * xp[k + W]!;
    const tu = wu * xp[k - W]!;
    r[k] = sk * (cb - d * xk + tr + tl + td + tu);
    y[k] = xk * d * sk; // x / s = x·√d = x·d·s
    // Right-hand side: the data term plus the coupling to neighbours that are not free. Without fixed
    // pixels every non-free pixel has no edges at all (d = 0), so f = C b.
    let f = cb;
    if (fixed) {
      if (sc[k + 1] === 0) f += tr;
      if (sc[k - 1] === 0) f += tl;
      if (sc[k + W] === 0) f += td;
      if (sc[k - W] === 0) f += tu;
    }
    fNorm += sk * sk * f * f;
  }
  // Step 3 (overwrites the staged x0 in w).
  let gamma = 0;
  let delta = 0;
  for (let k = W; k < W + N; k++) {
    const rk = r[k]!;
    const v = rk - ax[k]! * r[k + 1]! - ax[k - 1]! * r[k - 1]! - ay[k]! * r[k + W]! - ay[k - W]! * r[k - W]!;
    w[k] = v;
    gamma += rk * rk;
    delta += v * rk;
  }
  uwx.fill(0);
  uwy.fill(0);
  return { gamma, delta, freeCount, fNorm };
}

/**
 * Pass 1 of setupScaled over padded indices [start, end): the diagonal d = c + Σ w of each pixel (the
 * unscaled padded weights uwx, uwy) and its scale d^{-1/2}, 0 at fixed and uncoupled pixels. Returns the
 * number of free pixels.
 */
function computeScales(
  sc: Float32Array,
  c: Float32Array,
  uwx: Float32Array,
  uwy: Float32Array,
  fixed: Uint8Array | undefined,
  W: number,
  start: number,
  end: number,
): number {
  let free = 0;
  for (let k = start; k < end; k++) {
    const d = c[k - W]! + uwx[k]! + uwx[k - 1]! + uwy[k]! + uwy[k - W]!;
    if (d > 0 && !(fixed && fixed[k - W])) {
      sc[k] = 1 / Math.sqrt(d);
      free++;
    } else sc[k] = 0;
  }
  return free;
}

/**
 * One CG step in one pass: p = r̂ + βp, s = w + βs, r̂ −= αs, one row ahead of w = Â r̂ on the row behind
 * it; returns γ = r̂ᵀr̂ and δ = wᵀr̂ of the new residual. The solution is updated on every second step only,
 * with both steps' directions at once: y += α_prev p_prev + α p, where p_prev is the direction before this
 * step's update, which saves a read and a write of y per pixel on the other steps.
 *
 * Loop shape (measured): the update of pixel k + W (row + 1) and the stencil at pixel k share one loop, and
 * the stencil keeps r̂ at k − 1, k, k + 1 and the left weight in registers as it slides along the row.
 */
function sweep(work: Work, alpha: number, beta: number, alphaPrev: number, updateY: boolean, W: number, H: number): Dots {
  const { y, r, p, s, w, ax, ay } = work;
  // Row 0's update; every later row is updated inside the stencil loop of the row above it.
  for (let k = W; k < 2 * W; k++) {
    const pOld = p[k]!;
    const pk = r[k]! + beta * pOld;
    const sk = w[k]! + beta * s[k]!;
    p[k] = pk;
    s[k] = sk;
    r[k] = r[k]! - alpha * sk;
    if (updateY) y[k] = y[k]! + alphaPrev * pOld + alpha * pk;
  }
  let gamma = 0;
  let delta = 0;
  for (let row = 0; row < H; row++) {
    const start = W + row * W;
    const end = start + W;
    let g = 0;
    let d = 0;
    let rl = r[start - 1]!;
    let rc = r[start]!;
    let al = ax[start - 1]!;
    if (row + 1 < H && updateY) {
      for (let k = start; k < end; k++) {
        const j = k + W;
        const pOld = p[j]!;
        const pj = r[j]! + beta * pOld;
        const sj = w[j]! + beta * s[j]!;
        p[j] = pj;
        s[j] = sj;
        const rj = Math.fround(r[j]! - alpha * sj);
        r[j] = rj;
        y[j] = y[j]! + alphaPrev * pOld + alpha * pj;
        const rr = r[k + 1]!;
        const ar = ax[k]!;
        const v = rc - ar * rr - al * rl - ay[k]! * rj - ay[k - W]! * r[k - W]!;
        w[k] = v;
        g += rc * rc;
        d += v * rc;
        rl = rc;
        rc = rr;
        al = ar;
      }
    } else if (row + 1 < H) {
      for (let k = start; k < end; k++) {
        const j = k + W;
        const sj = w[j]! + beta * s[j]!;
        p[j] = r[j]! + beta * p[j]!;
        s[j] = sj;
        const rj = Math.fround(r[j]! - alpha * sj);
        r[j] = rj;
        const rr = r[k + 1]!;
        const ar = ax[k]!;
        const v = rc - ar * rr - al * rl - ay[k]! * rj - ay[k - W]! * r[k - W]!;
        w[k] = v;
        g += rc * rc;
        d += v * rc;
        rl = rc;
        rc = rr;
        al = ar;
      }
    } else {
      for (let k = start; k < end; k++) {
        const rr = r[k + 1]!;
        const ar = ax[k]!;
        const v = rc - ar * rr - al * rl - ay[k]! * r[k + W]! - ay[k - W]! * r[k - W]!;
        w[k] = v;
        g += rc * rc;
        d += v * rc;
        rl = rc;
        rc = rr;
        al = ar;
      }
    }
    gamma += g;
    delta += d;
  }
  return { gamma, delta };
}

// ---------------------------------------------------------------------------------------------------------
// The sweep as a WebAssembly SIMD kernel.
//
// JavaScript runs `sweep` at roughly one typed-array access per nanosecond, which makes it the bulk of a
// 1080p solve; the same loop in WebAssembly with 4-lane float32 SIMD is about 4× faster. The kernel below is
// `sweep` transcribed operation by operation (same rows, same order, same row lag, same vectors), emitted as
// bytecode by a few lines of encoder so that no toolchain or binary blob is involved. Differences from the
// JavaScript loop are rounding only: the vector updates and the stencil are evaluated in float32 instead of
// float64-then-stored-as-float32, and the dot products are summed in two float64 lanes, so iterates agree
// to float32 precision, not bit for bit. Where WebAssembly SIMD is unavailable (or memory cannot be had)
// the JavaScript sweep runs instead.
//
// Layout: the vectors live in the kernel's memory at byte offsets passed as arguments; bytes 0–15 receive
// γ and δ (float64). Arguments: offsets of y, r, p, s, w, ax, ay (element 0 of each padded vector), W, H,
// α, β, α_prev, updateY.

/** The kernel's bytecode (a module importing `env.mem` and exporting `sweep`). */
function sweepModuleBytes(): Uint8Array<ArrayBuffer> {
  // Parameters, then locals (index order = declaration order).
  const names = ['y', 'r', 'p', 's', 'w', 'ax', 'ay', 'W', 'H', 'alpha', 'beta', 'alphaPrev', 'updateY'];
  const paramTypes = [I32, I32, I32, I32, I32, I32, I32, I32, I32, F64, F64, F64, I32];
  const locals: [string, number][] = [
    ['row', I32], ['k', I32], ['kend', I32], ['tend', I32], ['Wb', I32], ['j', I32],
    ['g', F64], ['d', F64], ['af', F32], ['bf', F32], ['apf', F32],
    ['pO', F32], ['pn', F32], ['sn', F32], ['rn', F32], ['rc', F32], ['vn', F32],
    ['A4', V128], ['B4', V128], ['AP4', V128], ['g2', V128], ['d2', V128],
    ['pOld', V128], ['pj', V128], ['sj', V128], ['rj', V128], ['rc4', V128], ['v4', V128],
  ];
  for (const [n] of locals) names.push(n);
  const ix = (n: string): number => {
    const i = names.indexOf(n);
    invariant(i >= 0, `wasm kernel: unknown local ${n}`);
    return i;
  };
  const get = (n: string): number[] => localGet(ix(n));
  const set = (n: string): number[] => localSet(ix(n));
  const i32 = i32Const;
  const vload = V128_LOAD;
  const vstore = V128_STORE;
  const fload = [0x2a, 0x02, 0x00]; // f32.load
  const fstore = [0x38, 0x02, 0x00];
  const [vadd, vsub, vmul] = [simd(0xe4), simd(0xe5), simd(0xe6)]; // f32x4
  const promoteLow = simd(0x5f); // f64x2.promote_low_f32x4
  const highToLow = simd(0x0d, 8, 9, 10, 11, 12, 13, 14, 15, 8, 9, 10, 11, 12, 13, 14, 15); // i8x16.shuffle
  const [dadd2, dmul2] = [simd(0xf0), simd(0xf2)]; // f64x2
  const [fadd, fsub, fmul] = [[0x92], [0x93], [0x94]]; // f32
  const [dadd, dmul] = [[0xa0], [0xa2]]; // f64
  const promote = [0xbb];
  const demote = [0xb6];
  /** Byte address of vector `v` at the byte index in local `at`, plus `delta` bytes (or minus local Wb). */
  const addr = (v: string, at: string, delta: number | 'up' = 0): number[] => [
    ...get(v), ...get(at), ADD,
    ...(delta === 'up' ? [...get('Wb'), SUB] : delta !== 0 ? [...i32(delta), ADD] : []),
  ];
  // One SIMD group: 4 pixels of the row below (j = k + Wb) updated, then the stencil at k … k+3.
  const updateGroup = (withY: boolean): number[] => [
    ...addr('p', 'j'), ...vload, ...set('pOld'),
    ...addr('r', 'j'), ...vload, ...get('B4'), ...get('pOld'), ...vmul, ...vadd, ...set('pj'),
    ...addr('p', 'j'), ...get('pj'), ...vstore,
    ...addr('w', 'j'), ...vload, ...get('B4'), ...addr('s', 'j'), ...vload, ...vmul, ...vadd, ...set('sj'),
    ...addr('s', 'j'), ...get('sj'), ...vstore,
    ...addr('r', 'j'), ...vload, ...get('A4'), ...get('sj'), ...vmul, ...vsub, ...set('rj'),
    ...addr('r', 'j'), ...get('rj'), ...vstore,
    ...(withY
      ? [
        ...addr('y', 'j'),
        ...addr('y', 'j'), ...vload, ...get('AP4'), ...get('pOld'), ...vmul, ...vadd, ...get('A4'), ...get('pj'), ...vmul, ...vadd,
        ...vstore,
      ]
      : []),
  ];
  const stencilGroup = (below: 'rj' | 'load'): number[] => [
    ...addr('r', 'k'), ...vload, ...set('rc4'),
    ...get('rc4'),
    ...addr('ax', 'k'), ...vload, ...addr('r', 'k', 4), ...vload, ...vmul, ...vsub,
    ...addr('ax', 'k', -4), ...vload, ...addr('r', 'k', -4), ...vload, ...vmul, ...vsub,
    ...addr('ay', 'k'), ...vload, ...(below === 'rj' ? get('rj') : [...addr('r', 'j'), ...vload]), ...vmul, ...vsub,
    ...addr('ay', 'k', 'up'), ...vload, ...addr('r', 'k', 'up'), ...vload, ...vmul, ...vsub,
    ...set('v4'),
    ...addr('w', 'k'), ...get('v4'), ...vstore,
    // γ += r², δ += w·r in float64 lanes (low and high halves of the 4 lanes).
    ...get('g2'), ...get('rc4'), ...promoteLow, ...get('rc4'), ...promoteLow, ...dmul2, ...dadd2,
    ...get('rc4'), ...get('rc4'), ...highToLow, ...promoteLow, ...get('rc4'), ...get('rc4'), ...highToLow, ...promoteLow, ...dmul2, ...dadd2,
    ...set('g2'),
    ...get('d2'), ...get('v4'), ...promoteLow, ...get('rc4'), ...promoteLow, ...dmul2, ...dadd2,
    ...get('v4'), ...get('v4'), ...highToLow, ...promoteLow, ...get('rc4'), ...get('rc4'), ...highToLow, ...promoteLow, ...dmul2, ...dadd2,
    ...set('d2'),
  ];
  // The same for one pixel (the columns beyond the last multiple of 4), scalar float32.
  const updatePixel = (withY: boolean): number[] => [
    ...addr('p', 'j'), ...fload, ...set('pO'),
    ...addr('r', 'j'), ...fload, ...get('bf'), ...get('pO'), ...fmul, ...fadd, ...set('pn'),
    ...addr('p', 'j'), ...get('pn'), ...fstore,
    ...addr('w', 'j'), ...fload, ...get('bf'), ...addr('s', 'j'), ...fload, ...fmul, ...fadd, ...set('sn'),
    ...addr('s', 'j'), ...get('sn'), ...fstore,
    ...addr('r', 'j'), ...fload, ...get('af'), ...get('sn'), ...fmul, ...fsub, ...set('rn'),
    ...addr('r', 'j'), ...get('rn'), ...fstore,
    ...(withY
      ? [
        ...addr('y', 'j'),
        ...addr('y', 'j'), ...fload, ...get('apf'), ...get('pO'), ...fmul, ...fadd, ...get('af'), ...get('pn'), ...fmul, ...fadd,
        ...fstore,
      ]
      : []),
  ];
  const stencilPixel = (below: 'rn' | 'load'): number[] => [
    ...addr('r', 'k'), ...fload, ...set('rc'),
    ...get('rc'),
    ...addr('ax', 'k'), ...fload, ...addr('r', 'k', 4), ...fload, ...fmul, ...fsub,
    ...addr('ax', 'k', -4), ...fload, ...addr('r', 'k', -4), ...fload, ...fmul, ...fsub,
    ...addr('ay', 'k'), ...fload, ...(below === 'rn' ? get('rn') : [...addr('r', 'j'), ...fload]), ...fmul, ...fsub,
    ...addr('ay', 'k', 'up'), ...fload, ...addr('r', 'k', 'up'), ...fload, ...fmul, ...fsub,
    ...set('vn'),
    ...addr('w', 'k'), ...get('vn'), ...fstore,
    ...get('g'), ...get('rc'), ...promote, ...get('rc'), ...promote, ...dmul, ...dadd, ...set('g'),
    ...get('d'), ...get('vn'), ...promote, ...get('rc'), ...promote, ...dmul, ...dadd, ...set('d'),
  ];
  /** for (k; k < end; k += step) { j = k + Wb; body } with `end` the local holding the bound. */
  const loop = (end: string, step: number, body: number[]): number[] =>
    whileLoop([...get('k'), ...get(end), LT_S], [
      ...get('k'), ...get('Wb'), ADD, ...set('j'),
      ...body,
      ...get('k'), ...i32(step), ADD, ...set('k'),
    ]);
  /** A row's groups then its tail pixels, from byte index k (row start) to kend (SIMD end) and tend (row end). */
  const row = (group: number[], pixel: number[]): number[] => [...loop('kend', 16, group), ...loop('tend', 4, pixel)];
  /** Sets k, kend, tend for the row starting at byte index `start` (an instruction sequence). */
  const rowBounds = (start: number[]): number[] => [
    ...start, ...set('k'),
    ...get('k'), ...get('W'), ...i32(-4), 0x71 /* i32.and */, ...i32(4), MUL, ADD, ...set('kend'),
    ...get('k'), ...get('Wb'), ADD, ...set('tend'),
  ];
  const body: number[] = [
    ...get('W'), ...i32(4), MUL, ...set('Wb'),
    ...get('alpha'), ...demote, ...set('af'),
    ...get('beta'), ...demote, ...set('bf'),
    ...get('alphaPrev'), ...demote, ...set('apf'),
    ...get('af'), ...simd(0x13), ...set('A4'), // f32x4.splat
    ...get('bf'), ...simd(0x13), ...set('B4'),
    ...get('apf'), ...simd(0x13), ...set('AP4'),
    // Row 0's update (j = k + Wb runs over image row 0 while k runs over the padding row).
    ...rowBounds(i32(0)),
    ...get('updateY'), ...IF, ...row(updateGroup(true), updatePixel(true)), ...ELSE, ...row(updateGroup(false), updatePixel(false)), ...END,
    ...i32(0), ...set('row'),
    ...whileLoop([...get('row'), ...get('H'), LT_S], [
      ...rowBounds([...get('row'), ...i32(1), ADD, ...get('Wb'), MUL]),
      ...get('row'), ...i32(1), ADD, ...get('H'), LT_S,
      ...IF,
      ...get('updateY'), ...IF,
      ...row([...updateGroup(true), ...stencilGroup('rj')], [...updatePixel(true), ...stencilPixel('rn')]),
      ...ELSE,
      ...row([...updateGroup(false), ...stencilGroup('rj')], [...updatePixel(false), ...stencilPixel('rn')]),
      ...END,
      ...ELSE,
      ...row(stencilGroup('load'), stencilPixel('load')),
      ...END,
      ...get('row'), ...i32(1), ADD, ...set('row'),
    ]),
    // γ, δ: the lanes plus the scalar tails, stored at bytes 0 and 8.
    ...i32(0), ...get('g'), ...get('g2'), ...simd(0x21, 0), ...dadd, ...get('g2'), ...simd(0x21, 1), ...dadd, 0x39, 0x03, 0x00,
    ...i32(0), ...get('d'), ...get('d2'), ...simd(0x21, 0), ...dadd, ...get('d2'), ...simd(0x21, 1), ...dadd, 0x39, 0x03, 0x08,
    ...END,
  ];
  return wasmModule('sweep', paramTypes, locals.map(([, t]) => t), body);
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

/** One level of a multilevel solve: its system, its start (Dirichlet values at fixed pixels) and its PCG stopping rule. */
export interface MultilevelLevel {
  sys: GridSystem;
  x0: Float32Array;
  maxIterations: number;
  tolerance: number;
}

/**
 * The cascade of solveGridMultilevel, coarsest level first and the given system last: restricted copies of
 * the system (restrictSystem) down to `levels` levels (default: until the grid is ≤ 64 px wide, never below
 * 4 px). The coarsest grid gets enough iterations to carry values across its whole width (CG needs O(width)
 * iterations on a Laplacian), twice its larger side, since it is tiny; every finer coarse level only cleans
 * up what prolongation left, which takes a few tens of iterations (coarseIterations, default 30); coarse
 * levels stop at min(tolerance, 1e-4). The given system keeps maxIterations (default 500) and tolerance
 * (default 1e-4). Shared with the GPU port (src/gpu/pcg.ts), so both run the same cascade.
 */
export function planMultilevel(sys: GridSystem, x0: Float32Array, options: MultilevelOptions = {}): MultilevelLevel[] {
  const plan: MultilevelLevel[] = [];
  const walk = (s: GridSystem, start: Float32Array, o: MultilevelOptions): void => {
    const maxLevels = o.levels ?? Math.max(0, Math.ceil(Math.log2(Math.max(s.width, s.height) / 64)));
    const here: MultilevelLevel = { sys: s, x0: start, maxIterations: o.maxIterations ?? 500, tolerance: o.tolerance ?? 1e-4 };
    if (maxLevels > 0 && s.width >= 4 && s.height >= 4) {
      const coarse = restrictSystem(s, start);
      const cw = coarse.sys.width;
      const ch = coarse.sys.height;
      const coarsest = maxLevels - 1 === 0 || cw < 4 || ch < 4;
      walk(coarse.sys, coarse.x0, {
        ...o,
        levels: maxLevels - 1,
        maxIterations: coarsest ? Math.ceil(2 * Math.max(cw, ch)) : (o.coarseIterations ?? 30),
        tolerance: Math.min(o.tolerance ?? 1e-4, 1e-4),
      });
    }
    plan.push(here);
  };
  walk(sys, x0, options);
  return plan;
}

/**
 * Coarse-to-fine PCG: solves restricted copies of the system on a pyramid (planMultilevel), uses each coarse
 * solution as the next finer level's starting guess (at pixels that are not fixed), then runs PCG at full
 * resolution. Long-range propagation (large holes, low confidence regions) happens on coarse grids where it
 * is cheap.
 */
export function solveGridMultilevel(
  sys: GridSystem,
  x0: Float32Array,
  options: MultilevelOptions = {},
): SolveResult & { coarseIterations: number } {
  const plan = planMultilevel(sys, x0, options);
  let coarseIterations = 0;
  let prev: { x: Float32Array; width: number } | undefined;
  for (let k = 0; ; k++) {
    const level = plan[k]!;
    let start = level.x0;
    if (prev) {
      start = Float32Array.from(level.x0);
      prolongInto(prev.x, prev.width, start, level.sys.width, level.sys.height, level.sys.fixed);
    }
    const res = solveGridPCG(level.sys, start, { ...options, maxIterations: level.maxIterations, tolerance: level.tolerance });
    if (k === plan.length - 1) return { ...res, coarseIterations };
    coarseIterations += res.iterations;
    prev = { x: res.x, width: level.sys.width };
  }
}
