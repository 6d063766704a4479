/**
 * Stage 3 (inpaint) and meshing: turns the per-pixel layer assignment into cropped RGBA + depth layers
 * with meshes.
 *
 * For layer L (0 = farthest):
 * - own pixels O: assigned to L;
 * - filled pixels F: pixels of NEARER layers that a viewer moving within the orbit range could see behind
 *   their silhouettes: those within `margin` px of O (the back layer fills everything, so that no view
 *   ever shows the clear colour). F is opaque in L.
 * - feather: pixels of FARTHER layers within 2 px of O ∪ F, alpha 2/3 and 1/3. Their colour is the photo's
 *   own colour there (the anti-aliased silhouette pixels), so that from the original viewpoint
 *   α·C + (1 − α)·C reproduces the photo exactly while novel views get a soft edge; their depth is
 *   continued from L, so the feather travels with the layer.
 * RGB of F comes from Telea's fast marching fill seeded only by O (never by the occluder's own colours,
 *   which is what keeps silhouettes clean); depth of F and of the feather is the harmonic fill with O's
 *   depth as the Dirichlet boundary, solved in inverse depth so that hidden planar surfaces continue as
 *   planes.
 */
import { throwIfAborted } from './errors';
import type { Intrinsics, Layer, RGBAImage, Rect } from './types';
import { bandDistance } from '../math/labels';
import { harmonicFill } from '../math/harmonic';
import { pushPullRgbaDepth } from '../math/pushpull';
import { inpaintTelea } from '../math/telea';
import { buildLayerMesh, type MeshOptions } from '../math/mesh';
import { ADD, END, F64, I32, IF, KernelCache, LT_S, MUL, SHL, SHR_S, SHR_U, SUB, V128, V128_LOAD, V128_STORE, f32x4, i32Const, increment, lessThan, localGet, localSet, simd, wasmModule, whileLoop } from '../math/wasm';

export interface InpaintOptions {
  /** Width (px) of the hidden band filled in each layer, or 'auto' (default) from the orbit parallax. */
  margin?: number | 'auto';
  /** Sideways camera travel the auto margin must cover, as a fraction of the median depth. Default 0.2 (≈ ±10° orbit). */
  orbitBaseline?: number;
  /** Telea radius (px). Default 5. */
  radius?: number;
  /** Telea's first-order term reaches this deep (px) into a hole; deeper, plain averages. Default 4. */
  firstOrderDepth?: number;
  /** Feather width (px) outside silhouettes: 0, 1 or 2. Default 2. */
  feather?: number;
}

/** Relative inverse-depth tolerance of layer meshes in the pipeline (see buildLayers). */
export const PIPELINE_MESH_DEPTH_TOLERANCE = 0.005;

/**
 * Depth ratio at which the pipeline's layer meshes tear. Harmonized silhouettes are sharp steps, mostly far
 * above 10 %; what lies between 5 and 10 % inside a layer is mostly sensor noise that depth-edge stopping
 * kept (a 2 % noise field has neighbour ratios beyond 1.05 on ~1 % of pixel pairs), and tearing there costs
 * vertex budget and opens pinholes that the layers behind must cover.
 */
export const PIPELINE_MESH_JUMP_RATIO = 1.1;

/**
 * Noise floor of the pipeline's layer meshes (MeshOptions.noiseFactor): a layer's depth tolerance rises to 3σ̂
 * of its own block-mean noise when that exceeds PIPELINE_MESH_DEPTH_TOLERANCE. Sensor depth that survives
 * harmonization and smoothForMesh keeps correlated blotches (on the Kinect bench layer σ̂ ≈ 0.26 % of inverse
 * depth, so 0.5 % sits at 1.9σ̂ and about 6 % of blocks would refine on noise alone; 3σ̂ leaves 0.3 %).
 * Monocular and ground-truth depth are smooth (σ̂ ≪ 0.17 %) and keep 0.5 %.
 */
export const PIPELINE_MESH_NOISE_FACTOR = 3;

/**
 * The mesh options of the pipeline's layers: PIPELINE_MESH_DEPTH_TOLERANCE, PIPELINE_MESH_NOISE_FACTOR and
 * PIPELINE_MESH_JUMP_RATIO, then the caller's `overrides`; the back layer (`back`) never tears (a closed
 * backdrop), whatever the overrides say.
 */
export function pipelineMeshOptions(back: boolean, overrides: MeshOptions = {}): MeshOptions {
  const base: MeshOptions = { depthTolerance: PIPELINE_MESH_DEPTH_TOLERANCE, noiseFactor: PIPELINE_MESH_NOISE_FACTOR, jumpRatio: PIPELINE_MESH_JUMP_RATIO, ...overrides };
  return back ? { ...base, jumpRatio: Number.MAX_VALUE } : base;
}

/** How much farther (px, chessboard) a middle layer's own pixels may be than a farther layer's for it to fill a hidden pixel. */
const FILL_SLACK = 2;

export const INPAINT_DEFAULTS = Object.freeze({ margin: 'auto' as const, orbitBaseline: 0.2, radius: 5, firstOrderDepth: 4, feather: 2 });

export interface BuildLayersContext {
  W: number;
  H: number;
  image: RGBAImage;
  depth: Float32Array;
  pixelLayer: Uint8Array;
  layerCount: number;
  planeDepths: Float64Array;
  layerMasks: number[][];
  concepts: (string | undefined)[];
  intrinsics: Intrinsics;
  inpaint: InpaintOptions;
  mesh: MeshOptions;
  signal?: AbortSignal;
  onLayer?: (stage: 'inpaint' | 'mesh', done: number, total: number) => void;
}

export interface LayerTimings {
  inpaintMs: number;
  /** Part of inpaintMs spent in Telea (RGB). */
  teleaMs: number;
  /** Part of inpaintMs spent in the harmonic depth fill. */
  depthFillMs: number;
  meshMs: number;
}

/** Auto margin per layer: the parallax between the layer and the nearest scene depth for the orbit baseline. */
export function autoMargins(ctx: Pick<BuildLayersContext, 'W' | 'H' | 'depth' | 'pixelLayer' | 'layerCount' | 'intrinsics'>, baseline: number): number[] {
  const { depth, pixelLayer, layerCount: L, intrinsics, W, H } = ctx;
  const sample: number[] = [];
  const stride = Math.max(1, Math.floor(depth.length / 50000));
  const perLayer: number[][] = Array.from({ length: L }, () => []);
  for (let i = 0; i < depth.length; i += stride) {
    if (depth[i]! > 0) {
      sample.push(depth[i]!);
      perLayer[pixelLayer[i]!]!.push(depth[i]!);
    }
  }
  sample.sort((a, b) => a - b);
  const q = (a: number[], p: number): number => (a.length ? a[Math.min(a.length - 1, Math.floor(p * (a.length - 1)))]! : NaN);
  const near = q(sample, 0.02);
  const median = q(sample, 0.5);
  const f = Math.max(intrinsics.fx, intrinsics.fy);
  const B = baseline * median;
  // Cap: a tenth of the longer side. Wider revealed strips (extreme depth ratios) show the back layer, which
  // is filled everywhere, so the cap costs fill quality there, never a hole.
  const cap = Math.max(4, Math.round(0.1 * Math.max(W, H)));
  return perLayer.map((vals) => {
    vals.sort((a, b) => a - b);
    const zl = q(vals, 0.5);
    if (!(zl > 0) || !(near > 0)) return 4;
    const px = f * B * Math.max(0, 1 / near - 1 / zl);
    return Math.min(cap, Math.max(4, Math.ceil(px) + 2));
  });
}

/** Builds all layers (inpainting, cropping, meshing). Layers with no own pixel are skipped. */
export function buildLayers(ctx: BuildLayersContext): { layers: Layer[]; timings: LayerTimings; margins: number[]; sourceIndex: number[] } {
  const { W, H, image, depth, pixelLayer, layerCount: L, signal } = ctx;
  const N = W * H;
  const opt = { ...INPAINT_DEFAULTS, ...ctx.inpaint };
  const margins = opt.margin === 'auto' ? autoMargins(ctx, opt.orbitBaseline) : Array.from({ length: L }, () => Math.max(0, Math.round(opt.margin as number)));
  const feather = Math.max(0, Math.min(2, Math.round(opt.feather)));
  const layers: Layer[] = [];
  const sourceIndex: number[] = [];
  const timings: LayerTimings = { inpaintMs: 0, teleaMs: 0, depthFillMs: 0, meshMs: 0 };
  const own = new Uint8Array(N);
  const support = new Uint8Array(N);
  const featherAlpha = new Uint8Array(N); // read only where role = 3, which is rewritten for every layer
  const farther = new Uint8Array(N);
  for (let li = 0; li < L; li++) {
    throwIfAborted(signal);
    const t0 = performance.now();
    let ownCount = 0;
    for (let i = 0; i < N; i++) {
      const o = pixelLayer[i] === li ? 1 : 0;
      own[i] = o;
      ownCount += o;
    }
    if (ownCount === 0) continue;
    // Fill set: nearer pixels within the margin (all non-own pixels for the back layer). `near` marks
    // every pixel within the margin of the layer: Telea marches through it (farther pixels there are
    // filled too and later dropped) and ignores everything beyond it.
    const role = new Uint8Array(N); // full-image roles for this layer, cropped below
    const near = new Uint8Array(N);
    const m = margins[li]!;
    const dist = bandDistance(own, W, H, m);
    if (li === 0) {
      // The back layer is filled everywhere; Telea and the harmonic fill work within the margin band, the
      // deep remainder (visible only at the edge of the orbit range) gets a push–pull continuation.
      for (let i = 0; i < N; i++) {
        role[i] = own[i] ? 1 : 2;
        near[i] = dist[i]! <= m ? 1 : 0;
      }
    } else {
      // A hidden pixel is filled here only where this layer is (within FILL_SLACK px) as close as any farther
      // layer's own pixels: when the occluder moves aside, the revealed strip continues whatever surface
      // bordered the occluder on that side. Without this a middle layer that touches an occluder at one point
      // (the floor under a cylinder, a basket handle under antlers) paints its fill over the whole margin and
      // hides the background that borders the occluder elsewhere. Farther layers (the back layer is filled
      // everywhere) cover what is left. Measured on the stereo scenes (metrics §2): BAND PSNR +0.5 dB.
      for (let i = 0; i < N; i++) farther[i] = pixelLayer[i]! < li ? 1 : 0;
      const dFar = bandDistance(farther, W, H, m + FILL_SLACK);
      for (let i = 0; i < N; i++) {
        if (dist[i]! > m) continue;
        near[i] = 1;
        if (own[i]) role[i] = 1;
        else if (pixelLayer[i]! > li && dist[i]! <= dFar[i]! + FILL_SLACK) role[i] = 2;
      }
      if (feather > 0) {
        // Feather alpha falls with the chessboard distance d to the support: 255·(feather + 1 − d)/(feather + 1).
        for (let i = 0; i < N; i++) support[i] = role[i] ? 1 : 0;
        const fd = bandDistance(support, W, H, feather);
        for (let i = 0; i < N; i++) {
          if (!role[i] && fd[i]! <= feather && pixelLayer[i]! < li) {
            role[i] = 3;
            near[i] = 1;
            featherAlpha[i] = Math.round((255 * (feather + 1 - fd[i]!)) / (feather + 1));
          }
        }
      }
    }
    // Crop to the bounding box of everything with a role.
    const bbox = boundingBox(role, W, H);
    const { x: bx, y: by, width: cw, height: ch } = bbox;
    const n = cw * ch;
    const cropRole = new Uint8Array(n);
    const cropImg = new Uint8ClampedArray(n * 4);
    const hole = new Uint8Array(n);
    const ignore = new Uint8Array(n);
    const cropDepth = new Float32Array(n);
    const known = new Uint8Array(n);
    const fillD = new Uint8Array(n);
    const alpha = new Uint8Array(n);
    let holeCount = 0;
    for (let y = 0; y < ch; y++) {
      for (let x = 0; x < cw; x++) {
        const i = (by + y) * W + bx + x;
        const j = y * cw + x;
        const r = role[i]!;
        cropRole[j] = r;
        alpha[j] = r === 1 || r === 2 ? 255 : r === 3 ? featherAlpha[i]! : 0;
        const s = i * 4;
        const d = j * 4;
        cropImg[d] = image.data[s]!;
        cropImg[d + 1] = image.data[s + 1]!;
        cropImg[d + 2] = image.data[s + 2]!;
        cropImg[d + 3] = 255;
        if (r === 1) {
          known[j] = 1;
          cropDepth[j] = depth[i]!;
        } else if (near[i]) {
          hole[j] = 1;
          holeCount++;
          if (r === 2 || r === 3) fillD[j] = 1;
        } else ignore[j] = 1;
      }
    }
    // RGB: Telea from the layer's own pixels over the margin band (filled pixels keep the result; alpha-0
    // texels in the band keep it too, so bilinear filtering at silhouettes never pulls in another layer's
    // colours). Texels beyond the band keep the photo's colour and alpha 0; no filtered sample reaches them.
    const tTelea = performance.now();
    const filled = holeCount > 0 ? inpaintTelea({ width: cw, height: ch, data: cropImg }, hole, { radius: opt.radius, signal, ignore, firstOrderDepth: opt.firstOrderDepth }) : { width: cw, height: ch, data: cropImg };
    timings.teleaMs += performance.now() - tTelea;
    const rgba = new Uint8ClampedArray(n * 4);
    for (let j = 0; j < n; j++) {
      const r = cropRole[j]!;
      const d = j * 4;
      const src = r === 1 || r === 3 ? cropImg : filled.data;
      rgba[d] = src[d]!;
      rgba[d + 1] = src[d + 1]!;
      rgba[d + 2] = src[d + 2]!;
      rgba[d + 3] = alpha[j]!;
    }
    // Depth: harmonic fill over F and the feather from the layer's own depth.
    const tFill = performance.now();
    // Hidden depth needs no more than a few tenths of a percent: the coarse-to-fine start does the long-range
    // work, a few tens of fine iterations the rest.
    const fillRes = harmonicFill(cropDepth, cw, ch, known, fillD, { domain: 'inverse', tolerance: 1e-3, maxIterations: 40, signal });
    const layerDepth = fillRes.values;
    if (li === 0) fillDeep(rgba, layerDepth, cropRole, ignore, cw, ch);
    timings.depthFillMs += performance.now() - tFill;
    for (let j = 0; j < n; j++) if (cropRole[j] === 0) layerDepth[j] = 0;
    const t1 = performance.now();
    timings.inpaintMs += t1 - t0;
    ctx.onLayer?.('inpaint', li + 1, L);

    // The pipeline's mesh options (pipelineMeshOptions): 0.5 % of inverse depth (a quarter pixel of error at
    // 50 px of parallax; the mesh module's stricter default spends the vertex budget on sensor noise), raised
    // to the layer's own noise floor, and the back layer kept closed across depth jumps so no view shows a hole.
    const meshOptions = pipelineMeshOptions(li === 0, ctx.mesh);
    // The back layer never tears, so its noise cannot open pinholes, and the mesher's block-mean error test
    // already keeps it coarse: it skips the smoothing pass (measured: same vertices, half the smoothing time).
    // The smoothed copy only feeds the mesher, so it lives in a buffer reused across layers.
    if (li !== 0 && meshDepthScratch.length < n) meshDepthScratch = new Float32Array(n);
    const meshDepth = li === 0 ? layerDepth : smoothForMesh(layerDepth, alpha, cw, ch, meshOptions.jumpRatio ?? PIPELINE_MESH_JUMP_RATIO, meshDepthScratch);
    const mesh = buildLayerMesh({ bbox, width: cw, height: ch, depth: meshDepth, alpha }, ctx.intrinsics, { ...meshOptions, signal });
    timings.meshMs += performance.now() - t1;
    ctx.onLayer?.('mesh', li + 1, L);

    let nearest = Infinity;
    let far = 0;
    for (let i = 0; i < N; i++) {
      if (!own[i]) continue;
      const v = depth[i]!;
      if (v < nearest) nearest = v;
      if (v > far) far = v;
    }
    const maskIds = ctx.layerMasks[li] ?? [];
    const concepts = Array.from(new Set(maskIds.map((m) => ctx.concepts[m]).filter((c): c is string => !!c)));
    sourceIndex.push(li);
    layers.push({
      index: layers.length,
      depthRange: [nearest, far],
      planeDepth: ctx.planeDepths[li]!,
      bbox,
      rgba: { width: cw, height: ch, data: rgba },
      depth: layerDepth,
      role: cropRole,
      maskIds,
      concepts,
      mesh,
    });
  }
  return { layers, timings, margins, sourceIndex };
}

/**
 * Back layer only: pixels filled but outside the margin band (role 2, ignored by Telea and the harmonic
 * fill) get colour and inverse depth by push–pull from everything already known or filled.
 */
function fillDeep(rgba: Uint8ClampedArray, depth: Float32Array, role: Uint8Array, ignore: Uint8Array, w: number, h: number): void {
  const n = w * h;
  const deep = new Uint8Array(n);
  const known = new Uint8Array(n);
  let any = false;
  for (let j = 0; j < n; j++) {
    if (role[j] === 2 && ignore[j]) {
      deep[j] = 1;
      any = true;
    } else if ((role[j] === 1 || role[j] === 2) && depth[j]! > 0) known[j] = 1;
  }
  if (any) pushPullRgbaDepth(rgba, depth, known, deep, w, h);
}

/**
 * The depth the mesh is built from: each content pixel's inverse depth averaged over its 3×3 neighbours that
 * have content and lie within `jumpRatio` of it (so silhouettes and tears stay where they are). Per-pixel
 * sensor noise that survived harmonization would otherwise make the mesher split every cell to 1 px and
 * spend the vertex budget on noise; the texture keeps the photo's detail, the geometry does not need it.
 * Pixels without content keep their depth. `out` (length ≥ w·h, not aliasing `depth`) receives the result,
 * a new array by default; the returned array is `out` limited to w·h values.
 *
 * The interior runs as a WebAssembly SIMD kernel (4 pixels at a time, float32: results agree with the
 * JavaScript loop to float32 rounding) where WebAssembly is available; borders, the columns beyond the last
 * group of 4 and platforms without it take the JavaScript loop.
 */
export function smoothForMesh(depth: Float32Array, alpha: Uint8Array | Uint8ClampedArray, w: number, h: number, jumpRatio: number, out?: Float32Array): Float32Array {
  const n = w * h;
  out = out ? out.subarray(0, n) : new Float32Array(n);
  const lim = Math.min(jumpRatio, 1e30);
  // SIMD groups per interior row (columns 1 … 4·groups); the kernel's memory holds inverse depth at byte 0,
  // the result at byte `at` (first the depth, which pixels without content keep) and alpha at byte 2·at.
  const groups = h >= 3 && w >= 6 ? (w - 2) >> 2 : 0;
  const at = 16 * Math.ceil(n / 4);
  const kernel = groups > 0 ? SMOOTH.get(2 * at + 16 * Math.ceil(n / 16)) : undefined;
  let inv: Float32Array;
  let dst: Float32Array;
  // Inverse depth once per pixel (0 = no content), then 3×3 sums over linked neighbours: |log ratio| within
  // log(lim) is the same test on inverse depths.
  if (kernel) {
    inv = new Float32Array(kernel.memory.buffer, 0, n);
    dst = new Float32Array(kernel.memory.buffer, at, n);
    dst.set(depth);
    new Uint8Array(kernel.memory.buffer, 2 * at, n).set(alpha);
    kernel.fn(0, at, 2 * at, w, h, lim);
  } else {
    if (smoothScratch.length < n) smoothScratch = new Float32Array(n);
    inv = smoothScratch;
    dst = out;
    for (let i = 0; i < n; i++) {
      const d = depth[i]!;
      inv[i] = d > 0 && alpha[i] !== 0 ? 1 / d : 0;
    }
  }
  const kx = kernel ? 1 + 4 * groups : 1; // the kernel did interior rows' columns [1, kx)
  for (let y = 0; y < h; y++) {
    if (kernel && y > 0 && y + 1 < h) {
      smoothRow(inv, depth, dst, w, h, y, 0, 1, lim);
      smoothRow(inv, depth, dst, w, h, y, kx, w, lim);
    } else smoothRow(inv, depth, dst, w, h, y, 0, w, lim);
  }
  if (kernel) out.set(dst);
  return out;
}

/** smoothForMesh on row y, columns [x0, x1): reads inverse depth `inv`, writes `dst`. */
function smoothRow(inv: Float32Array, depth: Float32Array, dst: Float32Array, w: number, h: number, y: number, xFrom: number, xTo: number, lim: number): void {
  const row = y * w;
  const inner = y > 0 && y + 1 < h;
  for (let x = xFrom; x < xTo; x++) {
    const i = row + x;
    const v = inv[i]!;
    if (v === 0) {
      dst[i] = depth[i]!;
      continue;
    }
    const lo = v / lim;
    const hi = v * lim;
    if (inner && x > 0 && x + 1 < w) {
      // Interior pixel: the nine taps unrolled, in the same order as the border loop below.
      let s = 0;
      let c = 0;
      let e = 0;
      const u = i - w;
      const b = i + w;
      if ((e = inv[u - 1]!) >= lo && e <= hi) { s += e; c++; }
      if ((e = inv[u]!) >= lo && e <= hi) { s += e; c++; }
      if ((e = inv[u + 1]!) >= lo && e <= hi) { s += e; c++; }
      if ((e = inv[i - 1]!) >= lo && e <= hi) { s += e; c++; }
      s += v; // the centre always links to itself
      c++;
      if ((e = inv[i + 1]!) >= lo && e <= hi) { s += e; c++; }
      if ((e = inv[b - 1]!) >= lo && e <= hi) { s += e; c++; }
      if ((e = inv[b]!) >= lo && e <= hi) { s += e; c++; }
      if ((e = inv[b + 1]!) >= lo && e <= hi) { s += e; c++; }
      dst[i] = c / s;
      continue;
    }
    const y0 = y > 0 ? y - 1 : 0;
    const y1 = y + 1 < h ? y + 1 : y;
    const x0 = x > 0 ? x - 1 : 0;
    const x1 = x + 1 < w ? x + 1 : x;
    let s = 0;
    let c = 0;
    for (let yy = y0; yy <= y1; yy++) {
      const r = yy * w;
      for (let xx = x0; xx <= x1; xx++) {
        const e = inv[r + xx]!;
        if (e >= lo && e <= hi) {
          s += e;
          c++;
        }
      }
    }
    dst[i] = c / s;
  }
}

/** Inverse-depth buffer of smoothForMesh without the kernel, grown to the largest crop seen (4 bytes per pixel). */
let smoothScratch = new Float32Array(0);

type SmoothKernel = (inv: number, out: number, alpha: number, w: number, h: number, lim: number) => void;

/**
 * smoothForMesh's inverse depth and smoothRow's interior loop as WebAssembly SIMD, 4 pixels per step. First
 * inv = 1/d where alpha ≠ 0 and 0 < d < ∞ (else 0) for every pixel, d read from `out` (which holds the
 * depth); then over rows 1 … h−2 and columns 1 … 4·⌊(w−2)/4⌋, for centre values v, lo = v/lim and
 * hi = v·lim: each of the 8 neighbours e counts where lo ≤ e ≤ hi (a lane mask m: the sum gains e & m, the
 * count loses m, which is −1 where set), and c/s replaces the output where v ≠ 0. Groups of 4 empty pixels
 * are skipped.
 */
const SMOOTH = new KernelCache<SmoothKernel>('smooth', () => {
  // Parameters, then locals (i32 y, k, kend, Wb; v128 v, lo, hi, s, c, e, m, lim4, invLim4).
  const [INV, OUT, ALPHA, W, H, LIM, Y, K, KEND, WB, V, LO, HI, S, C, E, M, LIM4, ILIM4] = Array.from({ length: 19 }, (_, i) => i);
  const get = localGet;
  const set = localSet;
  const i32 = i32Const;
  const load = V128_LOAD;
  const store = V128_STORE;
  const [F_NE, F_LT, F_GT, F_LE, F_GE] = [0x42, 0x43, 0x44, 0x45, 0x46].map((op) => simd(op));
  const [V_AND, V_BITSELECT, V_ANY] = [simd(0x4e), simd(0x52), simd(0x53)];
  const [F_ADD, F_MUL, F_DIV] = [simd(0xe4), simd(0xe6), simd(0xe7)];
  /** inv + k + d (bytes), d ∈ {−4, 0, 4}, on the row above (−1), this row (0) or the row below (+1). */
  const tap = (rowDir: number, d: number): number[] => [
    ...get(INV), ...get(K), ADD,
    ...(rowDir < 0 ? [...get(WB), SUB] : rowDir > 0 ? [...get(WB), ADD] : []),
    ...(d !== 0 ? [...i32(d), ADD] : []),
  ];
  const neighbour = (rowDir: number, d: number): number[] => [
    ...tap(rowDir, d), ...load, ...set(E),
    ...get(E), ...get(LO), ...F_GE, ...get(E), ...get(HI), ...F_LE, ...V_AND, ...set(M), // m = (e ≥ lo) & (e ≤ hi)
    ...get(S), ...get(E), ...get(M), ...V_AND, ...F_ADD, ...set(S), // s += e & m
    ...get(C), ...get(M), ...simd(0xb1), ...set(C), // c −= m (i32x4.sub)
  ];
  // Loop 1: inverse depth of pixels k/4 … k/4 + 3.
  const inverse: number[] = [
    ...get(INV), ...get(K), ADD,
    ...f32x4(1), ...get(OUT), ...get(K), ADD, ...load, ...set(E), ...get(E), ...F_DIV, // 1 / d
    ...f32x4(0), // else 0
    ...get(E), ...f32x4(0), ...F_GT, ...get(E), ...f32x4(Infinity), ...F_LT, ...V_AND, // 0 < d < ∞
    ...get(ALPHA), ...get(K), ...i32(2), SHR_U, ADD, ...simd(0x5c, 0x00, 0x00), // v128.load32_zero: 4 alphas
    ...simd(0x89, 0x01), ...simd(0xa9, 0x01), // i16x8.extend_low_i8x16_u, i32x4.extend_low_i16x8_u
    ...f32x4(0), ...simd(0x37), ...simd(0x4d), // ≠ 0: not(i32x4.eq(a, 0)) (all-zero bits)
    ...V_AND, ...V_BITSELECT,
    ...store,
  ];
  // Loop 2: the smoothing of pixels k/4 … k/4 + 3 (skipped when all four are empty).
  const group: number[] = [
    ...tap(0, 0), ...load, ...set(V),
    ...get(V), ...V_ANY, ...IF, // any lane has content
    ...get(V), ...get(ILIM4), ...F_MUL, ...set(LO),
    ...get(V), ...get(LIM4), ...F_MUL, ...set(HI),
    ...get(V), ...set(S),
    ...i32(1), ...simd(0x11), ...set(C), // i32x4.splat(1): the centre
    // The tap order of smoothRow: the row above, left, right, the row below.
    ...neighbour(-1, -4), ...neighbour(-1, 0), ...neighbour(-1, 4),
    ...neighbour(0, -4), ...neighbour(0, 4),
    ...neighbour(1, -4), ...neighbour(1, 0), ...neighbour(1, 4),
    // out = v ≠ 0 ? c / s : out
    ...get(OUT), ...get(K), ADD,
    ...get(C), ...simd(0xfa), ...get(S), ...F_DIV, // f32x4.convert_i32x4_s(c) / s
    ...get(OUT), ...get(K), ADD, ...load,
    ...get(V), ...f32x4(0), ...F_NE,
    ...V_BITSELECT,
    ...store,
    ...END, // if
  ];
  const body: number[] = [
    ...get(W), ...i32(4), MUL, ...set(WB),
    ...get(LIM), 0xb6, ...simd(0x13), ...set(LIM4), // f32x4.splat(f32.demote(lim))
    ...f32x4(1), ...get(LIM4), ...F_DIV, ...set(ILIM4),
    // Loop 1 over all pixels (the last group may run past w·h into the regions' padding).
    ...i32(0), ...set(K),
    ...get(W), ...get(H), MUL, ...i32(4), MUL, ...set(KEND),
    ...whileLoop(lessThan(K, KEND), [...inverse, ...increment(K, 16)]),
    // Loop 2 over rows 1 … h−2.
    ...i32(1), ...set(Y),
    ...whileLoop([...get(Y), ...get(H), ...i32(1), SUB, LT_S], [
      ...get(Y), ...get(W), MUL, ...i32(1), ADD, ...i32(4), MUL, ...set(K),
      ...get(K), ...get(W), ...i32(2), SUB, ...i32(2), SHR_S, ...i32(4), SHL, ADD, ...set(KEND), // k + 16·⌊(w−2)/4⌋
      ...whileLoop(lessThan(K, KEND), [...group, ...increment(K, 16)]),
      ...increment(Y, 1),
    ]),
    ...END,
  ];
  return wasmModule('smooth', [I32, I32, I32, I32, I32, F64], [I32, I32, I32, I32, V128, V128, V128, V128, V128, V128, V128, V128, V128], body);
});

/** buildLayers' smoothed mesh depth, reused from layer to layer (4 bytes per pixel of the largest crop). */
let meshDepthScratch = new Float32Array(0);

function boundingBox(mask: Uint8Array, W: number, H: number): Rect {
  let x0 = W;
  let y0 = H;
  let x1 = -1;
  let y1 = -1;
  for (let y = 0; y < H; y++) {
    const row = y * W;
    for (let x = 0; x < W; x++) {
      if (mask[row + x]) {
        if (x < x0) x0 = x;
        if (x > x1) x1 = x;
        if (y < y0) y0 = y;
        if (y > y1) y1 = y;
      }
    }
  }
  if (x1 < 0) return { x: 0, y: 0, width: 0, height: 0 };
  return { x: x0, y: y0, width: x1 - x0 + 1, height: y1 - y0 + 1 };
}
