/**
 * Per-layer meshing: turns a layer's crop (depth + alpha) into a camera-space triangle mesh whose
 * vertices sit on pixel CORNERS, so that rendering it from the original camera with the crop as texture
 * reproduces the photo: the vertex at corner (i, j) of the crop is unprojected from the continuous image
 * point (u, v) = (bbox.x + i, bbox.y + j) and carries UV (i / W, j / H); since unprojection followed by
 * projection is the identity on (u, v) whatever the depth, every quad between corners covers exactly its
 * texels on screen.
 *
 * Design
 * ------
 * 1. Content. A pixel has content when alpha > 0 and its depth is finite and > 0 (a pixel with alpha but
 *    no usable depth gets no geometry). Two 4-adjacent content pixels are LINKED when their depth ratio
 *    max/min ≤ jumpRatio; an unlinked pair of content pixels is a depth jump.
 * 2. Corners, duplicated per side of a jump. Around a corner lie up to four pixels (TL, TR, BR, BL, a
 *    4-cycle); the links around the corner split them into clusters (connected components). A vertex is
 *    identified by (corner, cluster): pixels linked to each other share the corner's vertex, pixels on two
 *    sides of a jump get one vertex each, so jumps become tears (no rubber sheet) while linked neighbours
 *    share vertices (no cracks). The cluster's depth is taken in INVERSE depth, which is affine in (u, v)
 *    on a plane: 4 members → mean of the 4 (exact on planes, the corner is their centroid); 3 members →
 *    mean of the diagonal pair (their midpoint is the corner: exact on planes); 2 → mean; 1 → itself.
 * 3. Restricted quadtree. Cells are aligned 2^l squares (roots of maxCellSize). A cell is split
 *    MANDATORILY when it mixes content and empty pixels, when its pixels' depth range max/min exceeds
 *    jumpRatio (a range ≤ jumpRatio guarantees that all its pixels are linked), or when its corner depths'
 *    ratio exceeds jumpRatio; OPTIONALLY (by its criticality = worst error / tolerance) when (a) the bilinear
 *    interpolation of its corner inverse depths misses the surface by more than depthTolerance
 *    (relative), the miss being measured on a DENOISED signal: the relative residual
 *    r = iz_bilinear / iz − 1 at the pixel centres is averaged over each quadrant of the cell (over the
 *    whole cell when it is 2 or 4 px wide, so a block always holds ≥ 4 resp. 16 pixels) and the
 *    largest |block mean| is compared with depthTolerance. Why: monocular/sensor depth carries per-pixel
 *    noise of the same order as the tolerance (≈ 0.2–0.3 % of inverse depth after the pipeline's 3×3
 *    smoothing, against 0.5 %), and a per-pixel maximum fires on the noise's extremes, refining flat
 *    noisy areas to full density and blowing the vertex budget; a block mean of zero-mean noise shrinks
 *    as 1/√(pixels) (i.i.d.) while a real misfit (curvature, a crease, a slope change) has a consistent
 *    sign over a block and survives it (a quadratic's bilinear residual keeps ≈ 2/3 of its peak in a
 *    quadrant mean), and residuals of opposite sign in different quadrants (an S-shaped profile) are
 *    not cancelled. The price: a bump much narrower than a quadrant is diluted by its area fraction
 *    (a k-px bump in an s-px cell counts ≈ (2k/s)² of its height) and is refined only if it also breaks
 *    jumpRatio or the swim test (a single-pixel spike counts ≈ 1/4 of its height in a 2-px cell, 1/16 in a
 *    4-px cell). (b) its "texture swim" s·(ρ−1)/4 px exceeds textureTolerance: a
 *    planar triangle with corner depth ratio ρ is textured with perspective-correct (affine-in-3D) UVs,
 *    whose image point drifts from the true projective one by up to ≈ s·(ρ−1)/4 px in a cell of s px
 *    (derivation: along an edge the drift is s·t(1−t)(Z0−Z1)/((1−t)Z0+tZ1), maximal near t = ½).
 *    Leaves stop at 1-px cells, which are the full-density case.
 * 4. No cracks, no T-junctions: the tree is 2:1 balanced (edge neighbours differ by at most one level);
 *    a leaf whose edge neighbour is finer gets the mid-edge vertex on that side and is fanned around its
 *    centre (≤ 8 triangles); otherwise it is split along the diagonal whose inverse depths agree best.
 *    Any leaf of size > 1 whose fan/quad corners end up with ratio > jumpRatio is split again (repeat
 *    until stable), so only 1-px quads are ever dropped for a jump: a 1-px triangle is dropped when
 *    max/min of its corner depths exceeds jumpRatio.
 * 5. Budget. The whole tree is evaluated once with every node's criticality; an attempt at tolerance
 *    scale F splits nodes with criticality > F. The smallest F of 1, 2, 4, … whose vertex count fits is
 *    used: F = 1 is emitted directly; when it does not fit, the mandatory splits alone are COUNTED (one bit
 *    per corner and cluster, no vertex created), then the scales are binary-searched by counting (the
 *    split sets are nested, so the count decreases with F) and the chosen one is emitted once. When F = 1
 *    does not fit, a grid is skipped at once if a cheap lower bound already exceeds the budget (the vertices of the 1-px quads
 *    of mandatorily split 2×2 blocks, which every attempt emits). If even the
 *    mandatory splits do not fit, the crop is meshed on a 2×, 4×, … coarser grid (block = content if any
 *    pixel has content; depth = the nearest one), whose corners are still pixel corners of the crop
 *    (clamped to its right/bottom edge). Then silhouettes are only as fine as the blocks, and the texture's
 *    alpha has to cut them; meshes stay crack-free and within budget.
 *
 * Cost: one pass over the pixels builds a pyramid (levels ≥ 2: content flags, depth range, and the moments
 * Σz, Σξz, Σηz, Σξηz of each node's depths, from which the bilinear residual's block sums follow in O(1);
 * higher levels from their children), then nodes are evaluated top-down, children only when their parent
 * splits, each in O(1) plus its four corner probes (2-px nodes read their 4 pixels). Then per attempt
 * O(#nodes + #vertices). Corner link masks are cached (1 byte per corner), as are the vertices of each
 * corner's first cluster (an index per corner; other clusters, at tears, go through a hash table). They,
 * the node arrays and pyramid (≈ 6 bytes per crop pixel) and the vertex buffers are pooled between calls.
 * No per-pixel objects.
 */
import { DioramaError, invariant, throwIfAborted } from '../core/errors';
import type { Intrinsics, LayerMesh, Rect } from '../core/types';
import { ADD, AND, ELSE, END, EQZ, I32, IF, KernelCache, MUL, OR, SHL, V128, V128_LOAD, f32x4, i32Const, increment, lessThan, localGet, localSet, simd, uleb, wasmModule, whileLoop } from './wasm';

/** Options of {@link buildLayerMesh}; every field is optional, defaults in {@link MESH_DEFAULTS}. */
export interface MeshOptions {
  /**
   * Maximum number of vertices of this layer's mesh (integer ≥ 4). Default 131 072 (2^17): about 1.5 MB of
   * float32 positions per layer, i.e. at most ~1.6 M vertices for a 12-layer scene, comfortably drawn by
   * WebGL2/WebGPU, while a full-density 1920×1080 layer would need 2.08 M. When exceeded, tolerances are
   * relaxed (×2 steps), then the grid is coarsened (see the module comment).
   */
  maxVertices?: number;
  /**
   * Depth-jump threshold (> 1). Two neighbouring pixels whose depth ratio max/min exceeds it are on two
   * sides of a jump (their shared corner gets one vertex per side), and a 1-px triangle whose corner depths'
   * ratio exceeds it is dropped. Default 1.05: on a smooth surface the depth ratio of neighbouring pixels
   * is ≈ 1 + tanθ/f (θ: slant from fronto-parallel, f: focal in px); with f ≈ 1500 (1920-px photo, ~65°
   * FOV) 5 % needs θ > 89°, or a ground plane within 20 rows of the horizon, while object boundaries of
   * monocular depth maps (≥ 10–15 % separation smeared over ≤ 2 px) exceed it. Infinity never tears
   * (a closed backdrop).
   */
  jumpRatio?: number;
  /**
   * Relative tolerance on inverse depth for the planar (bilinear) approximation of a cell, default 0.002:
   * parallax is proportional to inverse depth, so a viewpoint shift that gives a surface 50 px of parallax
   * misplaces it by at most a further 0.1 px. It bounds the misfit of the surface AVERAGED over blocks
   * (each quadrant of a cell, a whole cell of ≤ 4 px), not per pixel: zero-mean per-pixel depth noise
   * does not force refinement (see the module comment).
   */
  depthTolerance?: number;
  /**
   * Noise floor factor k ≥ 0, default 0 (off). When k > 0 the depth tolerance of this layer is raised to
   * k·σ̂ where σ̂ is the layer's own estimated noise of 4×4-block means of relative inverse depth (see
   * {@link LayerMeshResult.blockNoise}), so that the mesher does not refine on what it cannot tell from
   * noise. Noise-free depth (σ̂ ≈ 0) keeps depthTolerance exactly; the raise is capped at 4×, and crops
   * with fewer than 128 disjoint runs of three full blocks (a small or thin layer, whose few runs measure
   * its shape rather than its noise) are not raised.
   */
  noiseFactor?: number;
  /** Maximum texture swim (px) from perspective-correct UVs on a slanted cell, default 0.125 px. */
  textureTolerance?: number;
  /** Size (px, power of two) of the quadtree roots, i.e. of the largest cells. Default 64. */
  maxCellSize?: number;
  /** Aborts meshing (DioramaError 'ABORTED'). */
  signal?: AbortSignal;
}

/** The layer crop to mesh. `depth` and `alpha` are `width·height`, row-major, top row first. */
export interface MeshCrop {
  /** Crop rectangle in full-image pixels; its width/height must equal `width`/`height`. */
  bbox: Rect;
  width: number;
  height: number;
  /** Metric depth (metres); 0 (or non-finite / ≤ 0) = no geometry. */
  depth: Float32Array;
  /** Alpha 0..255; 0 = empty. */
  alpha: Uint8Array | Uint8ClampedArray;
}

/** Mesh plus how it was obtained. */
export interface LayerMeshResult {
  mesh: LayerMesh;
  /** Side (crop px) of the grid cells: 1 normally, 2^m when the budget forced a coarser grid. */
  gridStep: number;
  /** Factor applied to depthTolerance/textureTolerance to fit the budget (1 = none, Infinity = all optional splits off). */
  toleranceScale: number;
  /**
   * Robust estimate of the noise of the layer's 4×4-block means of relative inverse depth: the median of
   * |i₁ − 2i₂ + i₃| / i₂ over disjoint runs of three adjacent full blocks (rows and columns, at most
   * ~16 k of them; i = 1 / block-mean depth, on the grid the mesh was built on), divided by 0.6745·√6 (for independent block noise of std σ the second difference has std
   * √6·σ, and the median of |N(0, s)| is 0.6745·s). Affine inverse depth (any plane) contributes nothing,
   * so it measures what no planar cell can fit. 0 when not estimated (noiseFactor 0, or too few runs).
   */
  blockNoise: number;
  /** The depth tolerance used: max(depthTolerance, noiseFactor·blockNoise) capped at 4·depthTolerance, before toleranceScale. */
  depthTolerance: number;
}

/** Default options of {@link buildLayerMesh}. */
export const MESH_DEFAULTS = Object.freeze({
  maxVertices: 131_072,
  jumpRatio: 1.05,
  depthTolerance: 0.002,
  noiseFactor: 0,
  textureTolerance: 0.125,
  maxCellSize: 64,
});

// Per-cell flags of the pyramid.
const ANY = 1; // some pixel has content
const HOMOG = 2; // all pixels inside the grid, with content, and max/min depth ≤ J over the cell
const ALL = 4; // (pyramid only) all pixels inside the grid and with content
/** Bit pattern of float32 +∞: positive finite float32 values are exactly the bit patterns in (0, INF_BITS). */
const INF_BITS = 0x7f800000;

/**
 * Corner clusters. The four pixels around a corner are slots 0 = TL, 1 = TR, 2 = BR, 3 = BL (a cycle);
 * link bit e joins slots e and e+1 (mod 4). For (linkMask·4 + slot): REP = smallest slot of the slot's
 * cluster, AVG = bit set of the slots whose inverse depths are averaged for that cluster's vertex.
 */
const REP = new Uint8Array(64);
const AVG = new Uint8Array(64);
for (let mask = 0; mask < 16; mask++) {
  const parent = [0, 1, 2, 3];
  const find = (k: number): number => {
    while (parent[k] !== k) k = parent[k];
    return k;
  };
  for (let e = 0; e < 4; e++) {
    if (mask & (1 << e)) {
      const a = find(e);
      const b = find((e + 1) & 3);
      if (a !== b) parent[Math.max(a, b)] = Math.min(a, b);
    }
  }
  for (let slot = 0; slot < 4; slot++) {
    const r = find(slot);
    let members = 0;
    let n = 0;
    for (let k = 0; k < 4; k++) {
      if (find(k) === r) {
        members |= 1 << k;
        n++;
      }
    }
    let set = members;
    if (n === 3) {
      const missing = 15 & ~members;
      const t = 31 - Math.clz32(missing);
      set = (1 << ((t + 1) & 3)) | (1 << ((t + 3) & 3));
    }
    REP[mask * 4 + slot] = r;
    AVG[mask * 4 + slot] = set;
  }
}

/**
 * Working grid: the crop itself, or a coarser block grid when the budget forced one. Content is
 * evaluated on the fly (alpha ≠ 0 and 0 < depth < ∞), so no per-pixel flag array is ever allocated.
 */
interface Grid {
  w: number;
  h: number;
  /** Crop pixels per grid cell (1, or 2^m when coarsened). */
  step: number;
  depth: Float32Array;
  alpha: Uint8Array | Uint8ClampedArray;
}

/** 2× coarser grid: a block has content if any pixel has; its depth is the smallest (nearest) one. */
function coarsen(g: Grid): Grid {
  const w = Math.ceil(g.w / 2);
  const h = Math.ceil(g.h / 2);
  const depth = new Float32Array(w * h);
  const alpha = new Uint8Array(w * h);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      let zmin = Infinity;
      for (let dy = 0; dy < 2; dy++) {
        for (let dx = 0; dx < 2; dx++) {
          const sx = 2 * x + dx;
          const sy = 2 * y + dy;
          if (sx >= g.w || sy >= g.h) continue;
          const k = sy * g.w + sx;
          const z = g.depth[k];
          if (g.alpha[k] !== 0 && z > 0 && z < zmin) zmin = z;
        }
      }
      if (zmin < Infinity) {
        depth[y * w + x] = zmin;
        alpha[y * w + x] = 1;
      }
    }
  }
  return { w, h, step: g.step * 2, depth, alpha };
}

/**
 * Grid corners: link masks (cached per corner, so each corner's four content and link tests run once per
 * grid) and cluster inverse depths. (A precomputed inverse-depth array was measured slower: filling 8
 * bytes per cell costs more than the few corners a smooth layer probes.)
 */
class CornerProbe {
  private readonly cw: number;

  constructor(
    private readonly g: Grid,
    private readonly J: number,
    /** Link mask + 16 per corner once probed (0 = not yet); zeroed by the caller. */
    private readonly masks: Uint8Array,
  ) {
    this.cw = g.w + 1;
  }

  /** Link mask of grid corner (i, j) (bit e: slots e and e+1 linked), cached. */
  mask(i: number, j: number): number {
    const c = j * this.cw + i;
    const m = this.masks[c];
    if (m !== 0) return m & 15;
    const { w, h, depth: D, alpha: A } = this.g;
    const k = (j - 1) * w + i - 1; // TL pixel (i − 1, j − 1)
    const top = j > 0;
    const bottom = j < h;
    const left = i > 0;
    const right = i < w;
    // Links compare metric depths, exactly like the range test of Quadtree.evalNode.
    let z = 0;
    const z0 = top && left && A[k] !== 0 && (z = D[k]) > 0 && z < Infinity ? z : 0;
    const z1 = top && right && A[k + 1] !== 0 && (z = D[k + 1]) > 0 && z < Infinity ? z : 0;
    const z2 = bottom && right && A[k + w + 1] !== 0 && (z = D[k + w + 1]) > 0 && z < Infinity ? z : 0;
    const z3 = bottom && left && A[k + w] !== 0 && (z = D[k + w]) > 0 && z < Infinity ? z : 0;
    const J = this.J;
    const r = link(z0, z1, J) | (link(z1, z2, J) << 1) | (link(z2, z3, J) << 2) | (link(z3, z0, J) << 3);
    this.masks[c] = r | 16;
    return r;
  }

  /** Inverse depth of `slot`'s cluster at grid corner (i, j) with link mask m (the slot must have content). */
  izOf(m: number, i: number, j: number, slot: number): number {
    const set = AVG[m * 4 + slot];
    const IZ = this.g.depth;
    const w = this.g.w;
    const k = (j - 1) * w + i - 1;
    let s = 0;
    let n = 0;
    if (set & 1) {
      s += 1 / IZ[k];
      n++;
    }
    if (set & 2) {
      s += 1 / IZ[k + 1];
      n++;
    }
    if (set & 4) {
      s += 1 / IZ[k + w + 1];
      n++;
    }
    if (set & 8) {
      s += 1 / IZ[k + w];
      n++;
    }
    return s / n;
  }

  /** Inverse depth of `slot`'s cluster at grid corner (i, j). */
  izAt(i: number, j: number, slot: number): number {
    return this.izOf(this.mask(i, j), i, j, slot);
  }

  // Corners of the last planned 1-px quad (pixelPlan): link masks and cluster inverse depths of
  // TL (slot 2 of corner (x, y)), TR (slot 3 of (x+1, y)), BR (slot 0 of (x+1, y+1)), BL (slot 1 of (x, y+1)).
  ma = 0;
  mb = 0;
  mc = 0;
  md = 0;
  za = 0;
  zb = 0;
  zc = 0;
  zd = 0;

  /**
   * Plans the 1-px quad of grid cell (x, y): two triangles, each dropped when its corner depths' ratio
   * exceeds J; the diagonal kept is the one that keeps more triangles, else the one whose inverse depths
   * agree best. Returns 0 when nothing is kept, else PLAN_ANY | PLAN_TLBR (diagonal TL–BR) | PLAN_K1 |
   * PLAN_K2 (first / second triangle of that diagonal kept); the corners are left in ma…md, za…zd.
   */
  pixelPlan(x: number, y: number): number {
    const k = y * this.g.w + x;
    const z = this.g.depth[k];
    if (!(this.g.alpha[k] !== 0 && z > 0 && z < Infinity)) return 0;
    const J = this.J;
    const ma = this.mask(x, y);
    const a = this.izOf(ma, x, y, 2);
    const mb = this.mask(x + 1, y);
    const b = this.izOf(mb, x + 1, y, 3);
    const mc = this.mask(x + 1, y + 1);
    const c = this.izOf(mc, x + 1, y + 1, 0);
    const md = this.mask(x, y + 1);
    const d = this.izOf(md, x, y + 1, 1);
    // Diagonal TL–BR: (TL, BL, BR) + (TL, BR, TR); diagonal TR–BL: (TL, BL, TR) + (BL, BR, TR).
    const p1 = okRatio(a, d, c, J);
    const p2 = okRatio(a, c, b, J);
    const q1 = okRatio(a, d, b, J);
    const q2 = okRatio(d, c, b, J);
    const kp = +p1 + +p2;
    const kq = +q1 + +q2;
    if (kp === 0 && kq === 0) return 0;
    const useP = kp > kq || (kp === kq && Math.abs(a - c) <= Math.abs(b - d));
    this.ma = ma;
    this.mb = mb;
    this.mc = mc;
    this.md = md;
    this.za = a;
    this.zb = b;
    this.zc = c;
    this.zd = d;
    return useP ? PLAN_ANY | PLAN_TLBR | (p1 ? PLAN_K1 : 0) | (p2 ? PLAN_K2 : 0) : PLAN_ANY | (q1 ? PLAN_K1 : 0) | (q2 ? PLAN_K2 : 0);
  }

  /** Per-corner bit set of counted cluster representatives (countPixel / markSlot), and their number. */
  marks: Uint8Array = new Uint8Array(0);
  marked = 0;

  /** Starts a vertex count over `marks` (zeroed, one byte per grid corner). */
  startCount(marks: Uint8Array): void {
    this.marks = marks;
    this.marked = 0;
  }

  /** Counts the vertex of cluster representative `rep` at grid corner (i, j) once. */
  private markRep(i: number, j: number, rep: number): void {
    const c = j * this.cw + i;
    const bit = 1 << rep;
    if ((this.marks[c] & bit) === 0) {
      this.marks[c] |= bit;
      this.marked++;
    }
  }

  /** Counts the vertex of `slot`'s cluster at grid corner (i, j) once (as MeshWriter.vertexAt creates it). */
  markSlot(i: number, j: number, slot: number): void {
    this.markRep(i, j, REP[this.mask(i, j) * 4 + slot]);
  }

  /** Counts the vertices the 1-px quad (x, y) creates (as Quadtree.emitPixel does). */
  countPixel(x: number, y: number): void {
    const plan = this.pixelPlan(x, y);
    if (plan === 0) return;
    const useP = (plan & PLAN_TLBR) !== 0;
    if (useP || (plan & PLAN_K1) !== 0) this.markRep(x, y, REP[this.ma * 4 + 2]);
    if (!useP || (plan & PLAN_K2) !== 0) this.markRep(x + 1, y, REP[this.mb * 4 + 3]);
    if (useP || (plan & PLAN_K2) !== 0) this.markRep(x + 1, y + 1, REP[this.mc * 4]);
    if (!useP || (plan & PLAN_K1) !== 0) this.markRep(x, y + 1, REP[this.md * 4 + 1]);
  }
}

const PLAN_ANY = 1;
const PLAN_TLBR = 2;
const PLAN_K1 = 4;
const PLAN_K2 = 8;

/** 1 when both depths are content (> 0) and their ratio is ≤ J. */
function link(a: number, b: number, J: number): number {
  const mn = a < b ? a : b;
  const mx = a < b ? b : a;
  return mn > 0 && mx <= J * mn ? 1 : 0;
}

function okRatio(a: number, b: number, c: number, J: number): boolean {
  const mx = a > b ? (a > c ? a : c) : b > c ? b : c;
  const mn = a < b ? (a < c ? a : c) : b < c ? b : c;
  return mx <= J * mn;
}

/**
 * Scratch buffers reused from one call to the next (meshing 12 layers would otherwise allocate and
 * garbage-collect tens of MB of node arrays). Buffers only grow; they hold about 11 bytes per crop pixel
 * of the largest crop seen (corner masks 1, node arrays ≈ 2.3, pyramid ≈ 3.4, per-corner vertex index 4)
 * plus the largest mesh's vertex buffers (≈ 25 MB after a 1920×1080 layer);
 * {@link releaseMeshScratch} drops them. A nested call (impossible in practice, the work is synchronous)
 * gets fresh buffers.
 */
class Scratch {
  busy = false;
  /** One float32 and its bit pattern (estimateBlockNoise's histogram index). */
  readonly noiseCell = new Float32Array(1);
  readonly noiseBits = new Int32Array(this.noiseCell.buffer);
  private noiseHist: Int32Array | undefined;
  /** One bin per value of the 13 high bits of a non-negative float32 (sign clear: 4096 bins). */
  noiseHistogram(): Int32Array {
    return (this.noiseHist ??= new Int32Array(4096));
  }
  f32: Float32Array = new Float32Array(0);
  u8: Uint8Array = new Uint8Array(0);
  i32: Int32Array = new Int32Array(0);
  corners: Uint8Array = new Uint8Array(0);
  positions: Float32Array = new Float32Array(0);
  uvs: Float32Array = new Float32Array(0);
  pixels: Float32Array = new Float32Array(0);
  vIz: Float64Array = new Float64Array(0);
  indices: Uint32Array = new Uint32Array(0);
  keys: Int32Array = new Int32Array(0);
  vals: Int32Array = new Int32Array(0);
  marks: Uint8Array = new Uint8Array(0);
  blocks: Int32Array = new Int32Array(0);
  pf: Uint8Array = new Uint8Array(0);
  /** Per grid corner: 1 + id of the vertex of its cluster with representative slot 0 (0 = none); all zero between calls. */
  cornerVertex: Int32Array = new Int32Array(0);
  /** Per vertex: its corner index when it is in cornerVertex, else −1 (to clear cornerVertex in O(vertices)). */
  vertexCorner: Int32Array = new Int32Array(0);
  pr: Float32Array = new Float32Array(0);
  pm: Float64Array = new Float64Array(0);

  /** Quadtree pyramid: flags, depth ranges and moments (see Quadtree.buildPyramid); contents are stale. */
  pyrFlags(n: number): Uint8Array {
    if (this.pf.length < n) this.pf = new Uint8Array(n);
    return this.pf;
  }

  pyrRange(n: number): Float32Array {
    if (this.pr.length < n) this.pr = new Float32Array(n);
    return this.pr;
  }

  pyrMoments(n: number): Float64Array {
    if (this.pm.length < n) this.pm = new Float64Array(n);
    return this.pm;
  }

  /** Zeroed per-corner byte array of n entries for vertex counting. */
  markCache(n: number): Uint8Array {
    if (this.marks.length < n) this.marks = new Uint8Array(n);
    else this.marks.fill(0, 0, n);
    return this.marks.subarray(0, n);
  }

  /** Set while a MeshWriter may have entries in cornerVertex (cleared by its release()). */
  cornerDirty = false;

  /** The all-zero per-corner vertex index of at least n entries (see cornerVertex). */
  cornerVertices(n: number): Int32Array {
    if (this.cornerVertex.length < n) this.cornerVertex = new Int32Array(n);
    else if (this.cornerDirty) this.cornerVertex.fill(0); // a call that threw left entries behind
    this.cornerDirty = true;
    return this.cornerVertex;
  }

  blockList(n: number): Int32Array {
    if (this.blocks.length < n) this.blocks = new Int32Array(n);
    return this.blocks;
  }

  float32(n: number): Float32Array {
    if (this.f32.length < n) this.f32 = new Float32Array(n);
    return this.f32;
  }

  uint8(n: number): Uint8Array {
    if (this.u8.length < n) this.u8 = new Uint8Array(n);
    return this.u8;
  }

  int32(n: number): Int32Array {
    if (this.i32.length < n) this.i32 = new Int32Array(n);
    return this.i32;
  }

  /** Zeroed per-corner byte cache of n entries. */
  cornerCache(n: number): Uint8Array {
    if (this.corners.length < n) this.corners = new Uint8Array(n);
    else this.corners.fill(0, 0, n);
    return this.corners.subarray(0, n);
  }
}

let SCRATCH = new Scratch();

/** Drops the scratch buffers that buildLayerMesh keeps between calls (see Scratch); the next call reallocates. */
export function releaseMeshScratch(): void {
  if (!SCRATCH.busy) SCRATCH = new Scratch();
}

/**
 * Growable output buffers plus the (corner, cluster) → vertex map, an open-addressing hash table whose
 * size follows the vertex count (not the crop area).
 */
class MeshWriter {
  nV = 0;
  nI = 0;
  positions: Float32Array;
  uvs: Float32Array;
  pixels: Float32Array;
  /** Inverse depth per vertex (diagonal choice). */
  vIz: Float64Array;
  indices: Uint32Array;
  private keys: Int32Array; // corner·4 + cluster representative (≠ 0), −1 = free
  private vals: Int32Array;
  /** Entries in the hash table. */
  private nH = 0;
  /** 1 + vertex id of each corner's representative-0 cluster (most vertices: one cluster per corner). */
  private readonly cornerVertex: Int32Array;
  /** Corner of each vertex held in cornerVertex, −1 for the others (hash-table vertices). */
  private vertexCorner: Int32Array;
  private shift: number;
  private readonly cw: number; // corners per row, grid.w + 1

  constructor(
    private readonly g: Grid,
    private readonly crop: MeshCrop,
    private readonly K: Intrinsics,
    private readonly probe: CornerProbe,
    private readonly scratch: Scratch,
  ) {
    this.cw = g.w + 1;
    const c = 4096;
    const sc = scratch;
    if (sc.vIz.length < c) {
      sc.positions = new Float32Array(3 * c);
      sc.uvs = new Float32Array(2 * c);
      sc.pixels = new Float32Array(2 * c);
      sc.vIz = new Float64Array(c);
      sc.indices = new Uint32Array(6 * c);
    }
    if (sc.keys.length < 1 << 16) {
      sc.keys = new Int32Array(1 << 16);
      sc.vals = new Int32Array(1 << 16);
    }
    this.positions = sc.positions;
    this.uvs = sc.uvs;
    this.pixels = sc.pixels;
    this.vIz = sc.vIz;
    this.indices = sc.indices;
    this.keys = sc.keys;
    this.vals = sc.vals;
    this.shift = 32 - Math.log2(this.keys.length);
    this.cornerVertex = sc.cornerVertices((g.w + 1) * (g.h + 1));
    if (sc.vertexCorner.length < c) sc.vertexCorner = new Int32Array(c);
    this.vertexCorner = sc.vertexCorner;
  }

  /** Forgets every vertex (clears the per-corner index entries it set, O(vertices)). */
  reset(): void {
    this.clearCorners();
    this.keys.fill(-1);
    this.scratch.cornerDirty = true;
    this.nH = 0;
    this.nV = 0;
    this.nI = 0;
  }

  private clearCorners(): void {
    const vc = this.vertexCorner;
    const cv = this.cornerVertex;
    for (let id = 0; id < this.nV; id++) if (vc[id] >= 0) cv[vc[id]] = 0;
  }

  /** Hands the (possibly grown) buffers back to the scratch pool, the per-corner index cleared. */
  release(): void {
    this.clearCorners();
    const sc = this.scratch;
    sc.cornerDirty = false;
    sc.vertexCorner = this.vertexCorner;
    sc.positions = this.positions;
    sc.uvs = this.uvs;
    sc.pixels = this.pixels;
    sc.vIz = this.vIz;
    sc.indices = this.indices;
    sc.keys = this.keys;
    sc.vals = this.vals;
  }

  /** Vertex of `slot`'s cluster at grid corner (i, j); created on first use. */
  vertexAt(i: number, j: number, slot: number): number {
    const p = this.probe;
    const m = p.mask(i, j);
    const rep = REP[m * 4 + slot];
    const c = j * this.cw + i;
    if (rep === 0) {
      const v = this.cornerVertex[c];
      if (v !== 0) return v - 1;
      return this.insertCorner(c, i, j, p.izOf(m, i, j, slot));
    }
    const key = c * 4 + rep;
    const h = this.find(key);
    if (this.keys[h] === key) return this.vals[h];
    return this.insert(h, key, i, j, p.izOf(m, i, j, slot));
  }

  /** Vertex of the cluster with representative `rep` and inverse depth `iz` at grid corner (i, j). */
  vertex(i: number, j: number, rep: number, iz: number): number {
    const c = j * this.cw + i;
    if (rep === 0) {
      const v = this.cornerVertex[c];
      if (v !== 0) return v - 1;
      return this.insertCorner(c, i, j, iz);
    }
    const key = c * 4 + rep;
    const h = this.find(key);
    if (this.keys[h] === key) return this.vals[h];
    return this.insert(h, key, i, j, iz);
  }

  private insertCorner(c: number, i: number, j: number, iz: number): number {
    const id = this.create(i, j, iz);
    this.cornerVertex[c] = id + 1;
    this.vertexCorner[id] = c;
    return id;
  }

  /** Slot holding `key`, or the free slot where it would go (linear probing). */
  private find(key: number): number {
    const keys = this.keys;
    const m = keys.length - 1;
    let h = Math.imul(key, 0x9e3779b1) >>> this.shift;
    for (;;) {
      const k = keys[h];
      if (k === key || k === -1) return h;
      h = (h + 1) & m;
    }
  }

  private insert(h: number, key: number, i: number, j: number, iz: number): number {
    const id = this.create(i, j, iz);
    this.vertexCorner[id] = -1;
    this.keys[h] = key;
    this.vals[h] = id;
    if (2 * ++this.nH > this.keys.length) this.rehash();
    return id;
  }

  private rehash(): void {
    const oldK = this.keys;
    const oldV = this.vals;
    const bits = 32 - this.shift + 1;
    this.shift = 32 - bits;
    this.keys = new Int32Array(1 << bits).fill(-1);
    this.vals = new Int32Array(1 << bits);
    for (let s = 0; s < oldK.length; s++) {
      const key = oldK[s];
      if (key === -1) continue;
      const h = this.find(key);
      this.keys[h] = key;
      this.vals[h] = oldV[s];
    }
  }

  private create(i: number, j: number, iz: number): number {
    if (this.nV === this.vIz.length) this.growVertices();
    const id = this.nV++;
    const Z = 1 / iz;
    const { width: W, height: H, bbox } = this.crop;
    const ci = Math.min(i * this.g.step, W);
    const cj = Math.min(j * this.g.step, H);
    const u = bbox.x + ci;
    const v = bbox.y + cj;
    const K = this.K;
    this.positions[3 * id] = ((u - K.cx) * Z) / K.fx;
    this.positions[3 * id + 1] = (-(v - K.cy) * Z) / K.fy;
    this.positions[3 * id + 2] = Z;
    this.uvs[2 * id] = ci / W;
    this.uvs[2 * id + 1] = cj / H;
    this.pixels[2 * id] = u;
    this.pixels[2 * id + 1] = v;
    this.vIz[id] = iz;
    return id;
  }

  tri(a: number, b: number, c: number): void {
    if (this.nI + 3 > this.indices.length) {
      const next = new Uint32Array(this.indices.length * 2);
      next.set(this.indices);
      this.indices = next;
    }
    const I = this.indices;
    I[this.nI] = a;
    I[this.nI + 1] = b;
    I[this.nI + 2] = c;
    this.nI += 3;
  }

  private growVertices(): void {
    const n = this.vIz.length * 2;
    const f32 = (a: Float32Array, k: number): Float32Array => {
      const b = new Float32Array(n * k);
      b.set(a);
      return b;
    };
    this.positions = f32(this.positions, 3);
    this.uvs = f32(this.uvs, 2);
    this.pixels = f32(this.pixels, 2);
    const vc = new Int32Array(n);
    vc.set(this.vertexCorner);
    this.vertexCorner = vc;
    const z = new Float64Array(n);
    z.set(this.vIz);
    this.vIz = z;
  }

  result(): LayerMesh {
    return {
      positions: this.positions.slice(0, 3 * this.nV),
      uvs: this.uvs.slice(0, 2 * this.nV),
      indices: this.indices.slice(0, this.nI),
      pixels: this.pixels.slice(0, 2 * this.nV),
    };
  }
}

/**
 * Side of the averaging blocks of the depth error in a cell of side s (a power of two ≥ 2): its quadrants
 * (s/2), but never fewer than 16 pixels per block (cells of side ≤ 4 are averaged whole), see the module
 * comment.
 */
function blockSide(s: number): number {
  return s <= 4 ? s : s >> 1;
}

/**
 * The noise floor (MeshOptions.noiseFactor) needs at least NOISE_MIN_RUNS disjoint runs of three full 4×4
 * blocks (about 128 · 3 / 2 blocks, ≈ 3 000 content pixels in a compact region), samples at most about
 * NOISE_SAMPLES of them, and raises depthTolerance at most NOISE_MAX_RAISE times.
 */
const NOISE_MIN_RUNS = 128;
const NOISE_SAMPLES = 16384;
const NOISE_MAX_RAISE = 4;

/** Criticality cap for optional splits (mandatory ones are Infinity); also the "no optional split" scale. */
const CRIT_CAP = 1 << 24;

/**
 * Quadtree over one grid. Node (cx, cy) of level l covers grid cells [cx·2^l, (cx+1)·2^l) ×
 * [cy·2^l, (cy+1)·2^l); level L nodes are the roots, level 0 the pixels (never stored).
 *
 * Nodes are evaluated top-down at tolerance scale 1 from the pyramid (buildPyramid, evalNode), children
 * only when the node is split. A node's `crit` is NaN until evaluated; unevaluated nodes lie under a
 * homogeneous or an empty evaluated ancestor and inherit its flags when they come to exist (splitNode).
 */
class Quadtree {
  readonly L: number;
  readonly cw: number[] = [];
  readonly ch: number[] = [];
  /** ANY / HOMOG per node. */
  readonly cell: Uint8Array[] = [];
  /** Criticality per node (NaN = not evaluated). */
  readonly crit: Float32Array[] = [];
  readonly split: Uint8Array[] = [];
  /**
   * Per node: 16 | finer-sides mask of the last enforceJumps check it passed as a leaf (0 = none), so that
   * the repeated passes of one prepare() only re-check leaves whose fan changed.
   */
  private readonly jumpOK: Uint8Array[] = [];
  /** Largest finite criticality of the evaluated nodes (tolerance scales beyond it change nothing). */
  maxCrit = 0;
  /** See LayerMeshResult.blockNoise (0 when not estimated). */
  readonly blockNoise: number;
  /** Depth tolerance in use: max(depthTolerance, noiseFactor · blockNoise). */
  readonly depthTol: number;
  /**
   * Pyramid of the levels l ≥ 2 (see buildPyramid), per node: ANY / ALL flags, min and max metric depth
   * of its content pixels, and the moments Σz, Σξz, Σηz, Σξηz of its pixels' depths z (ξ, η: pixel offsets
   * from the node's top-left corner), valid where ALL is set.
   */
  private readonly pFlags: Uint8Array[] = [];
  private readonly pLo: Float32Array[] = [];
  private readonly pHi: Float32Array[] = [];
  private readonly pMom: Float64Array[] = [];
  /** Scratch list of node indices of one level. */
  private readonly list: Int32Array;

  constructor(
    private readonly g: Grid,
    private readonly J: number,
    baseDepthTol: number,
    noiseFactor: number,
    private readonly texTol: number,
    private readonly probe: CornerProbe,
    maxCell: number,
    scratch: Scratch,
    signal: AbortSignal | undefined,
  ) {
    let L = 0;
    while (1 << L < maxCell && 1 << L < Math.max(g.w, g.h)) L++;
    this.L = L;
    let total = 0;
    for (let l = 0; l <= L; l++) {
      this.cw.push(Math.ceil(g.w / (1 << l)));
      this.ch.push(Math.ceil(g.h / (1 << l)));
      if (l > 0) total += this.cw[l] * this.ch[l];
    }
    // Per-level views into three pooled buffers.
    const f32 = scratch.float32(total);
    const u8 = scratch.uint8(3 * total);
    f32.fill(Number.NaN, 0, total);
    u8.fill(0, 0, 3 * total);
    let at = 0;
    for (let l = 0; l <= L; l++) {
      const n = l === 0 ? 0 : this.cw[l] * this.ch[l];
      this.crit.push(f32.subarray(at, at + n));
      this.cell.push(u8.subarray(at, at + n));
      this.split.push(u8.subarray(total + at, total + at + n));
      this.jumpOK.push(u8.subarray(2 * total + at, 2 * total + at + n));
      at += n;
    }
    this.list = scratch.int32(L >= 1 ? this.cw[1] * this.ch[1] : 0);
    // Pyramid views into pooled buffers (levels ≥ 2; levels 0 and 1 have none).
    let pt = 0;
    for (let l = 2; l <= L; l++) pt += this.cw[l] * this.ch[l];
    const pf = scratch.pyrFlags(pt);
    const pr = scratch.pyrRange(2 * pt);
    const pm = scratch.pyrMoments(4 * pt);
    at = 0;
    for (let l = 0; l <= L; l++) {
      const n = l < 2 ? 0 : this.cw[l] * this.ch[l];
      this.pFlags.push(pf.subarray(at, at + n));
      this.pLo.push(pr.subarray(2 * at, 2 * at + n));
      this.pHi.push(pr.subarray(2 * at + n, 2 * at + 2 * n));
      this.pMom.push(pm.subarray(4 * at, 4 * at + 4 * n));
      at += n;
    }
    throwIfAborted(signal);
    this.buildPyramid();
    this.blockNoise = noiseFactor > 0 ? this.estimateBlockNoise(scratch) : 0;
    this.depthTol = Math.min(NOISE_MAX_RAISE * baseDepthTol, Math.max(baseDepthTol, noiseFactor * this.blockNoise));
    this.computeCriticality(signal);
  }

  /**
   * Level 2 of the pyramid for the full 4×4 blocks of the grid (⌊w/4⌋ × ⌊h/4⌋) by the WebAssembly kernel
   * PYRAMID, copied into the pyramid's arrays; false (nothing done) without the kernel.
   */
  private pyramidKernel(): boolean {
    const { w, h, depth: D, alpha: A } = this.g;
    const fw = w >> 2;
    const fh = h >> 2;
    if (fw === 0 || fh === 0) return false;
    const n = w * h;
    const nodes = this.cw[2] * this.ch[2];
    const up16 = (b: number): number => 16 * Math.ceil(b / 16);
    const aA = up16(4 * n);
    const aF = aA + up16(n);
    const aLo = aF + up16(nodes);
    const aHi = aLo + up16(4 * nodes);
    const aM = aHi + up16(4 * nodes);
    const k = PYRAMID.get(aM + 32 * nodes);
    if (!k) return false;
    const buf = k.memory.buffer;
    new Float32Array(buf, 0, n).set(D);
    new Uint8Array(buf, aA, n).set(A);
    k.fn(0, aA, aF, aLo, aHi, aM, w, this.cw[2], fw, fh);
    this.pFlags[2].set(new Uint8Array(buf, aF, nodes));
    this.pLo[2].set(new Float32Array(buf, aLo, nodes));
    this.pHi[2].set(new Float32Array(buf, aHi, nodes));
    this.pMom[2].set(new Float64Array(buf, aM, 4 * nodes));
    return true;
  }

  /**
   * LayerMeshResult.blockNoise from the pyramid's level 2: for runs of three horizontally or vertically
   * adjacent 4×4 blocks that are all content (ALL), d = (i₁ − 2i₂ + i₃) / i₂ with i = 16 / Σz the inverse of
   * the block's mean depth (Jensen's gap against the mean inverse depth is second order in the block's
   * depth spread, negligible inside a homogeneous block). The median of |d| comes from a histogram over
   * the float32 bit patterns' 13 high bits (sign, exponent and 4 mantissa bits: bins ≤ 6.25 % wide, read
   * at the bin's middle), so no sort is needed.
   */
  private estimateBlockNoise(scratch: Scratch): number {
    if (this.L < 2) return 0;
    const cw = this.cw[2];
    const ch = this.ch[2];
    const F = this.pFlags[2];
    const M = this.pMom[2];
    const hist = scratch.noiseHistogram();
    hist.fill(0);
    const f = scratch.noiseCell;
    const bits = scratch.noiseBits;
    // Disjoint runs (every third block along the run), on every `stride`-th block row (column): about
    // NOISE_SAMPLES runs at most, which put the median within ~1.2 % (its relative standard error for a
    // half-normal is 1.17/√n), at a cost that no longer grows with the crop.
    const stride = Math.max(1, Math.ceil((2 * cw * ch) / (3 * NOISE_SAMPLES)));
    let count = 0;
    // d = (i_a − 2 i_b + i_c) / i_b with i = 16 / Σz, i.e. Σz_b · (1/Σz_a + 1/Σz_c) − 2.
    for (let by = 0; by < ch; by += stride) {
      for (let bx = 0, n = by * cw; bx + 2 < cw; bx += 3, n += 3) {
        if ((F[n] & F[n + 1] & F[n + 2] & ALL) === 0) continue;
        const mb = M[4 * n + 4];
        f[0] = Math.abs(mb / M[4 * n] + mb / M[4 * n + 8] - 2);
        hist[bits[0] >>> 19]++;
        count++;
      }
    }
    for (let bx = 0; bx < cw; bx += stride) {
      for (let by = 0, n = bx; by + 2 < ch; by += 3, n += 3 * cw) {
        if ((F[n] & F[n + cw] & F[n + 2 * cw] & ALL) === 0) continue;
        const mb = M[4 * (n + cw)];
        f[0] = Math.abs(mb / M[4 * n] + mb / M[4 * (n + 2 * cw)] - 2);
        hist[bits[0] >>> 19]++;
        count++;
      }
    }
    // Too few runs say more about the layer's shape than about its noise (a thin strip, a small object).
    if (count < NOISE_MIN_RUNS) return 0;
    let seen = 0;
    let bin = 0;
    while (2 * (seen + hist[bin]) < count) seen += hist[bin++];
    // The middle of the bin: its lowest bit pattern with the 19 low bits set to half way.
    bits[0] = (bin << 19) | (1 << 18);
    return f[0] / (0.6745 * Math.SQRT2 * Math.sqrt(3));
  }

  /**
   * Fills the pyramid (levels ≥ 2) bottom-up: level 2 (4×4 blocks) from the pixels in one pass, each
   * higher level from its four children. A parent's moments follow from its children's by shifting their
   * origin: for a child at offset (dx, dy), Σ(ξ+dx)z = Σξz + dx·Σz, Σ(η+dy)z = Σηz + dy·Σz and
   * Σ(ξ+dx)(η+dy)z = Σξηz + dy·Σξz + dx·Σηz + dx·dy·Σz. With them the block error of a node costs O(1)
   * (momentError) instead of a scan of its pixels on every level.
   */
  private buildPyramid(): void {
    const L = this.L;
    if (L < 2) return;
    const { w, h, depth: D, alpha: A } = this.g;
    {
      // The depth range is taken on the float32 bit patterns: for positive finite floats they are ordered
      // like the values, and integer min/max is branch-free (noisy depth makes float comparisons
      // mispredict); 0 < bits < INF_BITS is exactly 0 < z < ∞ (NaN and negative values fall outside).
      const DI = new Int32Array(D.buffer, D.byteOffset, D.length);
      const cw = this.cw[2];
      const ch = this.ch[2];
      const F = this.pFlags[2];
      const LO = this.pLo[2];
      const HI = this.pHi[2];
      const LOI = new Int32Array(LO.buffer, LO.byteOffset, LO.length);
      const HII = new Int32Array(HI.buffer, HI.byteOffset, HI.length);
      const M = this.pMom[2];
      // Full 4×4 blocks go to the WebAssembly kernel where there is one; this loop does the rest.
      const kw = this.pyramidKernel() ? w >> 2 : 0;
      const kh = kw > 0 ? h >> 2 : 0;
      for (let by = 0; by < ch; by++) {
        const y0 = 4 * by;
        const y1 = Math.min(y0 + 4, h);
        for (let bx = by < kh ? kw : 0; bx < cw; bx++) {
          const x0 = 4 * bx;
          const x1 = Math.min(x0 + 4, w);
          let any = false;
          let all = x1 - x0 === 4 && y1 - y0 === 4;
          let lo = INF_BITS; // bit patterns (see above)
          let hi = 0;
          let m0 = 0;
          let mx = 0;
          let my = 0;
          let mxy = 0;
          for (let y = y0; y < y1; y++) {
            let k = y * w + x0;
            let r0 = 0;
            let r1 = 0;
            if (all) {
              // Fast path, a full row of 4 with content: sums and range without data-dependent branches.
              const b0 = DI[k];
              const b1 = DI[k + 1];
              const b2 = DI[k + 2];
              const b3 = DI[k + 3];
              if (
                (A[k] !== 0 && b0 > 0 && b0 < INF_BITS) &&
                (A[k + 1] !== 0 && b1 > 0 && b1 < INF_BITS) &&
                (A[k + 2] !== 0 && b2 > 0 && b2 < INF_BITS) &&
                (A[k + 3] !== 0 && b3 > 0 && b3 < INF_BITS)
              ) {
                any = true;
                // min(a, b) = a + ((b − a) & sign(b − a)), max likewise (no overflow: both are positive).
                let t = (b0 - lo) | 0;
                lo += t & (t >> 31);
                t = (b1 - lo) | 0;
                lo += t & (t >> 31);
                t = (b2 - lo) | 0;
                lo += t & (t >> 31);
                t = (b3 - lo) | 0;
                lo += t & (t >> 31);
                t = (hi - b0) | 0;
                hi -= t & (t >> 31);
                t = (hi - b1) | 0;
                hi -= t & (t >> 31);
                t = (hi - b2) | 0;
                hi -= t & (t >> 31);
                t = (hi - b3) | 0;
                hi -= t & (t >> 31);
                const z0 = D[k];
                const z1 = D[k + 1];
                const z2 = D[k + 2];
                const z3 = D[k + 3];
                r0 = z0 + z1 + z2 + z3;
                r1 = z1 + 2 * z2 + 3 * z3;
                const eta = y - y0;
                m0 += r0;
                mx += r1;
                my += eta * r0;
                mxy += eta * r1;
                continue;
              }
            }
            for (let x = x0; x < x1; x++, k++) {
              const b = DI[k];
              if (A[k] !== 0 && b > 0 && b < INF_BITS) {
                any = true;
                if (b < lo) lo = b;
                if (b > hi) hi = b;
                const z = D[k];
                r0 += z;
                r1 += (x - x0) * z;
              } else all = false;
            }
            const eta = y - y0;
            m0 += r0;
            mx += r1;
            my += eta * r0;
            mxy += eta * r1;
          }
          const n = by * cw + bx;
          F[n] = (any ? ANY : 0) | (any && all ? ALL : 0);
          LOI[n] = lo; // the float32 range, stored as its bits (+∞ and 0 when the block is empty)
          HII[n] = hi;
          M[4 * n] = m0;
          M[4 * n + 1] = mx;
          M[4 * n + 2] = my;
          M[4 * n + 3] = mxy;
        }
      }
    }
    // Levels ≥ 3 from their (up to four) children. Empty children carry lo = +∞ and hi = 0, so the range
    // needs no content test; it is again combined on the bit patterns (branch-free min/max).
    for (let l = 3; l <= L; l++) {
      const cw = this.cw[l];
      const ch = this.ch[l];
      const kw = this.cw[l - 1];
      const kh = this.ch[l - 1];
      const KF = this.pFlags[l - 1];
      const KLO = this.pLo[l - 1];
      const KHI = this.pHi[l - 1];
      const KLOI = new Int32Array(KLO.buffer, KLO.byteOffset, KLO.length);
      const KHII = new Int32Array(KHI.buffer, KHI.byteOffset, KHI.length);
      const KM = this.pMom[l - 1];
      const F = this.pFlags[l];
      const LO = this.pLo[l];
      const HI = this.pHi[l];
      const LOI = new Int32Array(LO.buffer, LO.byteOffset, LO.length);
      const HII = new Int32Array(HI.buffer, HI.byteOffset, HI.length);
      const M = this.pMom[l];
      const c = 1 << (l - 1); // child side
      for (let py = 0; py < ch; py++) {
        const down = 2 * py + 1 < kh;
        for (let px = 0; px < cw; px++) {
          const right = 2 * px + 1 < kw;
          const k = 2 * py * kw + 2 * px;
          // Missing children (past the grid's last row / column) count as empty.
          const f1 = right ? KF[k + 1] : 0;
          const f2 = down ? KF[k + kw] : 0;
          const f3 = right && down ? KF[k + kw + 1] : 0;
          const f = KF[k] | f1 | f2 | f3;
          let lo = KLOI[k];
          let hi = KHII[k];
          let t = 0;
          if (right) {
            t = (KLOI[k + 1] - lo) | 0;
            lo += t & (t >> 31);
            t = (hi - KHII[k + 1]) | 0;
            hi -= t & (t >> 31);
          }
          if (down) {
            t = (KLOI[k + kw] - lo) | 0;
            lo += t & (t >> 31);
            t = (hi - KHII[k + kw]) | 0;
            hi -= t & (t >> 31);
            if (right) {
              t = (KLOI[k + kw + 1] - lo) | 0;
              lo += t & (t >> 31);
              t = (hi - KHII[k + kw + 1]) | 0;
              hi -= t & (t >> 31);
            }
          }
          const n = py * cw + px;
          const all = (KF[k] & f1 & f2 & f3 & ALL) !== 0;
          F[n] = (f & ANY) | (all ? ALL : 0);
          LOI[n] = lo;
          HII[n] = hi;
          if (!all) continue; // moments are only read where ALL is set
          // Children at offsets (0, 0), (c, 0), (0, c), (c, c).
          const a0 = KM[4 * k];
          const b0 = KM[4 * k + 4];
          const d0 = KM[4 * (k + kw)];
          const e0 = KM[4 * (k + kw) + 4];
          const sx = KM[4 * k + 1] + KM[4 * k + 5] + KM[4 * (k + kw) + 1] + KM[4 * (k + kw) + 5];
          const sy = KM[4 * k + 2] + KM[4 * k + 6] + KM[4 * (k + kw) + 2] + KM[4 * (k + kw) + 6];
          M[4 * n] = a0 + b0 + d0 + e0;
          M[4 * n + 1] = sx + c * (b0 + e0);
          M[4 * n + 2] = sy + c * (d0 + e0);
          M[4 * n + 3] =
            KM[4 * k + 3] + KM[4 * k + 7] + KM[4 * (k + kw) + 3] + KM[4 * (k + kw) + 7] +
            c * (KM[4 * k + 6] + KM[4 * (k + kw) + 6]) + // Σ(ξ + c)(η)z of the right children: + c·Σηz
            c * (KM[4 * (k + kw) + 1] + KM[4 * (k + kw) + 5]) + // the lower children: + c·Σξz
            c * c * e0;
        }
      }
    }
  }

  /**
   * Fills `list` with the nodes of level l that exist: all roots, else the children of the split nodes
   * of level l + 1 (split flags, or criticality > 1 when `byCrit`). Returns the count.
   */
  private existing(l: number, byCrit: boolean): number {
    const list = this.list;
    const cw = this.cw[l];
    if (l === this.L) {
      const n = cw * this.ch[l];
      for (let k = 0; k < n; k++) list[k] = k;
      return n;
    }
    const ch = this.ch[l];
    const pw = this.cw[l + 1];
    const ph = this.ch[l + 1];
    const sp = this.split[l + 1];
    const cr = this.crit[l + 1];
    let n = 0;
    for (let py = 0; py < ph; py++) {
      for (let px = 0; px < pw; px++) {
        const pn = py * pw + px;
        if (byCrit ? !(cr[pn] > 1) : sp[pn] !== 1) continue;
        const x = 2 * px;
        const y = 2 * py;
        const k = y * cw + x;
        list[n++] = k;
        if (x + 1 < cw) list[n++] = k + 1;
        if (y + 1 < ch) {
          list[n++] = k + cw;
          if (x + 1 < cw) list[n++] = k + cw + 1;
        }
      }
    }
    return n;
  }

  /** Top-down: evaluates every node reached at tolerance scale 1 (roots, and children of nodes with crit > 1). */
  private computeCriticality(signal: AbortSignal | undefined): void {
    for (let l = this.L; l >= 1; l--) {
      throwIfAborted(signal);
      const crit = this.crit[l];
      const count = this.existing(l, true);
      const list = this.list;
      for (let e = 0; e < count; e++) {
        const n = list[e];
        crit[n] = this.evalNode(l, n);
      }
    }
  }

  /**
   * Evaluates node n of level l (l ≥ 1): sets its ANY / HOMOG flags and returns its criticality: 0 when
   * empty, Infinity when a split is mandatory (content mixed with empty or out-of-grid pixels, a depth
   * range above J, or corner depths' ratio above J), else max(texture swim / textureTolerance, block
   * error / depthTolerance), capped. Levels ≥ 2 take content, range and the block error's moments from the
   * pyramid (O(1) per node); level 1 reads its ≤ 4 pixels.
   */
  private evalNode(l: number, n: number): number {
    const { g, J, probe } = this;
    const cw = this.cw[l];
    const s = 1 << l;
    const x0 = (n % cw) * s;
    const y0 = ((n / cw) | 0) * s;
    let any = false;
    let all = true;
    let lo = Infinity;
    let hi = 0;
    if (l >= 2) {
      const f = this.pFlags[l][n];
      any = (f & ANY) !== 0;
      all = (f & ALL) !== 0;
      lo = this.pLo[l][n];
      hi = this.pHi[l][n];
    } else {
      const { w, h, depth: D, alpha: A } = g;
      all = x0 + 2 <= w && y0 + 2 <= h;
      const x1 = Math.min(x0 + 2, w);
      const y1 = Math.min(y0 + 2, h);
      for (let y = y0; y < y1; y++) {
        for (let x = x0, k = y * w + x0; x < x1; x++, k++) {
          const z = D[k];
          if (A[k] !== 0 && z > 0 && z < Infinity) {
            any = true;
            if (z < lo) lo = z;
            if (z > hi) hi = z;
          } else all = false;
        }
      }
    }
    if (!any) {
      this.cell[l][n] = 0;
      return 0;
    }
    if (!all || hi > J * lo) {
      this.cell[l][n] = ANY;
      return Infinity;
    }
    this.cell[l][n] = ANY | HOMOG;
    const i00 = probe.izAt(x0, y0, 2);
    const i10 = probe.izAt(x0 + s, y0, 3);
    const i11 = probe.izAt(x0 + s, y0 + s, 0);
    const i01 = probe.izAt(x0, y0 + s, 1);
    const mx = Math.max(i00, i10, i11, i01);
    const mn = Math.min(i00, i10, i11, i01);
    if (!(mx <= J * mn)) return Infinity;
    const swim = ((s * g.step) / 4 / this.texTol) * (mx / mn - 1);
    let err = 0;
    if (swim <= CRIT_CAP) {
      if (l === 1) err = this.blockError(x0, y0, s, i00, i10, i11, i01);
      else if (l === 2) err = this.momentError(this.pMom[2], n, 0, 0, s, s, i00, i10, i11, i01);
      else {
        // Quadrants: the node's four children (level l − 1, side s/2).
        const b = s >> 1;
        const kw = this.cw[l - 1];
        const k = 2 * ((n / cw) | 0) * kw + 2 * (n % cw);
        const M = this.pMom[l - 1];
        err = Math.max(
          this.momentError(M, k, 0, 0, s, b, i00, i10, i11, i01),
          this.momentError(M, k + 1, b, 0, s, b, i00, i10, i11, i01),
          this.momentError(M, k + kw, 0, b, s, b, i00, i10, i11, i01),
          this.momentError(M, k + kw + 1, b, b, s, b, i00, i10, i11, i01),
        );
      }
    }
    const c = Math.min(CRIT_CAP, Math.max(swim, err / this.depthTol));
    if (c > this.maxCrit) this.maxCrit = c;
    return c;
  }

  /**
   * |mean − 1| over a b×b block of a node of side s of r = iz_bilinear(pixel centre) · z, where iz_bilinear
   * interpolates the node's corner inverse depths i00, i10, i11, i01 (TL, TR, BR, BL) and z is the pixel's
   * metric depth, so that r − 1 is the relative residual of blockError. The block is pyramid node k (its
   * moments in M) at offset (ox, oy) from the node's top-left corner. With u = (ξ + ox + ½)/s and
   * t = (η + oy + ½)/s at pixel (ξ, η) of the block, iz_bilinear = i00 + (i10 − i00)·u + (i01 − i00)·t +
   * (i00 − i10 − i01 + i11)·u·t, so Σ iz_bilinear·z is a combination of Σz, Σξz, Σηz and Σξηz.
   */
  private momentError(M: Float64Array, k: number, ox: number, oy: number, s: number, b: number, i00: number, i10: number, i11: number, i01: number): number {
    const m0 = M[4 * k];
    const mx = M[4 * k + 1] / s;
    const my = M[4 * k + 2] / s;
    const mxy = M[4 * k + 3] / (s * s);
    const u0 = (ox + 0.5) / s;
    const t0 = (oy + 0.5) / s;
    const su = mx + u0 * m0; // Σ u·z
    const st = my + t0 * m0; // Σ t·z
    const sut = mxy + u0 * my + t0 * mx + u0 * t0 * m0; // Σ u·t·z
    const e = (i00 * m0 + (i10 - i00) * su + (i01 - i00) * st + (i00 - i10 - i01 + i11) * sut) / (b * b) - 1;
    return e < 0 ? -e : e;
  }

  /**
   * Depth error of the s×s node at (x0, y0) (inside the grid, all content) against the bilinear
   * interpolation of its corner inverse depths i00, i10, i11, i01 (TL, TR, BR, BL): the largest |mean|,
   * over the node's aligned b×b pixel blocks (b = blockSide(s)), of the relative residual
   * r = iz_bilinear(pixel centre) / iz − 1 (see the module comment), summed pixel by pixel. evalNode uses
   * it for the 2-px nodes; larger ones take the same quantity from the pyramid's moments (momentError).
   */
  private blockError(x0: number, y0: number, s: number, i00: number, i10: number, i11: number, i01: number): number {
    const { w, depth: D } = this.g;
    const b = blockSide(s);
    const inv = 1 / s;
    const norm = 1 / (b * b);
    let err = 0;
    for (let by = y0; by < y0 + s; by += b) {
      for (let bx = x0; bx < x0 + s; bx += b) {
        let sum = 0;
        for (let y = by; y < by + b; y++) {
          const t = (y - y0 + 0.5) * inv;
          const left = i00 + (i01 - i00) * t;
          const dv = (i10 + (i11 - i10) * t - left) * inv;
          let val = left + (bx - x0 + 0.5) * dv;
          let k = y * w + bx;
          for (let x = 0; x < b; x++, k++, val += dv) sum += val * D[k];
        }
        const e = sum * norm - 1;
        err = Math.max(err, e, -e);
      }
    }
    return err;
  }

  /** Splits at tolerance scale F, balanced and jump-safe; fills `w`. Returns false when over `maxV`. */
  attempt(F: number, w: MeshWriter, maxV: number): boolean {
    this.prepare(F);
    w.reset();
    return this.emit(w, maxV);
  }

  /**
   * Whether the mesh at tolerance scale F fits `maxV` vertices: the same splits as {@link attempt}, then
   * the vertices are counted (one bit per corner and cluster) instead of being created.
   */
  fits(F: number, maxV: number, marks: Uint8Array): boolean {
    this.prepare(F);
    this.probe.startCount(marks);
    return this.count(maxV);
  }

  private prepare(F: number): void {
    for (let l = 1; l <= this.L; l++) this.jumpOK[l].fill(0);
    this.splitAt(F);
    for (;;) {
      this.balance();
      if (!this.enforceJumps()) break;
    }
  }

  /** Counts the vertices {@link emit} would create; false as soon as they exceed maxV. */
  private count(maxV: number): boolean {
    const { g, L, probe } = this;
    for (let l = L; l >= 1; l--) {
      const cw = this.cw[l];
      const split = this.split[l];
      const cell = this.cell[l];
      const s = 1 << l;
      const h = s >> 1;
      const n0 = this.existing(l, false);
      const list = this.list;
      for (let e = 0; e < n0; e++) {
        const n = list[e];
        if (split[n] === 1 || (cell[n] & ANY) === 0) continue;
        const x0 = (n % cw) * s;
        const y0 = ((n / cw) | 0) * s;
        probe.markSlot(x0, y0, 2);
        probe.markSlot(x0 + s, y0, 3);
        probe.markSlot(x0 + s, y0 + s, 0);
        probe.markSlot(x0, y0 + s, 1);
        const sides = this.finerSides(l, n);
        if (sides !== 0) {
          probe.markSlot(x0 + h, y0 + h, 0);
          if (sides & 8) probe.markSlot(x0, y0 + h, 1);
          if (sides & 4) probe.markSlot(x0 + h, y0 + s, 0);
          if (sides & 2) probe.markSlot(x0 + s, y0 + h, 0);
          if (sides & 1) probe.markSlot(x0 + h, y0, 2);
        }
        if (probe.marked > maxV) return false;
      }
    }
    if (L === 0) {
      for (let y = 0; y < g.h; y++) {
        for (let x = 0; x < g.w; x++) probe.countPixel(x, y);
        if (probe.marked > maxV) return false;
      }
      return true;
    }
    const cw = this.cw[1];
    const ch = this.ch[1];
    const split = this.split[1];
    for (let cy = 0; cy < ch; cy++) {
      for (let cx = 0; cx < cw; cx++) {
        if (split[cy * cw + cx] !== 1) continue;
        const x = 2 * cx;
        const y = 2 * cy;
        probe.countPixel(x, y);
        if (x + 1 < g.w) probe.countPixel(x + 1, y);
        if (y + 1 < g.h) {
          probe.countPixel(x, y + 1);
          if (x + 1 < g.w) probe.countPixel(x + 1, y + 1);
        }
      }
      if (probe.marked > maxV) return false;
    }
    return true;
  }

  /** Split flags at scale F: existing nodes with criticality > F (their children are all evaluated). */
  private splitAt(F: number): void {
    for (let l = this.L; l >= 1; l--) {
      const crit = this.crit[l];
      const split = this.split[l];
      split.fill(0);
      const count = this.existing(l, false);
      const list = this.list;
      for (let e = 0; e < count; e++) {
        const n = list[e];
        if (crit[n] > F) split[n] = 1;
      }
    }
  }

  /**
   * Marks node (cx, cy) of level l as split, splitting missing ancestors first; children that were never
   * evaluated inherit the node's flags (it is homogeneous or empty, see the class comment).
   */
  private splitNode(l: number, cx: number, cy: number): void {
    const cw = this.cw[l];
    const n = cy * cw + cx;
    if (this.split[l][n] === 1) return;
    if (l < this.L) this.splitNode(l + 1, cx >> 1, cy >> 1);
    this.split[l][n] = 1;
    if (l === 1) return;
    const f = this.cell[l][n] & (ANY | HOMOG);
    const kc = this.crit[l - 1];
    const kf = this.cell[l - 1];
    const kw = this.cw[l - 1];
    const kh = this.ch[l - 1];
    for (let dy = 0; dy < 2; dy++) {
      for (let dx = 0; dx < 2; dx++) {
        const x = 2 * cx + dx;
        const y = 2 * cy + dy;
        if (x < kw && y < kh && Number.isNaN(kc[y * kw + x])) kf[y * kw + x] = f;
      }
    }
  }

  /** Whether node (cx, cy) of level l has content, looking up to the nearest flagged ancestor. */
  private hasAny(l: number, cx: number, cy: number): boolean {
    for (; l <= this.L; l++, cx >>= 1, cy >>= 1) {
      const n = cy * this.cw[l] + cx;
      const f = this.cell[l][n];
      if (f !== 0 || !Number.isNaN(this.crit[l][n])) return (f & ANY) !== 0;
    }
    return false;
  }

  /**
   * 2:1 balance, fine to coarse: a split node at level k forces the parents of its non-empty edge
   * neighbours (level k) to be split, so leaves next to its children are at most one level coarser.
   */
  private balance(): void {
    for (let k = 1; k < this.L; k++) {
      const cw = this.cw[k];
      const ch = this.ch[k];
      const split = this.split[k];
      const count = this.existing(k, false);
      const list = this.list;
      for (let e = 0; e < count; e++) {
        const n = list[e];
        if (split[n] !== 1) continue;
        const cx = n % cw;
        const cy = (n / cw) | 0;
        if (cx > 0 && this.hasAny(k, cx - 1, cy)) this.splitNode(k + 1, (cx - 1) >> 1, cy >> 1);
        if (cx + 1 < cw && this.hasAny(k, cx + 1, cy)) this.splitNode(k + 1, (cx + 1) >> 1, cy >> 1);
        if (cy > 0 && this.hasAny(k, cx, cy - 1)) this.splitNode(k + 1, cx >> 1, (cy - 1) >> 1);
        if (cy + 1 < ch && this.hasAny(k, cx, cy + 1)) this.splitNode(k + 1, cx >> 1, (cy + 1) >> 1);
      }
    }
  }

  /** Bits 1 top, 2 right, 4 bottom, 8 left: the edge neighbour at the same level is split (finer). */
  private finerSides(l: number, n: number): number {
    const cw = this.cw[l];
    const split = this.split[l];
    const cx = n % cw;
    const cy = (n / cw) | 0;
    let m = 0;
    if (cy > 0 && split[n - cw] === 1) m |= 1;
    if (cx + 1 < cw && split[n + 1] === 1) m |= 2;
    if (cy + 1 < this.ch[l] && split[n + cw] === 1) m |= 4;
    if (cx > 0 && split[n - 1] === 1) m |= 8;
    return m;
  }

  /** Splits every coarse leaf whose vertices' depth ratio exceeds J; returns whether any was split. */
  private enforceJumps(): boolean {
    const { J, probe } = this;
    let changed = false;
    for (let l = 1; l <= this.L; l++) {
      const cw = this.cw[l];
      const split = this.split[l];
      const cell = this.cell[l];
      const crit = this.crit[l];
      const ok = this.jumpOK[l];
      const s = 1 << l;
      const h = s >> 1;
      const count = this.existing(l, false);
      const list = this.list;
      for (let e = 0; e < count; e++) {
        const n = list[e];
        if (split[n] === 1 || (cell[n] & ANY) === 0) continue;
        const sides = this.finerSides(l, n);
        // A cell evaluated with a finite criticality passed the corner-ratio test; only a fan adds depths.
        // (Cells exposed by a forced split of their parent may carry Infinity, or were never evaluated.)
        if (sides === 0 && crit[n] >= 0 && crit[n] < Infinity) continue;
        if (ok[n] === (16 | sides)) continue; // passed with this very fan in an earlier pass
        const x0 = (n % cw) * s;
        const y0 = ((n / cw) | 0) * s;
        const a = probe.izAt(x0, y0, 2);
        const b = probe.izAt(x0 + s, y0, 3);
        const c = probe.izAt(x0 + s, y0 + s, 0);
        const d = probe.izAt(x0, y0 + s, 1);
        let mx = Math.max(a, b, c, d);
        let mn = Math.min(a, b, c, d);
        if (sides !== 0) {
          // Centre and mid-edge vertices of the fan (absent ones repeat the centre).
          const ce = probe.izAt(x0 + h, y0 + h, 0);
          const t = sides & 1 ? probe.izAt(x0 + h, y0, 2) : ce;
          const r = sides & 2 ? probe.izAt(x0 + s, y0 + h, 0) : ce;
          const bo = sides & 4 ? probe.izAt(x0 + h, y0 + s, 0) : ce;
          const le = sides & 8 ? probe.izAt(x0, y0 + h, 1) : ce;
          mx = Math.max(mx, ce, t, r, bo, le);
          mn = Math.min(mn, ce, t, r, bo, le);
        }
        // (A leaf with content must be homogeneous; the test is a safety net for that invariant.)
        if ((cell[n] & HOMOG) === 0 || mx > J * mn) {
          this.splitNode(l, n % cw, (n / cw) | 0);
          changed = true;
        } else ok[n] = 16 | sides;
      }
    }
    return changed;
  }

  private emit(w: MeshWriter, maxV: number): boolean {
    const { g, L } = this;
    // Coarse leaves.
    for (let l = L; l >= 1; l--) {
      const cw = this.cw[l];
      const split = this.split[l];
      const cell = this.cell[l];
      const s = 1 << l;
      const h = s >> 1;
      const count = this.existing(l, false);
      const list = this.list;
      for (let e = 0; e < count; e++) {
        const n = list[e];
        if (split[n] === 1 || (cell[n] & ANY) === 0) continue;
        invariant(cell[n] & HOMOG, 'a coarse leaf with content is homogeneous');
        const x0 = (n % cw) * s;
        const y0 = ((n / cw) | 0) * s;
        const tl = w.vertexAt(x0, y0, 2);
        const tr = w.vertexAt(x0 + s, y0, 3);
        const br = w.vertexAt(x0 + s, y0 + s, 0);
        const bl = w.vertexAt(x0, y0 + s, 1);
        const sides = this.finerSides(l, n);
        if (sides === 0) {
          const z = w.vIz;
          if (Math.abs(z[tl] - z[br]) <= Math.abs(z[tr] - z[bl])) {
            w.tri(tl, bl, br);
            w.tri(tl, br, tr);
          } else {
            w.tri(tl, bl, tr);
            w.tri(bl, br, tr);
          }
        } else {
          // Fan around the centre over the boundary loop TL, [ML], BL, [MB], BR, [MR], TR, [MT].
          const c = w.vertexAt(x0 + h, y0 + h, 0);
          let prev = tl;
          if (sides & 8) {
            const m = w.vertexAt(x0, y0 + h, 1);
            w.tri(c, prev, m);
            prev = m;
          }
          w.tri(c, prev, bl);
          prev = bl;
          if (sides & 4) {
            const m = w.vertexAt(x0 + h, y0 + s, 0);
            w.tri(c, prev, m);
            prev = m;
          }
          w.tri(c, prev, br);
          prev = br;
          if (sides & 2) {
            const m = w.vertexAt(x0 + s, y0 + h, 0);
            w.tri(c, prev, m);
            prev = m;
          }
          w.tri(c, prev, tr);
          prev = tr;
          if (sides & 1) {
            const m = w.vertexAt(x0 + h, y0, 2);
            w.tri(c, prev, m);
            prev = m;
          }
          w.tri(c, prev, tl);
        }
        if (w.nV > maxV) return false;
      }
    }
    // 1-px leaves: the pixels of split level-1 nodes (all pixels when the roots are pixels).
    if (L === 0) {
      for (let y = 0; y < g.h; y++) {
        for (let x = 0; x < g.w; x++) {
          this.emitPixel(w, x, y);
          if (w.nV > maxV) return false;
        }
      }
      return true;
    }
    const cw = this.cw[1];
    const ch = this.ch[1];
    const split = this.split[1];
    for (let cy = 0; cy < ch; cy++) {
      for (let cx = 0; cx < cw; cx++) {
        if (split[cy * cw + cx] !== 1) continue;
        const x = 2 * cx;
        const y = 2 * cy;
        this.emitPixel(w, x, y);
        if (x + 1 < g.w) this.emitPixel(w, x + 1, y);
        if (y + 1 < g.h) {
          this.emitPixel(w, x, y + 1);
          if (x + 1 < g.w) this.emitPixel(w, x + 1, y + 1);
        }
        if (w.nV > maxV) return false;
      }
    }
    return true;
  }

  /** A 1-px quad: two triangles, each dropped when its corner depths' ratio exceeds J (CornerProbe.pixelPlan). */
  private emitPixel(w: MeshWriter, x: number, y: number): void {
    const p = this.probe;
    const plan = p.pixelPlan(x, y);
    if (plan === 0) return;
    const useP = (plan & PLAN_TLBR) !== 0;
    const k1 = (plan & PLAN_K1) !== 0;
    const k2 = (plan & PLAN_K2) !== 0;
    // Create only the corners of kept triangles (no unreferenced vertices).
    const tl = useP || k1 ? w.vertex(x, y, REP[p.ma * 4 + 2], p.za) : -1;
    const tr = !useP || k2 ? w.vertex(x + 1, y, REP[p.mb * 4 + 3], p.zb) : -1;
    const br = useP || k2 ? w.vertex(x + 1, y + 1, REP[p.mc * 4], p.zc) : -1;
    const bl = !useP || k1 ? w.vertex(x, y + 1, REP[p.md * 4 + 1], p.zd) : -1;
    if (useP) {
      if (k1) w.tri(tl, bl, br);
      if (k2) w.tri(tl, br, tr);
    } else {
      if (k1) w.tri(tl, bl, tr);
      if (k2) w.tri(bl, br, tr);
    }
  }
}

function checkOption(name: string, v: number | undefined, dflt: number, ok: (v: number) => boolean, want: string): number {
  if (v === undefined) return dflt;
  if (typeof v !== 'number' || !ok(v)) {
    throw new DioramaError('INVALID_OPTION', `mesh option ${name}: expected ${want}, found ${String(v)}`);
  }
  return v;
}

/**
 * Like {@link buildLayerMesh}, also reporting the grid step and tolerance scale the budget required.
 * @param crop the layer's crop: bbox in full-image pixels, depth (metres, 0 = empty) and alpha (0 = empty)
 * @param intrinsics pinhole intrinsics in full-image pixels
 * @param options see {@link MeshOptions}
 * @returns the mesh, `gridStep` (1 unless the budget forced a coarser grid) and `toleranceScale`
 */
export function buildLayerMeshDetailed(crop: MeshCrop, intrinsics: Intrinsics, options: MeshOptions = {}): LayerMeshResult {
  const { signal } = options;
  throwIfAborted(signal);
  const maxV = checkOption('maxVertices', options.maxVertices, MESH_DEFAULTS.maxVertices, (v) => Number.isInteger(v) && v >= 4, 'an integer ≥ 4');
  const J = checkOption('jumpRatio', options.jumpRatio, MESH_DEFAULTS.jumpRatio, (v) => v > 1, 'a number > 1 (Infinity: never tear)');
  const depthTol = checkOption('depthTolerance', options.depthTolerance, MESH_DEFAULTS.depthTolerance, (v) => v > 0 && v < Infinity, 'a finite number > 0');
  const noiseFactor = checkOption('noiseFactor', options.noiseFactor, MESH_DEFAULTS.noiseFactor, (v) => v >= 0 && v < Infinity, 'a finite number ≥ 0');
  const texTol = checkOption('textureTolerance', options.textureTolerance, MESH_DEFAULTS.textureTolerance, (v) => v > 0 && v < Infinity, 'a finite number > 0');
  const maxCell = checkOption('maxCellSize', options.maxCellSize, MESH_DEFAULTS.maxCellSize, (v) => Number.isInteger(v) && v >= 1 && v <= 1 << 16 && (v & (v - 1)) === 0, 'a power of two in [1, 65536]');

  const { width, height, bbox, depth, alpha } = crop;
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 0 || height < 0) {
    throw new DioramaError('SIZE_MISMATCH', `mesh crop: expected non-negative integer width/height, found ${width}×${height}`);
  }
  if (bbox.width !== width || bbox.height !== height) {
    throw new DioramaError('SIZE_MISMATCH', `mesh crop: bbox is ${bbox.width}×${bbox.height} but the crop is ${width}×${height}`);
  }
  if (!Number.isFinite(bbox.x) || !Number.isFinite(bbox.y)) {
    throw new DioramaError('SIZE_MISMATCH', `mesh crop: expected a finite bbox origin, found (${bbox.x}, ${bbox.y})`);
  }
  if (depth.length !== width * height || alpha.length !== width * height) {
    throw new DioramaError(
      'SIZE_MISMATCH',
      `mesh crop ${width}×${height}: expected depth and alpha of ${width * height} values, found ${depth.length} and ${alpha.length}`,
    );
  }
  const { fx, fy, cx, cy } = intrinsics;
  if (![fx, fy, cx, cy].every(Number.isFinite) || !(fx > 0) || !(fy > 0)) {
    throw new DioramaError('INVALID_INTRINSICS', `mesh: expected finite intrinsics with fx, fy > 0, found fx=${fx} fy=${fy} cx=${cx} cy=${cy}`);
  }

  const empty = (): LayerMeshResult => ({
    mesh: { positions: new Float32Array(0), uvs: new Float32Array(0), indices: new Uint32Array(0), pixels: new Float32Array(0) },
    gridStep: 1,
    toleranceScale: 1,
    blockNoise: 0,
    depthTolerance: depthTol,
  });
  if (width === 0 || height === 0) return empty();
  if (4 * (width + 1) * (height + 1) > 0x7fffffff) {
    throw new DioramaError('IMAGE_TOO_LARGE', `mesh crop: expected at most 2^29 pixel corners, found ${width}×${height} pixels`);
  }

  const scratch = SCRATCH.busy ? new Scratch() : SCRATCH;
  scratch.busy = true;
  try {
    return meshGrids(crop, intrinsics, J, depthTol, noiseFactor, texTol, maxCell, maxV, scratch, signal);
  } finally {
    scratch.busy = false;
  }
}

/**
 * A lower bound on the vertex count of
 * ANY mesh of the grid: a level-1 node (2×2 block) with content that mixes content and empty cells,
 * leaves the grid, or spans a depth range above J is split mandatorily, and so are all its ancestors (they
 * contain it), so its cells are 1-px leaves of every attempt; the vertices their quads create (counted
 * exactly as emitPixel creates them) are in every mesh. Returns true when that bound exceeds maxV, i.e.
 * the grid cannot fit whatever the tolerance scale.
 */
function prepareGrid(g: Grid, probe: CornerProbe, J: number, levels: number, maxV: number, scratch: Scratch): boolean {
  const { w, h, depth: D, alpha: A } = g;
  const bw = Math.ceil(w / 2);
  const bh = Math.ceil(h / 2);
  const blocks = scratch.blockList(levels >= 1 ? bw * bh : 0);
  let nb = 0;
  if (levels === 0) return false;
  for (let by = 0; by < bh; by++) {
    const y = 2 * by;
    const two = y + 1 < h;
    let k = y * w;
    for (let bx = 0; bx < bw; bx++, k += 2) {
      // Cells of the block (missing ones outside the grid count as empty: the block leaves the grid).
      const right = 2 * bx + 1 < w;
      const nc = +isContent(A, D, k) + +(right && isContent(A, D, k + 1)) + +(two && isContent(A, D, k + w)) + +(right && two && isContent(A, D, k + w + 1));
      if (nc === 0) continue;
      if (nc < 4) {
        blocks[nb++] = by * bw + bx;
        continue;
      }
      // Range on metric depth, exactly as Quadtree.evalNode tests it.
      const z0 = D[k];
      const z1 = D[k + 1];
      const z2 = D[k + w];
      const z3 = D[k + w + 1];
      const lo = Math.min(z0, z1, z2, z3);
      const hi = Math.max(z0, z1, z2, z3);
      if (hi > J * lo) blocks[nb++] = by * bw + bx;
    }
  }
  // Without levels every pixel is a 1-px leaf anyway; each block's quads create at most 16 vertices.
  if (16 * nb <= maxV) return false;
  probe.startCount(scratch.markCache((w + 1) * (h + 1)));
  for (let e = 0; e < nb; e++) {
    const b = blocks[e];
    const x = 2 * (b % bw);
    const y = 2 * ((b / bw) | 0);
    probe.countPixel(x, y);
    if (x + 1 < w) probe.countPixel(x + 1, y);
    if (y + 1 < h) {
      probe.countPixel(x, y + 1);
      if (x + 1 < w) probe.countPixel(x + 1, y + 1);
    }
    if (probe.marked > maxV) return true;
  }
  return false;
}

function isContent(A: Uint8Array | Uint8ClampedArray, D: Float32Array, k: number): boolean {
  const z = D[k];
  return A[k] !== 0 && z > 0 && z < Infinity;
}

/** Number of quadtree levels above the pixels (roots are 2^levels cells), as Quadtree computes it. */
function treeLevels(g: Grid, maxCell: number): number {
  let L = 0;
  while (1 << L < maxCell && 1 << L < Math.max(g.w, g.h)) L++;
  return L;
}

function meshGrids(
  crop: MeshCrop,
  intrinsics: Intrinsics,
  J: number,
  depthTol: number,
  noiseFactor: number,
  texTol: number,
  maxCell: number,
  maxV: number,
  scratch: Scratch,
  signal: AbortSignal | undefined,
): LayerMeshResult {
  // An empty crop needs no special case: no node has content, nothing is emitted.
  let grid: Grid = { w: crop.width, h: crop.height, step: 1, depth: crop.depth, alpha: crop.alpha };
  for (;; grid = coarsen(grid)) {
    throwIfAborted(signal);
    const nCorners = (grid.w + 1) * (grid.h + 1);
    const probe = new CornerProbe(grid, J, scratch.cornerCache(nCorners));
    const tree = new Quadtree(grid, J, depthTol, noiseFactor, texTol, probe, maxCell, scratch, signal);
    const writer = new MeshWriter(grid, crop, intrinsics, probe, scratch);
    const done = (scale: number): LayerMeshResult => {
      writer.release();
      return { mesh: writer.result(), gridStep: grid.step, toleranceScale: scale === CRIT_CAP ? Infinity : scale, blockNoise: tree.blockNoise, depthTolerance: tree.depthTol };
    };
    // Scale 1 first (most layers fit): emitted directly.
    if (tree.attempt(1, writer, maxV)) return done(1);
    writer.release();
    throwIfAborted(signal);
    // The cheap lower bound only now (it costs a full read of the grid, wasted on the layers that fit at
    // scale 1; when it exceeds the budget no scale can fit, so it never rejects a grid that scale 1 fits).
    if (prepareGrid(grid, probe, J, treeLevels(grid, maxCell), maxV, scratch)) {
      // Even the mandatory splits exceed the budget.
      invariant(grid.w > 1 || grid.h > 1, 'a 1-cell grid fits any budget ≥ 4 vertices');
      continue;
    }
    // Then only counts: mandatory splits alone (scale CRIT_CAP: optional criticalities are capped there,
    // mandatory ones are Infinity) …
    const marks = (): Uint8Array => scratch.markCache(nCorners);
    if (tree.fits(CRIT_CAP, maxV, marks())) {
      // … and the smallest scale 2, 4, … that fits: the candidates are the powers of two below the largest
      // criticality, then CRIT_CAP (beyond maxCrit nothing changes). The vertex count decreases with the
      // scale (the split sets are nested), so a binary search over them finds it.
      const cand: number[] = [];
      for (let F = 2; F < tree.maxCrit && F < CRIT_CAP; F *= 2) cand.push(F);
      cand.push(CRIT_CAP);
      let lo = 0;
      let hi = cand.length - 1; // fits
      while (lo < hi) {
        const mid = (lo + hi) >> 1;
        if (tree.fits(cand[mid], maxV, marks())) hi = mid;
        else lo = mid + 1;
        throwIfAborted(signal);
      }
      const ok = tree.attempt(cand[hi], writer, maxV);
      invariant(ok, 'the counted mesh fits the budget');
      return done(cand[hi]);
    }
    invariant(grid.w > 1 || grid.h > 1, 'a 1-cell grid fits any budget ≥ 4 vertices');
  }
}

/**
 * Builds the camera-space triangle mesh of one layer (see the module comment for the design).
 *
 * Vertices lie on pixel corners of the crop: corner (i, j) is unprojected from the full-image point
 * (u, v) = (bbox.x + i, bbox.y + j) with the depth Z of its side of any jump, P = Z·K⁻¹[u, v, 1] in the
 * x-right / y-up / z-forward frame, i.e. ((u − cx)·Z/fx, −(v − cy)·Z/fy, Z); UV = (i/W, j/H); `pixels`
 * records (u, v). Triangles are counter-clockwise seen from the camera (x right, y up), 32-bit indexed;
 * none covers only empty pixels, none spans a depth ratio above `jumpRatio`, shared edges share vertices.
 *
 * @param crop the layer's crop (bbox in full-image pixels, depth in metres with 0 = empty, alpha 0..255)
 * @param intrinsics pinhole intrinsics in full-image pixels
 * @param options budget, jump threshold, tolerances, abort signal (see {@link MeshOptions})
 * @returns the mesh; zero-length arrays when the crop has no content
 * @throws DioramaError SIZE_MISMATCH (array sizes vs width·height, bbox vs crop size), INVALID_INTRINSICS,
 *   INVALID_OPTION, ABORTED
 */
export function buildLayerMesh(crop: MeshCrop, intrinsics: Intrinsics, options?: MeshOptions): LayerMesh {
  return buildLayerMeshDetailed(crop, intrinsics, options).mesh;
}

type PyramidKernel = (D: number, A: number, F: number, LO: number, HI: number, M: number, w: number, cw: number, fw: number, fh: number) => void;

/**
 * Quadtree.buildPyramid's level 2 for full 4×4 blocks as WebAssembly SIMD, one block row (4 pixels) per
 * step: content c = alpha ≠ 0 ∧ 0 < z < ∞ as a lane mask; ALL / ANY from the masks of the 4 rows; the range
 * from lane-wise min of z (+∞ without content) and max of z (0 without content); the moments Σz, Σξz, Σηz,
 * Σξηz over content lanes (ξ the lane, η the row), summed per lane in float32 and over the lanes in float64.
 * Arguments: byte offsets of depth (f32), alpha (u8), flags (u8), lo, hi (f32), moments (4 × f64 per node),
 * the grid width w, the level-2 width cw (node index by·cw + bx) and the numbers of full blocks fw × fh.
 * A block with no alpha at all (one 32-bit test per row) only stores its empty flags and range.
 */
const PYRAMID = new KernelCache<PyramidKernel>('pyramid', () => {
  const [D, A, F, LO, HI, M, W, CW, FW, FH] = Array.from({ length: 10 }, (_, i) => i);
  const [BX, BY, PD, PA, N] = [10, 11, 12, 13, 14]; // i32 locals
  const [LO4, HI4, ANY, ALLM, M0, MX, MY, MXY, DZ, C, DV] = Array.from({ length: 11 }, (_, i) => 15 + i); // v128 locals
  const get = localGet;
  const set = localSet;
  const i32 = i32Const;
  const zero = simd(0x0c, ...new Array<number>(16).fill(0));
  const ones = simd(0x0c, ...new Array<number>(16).fill(0xff));
  const I32_LOAD = [0x28, 0x00, 0x00]; // i32.load, byte alignment, offset 0
  const f32 = (v: number): number[] => [0x43, ...new Uint8Array(new Float32Array([v]).buffer)]; // f32.const
  const [V_AND, V_OR, V_NOT, V_BITSELECT, V_ANY] = [simd(0x4e), simd(0x50), simd(0x4d), simd(0x52), simd(0x53)];
  const [F_LT, F_GT, F_MIN, F_MAX, F_ADD, F_MUL] = [simd(0x43), simd(0x44), simd(0xe8), simd(0xe9), simd(0xe4), simd(0xe6)];
  const lane = (l: number): number[] => simd(0x1f, l); // f32x4.extract_lane
  const row = (eta: number): number[] => [
    // z of the row; c = alpha ≠ 0 ∧ z > 0 ∧ z < ∞
    ...get(PD), ...(eta > 0 ? [...get(W), ...i32(4 * eta), MUL, ADD] : []), ...V128_LOAD, ...set(DV),
    ...get(PA), ...(eta > 0 ? [...get(W), ...i32(eta), MUL, ADD] : []), ...simd(0x5c, 0x00, 0x00), // load32_zero
    ...simd(0x89, 0x01), ...simd(0xa9, 0x01), ...zero, ...simd(0x37), ...V_NOT, // i32x4 ≠ 0
    ...get(DV), ...zero, ...F_GT, ...V_AND, ...get(DV), ...f32x4(Infinity), ...F_LT, ...V_AND, ...set(C),
    ...get(ALLM), ...get(C), ...V_AND, ...set(ALLM),
    ...get(ANY), ...get(C), ...V_OR, ...set(ANY),
    ...get(DV), ...get(C), ...V_AND, ...set(DZ),
    ...get(LO4), ...get(DV), ...f32x4(Infinity), ...get(C), ...V_BITSELECT, ...F_MIN, ...set(LO4),
    ...get(HI4), ...get(DZ), ...F_MAX, ...set(HI4),
    ...get(M0), ...get(DZ), ...F_ADD, ...set(M0),
    ...get(MX), ...get(DZ), ...f32x4(0, 1, 2, 3), ...F_MUL, ...F_ADD, ...set(MX),
    ...(eta > 0
      ? [
        ...get(MY), ...get(DZ), ...f32x4(eta), ...F_MUL, ...F_ADD, ...set(MY),
        ...get(MXY), ...get(DZ), ...f32x4(0, eta, 2 * eta, 3 * eta), ...F_MUL, ...F_ADD, ...set(MXY),
      ]
      : []),
  ];
  /** Σ of the 4 lanes of v128 local `v` in float64, stored at M + 32·n + `off`. */
  const sum = (v: number, off: number): number[] => [
    ...get(M), ...get(N), ...i32(32), MUL, ADD,
    ...get(v), ...lane(0), 0xbb, ...get(v), ...lane(1), 0xbb, 0xa0, ...get(v), ...lane(2), 0xbb, 0xa0, ...get(v), ...lane(3), 0xbb, 0xa0,
    0x39, 0x03, ...uleb(off), // f64.store
  ];
  const block: number[] = [
    ...get(BY), ...get(CW), MUL, ...get(BX), ADD, ...set(N),
    // top-left pixel (4·bx, 4·by): PA = A + 4·by·w + 4·bx, PD = D + 4·PA-offset
    ...get(BY), ...i32(4), MUL, ...get(W), MUL, ...get(BX), ...i32(4), MUL, ADD, ...set(PA),
    ...get(D), ...get(PA), ...i32(4), MUL, ADD, ...set(PD),
    ...get(A), ...get(PA), ADD, ...set(PA),
    // A block whose 16 alpha bytes are all 0 is empty: flags 0, lo = +∞, hi = 0 (its moments are never read).
    ...get(PA), ...I32_LOAD,
    ...get(PA), ...get(W), ADD, ...I32_LOAD, OR,
    ...get(PA), ...get(W), ...i32(2), MUL, ADD, ...I32_LOAD, OR,
    ...get(PA), ...get(W), ...i32(3), MUL, ADD, ...I32_LOAD, OR,
    EQZ, ...IF,
    ...get(F), ...get(N), ADD, ...i32(0), 0x3a, 0x00, 0x00, // i32.store8
    ...get(LO), ...get(N), ...i32(4), MUL, ADD, ...f32(Infinity), 0x38, 0x02, 0x00, // f32.store
    ...get(HI), ...get(N), ...i32(4), MUL, ADD, ...f32(0), 0x38, 0x02, 0x00,
    ...ELSE,
    ...f32x4(Infinity), ...set(LO4),
    ...zero, ...set(HI4), ...zero, ...set(ANY), ...ones, ...set(ALLM),
    ...zero, ...set(M0), ...zero, ...set(MX), ...zero, ...set(MY), ...zero, ...set(MXY),
    ...row(0), ...row(1), ...row(2), ...row(3),
    // flags: ANY (1) | ALL (4) when any
    ...get(F), ...get(N), ADD,
    ...get(ANY), ...V_ANY, ...get(ANY), ...V_ANY, ...get(ALLM), ...simd(0xa3, 0x01), AND, ...i32(2), SHL, OR,
    0x3a, 0x00, 0x00, // i32.store8
    // lo, hi
    ...get(LO), ...get(N), ...i32(4), MUL, ADD,
    ...get(LO4), ...lane(0), ...get(LO4), ...lane(1), 0x96, ...get(LO4), ...lane(2), 0x96, ...get(LO4), ...lane(3), 0x96,
    0x38, 0x02, 0x00,
    ...get(HI), ...get(N), ...i32(4), MUL, ADD,
    ...get(HI4), ...lane(0), ...get(HI4), ...lane(1), 0x97, ...get(HI4), ...lane(2), 0x97, ...get(HI4), ...lane(3), 0x97,
    0x38, 0x02, 0x00,
    ...sum(M0, 0), ...sum(MX, 8), ...sum(MY, 16), ...sum(MXY, 24),
    ...END, // if
  ];
  const body: number[] = [
    ...i32(0), ...set(BY),
    ...whileLoop(lessThan(BY, FH), [
      ...i32(0), ...set(BX),
      ...whileLoop(lessThan(BX, FW), [...block, ...increment(BX, 1)]),
      ...increment(BY, 1),
    ]),
    ...END,
  ];
  return wasmModule('pyramid', new Array<number>(10).fill(I32), [...new Array<number>(5).fill(I32), ...new Array<number>(11).fill(V128)], body);
});
