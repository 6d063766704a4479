// Bilinear prolongation of the coarse-to-fine cascade (the GPU twin of prolongInto in src/math/solver.ts):
// fine pixel (x, y) samples the coarse solution (⌈W/2⌉ × ⌈H/2⌉) at ((x + ½)/2 − ½, (y + ½)/2 − ½), clamped
// to the coarse grid, and writes it into the fine level's x; fixed (Dirichlet) pixels keep their values.
//
// Why on the GPU: the coarse solution is already there, so the cascade moves from level to level without a
// read-back; only the (cheap) restriction of the system is done on the CPU, before the solve.

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(4) var<storage, read> fixedWords: array<u32>;
@group(0) @binding(6) var<storage, read_write> x: array<f32>;
@group(0) @binding(12) var<storage, read> coarse: array<f32>;

@compute @workgroup_size(WG_X, WG_Y)
fn prolong(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let W = params.width;
  let H = params.height;
  let w2 = (W + 1u) / 2u;
  let h2 = (H + 1u) / 2u;
  for (var k = 0u; k < ROWS; k++) {
    let px = pixelOf(wid, lid, k);
    if (px.x >= W || px.y >= H) { continue; }
    let i = px.y * W + px.x;
    if (params.hasFixed != 0u && maskByte(fixedWords[i >> 2u], i)) { continue; }
    let cx = clamp((f32(px.x) + 0.5) * 0.5 - 0.5, 0.0, f32(w2 - 1u));
    let cy = clamp((f32(px.y) + 0.5) * 0.5 - 0.5, 0.0, f32(h2 - 1u));
    let x0 = u32(floor(cx));
    let y0 = u32(floor(cy));
    let x1 = min(w2 - 1u, x0 + 1u);
    let y1 = min(h2 - 1u, y0 + 1u);
    let fx = cx - f32(x0);
    let fy = cy - f32(y0);
    let top = coarse[y0 * w2 + x0] * (1.0 - fx) + coarse[y0 * w2 + x1] * fx;
    let bottom = coarse[y1 * w2 + x0] * (1.0 - fx) + coarse[y1 * w2 + x1] * fx;
    x[i] = top * (1.0 - fy) + bottom * fy;
  }
}
