/** Push–pull fill of layer colour and depth (src/math/pushpull.ts). */
import { describe, expect, it } from 'vitest';
import { pushPullFill, pushPullRgbaDepth } from '../src/math/pushpull';

describe('pushPullFill', () => {
  it('reproduces a constant field in the hole and leaves known values bit for bit', () => {
    const w = 9, h = 7;
    const v = new Float32Array(w * h).fill(0.25);
    const known = new Uint8Array(w * h).fill(1);
    const fill = new Uint8Array(w * h);
    for (let y = 2; y < 5; y++) for (let x = 3; x < 8; x++) { fill[y * w + x] = 1; known[y * w + x] = 0; v[y * w + x] = 99; }
    const out = pushPullFill(v, 1, w, h, known, fill);
    // A weighted mean of equal values is that value (0.25 is exact in binary, so are its means).
    for (let j = 0; j < w * h; j++) expect(out[j]).toBe(0.25);
  });
});

describe('pushPullRgbaDepth', () => {
  it('fills colour and inverse depth of the fill texels only; alpha and other texels untouched', () => {
    const w = 8, h = 8, n = w * h;
    const rgba = new Uint8ClampedArray(n * 4);
    const depth = new Float32Array(n);
    const known = new Uint8Array(n);
    const fill = new Uint8Array(n);
    for (let j = 0; j < n; j++) {
      const x = j % w;
      if (x < 4) { known[j] = 1; rgba.set([40, 80, 120, 255], 4 * j); depth[j] = 2; }
      else if (x < 7) { fill[j] = 1; rgba.set([255, 0, 0, 7], 4 * j); }
      else rgba.set([1, 2, 3, 0], 4 * j); // neither known nor filled: must stay
    }
    pushPullRgbaDepth(rgba, depth, known, fill, w, h);
    for (let j = 0; j < n; j++) {
      const x = j % w;
      const px = Array.from(rgba.subarray(4 * j, 4 * j + 4));
      if (x < 4) { expect(px).toEqual([40, 80, 120, 255]); expect(depth[j]).toBe(2); }
      else if (x < 7) { expect(px).toEqual([40, 80, 120, 7]); expect(depth[j]).toBe(2); } // 1/(mean of 1/2) = 2 exactly
      else { expect(px).toEqual([1, 2, 3, 0]); expect(depth[j]).toBe(0); }
    }
  });
});
