/**
 * Image and map resampling for model pre- and post-processing. Pure TypeScript on typed arrays, no allocation
 * per pixel: each axis gets a table of (first source index, weights) built once, then two separable passes.
 *
 * Coordinates follow src/core/types.ts: pixel i covers [i, i+1), so an output pixel i of an axis scaled by
 * s = inSize / outSize covers the source interval [i·s, (i+1)·s) and has its centre at (i + 0.5)·s − 0.5 in
 * source pixel-centre coordinates ("half-pixel", as OpenCV and align_corners=False).
 *
 * Kernels (per axis, chosen by the scale of that axis):
 * - shrinking (s > 1): area averaging — each output pixel is the mean of the source over its interval, every
 *   source pixel weighted by its overlap length (OpenCV's INTER_AREA for non-integer ratios);
 * - enlarging (s < 1): Keys cubic convolution with a = −0.75 (OpenCV's INTER_CUBIC), borders replicated;
 * - s = 1: identity.
 * For maps: bilinear with half-pixel centres and replicated borders (the PyTorch/OpenCV `bilinear`,
 * align_corners=False), optionally in inverse (1/x) with invalid values (≤ 0, NaN) excluded and the weights of
 * the valid neighbours renormalised.
 */
import type { RGBAImage } from '../core/types';

/** A resampling table for one axis: output i reads taps source samples from start[i] with weights w[i·taps + k]. */
export interface AxisTable {
  readonly outSize: number;
  readonly taps: number;
  readonly start: Int32Array;
  /** Source index per tap (clamped); length outSize·taps. */
  readonly index: Int32Array;
  readonly weight: Float32Array;
}

/** Keys cubic kernel with parameter a (OpenCV uses a = −0.75). */
function cubic(x: number, a: number): number {
  const t = Math.abs(x);
  if (t <= 1) return ((a + 2) * t - (a + 3)) * t * t + 1;
  if (t < 2) return ((a * t - 5 * a) * t + 8 * a) * t - 4 * a;
  return 0;
}

/** Builds the table resampling an axis of `inSize` samples to `outSize` (area when shrinking, cubic when enlarging). */
export function axisTable(inSize: number, outSize: number): AxisTable {
  const s = inSize / outSize;
  if (s > 1) {
    const taps = Math.ceil(s) + 1;
    const start = new Int32Array(outSize);
    const index = new Int32Array(outSize * taps);
    const weight = new Float32Array(outSize * taps);
    for (let i = 0; i < outSize; i++) {
      const a = i * s;
      const b = Math.min((i + 1) * s, inSize);
      const first = Math.floor(a);
      start[i] = first;
      for (let k = 0; k < taps; k++) {
        const j = first + k;
        const lo = Math.max(a, j);
        const hi = Math.min(b, j + 1);
        const ov = hi > lo ? hi - lo : 0;
        index[i * taps + k] = Math.min(j, inSize - 1);
        weight[i * taps + k] = ov / (b - a);
      }
    }
    return { outSize, taps, start, index, weight };
  }
  if (s === 1) {
    const start = new Int32Array(outSize);
    const index = new Int32Array(outSize);
    for (let i = 0; i < outSize; i++) start[i] = index[i] = i;
    return { outSize, taps: 1, start, index, weight: new Float32Array(outSize).fill(1) };
  }
  const taps = 4;
  const start = new Int32Array(outSize);
  const index = new Int32Array(outSize * taps);
  const weight = new Float32Array(outSize * taps);
  for (let i = 0; i < outSize; i++) {
    const c = (i + 0.5) * s - 0.5;
    const x0 = Math.floor(c);
    const t = c - x0;
    start[i] = x0 - 1;
    let sum = 0;
    for (let k = 0; k < 4; k++) {
      const w = cubic(t - (k - 1), -0.75);
      index[i * taps + k] = Math.min(Math.max(x0 - 1 + k, 0), inSize - 1);
      weight[i * taps + k] = w;
      sum += w;
    }
    for (let k = 0; k < 4; k++) weight[i * taps + k]! /= sum;
  }
  return { outSize, taps, start, index, weight };
}

/**
 * Resizes an RGBA8 image to outW × outH and writes it as normalised planar float32 CHW (RGB):
 * out[c·outH·outW + y·outW + x] = (v/255 − mean[c]) / std[c]. Alpha is ignored.
 * `out` may be passed to reuse a buffer (length ≥ 3·outW·outH), e.g. a view into a batched tensor.
 */
export function resizeToNCHW(
  image: RGBAImage,
  outW: number,
  outH: number,
  mean: readonly [number, number, number],
  std: readonly [number, number, number],
  out: Float32Array = new Float32Array(3 * outW * outH),
): Float32Array {
  const { width: W, height: H, data } = image;
  const tx = axisTable(W, outW);
  const ty = axisTable(H, outH);
  // Horizontal pass: RGBA rows → three planes of H × outW (values in 0..255).
  const plane = H * outW;
  const tmp = new Float32Array(3 * plane);
  const { taps: kx, index: ix, weight: wx } = tx;
  for (let y = 0; y < H; y++) {
    const row = y * W * 4;
    const o = y * outW;
    for (let x = 0; x < outW; x++) {
      let r = 0;
      let g = 0;
      let b = 0;
      const base = x * kx;
      for (let k = 0; k < kx; k++) {
        const w = wx[base + k]!;
        const p = row + ix[base + k]! * 4;
        r += w * data[p]!;
        g += w * data[p + 1]!;
        b += w * data[p + 2]!;
      }
      tmp[o + x] = r;
      tmp[plane + o + x] = g;
      tmp[2 * plane + o + x] = b;
    }
  }
  // Vertical pass with normalisation folded in: (v/255 − m)/s = v·(1/(255 s)) − m/s.
  const { taps: ky, index: iy, weight: wy } = ty;
  const outPlane = outW * outH;
  for (let c = 0; c < 3; c++) {
    const scale = 1 / (255 * std[c]!);
    const shift = mean[c]! / std[c]!;
    const src = c * plane;
    const dst = c * outPlane;
    for (let y = 0; y < outH; y++) {
      const base = y * ky;
      const o = dst + y * outW;
      for (let x = 0; x < outW; x++) out[o + x] = 0;
      for (let k = 0; k < ky; k++) {
        const w = wy[base + k]!;
        if (w === 0) continue;
        const r = src + iy[base + k]! * outW;
        for (let x = 0; x < outW; x++) out[o + x]! += w * tmp[r + x]!;
      }
      for (let x = 0; x < outW; x++) out[o + x] = out[o + x]! * scale - shift;
    }
  }
  return out;
}

/** Per-axis bilinear taps (half-pixel centres, replicated borders): i0, i1 and the weight of i1. */
function bilinearAxis(inSize: number, outSize: number): { i0: Int32Array; i1: Int32Array; f: Float32Array } {
  const s = inSize / outSize;
  const i0 = new Int32Array(outSize);
  const i1 = new Int32Array(outSize);
  const f = new Float32Array(outSize);
  for (let i = 0; i < outSize; i++) {
    let c = (i + 0.5) * s - 0.5;
    if (c < 0) c = 0;
    if (c > inSize - 1) c = inSize - 1;
    const a = Math.floor(c);
    i0[i] = a;
    i1[i] = Math.min(a + 1, inSize - 1);
    f[i] = c - a;
  }
  return { i0, i1, f };
}

/**
 * Bilinear resize of a single-channel map (w × h → W × H). With `inverse`, interpolates 1/x instead of x and
 * returns 1/result — the right space for depth (a depth edge between two surfaces stays where the surfaces
 * are, instead of blending their depths linearly). With `inverse`, values ≤ 0 or non-finite are invalid: they
 * get weight 0, the valid neighbours' weights are renormalised, and a pixel with no valid neighbour is 0.
 * Without `inverse`, only non-finite values are invalid. `scale` multiplies every output value (after inversion).
 *
 * Separable: the bilinear weights are products wx·wy, so Σ wx·wy·ok·v and Σ wx·wy·ok are computed as a
 * horizontal pass over the h source rows (h × W) followed by a vertical pass (H × W); the renormalised value is
 * their quotient. When every source value is valid the weight sums are 1 and that pass is skipped.
 */
export function resizeMap(src: Float32Array, w: number, h: number, W: number, H: number, options: { inverse?: boolean; scale?: number } = {}): Float32Array {
  const inverse = !!options.inverse;
  const scale = options.scale ?? 1;
  const n = w * h;
  const val = new Float32Array(n);
  let ok: Float32Array | undefined;
  for (let i = 0; i < n; i++) {
    const x = src[i]!;
    const valid = inverse ? x > 0 && x < Infinity : Number.isFinite(x);
    if (valid) val[i] = inverse ? 1 / x : x;
    else {
      if (!ok) ok = new Float32Array(n).fill(1);
      ok[i] = 0;
    }
  }
  const ax = bilinearAxis(w, W);
  const ay = bilinearAxis(h, H);
  const { i0: x0, i1: x1, f: fx } = ax;
  // Horizontal pass: A = Σ wx·v (invalid v are 0 already), B = Σ wx·ok.
  const A = new Float32Array(h * W);
  const B = ok ? new Float32Array(h * W) : undefined;
  for (let r = 0; r < h; r++) {
    const s = r * w;
    const o = r * W;
    for (let x = 0; x < W; x++) {
      const f = fx[x]!;
      A[o + x] = (1 - f) * val[s + x0[x]!]! + f * val[s + x1[x]!]!;
    }
    if (B && ok) for (let x = 0; x < W; x++) B[o + x] = (1 - fx[x]!) * ok[s + x0[x]!]! + fx[x]! * ok[s + x1[x]!]!;
  }
  const out = new Float32Array(W * H);
  for (let y = 0; y < H; y++) {
    const r0 = ay.i0[y]! * W;
    const r1 = ay.i1[y]! * W;
    const g = ay.f[y]!;
    const o = y * W;
    if (!B) {
      if (inverse) for (let x = 0; x < W; x++) out[o + x] = scale / ((1 - g) * A[r0 + x]! + g * A[r1 + x]!);
      else for (let x = 0; x < W; x++) out[o + x] = scale * ((1 - g) * A[r0 + x]! + g * A[r1 + x]!);
      continue;
    }
    for (let x = 0; x < W; x++) {
      const den = (1 - g) * B[r0 + x]! + g * B[r1 + x]!;
      if (den <= 1e-6) {
        out[o + x] = 0;
        continue;
      }
      const v = ((1 - g) * A[r0 + x]! + g * A[r1 + x]!) / den;
      out[o + x] = inverse ? (v > 0 ? scale / v : 0) : scale * v;
    }
  }
  return out;
}
