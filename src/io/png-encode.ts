/**
 * A minimal lossless PNG encoder for RGBA8 (PNG specification, ISO/IEC 15948): used for the layer textures
 * of the GLB export, so that straight-alpha colours are stored exactly (a 2D canvas keeps premultiplied
 * pixels and would round the colour of semi-transparent texels). Rows use the Sub filter (each byte minus
 * the same channel of the pixel to its left), which suits photographs; the stream is compressed with the
 * platform's CompressionStream('deflate') (zlib format, as PNG requires).
 */
import { DioramaError } from '../core/errors';
import type { RGBAImage } from '../core/types';

let crcTable: Uint32Array | null = null;

/** CRC-32 (polynomial 0xEDB88320, reflected) over `bytes`, as PNG chunks use. */
function crc32(bytes: Uint8Array, start: number, end: number): number {
  if (!crcTable) {
    crcTable = new Uint32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      crcTable[n] = c >>> 0;
    }
  }
  let c = 0xffffffff;
  for (let i = start; i < end; i++) c = crcTable[(c ^ bytes[i]!) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

async function deflate(data: Uint8Array): Promise<Uint8Array> {
  if (typeof CompressionStream === 'undefined') throw new DioramaError('UNSUPPORTED_FORMAT', 'PNG encoding needs CompressionStream, which this platform lacks');
  const stream = new Blob([data as BlobPart]).stream().pipeThrough(new CompressionStream('deflate'));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

/** Encodes an RGBA8 image (straight alpha) as a PNG file. */
export async function encodePNG(img: RGBAImage): Promise<Uint8Array> {
  const { width: W, height: H, data } = img;
  const stride = W * 4;
  const raw = new Uint8Array(H * (stride + 1));
  for (let y = 0; y < H; y++) {
    const o = y * (stride + 1);
    const s = y * stride;
    raw[o] = 1; // Sub
    for (let i = 0; i < stride; i++) raw[o + 1 + i] = (data[s + i]! - (i >= 4 ? data[s + i - 4]! : 0)) & 0xff;
  }
  const idat = await deflate(raw);
  const chunks: [string, Uint8Array][] = [];
  const ihdr = new Uint8Array(13);
  const hv = new DataView(ihdr.buffer);
  hv.setUint32(0, W);
  hv.setUint32(4, H);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 6; // RGBA
  chunks.push(['IHDR', ihdr], ['IDAT', idat], ['IEND', new Uint8Array(0)]);
  const total = 8 + chunks.reduce((n, [, d]) => n + 12 + d.length, 0);
  const out = new Uint8Array(total);
  const ov = new DataView(out.buffer);
  out.set([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a], 0);
  let p = 8;
  for (const [type, d] of chunks) {
    ov.setUint32(p, d.length);
    for (let i = 0; i < 4; i++) out[p + 4 + i] = type.charCodeAt(i);
    out.set(d, p + 8);
    ov.setUint32(p + 8 + d.length, crc32(out, p + 4, p + 8 + d.length));
    p += 12 + d.length;
  }
  return out;
}
