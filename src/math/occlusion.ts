/**
 * Occlusion geometry of an orbit: where a depth map must tear, how wide each tear opens, which depth slabs
 * separate the two sides of every tear, and how far past the image border an orbit can look.
 *
 * Orbit model. The asset is viewed from cameras that orbit a pivot on the optical axis at the median depth
 * Z̄; at the edge of the orbit range the camera has moved sideways by B = b·Z̄ (b = `orbitBaseline`, 0.2 ≈ an
 * orbit of ±10°, since sin 10° ≈ 0.17). Two surface points on one ray at depths Z₁ < Z₂ then separate on the
 * screen by the parallax
 *
 *     p = f·B·(1/Z₁ − 1/Z₂)  pixels      (f: focal length in pixels),
 *
 * so parallax is K·Δ(1/Z) with K = f·B, the "parallax scale" of the asset.
 *
 * Tears. Between two neighbouring pixels a mesh may stay welded (a continuous surface, however steep) or be
 * cut (a depth discontinuity: the surfaces separate when the view moves). A continuous slope changes inverse
 * depth by about as much across the edge as across the pixels on either side; a discontinuity does not.
 * The edge (a, b) between pixels with inverse depths i_a, i_b, whose outer neighbours are i_a' (beyond a) and
 * i_b' (beyond b), has the jump residual
 *
 *     r = min(|Δ − (i_a − i_a')|, |Δ − (i_b' − i_b)|),   Δ = i_b − i_a,
 *
 * i.e. the jump not explained by the slope of either side (the min keeps creases, where the slope changes,
 * welded). The edge tears when K·r > τ (τ = `tearPixels`, 1 px): the opening it would show at the edge of
 * the orbit exceeds a pixel. A fronto-parallel step tears as soon as its parallax exceeds τ; a slope of any
 * steepness never does.
 *
 * Slabs. Every tear needs something behind it: the far side must lie in a layer drawn before the near side,
 * and that layer must carry fill behind the near side (see occlusion-layers.ts). With layers that are slabs
 * of inverse depth, a tear is backed exactly when a slab boundary lies between its two inverse depths (the
 * interval (i_far, i_near) is "stabbed"). `chooseSlabBoundaries` picks at most k boundaries maximising the
 * stabbed tear weight (dynamic programming over quantised inverse depth); a tear left unstabbed stays
 * welded, which is what a single displaced mesh (the "rubber sheet") does everywhere.
 */
import { DioramaError } from '../core/errors';
import type { Intrinsics } from '../core/types';

/** Defaults of the orbit model. */
export const ORBIT_DEFAULTS = Object.freeze({
  /** Sideways camera travel at the edge of the orbit range, as a fraction of the median depth (≈ ±10° orbit). */
  orbitBaseline: 0.2,
  /** A tear opens when its parallax at the edge of the orbit range exceeds this many pixels. */
  tearPixels: 1,
  /** A welded jump that opens by more than this many pixels shows as a stretch (one texel over > 4 px). */
  stretchPixels: 4,
  /** Yaw (degrees) and pitch of the orbit range used for the rim (border) margins. */
  yawDegrees: 10,
  pitchDegrees: 5,
});

/** Median of the positive, finite values of `a` (sampled: at most ~65 k values). NaN when there is none. */
export function medianPositive(a: Float32Array): number {
  const stride = Math.max(1, Math.floor(a.length / 65536));
  const s: number[] = [];
  for (let i = 0; i < a.length; i += stride) {
    const v = a[i]!;
    if (v > 0 && v < Infinity) s.push(v);
  }
  if (s.length === 0) return NaN;
  s.sort((x, y) => x - y);
  return s[s.length >> 1]!;
}

/** K = f·B with B = orbitBaseline·median depth: pixels of parallax per unit of inverse depth (1/m). */
export function parallaxScale(intrinsics: Intrinsics, medianDepth: number, orbitBaseline: number = ORBIT_DEFAULTS.orbitBaseline): number {
  if (!(medianDepth > 0) || !(orbitBaseline >= 0)) {
    throw new DioramaError('INVALID_OPTION', `parallax scale: expected a positive median depth and orbitBaseline ≥ 0; found ${medianDepth} and ${orbitBaseline}`);
  }
  return Math.max(intrinsics.fx, intrinsics.fy) * orbitBaseline * medianDepth;
}

/** Tear edges of a W×H inverse-depth map (every value > 0). */
export interface TearMap {
  width: number;
  height: number;
  /** Parallax (px, K·r) of the edge between (x, y) and (x + 1, y) where it tears, else 0; W·H (last column 0). */
  right: Float32Array;
  /** The same for the edge between (x, y) and (x, y + 1); W·H (last row 0). */
  down: Float32Array;
  /** Number of torn edges. */
  count: number;
}

/**
 * Finds the tears of an inverse-depth map (see the module comment): an edge tears when K times its jump
 * residual exceeds `tearPixels`. The stored value is K·|Δ| (the full parallax between the two sides, which
 * sizes the fill behind the near side). At the image border the missing outer neighbour counts as a
 * continuation of the slope on its side being unknown: the other side's slope decides alone.
 */
export function detectTears(inv: Float32Array, W: number, H: number, K: number, tearPixels: number = ORBIT_DEFAULTS.tearPixels): TearMap {
  if (inv.length !== W * H) throw new DioramaError('SIZE_MISMATCH', `detectTears: ${inv.length} values for ${W}x${H}`);
  const right = new Float32Array(W * H);
  const down = new Float32Array(W * H);
  const thr = tearPixels / K;
  let count = 0;
  const residual = (ia2: number, ia: number, ib: number, ib2: number, hasA: boolean, hasB: boolean): number => {
    const d = ib - ia;
    const ra = hasA ? Math.abs(d - (ia - ia2)) : Infinity;
    const rb = hasB ? Math.abs(d - (ib2 - ib)) : Infinity;
    const r = Math.min(ra, rb);
    return r === Infinity ? Math.abs(d) : r;
  };
  for (let y = 0; y < H; y++) {
    const row = y * W;
    for (let x = 0; x + 1 < W; x++) {
      const i = row + x;
      const ia = inv[i]!;
      const ib = inv[i + 1]!;
      if (Math.abs(ib - ia) <= thr) continue;
      const r = residual(x > 0 ? inv[i - 1]! : 0, ia, ib, x + 2 < W ? inv[i + 2]! : 0, x > 0, x + 2 < W);
      if (r > thr) {
        right[i] = K * Math.abs(ib - ia);
        count++;
      }
    }
  }
  for (let y = 0; y + 1 < H; y++) {
    const row = y * W;
    for (let x = 0; x < W; x++) {
      const i = row + x;
      const ia = inv[i]!;
      const ib = inv[i + W]!;
      if (Math.abs(ib - ia) <= thr) continue;
      const r = residual(y > 0 ? inv[i - W]! : 0, ia, ib, y + 2 < H ? inv[i + 2 * W]! : 0, y > 0, y + 2 < H);
      if (r > thr) {
        down[i] = K * Math.abs(ib - ia);
        count++;
      }
    }
  }
  return { width: W, height: H, right, down, count };
}

/**
 * Chooses at most `maxBoundaries` slab boundaries (inverse depths, ascending) so that the weight of tears
 * whose two sides fall in different slabs is as large as possible. Each torn edge is the interval
 * (i_far, i_near) with weight K·Δ − s, s = `stretchPixels` (4): a tear that no boundary separates is drawn
 * welded, and a welded jump that opens by p px spreads one texel over p screen pixels, which is a visible
 * stretch only beyond ~4 px (metrics §5's `stretched`). Smaller openings (the quantisation steps of
 * ground-truth disparity among them) are not worth a layer; deep steps weigh more. Inverse depth is quantised into `bins` bins over [min, max]; a boundary sits at a
 * bin edge, and an interval counts as stabbed when a boundary lies strictly inside its bin span. The DP is
 * exact on that grid: O(bins²·k). A further boundary is kept only while it adds at least `minGain` of the
 * total weight, so scenes without tears get no slabs at all.
 */
export function chooseSlabBoundaries(
  inv: Float32Array,
  tears: TearMap,
  maxBoundaries: number,
  options: { bins?: number; stretchPixels?: number; minGain?: number } = {},
): number[] {
  const { width: W, height: H } = tears;
  const bins = options.bins ?? 256;
  const stretch = options.stretchPixels ?? ORBIT_DEFAULTS.stretchPixels;
  const minGain = options.minGain ?? 0.005;
  if (maxBoundaries <= 0 || tears.count === 0) return [];
  let lo = Infinity;
  let hi = -Infinity;
  for (let i = 0; i < inv.length; i++) {
    const v = inv[i]!;
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  if (!(hi > lo)) return [];
  const scale = bins / (hi - lo);
  const binOf = (v: number): number => Math.min(bins - 1, Math.max(0, Math.floor((v - lo) * scale)));
  // C[a·bins + b]: weight of intervals whose far end is in bin a and near end in bin b (a < b; a = b cannot be
  // stabbed at this resolution). A boundary at bin edge e (between bins e − 1 and e, 1 ≤ e < bins) stabs the
  // interval when a < e ≤ b.
  const C = new Float64Array(bins * bins);
  let total = 0;
  const add = (i: number, j: number, w: number): void => {
    const a = binOf(Math.min(inv[i]!, inv[j]!));
    const b = binOf(Math.max(inv[i]!, inv[j]!));
    const wt = Math.max(0, w - stretch);
    if (a === b || wt <= 0) return;
    C[a * bins + b] += wt;
    total += wt;
  };
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) {
      const i = y * W + x;
      if (tears.right[i]! > 0) add(i, i + 1, tears.right[i]!);
      if (tears.down[i]! > 0) add(i, i + W, tears.down[i]!);
    }
  }
  if (total <= 0) return [];
  // S[a][e] = Σ_{b ≥ e} C[a][b]: intervals starting in bin a that edge e stabs when a < e.
  // gain(e', e) (edge e following e' < e) = Σ_{e' ≤ a < e} S[a][e]: stabbed by e and not by e'.
  // P[a][e] = Σ_{a'' < a} S[a''][e], so gain(e', e) = P[e][e] − P[e'][e].
  const S = new Float64Array(bins * (bins + 1));
  for (let a = 0; a < bins; a++) {
    let acc = 0;
    for (let b = bins - 1; b >= 0; b--) {
      acc += C[a * bins + b]!;
      S[a * (bins + 1) + b] = acc;
    }
  }
  const P = new Float64Array((bins + 1) * (bins + 1));
  for (let e = 0; e <= bins; e++) {
    let acc = 0;
    for (let a = 0; a <= bins; a++) {
      P[a * (bins + 1) + e] = acc;
      if (a < bins) acc += S[a * (bins + 1) + e]!;
    }
  }
  // Boundaries that stab the same tears are equally good for the tears, but not for the surfaces they cut: a
  // boundary through a populated bin slices a continuous surface into a ragged seam (with noisy depth, into
  // speckles). A small penalty per pixel in the two bins beside the edge (μ·count, μ = 10⁻³ of the mean tear
  // weight per pixel: a boundary through every pixel costs 0.1 % of the total) breaks such ties towards the
  // emptiest inverse depth, i.e. the gap between the two sides of the tears.
  const hist = new Float64Array(bins);
  for (let i = 0; i < inv.length; i++) hist[binOf(inv[i]!)]! += 1;
  const mu = (1e-3 * total) / inv.length;
  const cut = (e: number): number => mu * (hist[e - 1]! + hist[e]!);
  const gain = (prev: number, e: number): number => P[e * (bins + 1) + e]! - (prev > 0 ? P[prev * (bins + 1) + e]! : 0) - cut(e);
  const k = Math.min(maxBoundaries, bins - 1);
  // best[c][e]: largest stabbed weight with c boundaries, the last at edge e; from[c][e] the previous edge.
  const best: Float64Array[] = [];
  const from: Int32Array[] = [];
  const first = new Float64Array(bins);
  for (let e = 1; e < bins; e++) first[e] = gain(0, e);
  best.push(first);
  from.push(new Int32Array(bins));
  let chosen: number[] = [];
  let bestSoFar = 0;
  for (let c = 1; c <= k; c++) {
    const cur = best[c - 1]!;
    let top = -1;
    let topE = -1;
    for (let e = 1; e < bins; e++) if (cur[e]! > top) { top = cur[e]!; topE = e; }
    if (top - bestSoFar < minGain * total) break;
    bestSoFar = top;
    // Trace back the c boundaries.
    const edges: number[] = [];
    for (let cc = c - 1, e = topE; cc >= 0; cc--) {
      edges.push(e);
      e = from[cc]![e]!;
    }
    chosen = edges.reverse();
    if (c === k) break;
    const next = new Float64Array(bins).fill(-1);
    const nf = new Int32Array(bins);
    for (let e = 2; e < bins; e++) {
      for (let p = 1; p < e; p++) {
        const v = cur[p]! + gain(p, e);
        if (v > next[e]!) { next[e] = v; nf[e] = p; }
      }
    }
    best.push(next);
    from.push(nf);
  }
  return chosen.map((e) => lo + e / scale);
}

/** Slab index per pixel: the number of boundaries (ascending inverse depths) at or below its inverse depth. */
export function assignSlabs(inv: Float32Array, boundaries: readonly number[]): Uint8Array {
  const out = new Uint8Array(inv.length);
  for (let i = 0; i < inv.length; i++) {
    const v = inv[i]!;
    let s = 0;
    while (s < boundaries.length && v >= boundaries[s]!) s++;
    out[i] = s;
  }
  return out;
}

/**
 * Variable-radius reach through a passable set: every seed i with budget b[i] > 0 reaches the pixels within
 * chessboard distance b[i] − 1 of it along 8-connected paths of passable pixels. Returns the remaining
 * budget per pixel (0 = not reached; seeds keep their own). Work is proportional to the pixels reached times
 * the budget levels (bucket queue, highest budget first).
 */
export function reach(budget: Uint16Array, passable: Uint8Array, W: number, H: number): Uint16Array {
  const N = W * H;
  const out = new Uint16Array(N);
  let maxB = 0;
  for (let i = 0; i < N; i++) if (budget[i]! > maxB) maxB = budget[i]!;
  if (maxB === 0) return out;
  const buckets: number[][] = Array.from({ length: maxB + 1 }, () => []);
  for (let i = 0; i < N; i++) {
    const b = budget[i]!;
    if (b > 0) {
      out[i] = b;
      buckets[b]!.push(i);
    }
  }
  for (let b = maxB; b > 1; b--) {
    const list = buckets[b]!;
    for (let k = 0; k < list.length; k++) {
      const i = list[k]!;
      if (out[i] !== b) continue;
      const x = i % W;
      const y = (i - x) / W;
      const nb = b - 1;
      for (let dy = -1; dy <= 1; dy++) {
        const yy = y + dy;
        if (yy < 0 || yy >= H) continue;
        for (let dx = -1; dx <= 1; dx++) {
          const xx = x + dx;
          if ((dx === 0 && dy === 0) || xx < 0 || xx >= W) continue;
          const j = yy * W + xx;
          if (!passable[j] || out[j]! >= nb) continue;
          out[j] = nb;
          buckets[nb]!.push(j);
        }
      }
    }
    buckets[b] = [];
  }
  return out;
}

/** Pixels an orbit can see beyond each side of the image, on surfaces at depths within [zNear, zFar]. */
export interface RimMargins {
  left: number;
  right: number;
  top: number;
  bottom: number;
}

/**
 * How far (pixels of the photo's image plane) the views of the orbit range see past each image border, on
 * fronto-parallel planes at the depths `depths`: for each extreme view (yaw ±yaw, pitch ±pitch, and the
 * four combinations) the rays through the view's frame edges are intersected with each plane and projected
 * back into the photo camera. The orbit pivots about (0, 0, pivotDepth) (camera space: x right, y up, z
 * forward, v grows downwards). Rounded up, plus `pad` pixels.
 */
export function rimMargins(
  intrinsics: Intrinsics,
  W: number,
  H: number,
  pivotDepth: number,
  depths: readonly number[],
  yawDegrees: number = ORBIT_DEFAULTS.yawDegrees,
  pitchDegrees: number = ORBIT_DEFAULTS.pitchDegrees,
  pad = 2,
): RimMargins {
  const { fx, fy, cx, cy } = intrinsics;
  const m = { left: 0, right: 0, top: 0, bottom: 0 };
  const yaw = (yawDegrees * Math.PI) / 180;
  const pitch = (pitchDegrees * Math.PI) / 180;
  const views: [number, number][] = [];
  for (const a of [-yaw, 0, yaw]) for (const b of [-pitch, 0, pitch]) if (a || b) views.push([a, b]);
  const samples = 16;
  for (const [a, b] of views) {
    // Rotation R = Ry(a)·Rx(b) of the view camera about the pivot: camera centre C = P + R·(0, 0, −Zp).
    const ca = Math.cos(a), sa = Math.sin(a), cb = Math.cos(b), sb = Math.sin(b);
    const rot = (v: [number, number, number]): [number, number, number] => {
      // Rx(b): y' = y cb − z sb ... (pitch up for b > 0), then Ry(a): x'' = x' ca + z' sa.
      const y1 = v[1] * cb - v[2] * sb;
      const z1 = v[1] * sb + v[2] * cb;
      return [v[0] * ca + z1 * sa, y1, -v[0] * sa + z1 * ca];
    };
    const c0 = rot([0, 0, -pivotDepth]);
    const C: [number, number, number] = [c0[0], c0[1], c0[2] + pivotDepth];
    for (let s = 0; s <= samples; s++) {
      const t = s / samples;
      for (const [u, v] of [[t * W, 0], [t * W, H], [0, t * H], [W, t * H]] as [number, number][]) {
        const d = rot([(u - cx) / fx, -(v - cy) / fy, 1]);
        if (d[2] <= 1e-6) continue;
        for (const Z of depths) {
          if (!(Z > 0)) continue;
          const k = (Z - C[2]) / d[2];
          if (k <= 0) continue;
          const X = C[0] + k * d[0];
          const Y = C[1] + k * d[1];
          const pu = cx + (fx * X) / Z;
          const pv = cy - (fy * Y) / Z;
          m.left = Math.max(m.left, -pu);
          m.right = Math.max(m.right, pu - W);
          m.top = Math.max(m.top, -pv);
          m.bottom = Math.max(m.bottom, pv - H);
        }
      }
    }
  }
  const r = (x: number): number => (x > 0 ? Math.ceil(x) + pad : 0);
  return { left: r(m.left), right: r(m.right), top: r(m.top), bottom: r(m.bottom) };
}

/**
 * Completes unknown depth (0) before layering, from the far side at silhouettes. Along every row and every
 * column, a run of unknown pixels is bounded by two known pixels (or one at the border). Where the two
 * bounds differ by more than `jumpRatio` the run crosses a silhouette: a sensor hole beside a silhouette is
 * the near side's occlusion shadow, so it takes the farther bound. Where they agree (or only one exists)
 * the run lies inside one surface and is interpolated in inverse depth. A pixel then combines its row and
 * column estimates: a run inside one surface beats a run across a silhouette; two runs inside surfaces that
 * agree are averaged; two that disagree mean a surface crosses the hole in front of another (a thin bar
 * over a disc-shaped hole is continuous along its axis), so the nearer one wins and the bar stays whole;
 * two runs across silhouettes take the farther. Pixels whose row and column hold no known value at all are
 * completed by a further pass from the completed ones. Returns a new array (known pixels copied) and the
 * number of pixels filled (every unknown pixel, unless nothing at all is known).
 */
export function completeDepthFarSide(depth: Float32Array, W: number, H: number, jumpRatio = 1.05): { depth: Float32Array; filled: number } {
  const N = W * H;
  const out = depth.slice();
  const known = (i: number): boolean => depth[i]! > 0 && depth[i]! < Infinity;
  let unknown = 0;
  for (let i = 0; i < N; i++) if (!known(i)) unknown++;
  if (unknown === 0) return { depth: out, filled: 0 };
  const rowEst = new Float32Array(N);
  const colEst = new Float32Array(N);
  // 1: the run lies inside one surface; 2: it crosses a silhouette.
  const rowKind = new Uint8Array(N);
  const colKind = new Uint8Array(N);
  const run = (est: Float32Array, kind: Uint8Array, start: number, step: number, len: number): void => {
    let k = 0;
    while (k < len) {
      if (known(start + k * step)) {
        k++;
        continue;
      }
      const a = k - 1;
      let b = k;
      while (b < len && !known(start + b * step)) b++;
      const za = a >= 0 ? depth[start + a * step]! : 0;
      const zb = b < len ? depth[start + b * step]! : 0;
      const across = za > 0 && zb > 0 && Math.max(za, zb) / Math.min(za, zb) > jumpRatio;
      for (let t = k; t < b; t++) {
        let z: number;
        if (across) z = Math.max(za, zb);
        else if (za > 0 && zb > 0) {
          const f = (t - a) / (b - a);
          z = 1 / ((1 - f) / za + f / zb);
        } else z = za > 0 ? za : zb;
        est[start + t * step] = z;
        kind[start + t * step] = z > 0 ? (across ? 2 : 1) : 0;
      }
      k = b;
    }
  };
  for (let y = 0; y < H; y++) run(rowEst, rowKind, y * W, 1, W);
  for (let x = 0; x < W; x++) run(colEst, colKind, x, W, H);
  let filled = 0;
  for (let i = 0; i < N; i++) {
    if (known(i)) continue;
    const a = rowEst[i]!;
    const b = colEst[i]!;
    const ka = rowKind[i]!;
    const kb = colKind[i]!;
    let z: number;
    if (!ka || !kb) z = ka ? a : b;
    else if (ka === 1 && kb === 1) z = Math.max(a, b) / Math.min(a, b) > jumpRatio ? Math.min(a, b) : 2 / (1 / a + 1 / b);
    else if (ka === 1) z = a;
    else if (kb === 1) z = b;
    else z = Math.max(a, b);
    out[i] = z > 0 ? z : 0;
    if (z > 0) filled++;
  }
  // Pixels whose row and column are both wholly unknown (the corners of an unknown border, as in the
  // Middlebury ground truth) are reached by a second pass over the completed rows and columns.
  if (filled > 0 && filled < unknown) {
    const again = completeDepthFarSide(out, W, H, jumpRatio);
    return { depth: again.depth, filled: filled + again.filled };
  }
  return { depth: out, filled };
}
