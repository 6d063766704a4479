/**
 * The engine-neutral scene description of a decomposition: everything an engine adapter needs to build the
 * layered scene, computed once so that the Babylon.js and three.js adapters only turn it into engine objects.
 *
 * - layers (back to front, layer 0 = farthest) with their buffers (positions, uvs, indices, normals for lit
 *   layers), texture data (premultiplied RGBA for the MPI material, bled straight RGBA for the lit one) and
 *   material parameters (blend mode, depth slice, depth writes, draw order);
 * - the photo camera (vertical field of view, horizontal scale, principal-point offset, clip planes);
 * - the orbit range the layers were built for.
 *
 * Frame: positions are in the library's camera space (x right, y up, z forward, metres; src/core/types.ts),
 * which is Babylon's left-handed default frame. A right-handed engine (three.js, glTF) negates z.
 * UVs have v = 0 at the top of the crop and texture row 0 is the top row: upload without a v-flip.
 */
import { DioramaError } from '../core/errors';
import type { Decomposition, Intrinsics, Layer, RGBAImage } from '../core/types';
import { bleedStraightRGBA, premultiplyRGBA } from './textures';
import type { DioramaDepthMode } from './depth-slices';

/** Options of {@link describeDiorama}; every field is optional. */
export interface DioramaDescribeOptions {
  /** Name of the root (and prefix of everything else). Default 'diorama'. */
  name?: string;
  /** Lit layers (straight-alpha bled texture, normals, 'scene' depth) instead of the unlit MPI material. Default false. */
  lighting?: boolean;
  /** 'layered' (default) or 'scene'; see depth-slices.ts. Lighting forces 'scene'. */
  depthMode?: DioramaDepthMode;
  /** Texture mipmaps (trilinear). Default false (bilinear, exact at the photo's scale). */
  mipmaps?: boolean;
  /** Only describe the layers that pass this filter. Default all. */
  layerFilter?: (layer: Layer) => boolean;
  /** Orbit half-angle (degrees) around the scene centre. Default 10. */
  orbitAngle?: number;
  /** Sideways travel allowed to the orbit camera, as a fraction of the median depth. Default 0.05. */
  orbitSideways?: number;
}

/** Default values of {@link DioramaDescribeOptions}. */
export const DIORAMA_DESCRIBE_DEFAULTS = Object.freeze({
  name: 'diorama',
  lighting: false,
  depthMode: 'layered' as DioramaDepthMode,
  mipmaps: false,
  orbitAngle: 10,
  orbitSideways: 0.05,
});

/** Metadata of each layer (Babylon: `mesh.metadata.diorama`; three.js: `mesh.userData.diorama`; glTF: `extras.dioramaLayer`). */
export interface DioramaLayerMetadata {
  /** Layer index, 0 = farthest: the back-to-front drawing order. */
  layer: number;
  layerCount: number;
  /** [nearest, farthest] metric depth of the layer's own pixels. */
  depthRange: [number, number];
  planeDepth: number;
  /** Crop rectangle in full-image pixels. */
  bbox: { x: number; y: number; width: number; height: number };
  concepts: string[];
}

/** Metadata of the root (glTF: `extras.diorama`). */
export interface DioramaRootMetadata {
  width: number;
  height: number;
  intrinsics: Intrinsics;
  layerCount: number;
}

/** Texture of one layer: RGBA8, row 0 = top of the crop (v = 0), clamped, linear filtering. */
export interface LayerTextureDescription {
  name: string;
  width: number;
  height: number;
  data: Uint8Array;
  /** 'premultiplied' (MPI material) or 'straight' (lit material: transparent texels bled). */
  alpha: 'premultiplied' | 'straight';
  mipmaps: boolean;
}

/** Material of one layer: what every engine's implementation must do. */
export interface LayerMaterialDescription {
  name: string;
  /** 'mpi': unlit, outputs the premultiplied texel; 'lit': the engine's standard lit material, diffuse = texture. */
  kind: 'mpi' | 'lit';
  /** 'premultiplied': C = C_src + (1 − α_src)·C_dst (ONE, ONE_MINUS_SRC_ALPHA, colour and alpha); 'straight': C = α·C_src + (1 − α)·C_dst. */
  blend: 'premultiplied' | 'straight';
  /** Depth writes: on in 'layered' mode (each layer in its own depth slice), off in 'scene' mode. */
  depthWrite: boolean;
  /** Depth slice counted from the FRONT (0 = nearest layer) and the number of slices (all layers, filtered or not); sliceCount 1 = no remap. */
  slice: number;
  sliceCount: number;
  /** Draw order: the layer index (0 = farthest, drawn first). */
  order: number;
  /** Layers are seen from both sides and fragments with α = 0 are discarded. */
  doubleSided: true;
}

/** One layer of the scene description. */
export interface LayerDescription {
  index: number;
  /** `<root>.layer_NN`. */
  name: string;
  /** xyz per vertex, camera space (left-handed, z forward). */
  positions: Float32Array;
  uvs: Float32Array;
  indices: Uint32Array;
  /** Unit normals facing the photo's camera (−z), lit layers only. */
  normals: Float32Array | null;
  texture: LayerTextureDescription;
  material: LayerMaterialDescription;
  metadata: DioramaLayerMetadata;
  /** The decomposition's straight-alpha crop (not a copy): the glTF export encodes it. */
  source: RGBAImage;
}

/** The photo's pinhole camera in engine-neutral terms. */
export interface PhotoCameraDescription {
  width: number;
  height: number;
  intrinsics: Intrinsics;
  /** Vertical field of view, radians: 2·atan(H / 2fy). */
  fovY: number;
  /** Horizontal over vertical focal length, fx / fy. */
  pixelAspect: number;
  /**
   * NDC offset of the principal point for a canvas with the photo's aspect: x_ndc += (2cx − W)/W,
   * y_ndc += (H − 2cy)/H (y up).
   */
  offsetX: number;
  offsetY: number;
  /** Clip planes (metres) well outside the scene's depth range: 0.25·nearest and 8·farthest depth. */
  near: number;
  far: number;
}

/** The orbit range the layers were built for, in the photo's camera space (left-handed, z forward). */
export interface OrbitDescription {
  /** Scene centre: the point on the optical axis at the median depth. */
  target: [number, number, number];
  /** Distance from the photo's viewpoint to the target (the median depth, metres). */
  radius: number;
  /** Half-angle of the orbit around the target, radians. */
  maxAngle: number;
  /** Allowed sideways travel (metres). */
  maxSideways: number;
  /** Nearest and farthest scene depth (metres, 2nd and 98th percentiles of the harmonized depth). */
  nearDepth: number;
  farDepth: number;
}

/** What {@link describeDiorama} returns. */
export interface DioramaSceneDescription {
  name: string;
  width: number;
  height: number;
  intrinsics: Intrinsics;
  /** Number of layers of the decomposition (filtered or not). */
  layerCount: number;
  /** Described layers, back to front. */
  layers: LayerDescription[];
  /** Depth mode in use (lighting forces 'scene'). */
  depthMode: DioramaDepthMode;
  lighting: boolean;
  camera: PhotoCameraDescription;
  orbit: OrbitDescription;
  root: DioramaRootMetadata;
}

/** Name of layer `index`'s mesh under a root named `root`: `<root>.layer_NN`. */
export function dioramaLayerName(root: string, index: number): string {
  return `${root}.layer_${String(index).padStart(2, '0')}`;
}

/** The layer index of a `<root>.layer_NN` name, or undefined. */
export function layerIndexFromName(name: string): number | undefined {
  const m = /\.layer_(\d+)$/.exec(name);
  return m ? Number(m[1]) : undefined;
}

/** q-quantile of the positive values of `a` (subsampled to about 50 000 values). */
function depthQuantiles(a: Float32Array, qs: number[]): number[] {
  const stride = Math.max(1, Math.floor(a.length / 50000));
  const vals: number[] = [];
  for (let i = 0; i < a.length; i += stride) {
    const v = a[i]!;
    if (v > 0 && Number.isFinite(v)) vals.push(v);
  }
  if (vals.length === 0) return qs.map(() => NaN);
  vals.sort((x, y) => x - y);
  return qs.map((q) => vals[Math.min(vals.length - 1, Math.floor(q * (vals.length - 1)))]!);
}

/**
 * Area-weighted vertex normals of a triangle mesh, normalised and oriented to face the photo's camera (−z):
 * the winding does not matter for double-sided layers.
 */
export function computeLayerNormals(positions: Float32Array, indices: Uint32Array): Float32Array {
  const n = new Float32Array(positions.length);
  for (let t = 0; t < indices.length; t += 3) {
    const a = 3 * indices[t]!;
    const b = 3 * indices[t + 1]!;
    const c = 3 * indices[t + 2]!;
    const ux = positions[b]! - positions[a]!, uy = positions[b + 1]! - positions[a + 1]!, uz = positions[b + 2]! - positions[a + 2]!;
    const vx = positions[c]! - positions[a]!, vy = positions[c + 1]! - positions[a + 1]!, vz = positions[c + 2]! - positions[a + 2]!;
    const nx = uy * vz - uz * vy;
    const ny = uz * vx - ux * vz;
    const nz = ux * vy - uy * vx;
    for (const v of [a, b, c]) {
      n[v] = n[v]! + nx;
      n[v + 1] = n[v + 1]! + ny;
      n[v + 2] = n[v + 2]! + nz;
    }
  }
  let sz = 0;
  for (let i = 0; i < n.length; i += 3) {
    const len = Math.hypot(n[i]!, n[i + 1]!, n[i + 2]!);
    if (len > 0) {
      n[i] = n[i]! / len;
      n[i + 1] = n[i + 1]! / len;
      n[i + 2] = n[i + 2]! / len;
    } else {
      n[i + 2] = -1;
    }
    sz += n[i + 2]!;
  }
  if (sz > 0) for (let i = 0; i < n.length; i++) n[i] = -n[i]!;
  return n;
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  const out: Partial<T> = {};
  for (const k of Object.keys(o) as (keyof T)[]) if (o[k] !== undefined) out[k] = o[k];
  return out;
}

/** Checks a decomposition's layers (mesh arrays, crop sizes); throws DioramaError INVALID_OPTION. */
export function checkDecomposition(decomposition: Decomposition): void {
  const all = decomposition.layers ?? [];
  if (all.length === 0) throw new DioramaError('INVALID_OPTION', 'decomposition has no layers; expected the result of decompose() run to the end (no stopAfter)');
  for (const l of all) {
    const m = l.mesh;
    if (!m || m.positions.length % 3 !== 0 || m.uvs.length * 3 !== m.positions.length * 2 || m.indices.length % 3 !== 0) {
      throw new DioramaError('INVALID_OPTION', `layer ${l.index}: mesh arrays are inconsistent (positions ${m?.positions.length}, uvs ${m?.uvs.length}, indices ${m?.indices.length})`);
    }
    if (l.rgba.data.length !== l.bbox.width * l.bbox.height * 4 || l.rgba.width !== l.bbox.width || l.rgba.height !== l.bbox.height) {
      throw new DioramaError('INVALID_OPTION', `layer ${l.index}: rgba is ${l.rgba.width}x${l.rgba.height} (${l.rgba.data.length} bytes); expected the bbox size ${l.bbox.width}x${l.bbox.height}`);
    }
  }
}

/**
 * Describes the layered scene of a decomposition (see the module comment). Throws DioramaError
 * INVALID_OPTION on a decomposition without layers or with inconsistent mesh arrays.
 * @param decomposition the result of decompose()
 * @param options see {@link DioramaDescribeOptions}
 */
export function describeDiorama(decomposition: Decomposition, options: DioramaDescribeOptions = {}): DioramaSceneDescription {
  const opt = { ...DIORAMA_DESCRIBE_DEFAULTS, ...stripUndefined(options) };
  checkDecomposition(decomposition);
  const { width, height, intrinsics } = decomposition;
  const all = decomposition.layers;
  const layersIn = opt.layerFilter ? all.filter(opt.layerFilter) : all;
  const lighting = opt.lighting;
  const depthMode: DioramaDepthMode = lighting ? 'scene' : opt.depthMode;
  const [q02, q50, q98] = depthQuantiles(decomposition.harmonizedDepth, [0.02, 0.5, 0.98]);
  const layersNear = Math.min(...all.map((l) => l.depthRange[0]));
  const layersFar = Math.max(...all.map((l) => l.depthRange[1]));
  const near = Number.isFinite(q02) ? q02! : layersNear;
  const far = Number.isFinite(q98) ? q98! : layersFar;
  const median = Number.isFinite(q50) ? q50! : (near + far) / 2;
  const minDepth = Math.min(near, layersNear);
  const maxDepth = Math.max(far, layersFar);
  const layered = depthMode === 'layered';
  const sliceCount = layered ? all.length : 1;

  const layers: LayerDescription[] = layersIn.map((layer) => {
    const name = dioramaLayerName(opt.name, layer.index);
    const metadata: DioramaLayerMetadata = {
      layer: layer.index,
      layerCount: all.length,
      depthRange: [layer.depthRange[0], layer.depthRange[1]],
      planeDepth: layer.planeDepth,
      bbox: { ...layer.bbox },
      concepts: [...layer.concepts],
    };
    return {
      index: layer.index,
      name,
      positions: layer.mesh.positions,
      uvs: layer.mesh.uvs,
      indices: layer.mesh.indices,
      normals: lighting ? computeLayerNormals(layer.mesh.positions, layer.mesh.indices) : null,
      texture: {
        name: `${name}.rgba`,
        width: layer.bbox.width,
        height: layer.bbox.height,
        data: lighting ? bleedStraightRGBA(layer.rgba) : premultiplyRGBA(layer.rgba),
        alpha: lighting ? 'straight' : 'premultiplied',
        mipmaps: opt.mipmaps,
      },
      material: {
        name: `${name}.material`,
        kind: lighting ? 'lit' : 'mpi',
        blend: lighting ? 'straight' : 'premultiplied',
        depthWrite: layered,
        slice: layered ? all.length - 1 - layer.index : 0,
        sliceCount,
        order: layer.index,
        doubleSided: true,
      },
      metadata,
      source: layer.rgba,
    };
  });

  const k = intrinsics;
  return {
    name: opt.name,
    width,
    height,
    intrinsics: { ...intrinsics },
    layerCount: all.length,
    layers,
    depthMode,
    lighting,
    camera: {
      width,
      height,
      intrinsics: { ...intrinsics },
      fovY: 2 * Math.atan(height / (2 * k.fy)),
      pixelAspect: k.fx / k.fy,
      offsetX: (2 * k.cx - width) / width,
      offsetY: (height - 2 * k.cy) / height,
      near: Math.max(1e-4, 0.25 * minDepth),
      far: 8 * maxDepth,
    },
    orbit: {
      target: [0, 0, median],
      radius: median,
      maxAngle: (opt.orbitAngle * Math.PI) / 180,
      maxSideways: opt.orbitSideways * median,
      nearDepth: near,
      farDepth: far,
    },
    root: { width, height, intrinsics: { ...intrinsics }, layerCount: all.length },
  };
}
