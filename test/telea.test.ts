import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DioramaError } from '../src/core/errors';
import type { RGBAImage } from '../src/core/types';
import { BucketQueue } from '../src/math/heap';
import { inpaintTelea, inpaintTeleaScalar, TELEA_UNREACHABLE_FILL } from '../src/math/telea';
import { mulberry32 } from './fixtures/rng';

function makeImage(width: number, height: number, f: (x: number, y: number, c: number) => number): RGBAImage {
  const data = new Uint8ClampedArray(width * height * 4);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      for (let c = 0; c < 4; c++) data[(y * width + x) * 4 + c] = f(x, y, c);
    }
  }
  return { width, height, data };
}

function maskOf(width: number, height: number, f: (x: number, y: number) => boolean): Uint8Array {
  const m = new Uint8Array(width * height);
  for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) m[y * width + x] = f(x, y) ? 1 : 0;
  return m;
}

function expectCode(fn: () => unknown, code: string): void {
  let err: unknown;
  try {
    fn();
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(DioramaError);
  expect((err as DioramaError).code).toBe(code);
}

const unit = (min: number, max: number): fc.Arbitrary<number> => fc.double({ min, max, noNaN: true });

/** Random image + hole: a few rectangles and discs (often touching the border) and salt noise. */
const scene = fc
  .record({
    width: fc.integer({ min: 1, max: 28 }),
    height: fc.integer({ min: 1, max: 28 }),
    seed: fc.integer({ min: 0, max: 0x7fffffff }),
    // Rectangles as (x, y, w, h) fractions of the size; negative corners put them across the border.
    rects: fc.array(
      fc.tuple(unit(-0.2, 1), unit(-0.2, 1), unit(0, 0.7), unit(0, 0.7)),
      { maxLength: 4 },
    ),
    discs: fc.array(fc.tuple(unit(0, 1), unit(0, 1), unit(0.5, 6)), { maxLength: 3 }),
    salt: fc.double({ min: 0, max: 0.15 }),
    radius: fc.oneof(fc.constant(5), fc.double({ min: 1, max: 7, noNaN: true })),
  })
  .map((s) => {
    const rnd = mulberry32(s.seed);
    const image = makeImage(s.width, s.height, () => Math.floor(rnd() * 256));
    const hole = maskOf(s.width, s.height, (x, y) => {
      for (const [rx, ry, rw, rh] of s.rects) {
        if (x >= rx * s.width && x < (rx + rw) * s.width && y >= ry * s.height && y < (ry + rh) * s.height) return true;
      }
      for (const [cx, cy, r] of s.discs) if ((x - cx * s.width) ** 2 + (y - cy * s.height) ** 2 < r * r) return true;
      return rnd() < s.salt;
    });
    return { image, hole, radius: s.radius };
  });

/** Copy of `image` with the RGBA of hole pixels replaced by `value`. */
function withHoleContent(image: RGBAImage, hole: Uint8Array, value: (i: number) => number): RGBAImage {
  const data = new Uint8ClampedArray(image.data);
  for (let i = 0; i < hole.length; i++) {
    if (hole[i]) for (let c = 0; c < 3; c++) data[i * 4 + c] = value(i * 4 + c);
  }
  return { width: image.width, height: image.height, data };
}

describe('inpaintTelea', () => {
  it('never changes a known pixel, keeps hole alpha, and overwrites every hole pixel without reading it', () => {
    fc.assert(
      fc.property(scene, ({ image, hole, radius }) => {
        // Two inputs that differ only in the RGB of hole pixels must give the same output: every hole
        // pixel is written, and no hole content leaks into the fill.
        const a = inpaintTelea(withHoleContent(image, hole, () => 0), hole, { radius });
        const b = inpaintTelea(withHoleContent(image, hole, (i) => (i * 97) & 255), hole, { radius });
        expect(Buffer.from(a.data)).toEqual(Buffer.from(b.data));
        for (let i = 0; i < hole.length; i++) {
          if (!hole[i]) {
            for (let c = 0; c < 4; c++) expect(a.data[i * 4 + c]).toBe(image.data[i * 4 + c]);
          } else {
            expect(a.data[i * 4 + 3]).toBe(image.data[i * 4 + 3]);
          }
        }
      }),
      { numRuns: 150 },
    );
  });

  it('keeps a constant image constant for any hole that leaves a known pixel', () => {
    // Every term of the average is the constant plus a clamped zero gradient; a weighted mean of equal
    // values is that value (floating-point error ≪ the 0.5 rounding step).
    fc.assert(
      fc.property(scene, fc.integer({ min: 0, max: 255 }), ({ image, hole, radius }, v) => {
        fc.pre(hole.some((h) => h === 0));
        const flat = makeImage(image.width, image.height, (_x, _y, c) => (c === 3 ? 255 : v));
        const out = inpaintTelea(withHoleContent(flat, hole, () => 255 - v), hole, { radius });
        for (let i = 0; i < hole.length; i++) for (let c = 0; c < 3; c++) expect(out.data[i * 4 + c]).toBe(v);
      }),
      { numRuns: 100 },
    );
  });

  it('reproduces a horizontal ramp exactly inside a thin vertical band touching two borders', () => {
    // I = 20 + 5x, hole = columns 10..13 over the full height. Every known q's gradient is a central or
    // one-sided difference of a linear function, hence exact, and the y-component is truly 0, so every
    // term I(q) + ∇I(q)·(p − q) equals I(p) (|∇I|·ε = 25 < 32: no clamping). A positive weighted mean
    // of equal values is that value, whatever the weights.
    const W = 30;
    const H = 16;
    const img = makeImage(W, H, (x, _y, c) => (c === 3 ? 255 : c === 0 ? 20 + 5 * x : c === 1 ? 200 - 5 * x : 77));
    const hole = maskOf(W, H, (x) => x >= 10 && x <= 13);
    const out = inpaintTelea(withHoleContent(img, hole, () => 0), hole);
    for (let i = 0; i < hole.length; i++) for (let c = 0; c < 3; c++) expect(out.data[i * 4 + c]).toBe(img.data[i * 4 + c]);
  });

  it('reproduces a diagonal ramp inside a 3-row band within sx·ε, exactly away from the side borders', () => {
    // I = 10 + 2x + 3y, hole = rows 8..10 over the full width (radius ε = 5).
    // Rows 8 and 10 (T = 1, level 2) see only original pixels, whose gradients are exact: exact fill.
    // Row 9 (T = 2) also sees rows 8 and 10, whose x-neighbours share their level and are unknown when
    // they are painted, so their ∇I has x-component 0: such a term is off by −sx·(px − qx), at most
    // sx·ε = 10 in size. Weights are positive, so the mean is off by at most 10. Away from the left and
    // right borders (≥ ε) the normal at row 9 vanishes (T(8) = T(10)), all weights are symmetric in
    // ±dx, and the errors cancel pairwise: exact.
    const W = 40;
    const H = 20;
    const sx = 2;
    const eps = 5;
    const img = makeImage(W, H, (x, y, c) => (c === 3 ? 255 : c === 0 ? 10 + sx * x + 3 * y : c === 1 ? 150 : 90 - 2 * y));
    const hole = maskOf(W, H, (_x, y) => y >= 8 && y <= 10);
    const out = inpaintTelea(img, hole, { radius: eps });
    for (let y = 8; y <= 10; y++) {
      for (let x = 0; x < W; x++) {
        const i = (y * W + x) * 4;
        const err = Math.abs(out.data[i] - img.data[i]);
        if (y !== 9 || (x >= eps && x < W - eps)) expect(err, `(${x}, ${y})`).toBe(0);
        else expect(err, `(${x}, ${y})`).toBeLessThanOrEqual(sx * eps);
        expect(out.data[i + 1]).toBe(150);
        expect(Math.abs(out.data[i + 2] - img.data[i + 2])).toBe(0); // no x-dependence: exact everywhere
      }
    }
  });

  it('reads only within the radius: a hole crossing an edge keeps each side pure beyond t·ε from it', () => {
    // Left of x = 20 is 0, right is 200; a 6-row band crosses the edge. Its rows have T = 1, 2, 3, 3, 2, 1.
    // A pixel reads pixels within ε only, but filled ones carry what they read: a row with T = t depends
    // on original pixels at most t·ε away horizontally (t steps down the levels). Beyond that, every
    // term is the side's constant with a zero gradient.
    const W = 48;
    const H = 24;
    const img = makeImage(W, H, (x, _y, c) => (c === 3 ? 255 : x < 20 ? 0 : 200));
    const hole = maskOf(W, H, (_x, y) => y >= 9 && y < 15);
    const depth = [1, 2, 3, 3, 2, 1];
    for (const radius of [2, 5]) {
      const out = inpaintTelea(img, hole, { radius });
      let mixed = 0;
      for (let y = 9; y < 15; y++) {
        const reach = depth[y - 9] * radius;
        for (let x = 0; x < W; x++) {
          const v = out.data[(y * W + x) * 4];
          if (x + reach < 20) expect(v, `(${x}, ${y}) r=${radius}`).toBe(0);
          else if (x - reach >= 20) expect(v, `(${x}, ${y}) r=${radius}`).toBe(200);
          else if (v !== 0 && v !== 200) mixed++;
        }
      }
      expect(mixed).toBeGreaterThan(0); // the edge itself is blended, so the test can tell
    }
  });

  it('fills a hole covering the whole image with mid-grey and keeps alpha', () => {
    const img = makeImage(5, 4, (x, y, c) => (c === 3 ? 10 * x + y : 50));
    const out = inpaintTelea(img, new Uint8Array(20).fill(1));
    for (let i = 0; i < 20; i++) {
      expect([...out.data.subarray(i * 4, i * 4 + 3)]).toEqual([TELEA_UNREACHABLE_FILL, TELEA_UNREACHABLE_FILL, TELEA_UNREACHABLE_FILL]);
      expect(out.data[i * 4 + 3]).toBe(img.data[i * 4 + 3]);
    }
  });

  it('returns an equal copy for an empty hole, with the input array type', () => {
    const img = makeImage(7, 3, (x, y, c) => x * 30 + y * 7 + c);
    const out = inpaintTelea(img, new Uint8Array(21));
    expect(out.data).not.toBe(img.data);
    expect(out.data).toBeInstanceOf(Uint8ClampedArray);
    expect([...out.data]).toEqual([...img.data]);
    const u8 = { width: 7, height: 3, data: new Uint8Array(img.data) };
    const out8 = inpaintTelea(u8, maskOf(7, 3, (x) => x === 3));
    expect(out8.data).toBeInstanceOf(Uint8Array);
  });

  it('restricts work to the region: outside pixels are neither written nor read', () => {
    const W = 30;
    const H = 20;
    const img = makeImage(W, H, (x, y, c) => (c === 3 ? 255 : (x * 13 + y * 7 + c * 50) & 255));
    const hole = maskOf(W, H, (x, y) => (x >= 5 && x < 9 && y >= 5 && y < 12) || (x >= 22 && y >= 2 && y < 6));
    const region = { x: 2, y: 2, width: 12, height: 14 };
    const out = inpaintTelea(img, hole, { region });
    // Change every pixel outside the region: the result inside must not change.
    const other = makeImage(W, H, (x, y, c) =>
      x >= 2 && x < 14 && y >= 2 && y < 16 ? img.data[(y * W + x) * 4 + c] : 255 - img.data[(y * W + x) * 4 + c],
    );
    const out2 = inpaintTelea(other, hole, { region });
    for (let y = 0; y < H; y++) {
      for (let x = 0; x < W; x++) {
        const i = (y * W + x) * 4;
        const inside = x >= 2 && x < 14 && y >= 2 && y < 16;
        for (let c = 0; c < 4; c++) {
          if (inside) expect(out2.data[i + c]).toBe(out.data[i + c]);
          else expect(out.data[i + c]).toBe(img.data[i + c]); // hole pixels outside the region untouched
        }
      }
    }
    // The region's hole pixels were filled (not left as input): compare with a different hole content.
    const out3 = inpaintTelea(withHoleContent(img, hole, () => 3), hole, { region });
    for (let y = 5; y < 12; y++) for (let x = 5; x < 9; x++) expect(out3.data[(y * W + x) * 4]).toBe(out.data[(y * W + x) * 4]);
  });

  it('throws ABORTED for an aborted signal, before and during the work', () => {
    const img = makeImage(200, 200, () => 100);
    const hole = maskOf(200, 200, (x, y) => x > 2 && y > 2 && x < 197 && y < 197);
    const ctl = new AbortController();
    ctl.abort(new Error('stop'));
    expectCode(() => inpaintTelea(img, hole, { signal: ctl.signal }), 'ABORTED');
    // A signal that fires after a few polls: the fill must notice it mid-way.
    let polls = 0;
    const late = {
      get aborted() {
        return ++polls > 4;
      },
      reason: 'late',
    } as unknown as AbortSignal;
    expectCode(() => inpaintTelea(img, hole, { signal: late }), 'ABORTED');
    expect(polls).toBeGreaterThan(4);
  });

  it('rejects bad input with stable codes', () => {
    const img = makeImage(4, 3, () => 1);
    expectCode(() => inpaintTelea(img, new Uint8Array(11)), 'SIZE_MISMATCH');
    expectCode(() => inpaintTelea({ width: 4, height: 3, data: new Uint8ClampedArray(47) }, new Uint8Array(12)), 'INVALID_IMAGE');
    expectCode(() => inpaintTelea(img, new Uint8Array(12), { radius: 0.5 }), 'INVALID_OPTION');
    expectCode(() => inpaintTelea(img, new Uint8Array(12), { radius: NaN }), 'INVALID_OPTION');
    expectCode(() => inpaintTelea(img, new Uint8Array(12), { region: { x: 0.5, y: 0, width: 2, height: 2 } }), 'INVALID_OPTION');
    expectCode(() => inpaintTelea(img, [0, 1] as unknown as Uint8Array), 'INVALID_MASKS');
  });
});

describe('inpaintTeleaScalar', () => {
  it('copies known values bit for bit, fills every hole value from known ones, keeps constants', () => {
    fc.assert(
      fc.property(scene, fc.double({ min: -1e3, max: 1e3, noNaN: true }), ({ image, hole, radius }, v) => {
        const n = hole.length;
        const values = new Float32Array(n).map((_, i) => image.data[i * 4] / 7);
        const garbage = new Float32Array(values).map((x, i) => (hole[i] ? 1e9 : x));
        const a = inpaintTeleaScalar(values, image.width, image.height, hole, { radius });
        const b = inpaintTeleaScalar(garbage, image.width, image.height, hole, { radius });
        const anyKnown = hole.some((h) => h === 0);
        let lo = Infinity;
        let hi = -Infinity;
        for (let i = 0; i < n; i++) {
          if (!hole[i]) {
            lo = Math.min(lo, values[i]);
            hi = Math.max(hi, values[i]);
          }
        }
        for (let i = 0; i < n; i++) {
          expect(Object.is(a[i], b[i])).toBe(true);
          if (!hole[i]) expect(Object.is(a[i], values[i])).toBe(true);
          // Zeroth-order average: a convex combination, so inside the known range (float32 slack).
          else if (anyKnown) expect(a[i] >= lo - 1e-3 && a[i] <= hi + 1e-3).toBe(true);
          else expect(a[i]).toBe(0);
        }
        const flat = new Float32Array(n).fill(v);
        const f = inpaintTeleaScalar(flat, image.width, image.height, hole, { radius });
        if (anyKnown) for (let i = 0; i < n; i++) expect(Math.abs(f[i] - Math.fround(v))).toBeLessThanOrEqual(Math.abs(v) * 1e-6);
      }),
      { numRuns: 100 },
    );
  });

  it('rejects a field of the wrong size', () => {
    expectCode(() => inpaintTeleaScalar(new Float32Array(5), 2, 3, new Uint8Array(6)), 'SIZE_MISMATCH');
    expectCode(() => inpaintTeleaScalar(new Float32Array(6), 2, 3, new Uint8Array(5)), 'SIZE_MISMATCH');
  });
});

describe('priority queues', () => {
  it('BucketQueue pops every value, in key order up to one bucket width, under monotone use', () => {
    fc.assert(
      fc.property(
        fc.array(fc.double({ min: 0, max: 1.4, noNaN: true }), { minLength: 1, maxLength: 20 }),
        fc.array(fc.tuple(fc.nat(3), fc.double({ min: 0, max: 1, noNaN: true })), { maxLength: 300 }),
        (seeds, steps) => {
          // Fast-marching-like use: seeds in any order within the span, then each pop may push keys in
          // [popped key, popped key + 1].
          const delta = 1 / 16;
          const q = new BucketQueue(delta, 1.5);
          const key: number[] = [...seeds];
          seeds.forEach((k, i) => q.push(k, i));
          let last = -Infinity;
          let popped = 0;
          let s = 0;
          while (q.size > 0) {
            const v = q.pop();
            popped++;
            expect(key[v]).toBeGreaterThanOrEqual(last - delta);
            last = Math.max(last, key[v]);
            const [pushes, inc] = steps[s++ % Math.max(1, steps.length)] ?? [0, 0];
            if (key.length < 400) {
              for (let k = 0; k < pushes; k++) {
                key.push(key[v] + inc * (k + 1) / pushes);
                q.push(key[key.length - 1], key.length - 1);
              }
            }
          }
          expect(popped).toBe(key.length);
        },
      ),
    );
  });
});
