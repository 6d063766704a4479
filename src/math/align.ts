/**
 * Local boundary alignment of a label map to the evidence in the depth map and the photo.
 *
 * A segmenter's boundary errors are spatially coherent: along a stretch of silhouette the mask is off by
 * the same pixel or two (it bleeds outward, or stops short). We model this as a smooth displacement field
 * s(p) ∈ [−S, S]² and estimate it by local voting. For a candidate shift s, the shifted label map
 * L_s(p) = L(p + s) has its boundaries where the original has them, moved by −s; each boundary pair of
 * L_s scores the edge strength of the data under it:
 *
 *   g(p, q) = |log z̄_p − log z̄_q| + β·‖I_p − I_q‖₁ / 765
 *
 * (z̄: inverse depth, 3×3-averaged against noise; I: RGB). A blurred depth edge still peaks at its true
 * location, and silhouettes are colour edges, so the right shift collects the most edge strength. Scores
 * are summed over a (2r+1)² window (box filter, O(1) per pixel) and each pixel takes the best shift, with a
 * small penalty on |s|² so that flat evidence leaves the labels where they were. Every pixel within S of a
 * boundary is then relabelled L(p + s*(p)). Cost: (2S+1)² box-filtered score maps, restricted to rows that
 * hold boundary pixels.
 */
import { throwIfAborted } from '../core/errors';
import type { RGBAImage } from '../core/types';
import { bandDistance, labelBoundary } from './labels';

export interface AlignOptions {
  /** Largest shift per axis (px). Default 2. */
  maxShift?: number;
  /** Half-size of the voting window (px). Default 6. */
  window?: number;
  /** Weight β of colour edges relative to log-inverse-depth edges. Default 1. */
  colorWeight?: number;
  /** Penalty per px² of shift, relative to the window's total edge strength per pixel. Default 0.02. */
  shiftPenalty?: number;
  signal?: AbortSignal;
}

/** Returns a new label map with boundaries moved onto the depth/colour evidence (see module comment). */
export function alignLabels(
  labels: Int32Array,
  image: RGBAImage | undefined,
  inverseDepth: Float32Array,
  known: Uint8Array,
  W: number,
  H: number,
  options: AlignOptions = {},
): Int32Array {
  const S = Math.max(0, Math.round(options.maxShift ?? 2));
  const r = Math.max(1, Math.round(options.window ?? 6));
  const beta = options.colorWeight ?? 1;
  const pen = options.shiftPenalty ?? 0.02;
  const N = W * H;
  if (S === 0) return labels.slice();
  // Log inverse depth averaged over known 3×3 neighbours.
  const lz = new Float32Array(N);
  for (let i = 0; i < N; i++) lz[i] = known[i] ? Math.log(inverseDepth[i]!) : 0;
  const lzs = new Float32Array(N);
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) {
      let s = 0;
      let n = 0;
      for (let yy = Math.max(0, y - 1); yy <= Math.min(H - 1, y + 1); yy++) {
        for (let xx = Math.max(0, x - 1); xx <= Math.min(W - 1, x + 1); xx++) {
          const j = yy * W + xx;
          if (known[j]) {
            s += lz[j]!;
            n++;
          }
        }
      }
      lzs[y * W + x] = n ? s / n : 0;
    }
  }
  // Edge strengths between right and down neighbours.
  const gx = new Float32Array(N);
  const gy = new Float32Array(N);
  const d = image?.data;
  const cw = beta / 765;
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) {
      const i = y * W + x;
      if (x + 1 < W) {
        let g = known[i] && known[i + 1] ? Math.abs(lzs[i]! - lzs[i + 1]!) : 0;
        if (d) {
          const a = i * 4;
          g += cw * (Math.abs(d[a]! - d[a + 4]!) + Math.abs(d[a + 1]! - d[a + 5]!) + Math.abs(d[a + 2]! - d[a + 6]!));
        }
        gx[i] = g;
      }
      if (y + 1 < H) {
        let g = known[i] && known[i + W] ? Math.abs(lzs[i]! - lzs[i + W]!) : 0;
        if (d) {
          const a = i * 4;
          const b = (i + W) * 4;
          g += cw * (Math.abs(d[a]! - d[b]!) + Math.abs(d[a + 1]! - d[b + 1]!) + Math.abs(d[a + 2]! - d[b + 2]!));
        }
        gy[i] = g;
      }
    }
  }
  // Boundary indicators of the original labels.
  const bx = new Uint8Array(N);
  const by = new Uint8Array(N);
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) {
      const i = y * W + x;
      if (x + 1 < W && labels[i] !== labels[i + 1]) bx[i] = 1;
      if (y + 1 < H && labels[i] !== labels[i + W]) by[i] = 1;
    }
  }
  // Pixels that may change: within S (chessboard) of a boundary. Votes are needed there only, but the
  // window sums need scores within r of them: restrict work to rows [y0, y1].
  const band = bandDistance(labelBoundary(labels, W, H), W, H, S);
  let yMin = H;
  let yMax = -1;
  for (let i = 0; i < N; i++) {
    if (band[i]! <= S) {
      const y = (i / W) | 0;
      if (y < yMin) yMin = y;
      if (y > yMax) yMax = y;
    }
  }
  const out = labels.slice();
  if (yMax < 0) return out;
  const y0 = Math.max(0, yMin - r);
  const y1 = Math.min(H - 1, yMax + r);
  const rows = y1 - y0 + 1;
  const M = rows * W;
  const best = new Float32Array(M).fill(-Infinity);
  const bestDx = new Int8Array(M);
  const bestDy = new Int8Array(M);
  const score = new Float32Array(M);
  const tmp = new Float32Array(M);
  // Normalise the penalty by the mean edge strength so it means the same on any scene.
  let gSum = 0;
  for (let i = 0; i < N; i++) gSum += gx[i]! + gy[i]!;
  const gMean = gSum / Math.max(1, N);
  const area = (2 * r + 1) * (2 * r + 1);
  for (let dy = -S; dy <= S; dy++) {
    throwIfAborted(options.signal);
    for (let dx = -S; dx <= S; dx++) {
      for (let y = y0; y <= y1; y++) {
        const ys = y + dy;
        const row = (y - y0) * W;
        for (let x = 0; x < W; x++) {
          const xs = x + dx;
          let v = 0;
          if (xs >= 0 && xs < W && ys >= 0 && ys < H) {
            const i = y * W + x;
            const j = ys * W + xs;
            v = gx[i]! * bx[j]! + gy[i]! * by[j]!;
          }
          score[row + x] = v;
        }
      }
      boxSum(score, tmp, W, rows, r);
      const p = pen * (dx * dx + dy * dy) * gMean * area;
      for (let k = 0; k < M; k++) {
        const v = score[k]! - p;
        if (v > best[k]!) {
          best[k] = v;
          bestDx[k] = dx;
          bestDy[k] = dy;
        }
      }
    }
  }
  for (let y = Math.max(0, yMin); y <= yMax; y++) {
    for (let x = 0; x < W; x++) {
      const i = y * W + x;
      if (band[i]! > S) continue;
      const k = (y - y0) * W + x;
      const xs = Math.min(W - 1, Math.max(0, x + bestDx[k]!));
      const ys = Math.min(H - 1, Math.max(0, y + bestDy[k]!));
      out[i] = labels[ys * W + xs]!;
    }
  }
  return out;
}

/** In-place (2r+1)² box sum of `a` (w×h), using `tmp` as scratch. Borders sum what exists. */
function boxSum(a: Float32Array, tmp: Float32Array, w: number, h: number, r: number): void {
  for (let y = 0; y < h; y++) {
    const row = y * w;
    let acc = 0;
    for (let x = 0; x < Math.min(r, w); x++) acc += a[row + x]!;
    for (let x = 0; x < w; x++) {
      if (x + r < w) acc += a[row + x + r]!;
      if (x - r - 1 >= 0) acc -= a[row + x - r - 1]!;
      tmp[row + x] = acc;
    }
  }
  for (let x = 0; x < w; x++) {
    let acc = 0;
    for (let y = 0; y < Math.min(r, h); y++) acc += tmp[y * w + x]!;
    for (let y = 0; y < h; y++) {
      if (y + r < h) acc += tmp[(y + r) * w + x]!;
      if (y - r - 1 >= 0) acc -= tmp[(y - r - 1) * w + x]!;
      a[y * w + x] = acc;
    }
  }
}
