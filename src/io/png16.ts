/**
 * Browser-safe decoder for greyscale PNG depth and label maps, keeping all 16 bits (a canvas would round them
 * to 8). Handles colour type 0 (greyscale) and 4 (grey + alpha, alpha ignored) at bit depth 8 or 16,
 * non-interlaced; other PNGs get an UNSUPPORTED_FORMAT error naming what was found. Inflate uses the
 * platform's `DecompressionStream('deflate')` (zlib format, which is what IDAT holds): browsers and Node ≥ 18.
 *
 * PNG structure (ISO/IEC 15948): 8-byte signature, then chunks [length u32 BE][type 4 bytes][data][crc];
 * IHDR first; the IDAT chunks concatenated form one zlib stream of scanlines, each prefixed by a filter
 * byte (0 none, 1 sub, 2 up, 3 average, 4 Paeth) that predicts each byte from the byte `bpp` to its left,
 * the byte above, and the byte above-left.
 */
import { DioramaError } from '../core/errors';

const SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

export interface GreyImage {
  width: number;
  height: number;
  /** 8 or 16. */
  bitDepth: number;
  /** Sample values (0–255 or 0–65535), row-major from the top row. */
  data: Uint16Array;
}

/** True when the bytes start with the PNG signature. */
export function isPNG(bytes: Uint8Array): boolean {
  return bytes.length >= 8 && SIGNATURE.every((b, i) => bytes[i] === b);
}

/** Decodes a greyscale PNG (8 or 16 bit) into its raw sample values. */
export async function decodeGreyPNG(bytes: Uint8Array): Promise<GreyImage> {
  if (!isPNG(bytes)) throw new DioramaError('DECODE_FAILED', 'PNG: expected the 8-byte PNG signature');
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let pos = 8;
  let width = 0;
  let height = 0;
  let bitDepth = 0;
  let colourType = -1;
  const idat: Uint8Array[] = [];
  while (pos + 12 <= bytes.length) {
    const len = view.getUint32(pos);
    const type = String.fromCharCode(bytes[pos + 4]!, bytes[pos + 5]!, bytes[pos + 6]!, bytes[pos + 7]!);
    const start = pos + 8;
    if (start + len + 4 > bytes.length) throw new DioramaError('DECODE_FAILED', `PNG: chunk '${type}' of ${len} bytes runs past the end of the file (truncated?)`);
    if (type === 'IHDR') {
      width = view.getUint32(start);
      height = view.getUint32(start + 4);
      bitDepth = bytes[start + 8]!;
      colourType = bytes[start + 9]!;
      const interlace = bytes[start + 12]!;
      if (interlace !== 0) throw new DioramaError('UNSUPPORTED_FORMAT', 'PNG: interlaced images are not supported; save without interlacing');
    } else if (type === 'IDAT') {
      idat.push(bytes.subarray(start, start + len));
    } else if (type === 'IEND') break;
    pos = start + len + 4;
  }
  if (!width || !height) throw new DioramaError('DECODE_FAILED', 'PNG: no IHDR chunk with a non-zero size');
  if ((colourType !== 0 && colourType !== 4) || (bitDepth !== 8 && bitDepth !== 16)) {
    throw new DioramaError(
      'UNSUPPORTED_FORMAT',
      `PNG: expected an 8- or 16-bit greyscale image; found colour type ${colourType} at ${bitDepth} bits`,
    );
  }
  if (idat.length === 0) throw new DioramaError('DECODE_FAILED', 'PNG: no image data (IDAT) chunk');
  const channels = colourType === 4 ? 2 : 1;
  const bpp = (channels * bitDepth) / 8;
  const stride = width * bpp;
  const raw = await inflate(idat);
  if (raw.length < (stride + 1) * height) {
    throw new DioramaError('DECODE_FAILED', `PNG: image data holds ${raw.length} bytes; expected ${(stride + 1) * height} for ${width}x${height}`);
  }
  const out = new Uint16Array(width * height);
  let prev = new Uint8Array(stride);
  let cur = new Uint8Array(stride);
  for (let y = 0; y < height; y++) {
    const off = y * (stride + 1);
    const filter = raw[off]!;
    const line = raw.subarray(off + 1, off + 1 + stride);
    unfilter(filter, line, prev, cur, bpp, y);
    const row = y * width;
    if (bitDepth === 16) for (let x = 0; x < width; x++) out[row + x] = (cur[x * bpp]! << 8) | cur[x * bpp + 1]!;
    else for (let x = 0; x < width; x++) out[row + x] = cur[x * bpp]!;
    const t = prev;
    prev = cur;
    cur = t;
  }
  return { width, height, bitDepth, data: out };
}

function unfilter(filter: number, line: Uint8Array, prev: Uint8Array, cur: Uint8Array, bpp: number, y: number): void {
  const n = line.length;
  switch (filter) {
    case 0:
      cur.set(line);
      return;
    case 1:
      for (let i = 0; i < n; i++) cur[i] = (line[i]! + (i >= bpp ? cur[i - bpp]! : 0)) & 255;
      return;
    case 2:
      for (let i = 0; i < n; i++) cur[i] = (line[i]! + prev[i]!) & 255;
      return;
    case 3:
      for (let i = 0; i < n; i++) cur[i] = (line[i]! + (((i >= bpp ? cur[i - bpp]! : 0) + prev[i]!) >> 1)) & 255;
      return;
    case 4:
      for (let i = 0; i < n; i++) {
        const a = i >= bpp ? cur[i - bpp]! : 0;
        const b = prev[i]!;
        const c = i >= bpp ? prev[i - bpp]! : 0;
        const p = a + b - c;
        const pa = Math.abs(p - a);
        const pb = Math.abs(p - b);
        const pc = Math.abs(p - c);
        cur[i] = (line[i]! + (pa <= pb && pa <= pc ? a : pb <= pc ? b : c)) & 255;
      }
      return;
    default:
      throw new DioramaError('DECODE_FAILED', `PNG: row ${y} has filter type ${filter}; expected 0–4`);
  }
}

async function inflate(parts: Uint8Array[]): Promise<Uint8Array> {
  const stream = new Blob(parts as BlobPart[]).stream().pipeThrough(new DecompressionStream('deflate'));
  try {
    return new Uint8Array(await new Response(stream).arrayBuffer());
  } catch (e) {
    throw new DioramaError('DECODE_FAILED', `PNG: the compressed image data is corrupt (${(e as Error).message})`, { cause: e });
  }
}

/** Decodes a 16-bit greyscale PNG in millimetres into metres (0 = unknown). */
export async function decodeDepthPNG16(bytes: Uint8Array): Promise<{ width: number; height: number; data: Float32Array }> {
  const g = await decodeGreyPNG(bytes);
  if (g.bitDepth !== 16) throw new DioramaError('UNSUPPORTED_FORMAT', `PNG depth: expected 16-bit greyscale in millimetres; found ${g.bitDepth}-bit`);
  const data = new Float32Array(g.data.length);
  for (let i = 0; i < data.length; i++) data[i] = g.data[i]! / 1000;
  return { width: g.width, height: g.height, data };
}
