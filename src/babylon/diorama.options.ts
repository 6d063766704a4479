/**
 * Options of the Diorama scene-loader plugin (`pluginOptions.diorama`): the engine-neutral loader options of
 * src/scene/options.ts (shared with the three.js loader) plus the Babylon-specific ones, and their defaults.
 */
import { DIORAMA_SHARED_LOADER_DEFAULTS, type DioramaSharedLoaderOptions } from '../scene/options';
import type { DioramaNodes } from './nodes';

export type {
  DioramaDepthEstimate,
  DioramaDepthEstimator,
  DioramaDownloadProgress,
  DioramaLoadingStage,
  DioramaModelOptions,
  DioramaStageEvent,
} from '../scene/options';

/**
 * Options of the Diorama loader. Pass them as `pluginOptions: { diorama: { ... } }`; every field is optional
 * and defaults to {@link DIORAMA_LOADER_DEFAULTS}. The shared fields are documented in
 * {@link DioramaSharedLoaderOptions}. (A type alias, not an interface, so that it satisfies
 * SceneLoaderPluginOptions' index signature.)
 */
export type DioramaLoaderOptions = DioramaSharedLoaderOptions & {
  /** alphaIndex of the farthest layer. Default 0. */
  alphaIndexBase: number;
  /**
   * Solve the harmonization on the engine's GPU when the engine is a WebGPUEngine (its device is shared, no
   * second device); ignored on WebGL. Default true.
   */
  useEngineGpu: boolean;
  /** Called with the built nodes (camera helper, orbit range, dispose) before the load resolves. Default none. */
  onNodesCreated: ((nodes: DioramaNodes) => void) | undefined;
};

/** Defaults of {@link DioramaLoaderOptions}. */
export const DIORAMA_LOADER_DEFAULTS: Readonly<DioramaLoaderOptions> = Object.freeze({
  ...DIORAMA_SHARED_LOADER_DEFAULTS,
  alphaIndexBase: 0,
  useEngineGpu: true,
  onNodesCreated: undefined,
});
