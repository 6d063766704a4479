import { describe, expect, it } from 'vitest';
import sharp from 'sharp';
import { decodeDepthPNG16, decodeGreyPNG } from '../src/io/png16';
import { DioramaError } from '../src/core/errors';

/** A deterministic 16-bit ramp with structure in both axes so that every PNG filter type gets exercised. */
function ramp(w: number, h: number): Uint16Array {
  const v = new Uint16Array(w * h);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) v[y * w + x] = (x * 977 + y * 131 + ((x * y) % 17) * 3001) & 0xffff;
  return v;
}

async function encode16(v: Uint16Array, w: number, h: number): Promise<Uint8Array> {
  // sharp takes the sample depth from the typed array (Uint16Array → 16-bit) and writes big-endian PNG samples.
  return new Uint8Array(await sharp(v, { raw: { width: w, height: h, channels: 1 } }).toColourspace('grey16').png({ compressionLevel: 6, adaptiveFiltering: true }).toBuffer());
}

describe('decodeGreyPNG', () => {
  it('keeps all 16 bits of every sample (row order, no flips)', async () => {
    const w = 37, h = 23;
    const v = ramp(w, h);
    const png = await encode16(v, w, h);
    const g = await decodeGreyPNG(png);
    expect([g.width, g.height, g.bitDepth]).toEqual([w, h, 16]);
    expect(Array.from(g.data)).toEqual(Array.from(v));
  });

  it('converts millimetres to metres', async () => {
    const v = new Uint16Array([0, 1, 1500, 65535]);
    const d = await decodeDepthPNG16(await encode16(v, 2, 2));
    expect(Array.from(d.data)).toEqual([0, 0.001, 1.5, 65.535].map(Math.fround));
  });

  it('reads 8-bit greyscale and rejects colour and truncated files with typed errors', async () => {
    const g8 = await sharp(Buffer.from([0, 10, 200, 255]), { raw: { width: 2, height: 2, channels: 1 } }).toColourspace('b-w').png().toBuffer();
    expect(Array.from((await decodeGreyPNG(new Uint8Array(g8))).data)).toEqual([0, 10, 200, 255]);
    const rgb = await sharp(Buffer.alloc(12, 7), { raw: { width: 2, height: 2, channels: 3 } }).png().toBuffer();
    await expect(decodeGreyPNG(new Uint8Array(rgb))).rejects.toMatchObject({ code: 'UNSUPPORTED_FORMAT' });
    const ok = await encode16(ramp(16, 16), 16, 16);
    await expect(decodeGreyPNG(ok.subarray(0, ok.length - 40))).rejects.toBeInstanceOf(DioramaError);
    await expect(decodeGreyPNG(new Uint8Array([1, 2, 3]))).rejects.toMatchObject({ code: 'DECODE_FAILED' });
  });
});
