/**
 * `diorama/three`: the three.js adapter for `WebGLRenderer` (ShaderMaterial layers). Importing it has no
 * side effects. For `WebGPURenderer` import the same API from `diorama/three/webgpu` (node materials).
 */
export { DioramaLoader, DIORAMA_THREE_LOADER_DEFAULTS, type DioramaThreeLoaderOptions } from './loader';
export {
  createDiorama,
  getDiorama,
  applyPhotoIntrinsics,
  DIORAMA_THREE_DEFAULTS,
  type Diorama,
  type DioramaThreeOptions,
  type DioramaThreeLayerData,
  type DioramaThreeOrbit,
  type OrbitControlsLike,
} from './diorama';
export { createMpiShaderMaterial, createLitLayerMaterial, createLayerTexture, layerDepthRemap, webglMaterials, type DioramaMaterialFactory } from './materials';
export { exportDioramaGLB, restoreDioramaOrder, type ExportDioramaOptions } from './export';
export type { DioramaSharedLoaderOptions, DioramaDepthEstimate, DioramaDepthEstimator, DioramaLoadingStage, DioramaStageEvent } from '../scene/options';
export type { DioramaLayerMetadata, DioramaRootMetadata } from '../scene/description';
export type { DioramaDepthMode } from '../scene/depth-slices';
export { DioramaError, type DioramaErrorCode } from '../core/errors';
