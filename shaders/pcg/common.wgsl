// Shared declarations of the Jacobi-PCG kernels (shaders/pcg/*.wgsl).
//
// src/gpu/pcg.ts prepends this file to every kernel file of the folder, so that the parameter block, the
// solver's scalar state and the workgroup reduction are spelled once. It declares no bindings: each kernel
// file binds only what it uses, with the access mode it needs.
//
// The system is the one of src/math/solver.ts: (C + L_w) x = C b on a W×H grid (4 neighbours), weights
// wx (right) and wy (down) stored back to back in one buffer w = [wx | wy], optional Dirichlet pixels.
// Vectors are unpadded, row-major, one f32 per pixel; every neighbour access is bounds-checked.

/** Written once per solve (one buffer per grid level), never between the dispatches of a submission. */
struct Params {
  width: u32,
  height: u32,
  /** Workgroups along x of the pixel kernels; partial sums are indexed gy · groupsX + gx. */
  groupsX: u32,
  /** Number of partial sums (workgroups of one pixel-kernel dispatch). */
  groups: u32,
  maxIterations: u32,
  /** 1 when the `fixed` byte mask is bound and meaningful. */
  hasFixed: u32,
  /** Stop when sqrt(rᵀM⁻¹r / fᵀM⁻¹f) ≤ tolerance. */
  tolerance: f32,
}

/**
 * The solver's scalar state. It lives in a storage buffer and is updated by the single-workgroup finalize
 * kernels, so α and β are computed on the GPU and the whole iteration loop needs no CPU round trip.
 */
struct Scalars {
  /** rᵀz of the current residual (z = M⁻¹r). */
  rz: f32,
  /** fᵀM⁻¹f, the right-hand side's scale (denominator of the relative residual; 1 when it is 0). */
  denom: f32,
  /** pᵀAp of the current direction. */
  pq: f32,
  /** Step length of the current direction; applied to x lazily (next operator pass, or applyStep). */
  alpha: f32,
  /** Direction update coefficient for the next iteration. */
  beta: f32,
  /** sqrt(max(rz, 0) / denom). */
  residual: f32,
  /** Completed iterations; its parity selects which half of the p buffer holds the current direction. */
  iterations: u32,
  /** 1 once converged, out of iterations or broken down: every later kernel returns at once. */
  done: u32,
  /** STATUS_* below. */
  status: u32,
  /** rᵀz of the starting residual (finishSetup): tells round-off from indefiniteness (finishAlpha). */
  rz0: f32,
}

const STATUS_OK: u32 = 0u;
/**
 * pᵀAp = 0 or NaN, or ≤ 0 once rᵀz is down by 1e-12 from its start (round-off: the residual is at float32
 * resolution): CG cannot continue, and stops as the CPU solver does.
 */
const STATUS_BREAKDOWN: u32 = 1u;
/** pᵀAp < 0 while rᵀz is above 1e-12 of its start: the matrix is not positive definite. */
const STATUS_INDEFINITE: u32 = 2u;

/**
 * Workgroup size. Pixel kernels: WG_X × WG_Y, any product ≤ the device's invocation limit. The
 * single-workgroup finalize kernels run WG_X × 1 (their pipelines set WG_X to the reduction width).
 */
override WG_X: u32 = 16u;
override WG_Y: u32 = 4u;
/**
 * Pixels per invocation, stacked vertically: a workgroup covers a tile of WG_X × (WG_Y · ROWS) pixels, and
 * invocation (lx, ly) handles pixels (lx, ly + k · WG_Y), k < ROWS, so each of the ROWS steps still reads
 * WG_X consecutive pixels per row. Fewer, busier invocations make the reductions cheaper (one tree per
 * ROWS pixels); software adapters, which pay per invocation for kernels with barriers, gain the most.
 */
override ROWS: u32 = 4u;

/** Pixel handled by invocation `lid` of workgroup `wid` at step k (may lie outside the grid: check it). */
fn pixelOf(wid: vec3<u32>, lid: vec3<u32>, k: u32) -> vec2<u32> {
  return vec2<u32>(wid.x * WG_X + lid.x, (wid.y * ROWS + k) * WG_Y + lid.y);
}

/** True when f is NaN, tested on the bits (a compiler may assume `f != f` is false). */
fn isNan(f: f32) -> bool {
  return (bitcast<u32>(f) & 0x7fffffffu) > 0x7f800000u;
}

/** Byte `i & 3` of a little-endian word: the `fixed` mask is a Uint8Array uploaded as u32 words. */
fn maskByte(word: u32, i: u32) -> bool {
  return ((word >> ((i & 3u) * 8u)) & 0xffu) != 0u;
}

/** Scratch of the per-workgroup reduction (two sums at once). */
var<workgroup> wgSum: array<vec2<f32>, WG_X * WG_Y>;

/**
 * Sum of `v` over the workgroup by a shared-memory tree (pairwise summation: error grows with log2 of the
 * workgroup size, not with its size). Must be called by every invocation in uniform control flow. Both
 * stages of the dot products use it: the pixel kernels' per-workgroup partials and finalize.wgsl's total.
 */
fn workgroupSum2(v: vec2<f32>, li: u32) -> vec2<f32> {
  let n = WG_X * WG_Y;
  wgSum[li] = v;
  workgroupBarrier();
  // Smallest power of two ≥ n, halved: the first stride. Strides reaching past n are skipped.
  var stride = select(1u, 1u << (32u - countLeadingZeros(n - 1u)), n > 1u) >> 1u;
  loop {
    if (stride == 0u) { break; }
    if (li < stride && li + stride < n) {
      wgSum[li] = wgSum[li] + wgSum[li + stride];
    }
    workgroupBarrier();
    stride = stride >> 1u;
  }
  return wgSum[0];
}
