/**
 * Input validation and normalisation for decompose(): every check names what was expected and what was
 * found, and nothing is allocated for the scene before the input is known to be usable.
 */
import { DioramaError } from './errors';
import type { DecomposeInput, Intrinsics, MasksInput } from './types';

/** Largest image accepted by default: 8192×4096 (33.5 MP). Raise with `options.maxPixels`. */
export const DEFAULT_MAX_PIXELS = 8192 * 4096;

/** Default horizontal field of view (degrees) over the image's longer side when intrinsics are unknown. */
export const DEFAULT_FOV_DEGREES = 60;

export function validateImage(input: DecomposeInput, maxPixels: number): { W: number; H: number } {
  const img = input?.image;
  if (!img || typeof img !== 'object') throw new DioramaError('INVALID_IMAGE', 'input.image is missing; expected an RGBA8 image {width, height, data}');
  const { width: W, height: H, data } = img;
  if (!Number.isInteger(W) || !Number.isInteger(H) || W < 1 || H < 1) {
    throw new DioramaError('INVALID_IMAGE', `image size must be positive integers; found ${String(W)}x${String(H)}`);
  }
  if (W * H > maxPixels) {
    throw new DioramaError(
      'IMAGE_TOO_LARGE',
      `image is ${W}x${H} (${((W * H) / 1e6).toFixed(1)} MP); the limit is ${(maxPixels / 1e6).toFixed(1)} MP (options.maxPixels): downscale the photo or raise the limit`,
    );
  }
  if (!(data instanceof Uint8Array || data instanceof Uint8ClampedArray)) {
    throw new DioramaError('INVALID_IMAGE', `image.data must be a Uint8Array or Uint8ClampedArray of RGBA bytes; found ${describe(data)}`);
  }
  if (data.length !== W * H * 4) {
    throw new DioramaError('INVALID_IMAGE', `image.data has ${data.length} bytes; expected width·height·4 = ${W * H * 4} for ${W}x${H} RGBA`);
  }
  return { W, H };
}

/**
 * Returns metric depth (0 = unknown) from the input depth, converting inverse depth when flagged.
 * Throws when the array has the wrong type or size, or when no pixel has usable depth.
 */
export function normaliseDepth(input: DecomposeInput, W: number, H: number): { depth: Float32Array; knownCount: number } {
  const d = input.depth;
  if (!(d instanceof Float32Array)) throw new DioramaError('INVALID_DEPTH', `depth must be a Float32Array; found ${describe(d)}`);
  if (d.length !== W * H) {
    throw new DioramaError('SIZE_MISMATCH', `depth has ${d.length} values; expected ${W}x${H} = ${W * H} to match the image`);
  }
  const out = new Float32Array(W * H);
  let known = 0;
  const inv = !!input.depthIsInverse;
  for (let i = 0; i < out.length; i++) {
    const v = d[i]!;
    if (!(v > 0) || !Number.isFinite(v)) continue;
    const z = inv ? 1 / v : v;
    if (!(z > 0) || !Number.isFinite(z)) continue;
    out[i] = z;
    known++;
  }
  if (known === 0) {
    throw new DioramaError('NO_VALID_DEPTH', `depth has no usable value: all ${W * H} pixels are 0, negative, NaN or infinite`);
  }
  return { depth: out, knownCount: known };
}

/**
 * Resolves masks into a non-overlapping label map: a list of binary masks is painted in order of
 * decreasing score (stable: equal scores keep their input order), so where masks overlap the higher score
 * wins. Empty masks are dropped. Returns labels (-1 = none), concepts per label and the count.
 */
export function resolveMasks(masks: MasksInput | undefined, W: number, H: number): { labels: Int32Array; concepts: (string | undefined)[]; count: number } {
  const N = W * H;
  const labels = new Int32Array(N).fill(-1);
  if (!masks) return { labels, concepts: [], count: 0 };
  if (masks.kind === 'labels') {
    const src = masks.labels;
    if (!(src instanceof Int32Array)) throw new DioramaError('INVALID_MASKS', `masks.labels must be an Int32Array; found ${describe(src)}`);
    if (src.length !== N) throw new DioramaError('SIZE_MISMATCH', `masks.labels has ${src.length} values; expected ${W}x${H} = ${N}`);
    // Compact ids to 0..count-1 in order of first appearance; negatives mean "no mask". Label maps come in
    // runs of equal ids, so the map is consulted only where the id changes.
    const remap = new Map<number, number>();
    const concepts: (string | undefined)[] = [];
    let prev = -1;
    let prevR = -1;
    for (let i = 0; i < N; i++) {
      const l = src[i]!;
      if (l < 0) continue;
      if (l !== prev) {
        let r = remap.get(l);
        if (r === undefined) {
          r = remap.size;
          remap.set(l, r);
          concepts.push(masks.concepts?.[l]);
        }
        prev = l;
        prevR = r;
      }
      labels[i] = prevR;
    }
    return { labels, concepts, count: remap.size };
  }
  if (masks.kind !== 'list' || !Array.isArray(masks.masks)) {
    throw new DioramaError('INVALID_MASKS', `masks must be { kind: 'labels', labels } or { kind: 'list', masks: [...] }; found kind '${String((masks as { kind?: unknown }).kind)}'`);
  }
  const order = masks.masks.map((m, k) => {
    if (!m || !(m.data instanceof Uint8Array || m.data instanceof Uint8ClampedArray)) {
      throw new DioramaError('INVALID_MASKS', `masks[${k}].data must be a Uint8Array of ${N} bytes; found ${describe(m?.data)}`);
    }
    if (m.data.length !== N) throw new DioramaError('SIZE_MISMATCH', `masks[${k}].data has ${m.data.length} bytes; expected ${W}x${H} = ${N}`);
    const score = m.score ?? 0;
    if (!Number.isFinite(score)) throw new DioramaError('INVALID_MASKS', `masks[${k}].score must be finite; found ${score}`);
    return { k, score };
  });
  order.sort((a, b) => b.score - a.score || a.k - b.k);
  const concepts: (string | undefined)[] = [];
  let count = 0;
  for (const { k } of order) {
    const m = masks.masks[k]!.data;
    let painted = 0;
    for (let i = 0; i < N; i++) {
      if (m[i] && labels[i] === -1) {
        labels[i] = count;
        painted++;
      }
    }
    if (painted > 0) {
      concepts.push(masks.masks[k]!.concept);
      count++;
    }
  }
  return { labels, concepts, count };
}

export function resolveIntrinsics(input: DecomposeInput, W: number, H: number, fovDegrees: number): { intrinsics: Intrinsics; known: boolean } {
  const k = input.intrinsics;
  if (k) {
    for (const key of ['fx', 'fy', 'cx', 'cy'] as const) {
      if (typeof k[key] !== 'number' || !Number.isFinite(k[key])) {
        throw new DioramaError('INVALID_INTRINSICS', `intrinsics.${key} must be a finite number; found ${String(k[key])}`);
      }
    }
    if (!(k.fx > 0) || !(k.fy > 0)) throw new DioramaError('INVALID_INTRINSICS', `intrinsics fx, fy must be > 0; found fx=${k.fx}, fy=${k.fy}`);
    return { intrinsics: { fx: k.fx, fy: k.fy, cx: k.cx, cy: k.cy }, known: true };
  }
  if (!(fovDegrees > 0 && fovDegrees < 180)) throw new DioramaError('INVALID_OPTION', `fieldOfView must be in (0, 180) degrees; found ${fovDegrees}`);
  const f = Math.max(W, H) / 2 / Math.tan((fovDegrees * Math.PI) / 360);
  return { intrinsics: { fx: f, fy: f, cx: W / 2, cy: H / 2 }, known: false };
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (v === undefined) return 'undefined';
  if (typeof v === 'object') return (v as object).constructor?.name ?? 'object';
  return typeof v;
}
