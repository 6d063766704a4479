/**
 * Module augmentation: types `pluginOptions.diorama` of Babylon's SceneLoader calls
 * (`ImportMeshAsync(url, scene, { pluginOptions: { diorama: { depth, ... } } })`).
 */
import type { DioramaFileLoaderMetadata } from './diorama.metadata';
import type { DioramaLoaderOptions } from './diorama.options';

declare module '@babylonjs/core/Loading/sceneLoader.js' {
  interface SceneLoaderPluginOptions {
    /** Options of the Diorama photo loader (see DioramaLoaderOptions; every field optional). */
    [DioramaFileLoaderMetadata.name]: Partial<DioramaLoaderOptions>;
  }
}

export {};
