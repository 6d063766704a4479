// Jacobi preconditioner: the diagonal of A = C + L_w, d_i = c_i + Σ_{j ~ i} w_ij, written 0 at Dirichlet
// (fixed) pixels and at isolated pixels (d = 0).
//
// Why: M = diag(A) is the preconditioner, and "d_i = 0" doubles as the marker of pixels that no CG
// direction may move (z = M⁻¹r, p and the stencil all vanish there), exactly as in src/math/solver.ts.
// Weights that would leave the grid (last column's right, last row's down) are ignored whatever the
// caller stored there.

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> c: array<f32>;
@group(0) @binding(3) var<storage, read> w: array<f32>;
@group(0) @binding(4) var<storage, read> fixedWords: array<u32>;
@group(0) @binding(5) var<storage, read_write> diag: array<f32>;

@compute @workgroup_size(WG_X, WG_Y)
fn diagonal(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let W = params.width;
  let H = params.height;
  let n = W * H;
  for (var k = 0u; k < ROWS; k++) {
    let px = pixelOf(wid, lid, k);
    if (px.x >= W || px.y >= H) { continue; }
    let i = px.y * W + px.x;
    var d = c[i];
    if (px.x + 1u < W) { d += w[i]; }
    if (px.x > 0u) { d += w[i - 1u]; }
    if (px.y + 1u < H) { d += w[n + i]; }
    if (px.y > 0u) { d += w[n + i - W]; }
    if (params.hasFixed != 0u && maskByte(fixedWords[i >> 2u], i)) { d = 0.0; }
    diag[i] = select(0.0, d, d > 0.0);
  }
}
