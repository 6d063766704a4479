// Initial residual of Jacobi-PCG: r = C b − A x at free pixels (0 at fixed and isolated ones), the first
// direction p = z = M⁻¹ r (written to both halves of the ping-pong p buffer), and per-workgroup partial
// sums of rᵀz and of fᵀM⁻¹f, where f = C b + Σ_{j fixed} w_ij x_j is the right-hand side seen by the free
// pixels (the Dirichlet values enter through it). Their ratio is the relative residual that stops CG.
//
// Why a separate pass: it needs the diagonal of every neighbour (to know which neighbours are fixed), so
// it runs after diagonal.wgsl. finalize.wgsl `finishSetup` turns the partials into the scalar state.

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> c: array<f32>;
@group(0) @binding(2) var<storage, read> b: array<f32>;
@group(0) @binding(3) var<storage, read> w: array<f32>;
@group(0) @binding(5) var<storage, read> diag: array<f32>;
@group(0) @binding(6) var<storage, read> x: array<f32>;
@group(0) @binding(7) var<storage, read_write> r: array<f32>;
@group(0) @binding(8) var<storage, read_write> p: array<f32>;
@group(0) @binding(10) var<storage, read_write> partials: array<vec2<f32>>;

@compute @workgroup_size(WG_X, WG_Y)
fn residual(
  @builtin(workgroup_id) wid: vec3<u32>,
  @builtin(local_invocation_id) lid: vec3<u32>,
  @builtin(local_invocation_index) li: u32,
) {
  let W = params.width;
  let H = params.height;
  let n = W * H;
  var sums = vec2<f32>(0.0, 0.0);
  for (var k = 0u; k < ROWS; k++) {
    let px = pixelOf(wid, lid, k);
    if (px.x >= W || px.y >= H) { continue; }
    let i = px.y * W + px.x;
    let d = diag[i];
    var rv = 0.0;
    var zv = 0.0;
    if (d > 0.0) {
      let cb = c[i] * b[i];
      var ax = d * x[i];
      var f = cb;
      if (px.x + 1u < W) {
        let t = w[i] * x[i + 1u];
        ax -= t;
        if (diag[i + 1u] <= 0.0) { f += t; }
      }
      if (px.x > 0u) {
        let t = w[i - 1u] * x[i - 1u];
        ax -= t;
        if (diag[i - 1u] <= 0.0) { f += t; }
      }
      if (px.y + 1u < H) {
        let t = w[n + i] * x[i + W];
        ax -= t;
        if (diag[i + W] <= 0.0) { f += t; }
      }
      if (px.y > 0u) {
        let t = w[n + i - W] * x[i - W];
        ax -= t;
        if (diag[i - W] <= 0.0) { f += t; }
      }
      let inv = 1.0 / d;
      rv = cb - ax;
      zv = rv * inv;
      sums += vec2<f32>(rv * zv, f * f * inv);
    }
    r[i] = rv;
    p[i] = zv;
    p[n + i] = zv;
  }
  let total = workgroupSum2(sums, li);
  let g = wid.y * params.groupsX + wid.x;
  if (li == 0u && g < params.groups) { partials[g] = total; }
}
