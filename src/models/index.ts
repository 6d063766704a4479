/**
 * `diorama/models`: Depth Anything 3 and SAM3 through onnxruntime-web (WebGPU with a wasm fallback), model
 * loading with cache and integrity checks, and the photo → scene pipeline.
 * Importing this module starts nothing: onnxruntime-web is loaded by the first createRuntime().
 */
export {
  createRuntime,
  defineContract,
  bindContract,
  bindAnyContract,
  ModelRuntime,
  isNode,
  toHalfBits,
  fromHalfBits,
  halfToFloat32,
  float32ToHalf,
  type RuntimeOptions,
  type SessionOptions,
  type RunOptions,
  type ModelSession,
  type ModelContract,
  type TensorSpec,
  type BoundTensor,
  type ModelBytes,
  type CpuTensor,
  type GpuTensor,
  type GpuFeed,
  type Feed,
  type TensorType,
  type Dim,
  type ExecutionProvider,
  type Precision,
  type DeviceMode,
} from './runtime';
export { modelError, type ModelErrorCode } from './errors';
export { browserCache, memoryCache, defaultCache, safeCache, type ModelCache } from './cache';
export { fetchModelFile, readModelFile, sha256Hex, verifySha256, fetchError, MODEL_FETCH_HINT, type DownloadProgress, type FetchOptions } from './fetch';
export { nodeBackend, type NodeBackend } from './ort-node';
export {
  MODEL_REGISTRY,
  PUBLIC_HOSTS,
  entryBaseUrl,
  huggingFaceUrl,
  loadModelBytes,
  variantFile,
  type DepthModelKind,
  type DepthLayout,
  type ModelSource,
  type RegistryEntry,
  type ModelFileSet,
  type LoadModelOptions,
  type LoadedModel,
} from './registry';
export {
  DA3_CONTRACT,
  DA3_NHWC_CONTRACT,
  DA3_CONTRACTS,
  DA3_NHWC_SIDE,
  letterboxBox,
  DA2_CONTRACT,
  DA3_PROCESS_RES,
  DA2_PROCESS_RES,
  IMAGENET_MEAN,
  IMAGENET_STD,
  DepthModel,
  loadDepthModel,
  da3ProcessingSize,
  da2ProcessingSize,
  type DepthResult,
  type EstimateOptions,
  type DepthModelOptions,
  type IntrinsicsSource,
} from './da3';
export { resizeToNCHW, resizeMap, axisTable } from './resample';
export {
  Sam3Tracker,
  Sam3Concepts,
  Sam3ImageEmbedding,
  sam3AutomaticMasks,
  resolveSam3Masks,
  sam3MasksToList,
  SAM3_AUTO_DEFAULTS,
  SAM3_CONCEPT_DEFAULTS,
  type Sam3Mask,
  type Sam3MaskSet,
  type Sam3Point,
  type Sam3Prompt,
  type Sam3PromptResult,
  type Sam3AutoOptions,
  type Sam3ConceptOptions,
  type Sam3ConceptInfo,
  type Sam3ConceptResult,
  type Sam3TrackerSources,
  type Sam3ConceptSources,
  type ResolvedSam3Masks,
} from './sam3';
export {
  SAM3_TRACKER_VISION_CONTRACT,
  SAM3_TRACKER_DECODER_CONTRACT,
  SAM3_DETECTOR_VISION_CONTRACT,
  SAM3_TEXT_ENCODER_CONTRACT,
  SAM3_DETECTOR_DECODER_CONTRACT,
} from './sam3-contracts';
export { TextTokenizer } from './tokenizer';
export {
  decomposePhoto,
  loaderEstimator,
  PhotoPipeline,
  automaticSegmenter,
  conceptSegmenter,
  type DecomposePhotoOptions,
  type PhotoEstimate,
  type PhotoDecomposition,
  type PhotoModels,
  type PhotoStage,
  type DepthEstimator,
  type MaskSegmenter,
} from './decompose-photo';
export { ModelWorkerClient, WorkerDepthModel, WorkerSegmenter, type WorkerRuntimeInfo } from './worker-client';
export type { WorkerRuntimeOptions } from './worker-protocol';
export { exifIntrinsics, intrinsicsFromExif, readExifFocalTags, type ExifFocalTags, type ExifIntrinsics, type ExifOptions } from '../io/exif';
