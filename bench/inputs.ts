/**
 * The realistic 1920×1080 input shared by the benchmarks: ../shared/data/rgbd/kinect_emsanet (1440×1080
 * Kinect v2) stretched to 1920×1080 (photo bilinear, depth nearest), with metrics.md §1's synthesised raw
 * depth and masks drawn with one fixed seed, so every benchmark sees the same layers.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import type { RGBAImage } from '../src/core/types';
import { decodePFM } from '../src/io/pfm';

export const BENCH_W = 1920;
export const BENCH_H = 1080;
/** Seed of synthRawDepth and synthMasks in every benchmark. */
export const BENCH_SEED = 12345;
export const KINECT_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', 'shared', 'data', 'rgbd', 'kinect_emsanet');

/** Nearest-neighbour resampling of a float image (pixel centres mapped onto pixel centres). */
export function resizeNearest(src: Float32Array, w: number, h: number, W2: number, H2: number): Float32Array {
  const out = new Float32Array(W2 * H2);
  const xs = new Int32Array(W2);
  for (let x = 0; x < W2; x++) xs[x] = Math.min(w - 1, Math.floor(((x + 0.5) * w) / W2));
  for (let y = 0; y < H2; y++) {
    const sy = Math.min(h - 1, Math.floor(((y + 0.5) * h) / H2));
    for (let x = 0; x < W2; x++) out[y * W2 + x] = src[sy * w + xs[x]!]!;
  }
  return out;
}

/** The kinect scene at BENCH_W×BENCH_H (photo and ground-truth depth), or undefined when the data is absent. */
export async function loadKinect1080(): Promise<{ source: string; image: RGBAImage; gt: Float32Array } | undefined> {
  if (!existsSync(join(KINECT_DIR, 'rgb.png')) || !existsSync(join(KINECT_DIR, 'depth.pfm'))) return undefined;
  const W = BENCH_W;
  const H = BENCH_H;
  const { data, info } = await sharp(join(KINECT_DIR, 'rgb.png'))
    .resize(W, H, { fit: 'fill', kernel: 'linear' })
    .ensureAlpha()
    .raw()
    .toBuffer({ resolveWithObject: true });
  if (info.width !== W || info.height !== H || info.channels !== 4) throw new Error(`unexpected resize result ${info.width}x${info.height}x${info.channels}`);
  const pfm = decodePFM(readFileSync(join(KINECT_DIR, 'depth.pfm')));
  return {
    source: `kinect_emsanet (${pfm.width}×${pfm.height} → ${W}×${H}: photo bilinear, depth nearest)`,
    image: { width: W, height: H, data: new Uint8ClampedArray(data.buffer, data.byteOffset, data.byteLength) },
    gt: resizeNearest(pfm.data, pfm.width, pfm.height, W, H),
  };
}
