/**
 * The depth inputs of docs/metrics.md §2 (`--depth MODE` of eval-views and eval-orbit) for a stereo scene,
 * from its ground-truth left disparity (0 = unknown; D* = W / d, focal W, baseline 1):
 *
 * - `oracle`:  D* with unknown pixels filled along rows from the background side (view-metrics.ts). Every
 *              method gets it.
 * - `network`: §1 steps 1–2 from D* (synth.ts networkInputs, the same D̃ and masks eval-depth scores),
 *              D̃'s unknown pixels then filled the same way. Every method gets that depth; the diorama
 *              also gets the masks (a label map).
 * - `sensor`:  D* with an RGB-D sensor's holes (synth.ts sensorDepth: 4 px occlusion shadow on the far side
 *              of every GT contour pair at 1.05, discs of radius 2–8 px over 2 % of the pixels). The diorama
 *              gets the holes as 0 (unknown, which decompose accepts); the baselines get them filled.
 *
 * The layered baseline without inpainting (`noInpaint`) is the diorama's decomposition, so it sees what the
 * diorama sees.
 */
import { networkInputs, sensorDepth } from './synth';
import { depthFromDisparity, fillDepthForRendering, fillDisparityForRendering, fillDisparityRows } from './view-metrics';

export const DEPTH_MODES = ['oracle', 'network', 'sensor'] as const;
export type DepthMode = (typeof DEPTH_MODES)[number];

export function isDepthMode(v: string): v is DepthMode {
  return (DEPTH_MODES as readonly string[]).includes(v);
}

/** What the methods of one run receive for one scene. */
export interface DepthInputs {
  /** Depth for the baselines (rubber sheet): every value finite and > 0. */
  baseline: Float32Array;
  /** Depth for the diorama's decompose: 0 = unknown (sensor mode), otherwise equal to `baseline`. */
  diorama: Float32Array;
  /** Masks for the diorama (network mode): a label map, every pixel ≥ 0. */
  masks?: Int32Array;
  /** Fraction of the pixels the diorama receives as unknown. */
  unknownFraction: number;
}

/** Ground-truth depth D* = W / d of a stored disparity (0 where unknown). */
export function groundTruthDepth(disparity: Float32Array, width: number): Float32Array {
  return depthFromDisparity(disparity, width);
}

/**
 * The depth inputs of `mode` for the stereo scene `name` with ground-truth disparity `disparity` (W·H).
 * Null when nothing of the depth is known (no row has a known disparity).
 */
export function stereoDepthInputs(mode: DepthMode, disparity: Float32Array, width: number, height: number, name: string): DepthInputs | null {
  const n = width * height;
  if (disparity.length !== n) throw new Error(`disparity has ${disparity.length} values; expected ${width}·${height} = ${n}`);
  if (mode === 'oracle') {
    const disp = fillDisparityForRendering(fillDisparityRows(disparity, width, height));
    if (!disp) return null;
    const depth = depthFromDisparity(disp, width);
    return { baseline: depth, diorama: depth, unknownFraction: 0 };
  }
  const gt = groundTruthDepth(disparity, width);
  if (mode === 'network') {
    const net = networkInputs(gt, width, height, name);
    const depth = fillDepthForRendering(net.raw, width, height);
    if (!depth) return null;
    return { baseline: depth, diorama: depth, masks: net.masks, unknownFraction: 0 };
  }
  const sensor = sensorDepth(gt, width, height, name).depth;
  const baseline = fillDepthForRendering(sensor, width, height);
  if (!baseline) return null;
  let unknown = 0;
  for (let i = 0; i < n; i++) if (!(sensor[i]! > 0)) unknown++;
  return { baseline, diorama: sensor, unknownFraction: unknown / n };
}
