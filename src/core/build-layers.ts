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
import { pushPullFill } from '../math/pushpull';
import { inpaintTelea } from '../math/telea';
import { buildLayerMesh, type MeshOptions } from '../math/mesh';

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
      for (let i = 0; i < N; i++) {
        if (dist[i]! > m) continue;
        near[i] = 1;
        if (own[i]) role[i] = 1;
        else if (pixelLayer[i]! > li) role[i] = 2;
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

    // The back layer is a closed backdrop: it keeps its triangles across depth jumps so no view shows a hole.
    // Pipeline meshing tolerance: 0.5 % of inverse depth (a quarter pixel of error at 50 px of parallax);
    // the mesh module's stricter default spends the vertex budget on sensor noise.
    const base: MeshOptions = { depthTolerance: PIPELINE_MESH_DEPTH_TOLERANCE, jumpRatio: PIPELINE_MESH_JUMP_RATIO, ...ctx.mesh };
    const meshOptions: MeshOptions = li === 0 ? { ...base, jumpRatio: Number.MAX_VALUE } : base;
    // The back layer never tears, so its noise cannot open pinholes, and the mesher's block-mean error test
    // already keeps it coarse: it skips the smoothing pass (measured: same vertices, half the smoothing time).
    const meshDepth = li === 0 ? layerDepth : smoothForMesh(layerDepth, alpha, cw, ch, meshOptions.jumpRatio ?? PIPELINE_MESH_JUMP_RATIO);
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
  if (!any) return;
  const rgb = new Float32Array(n * 3);
  const inv = new Float32Array(n);
  for (let j = 0; j < n; j++) {
    rgb[3 * j] = rgba[4 * j]!;
    rgb[3 * j + 1] = rgba[4 * j + 1]!;
    rgb[3 * j + 2] = rgba[4 * j + 2]!;
    inv[j] = depth[j]! > 0 ? 1 / depth[j]! : 0;
  }
  const rgbF = pushPullFill(rgb, 3, w, h, known, deep);
  const invF = pushPullFill(inv, 1, w, h, known, deep);
  for (let j = 0; j < n; j++) {
    if (!deep[j]) continue;
    rgba[4 * j] = rgbF[3 * j]!;
    rgba[4 * j + 1] = rgbF[3 * j + 1]!;
    rgba[4 * j + 2] = rgbF[3 * j + 2]!;
    depth[j] = invF[j]! > 0 ? 1 / invF[j]! : 0;
  }
}

/**
 * The depth the mesh is built from: each content pixel's inverse depth averaged over its 3×3 neighbours that
 * have content and lie within `jumpRatio` of it (so silhouettes and tears stay where they are). Per-pixel
 * sensor noise that survived harmonization would otherwise make the mesher split every cell to 1 px and
 * spend the vertex budget on noise; the texture keeps the photo's detail, the geometry does not need it.
 */
export function smoothForMesh(depth: Float32Array, alpha: Uint8Array, w: number, h: number, jumpRatio: number): Float32Array {
  const n = w * h;
  const out = new Float32Array(n);
  const lim = Math.min(jumpRatio, 1e30);
  // Inverse depth once per pixel (0 = no content), then 3×3 sums over linked neighbours: |log ratio| within
  // log(lim) is the same test on inverse depths.
  const inv = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const d = depth[i]!;
    inv[i] = d > 0 && alpha[i] !== 0 ? 1 / d : 0;
  }
  for (let y = 0; y < h; y++) {
    const y0 = y > 0 ? y - 1 : 0;
    const y1 = y + 1 < h ? y + 1 : y;
    for (let x = 0; x < w; x++) {
      const i = y * w + x;
      const v = inv[i]!;
      if (v === 0) {
        out[i] = depth[i]!;
        continue;
      }
      const lo = v / lim;
      const hi = v * lim;
      const x0 = x > 0 ? x - 1 : 0;
      const x1 = x + 1 < w ? x + 1 : x;
      let s = 0;
      let c = 0;
      for (let yy = y0; yy <= y1; yy++) {
        const row = yy * w;
        for (let xx = x0; xx <= x1; xx++) {
          const e = inv[row + xx]!;
          if (e >= lo && e <= hi) {
            s += e;
            c++;
          }
        }
      }
      out[i] = c / s;
    }
  }
  return out;
}

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
