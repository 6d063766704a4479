/**
 * The orbit sweep of docs/metrics.md §5, the parts shared by scripts/eval-orbit.ts and its tests: the six
 * views and the two per-view metrics.
 *
 * Views: the photo camera (at the origin, looking down +z, camera space x right / y up) orbiting the pivot
 * P = (0, 0, R) on its optical axis, R = the scene's median known depth: at yaw θ the camera sits at
 * P + R·(sin θ, 0, −cos θ) = (R sin θ, 0, R(1 − cos θ)) looking at P (yaw > 0: the camera moves right); at
 * pitch φ at (0, R sin φ, R(1 − cos φ)) (pitch > 0: it moves up). Same intrinsics and resolution as the
 * photo; θ ∈ {−10°, −5°, +5°, +10°}, φ ∈ {−5°, +5°}.
 *
 * Metrics of one view (both as fractions of ALL the frame's pixels, no border or strip left out):
 * - holesFrame: pixels where the clear colour shows (transmittance > ½ in the magenta/green pair, the
 *   decoding of §2's HOLES);
 * - stretched: pixels drawn with coverage ≥ ½ whose front-most fragment with texture alpha ≥ ½ spreads one
 *   texel over more than 4 pixels (footprint pass, see footprint-material.ts and view-metrics.ts).
 */
import type { ViewSpec } from './views.page';
import { holeFraction, stretchedFraction, type Coverage } from './view-metrics';
import type { RGBAImage } from '../../src/core/types';

/** One view of the sweep. */
export interface OrbitView {
  name: string;
  yaw: number;
  pitch: number;
}

/** The six views of §5, in report order. */
export const ORBIT_SWEEP: readonly OrbitView[] = [
  { name: 'yaw-10', yaw: -10, pitch: 0 },
  { name: 'yaw-5', yaw: -5, pitch: 0 },
  { name: 'yaw+5', yaw: 5, pitch: 0 },
  { name: 'yaw+10', yaw: 10, pitch: 0 },
  { name: 'pitch-5', yaw: 0, pitch: -5 },
  { name: 'pitch+5', yaw: 0, pitch: 5 },
];

/** Camera position and target of a sweep view around the pivot (0, 0, R) (see the module comment). */
export function orbitViewSpec(v: OrbitView, R: number): ViewSpec {
  const t = (v.yaw * Math.PI) / 180;
  const p = (v.pitch * Math.PI) / 180;
  // One of the two angles is 0 in the sweep; the general form rotates by yaw about y, then by pitch.
  const position: [number, number, number] = [R * Math.sin(t) * Math.cos(p), R * Math.sin(p), R - R * Math.cos(t) * Math.cos(p)];
  return { name: v.name, position, target: [0, 0, R] };
}

/** Median of the known (finite, > 0) values; null when none. */
export function medianKnownDepth(depth: Float32Array): number | null {
  const v: number[] = [];
  for (let i = 0; i < depth.length; i++) {
    const z = depth[i]!;
    if (z > 0 && z < Infinity) v.push(z);
  }
  if (!v.length) return null;
  v.sort((a, b) => a - b);
  const m = v.length >> 1;
  return v.length % 2 ? v[m]! : (v[m - 1]! + v[m]!) / 2;
}

/** The two §5 metrics of one rendered view. */
export interface OrbitViewMetrics {
  holesFrame: number;
  stretched: number;
  /** 1 = stretched pixel (for the contact sheets). */
  stretchedMask: Uint8Array;
}

/** holesFrame and stretched of one view from its coverage pair and its footprint pass. */
export function orbitViewMetrics(coverage: Coverage, footprint: RGBAImage): OrbitViewMetrics {
  const s = stretchedFraction(footprint, coverage.transmittance);
  return { holesFrame: holeFraction(coverage.transmittance) ?? 0, stretched: s.fraction, stretchedMask: s.mask };
}
