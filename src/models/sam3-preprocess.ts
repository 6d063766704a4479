/**
 * SAM3 image preprocessing and the coordinate mapping between the photo and the model's input.
 *
 * What the reference pipeline does (transformers `Sam3ImageProcessorFast` / `Sam3TrackerProcessor`, used to
 * make the public ONNX exports): the RGB photo is resized to exactly 1008×1008 — no aspect-ratio
 * preservation and no padding, unlike SAM 1's "longest side 1024 + pad" — with bilinear interpolation
 * (antialiased when shrinking), scaled to [0, 1], normalised with mean = std = 0.5, laid out NCHW float32.
 * Prompt points and boxes are scaled per axis by (1008/W, 1008/H); predicted mask logits (256² for the
 * tracker, 288² for the detector) are resized bilinearly (align_corners=False) straight to the photo's W×H.
 * Because the resize is a pure per-axis scale, undoing it is exact: nothing is cropped or padded.
 *
 * Coordinates: the library's convention (src/core/types.ts) puts pixel (x, y)'s centre at (x + 0.5, y + 0.5).
 * The SAM prompt encoder adds 0.5 to every input coordinate ("pixel index → pixel centre") before
 * normalising by the input size, so a photo point (u, v) is passed as (u·S/W − 0.5, v·S/H − 0.5); the
 * model then sees exactly the continuous position u·S/W. (The Python processor passes the scaled value
 * without the −0.5; the difference is half a model pixel and only matters for tests that check exact
 * positions, which is why we are precise about it.)
 */
import type { RGBAImage } from '../core/types';

/** Model input size of SAM3 (tracker and detector): 1008 = 72 patches of 14 pixels. */
export const SAM3_INPUT_SIZE = 1008;

/** Per-channel normalisation: (value/255 − mean)/std. SAM3 uses 0.5 and 0.5. */
export interface Normalisation {
  mean: readonly [number, number, number];
  std: readonly [number, number, number];
}

export const SAM3_NORMALISATION: Normalisation = Object.freeze({ mean: [0.5, 0.5, 0.5] as const, std: [0.5, 0.5, 0.5] as const });

/**
 * Resampling weights of a 1-D resize from `src` to `dst` samples with a triangle (bilinear) kernel whose
 * support grows with the shrink factor, so that shrinking averages every input pixel (PIL's BILINEAR
 * resize, torchvision's antialias=True). Output sample d has centre c = (d + 0.5)·src/dst in input
 * coordinates; input sample i (centre i + 0.5) has weight tri((i + 0.5 − c)/f), f = max(1, src/dst),
 * tri(t) = max(0, 1 − |t|), normalised to sum 1. When enlarging (f = 1) this is plain bilinear
 * interpolation with edge clamping.
 */
export interface ResampleWeights {
  /** First input index of each output sample. */
  start: Int32Array;
  /** Number of taps of each output sample. */
  count: Int32Array;
  /** Taps, `maxTaps` per output sample. */
  weights: Float32Array;
  maxTaps: number;
}

export function resampleWeights(src: number, dst: number): ResampleWeights {
  const scale = src / dst;
  const f = Math.max(1, scale);
  const support = f; // triangle radius in input pixels
  const maxTaps = Math.ceil(support) * 2 + 1;
  const start = new Int32Array(dst);
  const count = new Int32Array(dst);
  const weights = new Float32Array(dst * maxTaps);
  for (let d = 0; d < dst; d++) {
    const c = (d + 0.5) * scale;
    const lo = Math.max(0, Math.floor(c - support));
    const hi = Math.min(src, Math.ceil(c + support));
    let sum = 0;
    let n = 0;
    const base = d * maxTaps;
    for (let i = lo; i < hi; i++) {
      const w = Math.max(0, 1 - Math.abs((i + 0.5 - c) / f));
      weights[base + n] = w;
      sum += w;
      n++;
    }
    // Trim zero weights at both ends so that every tap contributes.
    while (n > 1 && weights[base + n - 1] === 0) n--;
    let first = 0;
    while (first < n - 1 && weights[base + first] === 0) first++;
    if (first > 0) {
      for (let k = first; k < n; k++) weights[base + k - first] = weights[base + k]!;
      for (let k = n - first; k < n; k++) weights[base + k] = 0;
      n -= first;
    }
    if (sum > 0) for (let k = 0; k < n; k++) weights[base + k]! /= sum;
    start[d] = lo + first;
    count[d] = n;
  }
  return { start, count, weights, maxTaps };
}

/**
 * Resizes an RGBA photo to `size`×`size` (aspect ratio not kept, as the SAM3 processor does), drops alpha,
 * normalises each channel with (v/255 − mean)/std and returns NCHW float32 (3·size·size values, batch 1).
 * Separable: a horizontal pass into a float buffer, then a vertical pass.
 */
export function preprocessSam3Image(image: RGBAImage, size = SAM3_INPUT_SIZE, norm: Normalisation = SAM3_NORMALISATION): Float32Array {
  const { width: W, height: H, data } = image;
  const hx = resampleWeights(W, size);
  const vy = resampleWeights(H, size);
  // Horizontal pass: H rows × size columns × 3 channels, channel-planar.
  const plane = H * size;
  const tmp = new Float32Array(3 * plane);
  for (let y = 0; y < H; y++) {
    const row = y * W * 4;
    const o = y * size;
    for (let d = 0; d < size; d++) {
      const s = hx.start[d]!, n = hx.count[d]!, b = d * hx.maxTaps;
      let r = 0, g = 0, bl = 0;
      for (let k = 0; k < n; k++) {
        const w = hx.weights[b + k]!;
        const p = row + (s + k) * 4;
        r += w * data[p]!;
        g += w * data[p + 1]!;
        bl += w * data[p + 2]!;
      }
      tmp[o + d] = r;
      tmp[plane + o + d] = g;
      tmp[2 * plane + o + d] = bl;
    }
  }
  // Vertical pass + normalisation: value/255 → (· − mean)/std, folded into one multiply-add.
  const out = new Float32Array(3 * size * size);
  const area = size * size;
  for (let c = 0; c < 3; c++) {
    const a = 1 / (255 * norm.std[c]!);
    const bias = -norm.mean[c]! / norm.std[c]!;
    const src = c * plane;
    const dst = c * area;
    for (let d = 0; d < size; d++) {
      const s = vy.start[d]!, n = vy.count[d]!, b = d * vy.maxTaps;
      const o = dst + d * size;
      for (let x = 0; x < size; x++) out[o + x] = 0;
      for (let k = 0; k < n; k++) {
        const w = vy.weights[b + k]!;
        const r = src + (s + k) * size;
        for (let x = 0; x < size; x++) out[o + x] += w * tmp[r + x]!;
      }
      for (let x = 0; x < size; x++) out[o + x] = out[o + x]! * a + bias;
    }
  }
  return out;
}

/**
 * Maps a point in continuous photo coordinates (pixel centres at x + 0.5) to the value to feed the SAM
 * prompt encoder, which adds 0.5 itself: (u·S/W − 0.5, v·S/H − 0.5).
 */
export function photoToModelPoint(u: number, v: number, W: number, H: number, size = SAM3_INPUT_SIZE): [number, number] {
  return [(u * size) / W - 0.5, (v * size) / H - 0.5];
}
