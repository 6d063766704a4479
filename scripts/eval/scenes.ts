/**
 * Scene discovery and loading for the evaluation commands, for any folder laid out like ../shared/data:
 *
 *   stereo/<scene>/{left.png, disp.pfm, meta.json?}   GT depth = W / disparity (focal W, baseline 1)
 *   rgbd/<scene>/{rgb.png, depth.pfm, meta.json?}     GT depth in metres
 *
 * PFM through src/io/pfm.ts, PNG through scripts/eval/io-node.ts (sharp; Node only).
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { Intrinsics, RGBAImage } from '../../src/core/types';
import { decodePFM } from '../../src/io/pfm';
import { readImageRGBA } from './io-node';

export type SceneSet = 'stereo' | 'rgbd';

/** A scene found on disk (not loaded yet). */
export interface SceneRef {
  /** Scene folder name, e.g. "teddy"; used as the report key. */
  name: string;
  set: SceneSet;
  dir: string;
}

/** A loaded scene. */
export interface EvalScene extends SceneRef {
  width: number;
  height: number;
  /** The photo (left view for stereo), RGBA8. */
  image: RGBAImage;
  /** Ground-truth metric depth, W·H, 0 = unknown. */
  depth: Float32Array;
  /**
   * Camera intrinsics: rgbd meta.json `intrinsics {fx, fy, cx, cy}` or UOIS-style `camera {fx, fy,
   * x_offset, y_offset}` when present; stereo fx = fy = W, cx = W/2, cy = H/2 (the focal that makes
   * depth = W / disparity); undefined when unknown.
   */
  intrinsics: Intrinsics | undefined;
}

const LAYOUT: Record<SceneSet, { image: string; depth: string }> = {
  stereo: { image: 'left.png', depth: 'disp.pfm' },
  rgbd: { image: 'rgb.png', depth: 'depth.pfm' },
};

/**
 * Lists the scenes of a data folder, stereo first, each set sorted by name. A scene folder counts when it
 * holds both its image and its depth file. Throws when the folder holds no scene at all.
 */
export function discoverScenes(dataDir: string): SceneRef[] {
  if (!existsSync(dataDir)) throw new Error(`data folder '${dataDir}' does not exist`);
  const out: SceneRef[] = [];
  for (const set of ['stereo', 'rgbd'] as const) {
    const setDir = join(dataDir, set);
    if (!existsSync(setDir)) continue;
    const names = readdirSync(setDir)
      .filter((n) => statSync(join(setDir, n)).isDirectory())
      .sort();
    for (const name of names) {
      const dir = join(setDir, name);
      if (existsSync(join(dir, LAYOUT[set].image)) && existsSync(join(dir, LAYOUT[set].depth))) out.push({ name, set, dir });
    }
  }
  if (out.length === 0) {
    throw new Error(`no scenes in '${dataDir}': expected stereo/<scene>/{left.png,disp.pfm} or rgbd/<scene>/{rgb.png,depth.pfm}`);
  }
  return out;
}

function readMeta(dir: string): Record<string, unknown> {
  const p = join(dir, 'meta.json');
  if (!existsSync(p)) return {};
  return JSON.parse(readFileSync(p, 'utf8')) as Record<string, unknown>;
}

function metaIntrinsics(meta: Record<string, unknown>): Intrinsics | undefined {
  const num = (o: unknown, k: string): number | undefined => {
    const v = (o as Record<string, unknown> | undefined)?.[k];
    return typeof v === 'number' && Number.isFinite(v) ? v : undefined;
  };
  const a = meta['intrinsics'];
  if (a && typeof a === 'object') {
    const fx = num(a, 'fx'), fy = num(a, 'fy'), cx = num(a, 'cx'), cy = num(a, 'cy');
    if (fx && fy && cx !== undefined && cy !== undefined) return { fx, fy, cx, cy };
  }
  const c = meta['camera'];
  if (c && typeof c === 'object') {
    const fx = num(c, 'fx'), fy = num(c, 'fy'), cx = num(c, 'x_offset'), cy = num(c, 'y_offset');
    if (fx && fy && cx !== undefined && cy !== undefined) return { fx, fy, cx, cy };
  }
  return undefined;
}

/** Loads one scene: image, GT depth (non-finite or ≤ 0 → 0 = unknown), intrinsics. */
export async function loadScene(ref: SceneRef): Promise<EvalScene> {
  const image = await readImageRGBA(join(ref.dir, LAYOUT[ref.set].image));
  const pfmPath = join(ref.dir, LAYOUT[ref.set].depth);
  const pfm = decodePFM(new Uint8Array(readFileSync(pfmPath)));
  if (pfm.width !== image.width || pfm.height !== image.height) {
    throw new Error(`${ref.dir}: image is ${image.width}x${image.height} but ${LAYOUT[ref.set].depth} is ${pfm.width}x${pfm.height}`);
  }
  const { width, height } = image;
  const depth = new Float32Array(width * height);
  for (let i = 0; i < depth.length; i++) {
    const v = pfm.data[i]!;
    if (!(v > 0 && v < Infinity)) continue;
    depth[i] = ref.set === 'stereo' ? width / v : v;
  }
  const intrinsics = ref.set === 'stereo' ? { fx: width, fy: width, cx: width / 2, cy: height / 2 } : metaIntrinsics(readMeta(ref.dir));
  return { ...ref, width, height, image, depth, intrinsics };
}
