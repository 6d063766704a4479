/**
 * Label-map utilities shared by the stages: boundaries, banded distances, nearest-label and nearest-value
 * filling, connected components, and segmentation of a depth map at its discontinuities.
 * Label maps are Int32Array, -1 = no label.
 */

/** 1 where a pixel has a 4-neighbour with a different label (the pixels on both sides of every border). */
export function labelBoundary(labels: Int32Array, W: number, H: number): Uint8Array {
  const out = new Uint8Array(W * H);
  for (let y = 0; y < H; y++) {
    const row = y * W;
    for (let x = 0; x < W; x++) {
      const i = row + x;
      const l = labels[i]!;
      if (x + 1 < W && labels[i + 1] !== l) {
        out[i] = 1;
        out[i + 1] = 1;
      }
      if (y + 1 < H && labels[i + W] !== l) {
        out[i] = 1;
        out[i + W] = 1;
      }
    }
  }
  return out;
}

/**
 * Chessboard (8-neighbour) distance to the nearest seed pixel, computed by breadth-first search up to
 * `maxDist`; pixels farther away get `maxDist + 1`. Cost is proportional to the pixels within reach.
 */
export function bandDistance(seeds: Uint8Array, W: number, H: number, maxDist: number): Uint8Array {
  const cap = Math.min(254, Math.max(0, Math.floor(maxDist)));
  const dist = new Uint8Array(W * H).fill(cap + 1);
  let frontier: Int32Array<ArrayBuffer> = new Int32Array(1024);
  let fn = 0;
  for (let i = 0; i < seeds.length; i++) {
    if (seeds[i]) {
      dist[i] = 0;
      if (fn === frontier.length) frontier = grow(frontier);
      frontier[fn++] = i;
    }
  }
  growBand(dist, frontier, fn, W, H, cap);
  return dist;
}

/**
 * bandDistance(labelBoundary(labels, W, H), W, H, maxDist) in one pass over the labels: chessboard
 * distance (capped at maxDist + 1) to the nearest pixel that has a 4-neighbour with another label.
 */
export function labelBand(labels: Int32Array, W: number, H: number, maxDist: number): Uint8Array {
  const cap = Math.min(254, Math.max(0, Math.floor(maxDist)));
  const far = cap + 1;
  const dist = new Uint8Array(W * H);
  let frontier: Int32Array<ArrayBuffer> = new Int32Array(1024);
  let fn = 0;
  for (let y = 0; y < H; y++) {
    const row = y * W;
    for (let x = 0; x < W; x++) {
      const i = row + x;
      const l = labels[i]!;
      if ((x > 0 && labels[i - 1] !== l) || (x + 1 < W && labels[i + 1] !== l) || (y > 0 && labels[i - W] !== l) || (y + 1 < H && labels[i + W] !== l)) {
        if (fn === frontier.length) frontier = grow(frontier);
        frontier[fn++] = i;
      } else dist[i] = far;
    }
  }
  growBand(dist, frontier, fn, W, H, cap);
  return dist;
}

/** Breadth-first growth of a band from the `fn` seeds in `frontier` (dist 0) up to distance `cap`. */
function growBand(dist: Uint8Array, frontier: Int32Array<ArrayBuffer>, fn: number, W: number, H: number, cap: number): void {
  let next: Int32Array<ArrayBuffer> = new Int32Array(Math.max(1024, fn));
  for (let d = 1; d <= cap && fn > 0; d++) {
    let nn = 0;
    for (let f = 0; f < fn; f++) {
      const i = frontier[f]!;
      const x = i % W;
      const y = (i - x) / W;
      const x0 = x > 0 ? x - 1 : x;
      const x1 = x + 1 < W ? x + 1 : x;
      const y0 = y > 0 ? y - 1 : y;
      const y1 = y + 1 < H ? y + 1 : y;
      for (let yy = y0; yy <= y1; yy++) {
        for (let xx = x0; xx <= x1; xx++) {
          const j = yy * W + xx;
          if (dist[j]! > d) {
            dist[j] = d;
            if (nn === next.length) next = grow(next);
            next[nn++] = j;
          }
        }
      }
    }
    const t = frontier;
    frontier = next;
    next = t.length >= nn ? t : new Int32Array(nn);
    fn = nn;
  }
}

/** A copy of `a` in twice the length (grow-on-demand lists). */
export function grow(a: Int32Array<ArrayBuffer>): Int32Array<ArrayBuffer> {
  const b = new Int32Array(a.length * 2);
  b.set(a);
  return b;
}

/**
 * For every pixel with `known[i] == 0`, copies `values` from the nearest known pixel (4-neighbour BFS order,
 * i.e. city-block distance; ties resolved by scan order). With `within`, values travel only between
 * 4-neighbours of equal label. Returns a new array. If nothing is known the input is returned (copied).
 */
export function fillNearest<T extends Float32Array | Int32Array>(values: T, known: Uint8Array, W: number, H: number, within?: Int32Array): T {
  const out = values.slice() as T;
  const N = W * H;
  const { queue, seen } = fillScratch(N);
  // No frontier: nothing is known (the input comes back), or nothing is unknown.
  const tail = seedFrontier(known, W, H, seen, queue);
  // With `within`, values travel only between pixels of the same label (unreachable pixels keep theirs).
  if (tail > 0) spread(out, seen, queue, tail, W, N, within);
  return out;
}

/**
 * Marks the known pixels in `seen` and lists, in scan order, those on the frontier (with an unknown
 * 4-neighbour: only they can propagate anything) in `queue`; returns how many.
 */
function seedFrontier(known: Uint8Array, W: number, H: number, seen: Uint8Array, queue: Int32Array): number {
  let tail = 0;
  for (let y = 0; y < H; y++) {
    const row = y * W;
    for (let x = 0; x < W; x++) {
      const i = row + x;
      if (!known[i]) continue;
      seen[i] = 1;
      if ((x > 0 && !known[i - 1]) || (x + 1 < W && !known[i + 1]) || (y > 0 && !known[i - W]) || (y + 1 < H && !known[i + W])) {
        queue[tail++] = i;
      }
    }
  }
  return tail;
}

/** fillNearest's breadth-first queue and visited marks, kept between calls (5 bytes per pixel). */
let fillQueue = new Int32Array(0);
let fillSeen = new Uint8Array(0);

/** The fill queue (stale contents) and zeroed visited marks for N pixels. */
function fillScratch(N: number): { queue: Int32Array; seen: Uint8Array } {
  if (fillQueue.length < N) {
    fillQueue = new Int32Array(N);
    fillSeen = new Uint8Array(N);
  } else fillSeen.fill(0, 0, N);
  return { queue: fillQueue, seen: fillSeen };
}

/**
 * fillNearest within labels, then for the pixels their label could not reach (a label region with no known
 * pixel) fillNearest over all labels from everything filled so far: the same result as
 * `fillNearest(fillNearest(values, known, W, H, within), reached, W, H)` with `reached` the known and filled
 * pixels, without the second full pass. The second stage's sources are the reached pixels next to an
 * unreached one, in scan order (as fillNearest's frontier would list them).
 */
export function fillNearestWithFallback(values: Float32Array, known: Uint8Array, W: number, H: number, within: Int32Array): Float32Array {
  const out = values.slice();
  const N = W * H;
  const { queue, seen } = fillScratch(N);
  const tail = seedFrontier(known, W, H, seen, queue);
  if (tail === 0) return out; // nothing known, or nothing to fill
  spread(out, seen, queue, tail, W, N, within);
  // Second stage: sources are reached pixels with an unreached 4-neighbour (marked 2 once listed).
  let ns = 0;
  for (let i = 0; i < N; i++) {
    if (seen[i]) continue;
    const x = i % W;
    if (x > 0 && seen[i - 1] === 1) { seen[i - 1] = 2; queue[ns++] = i - 1; }
    if (x + 1 < W && seen[i + 1] === 1) { seen[i + 1] = 2; queue[ns++] = i + 1; }
    if (i >= W && seen[i - W] === 1) { seen[i - W] = 2; queue[ns++] = i - W; }
    if (i + W < N && seen[i + W] === 1) { seen[i + W] = 2; queue[ns++] = i + W; }
  }
  if (ns === 0) return out;
  queue.subarray(0, ns).sort();
  spread(out, seen, queue, ns, W, N, undefined);
  return out;
}

/**
 * The breadth-first part of fillNearest: pops the `tail` queued pixels (and those it queues) in order and
 * copies each popped pixel's value into its unseen 4-neighbours (of the same label, with `within`).
 */
function spread(out: Float32Array | Int32Array, seen: Uint8Array, queue: Int32Array, tail: number, W: number, N: number, within: Int32Array | undefined): void {
  let head = 0;
  while (head < tail) {
    const i = queue[head++]!;
    const x = i % W;
    const v = out[i]!;
    const l = within ? within[i]! : 0;
    if (x > 0 && !seen[i - 1] && (!within || within[i - 1] === l)) { seen[i - 1] = 1; out[i - 1] = v; queue[tail++] = i - 1; }
    if (x + 1 < W && !seen[i + 1] && (!within || within[i + 1] === l)) { seen[i + 1] = 1; out[i + 1] = v; queue[tail++] = i + 1; }
    if (i >= W && !seen[i - W] && (!within || within[i - W] === l)) { seen[i - W] = 1; out[i - W] = v; queue[tail++] = i - W; }
    if (i + W < N && !seen[i + W] && (!within || within[i + W] === l)) { seen[i + W] = 1; out[i + W] = v; queue[tail++] = i + W; }
  }
}

/**
 * Merges regions smaller than `minArea` pixels into the neighbouring region with which they share the
 * longest border (repeatedly, smallest first). Unlabelled pixels (-1) are left alone. Labels are then
 * renumbered 0..count-1 in order of first appearance. Returns the new count.
 */
export function mergeSmallRegions(labels: Int32Array, W: number, H: number, count: number, minArea: number): number {
  if (count === 0) return 0;
  const parent = new Int32Array(count);
  for (let k = 0; k < count; k++) parent[k] = k;
  const find = (k: number): number => {
    while (parent[k] !== k) {
      parent[k] = parent[parent[k]!]!;
      k = parent[k]!;
    }
    return k;
  };
  const area = new Float64Array(count);
  for (let i = 0; i < labels.length; i++) if (labels[i]! >= 0) area[labels[i]!]++;
  // Border lengths between regions, as a map keyed by a·count+b (a<b).
  const borders = new Map<number, number>();
  const addBorder = (a: number, b: number): void => {
    if (a === b || a < 0 || b < 0) return;
    const key = a < b ? a * count + b : b * count + a;
    borders.set(key, (borders.get(key) ?? 0) + 1);
  };
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) {
      const i = y * W + x;
      if (x + 1 < W) addBorder(labels[i]!, labels[i + 1]!);
      if (y + 1 < H) addBorder(labels[i]!, labels[i + W]!);
    }
  }
  const adj: Map<number, number>[] = Array.from({ length: count }, () => new Map());
  for (const [key, len] of borders) {
    const a = Math.floor(key / count);
    const b = key - a * count;
    adj[a]!.set(b, len);
    adj[b]!.set(a, len);
  }
  const order = Array.from({ length: count }, (_, k) => k).sort((a, b) => area[a]! - area[b]!);
  for (const k0 of order) {
    const k = find(k0);
    if (area[k]! >= minArea) continue;
    let best = -1;
    let bestLen = 0;
    for (const [n0, len] of adj[k]!) {
      const n = find(n0);
      if (n === k) continue;
      if (len > bestLen || (len === bestLen && n < best)) {
        best = n;
        bestLen = len;
      }
    }
    if (best < 0) continue; // isolated region: nothing to merge into
    // Merge k into best: combine adjacency lists.
    parent[k] = best;
    area[best] += area[k]!;
    const into = adj[best]!;
    for (const [n0, len] of adj[k]!) {
      const n = find(n0);
      if (n === best) continue;
      into.set(n, (into.get(n) ?? 0) + len);
      adj[n]!.set(best, (adj[n]!.get(best) ?? 0) + len);
    }
    into.delete(k);
    adj[k] = new Map();
  }
  const remap = new Int32Array(count).fill(-1);
  let next = 0;
  for (let i = 0; i < labels.length; i++) {
    const l = labels[i]!;
    if (l < 0) continue;
    const r = find(l);
    if (remap[r] === -1) remap[r] = next++;
    labels[i] = remap[r]!;
  }
  return next;
}

export interface DepthSegmentOptions {
  /** Neighbours join when their inverse depths differ by a ratio ≤ this. Default 1.04. */
  jumpRatio?: number;
  /** Regions below this many pixels merge into their longest-border neighbour. Default: max(64, N/4000). */
  minArea?: number;
}

/**
 * Segments a depth map at its discontinuities: 4-connected regions whose neighbours' depth ratio stays
 * within `jumpRatio`, computed on a 3×3-median-denoised copy so that per-pixel noise does not shatter smooth
 * surfaces; unknown pixels take the nearest region's label; small regions merge into their neighbours.
 * This is what lets RGB-D input produce layers with no segmenter at all.
 */
export function segmentDepth(depth: Float32Array, W: number, H: number, options: DepthSegmentOptions = {}): { labels: Int32Array; count: number } {
  const ratio = options.jumpRatio ?? 1.04;
  const N = W * H;
  const minArea = options.minArea ?? Math.max(64, Math.round(N / 4000));
  const den = median3x3(depth, W, H);
  let { labels, count } = connectedComponentsFast(W, H, den, ratio);
  const knownMask = new Uint8Array(N);
  for (let i = 0; i < N; i++) knownMask[i] = den[i]! > 0 ? 1 : 0;
  if (count === 0) return { labels: new Int32Array(N).fill(-1), count: 0 };
  labels = fillNearest(labels, knownMask, W, H);
  count = mergeSmallRegions(labels, W, H, count, minArea);
  return { labels, count };
}

function connectedComponentsFast(W: number, H: number, d: Float32Array, ratio: number): { labels: Int32Array; count: number } {
  const N = W * H;
  const labels = new Int32Array(N).fill(-1);
  const stack = new Int32Array(N);
  let count = 0;
  for (let s = 0; s < N; s++) {
    if (labels[s] !== -1 || !(d[s]! > 0)) continue;
    let sp = 0;
    stack[sp++] = s;
    labels[s] = count;
    while (sp > 0) {
      const i = stack[--sp]!;
      const di = d[i]!;
      const x = i % W;
      const lo = di / ratio;
      const hi = di * ratio;
      let j: number;
      j = i - 1; if (x > 0 && labels[j] === -1 && d[j]! >= lo && d[j]! <= hi) { labels[j] = count; stack[sp++] = j; }
      j = i + 1; if (x + 1 < W && labels[j] === -1 && d[j]! >= lo && d[j]! <= hi) { labels[j] = count; stack[sp++] = j; }
      j = i - W; if (i >= W && labels[j] === -1 && d[j]! >= lo && d[j]! <= hi) { labels[j] = count; stack[sp++] = j; }
      j = i + W; if (i + W < N && labels[j] === -1 && d[j]! >= lo && d[j]! <= hi) { labels[j] = count; stack[sp++] = j; }
    }
    count++;
  }
  return { labels, count };
}

/** 3×3 median over known (> 0) values; unknown pixels stay 0. */
export function median3x3(depth: Float32Array, W: number, H: number): Float32Array {
  const out = new Float32Array(W * H);
  const buf = new Float32Array(9);
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) {
      const i = y * W + x;
      if (!(depth[i]! > 0)) continue;
      let n = 0;
      for (let yy = Math.max(0, y - 1); yy <= Math.min(H - 1, y + 1); yy++) {
        for (let xx = Math.max(0, x - 1); xx <= Math.min(W - 1, x + 1); xx++) {
          const v = depth[yy * W + xx]!;
          if (v > 0) buf[n++] = v;
        }
      }
      // insertion sort of n ≤ 9 values
      for (let a = 1; a < n; a++) {
        const v = buf[a]!;
        let b = a - 1;
        while (b >= 0 && buf[b]! > v) {
          buf[b + 1] = buf[b]!;
          b--;
        }
        buf[b + 1] = v;
      }
      out[i] = buf[n >> 1]!;
    }
  }
  return out;
}
