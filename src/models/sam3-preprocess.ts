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
import { type AxisTable, resampleToNCHW } from './resample';

/** Model input size of SAM3 (tracker and detector): 1008 = 72 patches of 14 pixels. */
export const SAM3_INPUT_SIZE = 1008;

/** Per-channel normalisation: (value/255 − mean)/std. SAM3 uses 0.5 and 0.5. */
export interface Normalisation {
  mean: readonly [number, number, number];
  std: readonly [number, number, number];
}

export const SAM3_NORMALISATION: Normalisation = Object.freeze({ mean: [0.5, 0.5, 0.5] as const, std: [0.5, 0.5, 0.5] as const });

/**
 * The resampling table of a 1-D resize from `src` to `dst` samples with a triangle (bilinear) kernel whose
 * support grows with the shrink factor, so that shrinking averages every input pixel (PIL's BILINEAR
 * resize, torchvision's antialias=True). Output sample d has centre c = (d + 0.5)·src/dst in input
 * coordinates; input sample i (centre i + 0.5) has weight tri((i + 0.5 − c)/f), f = max(1, src/dst),
 * tri(t) = max(0, 1 − |t|), normalised to sum 1. When enlarging (f = 1) this is plain bilinear
 * interpolation with edge clamping. The candidates of output d are the samples in [⌊c − f⌋, ⌈c + f⌉) ∩ [0, src),
 * at most 2⌈f⌉ + 1 of them: that is the table's tap count (taps outside the triangle have weight 0).
 */
export function triangleAxisTable(src: number, dst: number): AxisTable {
  const scale = src / dst;
  const f = Math.max(1, scale); // triangle radius in input pixels
  const taps = Math.ceil(f) * 2 + 1;
  const index = new Int32Array(dst * taps);
  const weight = new Float32Array(dst * taps);
  for (let d = 0; d < dst; d++) {
    const c = (d + 0.5) * scale;
    const lo = Math.max(0, Math.floor(c - f));
    const hi = Math.min(src, Math.ceil(c + f));
    const base = d * taps;
    let sum = 0;
    for (let k = 0; k < taps; k++) {
      const i = lo + k;
      const w = i < hi ? Math.max(0, 1 - Math.abs((i + 0.5 - c) / f)) : 0;
      index[base + k] = Math.min(i, src - 1);
      weight[base + k] = w;
      sum += w;
    }
    // sum > 0: the sample nearest to c is within 0.5 ≤ f of it.
    for (let k = 0; k < taps; k++) weight[base + k]! /= sum;
  }
  return { outSize: dst, taps, index, weight };
}

/**
 * Resizes an RGBA photo to `size`×`size` (aspect ratio not kept, as the SAM3 processor does), drops alpha,
 * normalises each channel with (v/255 − mean)/std and returns NCHW float32 (3·size·size values, batch 1).
 */
export function preprocessSam3Image(image: RGBAImage, size = SAM3_INPUT_SIZE, norm: Normalisation = SAM3_NORMALISATION): Float32Array {
  return resampleToNCHW(image, triangleAxisTable(image.width, size), triangleAxisTable(image.height, size), norm.mean, norm.std);
}

/**
 * Maps a point in continuous photo coordinates (pixel centres at x + 0.5) to the value to feed the SAM
 * prompt encoder, which adds 0.5 itself: (u·S/W − 0.5, v·S/H − 0.5).
 */
export function photoToModelPoint(u: number, v: number, W: number, H: number, size = SAM3_INPUT_SIZE): [number, number] {
  return [(u * size) / W - 0.5, (v * size) / H - 0.5];
}
