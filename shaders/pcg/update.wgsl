// One PCG iteration, pass 2 (`updateResidual`): r ← r − α q and per-workgroup partial sums of rᵀz with
// z = M⁻¹ r (z itself is not stored: the next operator pass recomputes it from r and the diagonal).
// After the loop (`applyStep`): x ← x + α p for the last direction, whose step the operator pass would
// otherwise have applied in the next iteration.
//
// Why separate from the operator pass: α = rᵀz / pᵀq needs the complete pᵀq reduction first
// (finalize.wgsl `finishAlpha` runs in between). Both return at once when the solver state says done,
// except applyStep, which runs exactly once after the loop.

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(5) var<storage, read> diag: array<f32>;
@group(0) @binding(6) var<storage, read_write> x: array<f32>;
@group(0) @binding(7) var<storage, read_write> r: array<f32>;
@group(0) @binding(8) var<storage, read> p: array<f32>;
@group(0) @binding(9) var<storage, read> q: array<f32>;
@group(0) @binding(10) var<storage, read_write> partials: array<vec2<f32>>;
@group(0) @binding(11) var<storage, read> state: Scalars;

@compute @workgroup_size(WG_X, WG_Y)
fn updateResidual(
  @builtin(workgroup_id) wid: vec3<u32>,
  @builtin(local_invocation_id) lid: vec3<u32>,
  @builtin(local_invocation_index) li: u32,
) {
  if (state.done != 0u) { return; }
  let W = params.width;
  let H = params.height;
  let alpha = state.alpha;
  var rz = 0.0;
  for (var k = 0u; k < ROWS; k++) {
    let px = pixelOf(wid, lid, k);
    if (px.x >= W || px.y >= H) { continue; }
    let i = px.y * W + px.x;
    let rn = r[i] - alpha * q[i];
    r[i] = rn;
    let d = diag[i];
    if (d > 0.0) { rz += rn * (rn * (1.0 / d)); }
  }
  let total = workgroupSum2(vec2<f32>(rz, 0.0), li);
  let g = wid.y * params.groupsX + wid.x;
  if (li == 0u && g < params.groups) { partials[g] = total; }
}

@compute @workgroup_size(WG_X, WG_Y)
fn applyStep(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let W = params.width;
  let H = params.height;
  let n = W * H;
  let cur = (state.iterations & 1u) * n; // the last direction (see operator.wgsl)
  let alpha = state.alpha;
  for (var k = 0u; k < ROWS; k++) {
    let px = pixelOf(wid, lid, k);
    if (px.x >= W || px.y >= H) { continue; }
    let i = px.y * W + px.x;
    x[i] = x[i] + alpha * p[cur + i];
  }
}
