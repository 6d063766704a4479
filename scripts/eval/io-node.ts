/**
 * Small Node-only image I/O helpers for evaluation scripts and benchmarks (sharp-based).
 * Not part of the library: the library's own decoding lives in src/io.
 */
import sharp from 'sharp';
import type { RGBAImage } from '../../src/core/types';

/** Options of {@link readImageRGBA}. */
export interface ReadImageOptions {
  /** Downscale (never upscale) so that the longest side is at most this many pixels (Lanczos 3). */
  maxSide?: number;
  /** Resize to exactly this size, cropping to keep the aspect ratio (centre crop, Lanczos 3). */
  cover?: { width: number; height: number };
}

/**
 * Reads a PNG/JPEG/… file into an RGBA8 image (straight alpha; opaque when the file has no alpha).
 * EXIF orientation is applied, colour is converted to sRGB.
 */
export async function readImageRGBA(path: string, options: ReadImageOptions = {}): Promise<RGBAImage> {
  let pipeline = sharp(path).rotate().toColourspace('srgb');
  if (options.cover) {
    pipeline = pipeline.resize(options.cover.width, options.cover.height, { fit: 'cover', kernel: 'lanczos3' });
  } else if (options.maxSide !== undefined) {
    pipeline = pipeline.resize(options.maxSide, options.maxSide, {
      fit: 'inside',
      withoutEnlargement: true,
      kernel: 'lanczos3',
    });
  }
  const { data, info } = await pipeline.ensureAlpha().raw().toBuffer({ resolveWithObject: true });
  if (info.channels !== 4) throw new Error(`${path}: expected 4 channels after ensureAlpha, found ${info.channels}`);
  return {
    width: info.width,
    height: info.height,
    data: new Uint8ClampedArray(data.buffer, data.byteOffset, data.byteLength),
  };
}

/** Writes an RGBA8 image as PNG. */
export async function writePngRGBA(path: string, image: RGBAImage): Promise<void> {
  await sharp(Buffer.from(image.data.buffer, image.data.byteOffset, image.data.byteLength), {
    raw: { width: image.width, height: image.height, channels: 4 },
  })
    .png({ compressionLevel: 1 })
    .toFile(path);
}

/** Writes a single-channel 8-bit image (e.g. a mask: 0 / 255) as PNG. */
export async function writePngGray(path: string, data: Uint8Array, width: number, height: number): Promise<void> {
  if (data.length !== width * height) throw new Error(`expected ${width * height} bytes, found ${data.length}`);
  await sharp(Buffer.from(data.buffer, data.byteOffset, data.byteLength), { raw: { width, height, channels: 1 } })
    .png({ compressionLevel: 1 })
    .toFile(path);
}
