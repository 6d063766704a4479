/**
 * `diorama/babylon/pure`: the Babylon.js adapter without side effects. Importing it registers nothing;
 * call RegisterDioramaLoader() to enable `ImportMeshAsync('photo.jpg', scene, …)`, or build nodes directly
 * with createDioramaNodes().
 */
export { DioramaFileLoaderMetadata } from './diorama.metadata';
export * from './diorama.types';
export { DioramaFileLoader, RegisterDioramaLoader } from './diorama.pure';
export {
  DIORAMA_LOADER_DEFAULTS,
  type DioramaLoaderOptions,
  type DioramaDepthEstimator,
  type DioramaDepthEstimate,
  type DioramaModelOptions,
  type DioramaDownloadProgress,
  type DioramaLoadingStage,
  type DioramaStageEvent,
} from './diorama.options';
export {
  createDioramaNodes,
  getDioramaNodes,
  dioramaLayerName,
  DIORAMA_NODES_DEFAULTS,
  type DioramaNodes,
  type DioramaNodesOptions,
  type DioramaLayerMetadata,
  type DioramaOrbit,
  type PhotoCameraOptions,
} from './nodes';
export {
  createMpiMaterial,
  createLitMaterial,
  createLayerTexture,
  premultiplyRGBA,
  bleedStraightRGBA,
  depthSliceRemap,
  type DioramaDepthMode,
  type LayerMaterialOptions,
} from './mpi-material';
export { exportDioramaGLB, restoreDioramaOrder, getDioramaLayerMetadata, type ExportDioramaOptions } from './export';
export { decodeImageInBrowser, sniffImage, decodeDepthBytes, loadDepth, resampleDepth, type DepthSource, type DepthArray, type ImageHeader, type ImageFormat } from '../io/browser-decode';
export { decodeGreyPNG, decodeDepthPNG16, type GreyImage } from '../io/png16';
export { encodePNG } from '../io/png-encode';
