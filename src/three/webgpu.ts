/**
 * `diorama/three/webgpu`: the three.js adapter for `WebGPURenderer` (`three/webgpu`): the same API as
 * `diorama/three`, with node materials. `DioramaLoader` and `createDiorama` here build node-material layers.
 */
import type { LoadingManager } from 'three';
import { createDiorama as createDioramaWith, type Diorama, type DioramaThreeOptions } from './diorama';
import { DioramaLoader as BaseLoader, type DioramaThreeLoaderOptions } from './loader';
import { webgpuMaterials } from './node-materials';
import type { Decomposition } from '../core/types';

/** DioramaLoader for WebGPURenderer (node materials); see `diorama/three`'s DioramaLoader. */
export class DioramaLoader extends BaseLoader {
  /**
   * @param manager the LoadingManager (default three.js's DefaultLoadingManager)
   * @param options loader options (every field optional)
   */
  constructor(manager?: LoadingManager, options: Partial<DioramaThreeLoaderOptions> = {}) {
    super(manager, options, webgpuMaterials);
  }
}

/** createDiorama with node materials by default (WebGPURenderer). */
export function createDiorama(decomposition: Decomposition, options: DioramaThreeOptions = {}): Diorama {
  return createDioramaWith(decomposition, { materials: webgpuMaterials, ...options });
}

export { createMpiNodeMaterial, createLitNodeMaterial, webgpuMaterials } from './node-materials';
export { DIORAMA_THREE_LOADER_DEFAULTS, type DioramaThreeLoaderOptions } from './loader';
export {
  getDiorama,
  applyPhotoIntrinsics,
  DIORAMA_THREE_DEFAULTS,
  type Diorama,
  type DioramaThreeOptions,
  type DioramaThreeLayerData,
  type DioramaThreeOrbit,
  type OrbitControlsLike,
} from './diorama';
export { createLayerTexture, layerDepthRemap, type DioramaMaterialFactory } from './materials';
export { exportDioramaGLB, restoreDioramaOrder, type ExportDioramaOptions } from './export';
export type { DioramaSharedLoaderOptions, DioramaDepthEstimate, DioramaDepthEstimator, DioramaLoadingStage, DioramaStageEvent } from '../scene/options';
export type { DioramaLayerMetadata, DioramaRootMetadata } from '../scene/description';
export type { DioramaDepthMode } from '../scene/depth-slices';
export { DioramaError, type DioramaErrorCode } from '../core/errors';
