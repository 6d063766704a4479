/**
 * depthSliceRemap (Node, no browser): the affine clip-space remap that gives each layer its own slice of the
 * depth range, for WebGL's [-1, 1] and WebGPU's [0, 1] NDC depth, with and without reversed depth.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { depthSliceRemap } from '../../src/babylon/mpi-material';

/** NDC depth after the remap of slice `k` of `n` for an input NDC depth z (clip w = 1). */
function remap(k: number, n: number, half: boolean, reversed: boolean, z: number): number {
  const r = depthSliceRemap(k, n, half, reversed);
  return r.x * z + r.y;
}

describe('depthSliceRemap', () => {
  it('is the identity for a single layer', () => {
    for (const half of [false, true]) for (const rev of [false, true]) expect(depthSliceRemap(0, 1, half, rev).asArray()).toEqual([1, 0]);
  });

  it('maps the depth range onto disjoint slices, nearest layer nearest, order within a slice kept', () => {
    fc.assert(
      fc.property(fc.integer({ min: 2, max: 64 }), fc.boolean(), fc.boolean(), fc.double({ min: 0, max: 1, noNaN: true }), fc.double({ min: 0, max: 1, noNaN: true }), (n, half, reversed, a, b) => {
        const m = half ? 0 : -1;
        const za = m + (1 - m) * a;
        const zb = m + (1 - m) * b;
        // "Distance order" of NDC depth: larger is farther, or nearer when reversed.
        const far = (z: number) => (reversed ? -z : z);
        for (let k = 0; k < n; k++) {
          const lo = remap(k, n, half, reversed, reversed ? 1 : m); // the slice's near end
          const hi = remap(k, n, half, reversed, reversed ? m : 1); // its far end
          // Slice k covers [k/n, (k+1)/n] of the range in distance order (1e-12: float64 rounding).
          const frac = (z: number) => (reversed ? 1 - (z - m) / (1 - m) : (z - m) / (1 - m));
          expect(frac(lo)).toBeCloseTo(k / n, 12);
          expect(frac(hi)).toBeCloseTo((k + 1) / n, 12);
          // Monotone: order inside the slice is the order of the input depths.
          if (far(za) < far(zb)) expect(far(remap(k, n, half, reversed, za))).toBeLessThanOrEqual(far(remap(k, n, half, reversed, zb)));
          // Anything in slice k is nearer than anything in slice k + 1.
          if (k + 1 < n) expect(far(remap(k, n, half, reversed, za))).toBeLessThanOrEqual(far(remap(k + 1, n, half, reversed, zb)) + 1e-12);
        }
      }),
      { numRuns: 200 },
    );
  });
});
