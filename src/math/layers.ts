/**
 * Stage 2: from masks to depth layers.
 *
 * Per mask: median depth m_i and median absolute deviation MAD_i (metres, over the mask's pixels with
 * known depth). MAD_i is floored at `madFloor`·m_i so that a perfectly flat mask does not make every merge
 * impossible (depth quantisation and noise make real masks at least that thick).
 *
 * Agglomerative clustering with complete linkage: clusters A and B may merge only if EVERY pair i∈A, j∈B
 * satisfies |m_i − m_j| < k·(MAD_i + MAD_j), k = `overlapFactor`. With the pair dissimilarity
 * δ_ij = |m_i − m_j| / (k·(MAD_i + MAD_j)), the complete-linkage distance of two clusters is the largest δ
 * between them, the criterion is "distance < 1", and we always merge the closest admissible pair
 * (Lance–Williams update for complete linkage: d(A∪B, C) = max(d(A,C), d(B,C))).
 *
 * The count is then clamped to [minLayers, maxLayers]: above, the two clusters closest in inverse depth
 * (gap between their inverse-depth intervals) are merged (a forced merge, counted in the result); below,
 * the cluster widest in inverse depth is split at its largest inverse-depth gap between masks, or, when it
 * holds a single mask, its pixels are split at the median inverse depth into two slabs.
 *
 * Plane depths: one plane per layer, uniformly spaced in inverse depth between the 2nd and 98th
 * percentiles of the scene's inverse depth (dense near the camera, coarse far away), assigned in order.
 */
import { DioramaError, throwIfAborted } from '../core/errors';

export interface LayerOptions {
  /** k in the merge criterion. Default 1.5. */
  overlapFactor?: number;
  /** Default 4. */
  minLayers?: number;
  /** Default 12. */
  maxLayers?: number;
  /** MAD floor relative to the median. Default 0.01. */
  madFloor?: number;
  signal?: AbortSignal;
}

export const LAYER_DEFAULTS = Object.freeze({ overlapFactor: 1.5, minLayers: 4, maxLayers: 12, madFloor: 0.01 });

export interface MaskStats {
  /** Median metric depth. */
  median: number;
  /** MAD after the floor. */
  mad: number;
  /** Pixels with known depth. */
  count: number;
}

export interface LayerAssignment {
  /** Layers back to front: 0 is the farthest. */
  layerCount: number;
  /** Layer per pixel (0..layerCount-1), for every pixel. */
  pixelLayer: Uint8Array;
  /** Layer per mask (-1 for masks with no known depth pixels). */
  maskLayer: Int32Array;
  /** Mask ids per layer. */
  layerMasks: number[][];
  maskStats: MaskStats[];
  /** Metric plane depth per layer. */
  planeDepths: Float64Array;
  /** Clusters merged against the criterion to respect maxLayers. */
  forcedMerges: number;
  /** Splits done to reach minLayers. */
  splits: number;
}

/** Checks the layer options (INVALID_OPTION naming the bad value) and returns them with defaults. */
export function validateLayerOptions(options: LayerOptions): { k: number; minL: number; maxL: number } {
  const k = options.overlapFactor ?? LAYER_DEFAULTS.overlapFactor;
  const minL = options.minLayers ?? LAYER_DEFAULTS.minLayers;
  const maxL = options.maxLayers ?? LAYER_DEFAULTS.maxLayers;
  if (!(k > 0)) throw new DioramaError('INVALID_OPTION', `overlapFactor must be > 0; found ${k}`);
  if (!Number.isInteger(minL) || !Number.isInteger(maxL) || minL < 1 || maxL < minL || maxL > 255) {
    throw new DioramaError('INVALID_OPTION', `layer bounds must be integers with 1 ≤ minLayers ≤ maxLayers ≤ 255; found [${minL}, ${maxL}]`);
  }
  return { k, minL, maxL };
}

/** Median and MAD of `values[0..n)` (the array is reordered). Linear time (quickselect). */
export function medianAndMAD(values: Float64Array | Float32Array, n: number): { median: number; mad: number } {
  if (n === 0) return { median: NaN, mad: NaN };
  const v = values.subarray(0, n);
  const med = medianInPlace(v);
  for (let i = 0; i < n; i++) v[i] = Math.abs(v[i]! - med);
  return { median: med, mad: medianInPlace(v) };
}

/** Median of v (reordered): the middle order statistic, or the mean of the two middle ones. */
function medianInPlace(v: Float64Array | Float32Array): number {
  const n = v.length;
  const k = n >> 1;
  select(v, k);
  const hi = v[k]!;
  if (n % 2) return hi;
  // After selection every element left of k is ≤ v[k]: the (k−1)-th order statistic is their maximum.
  let lo = -Infinity;
  for (let i = 0; i < k; i++) if (v[i]! > lo) lo = v[i]!;
  return 0.5 * (lo + hi);
}

/** Hoare-style quickselect: reorders v so that v[k] is the k-th smallest, smaller ones before it. */
function select(v: Float64Array | Float32Array, k: number): void {
  let left = 0;
  let right = v.length - 1;
  while (right > left) {
    // Median-of-three pivot.
    const mid = (left + right) >> 1;
    const a = v[left]!;
    const b = v[mid]!;
    const c = v[right]!;
    const pivot = a < b ? (b < c ? b : a < c ? c : a) : a < c ? a : b < c ? c : b;
    let i = left;
    let j = right;
    while (i <= j) {
      while (v[i]! < pivot) i++;
      while (v[j]! > pivot) j--;
      if (i <= j) {
        const t = v[i]!;
        v[i] = v[j]!;
        v[j] = t;
        i++;
        j--;
      }
    }
    if (k <= j) right = j;
    else if (k >= i) left = i;
    else return;
  }
}

/** Per-mask statistics over pixels with known depth. */
export function computeMaskStats(depth: Float32Array, labels: Int32Array, maskCount: number, madFloor: number): MaskStats[] {
  const counts = new Int32Array(maskCount);
  for (let i = 0; i < labels.length; i++) {
    const l = labels[i]!;
    if (l >= 0 && l < maskCount && depth[i]! > 0) counts[l]++;
  }
  const offsets = new Int32Array(maskCount + 1);
  for (let k = 0; k < maskCount; k++) offsets[k + 1] = offsets[k]! + counts[k]!;
  const values = new Float64Array(offsets[maskCount]!);
  const fill = offsets.slice(0, maskCount);
  for (let i = 0; i < labels.length; i++) {
    const l = labels[i]!;
    if (l >= 0 && l < maskCount && depth[i]! > 0) values[fill[l]!++] = depth[i]!;
  }
  const stats: MaskStats[] = [];
  for (let k = 0; k < maskCount; k++) {
    const n = counts[k]!;
    const { median, mad } = medianAndMAD(values.subarray(offsets[k]!, offsets[k + 1]!), n);
    stats.push({ median, mad: n ? Math.max(mad, madFloor * median) : NaN, count: n });
  }
  return stats;
}

/** The merge criterion for one pair of masks. */
export function masksMayShareLayer(a: MaskStats, b: MaskStats, overlapFactor: number): boolean {
  return Math.abs(a.median - b.median) < overlapFactor * (a.mad + b.mad);
}

/**
 * Complete-linkage agglomerative clustering of masks under the merge criterion (no clamping).
 * Returns a cluster id per input mask (0..count-1).
 */
export function clusterMasks(stats: MaskStats[], overlapFactor: number, signal?: AbortSignal): { cluster: Int32Array; count: number } {
  const n = stats.length;
  const cluster = new Int32Array(n);
  if (n === 0) return { cluster, count: 0 };
  // Dense distance matrix (n ≤ a few hundred masks: n² floats is small).
  const D = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = i + 1; j < n; j++) {
      const a = stats[i]!;
      const b = stats[j]!;
      const den = overlapFactor * (a.mad + b.mad);
      const d = den > 0 ? Math.abs(a.median - b.median) / den : a.median === b.median ? 0 : Infinity;
      D[i * n + j] = d;
      D[j * n + i] = d;
    }
  }
  const alive = new Uint8Array(n).fill(1);
  for (let i = 0; i < n; i++) cluster[i] = i;
  // Nearest-neighbour cache per cluster for an O(n²) overall loop in practice.
  const nn = new Int32Array(n);
  const nnd = new Float64Array(n);
  const refresh = (i: number): void => {
    let best = -1;
    let bd = Infinity;
    for (let j = 0; j < n; j++) {
      if (j === i || !alive[j]) continue;
      const d = D[i * n + j]!;
      if (d < bd || (d === bd && j < best)) {
        bd = d;
        best = j;
      }
    }
    nn[i] = best;
    nnd[i] = bd;
  };
  for (let i = 0; i < n; i++) refresh(i);
  for (let merges = 0; merges < n - 1; merges++) {
    if ((merges & 31) === 0) throwIfAborted(signal);
    let a = -1;
    let bd = Infinity;
    for (let i = 0; i < n; i++) {
      if (alive[i] && nnd[i]! < bd) {
        bd = nnd[i]!;
        a = i;
      }
    }
    if (a < 0 || !(bd < 1)) break;
    const b = nn[a]!;
    // Merge b into a (complete linkage: max).
    alive[b] = 0;
    for (let j = 0; j < n; j++) {
      if (!alive[j] || j === a) continue;
      const d = Math.max(D[a * n + j]!, D[b * n + j]!);
      D[a * n + j] = d;
      D[j * n + a] = d;
    }
    for (let i = 0; i < n; i++) if (cluster[i] === b) cluster[i] = a;
    for (let i = 0; i < n; i++) {
      if (!alive[i]) continue;
      if (i === a || nn[i] === a || nn[i] === b) refresh(i);
      else if (D[i * n + a]! < nnd[i]!) {
        nnd[i] = D[i * n + a]!;
        nn[i] = a;
      }
    }
  }
  // Renumber 0..count-1.
  const remap = new Int32Array(n).fill(-1);
  let count = 0;
  for (let i = 0; i < n; i++) {
    const r = cluster[i]!;
    if (remap[r] === -1) remap[r] = count++;
    cluster[i] = remap[r]!;
  }
  return { cluster, count };
}

/**
 * Full Stage 2: statistics, clustering, clamping, ordering back to front, per-pixel layer ids and planes.
 * `labels` are mask ids 0..maskCount-1 (-1 = none; such pixels join the layer nearest in inverse depth).
 */
export function assignLayers(
  depth: Float32Array,
  labels: Int32Array,
  maskCount: number,
  options: LayerOptions = {},
): LayerAssignment {
  const { k, minL, maxL } = validateLayerOptions(options);
  const madFloor = options.madFloor ?? LAYER_DEFAULTS.madFloor;
  if (depth.length !== labels.length) {
    throw new DioramaError('SIZE_MISMATCH', `assignLayers: depth has ${depth.length} values, labels ${labels.length}`);
  }
  const N = depth.length;
  const stats = computeMaskStats(depth, labels, maskCount, madFloor);
  const valid: number[] = [];
  for (let m = 0; m < maskCount; m++) if (stats[m]!.count > 0) valid.push(m);
  const validStats = valid.map((m) => stats[m]!);
  const { cluster, count } = clusterMasks(validStats, k, options.signal);

  // Working clusters as groups of mask ids plus, for slab splits, a pixel-level inverse-depth window.
  interface Group { masks: number[]; lo: number; hi: number; slab?: [number, number] }
  let groups: Group[] = [];
  for (let c = 0; c < count; c++) groups.push({ masks: [], lo: Infinity, hi: -Infinity });
  for (let v = 0; v < valid.length; v++) groups[cluster[v]!]!.masks.push(valid[v]!);
  const invInterval = (g: Group): void => {
    g.lo = Infinity;
    g.hi = -Infinity;
    for (const m of g.masks) {
      const s = stats[m]!;
      const a = 1 / (s.median + s.mad);
      const b = 1 / Math.max(s.median - s.mad, s.median * 1e-3);
      if (a < g.lo) g.lo = a;
      if (b > g.hi) g.hi = b;
    }
    if (g.slab) {
      g.lo = Math.max(g.lo, g.slab[0]);
      g.hi = Math.min(g.hi, g.slab[1]);
    }
  };
  groups.forEach(invInterval);

  // If there are no masks with depth at all, one group holds everything.
  if (groups.length === 0) groups.push({ masks: [], lo: 0, hi: Infinity });

  let forcedMerges = 0;
  while (groups.length > maxL) {
    // Merge the two groups whose inverse-depth intervals are closest (sorted by centre: adjacent pairs).
    groups.sort((a, b) => a.lo + a.hi - (b.lo + b.hi));
    let best = 0;
    let bestGap = Infinity;
    for (let i = 0; i + 1 < groups.length; i++) {
      const gap = Math.max(0, groups[i + 1]!.lo - groups[i]!.hi);
      const span = Math.max(groups[i]!.hi, groups[i + 1]!.hi) - Math.min(groups[i]!.lo, groups[i + 1]!.lo);
      const score = gap + 1e-3 * span;
      if (score < bestGap) {
        bestGap = score;
        best = i;
      }
    }
    const a = groups[best]!;
    const b = groups[best + 1]!;
    a.masks.push(...b.masks);
    a.slab = undefined;
    invInterval(a);
    groups.splice(best + 1, 1);
    forcedMerges++;
  }

  // Per-pixel inverse depth (for slab splits and unmasked pixels).
  const inv = new Float32Array(N);
  for (let i = 0; i < N; i++) inv[i] = depth[i]! > 0 ? 1 / depth[i]! : 0;

  let splits = 0;
  let guard = 0;
  while (groups.length < minL && guard++ < 64) {
    // Widest group in inverse depth.
    let wi = -1;
    let ww = 0;
    for (let i = 0; i < groups.length; i++) {
      const w = groups[i]!.hi - groups[i]!.lo;
      if (groups[i]!.masks.length > 0 && w > ww) {
        ww = w;
        wi = i;
      }
    }
    if (wi < 0) break;
    const g = groups[wi]!;
    if (g.masks.length >= 2) {
      // Split at the largest gap between consecutive mask medians (inverse depth).
      const ms = g.masks.slice().sort((a, b) => 1 / stats[a]!.median - 1 / stats[b]!.median);
      let cut = 1;
      let gap = -1;
      for (let i = 1; i < ms.length; i++) {
        const d = 1 / stats[ms[i]!]!.median - 1 / stats[ms[i - 1]!]!.median;
        if (d > gap) {
          gap = d;
          cut = i;
        }
      }
      const a: Group = { masks: ms.slice(0, cut), lo: 0, hi: 0, slab: g.slab };
      const b: Group = { masks: ms.slice(cut), lo: 0, hi: 0, slab: g.slab };
      invInterval(a);
      invInterval(b);
      groups.splice(wi, 1, a, b);
    } else {
      // One mask: split its pixels at their median inverse depth into two slabs.
      const m = g.masks[0]!;
      const lo0 = g.slab ? g.slab[0] : -Infinity;
      const hi0 = g.slab ? g.slab[1] : Infinity;
      // Typed collection and sort; the extremes are exact, the median comes from all values too (a typed
      // sort of a few million floats is tens of milliseconds, a JS array of them is ten times that).
      let count = 0;
      for (let i = 0; i < N; i++) if (labels[i] === m && inv[i]! > 0 && inv[i]! >= lo0 && inv[i]! < hi0) count++;
      const vals = new Float32Array(count);
      let fillAt = 0;
      for (let i = 0; i < N; i++) if (labels[i] === m && inv[i]! > 0 && inv[i]! >= lo0 && inv[i]! < hi0) vals[fillAt++] = inv[i]!;
      vals.sort();
      if (vals.length < 2 || vals[vals.length - 1]! <= vals[0]! * 1.001) {
        // Flat: nothing to split. Mark it so the loop moves on.
        g.hi = g.lo;
        continue;
      }
      const mid = vals[vals.length >> 1]!;
      // The cut must lie in (min, max] so that both slabs own pixels: when more than half the values equal
      // the minimum, cut at the first larger value instead.
      let cut = mid;
      if (!(cut > vals[0]!)) {
        let k = vals.length >> 1;
        while (vals[k]! <= vals[0]!) k++;
        cut = vals[k]!;
      }
      const a: Group = { masks: [m], lo: vals[0]!, hi: cut, slab: [lo0, cut] };
      const b: Group = { masks: [m], lo: cut, hi: vals[vals.length - 1]!, slab: [cut, hi0] };
      groups.splice(wi, 1, a, b);
    }
    splits++;
  }

  // Order back to front: farthest = smallest inverse depth first (by pixel-weighted median of masks).
  const groupKey = (g: Group): number => {
    if (g.slab) return 0.5 * (Math.max(g.slab[0], g.lo) + Math.min(g.slab[1], g.hi));
    let best = 0;
    let n = 0;
    for (const m of g.masks) {
      const s = stats[m]!;
      best += (1 / s.median) * s.count;
      n += s.count;
    }
    return n ? best / n : 0;
  };
  groups = groups.map((g) => ({ g, key: groupKey(g) })).sort((a, b) => a.key - b.key).map((e) => e.g);
  const L = groups.length;

  const maskLayer = new Int32Array(maskCount).fill(-1);
  const slabbed = new Map<number, { layer: number; lo: number; hi: number }[]>();
  groups.forEach((g, li) => {
    for (const m of g.masks) {
      if (g.slab) {
        const list = slabbed.get(m) ?? [];
        list.push({ layer: li, lo: g.slab[0], hi: g.slab[1] });
        slabbed.set(m, list);
        if (maskLayer[m] === -1) maskLayer[m] = li;
      } else maskLayer[m] = li;
    }
  });
  const keys = groups.map(groupKey);
  const pixelLayer = new Uint8Array(N);
  for (let i = 0; i < N; i++) {
    const l = labels[i]!;
    const slabs = l >= 0 ? slabbed.get(l) : undefined;
    if (slabs) {
      const v = inv[i]!;
      let layer = slabs[0]!.layer;
      for (const s of slabs) if (v >= s.lo && v < s.hi) layer = s.layer;
      if (v >= slabs[slabs.length - 1]!.hi) layer = slabs.reduce((a, s) => (s.hi > a.hi ? s : a)).layer;
      if (v < slabs[0]!.lo) layer = slabs.reduce((a, s) => (s.lo < a.lo ? s : a)).layer;
      pixelLayer[i] = layer;
      continue;
    }
    if (l >= 0 && l < maskCount && maskLayer[l]! >= 0) {
      pixelLayer[i] = maskLayer[l]!;
      continue;
    }
    // Unmasked pixel or mask without depth: the layer nearest in inverse depth.
    const v = inv[i]!;
    let best = 0;
    let bd = Infinity;
    for (let li = 0; li < L; li++) {
      const d = Math.abs(keys[li]! - v);
      if (d < bd) {
        bd = d;
        best = li;
      }
    }
    pixelLayer[i] = best;
  }

  // Planes uniform in inverse depth between robust scene bounds.
  const sample: number[] = [];
  const stride = Math.max(1, Math.floor(N / 20000));
  for (let i = 0; i < N; i += stride) if (inv[i]! > 0) sample.push(inv[i]!);
  sample.sort((a, b) => a - b);
  const q = (p: number): number => sample[Math.min(sample.length - 1, Math.max(0, Math.round(p * (sample.length - 1))))]!;
  const farInv = sample.length ? q(0.02) : 1;
  const nearInv = sample.length ? q(0.98) : 1;
  const planeDepths = new Float64Array(L);
  for (let li = 0; li < L; li++) {
    const t = L === 1 ? 0.5 : li / (L - 1);
    planeDepths[li] = 1 / (farInv + t * (nearInv - farInv));
  }
  const layerMasks: number[][] = groups.map((g) => Array.from(new Set(g.masks)));
  return { layerCount: L, pixelLayer, maskLayer, layerMasks, maskStats: stats, planeDepths, forcedMerges, splits };
}
