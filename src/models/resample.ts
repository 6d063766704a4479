/**
 * Image and map resampling for model pre- and post-processing. Pure TypeScript on typed arrays, no allocation
 * per pixel: each axis gets a table of (source index, weight) taps built once, then two separable passes
 * (`resampleToNCHW`, shared with the SAM3 preprocessing's triangle kernel).
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
 * align_corners=False; `linearTaps`, shared with the SAM mask upsampling), optionally in inverse (1/x) with invalid values (≤ 0, NaN) excluded and the weights of
 * the valid neighbours renormalised.
 */
import type { RGBAImage } from '../core/types';

/** A resampling table for one axis: output i is Σ_k weight[i·taps + k] · source[index[i·taps + k]]. */
export interface AxisTable {
  readonly outSize: number;
  readonly taps: number;
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
    const index = new Int32Array(outSize * taps);
    const weight = new Float32Array(outSize * taps);
    for (let i = 0; i < outSize; i++) {
      const a = i * s;
      const b = Math.min((i + 1) * s, inSize);
      const first = Math.floor(a);
      for (let k = 0; k < taps; k++) {
        const j = first + k;
        const lo = Math.max(a, j);
        const hi = Math.min(b, j + 1);
        const ov = hi > lo ? hi - lo : 0;
        index[i * taps + k] = Math.min(j, inSize - 1);
        weight[i * taps + k] = ov / (b - a);
      }
    }
    return { outSize, taps, index, weight };
  }
  if (s === 1) {
    const index = new Int32Array(outSize);
    for (let i = 0; i < outSize; i++) index[i] = i;
    return { outSize, taps: 1, index, weight: new Float32Array(outSize).fill(1) };
  }
  const taps = 4;
  const index = new Int32Array(outSize * taps);
  const weight = new Float32Array(outSize * taps);
  for (let i = 0; i < outSize; i++) {
    const c = (i + 0.5) * s - 0.5;
    const x0 = Math.floor(c);
    const t = c - x0;
    let sum = 0;
    for (let k = 0; k < 4; k++) {
      const w = cubic(t - (k - 1), -0.75);
      index[i * taps + k] = Math.min(Math.max(x0 - 1 + k, 0), inSize - 1);
      weight[i * taps + k] = w;
      sum += w;
    }
    for (let k = 0; k < 4; k++) weight[i * taps + k]! /= sum;
  }
  return { outSize, taps, index, weight };
}

/**
 * Resizes an RGBA8 image to outW × outH (area when an axis shrinks, cubic when it grows; see `axisTable`) and
 * writes it as normalised planar float32 CHW (RGB): out[c·outH·outW + y·outW + x] = (v/255 − mean[c]) / std[c].
 * Alpha is ignored. `out` may be passed to reuse a buffer (length ≥ 3·outW·outH), e.g. a view into a batched tensor.
 */
export function resizeToNCHW(
  image: RGBAImage,
  outW: number,
  outH: number,
  mean: readonly [number, number, number],
  std: readonly [number, number, number],
  out?: Float32Array,
): Float32Array {
  return resampleToNCHW(image, axisTable(image.width, outW), axisTable(image.height, outH), mean, std, out);
}

/**
 * The separable resampler behind the model inputs: an RGBA8 image resampled with one table per axis (`tx` over
 * the width, `ty` over the height; any kernel) to tx.outSize × ty.outSize, normalised per channel as
 * (v/255 − mean[c]) / std[c] and laid out as planar float32 CHW (RGB). A horizontal pass writes three planes of
 * H × outW, then a vertical pass with the normalisation folded in; taps of weight 0 are skipped.
 */
export function resampleToNCHW(
  image: RGBAImage,
  tx: AxisTable,
  ty: AxisTable,
  mean: readonly [number, number, number],
  std: readonly [number, number, number],
  out: Float32Array = new Float32Array(3 * tx.outSize * ty.outSize),
): Float32Array {
  const { width: W, height: H, data } = image;
  const outW = tx.outSize;
  const outH = ty.outSize;
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
        if (w === 0) continue;
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

/**
 * Per output coordinate of a 1-D linear resize from `src` to `dst` samples with PyTorch's / OpenCV's
 * `align_corners=False` convention: output sample d (centre d + 0.5) reads the input at
 * s = (d + 0.5)·src/dst − 0.5, clamped at 0; i0 = min(⌊s⌋, src − 1), i1 = min(i0 + 1, src − 1), weight of
 * i1 = s − i0. Past the last sample both taps are that sample (the fractional weight then has no effect:
 * (1 − w)·v + w·v = v exactly for float32 v and w).
 */
export interface LinearTaps {
  i0: Int32Array;
  i1: Int32Array;
  w1: Float32Array;
}

const tapsCache = new Map<string, LinearTaps>();

/** Linear-resize taps (cached: a handful of (src, dst) pairs recur for one photo). */
export function linearTaps(src: number, dst: number): LinearTaps {
  const key = `${src}:${dst}`;
  let t = tapsCache.get(key);
  if (t) return t;
  const i0 = new Int32Array(dst);
  const i1 = new Int32Array(dst);
  const w1 = new Float32Array(dst);
  const scale = src / dst;
  for (let d = 0; d < dst; d++) {
    let s = (d + 0.5) * scale - 0.5;
    if (s < 0) s = 0;
    let a = Math.floor(s);
    if (a > src - 1) a = src - 1;
    i0[d] = a;
    i1[d] = a < src - 1 ? a + 1 : a;
    w1[d] = s - a;
  }
  t = { i0, i1, w1 };
  if (tapsCache.size > 32) tapsCache.clear();
  tapsCache.set(key, t);
  return t;
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
  const { i0: x0, i1: x1, w1: fx } = linearTaps(w, W);
  const ay = linearTaps(h, H);
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
    const g = ay.w1[y]!;
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
