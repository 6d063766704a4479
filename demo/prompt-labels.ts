/**
 * Label-map edits behind the demo's SAM3 prompts (pure, typed arrays only, no allocation per pixel).
 *
 * The worker keeps the label map that the last model run fed to `decompose()` (-1 = no mask, k ≥ 0 = mask k,
 * ids need not be dense: the core compacts them) plus a concept name per id. A prompt adds masks *on top*:
 * each new mask gets a fresh id and overwrites the pixels it covers, so the selected object or concept wins
 * over the automatic masks and becomes its own layer candidate.
 */
import type { CropMask } from '../src/models/sam3-masks';
import type { Sam3Point, Sam3PromptResult } from '../src/models/sam3';

/** Largest label id in the map, or -1 when no pixel has a mask. */
export function maxLabel(labels: Int32Array): number {
  let m = -1;
  for (let i = 0; i < labels.length; i++) if (labels[i]! > m) m = labels[i]!;
  return m;
}

/** Whether the crop mask covers photo pixel (x, y) (integer pixel indices). */
export function cropContains(mask: CropMask, x: number, y: number): boolean {
  const b = mask.bbox;
  const cx = x - b.x;
  const cy = y - b.y;
  if (cx < 0 || cy < 0 || cx >= b.width || cy >= b.height) return false;
  return mask.data[cy * b.width + cx] !== 0;
}

/**
 * Paints a crop mask into a full label map with `id` (every covered pixel takes the id, whatever it held).
 * @param W width of the label map (the photo's)
 * @returns the number of pixels painted
 */
export function paintCropMask(labels: Int32Array, W: number, mask: CropMask, id: number): number {
  const { x: x0, y: y0, width: bw, height: bh } = mask.bbox;
  let painted = 0;
  for (let y = 0; y < bh; y++) {
    const src = y * bw;
    const dst = (y0 + y) * W + x0;
    for (let x = 0; x < bw; x++) {
      if (mask.data[src + x] !== 0) {
        labels[dst + x] = id;
        painted++;
      }
    }
  }
  return painted;
}

/**
 * Paints a second label map over the first: where `top` has label k ≥ 0, `labels` takes `base + k`.
 * @returns the number of pixels painted
 */
export function paintLabelMap(labels: Int32Array, top: Int32Array, base: number): number {
  let painted = 0;
  for (let i = 0; i < labels.length; i++) {
    const k = top[i]!;
    if (k >= 0) {
      labels[i] = base + k;
      painted++;
    }
  }
  return painted;
}

/**
 * The mask a click selects from the decoder's candidates (SAM returns ~3 per prompt, from part to whole):
 * the one with the highest predicted IoU among those that contain every positive point and no negative one
 * — a selection that leaves out the pixel the user clicked is not what was asked for. Falls back to the
 * decoder's own best when no candidate agrees with all points, and returns -1 when every candidate is empty.
 *
 * @param points the prompt's points, continuous photo coordinates (pixel (x, y) has its centre at x + 0.5)
 */
export function chooseSelectionMask(result: Sam3PromptResult, points: readonly Sam3Point[]): number {
  let best = -1;
  for (let m = 0; m < result.masks.length; m++) {
    const mask = result.masks[m]!;
    if (mask.area === 0) continue;
    let agrees = true;
    for (const p of points) {
      const inside = cropContains(mask, Math.floor(p.x), Math.floor(p.y));
      if (inside !== ((p.label ?? 1) === 1)) {
        agrees = false;
        break;
      }
    }
    if (agrees && (best < 0 || mask.score > result.masks[best]!.score)) best = m;
  }
  if (best >= 0) return best;
  return result.masks[result.best]?.area ? result.best : -1;
}
