/**
 * The orbit sweep's geometry and per-view metrics (scripts/eval/orbit.ts, view-metrics.ts) on
 * hand-computable cases; the rendered measures are in test/browser/orbit-footprint.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { ORBIT_SWEEP, medianKnownDepth, orbitViewMetrics, orbitViewSpec } from '../scripts/eval/orbit';
import { footprintFromCode, stretchedFraction } from '../scripts/eval/view-metrics';

describe('orbit sweep views', () => {
  it('are yaw ±5°, ±10° and pitch ±5° on the circle of radius R around the pivot (0, 0, R), looking at it', () => {
    expect(ORBIT_SWEEP.map((v) => [v.yaw, v.pitch])).toEqual([[-10, 0], [-5, 0], [5, 0], [10, 0], [0, -5], [0, 5]]);
    const R = 3;
    for (const v of ORBIT_SWEEP) {
      const s = orbitViewSpec(v, R);
      expect(s.target).toEqual([0, 0, R]);
      const d = s.position.map((p, k) => p - s.target[k]!);
      expect(Math.hypot(...d)).toBeCloseTo(R, 12);
      // Angle between the view direction and the photo's optical axis (+z) is the yaw or pitch.
      const angle = (Math.acos(-d[2]! / R) * 180) / Math.PI;
      expect(angle).toBeCloseTo(Math.abs(v.yaw || v.pitch), 10);
      // Yaw moves the camera along x (right for yaw > 0), pitch along y (up for pitch > 0).
      expect(Math.sign(s.position[0])).toBe(Math.sign(v.yaw));
      expect(Math.sign(s.position[1])).toBe(Math.sign(v.pitch));
    }
  });

  it('pivot at the median of the known depth', () => {
    expect(medianKnownDepth(new Float32Array([0, 3, NaN, 1, 2, -1]))).toBe(2);
    expect(medianKnownDepth(new Float32Array([4, 0, 1, 2, 3]))).toBe(2.5);
    expect(medianKnownDepth(new Float32Array(3))).toBeNull();
  });
});

describe('per-view metrics', () => {
  it('holesFrame counts clear pixels over the whole frame; stretched needs coverage ≥ ½, a fragment and the stretched bit', () => {
    // Four pixels: covered + stretched, covered + not stretched, hole with a stretched fragment, half covered
    // (T = ½ counts as covered) + stretched; and one covered pixel without any fragment of alpha ≥ ½.
    const transmittance = new Float32Array([0, 0, 1, 0.5, 0.2]);
    const fp = new Uint8Array([
      60, 255, 255, 255, //
      128, 255, 0, 255, //
      60, 255, 255, 255, //
      70, 255, 255, 255, //
      0, 0, 0, 255,
    ]);
    const img = { width: 5, height: 1, data: fp };
    const s = stretchedFraction(img, transmittance);
    expect(Array.from(s.mask)).toEqual([1, 0, 0, 1, 0]);
    expect(s.fraction).toBe(2 / 5);
    const content = { width: 5, height: 1, data: new Uint8Array(20) };
    const m = orbitViewMetrics({ content, transmittance }, img);
    expect(m.holesFrame).toBe(1 / 5);
    expect(m.stretched).toBe(2 / 5);
  });

  it('decodes the footprint code: 128 = one texel per pixel, 16 codes per octave, 96 = the ¼ threshold', () => {
    expect(footprintFromCode(128)).toBe(1);
    expect(footprintFromCode(96)).toBe(0.25);
    expect(footprintFromCode(160)).toBe(4);
  });
});
