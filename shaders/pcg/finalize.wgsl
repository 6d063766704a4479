// Second stage of the dot-product reductions and the scalar part of Jacobi-PCG, in one workgroup:
//   finishSetup:  rᵀz, fᵀM⁻¹f from the residual pass → rz, denom, residual; resets α, β, iterations, done.
//   finishAlpha:  pᵀq from the operator pass → α = rᵀz / pᵀq (or stop: pᵀq = 0/NaN breakdown, pᵀq < 0).
//   finishBeta:   r_newᵀz_new from the update pass → β = rz_new / rz, iterations + 1, residual, done.
//
// Why on the GPU: α and β stay in a storage buffer that the next kernels read, so a whole batch of
// iterations is one submission with no CPU round trip and no uniform buffer rewritten between dispatches.
// The CPU reads the state back only between batches. Accuracy: each invocation sums a strided subset of
// the partials with Kahan compensation, then common.wgsl's pairwise tree combines the subtotals; with the
// pairwise sums inside the first-stage workgroups, the f32 rounding error of a dot product stays a few
// units of f32 precision times log2 of its length.

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(10) var<storage, read> partials: array<vec2<f32>>;
@group(0) @binding(11) var<storage, read_write> state: Scalars;

/** Σ partials[0 .. params.groups), by every invocation (uniform control flow); the total is returned to all. */
fn sumPartials(li: u32) -> vec2<f32> {
  var s = vec2<f32>(0.0, 0.0);
  var comp = vec2<f32>(0.0, 0.0);
  for (var g = li; g < params.groups; g += WG_X * WG_Y) {
    // Kahan: comp carries the low-order bits lost by the previous addition.
    let y = partials[g] - comp;
    let t = s + y;
    comp = (t - s) - y;
    s = t;
  }
  return workgroupSum2(s, li);
}

/** CG stops when the relative residual is not above the tolerance (NaN included) or iterations run out. */
fn shouldStop(residual: f32, iterations: u32) -> bool {
  return !(residual > params.tolerance) || isNan(residual) || iterations >= params.maxIterations;
}

@compute @workgroup_size(WG_X, WG_Y)
fn finishSetup(@builtin(local_invocation_index) li: u32) {
  let total = sumPartials(li);
  if (li != 0u) { return; }
  let rz = total.x;
  let denom = select(1.0, total.y, total.y > 0.0);
  let residual = sqrt(max(rz, 0.0) / denom);
  state.rz = rz;
  state.rz0 = rz;
  state.denom = denom;
  state.pq = 0.0;
  state.alpha = 0.0;
  state.beta = 0.0;
  state.residual = residual;
  state.iterations = 0u;
  state.status = STATUS_OK;
  state.done = select(0u, 1u, shouldStop(residual, 0u));
}

@compute @workgroup_size(WG_X, WG_Y)
fn finishAlpha(@builtin(local_invocation_index) li: u32) {
  let total = sumPartials(li);
  if (li != 0u || state.done != 0u) { return; }
  let pq = total.x;
  state.pq = pq;
  if (pq > 0.0 && !isNan(pq)) {
    state.alpha = state.rz / pq;
  } else {
    // No step is taken: the pending α (already applied by the operator pass) is cleared.
    state.alpha = 0.0;
    // pᵀAp ≤ 0 once rᵀz is at float32 resolution (down by 1e-12) is round-off, as in the CPU solver.
    let roundOff = pq == 0.0 || isNan(pq) || state.rz <= state.rz0 * 1e-12;
    state.status = select(STATUS_INDEFINITE, STATUS_BREAKDOWN, roundOff);
    state.done = 1u;
  }
}

@compute @workgroup_size(WG_X, WG_Y)
fn finishBeta(@builtin(local_invocation_index) li: u32) {
  let total = sumPartials(li);
  if (li != 0u || state.done != 0u) { return; }
  let rzNew = total.x;
  state.beta = rzNew / state.rz;
  state.rz = rzNew;
  let it = state.iterations + 1u;
  state.iterations = it;
  let residual = sqrt(max(rzNew, 0.0) / state.denom);
  state.residual = residual;
  state.done = select(0u, 1u, shouldStop(residual, it));
}
