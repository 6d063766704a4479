/**
 * File formats: PFM (src/io/pfm.ts), NPY (src/io/npy.ts) and the Node readers of src/node.ts; the depth
 * resampling of the browser loader (src/io/browser-decode.ts).
 * NPY files are assembled byte by byte here (header dict, padding, little/big-endian payloads) so the decoder
 * is checked against the format's definition, not against our own encoder only.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll } from 'vitest';
import sharp from 'sharp';
import { decodePFM, encodePFM } from '../src/io/pfm';
import { decodeNPY, encodeNPY } from '../src/io/npy';
import { decodeImageBytes, readDepthFile, readLabelFile, writeDepthPNG16 } from '../src/node';
import { DioramaError } from '../src/core/errors';
import { resampleDepth } from '../src/io/browser-decode';

const ascii = (s: string): Uint8Array => new TextEncoder().encode(s);

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/** Asserts a DioramaError with `code` whose message matches `msg`. */
async function expectCode(f: () => unknown, code: string, msg?: RegExp): Promise<void> {
  let caught: unknown;
  try {
    await f();
  } catch (e) {
    caught = e;
  }
  expect(caught, 'expected a throw').toBeInstanceOf(DioramaError);
  expect((caught as DioramaError).code).toBe(code);
  if (msg) expect((caught as Error).message).toMatch(msg);
}

/**
 * A version-1 .npy file: magic, version 1.0, uint16 header length, the header dict padded with spaces and a
 * final newline so that the payload starts on a 64-byte boundary, then the payload.
 */
function npyV1(descr: string, shape: number[], payload: Uint8Array, extra = ''): Uint8Array {
  const shapeText = shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`;
  let dict = `{'descr': '${descr}', 'fortran_order': ${extra === 'fortran' ? 'True' : 'False'}, 'shape': ${shapeText}, }`;
  const total = 10 + dict.length + 1;
  dict += ' '.repeat((64 - (total % 64)) % 64) + '\n';
  const pre = new Uint8Array(10);
  pre[0] = 0x93;
  pre.set(ascii('NUMPY'), 1);
  pre[6] = 1;
  pre[7] = 0;
  new DataView(pre.buffer).setUint16(8, dict.length, true);
  return concat(pre, ascii(dict), payload);
}

/** Version 2.0: same, with a uint32 header length (12-byte preamble). */
function npyV2(descr: string, shape: number[], payload: Uint8Array): Uint8Array {
  let dict = `{'descr': '${descr}', 'fortran_order': False, 'shape': (${shape.join(', ')}), }`;
  const total = 12 + dict.length + 1;
  dict += ' '.repeat((64 - (total % 64)) % 64) + '\n';
  const pre = new Uint8Array(12);
  pre[0] = 0x93;
  pre.set(ascii('NUMPY'), 1);
  pre[6] = 2;
  new DataView(pre.buffer).setUint32(8, dict.length, true);
  return concat(pre, ascii(dict), payload);
}

describe('PFM', () => {
  it('round-trips any float32 image bit for bit', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 9 }),
        fc.integer({ min: 1, max: 9 }),
        fc.array(fc.float({ noDefaultInfinity: false }), { minLength: 81, maxLength: 81 }),
        (w, h, vals) => {
          const data = Float32Array.from(vals.slice(0, w * h));
          const back = decodePFM(encodePFM({ width: w, height: h, data }));
          expect(back.width).toBe(w);
          expect(back.height).toBe(h);
          for (let i = 0; i < w * h; i++) expect(Object.is(back.data[i], data[i]) || (Number.isNaN(back.data[i]) && Number.isNaN(data[i]))).toBe(true);
        },
      ),
      { numRuns: 100 },
    );
  });

  it('stores rows bottom-to-top: pixel (0, 0) of the decoded image is the top-left one', () => {
    // 3×2 image, top row [1, 2, 3], bottom row [4, 5, 6].
    const bytes = encodePFM({ width: 3, height: 2, data: Float32Array.from([1, 2, 3, 4, 5, 6]) });
    const header = ascii('Pf\n3 2\n-1.0\n');
    expect(Array.from(bytes.subarray(0, header.length))).toEqual(Array.from(header));
    const payload = new DataView(bytes.buffer, bytes.byteOffset + header.length);
    // On disk the first row is the image's bottom row, little-endian (negative scale).
    expect([0, 1, 2, 3, 4, 5].map((k) => payload.getFloat32(4 * k, true))).toEqual([4, 5, 6, 1, 2, 3]);
    const img = decodePFM(bytes);
    expect(img.data[0]).toBe(1);
    expect(Array.from(img.data)).toEqual([1, 2, 3, 4, 5, 6]);
  });

  it('decodes a hand-written big-endian colour (PF) file, keeping the first channel, and split header lines', () => {
    // 2×2 'PF' (RGB), positive scale = big-endian; bottom row first. Width and height on separate lines.
    const header = ascii('PF\n2\n2\n1.0\n');
    const payload = new Uint8Array(2 * 2 * 3 * 4);
    const v = new DataView(payload.buffer);
    const onDisk = [[7, 8], [1, 2]]; // rows bottom, top: R channel
    let o = 0;
    for (const row of onDisk) {
      for (const r of row) {
        v.setFloat32(o, r, false);
        v.setFloat32(o + 4, -99, false);
        v.setFloat32(o + 8, -99, false);
        o += 12;
      }
    }
    const img = decodePFM(concat(header, payload));
    expect(img).toEqual({ width: 2, height: 2, data: Float32Array.from([1, 2, 7, 8]) });
  });

  it('rejects corrupt or truncated files with DECODE_FAILED naming what was expected', async () => {
    const good = encodePFM({ width: 4, height: 3, data: new Float32Array(12).fill(2) });
    await expectCode(() => decodePFM(good.subarray(0, good.length - 1)), 'DECODE_FAILED', /expected 48 bytes of 4x3x1 floats, found 47/);
    await expectCode(() => decodePFM(ascii('P6\n4 3\n255\n')), 'DECODE_FAILED', /expected magic 'Pf' or 'PF', found 'P6'/);
    await expectCode(() => decodePFM(ascii('Pf\n4 x\n-1\n')), 'DECODE_FAILED', /expected positive integer 'width height', found '4 x'/);
    await expectCode(() => decodePFM(ascii('Pf\n0 3\n-1\n')), 'DECODE_FAILED', /width height/);
    await expectCode(() => decodePFM(ascii('Pf\n4 3\n0\n')), 'DECODE_FAILED', /non-zero scale, found '0'/);
    await expectCode(() => decodePFM(ascii('Pf\n4 3')), 'DECODE_FAILED', /header ended before a newline/);
    await expectCode(() => decodePFM(new Uint8Array(0)), 'DECODE_FAILED');
  });
});

describe('NPY', () => {
  it('round-trips float32 through encodeNPY, with the payload 64-byte aligned', () => {
    const data = Float32Array.from({ length: 15 }, (_, i) => (i - 7) * 0.37);
    const bytes = encodeNPY({ width: 5, height: 3, data });
    const headerLen = new DataView(bytes.buffer).getUint16(8, true);
    expect((10 + headerLen) % 64).toBe(0);
    expect(decodeNPY(bytes)).toEqual({ width: 5, height: 3, data });
  });

  it('decodes hand-built float64, uint16 (little and big endian), uint8, int32 files', () => {
    const f8 = new Uint8Array(6 * 8);
    const vals = [0.1, -2.5, 1e-3, 7, 123456.789, Math.PI];
    vals.forEach((x, i) => new DataView(f8.buffer).setFloat64(8 * i, x, true));
    expect(decodeNPY(npyV1('<f8', [2, 3], f8))).toEqual({ width: 3, height: 2, data: Float32Array.from(vals) });

    const u2le = new Uint8Array(4 * 2);
    const u2be = new Uint8Array(4 * 2);
    [0, 1, 1000, 65535].forEach((x, i) => {
      new DataView(u2le.buffer).setUint16(2 * i, x, true);
      new DataView(u2be.buffer).setUint16(2 * i, x, false);
    });
    const expected = { width: 2, height: 2, data: Float32Array.from([0, 1, 1000, 65535]) };
    expect(decodeNPY(npyV1('<u2', [2, 2], u2le))).toEqual(expected);
    expect(decodeNPY(npyV1('>u2', [2, 2], u2be))).toEqual(expected);
    expect(decodeNPY(npyV1('|u1', [1, 3], Uint8Array.from([0, 128, 255])))).toEqual({ width: 3, height: 1, data: Float32Array.from([0, 128, 255]) });
    const i4 = new Uint8Array(8);
    new DataView(i4.buffer).setInt32(0, -1, true);
    new DataView(i4.buffer).setInt32(4, 42, true);
    expect(decodeNPY(npyV2('<i4', [2, 1], i4))).toEqual({ width: 1, height: 2, data: Float32Array.from([-1, 42]) });
  });

  it('accepts (1, H, W) and (H, W, 1) shapes, including one-row and one-column images', () => {
    const p = new Uint8Array(new Float32Array([1, 2, 3, 4, 5, 6]).buffer);
    expect(decodeNPY(npyV1('<f4', [1, 2, 3], p))).toMatchObject({ width: 3, height: 2 });
    expect(decodeNPY(npyV1('<f4', [2, 3, 1], p))).toMatchObject({ width: 3, height: 2 });
    const row = new Uint8Array(new Float32Array([1, 2, 3, 4, 5]).buffer);
    // A single row: (1, 1, 5) is one row of 5 pixels, not a 1×1 image (fixed: it decoded as 1×1).
    expect(decodeNPY(npyV1('<f4', [1, 1, 5], row))).toEqual({ width: 5, height: 1, data: Float32Array.from([1, 2, 3, 4, 5]) });
    expect(decodeNPY(npyV1('<f4', [5, 1, 1], row))).toEqual({ width: 1, height: 5, data: Float32Array.from([1, 2, 3, 4, 5]) });
    expect(decodeNPY(npyV1('<f4', [1, 1], row.subarray(0, 4)))).toEqual({ width: 1, height: 1, data: Float32Array.from([1]) });
  });

  it('rejects unsupported layouts with UNSUPPORTED_FORMAT', async () => {
    const p = new Uint8Array(64);
    await expectCode(() => decodeNPY(npyV1('<f4', [2, 2], p, 'fortran')), 'UNSUPPORTED_FORMAT', /Fortran-order/);
    await expectCode(() => decodeNPY(npyV1('<f4', [2, 2, 2], p)), 'UNSUPPORTED_FORMAT', /expected a 2-D array \(H, W\); found shape \(2, 2, 2\)/);
    await expectCode(() => decodeNPY(npyV1('<f4', [4], p)), 'UNSUPPORTED_FORMAT', /found shape \(4\)/);
    await expectCode(() => decodeNPY(npyV1('<c8', [2, 2], p)), 'UNSUPPORTED_FORMAT', /dtype '<c8' not supported/);
  });

  it('rejects corrupt or truncated files with DECODE_FAILED', async () => {
    const good = npyV1('<f4', [3, 4], new Uint8Array(48));
    await expectCode(() => decodeNPY(good.subarray(0, good.length - 4)), 'DECODE_FAILED', /expected 48 data bytes; found 44/);
    await expectCode(() => decodeNPY(good.subarray(0, 40)), 'DECODE_FAILED', /header/);
    await expectCode(() => decodeNPY(good.subarray(0, 5)), 'DECODE_FAILED', /magic/);
    await expectCode(() => decodeNPY(ascii('PK\x03\x04 not numpy at all')), 'DECODE_FAILED', /magic/);
    // Version 2 preamble cut inside its 4-byte header length (read past the end before the fix).
    await expectCode(() => decodeNPY(npyV2('<f4', [1, 1], new Uint8Array(4)).subarray(0, 11)), 'DECODE_FAILED', /12 bytes of preamble; found 11/);
    const noShape = concat(good.subarray(0, 10), ascii("{'descr': '<f4', 'fortran_order': False, }".padEnd(good.length - 10 - 48 - 1) + '\n'), new Uint8Array(48));
    await expectCode(() => decodeNPY(noShape), 'DECODE_FAILED', /unreadable header/);
    await expectCode(() => decodeNPY(npyV1('<f4', [-2, 3], new Uint8Array(48))), 'DECODE_FAILED', /positive integer dimensions/);
  });
});

describe('Node readers (src/node.ts)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'diorama-io-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('reads .pfm, .npy and 16-bit millimetre .png depth maps to the same metres', async () => {
    const W = 5, H = 4;
    const metres = Float32Array.from({ length: W * H }, (_, i) => (i === 7 ? 0 : 0.5 + 0.25 * i));
    writeFileSync(join(dir, 'd.pfm'), encodePFM({ width: W, height: H, data: metres }));
    writeFileSync(join(dir, 'd.npy'), encodeNPY({ width: W, height: H, data: metres }));
    await writeDepthPNG16(join(dir, 'd.png'), metres, W, H);
    for (const ext of ['pfm', 'npy', 'png']) {
      const d = await readDepthFile(join(dir, `d.${ext}`));
      expect(d.width).toBe(W);
      expect(d.height).toBe(H);
      // PNG stores whole millimetres: these values are multiples of 0.25 m, so mm/1000 is exact in float32
      // up to one rounding of the division.
      for (let i = 0; i < W * H; i++) expect(Math.abs(d.data[i]! - metres[i]!)).toBeLessThanOrEqual(metres[i]! * 2 ** -23);
    }
  });

  it('reads label maps (.png: 0 = none, k = mask k−1; .npy: negative = none)', async () => {
    const labels = Float32Array.from([-1, 0, 1, 2, 0, -1]);
    writeFileSync(join(dir, 'l.npy'), encodeNPY({ width: 3, height: 2, data: labels }));
    expect(Array.from((await readLabelFile(join(dir, 'l.npy'))).labels)).toEqual([-1, 0, 1, 2, 0, -1]);
    const asPng = Float32Array.from(labels, (l) => (l + 1) / 1000); // writeDepthPNG16 writes round(v·1000)
    await writeDepthPNG16(join(dir, 'l.png'), asPng, 3, 2);
    const fromPng = await readLabelFile(join(dir, 'l.png'));
    expect(fromPng).toMatchObject({ width: 3, height: 2 });
    expect(Array.from(fromPng.labels)).toEqual([-1, 0, 1, 2, 0, -1]);
    // 8-bit greyscale PNG: samples are taken as they are (not rescaled to 16 bits).
    await sharp(Uint8Array.from([0, 1, 2, 3, 1, 0]), { raw: { width: 3, height: 2, channels: 1 } }).toColourspace('b-w').png().toFile(join(dir, 'l8.png'));
    expect(Array.from((await readLabelFile(join(dir, 'l8.png'))).labels)).toEqual([-1, 0, 1, 2, 0, -1]);
    // ...but an 8-bit PNG is not accepted as a millimetre depth map (255 mm at most).
    await expectCode(() => readDepthFile(join(dir, 'l8.png')), 'UNSUPPORTED_FORMAT', /expected a 16-bit greyscale PNG in millimetres; found 8-bit with 1 channels/);
  });

  it('reports unreadable, corrupt and unsupported files as typed errors', async () => {
    writeFileSync(join(dir, 'bad.png'), ascii('this is not a png'));
    writeFileSync(join(dir, 'bad.pfm'), ascii('Pf\n10 10\n-1\n\x00\x00'));
    writeFileSync(join(dir, 'd.exr'), new Uint8Array(4));
    await expectCode(() => readDepthFile(join(dir, 'missing.pfm')), 'DECODE_FAILED', /cannot read depth file/);
    await expectCode(() => readDepthFile(join(dir, 'bad.pfm')), 'DECODE_FAILED', /expected 400 bytes/);
    await expectCode(() => readDepthFile(join(dir, 'bad.png')), 'DECODE_FAILED', /bad\.png: not a decodable image/);
    await expectCode(() => readDepthFile(join(dir, 'd.exr')), 'UNSUPPORTED_FORMAT', /\.pfm, \.npy or a 16-bit \.png.*found '\.exr'/);
    await expectCode(() => readLabelFile(join(dir, 'bad.png')), 'DECODE_FAILED', /not a decodable image/);
    await expectCode(() => readLabelFile(join(dir, 'missing.png')), 'DECODE_FAILED', /cannot read label file/);
    await expectCode(() => decodeImageBytes(new Uint8Array(0), 'x.jpg'), 'DECODE_FAILED', /x\.jpg: the file is empty/);
    await expectCode(() => decodeImageBytes(ascii('garbage'), 'x.jpg'), 'DECODE_FAILED', /x\.jpg: not a decodable image/);
  });
});

describe('resampleDepth (src/io/browser-decode.ts)', () => {
  const resample = (data: number[], sw: number, sh: number, W: number, H: number): number[] =>
    Array.from(resampleDepth({ width: sw, height: sh, data: new Float32Array(data) }, W, H));

  it('interpolates bilinearly between pixel centres, borders replicated', () => {
    // 2 → 4 columns: output centres map to source x = 0.25·(2i + 1) − 0.5 = −0.25, 0.25, 0.75, 1.25,
    // clamped to [0, 1]: weights of the right pixel 0, 0.25, 0.75, 1.
    expect(resample([1, 3], 2, 1, 4, 1)).toEqual([1, 1.5, 2.5, 3]);
    // 4×2 → 2×1: each output centre lies midway between four source centres, i.e. their mean.
    expect(resample([1, 2, 3, 4, 5, 6, 7, 8], 4, 2, 2, 1)).toEqual([(1 + 2 + 5 + 6) / 4, (3 + 4 + 7 + 8) / 4]);
  });

  it('ignores unknown values (0, negative, NaN, ±Infinity) and renormalises; no known neighbour gives 0', () => {
    for (const unknown of [0, -1, NaN, Infinity, -Infinity]) {
      expect(resample([1, unknown], 2, 1, 4, 1), String(unknown)).toEqual([1, 1, 1, 0]);
    }
  });
});
