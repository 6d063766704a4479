/**
 * Boundary snapping: re-deciding mask labels near mask boundaries from the evidence in the depth map and
 * the photo, before harmonization (Stage 1). A segmenter's silhouettes are accurate to a pixel or two;
 * the depth edges we want to snap must land on the real silhouette, not on the segmenter's guess.
 *
 * Evidence per band pixel p (within `radius` px of a boundary). The two labels whose interiors (pixels
 * farther than `radius` from any boundary) are nearest to p are its candidates; each carries the inverse
 * depth z_l and colour I_l of its nearest interior pixel, propagated through the band breadth-first. Then
 *
 *   cost(p, l) = |D̄_p / D_l − 1| / depthScale + ‖Ī_p − I_l‖₁ / (3·colorScale)
 *
 * on 3×3-averaged depth D̄ and colour Ī (or |log| of the inverse-depth ratio, see `linearDepth`). A depth
 * edge blurred in depth crosses the arithmetic midpoint of its two sides exactly at the true edge, and
 * silhouettes are colour edges, so both costs favour the true side.
 *
 * Each band pixel then takes the candidate with the smallest expected relative depth error (see
 * SnapOptions.riskTemperature), with a bonus for the segmenter's own label.
 */
import { throwIfAborted } from '../core/errors';
import type { RGBAImage } from '../core/types';
import { grow, labelBand } from './labels';

export interface SnapOptions {
  /** Band half-width (px, chessboard) around boundaries where labels are re-decided. */
  radius: number;
  /** Scale of the inverse-depth disagreement (relative). Default 0.03. */
  depthScale?: number;
  /**
   * Compare depths linearly (|D_p − D_l| / D_p, default) or in log space (|log(z_p / z_l)|). A depth map
   * whose edges were blurred in depth crosses the ARITHMETIC midpoint of its two sides at the true edge;
   * the log comparison puts the decision at the geometric midpoint, biased towards the far side.
   */
  linearDepth?: boolean;
  /** Scale of the colour disagreement (0..255, mean abs over RGB). Default 12. */
  colorScale?: number;
  /** Per-pixel mode: cost bonus of the segmenter's own label. Default 0.5. */
  stayBonus?: number;
  /**
   * Per-pixel mode: decide by the smallest expected relative depth error instead of the smallest cost.
   * Costs become probabilities p_l ∝ exp(−cost_l / temperature); the label chosen minimises
   * Σ_m p_m |D_l − D_m| / D_m. Since a far depth on a near pixel costs D_far/D_near times more than the
   * reverse, ambiguous pixels go to the nearer side. 0 disables. Default 1.
   */
  riskTemperature?: number;
}

/**
 * Candidate labels and costs of the band pixels, in compact form: band pixel k is image pixel `pixels[k]`;
 * `index[i]` is k for a band pixel i and -1 elsewhere. lab2 = -2 where there is only one candidate.
 */
export interface SnapCandidates {
  radius: number;
  count: number;
  pixels: Int32Array;
  index: Int32Array;
  lab1: Int32Array;
  cost1: Float32Array;
  /** Inverse depth of candidate 1's source (0 = unknown). */
  z1: Float32Array;
  lab2: Int32Array;
  cost2: Float32Array;
  z2: Float32Array;
}

/** Computes the candidates and their costs (see the module comment). */
export function snapCandidates(
  labels: Int32Array,
  image: RGBAImage | undefined,
  inverseDepth: Float32Array,
  known: Uint8Array,
  W: number,
  H: number,
  options: SnapOptions,
): SnapCandidates {
  const N = W * H;
  const R = Math.max(1, Math.round(options.radius));
  const depthScale = options.depthScale ?? 0.03;
  const colorScale = options.colorScale ?? 12;
  const linear = options.linearDepth ?? true;
  // Distances up to R + 1: band pixels (≤ R) and the interior ring that feeds them (= R + 1).
  const dist = labelBand(labels, W, H, R + 1);
  // One pass: band pixels get consecutive indices (scan order) and are listed; ring pixels (distance
  // R + 1) that touch the band seed the propagation below.
  const index = new Int32Array(N);
  let list: Int32Array<ArrayBuffer> = new Int32Array(4096);
  let ring: Int32Array<ArrayBuffer> = new Int32Array(1024);
  let nb = 0;
  let nr = 0;
  for (let y = 0; y < H; y++) {
    const row = y * W;
    for (let x = 0; x < W; x++) {
      const i = row + x;
      const d = dist[i]!;
      if (d <= R) {
        if (nb === list.length) list = grow(list);
        list[nb] = i;
        index[i] = nb++;
        continue;
      }
      index[i] = -1;
      if (d !== R + 1) continue;
      if ((x > 0 && dist[i - 1]! <= R) || (x + 1 < W && dist[i + 1]! <= R) || (y > 0 && dist[i - W]! <= R) || (y + 1 < H && dist[i + W]! <= R)) {
        if (nr === ring.length) ring = grow(ring);
        ring[nr++] = i;
      }
    }
  }
  const pixels = list.slice(0, nb);
  const lab1 = new Int32Array(nb).fill(-2);
  const lab2 = new Int32Array(nb).fill(-2);
  const src1 = new Int32Array(nb).fill(-1);
  const src2 = new Int32Array(nb).fill(-1);
  const cost1 = new Float32Array(nb);
  const cost2 = new Float32Array(nb);
  const z1 = new Float32Array(nb);
  const z2 = new Float32Array(nb);
  const result = { radius: R, count: nb, pixels, index, lab1, cost1, z1, lab2, cost2, z2 };
  if (nb === 0) return result;
  // Breadth-first propagation of (label, source) pairs from the ring into the band; each band pixel keeps
  // the first two labels that reach it. Queue entries: ring pixels, then band pixels (≤ 2 per pixel).
  const cap = nr + 2 * nb + 8;
  const qPix = new Int32Array(cap);
  const qLab = new Int32Array(cap);
  const qSrc = new Int32Array(cap);
  let head = 0;
  let tail = 0;
  for (let r = 0; r < nr; r++) {
    const i = ring[r]!;
    qPix[tail] = i;
    qLab[tail] = labels[i]!;
    qSrc[tail] = known[i] ? i : -1;
    tail++;
  }
  while (head < tail) {
    const i = qPix[head]!;
    const l = qLab[head]!;
    const s = qSrc[head]!;
    head++;
    const x = i % W;
    for (let n = 0; n < 4; n++) {
      const j = n === 0 ? (x > 0 ? i - 1 : -1) : n === 1 ? (x + 1 < W ? i + 1 : -1) : n === 2 ? i - W : i + W;
      if (j < 0 || j >= N) continue;
      const k = index[j]!;
      if (k < 0 || lab1[k] === l || lab2[k] === l) continue;
      if (lab1[k] === -2) {
        lab1[k] = l;
        src1[k] = s;
      } else if (lab2[k] === -2) {
        lab2[k] = l;
        src2[k] = s;
      } else continue;
      qPix[tail] = j;
      qLab[tail] = l;
      qSrc[tail] = s;
      tail++;
    }
  }
  // Smoothed evidence: 3×3 mean of depth (linear mode) or inverse depth, returned as inverse depth; 3×3
  // mean colour. Sources are shared by many band pixels and are memoised.
  const zAt = (p: number): number => {
    const x = p % W;
    const y = (p - x) / W;
    let s = 0;
    let n = 0;
    for (let yy = Math.max(0, y - 1); yy <= Math.min(H - 1, y + 1); yy++) {
      for (let xx = Math.max(0, x - 1); xx <= Math.min(W - 1, x + 1); xx++) {
        const j = yy * W + xx;
        if (known[j]) {
          s += linear ? 1 / inverseDepth[j]! : inverseDepth[j]!;
          n++;
        }
      }
    }
    return n ? (linear ? n / s : s / n) : 0;
  };
  const img = image?.data;
  const colAt = (p: number, out: Float32Array, o: number): void => {
    const x = p % W;
    const y = (p - x) / W;
    let r = 0;
    let g = 0;
    let b = 0;
    let n = 0;
    for (let yy = Math.max(0, y - 1); yy <= Math.min(H - 1, y + 1); yy++) {
      for (let xx = Math.max(0, x - 1); xx <= Math.min(W - 1, x + 1); xx++) {
        const j = (yy * W + xx) * 4;
        r += img![j]!;
        g += img![j + 1]!;
        b += img![j + 2]!;
        n++;
      }
    }
    out[o] = r / n;
    out[o + 1] = g / n;
    out[o + 2] = b / n;
  };
  const memo = new Map<number, number>(); // source pixel → slot in the memo arrays
  const mz = new Float32Array(nr + 1);
  const mc = new Float32Array(3 * (nr + 1));
  const slotOf = (q: number): number => {
    let slot = memo.get(q);
    if (slot === undefined) {
      slot = memo.size;
      memo.set(q, slot);
      mz[slot] = zAt(q);
      if (img) colAt(q, mc, 3 * slot);
    }
    return slot;
  };
  const cp = new Float32Array(3);
  const invDS = 1 / depthScale;
  const invCS = 1 / (3 * colorScale);
  for (let k = 0; k < nb; k++) {
    if (lab1[k] === -2) continue;
    const p = pixels[k]!;
    const zp = known[p] ? zAt(p) : 0;
    if (img) colAt(p, cp, 0);
    for (let t = 0; t < 2; t++) {
      const l = t === 0 ? lab1[k]! : lab2[k]!;
      if (l === -2) break;
      const s = t === 0 ? src1[k]! : src2[k]!;
      let c = 0;
      if (s >= 0) {
        const slot = slotOf(s);
        const zs = mz[slot]!;
        if (t === 0) z1[k] = zs;
        else z2[k] = zs;
        if (zp > 0 && zs > 0) c += (linear ? Math.abs(zp / zs - 1) : Math.abs(Math.log(zp / zs))) * invDS;
        if (img) {
          const o = 3 * slot;
          c += (Math.abs(cp[0]! - mc[o]!) + Math.abs(cp[1]! - mc[o + 1]!) + Math.abs(cp[2]! - mc[o + 2]!)) * invCS;
        }
      }
      if (t === 0) cost1[k] = c;
      else cost2[k] = c;
    }
  }
  return result;
}

/** Per-pixel snapping: each band pixel takes its cheaper candidate (segmenter's label gets `stayBonus`). */
export function snapLabels(
  labels: Int32Array,
  image: RGBAImage | undefined,
  inverseDepth: Float32Array,
  known: Uint8Array,
  W: number,
  H: number,
  options: SnapOptions,
  signal?: AbortSignal,
): Int32Array {
  const cand = snapCandidates(labels, image, inverseDepth, known, W, H, options);
  throwIfAborted(signal);
  const stay = options.stayBonus ?? 0.5;
  const temp = options.riskTemperature ?? 1;
  const out = labels.slice();
  const { count, pixels, lab1, lab2, cost1, cost2, z1, z2 } = cand;
  for (let k = 0; k < count; k++) {
    if (lab2[k] === -2) continue;
    const p = pixels[k]!;
    const c1 = cost1[k]! - (lab1[k] === labels[p] ? stay : 0);
    const c2 = cost2[k]! - (lab2[k] === labels[p] ? stay : 0);
    if (temp > 0 && z1[k]! > 0 && z2[k]! > 0) {
      // p1/p2 = exp((c2 − c1)/T). With D = 1/z: risk(l1) = p2·|D1 − D2|/D2 and risk(l2) = p1·|D1 − D2|/D1,
      // so l1 wins iff p2·z2 ≤ p1·z1, i.e. (c2 − c1)/T + log(z1/z2) ≥ 0.
      const logOdds = (c2 - c1) / temp;
      out[p] = logOdds + Math.log(z1[k]! / z2[k]!) >= 0 ? lab1[k]! : lab2[k]!;
    } else out[p] = c1 <= c2 ? lab1[k]! : lab2[k]!;
  }
  return out;
}
