import { DioramaError } from '../core/errors';
import type { FloatImage } from './pfm';

/**
 * Decodes a NumPy .npy file holding a 2-D array (H, W) — or (1, H, W) / (H, W, 1) — of float32, float64,
 * uint16, int32 or uint8, C order, little- or big-endian, into a Float32Array.
 */
export function decodeNPY(bytes: Uint8Array): FloatImage {
  if (bytes.length < 10 || bytes[0] !== 0x93 || String.fromCharCode(...bytes.subarray(1, 6)) !== 'NUMPY') {
    throw new DioramaError('DECODE_FAILED', 'NPY: expected the magic "\\x93NUMPY"');
  }
  const major = bytes[6]!;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerStart = major === 1 ? 10 : 12;
  if (bytes.length < headerStart) throw new DioramaError('DECODE_FAILED', `NPY: expected at least ${headerStart} bytes of preamble; found ${bytes.length}`);
  const headerLen = major === 1 ? view.getUint16(8, true) : view.getUint32(8, true);
  if (bytes.length < headerStart + headerLen) {
    throw new DioramaError('DECODE_FAILED', `NPY: expected a ${headerLen}-byte header; found ${bytes.length - headerStart} bytes after the preamble`);
  }
  const header = new TextDecoder('latin1').decode(bytes.subarray(headerStart, headerStart + headerLen));
  const descr = /'descr'\s*:\s*'([^']+)'/.exec(header)?.[1];
  const fortran = /'fortran_order'\s*:\s*True/.test(header);
  const shapeText = /'shape'\s*:\s*\(([^)]*)\)/.exec(header)?.[1];
  if (!descr || shapeText === undefined) throw new DioramaError('DECODE_FAILED', `NPY: unreadable header '${header.trim()}'`);
  if (fortran) throw new DioramaError('UNSUPPORTED_FORMAT', 'NPY: Fortran-order arrays are not supported; save with C order');
  const shape = shapeText.split(',').map((s) => s.trim()).filter(Boolean).map(Number);
  const dims = shape.filter((d) => d !== 1);
  if (dims.length !== 2 && !(dims.length < 2 && shape.length >= 2)) {
    throw new DioramaError('UNSUPPORTED_FORMAT', `NPY: expected a 2-D array (H, W); found shape (${shape.join(', ')})`);
  }
  // (H, W) as is; otherwise drop unit axes. When a unit axis is part of the image itself (one row or one
  // column, e.g. (1, 1, W) or (H, 1, 1)), drop leading unit axes first, then trailing ones, down to two.
  let hw = shape;
  if (shape.length > 2 && dims.length === 2) hw = dims;
  else if (shape.length > 2) {
    hw = shape.slice();
    while (hw.length > 2 && hw[0] === 1) hw.shift();
    while (hw.length > 2 && hw[hw.length - 1] === 1) hw.pop();
  }
  const H = hw[0]!;
  const W = hw[1]!;
  if (!Number.isInteger(H) || !Number.isInteger(W) || H < 1 || W < 1) {
    throw new DioramaError('DECODE_FAILED', `NPY: expected positive integer dimensions; found shape (${shapeText.trim()})`);
  }
  const little = descr[0] !== '>';
  const kind = descr.slice(1);
  const size: Record<string, number> = { f4: 4, f8: 8, u2: 2, i4: 4, u1: 1, i2: 2 };
  const bs = size[kind];
  if (!bs) throw new DioramaError('UNSUPPORTED_FORMAT', `NPY: dtype '${descr}' not supported; expected float32/float64/uint16/int32/uint8`);
  const offset = headerStart + headerLen;
  const n = W * H;
  if (bytes.length - offset < n * bs) throw new DioramaError('DECODE_FAILED', `NPY: expected ${n * bs} data bytes; found ${bytes.length - offset}`);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const o = offset + i * bs;
    switch (kind) {
      case 'f4': out[i] = view.getFloat32(o, little); break;
      case 'f8': out[i] = view.getFloat64(o, little); break;
      case 'u2': out[i] = view.getUint16(o, little); break;
      case 'i2': out[i] = view.getInt16(o, little); break;
      case 'i4': out[i] = view.getInt32(o, little); break;
      default: out[i] = bytes[o]!;
    }
  }
  return { width: W, height: H, data: out };
}

/** Encodes a float32 (H, W) little-endian .npy file. */
export function encodeNPY(img: FloatImage): Uint8Array {
  let header = `{'descr': '<f4', 'fortran_order': False, 'shape': (${img.height}, ${img.width}), }`;
  const pad = 64 - ((10 + header.length + 1) % 64);
  header += ' '.repeat(pad % 64) + '\n';
  const out = new Uint8Array(10 + header.length + img.data.length * 4);
  out[0] = 0x93;
  out.set(new TextEncoder().encode('NUMPY'), 1);
  out[6] = 1;
  out[7] = 0;
  new DataView(out.buffer).setUint16(8, header.length, true);
  out.set(new TextEncoder().encode(header), 10);
  const view = new DataView(out.buffer, 10 + header.length);
  for (let i = 0; i < img.data.length; i++) view.setFloat32(i * 4, img.data[i]!, true);
  return out;
}
