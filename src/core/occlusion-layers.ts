/**
 * Stage 2–3 by occlusion (the default layering): layers are slabs of inverse depth cut where the orbit needs
 * them, every tear is backed by the layer behind it, and fills come from the far side only.
 *
 * 1. Tears (src/math/occlusion.ts): an edge between neighbouring pixels tears only where the jump that the
 *    slopes on its two sides do not explain would open by more than `tearPixels` (1 px) at the edge of the
 *    orbit range: parallax = f·B·Δ(1/Z) with B = orbitBaseline·median depth. Slopes stay welded.
 * 2. Layers: at most maxLayers slabs of inverse depth whose boundaries separate the two sides of as much
 *    tear weight as possible (chooseSlabBoundaries). Inside a layer nothing tears (the mesh is welded): a
 *    tear that no boundary separates is drawn like a single displaced mesh, never as a crack with nothing
 *    behind it. A boundary through a continuous surface is a seam, not a tear.
 * 3. For layer L (0 = back), from the full-frame maps:
 *    - own pixels O: the slab's pixels;
 *    - seam overlap S (role 3): nearer-layer pixels reached from O through welded edges within
 *      SEAM_OVERLAP px. They are the same surface continued, so they carry the photo's own colour and depth:
 *      the two layers overlap along a seam and no crack opens at any angle;
 *    - fill F (role 2): nearer-layer pixels behind which this layer can be revealed: from every own or seam
 *      pixel q on the far side of a tear to a nearer pixel p, a reach of ⌈f·B·(1/Z_p − 1/Z_q)⌉ + 2 px (the
 *      opening of that very tear at the edge of the orbit range), through nearer pixels only. The back
 *      layer is filled everywhere, and past the image border by the orbit's rim margins (rimMargins), so no
 *      view of the orbit range shows the clear colour.
 *    - Colour of F comes from Telea's fill seeded only by O ∪ S minus the far rim (pixels on the far side of
 *      a tear, whose photo colour mixes in the occluder's anti-aliased edge): no colour of a nearer layer
 *      is ever copied into a farther one. The rim is marched over like a hole (so the fill starts from its
 *      clean neighbours) but keeps its photo colour, so the original view still reproduces the photo.
 *    - Depth of F is the harmonic fill in inverse depth with O ∪ S as the boundary (planes continue as
 *      planes). The back layer's deep remainder (beyond the band that Telea and the harmonic fill cover)
 *      and its rim get a push–pull continuation.
 *    - Texels without content keep the colour of their nearest content texel, so bilinear filtering at a
 *      silhouette never pulls in another layer's colour.
 */
import { throwIfAborted } from './errors';
import type { Intrinsics, Layer, RGBAImage, Rect } from './types';
import { harmonicFill } from '../math/harmonic';
import { bandDistance } from '../math/labels';
import { buildLayerMesh, type MeshOptions } from '../math/mesh';
import { assignSlabs, chooseSlabBoundaries, detectTears, medianPositive, ORBIT_DEFAULTS, parallaxScale, reach, rimMargins, type TearMap } from '../math/occlusion';
import { pushPullRgbaDepth } from '../math/pushpull';
import { inpaintTelea } from '../math/telea';
import { PIPELINE_MESH_DEPTH_TOLERANCE, PIPELINE_MESH_NOISE_FACTOR, type InpaintOptions, type LayerTimings } from './build-layers';

/** Width (px) of the overlap of two layers along a seam (a layer boundary on a continuous surface). */
export const SEAM_OVERLAP = 3;
/** Extra reach (px) of a tear's fill beyond its parallax at the edge of the orbit range (bilinear footprint + rounding). */
const FILL_PAD = 2;
/** How much farther (px, chessboard) a layer's content may be than a farther layer's for it to fill a hidden pixel. */
const FILL_SLACK = 2;

export interface OcclusionLayersContext {
  W: number;
  H: number;
  image: RGBAImage;
  /** Dense metric depth (every value > 0). */
  depth: Float32Array;
  intrinsics: Intrinsics;
  /** Label map (−1 = none) and the concept per label: a layer lists the masks with most of their pixels in it. */
  labels: Int32Array;
  maskCount: number;
  concepts: (string | undefined)[];
  inpaint: InpaintOptions;
  mesh: MeshOptions;
  signal?: AbortSignal;
  onLayer?: (stage: 'inpaint' | 'mesh', done: number, total: number) => void;
}

export interface OcclusionLayersResult {
  layers: Layer[];
  pixelLayer: Uint8Array;
  layerCount: number;
  timings: LayerTimings;
  /** Fill reach per layer: the largest tear opening (px) it backs. */
  margins: number[];
  stats: { tearEdges: number; parallaxScale: number; boundaries: number[]; fillPixels: number[]; rim: { left: number; right: number; top: number; bottom: number } };
}

/** Steps 1–2 (tears and slabs), computed in the pipeline's 'layers' stage. */
export interface OcclusionAssignment {
  layerCount: number;
  /** Layer per pixel, 0 = back. */
  pixelLayer: Uint8Array;
  /** Inverse depth the tears and slabs were computed on. */
  inv: Float32Array;
  tears: TearMap;
  /** Parallax scale K = f·B (px per unit of inverse depth). */
  parallaxScale: number;
  medianDepth: number;
  /** Slab boundaries (inverse depths, ascending) that separate non-empty slabs. */
  boundaries: number[];
}

/** Tears and slabs of a dense depth map (see the module comment). */
export function assignOcclusionLayers(
  depth: Float32Array,
  W: number,
  H: number,
  intrinsics: Intrinsics,
  maxLayers: number,
  orbitBaseline: number = ORBIT_DEFAULTS.orbitBaseline,
): OcclusionAssignment {
  const N = W * H;
  const tearPixels = ORBIT_DEFAULTS.tearPixels;
  // Tears and slabs on the depth itself, in inverse depth: no denoising, which would erase structures one
  // or two pixels thin (a lamp's arm) and leave their colour in the layer behind. Noise and quantisation
  // steps open by a few pixels at most and weigh nothing in the choice of slabs (chooseSlabBoundaries).
  const inv = new Float32Array(N);
  for (let i = 0; i < N; i++) inv[i] = 1 / depth[i]!;
  const medianDepth = medianPositive(depth);
  const K = parallaxScale(intrinsics, medianDepth, orbitBaseline);
  const tears = detectTears(inv, W, H, K, tearPixels);
  const chosen = chooseSlabBoundaries(inv, tears, Math.max(0, maxLayers - 1));
  const slab = assignSlabs(inv, chosen);
  // Compact away empty slabs.
  const counts = new Int32Array(chosen.length + 1);
  for (let i = 0; i < N; i++) counts[slab[i]!]!++;
  const remap = new Int32Array(counts.length);
  let L = 0;
  const boundaries: number[] = [];
  for (let s = 0; s < counts.length; s++) {
    if (counts[s]! === 0) {
      remap[s] = -1;
      continue;
    }
    if (L > 0) boundaries.push(chosen[s - 1]!);
    remap[s] = L++;
  }
  const pixelLayer = new Uint8Array(N);
  for (let i = 0; i < N; i++) pixelLayer[i] = remap[slab[i]!]!;
  return { layerCount: L, pixelLayer, inv, tears, parallaxScale: K, medianDepth, boundaries };
}

/** Step 3: builds the layers of an assignment (see the module comment). */
export function buildOcclusionLayers(ctx: OcclusionLayersContext, a: OcclusionAssignment): OcclusionLayersResult {
  const { W, H, image, depth, signal } = ctx;
  const N = W * H;
  const radius = ctx.inpaint.radius ?? 5;
  const firstOrderDepth = ctx.inpaint.firstOrderDepth ?? 4;
  const timings: LayerTimings = { inpaintMs: 0, teleaMs: 0, depthFillMs: 0, meshMs: 0 };
  const { pixelLayer, inv, tears, layerCount: L } = a;
  const K = a.parallaxScale;
  const zMed = a.medianDepth;

  // The far rim: pixels on the far side of a tear between two layers.
  const farRim = new Uint8Array(N);
  const torn = (i: number, j: number, t: number): boolean => t > 0 && pixelLayer[i] !== pixelLayer[j];
  for (let i = 0; i < N; i++) {
    const x = i % W;
    if (x + 1 < W && torn(i, i + 1, tears.right[i]!)) farRim[inv[i]! < inv[i + 1]! ? i : i + 1] = 1;
    if (i + W < N && torn(i, i + W, tears.down[i]!)) farRim[inv[i]! < inv[i + W]! ? i : i + W] = 1;
  }

  // Rim margins of the back layer: what the orbit range sees past the border on the back layer's depths.
  let zNear = Infinity;
  let zFar = 0;
  for (let i = 0; i < N; i++) {
    if (pixelLayer[i] !== 0) continue;
    const z = depth[i]!;
    if (z < zNear) zNear = z;
    if (z > zFar) zFar = z;
  }
  const rim = rimMargins(ctx.intrinsics, W, H, zMed, [zNear, zFar, zMed]);

  const layers: Layer[] = [];
  const margins: number[] = [];
  const fillPixels: number[] = [];
  const known = new Uint8Array(N);
  const fill = new Uint8Array(N);
  const budget = new Uint16Array(N);
  const passable = new Uint8Array(N);
  const farther = new Uint8Array(N);
  for (let li = 0; li < L; li++) {
    throwIfAborted(signal);
    const t0 = performance.now();
    // Own pixels and the seam overlap: a BFS from O through welded edges into nearer pixels.
    known.fill(0);
    fill.fill(0);
    budget.fill(0);
    const role = new Uint8Array(N);
    let queue: number[] = [];
    for (let i = 0; i < N; i++) {
      if (pixelLayer[i] === li) {
        role[i] = 1;
        known[i] = 1;
        queue.push(i);
      }
    }
    for (let step = 0; step < SEAM_OVERLAP && queue.length; step++) {
      const next: number[] = [];
      for (const i of queue) {
        const x = i % W;
        const visit = (j: number, t: number): void => {
          if (known[j] || pixelLayer[j]! <= li || t > 0) return;
          known[j] = 1;
          role[j] = 3;
          next.push(j);
        };
        if (x + 1 < W) visit(i + 1, tears.right[i]!);
        if (x > 0) visit(i - 1, tears.right[i - 1]!);
        if (i + W < N) visit(i + W, tears.down[i]!);
        if (i >= W) visit(i - W, tears.down[i - W]!);
      }
      queue = next;
    }
    // Fill: every known pixel on the far side of a tear to a nearer pixel seeds a reach as wide as that
    // tear opens at the edge of the orbit range.
    let maxReach = 0;
    for (let i = 0; i < N; i++) {
      passable[i] = !known[i] && pixelLayer[i]! > li ? 1 : 0;
      if (!known[i]) continue;
      const x = i % W;
      let b = 0;
      const seed = (j: number, t: number): void => {
        if (t > 0 && !known[j] && pixelLayer[j]! > li) b = Math.max(b, Math.ceil(t) + FILL_PAD);
      };
      if (x + 1 < W) seed(i + 1, tears.right[i]!);
      if (x > 0) seed(i - 1, tears.right[i - 1]!);
      if (i + W < N) seed(i + W, tears.down[i]!);
      if (i >= W) seed(i - W, tears.down[i - W]!);
      if (b > 0) {
        budget[i] = Math.min(65535, b + 1); // reach() counts the seed itself as one step
        if (b > maxReach) maxReach = b;
      }
    }
    let fillCount = 0;
    if (li === 0) {
      for (let i = 0; i < N; i++) if (!known[i]) { fill[i] = 1; role[i] = 2; fillCount++; }
    } else if (maxReach > 0) {
      // A hidden pixel is filled here only where this layer's content is (within FILL_SLACK px) as close as
      // any farther layer's: the strip an orbit reveals continues whatever surface bordered the occluder on
      // that side. Without this, a layer that meets an occluder along part of its silhouette (a basket
      // below a hat) would paint its texture over the whole reach, also above its own top edge where the
      // wall behind borders the occluder; the wall's fill, drawn first, would be hidden under it.
      const r = reach(budget, passable, W, H);
      for (let i = 0; i < N; i++) farther[i] = pixelLayer[i]! < li ? 1 : 0;
      const cap = Math.min(254, maxReach + FILL_SLACK);
      const dOwn = bandDistance(known, W, H, cap);
      const dFar = bandDistance(farther, W, H, cap);
      for (let i = 0; i < N; i++) {
        if (!passable[i] || r[i]! === 0 || dOwn[i]! > dFar[i]! + FILL_SLACK) continue;
        fill[i] = 1;
        role[i] = 2;
        fillCount++;
      }
    }
    margins.push(li === 0 ? Math.max(maxReach, rim.left, rim.right, rim.top, rim.bottom) : maxReach);
    fillPixels.push(fillCount);

    // Crop: everything with a role, plus one texel of colour ring; the back layer spans the frame and its rim.
    const bbox: Rect = li === 0 ? { x: -rim.left, y: -rim.top, width: W + rim.left + rim.right, height: H + rim.top + rim.bottom } : grownBox(role, W, H, 1);
    const { x: bx, y: by, width: cw, height: ch } = bbox;
    const n = cw * ch;
    const cropRole = new Uint8Array(n);
    const cropImg = new Uint8ClampedArray(n * 4);
    const hole = new Uint8Array(n);
    const ignore = new Uint8Array(n);
    const cropDepth = new Float32Array(n);
    const cropKnown = new Uint8Array(n);
    const cropFill = new Uint8Array(n);
    const alpha = new Uint8Array(n);
    const deep = new Uint8Array(n);
    // Telea's band in the back layer: as deep as the largest tear opening it backs; beyond it push–pull.
    const band = li === 0 ? Math.max(8, maxReach) : Infinity;
    const distKnown = li === 0 ? chessboardFrom(known, W, H, band, bbox) : undefined;
    for (let y = 0; y < ch; y++) {
      const iy = by + y;
      for (let x = 0; x < cw; x++) {
        const ix = bx + x;
        const j = y * cw + x;
        const inside = ix >= 0 && iy >= 0 && ix < W && iy < H;
        const i = inside ? iy * W + ix : -1;
        const r = inside ? role[i]! : li === 0 ? 2 : 0;
        cropRole[j] = r;
        alpha[j] = r ? 255 : 0;
        if (inside) {
          cropImg[4 * j] = image.data[4 * i]!;
          cropImg[4 * j + 1] = image.data[4 * i + 1]!;
          cropImg[4 * j + 2] = image.data[4 * i + 2]!;
        }
        cropImg[4 * j + 3] = 255;
        if (r === 1 || r === 3) {
          cropKnown[j] = 1;
          cropDepth[j] = depth[i]!;
          if (farRim[i]) hole[j] = 1;
        } else if (r === 2) {
          cropFill[j] = 1;
          if (li === 0 && !(distKnown![j]! <= band)) {
            deep[j] = 1;
            ignore[j] = 1;
          } else hole[j] = 1;
        } else ignore[j] = 1;
      }
    }
    // The colour ring: texels without content next to content get Telea's colour too (alpha stays 0).
    for (let y = 0; y < ch; y++) {
      for (let x = 0; x < cw; x++) {
        const j = y * cw + x;
        if (cropRole[j]) continue;
        let near = false;
        for (let dy = -1; dy <= 1 && !near; dy++) {
          const yy = y + dy;
          if (yy < 0 || yy >= ch) continue;
          for (let dx = -1; dx <= 1; dx++) {
            const xx = x + dx;
            if (xx >= 0 && xx < cw && cropRole[yy * cw + xx]) { near = true; break; }
          }
        }
        if (near) {
          hole[j] = 1;
          ignore[j] = 0;
        }
      }
    }
    const tTelea = performance.now();
    const filled = inpaintTelea({ width: cw, height: ch, data: cropImg }, hole, { radius, signal, ignore, firstOrderDepth });
    timings.teleaMs += performance.now() - tTelea;
    const rgba = new Uint8ClampedArray(n * 4);
    for (let j = 0; j < n; j++) {
      // Own and seam pixels keep the photo's colour (the far rim too: it was a hole only so that Telea's
      // sources exclude its mixed colours); fills and the colour ring take Telea's.
      const src = hole[j] && !cropKnown[j] ? filled.data : cropImg;
      rgba[4 * j] = src[4 * j]!;
      rgba[4 * j + 1] = src[4 * j + 1]!;
      rgba[4 * j + 2] = src[4 * j + 2]!;
      rgba[4 * j + 3] = alpha[j]!;
    }
    const tFill = performance.now();
    const solveFill = new Uint8Array(n);
    for (let j = 0; j < n; j++) solveFill[j] = cropFill[j] && !deep[j] ? 1 : 0;
    const fr = harmonicFill(cropDepth, cw, ch, cropKnown, solveFill, { domain: 'inverse', tolerance: 1e-3, maxIterations: 100, signal });
    const layerDepth = fr.values;
    if (li === 0) {
      const knownDepth = new Uint8Array(n);
      for (let j = 0; j < n; j++) if (!deep[j] && layerDepth[j]! > 0) knownDepth[j] = 1;
      pushPullRgbaDepth(rgba, layerDepth, knownDepth, deep, cw, ch);
    }
    for (let j = 0; j < n; j++) if (!cropRole[j]) layerDepth[j] = 0;
    timings.depthFillMs += performance.now() - tFill;
    const t1 = performance.now();
    timings.inpaintMs += t1 - t0;
    ctx.onLayer?.('inpaint', li + 1, L);

    // Nothing tears inside a layer (see the module comment); tolerances as in the pipeline's defaults.
    const meshOptions: MeshOptions = { depthTolerance: PIPELINE_MESH_DEPTH_TOLERANCE, noiseFactor: PIPELINE_MESH_NOISE_FACTOR, ...ctx.mesh, jumpRatio: Number.MAX_VALUE };
    const mesh = buildLayerMesh({ bbox, width: cw, height: ch, depth: layerDepth, alpha }, ctx.intrinsics, { ...meshOptions, signal });
    timings.meshMs += performance.now() - t1;
    ctx.onLayer?.('mesh', li + 1, L);

    let nearest = Infinity;
    let far = 0;
    for (let i = 0; i < N; i++) {
      if (pixelLayer[i] !== li) continue;
      const v = depth[i]!;
      if (v < nearest) nearest = v;
      if (v > far) far = v;
    }
    layers.push({
      index: li,
      depthRange: [nearest, far],
      planeDepth: 2 / (1 / nearest + 1 / far),
      bbox,
      rgba: { width: cw, height: ch, data: rgba },
      depth: layerDepth,
      role: cropRole,
      maskIds: [],
      concepts: [],
      mesh,
    });
  }
  assignMasks(layers, pixelLayer, ctx.labels, ctx.maskCount, ctx.concepts);
  return { layers, pixelLayer, layerCount: L, timings, margins, stats: { tearEdges: tears.count, parallaxScale: K, boundaries: a.boundaries, fillPixels, rim } };
}

/** Each mask goes to the layer holding most of its pixels; a layer lists its masks and their concept names. */
function assignMasks(layers: Layer[], pixelLayer: Uint8Array, labels: Int32Array, count: number, concepts: (string | undefined)[]): void {
  if (count <= 0) return;
  const L = layers.length;
  const hist = new Int32Array(count * L);
  for (let i = 0; i < labels.length; i++) {
    const m = labels[i]!;
    if (m >= 0 && m < count) hist[m * L + pixelLayer[i]!]!++;
  }
  for (let m = 0; m < count; m++) {
    let best = -1;
    let bestN = 0;
    for (let l = 0; l < L; l++) if (hist[m * L + l]! > bestN) { bestN = hist[m * L + l]!; best = l; }
    if (best < 0) continue;
    layers[best]!.maskIds.push(m);
    const c = concepts[m];
    if (c && !layers[best]!.concepts.includes(c)) layers[best]!.concepts.push(c);
  }
}

/** Bounding box of the non-zero pixels of `mask`, grown by `pad` px and clipped to the image. */
function grownBox(mask: Uint8Array, W: number, H: number, pad: number): Rect {
  let x0 = W, y0 = H, x1 = -1, y1 = -1;
  for (let y = 0; y < H; y++) {
    const row = y * W;
    for (let x = 0; x < W; x++) {
      if (!mask[row + x]) continue;
      if (x < x0) x0 = x;
      if (x > x1) x1 = x;
      if (y < y0) y0 = y;
      if (y > y1) y1 = y;
    }
  }
  if (x1 < 0) return { x: 0, y: 0, width: 0, height: 0 };
  x0 = Math.max(0, x0 - pad);
  y0 = Math.max(0, y0 - pad);
  x1 = Math.min(W - 1, x1 + pad);
  y1 = Math.min(H - 1, y1 + pad);
  return { x: x0, y: y0, width: x1 - x0 + 1, height: y1 - y0 + 1 };
}

/**
 * Chessboard distance (capped at cap + 1) from the seeds (full image) for every pixel of the crop `box`,
 * which may extend past the image: pixels outside the image are reached through it like any other.
 */
function chessboardFrom(seeds: Uint8Array, W: number, H: number, cap: number, box: Rect): Uint8Array | Uint16Array {
  const { x: bx, y: by, width: cw, height: ch } = box;
  const n = cw * ch;
  const c = Math.min(65534, Math.ceil(cap));
  const dist = new Uint16Array(n).fill(c + 1);
  let frontier: number[] = [];
  for (let y = 0; y < ch; y++) {
    for (let x = 0; x < cw; x++) {
      const ix = bx + x, iy = by + y;
      if (ix >= 0 && iy >= 0 && ix < W && iy < H && seeds[iy * W + ix]) {
        dist[y * cw + x] = 0;
        frontier.push(y * cw + x);
      }
    }
  }
  for (let d = 1; d <= c && frontier.length; d++) {
    const next: number[] = [];
    for (const j of frontier) {
      const x = j % cw, y = (j - x) / cw;
      for (let dy = -1; dy <= 1; dy++) {
        const yy = y + dy;
        if (yy < 0 || yy >= ch) continue;
        for (let dx = -1; dx <= 1; dx++) {
          const xx = x + dx;
          if (xx < 0 || xx >= cw) continue;
          const k = yy * cw + xx;
          if (dist[k]! > d) {
            dist[k] = d;
            next.push(k);
          }
        }
      }
    }
    frontier = next;
  }
  return dist;
}

export type { TearMap };
