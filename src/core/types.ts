/**
 * Shared data types. Conventions used everywhere in the library:
 *
 * - Images are row-major, top row first. Pixel (x, y) covers the square [x, x+1) × [y, y+1) in continuous
 *   image coordinates, so its centre is (x + 0.5, y + 0.5) and the image centre is (W/2, H/2).
 * - Depth is metric Z (distance along the optical axis, metres), Float32Array of W·H; 0 or NaN = unknown.
 * - Label maps are Int32Array of W·H; -1 = no mask, k ≥ 0 = mask k.
 * - Camera space (mesh positions): x right, y up, z forward (away from the camera), metres; this is
 *   Babylon.js's default left-handed frame with the camera at the origin looking down +z. A pixel at
 *   continuous image point (u, v) with depth Z unprojects to
 *   ( (u − cx)·Z/fx, −(v − cy)·Z/fy, Z ).
 * - UVs: u = 0 at the crop's left edge, v = 0 at the crop's TOP edge (glTF convention).
 */

/** RGBA8 image, ImageData-like. `data.length === width * height * 4`. */
export interface RGBAImage {
  readonly width: number;
  readonly height: number;
  readonly data: Uint8ClampedArray | Uint8Array;
}

/** Pinhole intrinsics in pixels of the full-resolution photo. */
export interface Intrinsics {
  fx: number;
  fy: number;
  cx: number;
  cy: number;
}

/** Integer pixel rectangle. */
export interface Rect {
  x: number;
  y: number;
  width: number;
  height: number;
}

/** One binary mask with an optional score (higher wins where masks overlap) and concept name. */
export interface BinaryMask {
  /** width·height bytes, non-zero = inside. */
  data: Uint8Array | Uint8ClampedArray;
  score?: number;
  concept?: string;
}

/** Masks either as a label map (-1 = none) or as a list of binary masks. */
export type MasksInput =
  | { kind: 'labels'; labels: Int32Array; concepts?: (string | undefined)[] }
  | { kind: 'list'; masks: BinaryMask[] };

export interface DecomposeInput {
  image: RGBAImage;
  /** width·height values; metres, or inverse depth when `depthIsInverse` (then any positive scale). */
  depth: Float32Array;
  depthIsInverse?: boolean;
  masks?: MasksInput;
  intrinsics?: Intrinsics;
}

/** Triangle mesh of one layer, in camera space (see the conventions above). */
export interface LayerMesh {
  /** xyz per vertex, metres. */
  positions: Float32Array;
  /** uv per vertex over the layer's crop (v = 0 at the top). */
  uvs: Float32Array;
  /** three vertex indices per triangle, counter-clockwise seen from the camera in the x-right/y-up frame. */
  indices: Uint32Array;
  /** Pixel coordinates (continuous, full image) each vertex was unprojected from: xy per vertex. */
  pixels: Float32Array;
}

export interface Layer {
  /** 0 = farthest; layers are listed back to front. */
  index: number;
  /** [nearest, farthest] metric depth of the layer's own pixels. */
  depthRange: [number, number];
  /** Metric depth of the layer's plane (uniform spacing in inverse depth). */
  planeDepth: number;
  /** Crop rectangle in full-image pixels. */
  bbox: Rect;
  /** Cropped RGBA, straight (not premultiplied) alpha. */
  rgba: RGBAImage;
  /** Cropped depth (metres) after inpainting; 0 where the layer has no content (alpha 0). */
  depth: Float32Array;
  /**
   * Cropped per-pixel role: 0 = empty, 1 = the layer's own pixel, 2 = filled (hidden) pixel, 3 = a nearer
   * layer's pixel carried into this one with the photo's colour and depth (occlusion layering: the seam
   * overlap where two layers meet on a continuous surface; 'clusters' layering: the silhouette feather).
   */
  role: Uint8Array;
  /** Mask ids (indices into the resolved label map) that make up this layer. */
  maskIds: number[];
  /** Concept names of those masks, when known. */
  concepts: string[];
  mesh: LayerMesh;
}

export interface StageTiming {
  stage: Stage;
  ms: number;
}

export type Stage = 'validate' | 'masks' | 'harmonize' | 'layers' | 'inpaint' | 'mesh';

export interface DecompositionStats {
  timings: StageTiming[];
  totalMs: number;
  width: number;
  height: number;
  maskCount: number;
  layerCount: number;
  solverIterations: number;
  solverResidual: number;
  /** Where Stage 1's solve ran: 'webgpu' with the `gpu` option and a working device, else 'cpu'. */
  solverBackend?: 'cpu' | 'webgpu';
  vertexCount: number;
  triangleCount: number;
  /** Part of the inpaint stage spent filling RGB (Telea). */
  inpaintRgbMs?: number;
  /** Part of the inpaint stage spent filling depth (harmonic). */
  inpaintDepthMs?: number;
  /** Occlusion layering: mesh edges torn at depth discontinuities (full frame). */
  tearEdges?: number;
  /** Occlusion layering: filled (hidden) pixels per layer, back to front. */
  fillPixels?: number[];
}

export interface Decomposition {
  width: number;
  height: number;
  intrinsics: Intrinsics;
  /** Whether intrinsics were supplied (true) or a field-of-view guess (false). */
  intrinsicsKnown: boolean;
  /** Harmonized metric depth, width·height. */
  harmonizedDepth: Float32Array;
  /** Resolved non-overlapping label map used by the pipeline (-1 = no mask). */
  labels: Int32Array;
  layers: Layer[];
  /** Layer index (into `layers`) of every pixel's own content, width·height. */
  layerOfPixel?: Uint8Array;
  stats: DecompositionStats;
}

export type ProgressCallback = (stage: Stage, fraction: number) => void;
