/**
 * `diorama/babylon`: the Babylon.js adapter, registering the Diorama scene-loader plugin as a side effect
 * (like `@babylonjs/loaders/glTF`). Use `diorama/babylon/pure` to import without registering.
 */
import { RegisterDioramaLoader } from './diorama.pure';

export * from './pure';

RegisterDioramaLoader();
