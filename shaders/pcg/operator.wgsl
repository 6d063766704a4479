// One PCG iteration, pass 1: the direction update p ← z + β p, the lazy solution update x ← x + α_prev p,
// the matrix-free operator q = A p with A = C + L_w (the 5-point stencil
// q_i = d_i p_i − Σ_{j ~ i} w_ij p_j at free pixels, 0 at fixed/isolated ones), and per-workgroup partial
// sums of pᵀq.
//
// Why fused: the stencil needs the NEW direction at the four neighbours, so each workgroup computes
// p_new = M⁻¹ r + β p_old on its tile plus a one-pixel halo into workgroup memory and applies the stencil
// from there; z = M⁻¹r is never stored. p is a ping-pong pair in one buffer of 2N: the old direction is
// read from half (iterations & 1), the new one written to the other half, so no invocation reads a value
// another one overwrites. The x update is deferred one iteration (α is known only after the pᵀq reduction)
// and done here because this pass reads p_old anyway; update.wgsl `applyStep` applies the last one.
// Returns at once when the solver state says done (converged, out of iterations or broken down).

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(3) var<storage, read> w: array<f32>;
@group(0) @binding(5) var<storage, read> diag: array<f32>;
@group(0) @binding(6) var<storage, read_write> x: array<f32>;
@group(0) @binding(7) var<storage, read> r: array<f32>;
@group(0) @binding(8) var<storage, read_write> p: array<f32>;
@group(0) @binding(9) var<storage, read_write> q: array<f32>;
@group(0) @binding(10) var<storage, read_write> partials: array<vec2<f32>>;
@group(0) @binding(11) var<storage, read> state: Scalars;

/** New direction on the workgroup's tile with a one-pixel halo; 0 outside the grid. */
var<workgroup> tile: array<f32, (WG_X + 2u) * (WG_Y * ROWS + 2u)>;

@compute @workgroup_size(WG_X, WG_Y)
fn applyOperator(
  @builtin(workgroup_id) wid: vec3<u32>,
  @builtin(local_invocation_id) lid: vec3<u32>,
  @builtin(local_invocation_index) li: u32,
) {
  // A read-only storage value is uniform: the whole dispatch returns together.
  if (state.done != 0u) { return; }
  let W = params.width;
  let H = params.height;
  let n = W * H;
  let cur = (state.iterations & 1u) * n; // half holding p_old
  let nxt = n - cur;                       // half receiving p_new
  let beta = state.beta;
  let alpha = state.alpha;                 // α of p_old, not yet applied to x

  let tileW = WG_X + 2u;
  let tileCount = tileW * (WG_Y * ROWS + 2u);
  let ox = i32(wid.x * WG_X) - 1;
  let oy = i32(wid.y * WG_Y * ROWS) - 1;
  for (var t = li; t < tileCount; t += WG_X * WG_Y) {
    let gx = ox + i32(t % tileW);
    let gy = oy + i32(t / tileW);
    var v = 0.0;
    if (gx >= 0 && gy >= 0 && u32(gx) < W && u32(gy) < H) {
      let j = u32(gy) * W + u32(gx);
      let d = diag[j];
      let z = select(0.0, r[j] * (1.0 / d), d > 0.0);
      v = z + beta * p[cur + j];
    }
    tile[t] = v;
  }
  workgroupBarrier();

  var pq = 0.0;
  for (var k = 0u; k < ROWS; k++) {
    let px = pixelOf(wid, lid, k);
    if (px.x >= W || px.y >= H) { continue; }
    let i = px.y * W + px.x;
    let tk = (k * WG_Y + lid.y + 1u) * tileW + lid.x + 1u;
    let pc = tile[tk];
    x[i] = x[i] + alpha * p[cur + i];
    p[nxt + i] = pc;
    let d = diag[i];
    var qv = 0.0;
    if (d > 0.0) {
      qv = d * pc;
      if (px.x + 1u < W) { qv -= w[i] * tile[tk + 1u]; }
      if (px.x > 0u) { qv -= w[i - 1u] * tile[tk - 1u]; }
      if (px.y + 1u < H) { qv -= w[n + i] * tile[tk + tileW]; }
      if (px.y > 0u) { qv -= w[n + i - W] * tile[tk - tileW]; }
    }
    q[i] = qv;
    pq += pc * qv;
  }
  let total = workgroupSum2(vec2<f32>(pq, 0.0), li);
  let g = wid.y * params.groupsX + wid.x;
  if (li == 0u && g < params.groups) { partials[g] = total; }
}
