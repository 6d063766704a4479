/**
 * Push–pull fill (a pyramid scattered-data interpolation, as in the lumigraph's hole filling): values are
 * averaged into a pyramid of half-resolution levels where each level keeps, per pixel, the mean of the known
 * values below it and a coverage weight in [0, 1]; then, from the coarsest level down, every pixel that is
 * not fully covered blends its own mean with the bilinearly upsampled coarser level:
 *
 *   push:  w_{l+1} = min(1, Σ w_l),   v_{l+1} = Σ w_l v_l / Σ w_l      (over each 2×2 block)
 *   pull:  v_l ← w_l · v_l + (1 − w_l) · up(v_{l+1})
 *
 * Cost is O(N) with a small constant, which is why the pipeline uses it for the parts of the back layer
 * that lie far from any silhouette: they only become visible at the edge of the orbit range and need a
 * plausible smooth continuation, not Telea's detail (Telea costs ~80 reads per filled pixel).
 */

/**
 * Fills the pixels with `fill[i] != 0` of an interleaved `channels`-channel float image from the pixels with
 * `known[i] != 0`. Other pixels are returned unchanged. Returns a new array; if nothing is known, a copy.
 */
export function pushPullFill(
  values: Float32Array,
  channels: number,
  W: number,
  H: number,
  known: Uint8Array,
  fill: Uint8Array,
): Float32Array {
  const out = values.slice();
  // Level 0.
  const levelsV: Float32Array[] = [];
  const levelsW: Float32Array[] = [];
  const widths: number[] = [];
  const heights: number[] = [];
  let v = new Float32Array(W * H * channels);
  let w = new Float32Array(W * H);
  let any = false;
  for (let i = 0; i < W * H; i++) {
    if (!known[i]) continue;
    any = true;
    w[i] = 1;
    for (let c = 0; c < channels; c++) v[i * channels + c] = values[i * channels + c]!;
  }
  if (!any) return out;
  levelsV.push(v);
  levelsW.push(w);
  widths.push(W);
  heights.push(H);
  // Push.
  let lw = W;
  let lh = H;
  while (lw > 1 || lh > 1) {
    const nw = Math.ceil(lw / 2);
    const nh = Math.ceil(lh / 2);
    const nv = new Float32Array(nw * nh * channels);
    const nwt = new Float32Array(nw * nh);
    const acc = new Float64Array(channels);
    for (let y = 0; y < nh; y++) {
      for (let x = 0; x < nw; x++) {
        let sw = 0;
        acc.fill(0);
        for (let dy = 0; dy < 2; dy++) {
          const yy = 2 * y + dy;
          if (yy >= lh) continue;
          for (let dx = 0; dx < 2; dx++) {
            const xx = 2 * x + dx;
            if (xx >= lw) continue;
            const j = yy * lw + xx;
            const wj = w[j]!;
            if (wj === 0) continue;
            sw += wj;
            for (let c = 0; c < channels; c++) acc[c] += wj * v[j * channels + c]!;
          }
        }
        const o = y * nw + x;
        if (sw > 0) {
          for (let c = 0; c < channels; c++) nv[o * channels + c] = acc[c]! / sw;
          nwt[o] = Math.min(1, sw);
        }
      }
    }
    v = nv;
    w = nwt;
    lw = nw;
    lh = nh;
    levelsV.push(v);
    levelsW.push(w);
    widths.push(lw);
    heights.push(lh);
  }
  // Pull: blend each level with the upsampled coarser one where its coverage is partial.
  for (let l = levelsV.length - 2; l >= 0; l--) {
    const fv = levelsV[l]!;
    const fw = levelsW[l]!;
    const cv = levelsV[l + 1]!;
    const fwid = widths[l]!;
    const fhei = heights[l]!;
    const cwid = widths[l + 1]!;
    const chei = heights[l + 1]!;
    for (let y = 0; y < fhei; y++) {
      const cy = Math.min(chei - 1, Math.max(0, (y + 0.5) / 2 - 0.5));
      const y0 = Math.floor(cy);
      const y1 = Math.min(chei - 1, y0 + 1);
      const ty = cy - y0;
      for (let x = 0; x < fwid; x++) {
        const i = y * fwid + x;
        const wi = fw[i]!;
        if (wi >= 1) continue;
        const cx = Math.min(cwid - 1, Math.max(0, (x + 0.5) / 2 - 0.5));
        const x0 = Math.floor(cx);
        const x1 = Math.min(cwid - 1, x0 + 1);
        const tx = cx - x0;
        for (let c = 0; c < channels; c++) {
          const a = cv[(y0 * cwid + x0) * channels + c]! * (1 - tx) + cv[(y0 * cwid + x1) * channels + c]! * tx;
          const b = cv[(y1 * cwid + x0) * channels + c]! * (1 - tx) + cv[(y1 * cwid + x1) * channels + c]! * tx;
          const up = a * (1 - ty) + b * ty;
          fv[i * channels + c] = wi * fv[i * channels + c]! + (1 - wi) * up;
        }
        fw[i] = 1;
      }
    }
  }
  const base = levelsV[0]!;
  for (let i = 0; i < W * H; i++) {
    if (!fill[i] || known[i]) continue;
    for (let c = 0; c < channels; c++) out[i * channels + c] = base[i * channels + c]!;
  }
  return out;
}

/**
 * Fills colour and depth of the `fill` texels of an RGBA layer texture and its depth by push–pull: colour
 * per channel, depth in inverse depth (so a fill between two distances averages disparities, as parallax
 * does), both from the `known` texels only. `rgba` and `depth` (w·h, 0 = none) are updated in place; other
 * texels, and alpha, are left as they are.
 */
export function pushPullRgbaDepth(
  rgba: Uint8ClampedArray,
  depth: Float32Array,
  known: Uint8Array,
  fill: Uint8Array,
  w: number,
  h: number,
): void {
  const n = w * h;
  let any = false;
  for (let j = 0; j < n && !any; j++) if (fill[j]) any = true;
  if (!any) return;
  const rgb = new Float32Array(n * 3);
  const inv = new Float32Array(n);
  for (let j = 0; j < n; j++) {
    rgb[3 * j] = rgba[4 * j]!;
    rgb[3 * j + 1] = rgba[4 * j + 1]!;
    rgb[3 * j + 2] = rgba[4 * j + 2]!;
    inv[j] = depth[j]! > 0 ? 1 / depth[j]! : 0;
  }
  const rgbF = pushPullFill(rgb, 3, w, h, known, fill);
  const invF = pushPullFill(inv, 1, w, h, known, fill);
  for (let j = 0; j < n; j++) {
    if (!fill[j]) continue;
    rgba[4 * j] = rgbF[3 * j]!;
    rgba[4 * j + 1] = rgbF[3 * j + 1]!;
    rgba[4 * j + 2] = rgbF[3 * j + 2]!;
    depth[j] = invF[j]! > 0 ? 1 / invF[j]! : 0;
  }
}
