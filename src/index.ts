/**
 * Diorama core: photo + depth (+ masks) → layered, depth-displaced meshes (a multiplane image).
 * Importing this module has no side effects.
 */
export { decompose, type DecomposeOptions } from './core/decompose';
export { DioramaError, type DioramaErrorCode } from './core/errors';
export type * from './core/types';
export { DEFAULT_FOV_DEGREES, DEFAULT_MAX_PIXELS } from './core/validate';
export { INPAINT_DEFAULTS, type InpaintOptions } from './core/build-layers';
export { harmonize, assembleHarmonizeSystem, HARMONIZE_DEFAULTS, type HarmonizeOptions, type HarmonizeInput, type HarmonizeResult, type HarmonizeSystem, type HarmonizeTimings } from './math/harmonize';
export { assignLayers, clusterMasks, computeMaskStats, masksMayShareLayer, LAYER_DEFAULTS, type LayerOptions, type LayerAssignment, type MaskStats } from './math/layers';
export { harmonicFill, type HarmonicFillOptions } from './math/harmonic';
export { inpaintTelea, type TeleaOptions } from './math/telea';
export { buildLayerMesh, MESH_DEFAULTS, type MeshOptions } from './math/mesh';
export { segmentDepth, type DepthSegmentOptions } from './math/labels';
export { solveGridPCG, type GridSystem, type SolveOptions, type SolveResult } from './math/solver';
export { decodePFM, encodePFM, type FloatImage } from './io/pfm';
