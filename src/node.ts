/**
 * Node-only helpers (`diorama/node`): reading photos, depth maps and masks from files and writing layers.
 * Image decoding and encoding go through sharp.
 */
import { readFile, writeFile, mkdir } from 'node:fs/promises';
import { extname, join } from 'node:path';
import sharp from 'sharp';
import { DioramaError } from './core/errors';
import type { Decomposition, RGBAImage } from './core/types';
import { decodePFM, encodePFM, type FloatImage } from './io/pfm';
import { decodeNPY } from './io/npy';

/** Reads a whole file; a failure is a DECODE_FAILED DioramaError naming what the file was for. */
async function readBytes(path: string, what: string): Promise<Buffer> {
  try {
    return await readFile(path);
  } catch (cause) {
    throw new DioramaError('DECODE_FAILED', `cannot read ${what} file '${path}'`, { cause });
  }
}

/** Reads any image sharp can decode into RGBA8 (EXIF orientation applied, sRGB). */
export async function readImageFile(path: string): Promise<RGBAImage> {
  return decodeImageBytes(await readBytes(path, 'image'), path);
}

/** Decodes encoded image bytes (PNG, JPEG, WebP, …) into RGBA8. */
export async function decodeImageBytes(bytes: Uint8Array, name = 'image'): Promise<RGBAImage> {
  if (bytes.length === 0) throw new DioramaError('DECODE_FAILED', `${name}: the file is empty (0 bytes); expected an encoded image`);
  try {
    const { data, info } = await sharp(bytes, { limitInputPixels: 8192 * 8192 }).rotate().toColourspace('srgb').ensureAlpha().raw().toBuffer({ resolveWithObject: true });
    return { width: info.width, height: info.height, data: new Uint8ClampedArray(data.buffer, data.byteOffset, data.byteLength) };
  } catch (cause) {
    throw new DioramaError('DECODE_FAILED', `${name}: not a decodable image (${(cause as Error).message})`, { cause });
  }
}

/**
 * Reads a depth map: `.pfm` (float, metres or whatever unit), `.npy` (2-D float/int array), or a 16-bit
 * greyscale PNG in millimetres (converted to metres; 0 = unknown).
 */
export async function readDepthFile(path: string): Promise<FloatImage> {
  const ext = extname(path).toLowerCase();
  const bytes = await readBytes(path, 'depth');
  const u8 = new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (ext === '.pfm') return decodePFM(u8);
  if (ext === '.npy') return decodeNPY(u8);
  if (ext === '.png') {
    const g = await decodeGreySamples(bytes, path);
    if ((g.channels !== 1 && g.channels !== 2) || g.bits !== 16) {
      throw new DioramaError('UNSUPPORTED_FORMAT', `${path}: expected a 16-bit greyscale PNG in millimetres; found ${g.bits}-bit with ${g.channels} channels`);
    }
    const out = new Float32Array(g.width * g.height);
    for (let i = 0; i < out.length; i++) out[i] = g.samples[i]! / 1000;
    return { width: g.width, height: g.height, data: out };
  }
  throw new DioramaError('UNSUPPORTED_FORMAT', `${path}: depth must be .pfm, .npy or a 16-bit .png (millimetres); found '${ext || 'no extension'}'`);
}

/**
 * Reads a label map: a greyscale PNG (8 or 16 bit; 0 = no mask, k > 0 = mask k − 1) or an integer `.npy`
 * (negative = no mask). Returns Int32Array labels with -1 for none.
 */
export async function readLabelFile(path: string): Promise<{ width: number; height: number; labels: Int32Array }> {
  const ext = extname(path).toLowerCase();
  const bytes = await readBytes(path, 'label');
  if (ext === '.npy') {
    const img = decodeNPY(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength));
    return { width: img.width, height: img.height, labels: Int32Array.from(img.data, (v) => (v >= 0 ? Math.round(v) : -1)) };
  }
  const g = await decodeGreySamples(bytes, path);
  const labels = new Int32Array(g.width * g.height);
  for (let i = 0; i < labels.length; i++) labels[i] = g.samples[i]! - 1;
  return { width: g.width, height: g.height, labels };
}

/**
 * Decodes a greyscale image (8 or 16 bit) to its integer samples at their own bit depth (no rescaling of
 * 8-bit values to 16 bits); `channels` and `bits` describe the file. sharp's failures become DECODE_FAILED.
 */
async function decodeGreySamples(bytes: Buffer, path: string): Promise<{ width: number; height: number; channels: number; bits: 8 | 16; samples: Uint16Array }> {
  try {
    const meta = await sharp(bytes).metadata();
    const bits = meta.depth === 'ushort' ? 16 : 8;
    // sharp's raw output is sRGB unless asked otherwise: ask for one grey band at the file's own depth.
    const { data, info } = await sharp(bytes)
      .toColourspace(bits === 16 ? 'grey16' : 'b-w')
      .raw({ depth: bits === 16 ? 'ushort' : 'uchar' })
      .toBuffer({ resolveWithObject: true });
    const n = info.width * info.height;
    const src = bits === 16 ? new Uint16Array(data.buffer, data.byteOffset, data.byteLength / 2) : data;
    const samples = new Uint16Array(n);
    for (let i = 0; i < n; i++) samples[i] = src[i * info.channels]!;
    return { width: info.width, height: info.height, channels: meta.channels ?? info.channels, bits, samples };
  } catch (cause) {
    throw new DioramaError('DECODE_FAILED', `${path}: not a decodable image (${(cause as Error).message})`, { cause });
  }
}

export async function writePNG(path: string, img: RGBAImage): Promise<void> {
  await sharp(Buffer.from(img.data.buffer, img.data.byteOffset, img.data.byteLength), { raw: { width: img.width, height: img.height, channels: 4 } }).png().toFile(path);
}

/** Writes metres as a 16-bit greyscale PNG in millimetres (clamped to 65.535 m; 0 = unknown). */
export async function writeDepthPNG16(path: string, depth: Float32Array, width: number, height: number): Promise<void> {
  const px = new Uint16Array(width * height);
  for (let i = 0; i < px.length; i++) {
    const v = depth[i]!;
    px[i] = v > 0 && Number.isFinite(v) ? Math.min(65535, Math.round(v * 1000)) : 0;
  }
  // sharp takes the sample depth from the typed array: a Uint16Array is 16-bit (a Buffer would be 8-bit).
  await sharp(px, { raw: { width, height, channels: 1, premultiplied: false } })
    .toColourspace('grey16')
    .png()
    .toFile(path);
}

export interface WrittenLayer {
  index: number;
  rgba: string;
  depth: string;
  depthPfm: string;
}

/** Writes every layer's RGBA (PNG), depth (16-bit PNG in mm and PFM) and a JSON summary into `dir`. */
export async function writeDecomposition(dir: string, result: Decomposition, extra: Record<string, unknown> = {}): Promise<string> {
  await mkdir(dir, { recursive: true });
  const layers = [];
  for (const l of result.layers) {
    const base = `layer_${String(l.index).padStart(2, '0')}`;
    await writePNG(join(dir, `${base}.png`), l.rgba);
    await writeDepthPNG16(join(dir, `${base}_depth.png`), l.depth, l.bbox.width, l.bbox.height);
    await writeFile(join(dir, `${base}_depth.pfm`), encodePFM({ width: l.bbox.width, height: l.bbox.height, data: l.depth }));
    layers.push({
      index: l.index,
      bbox: l.bbox,
      depthRange: l.depthRange,
      planeDepth: l.planeDepth,
      maskIds: l.maskIds,
      concepts: l.concepts,
      vertices: l.mesh.positions.length / 3,
      triangles: l.mesh.indices.length / 3,
      files: { rgba: `${base}.png`, depth: `${base}_depth.png`, depthPfm: `${base}_depth.pfm` },
    });
  }
  await writeDepthPNG16(join(dir, 'harmonized_depth.png'), result.harmonizedDepth, result.width, result.height);
  await writeFile(join(dir, 'harmonized_depth.pfm'), encodePFM({ width: result.width, height: result.height, data: result.harmonizedDepth }));
  const summary = {
    ...extra,
    width: result.width,
    height: result.height,
    intrinsics: result.intrinsics,
    intrinsicsKnown: result.intrinsicsKnown,
    axes: 'camera space: x right, y up, z forward (metres); UV v = 0 at the top of each layer crop',
    layers,
    stats: result.stats,
  };
  const path = join(dir, 'scene.json');
  await writeFile(path, JSON.stringify(summary, null, 2));
  return path;
}

export { decodePFM, encodePFM, decodeNPY };
