/**
 * Synthetic inputs of docs/metrics.md §1, made from a ground-truth depth map D* (metres, 0/NaN = unknown):
 *
 * - raw depth D̃, imitating a monocular network's edge bleeding: normalised-convolution Gaussian blur of D*
 *   (σ = 2 px) times (1 + 0.02·n), n ~ N(0, 1) from a seeded generator; unknown pixels stay 0;
 * - masks, imitating a segmenter: regions of D* joined by an inverse-depth ratio ≤ 1.05, unknown pixels
 *   labelled by the nearest known pixel, regions under 64 px merged away, then the whole label map
 *   resampled through a smooth random displacement field (≤ 2 px per axis).
 *
 * Everything is deterministic given the seed (32-bit integer). {@link networkInputs} fixes the seeds per
 * scene name, so that the depth evaluation (§1) and the novel-view evaluation's `network` mode (§2) hand
 * the same D̃ and masks to the methods.
 *
 * Also the `sensor` depth of §2 ({@link sensorDepth}): the ground truth with the holes of an RGB-D sensor,
 * an occlusion shadow on the far side of every depth edge and seeded discs.
 */
import { blurSeparable, gaussianKernel, isValidDepth, squaredDistanceTransform } from './depth-metrics';

/** σ (px) of the raw-depth blur. */
export const RAW_BLUR_SIGMA = 2;
/** Relative std-dev of the raw-depth multiplicative noise. */
export const RAW_NOISE = 0.02;
/** Neighbours join the same region when their inverse depths differ by at most this ratio. */
export const MASK_JOIN_RATIO = 1.05;
/** Regions smaller than this (pixels) are merged into a neighbour. */
export const MASK_MIN_REGION = 64;
/** Displacement field: std-dev (px) of each component, smoothing σ (px), and per-axis clip (px). */
export const JITTER_SPREAD = 1;
export const JITTER_SMOOTH = 6;
export const JITTER_CLIP = 2;
/** Sensor holes: the shadow follows GT contour pairs at this ratio, this many pixels wide on the far side. */
export const SHADOW_RATIO = 1.05;
export const SHADOW_WIDTH = 4;
/** Sensor holes: disc radii (px, uniform in [min, max]) and the fraction of the image the discs cover. */
export const HOLE_DISC_RADIUS: readonly [number, number] = [2, 8];
export const HOLE_DISC_COVERAGE = 0.02;

// ---------------------------------------------------------------------------------------------------------
// Random numbers

/**
 * Seeded uniform generator on [0, 1): Marsaglia's xorshift128 (J. Stat. Softw. 8(14), 2003) with its four
 * state words derived from the seed by a 32-bit integer hash, so that nearby seeds give unrelated streams.
 */
export function createRng(seed: number): () => number {
  const mix = (v: number): number => {
    // 32-bit avalanche (multiply–xorshift), any odd multipliers with good bit mixing do.
    v = Math.imul(v ^ (v >>> 16), 0x7feb352d);
    v = Math.imul(v ^ (v >>> 15), 0x846ca68b);
    return (v ^ (v >>> 16)) >>> 0;
  };
  let x = mix(seed ^ 0x9e3779b9) | 1;
  let y = mix(x + 0x632be5ab);
  let z = mix(y + 0x85157af5);
  let w = mix(z + 0x2545f491);
  return () => {
    const t = x ^ (x << 11);
    x = y;
    y = z;
    z = w;
    w = (w ^ (w >>> 19) ^ (t ^ (t >>> 8))) >>> 0;
    return w / 4294967296;
  };
}

/** `n` standard normal samples (Box–Muller: r = √(−2 ln u₁), θ = 2πu₂ gives r cos θ and r sin θ). */
export function normalSamples(n: number, seed: number): Float32Array {
  const rng = createRng(seed);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i += 2) {
    const u1 = 1 - rng(); // (0, 1]
    const u2 = rng();
    const r = Math.sqrt(-2 * Math.log(u1));
    out[i] = r * Math.cos(2 * Math.PI * u2);
    if (i + 1 < n) out[i + 1] = r * Math.sin(2 * Math.PI * u2);
  }
  return out;
}

/** 32-bit FNV-1a hash of a string: a stable seed for a scene name. */
export function hashSeed(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

// ---------------------------------------------------------------------------------------------------------
// Raw depth

/**
 * Normalised convolution (Knutsson & Westin 1993) with a Gaussian: D̃ = G∗(c·D) / G∗c with c = 1 on known
 * pixels and 0 elsewhere, evaluated only where c = 1; unknown pixels neither contribute nor receive (they
 * stay 0). Border: outside pixels count as unknown. Kernel radius ⌈4σ⌉.
 */
export function blurKnownDepth(gt: Float32Array, w: number, h: number, sigma = RAW_BLUR_SIGMA): Float32Array {
  const n = w * h;
  const c = new Float32Array(n);
  const cd = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    if (isValidDepth(gt[i]!)) {
      c[i] = 1;
      cd[i] = gt[i]!;
    }
  }
  const k = gaussianKernel(sigma, Math.ceil(4 * sigma));
  const num = blurSeparable(cd, w, h, k, 'zero');
  const den = blurSeparable(c, w, h, k, 'zero');
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) if (c[i]) out[i] = num[i]! / den[i]!;
  return out;
}

/** Multiplies every known (> 0) value by (1 + rel·n), n ~ N(0,1) drawn per pixel from `seed`. */
export function applyDepthNoise(depth: Float32Array, seed: number, rel = RAW_NOISE): Float32Array {
  const noise = normalSamples(depth.length, seed);
  const out = new Float32Array(depth.length);
  for (let i = 0; i < depth.length; i++) {
    const d = depth[i]!;
    out[i] = isValidDepth(d) ? d * (1 + rel * noise[i]!) : 0;
  }
  return out;
}

/**
 * Raw depth D̃ of §1: normalised-convolution Gaussian blur of `gt` (σ = 2 px) × (1 + 0.02·n), n ~ N(0,1)
 * from `seed`. Unknown pixels of `gt` are 0 in the result.
 */
export function synthRawDepth(gt: Float32Array, w: number, h: number, seed: number): Float32Array {
  return applyDepthNoise(blurKnownDepth(gt, w, h), seed);
}

// ---------------------------------------------------------------------------------------------------------
// Masks

/**
 * 4-connected regions of known pixels where neighbours join when their inverse depths differ by a ratio
 * ≤ `ratio` (max(z_p, z_q) / min(z_p, z_q) ≤ ratio; chains may drift further). Unknown pixels get −1.
 * Labels are 0..count−1 in scan order of each region's first pixel.
 */
export function depthRegions(gt: Float32Array, w: number, h: number, ratio = MASK_JOIN_RATIO): { labels: Int32Array; count: number } {
  const n = w * h;
  const labels = new Int32Array(n).fill(-1);
  const stack = new Int32Array(n);
  let count = 0;
  // Depth ratio equals the inverse ratio: z_p / z_q = D_q / D_p.
  const joins = (a: number, b: number): boolean => {
    const da = gt[a]!, db = gt[b]!;
    if (!isValidDepth(db)) return false;
    return da <= ratio * db && db <= ratio * da;
  };
  for (let s = 0; s < n; s++) {
    if (labels[s] !== -1 || !isValidDepth(gt[s]!)) continue;
    const id = count++;
    labels[s] = id;
    let top = 0;
    stack[top++] = s;
    while (top > 0) {
      const i = stack[--top]!;
      const x = i % w;
      if (x > 0 && labels[i - 1] === -1 && joins(i, i - 1)) { labels[i - 1] = id; stack[top++] = i - 1; }
      if (x + 1 < w && labels[i + 1] === -1 && joins(i, i + 1)) { labels[i + 1] = id; stack[top++] = i + 1; }
      if (i >= w && labels[i - w] === -1 && joins(i, i - w)) { labels[i - w] = id; stack[top++] = i - w; }
      if (i + w < n && labels[i + w] === -1 && joins(i, i + w)) { labels[i + w] = id; stack[top++] = i + w; }
    }
  }
  return { labels, count };
}

/** Gives every −1 pixel the label of the nearest labelled pixel (exact Euclidean distance). In place. */
export function fillUnlabelled(labels: Int32Array, w: number, h: number): Int32Array {
  const seeds = new Uint8Array(labels.length);
  let missing = 0;
  for (let i = 0; i < labels.length; i++) {
    if (labels[i]! >= 0) seeds[i] = 1;
    else missing++;
  }
  if (missing === 0 || missing === labels.length) return labels;
  const nearest = new Int32Array(labels.length);
  squaredDistanceTransform(seeds, w, h, nearest);
  for (let i = 0; i < labels.length; i++) if (labels[i]! < 0) labels[i] = labels[nearest[i]!]!;
  return labels;
}

/** Renumbers labels ≥ 0 to 0..count−1 in scan order of first appearance. In place. */
function compactLabels(labels: Int32Array): number {
  const map = new Map<number, number>();
  for (let i = 0; i < labels.length; i++) {
    const l = labels[i]!;
    if (l < 0) continue;
    let m = map.get(l);
    if (m === undefined) {
      m = map.size;
      map.set(l, m);
    }
    labels[i] = m;
  }
  return map.size;
}

/**
 * Merges every region smaller than `minSize` pixels into the 4-neighbour region with which it shares the
 * longest border (number of 4-adjacent pixel pairs; ties to the lower label). Done in passes: each pass
 * measures the borders of all small regions, then merges them in increasing size order (a region that has
 * meanwhile grown to `minSize` through earlier merges of the pass is left for the next pass). Passes repeat
 * until no small region with a neighbour is left. Labels are compacted to 0..count−1. In place.
 */
export function mergeSmallRegions(labels: Int32Array, w: number, h: number, minSize = MASK_MIN_REGION): { labels: Int32Array; count: number } {
  const n = w * h;
  let count = compactLabels(labels);
  for (let pass = 0; pass < 1000; pass++) {
    const size = new Float64Array(count);
    for (let i = 0; i < n; i++) if (labels[i]! >= 0) size[labels[i]!]++;
    const small = new Uint8Array(count);
    let nSmall = 0;
    for (let l = 0; l < count; l++) {
      if (size[l]! < minSize) {
        small[l] = 1;
        nSmall++;
      }
    }
    if (nSmall === 0 || count <= 1) break;
    // Border lengths of small regions with their neighbours, key = a·count + b.
    const border = new Map<number, number>();
    const note = (a: number, b: number): void => {
      if (a < 0 || b < 0 || a === b) return;
      if (small[a]) border.set(a * count + b, (border.get(a * count + b) ?? 0) + 1);
      if (small[b]) border.set(b * count + a, (border.get(b * count + a) ?? 0) + 1);
    };
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        const i = y * w + x;
        if (x + 1 < w) note(labels[i]!, labels[i + 1]!);
        if (y + 1 < h) note(labels[i]!, labels[i + w]!);
      }
    }
    const best = new Int32Array(count).fill(-1);
    const bestLen = new Float64Array(count);
    for (const [key, len] of border) {
      const a = Math.floor(key / count);
      const b = key - a * count;
      if (len > bestLen[a]! || (len === bestLen[a]! && b < best[a]!)) {
        best[a] = b;
        bestLen[a] = len;
      }
    }
    const parent = new Int32Array(count);
    for (let l = 0; l < count; l++) parent[l] = l;
    const find = (l: number): number => {
      while (parent[l] !== l) {
        parent[l] = parent[parent[l]!]!;
        l = parent[l]!;
      }
      return l;
    };
    const rootSize = Float64Array.from(size);
    const order: number[] = [];
    for (let l = 0; l < count; l++) if (small[l] && best[l]! >= 0) order.push(l);
    order.sort((a, b) => size[a]! - size[b]! || a - b);
    let merged = 0;
    for (const a of order) {
      const ra = find(a);
      if (rootSize[ra]! >= minSize) continue;
      const rb = find(best[a]!);
      if (ra === rb) continue;
      parent[ra] = rb;
      rootSize[rb] = rootSize[rb]! + rootSize[ra]!;
      merged++;
    }
    if (merged === 0) break;
    for (let i = 0; i < n; i++) if (labels[i]! >= 0) labels[i] = find(labels[i]!);
    count = compactLabels(labels);
  }
  return { labels, count };
}

/**
 * The un-jittered mask label map of §1: depth regions (ratio 1.05), unknown pixels from the nearest known
 * pixel, regions under 64 px merged. Deterministic (no seed).
 */
export function regionLabels(gt: Float32Array, w: number, h: number): Int32Array {
  const { labels } = depthRegions(gt, w, h);
  fillUnlabelled(labels, w, h);
  return mergeSmallRegions(labels, w, h).labels;
}

/**
 * A smooth random displacement field: per axis, white N(0,1) noise blurred by a Gaussian of σ = `smooth`
 * px (reflect-101 border, radius ⌈3σ⌉), rescaled so that its sample std-dev is `spread` px, then clipped
 * to ±`clip` px.
 */
export function displacementField(
  w: number,
  h: number,
  seed: number,
  spread = JITTER_SPREAD,
  smooth = JITTER_SMOOTH,
  clip = JITTER_CLIP,
): { dx: Float32Array; dy: Float32Array } {
  const k = gaussianKernel(smooth, Math.ceil(3 * smooth));
  const make = (s: number): Float32Array => {
    const f = blurSeparable(normalSamples(w * h, s), w, h, k, 'reflect101');
    let sum = 0, sum2 = 0;
    for (let i = 0; i < f.length; i++) {
      sum += f[i]!;
      sum2 += f[i]! * f[i]!;
    }
    const mean = sum / f.length;
    const std = Math.sqrt(Math.max(sum2 / f.length - mean * mean, 0));
    const scale = std > 0 ? spread / std : 0;
    for (let i = 0; i < f.length; i++) {
      const v = f[i]! * scale;
      f[i] = v > clip ? clip : v < -clip ? -clip : v;
    }
    return f;
  };
  return { dx: make(seed), dy: make((seed ^ 0x5bd1e995) >>> 0) };
}

/**
 * Resamples a label map through the displacement field of `seed` (nearest neighbour, clamped at the
 * border): out(x, y) = labels(round(x + dx), round(y + dy)). Every boundary moves in one smooth piece by
 * at most `clip` px per axis.
 */
export function jitterLabels(labels: Int32Array, w: number, h: number, seed: number, spread = JITTER_SPREAD): Int32Array {
  const { dx, dy } = displacementField(w, h, seed, spread);
  const out = new Int32Array(w * h);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const i = y * w + x;
      let sx = Math.round(x + dx[i]!);
      let sy = Math.round(y + dy[i]!);
      sx = sx < 0 ? 0 : sx >= w ? w - 1 : sx;
      sy = sy < 0 ? 0 : sy >= h ? h - 1 : sy;
      out[i] = labels[sy * w + sx]!;
    }
  }
  return out;
}

/** Synthetic segmenter masks of §1 (label map, every pixel ≥ 0 unless `gt` has no known pixel). */
export function synthMasks(gt: Float32Array, w: number, h: number, seed: number): Int32Array {
  return jitterLabels(regionLabels(gt, w, h), w, h, seed);
}

// ---------------------------------------------------------------------------------------------------------
// Per-scene inputs

/** The network-like inputs of §1 for one scene, with the intermediate products the layer re-runs reuse. */
export interface NetworkInputs {
  /** Normalised-convolution blur of D* (before noise). */
  blurred: Float32Array;
  /** Un-jittered region labels. */
  regions: Int32Array;
  /** D̃: `blurred` × (1 + 0.02·n); 0 where D* is unknown. */
  raw: Float32Array;
  /** The jittered label map handed to the method as its masks. */
  masks: Int32Array;
}

/**
 * §1 steps 1–2 for the scene named `name`: D̃ = synthRawDepth(D*, seed) and masks = synthMasks(D*, seed + 1)
 * with seed = hashSeed(name). The one definition of the seeds, used by eval-depth (§1) and by eval-views
 * and eval-orbit in `--depth network` (§2, §5).
 */
export function networkInputs(gt: Float32Array, w: number, h: number, name: string): NetworkInputs {
  const seed = hashSeed(name);
  const blurred = blurKnownDepth(gt, w, h);
  const regions = regionLabels(gt, w, h);
  return { blurred, regions, raw: applyDepthNoise(blurred, seed), masks: jitterLabels(regions, w, h, (seed + 1) >>> 0) };
}

// ---------------------------------------------------------------------------------------------------------
// Sensor holes

/**
 * The occlusion shadow of an RGB-D sensor: for every horizontal or vertical GT contour pair (p, q) at
 * `ratio` (q nearer: D_p / D_q > ratio, both known), the far pixel p and the pixels beyond it, away from q,
 * up to `width` pixels in all: p + k·(p − q), k = 0 … width − 1. The walk stops at the image border and
 * before a pixel r that is itself nearer than p by more than `ratio` (another foreground: the shadow lies
 * on the far surface only). Returns 1 = shadowed.
 */
export function occlusionShadow(gt: Float32Array, w: number, h: number, ratio = SHADOW_RATIO, width = SHADOW_WIDTH): Uint8Array {
  const out = new Uint8Array(w * h);
  const walk = (x: number, y: number, sx: number, sy: number): void => {
    const dp = gt[y * w + x]!;
    for (let k = 0; k < width; k++) {
      const xx = x + k * sx;
      const yy = y + k * sy;
      if (xx < 0 || yy < 0 || xx >= w || yy >= h) return;
      const r = yy * w + xx;
      if (k > 0 && isValidDepth(gt[r]!) && dp / gt[r]! > ratio) return;
      out[r] = 1;
    }
  };
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const i = y * w + x;
      const d = gt[i]!;
      if (!isValidDepth(d)) continue;
      if (x + 1 < w && isValidDepth(gt[i + 1]!)) {
        const e = gt[i + 1]!;
        if (d / e > ratio) walk(x, y, -1, 0);
        else if (e / d > ratio) walk(x + 1, y, 1, 0);
      }
      if (y + 1 < h && isValidDepth(gt[i + w]!)) {
        const e = gt[i + w]!;
        if (d / e > ratio) walk(x, y, 0, -1);
        else if (e / d > ratio) walk(x, y + 1, 0, 1);
      }
    }
  }
  return out;
}

/**
 * Seeded hole discs: centres uniform over the image's continuous area [0, w) × [0, h), radii uniform in
 * [rMin, rMax]; a disc covers the pixels whose centre (x + ½, y + ½) lies within its radius. Discs are
 * added one after another until their union covers at least `coverage` of the pixels, so the covered
 * fraction lies in [coverage, coverage + (pixels of one disc of radius rMax) / (w·h)). Returns 1 = in a disc.
 */
export function holeDiscs(w: number, h: number, seed: number, coverage = HOLE_DISC_COVERAGE, [rMin, rMax] = HOLE_DISC_RADIUS): Uint8Array {
  const out = new Uint8Array(w * h);
  const target = coverage * w * h;
  const rng = createRng(seed);
  let covered = 0;
  while (covered < target) {
    const cx = rng() * w;
    const cy = rng() * h;
    const r = rMin + (rMax - rMin) * rng();
    const r2 = r * r;
    const y0 = Math.max(0, Math.floor(cy - r - 0.5));
    const y1 = Math.min(h - 1, Math.ceil(cy + r - 0.5));
    const x0 = Math.max(0, Math.floor(cx - r - 0.5));
    const x1 = Math.min(w - 1, Math.ceil(cx + r - 0.5));
    for (let y = y0; y <= y1; y++) {
      const dy = y + 0.5 - cy;
      for (let x = x0; x <= x1; x++) {
        const dx = x + 0.5 - cx;
        const i = y * w + x;
        if (dx * dx + dy * dy <= r2 && !out[i]) {
          out[i] = 1;
          covered++;
        }
      }
    }
  }
  return out;
}

/** The `sensor` depth of §2 and its two hole masks. */
export interface SensorDepth {
  /** D* with every shadowed or disc pixel set to 0 (unknown); GT-unknown pixels stay 0. */
  depth: Float32Array;
  shadow: Uint8Array;
  discs: Uint8Array;
}

/**
 * §2's `sensor` depth for the scene named `name`: D* minus its occlusion shadow ({@link occlusionShadow}, ratio
 * 1.05, 4 px) and minus hole discs ({@link holeDiscs}, radius 2–8 px, 2 % of the pixels, seed
 * hashSeed(`${name}/sensor`)).
 */
export function sensorDepth(gt: Float32Array, w: number, h: number, name: string): SensorDepth {
  const shadow = occlusionShadow(gt, w, h);
  const discs = holeDiscs(w, h, hashSeed(`${name}/sensor`));
  const depth = new Float32Array(w * h);
  for (let i = 0; i < depth.length; i++) depth[i] = shadow[i] || discs[i] || !isValidDepth(gt[i]!) ? 0 : gt[i]!;
  return { depth, shadow, discs };
}
