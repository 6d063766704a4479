/**
 * The engine-neutral scene description shared by the engine adapters (src/babylon, src/three): layers,
 * buffers, texture data, material parameters, photo camera, orbit limits, loader options and pipeline, and
 * the GLB layer materials. Imports no engine.
 */
export * from './description';
export * from './depth-slices';
export * from './textures';
export * from './options';
export { decomposePhoto, decomposePhotoBytes, explainAbort, nameFromFile, resolveDepth, toBytes, type PhotoDecomposition, type PhotoLoadContext } from './load';
export { attachLayerMaterials, readGLB, writeGLB, type GlbLayer } from './glb';
