/**
 * Image-comparison metrics shared by the evaluation commands (docs: shared/docs/metrics.md §2, §4).
 *
 * - PSNR over a set of pixels: RGB, peak 255, MSE averaged over the selected pixels and the three channels.
 * - SSIM (Wang, Bovik, Sheikh & Simoncelli 2004) on luminance: local means, variances and covariance with
 *   a Gaussian window of 11 taps, σ = 1.5 (weights normalised to sum 1), C1 = (0.01·255)², C2 = (0.03·255)²,
 *
 *     SSIM = (2 μx μy + C1)(2 σxy + C2) / ((μx² + μy² + C1)(σx² + σy² + C2)),
 *
 *   computed as a map over the whole image (the window is mirrored at the image border without repeating
 *   the edge pixel), then averaged over the selected pixels.
 * - Luminance Y = 0.299 R + 0.587 G + 0.114 B (ITU-R BT.601), on the 0–255 scale.
 */
import type { RGBAImage } from '../../src/core/types';

function assertSameSize(a: RGBAImage, b: RGBAImage, mask?: Uint8Array): void {
  if (a.width !== b.width || a.height !== b.height) {
    throw new Error(`images differ in size: ${a.width}x${a.height} vs ${b.width}x${b.height}`);
  }
  if (mask && mask.length !== a.width * a.height) {
    throw new Error(`mask has ${mask.length} bytes; expected ${a.width * a.height}`);
  }
}

/**
 * PSNR (dB, peak 255) of `test` against `ref` over the pixels where `mask` is non-zero (all pixels when
 * omitted), RGB channels. Returns +Infinity for identical pixels and null for an empty selection.
 */
export function psnrRGB(ref: RGBAImage, test: RGBAImage, mask?: Uint8Array): number | null {
  assertSameSize(ref, test, mask);
  const a = ref.data;
  const b = test.data;
  const n = ref.width * ref.height;
  let sum = 0;
  let count = 0;
  for (let i = 0; i < n; i++) {
    if (mask && mask[i] === 0) continue;
    const c = i << 2;
    const dr = a[c] - b[c];
    const dg = a[c + 1] - b[c + 1];
    const db = a[c + 2] - b[c + 2];
    sum += dr * dr + dg * dg + db * db;
    count++;
  }
  if (count === 0) return null;
  const mse = sum / (3 * count);
  return mse === 0 ? Infinity : 10 * Math.log10((255 * 255) / mse);
}

/** BT.601 luminance (0–255) of an RGBA image. */
export function luminance(image: RGBAImage): Float64Array {
  const n = image.width * image.height;
  const out = new Float64Array(n);
  const d = image.data;
  for (let i = 0; i < n; i++) {
    const c = i << 2;
    out[i] = 0.299 * d[c] + 0.587 * d[c + 1] + 0.114 * d[c + 2];
  }
  return out;
}

/** Normalised 1-D Gaussian kernel with `taps` taps (odd). */
export function gaussianKernel(taps: number, sigma: number): Float64Array {
  const r = (taps - 1) >> 1;
  const k = new Float64Array(taps);
  let s = 0;
  for (let i = -r; i <= r; i++) {
    const v = Math.exp(-(i * i) / (2 * sigma * sigma));
    k[i + r] = v;
    s += v;
  }
  for (let i = 0; i < taps; i++) k[i] /= s;
  return k;
}

/** Mirror index into [0, n) without repeating the edge sample (…2 1 | 0 1 2 … n−1 | n−2 …). */
function mirror(i: number, n: number): number {
  if (n === 1) return 0;
  const period = 2 * (n - 1);
  let j = i % period;
  if (j < 0) j += period;
  return j < n ? j : period - j;
}

/** Separable convolution of a single-channel image with a symmetric kernel, mirrored borders. */
export function convolveSeparable(src: Float64Array, width: number, height: number, kernel: Float64Array): Float64Array {
  const r = (kernel.length - 1) >> 1;
  const tmp = new Float64Array(width * height);
  const out = new Float64Array(width * height);
  // Horizontal pass.
  for (let y = 0; y < height; y++) {
    const row = y * width;
    for (let x = 0; x < width; x++) {
      let s = 0;
      if (x >= r && x < width - r) {
        for (let k = -r; k <= r; k++) s += kernel[k + r] * src[row + x + k];
      } else {
        for (let k = -r; k <= r; k++) s += kernel[k + r] * src[row + mirror(x + k, width)];
      }
      tmp[row + x] = s;
    }
  }
  // Vertical pass.
  for (let y = 0; y < height; y++) {
    const inside = y >= r && y < height - r;
    for (let x = 0; x < width; x++) {
      let s = 0;
      if (inside) {
        for (let k = -r; k <= r; k++) s += kernel[k + r] * tmp[(y + k) * width + x];
      } else {
        for (let k = -r; k <= r; k++) s += kernel[k + r] * tmp[mirror(y + k, height) * width + x];
      }
      out[y * width + x] = s;
    }
  }
  return out;
}

/** SSIM map (see the file header) of two single-channel 0–255 images of the same size. */
export function ssimMap(x: Float64Array, y: Float64Array, width: number, height: number): Float64Array {
  const n = width * height;
  if (x.length !== n || y.length !== n) throw new Error(`ssimMap: expected ${n} samples per image`);
  const g = gaussianKernel(11, 1.5);
  const xx = new Float64Array(n);
  const yy = new Float64Array(n);
  const xy = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    xx[i] = x[i] * x[i];
    yy[i] = y[i] * y[i];
    xy[i] = x[i] * y[i];
  }
  const mx = convolveSeparable(x, width, height, g);
  const my = convolveSeparable(y, width, height, g);
  const sxx = convolveSeparable(xx, width, height, g);
  const syy = convolveSeparable(yy, width, height, g);
  const sxy = convolveSeparable(xy, width, height, g);
  const C1 = (0.01 * 255) ** 2;
  const C2 = (0.03 * 255) ** 2;
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const ux = mx[i];
    const uy = my[i];
    const vx = sxx[i] - ux * ux;
    const vy = syy[i] - uy * uy;
    const cxy = sxy[i] - ux * uy;
    out[i] = ((2 * ux * uy + C1) * (2 * cxy + C2)) / ((ux * ux + uy * uy + C1) * (vx + vy + C2));
  }
  return out;
}

/** Mean of `values` over the pixels where `mask` is non-zero (all when omitted); null when none. */
export function meanOver(values: ArrayLike<number>, mask?: Uint8Array): number | null {
  let s = 0;
  let c = 0;
  for (let i = 0; i < values.length; i++) {
    if (mask && mask[i] === 0) continue;
    s += values[i];
    c++;
  }
  return c > 0 ? s / c : null;
}

/** Luminance SSIM of `test` against `ref`, averaged over the pixels where `mask` is non-zero. */
export function ssimLuma(ref: RGBAImage, test: RGBAImage, mask?: Uint8Array): number | null {
  assertSameSize(ref, test, mask);
  return meanOver(ssimMap(luminance(ref), luminance(test), ref.width, ref.height), mask);
}

/** Median of the finite numbers in `values`; null when there are none. */
export function median(values: readonly (number | null | undefined)[]): number | null {
  const v = values.filter((x): x is number => typeof x === 'number' && Number.isFinite(x)).sort((a, b) => a - b);
  if (v.length === 0) return null;
  const m = v.length >> 1;
  return v.length % 2 ? v[m] : 0.5 * (v[m - 1] + v[m]);
}

/** Mean of the finite numbers in `values`; null when there are none. */
export function mean(values: readonly (number | null | undefined)[]): number | null {
  const v = values.filter((x): x is number => typeof x === 'number' && Number.isFinite(x));
  return v.length ? v.reduce((a, b) => a + b, 0) / v.length : null;
}
