/**
 * Browser-side input decoding (the Babylon loader, the demo worker): encoded photo bytes → RGBA8 (createImageBitmap + an
 * OffscreenCanvas), and depth maps from a Float32Array, a PFM, an NPY or a 16-bit PNG in millimetres.
 *
 * The image header is read first (PNG, JPEG, WebP, AVIF, GIF, BMP) so that an empty file, a file that is
 * not an image, or an image over the pixel limit is refused before anything large is allocated.
 */
import { DioramaError, throwIfAborted } from '../core/errors';
import type { RGBAImage } from '../core/types';
import { decodePFM, type FloatImage } from './pfm';
import { decodeNPY } from './npy';
import { decodeDepthPNG16, isPNG } from './png16';

/** Image formats recognised by {@link sniffImage}. */
export type ImageFormat = 'png' | 'jpeg' | 'webp' | 'avif' | 'gif' | 'bmp';

/** Format and pixel size read from an encoded image's header. */
export interface ImageHeader {
  format: ImageFormat;
  width: number;
  height: number;
}

const MIME: Record<ImageFormat, string> = {
  png: 'image/png',
  jpeg: 'image/jpeg',
  webp: 'image/webp',
  avif: 'image/avif',
  gif: 'image/gif',
  bmp: 'image/bmp',
};

function ascii(b: Uint8Array, at: number, n: number): string {
  let s = '';
  for (let i = 0; i < n && at + i < b.length; i++) s += String.fromCharCode(b[at + i]!);
  return s;
}

function describeStart(b: Uint8Array): string {
  const n = Math.min(8, b.length);
  const hex = Array.from(b.subarray(0, n), (v) => v.toString(16).padStart(2, '0')).join(' ');
  const text = ascii(b, 0, n).replace(/[^\x20-\x7e]/g, '.');
  return `${hex} ("${text}")`;
}

/** JPEG: walks the marker segments up to the first SOFn (frame header: height, width). */
function jpegSize(b: Uint8Array, v: DataView): { width: number; height: number } | null {
  let p = 2;
  while (p + 4 <= b.length) {
    if (b[p] !== 0xff) return null;
    let marker = b[p + 1]!;
    while (marker === 0xff && p + 2 < b.length) {
      p++;
      marker = b[p + 1]!;
    }
    // Stand-alone markers (no length): TEM, RSTn, SOI, EOI.
    if (marker === 0x01 || (marker >= 0xd0 && marker <= 0xd9)) {
      p += 2;
      continue;
    }
    if (p + 4 > b.length) return null;
    const len = v.getUint16(p + 2);
    const isSOF = marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc;
    if (isSOF) {
      if (p + 9 > b.length) return null;
      return { height: v.getUint16(p + 5), width: v.getUint16(p + 7) };
    }
    p += 2 + len;
  }
  return null;
}

/** AVIF/HEIF: the first 'ispe' (image spatial extents) property: version/flags, width, height. */
function ispeSize(b: Uint8Array, v: DataView): { width: number; height: number } | null {
  const end = Math.min(b.length - 16, 1 << 16);
  for (let i = 4; i < end; i++) {
    if (b[i] === 0x69 && b[i + 1] === 0x73 && b[i + 2] === 0x70 && b[i + 3] === 0x65) {
      return { width: v.getUint32(i + 8), height: v.getUint32(i + 12) };
    }
  }
  return null;
}

/**
 * Reads an encoded image's format and size from its header. Throws DECODE_FAILED on an empty or truncated
 * header and UNSUPPORTED_FORMAT when the bytes are not one of the recognised image formats.
 */
export function sniffImage(bytes: Uint8Array, name = 'image'): ImageHeader {
  if (bytes.length === 0) throw new DioramaError('DECODE_FAILED', `${name}: the file is empty (0 bytes); expected an encoded image (PNG, JPEG, WebP or AVIF)`);
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const truncated = (fmt: string): never => {
    throw new DioramaError('DECODE_FAILED', `${name}: ${fmt} header is truncated or corrupt (${bytes.length} bytes)`);
  };
  if (isPNG(bytes)) {
    if (bytes.length < 24 || ascii(bytes, 12, 4) !== 'IHDR') return truncated('PNG');
    return { format: 'png', width: v.getUint32(16), height: v.getUint32(20) };
  }
  if (bytes.length >= 3 && bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff) {
    const s = jpegSize(bytes, v);
    return s ? { format: 'jpeg', ...s } : truncated('JPEG');
  }
  if (ascii(bytes, 0, 4) === 'RIFF' && ascii(bytes, 8, 4) === 'WEBP') {
    const chunk = ascii(bytes, 12, 4);
    if (chunk === 'VP8X' && bytes.length >= 30) {
      const w = 1 + (bytes[24]! | (bytes[25]! << 8) | (bytes[26]! << 16));
      const h = 1 + (bytes[27]! | (bytes[28]! << 8) | (bytes[29]! << 16));
      return { format: 'webp', width: w, height: h };
    }
    if (chunk === 'VP8L' && bytes.length >= 25 && bytes[20] === 0x2f) {
      const bits = v.getUint32(21, true);
      return { format: 'webp', width: (bits & 0x3fff) + 1, height: ((bits >>> 14) & 0x3fff) + 1 };
    }
    if (chunk === 'VP8 ' && bytes.length >= 30) {
      return { format: 'webp', width: v.getUint16(26, true) & 0x3fff, height: v.getUint16(28, true) & 0x3fff };
    }
    return truncated('WebP');
  }
  if (ascii(bytes, 4, 4) === 'ftyp' && /avi[fs]|mif1|heic/.test(ascii(bytes, 8, 32))) {
    const s = ispeSize(bytes, v);
    return s ? { format: 'avif', ...s } : truncated('AVIF');
  }
  const gif = ascii(bytes, 0, 6);
  if (gif === 'GIF87a' || gif === 'GIF89a') {
    if (bytes.length < 10) return truncated('GIF');
    return { format: 'gif', width: v.getUint16(6, true), height: v.getUint16(8, true) };
  }
  if (ascii(bytes, 0, 2) === 'BM' && bytes.length >= 26) {
    return { format: 'bmp', width: Math.abs(v.getInt32(18, true)), height: Math.abs(v.getInt32(22, true)) };
  }
  throw new DioramaError('UNSUPPORTED_FORMAT', `${name}: not an image; expected PNG, JPEG, WebP or AVIF bytes, found ${bytes.length} bytes starting with ${describeStart(bytes)}`);
}

/**
 * Decodes encoded image bytes into RGBA8 in the browser: the header is checked first (see
 * {@link sniffImage}; IMAGE_TOO_LARGE above `maxPixels`), then createImageBitmap decodes (EXIF orientation
 * applied, the browser's default colour conversion to sRGB) and an OffscreenCanvas reads the pixels back.
 * A decoder failure is DECODE_FAILED.
 */
export async function decodeImageInBrowser(bytes: Uint8Array, options: { name?: string; maxPixels: number; signal?: AbortSignal }): Promise<RGBAImage> {
  const name = options.name ?? 'image';
  const head = sniffImage(bytes, name);
  if (!(head.width > 0 && head.height > 0)) throw new DioramaError('DECODE_FAILED', `${name}: header gives a ${head.width}x${head.height} ${head.format.toUpperCase()}; expected a positive size`);
  if (head.width * head.height > options.maxPixels) {
    throw new DioramaError(
      'IMAGE_TOO_LARGE',
      `${name}: image is ${head.width}x${head.height} (${formatPixels(head.width * head.height)}); the limit is ${formatPixels(options.maxPixels)} (the maxPixels option): downscale the photo or raise the limit`,
    );
  }
  throwIfAborted(options.signal);
  if (typeof createImageBitmap !== 'function') {
    throw new DioramaError('UNSUPPORTED_FORMAT', `${name}: this platform has no createImageBitmap; decode the photo yourself and call decompose() + createDioramaNodes()`);
  }
  let bitmap: ImageBitmap;
  try {
    const blob = new Blob([bytes as BlobPart], { type: MIME[head.format] });
    bitmap = await createImageBitmap(blob, { imageOrientation: 'from-image', premultiplyAlpha: 'none' });
  } catch (cause) {
    throw new DioramaError('DECODE_FAILED', `${name}: the ${head.format.toUpperCase()} data could not be decoded (${(cause as Error)?.message ?? String(cause)}); the file is corrupt or truncated`, { cause });
  }
  try {
    throwIfAborted(options.signal);
    const { width, height } = bitmap;
    if (width * height > options.maxPixels) {
      throw new DioramaError('IMAGE_TOO_LARGE', `${name}: decoded image is ${width}x${height}; the limit is ${options.maxPixels} pixels`);
    }
    const ctx = make2D(width, height);
    ctx.drawImage(bitmap, 0, 0);
    const data = ctx.getImageData(0, 0, width, height).data;
    return { width, height, data };
  } finally {
    bitmap.close();
  }
}

function formatPixels(n: number): string {
  return n >= 1e5 ? `${(n / 1e6).toFixed(1)} MP` : `${n} pixels`;
}

function make2D(width: number, height: number): OffscreenCanvasRenderingContext2D | CanvasRenderingContext2D {
  if (typeof OffscreenCanvas !== 'undefined') {
    const ctx = new OffscreenCanvas(width, height).getContext('2d', { willReadFrequently: true });
    if (ctx) return ctx;
  }
  const c = document.createElement('canvas');
  c.width = width;
  c.height = height;
  const ctx = c.getContext('2d', { willReadFrequently: true });
  if (!ctx) throw new DioramaError('INTERNAL', 'no 2D canvas context available to read the decoded image');
  return ctx;
}

/** A depth map given as values: metres, or inverse depth when the loader's `depthIsInverse` is set. */
export interface DepthArray {
  data: Float32Array;
  width: number;
  height: number;
}

/** Where a depth map comes from: values, a URL, or the bytes of a .pfm, .npy or 16-bit .png (mm) file. */
export type DepthSource = DepthArray | string | URL | Blob | ArrayBuffer | ArrayBufferView;

function isDepthArray(v: unknown): v is DepthArray {
  return !!v && typeof v === 'object' && (v as DepthArray).data instanceof Float32Array && typeof (v as DepthArray).width === 'number';
}

/**
 * Decodes depth-file bytes by their magic: PFM ('Pf'/'PF'), NPY (\x93NUMPY) or a 16-bit greyscale PNG in
 * millimetres (converted to metres; 0 stays unknown).
 */
export async function decodeDepthBytes(bytes: Uint8Array, name = 'depth'): Promise<FloatImage> {
  if (bytes.length === 0) throw new DioramaError('DECODE_FAILED', `${name}: the depth file is empty (0 bytes)`);
  if (bytes[0] === 0x50 && (bytes[1] === 0x66 || bytes[1] === 0x46) && (bytes[2] === 0x0a || bytes[2] === 0x0d || bytes[2] === 0x20)) return decodePFM(bytes);
  if (bytes[0] === 0x93 && ascii(bytes, 1, 5) === 'NUMPY') return decodeNPY(bytes);
  if (isPNG(bytes)) {
    return decodeDepthPNG16(bytes);
  }
  throw new DioramaError('UNSUPPORTED_FORMAT', `${name}: depth must be PFM, NPY or a 16-bit greyscale PNG in millimetres; found ${bytes.length} bytes starting with ${describeStart(bytes)}`);
}

/** Resolves any {@link DepthSource} to a float image (fetching URLs with the abort signal). */
export async function loadDepth(source: DepthSource, signal?: AbortSignal): Promise<FloatImage> {
  if (isDepthArray(source)) {
    if (source.data.length !== source.width * source.height) {
      throw new DioramaError('SIZE_MISMATCH', `depth.data has ${source.data.length} values; expected width·height = ${source.width}x${source.height} = ${source.width * source.height}`);
    }
    return { width: source.width, height: source.height, data: source.data };
  }
  if (typeof source === 'string' || source instanceof URL) {
    const url = String(source);
    let res: Response;
    try {
      res = await fetch(url, { signal });
    } catch (cause) {
      throwIfAborted(signal);
      throw new DioramaError('DECODE_FAILED', `depth '${url}': request failed (${(cause as Error).message})`, { cause });
    }
    if (!res.ok) throw new DioramaError('DECODE_FAILED', `depth '${url}': HTTP ${res.status} ${res.statusText}`);
    return decodeDepthBytes(new Uint8Array(await res.arrayBuffer()), `depth '${url}'`);
  }
  if (typeof Blob !== 'undefined' && source instanceof Blob) return decodeDepthBytes(new Uint8Array(await source.arrayBuffer()), 'depth blob');
  if (source instanceof ArrayBuffer) return decodeDepthBytes(new Uint8Array(source));
  if (ArrayBuffer.isView(source)) {
    if (source instanceof Float32Array) {
      throw new DioramaError('INVALID_DEPTH', 'depth: a bare Float32Array has no size; pass { data, width, height }');
    }
    return decodeDepthBytes(new Uint8Array(source.buffer, source.byteOffset, source.byteLength));
  }
  throw new DioramaError('INVALID_DEPTH', `depth: expected { data: Float32Array, width, height }, a URL, a Blob or file bytes; found ${source === null ? 'null' : typeof source}`);
}

/**
 * Resamples a depth map to width×height by bilinear interpolation over pixel centres, ignoring unknown
 * values (≤ 0 or non-finite): weights of known neighbours are renormalised; a pixel with no known
 * neighbour stays 0 (unknown). Used when a depth map (e.g. a model's output) is smaller than the photo.
 * Source coordinates are clamped to the map (replicated borders).
 */
export function resampleDepth(src: FloatImage, width: number, height: number): Float32Array {
  const { width: sw, height: sh, data } = src;
  const out = new Float32Array(width * height);
  const sx = sw / width;
  const sy = sh / height;
  // Column taps depend on x only: left/right source columns and the right one's weight, computed once.
  const colL = new Int32Array(width);
  const colR = new Int32Array(width);
  const colT = new Float64Array(width);
  for (let x = 0; x < width; x++) {
    const fx = Math.min(sw - 1, Math.max(0, (x + 0.5) * sx - 0.5));
    colL[x] = Math.floor(fx);
    colR[x] = Math.min(sw - 1, colL[x]! + 1);
    colT[x] = fx - colL[x]!;
  }
  for (let y = 0; y < height; y++) {
    const fy = Math.min(sh - 1, Math.max(0, (y + 0.5) * sy - 0.5));
    const y0 = Math.floor(fy);
    const ty = fy - y0;
    const top = y0 * sw;
    const bottom = Math.min(sh - 1, y0 + 1) * sw;
    for (let x = 0; x < width; x++) {
      const l = colL[x]!;
      const r = colR[x]!;
      const tx = colT[x]!;
      let acc = 0;
      let wsum = 0;
      // The four neighbours; `v > 0 && v < Infinity` is "known" (false for NaN too).
      const v00 = data[top + l]!;
      const v01 = data[top + r]!;
      const v10 = data[bottom + l]!;
      const v11 = data[bottom + r]!;
      if (v00 > 0 && v00 < Infinity) {
        const w = (1 - tx) * (1 - ty);
        acc += v00 * w;
        wsum += w;
      }
      if (v01 > 0 && v01 < Infinity) {
        const w = tx * (1 - ty);
        acc += v01 * w;
        wsum += w;
      }
      if (v10 > 0 && v10 < Infinity) {
        const w = (1 - tx) * ty;
        acc += v10 * w;
        wsum += w;
      }
      if (v11 > 0 && v11 < Infinity) {
        const w = tx * ty;
        acc += v11 * w;
        wsum += w;
      }
      out[y * width + x] = wsum > 0 ? acc / wsum : 0;
    }
  }
  return out;
}
