import { DioramaError } from '../core/errors';

/** A single-channel float image. */
export interface FloatImage {
  width: number;
  height: number;
  data: Float32Array;
}

function readLine(bytes: Uint8Array, start: number): [string, number] {
  let end = start;
  while (end < bytes.length && bytes[end] !== 0x0a) end++;
  if (end >= bytes.length) throw new DioramaError('DECODE_FAILED', 'PFM: header ended before a newline');
  return [new TextDecoder('latin1').decode(bytes.subarray(start, end)).trim(), end + 1];
}

/**
 * Decodes a PFM file. Single-channel (`Pf`) files are returned as is; colour (`PF`) files keep their first
 * channel. Rows are flipped from PFM's bottom-to-top order to top-to-bottom.
 */
export function decodePFM(bytes: Uint8Array): FloatImage {
  const [magic, p1] = readLine(bytes, 0);
  if (magic !== 'Pf' && magic !== 'PF') {
    throw new DioramaError('DECODE_FAILED', `PFM: expected magic 'Pf' or 'PF', found '${magic.slice(0, 8)}'`);
  }
  const channels = magic === 'PF' ? 3 : 1;
  let [dims, p2] = readLine(bytes, p1);
  // Some writers put width and height on separate lines.
  let parts = dims.split(/\s+/).filter(Boolean);
  if (parts.length === 1) {
    const [h, p3] = readLine(bytes, p2);
    parts = [parts[0]!, h];
    p2 = p3;
    dims = parts.join(' ');
  }
  const width = Number(parts[0]);
  const height = Number(parts[1]);
  if (!Number.isInteger(width) || !Number.isInteger(height) || width <= 0 || height <= 0) {
    throw new DioramaError('DECODE_FAILED', `PFM: expected positive integer 'width height', found '${dims}'`);
  }
  const [scaleText, offset] = readLine(bytes, p2);
  const scale = Number(scaleText);
  if (!Number.isFinite(scale) || scale === 0) {
    throw new DioramaError('DECODE_FAILED', `PFM: expected a non-zero scale, found '${scaleText}'`);
  }
  const littleEndian = scale < 0;
  const need = width * height * channels * 4;
  if (bytes.length - offset < need) {
    throw new DioramaError('DECODE_FAILED', `PFM: expected ${need} bytes of ${width}x${height}x${channels} floats, found ${bytes.length - offset}`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset + offset, need);
  const data = new Float32Array(width * height);
  for (let y = 0; y < height; y++) {
    const srcRow = height - 1 - y;
    for (let x = 0; x < width; x++) {
      data[y * width + x] = view.getFloat32(((srcRow * width + x) * channels) * 4, littleEndian);
    }
  }
  return { width, height, data };
}

/** Encodes a single-channel little-endian PFM (rows bottom-to-top, as the format requires). */
export function encodePFM(img: FloatImage): Uint8Array {
  const header = new TextEncoder().encode(`Pf\n${img.width} ${img.height}\n-1.0\n`);
  const out = new Uint8Array(header.length + img.width * img.height * 4);
  out.set(header, 0);
  const view = new DataView(out.buffer, header.length);
  for (let y = 0; y < img.height; y++) {
    const dstRow = img.height - 1 - y;
    for (let x = 0; x < img.width; x++) {
      view.setFloat32((dstRow * img.width + x) * 4, img.data[y * img.width + x]!, true);
    }
  }
  return out;
}
