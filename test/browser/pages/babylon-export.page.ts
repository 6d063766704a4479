/**
 * GLB export page: builds a diorama, renders its photo camera, exports a GLB with @babylonjs/serializers,
 * reloads it with @babylonjs/loaders (glTF), restores the layer order and renders the same camera again.
 */
import '@babylonjs/loaders/glTF/2.0/index.js';
import { ImportMeshAsync } from '@babylonjs/core/Loading/sceneLoader.js';
import type { AbstractMesh } from '@babylonjs/core/Meshes/abstractMesh.js';
import type { Material } from '@babylonjs/core/Materials/material.js';
import { FreeCamera } from '@babylonjs/core/Cameras/freeCamera.js';
import { Vector3 } from '@babylonjs/core/Maths/math.vector.js';
import { expose } from './boot';
import { createEngine, createScene, flushFrames, gpuCounters, holeFraction, renderPixels, renderPsnr, stereoInput, toBase64, type EngineKind } from './babylon-common';
import { makeScene } from '../../fixtures/scene';
import { decompose } from '../../../src/core/decompose';
import { createDioramaNodes } from '../../../src/babylon/nodes';
import { exportDioramaGLB, getDioramaLayerMetadata, restoreDioramaOrder } from '../../../src/babylon/export';

/** A fresh scene whose active camera is a neutral 'flush' camera, after the engine's pending frames ran. */
async function flushedScene(engine: Awaited<ReturnType<typeof createEngine>>) {
  const scene = createScene(engine);
  const flushCamera = new FreeCamera('flush', new Vector3(0, 0, 0), scene);
  scene.activeCamera = flushCamera;
  await flushFrames(engine, scene);
  return { scene, flushCamera };
}

expose({
  /** Export alone: build, render, export, dispose; GPU and engine counts must return to the baseline. */
  async exportRelease(args: { engine: EngineKind }) {
    const s = makeScene({ width: 160, height: 120 });
    const result = await decompose({ image: s.image, depth: s.depth, intrinsics: s.intrinsics });
    const engine = await createEngine(args.engine);
    try {
      const { scene, flushCamera } = await flushedScene(engine);
      const baseline = { ...gpuCounters(), engineTextures: engine.getLoadedTexturesCache().length, sceneTextures: scene.textures.length, materials: scene.materials.length };
      const rounds = [];
      for (let round = 0; round < 2; round++) {
        const nodes = createDioramaNodes(scene, result, { name: 'photo' });
        const camera = nodes.createPhotoCamera();
        await renderPixels(scene, camera, s.width, s.height);
        const glb = await exportDioramaGLB(nodes, { as: 'blob' });
        nodes.dispose();
        scene.activeCamera = flushCamera;
        await flushFrames(engine, scene);
        rounds.push({ matNames: scene.materials.map((m) => m.name), glbBytes: glb.size, ...gpuCounters(), engineTextures: engine.getLoadedTexturesCache().length, sceneTextures: scene.textures.length, materials: scene.materials.length });
      }
      scene.dispose();
      return { baseline, rounds };
    } finally {
      engine.dispose();
    }
  },

  async exportReload(args: { engine: EngineKind; scene?: string; dump?: boolean }) {
    const { image, depth, intrinsics } = args.scene ? await stereoInput(args.scene) : makeScene({ width: 256, height: 192 });
    const result = await decompose({ image, depth, intrinsics });
    const { width: W, height: H } = result;
    const engine = await createEngine(args.engine);
    try {
      const { scene, flushCamera } = await flushedScene(engine);
      const baseline = { ...gpuCounters(), engineTextures: engine.getLoadedTexturesCache().length };
      const nodes = createDioramaNodes(scene, result, { name: 'photo' });
      const camera = nodes.createPhotoCamera({ kind: 'free' });
      scene.activeCamera = camera;
      await flushFrames(engine, scene);
      const pluginRender = await renderPixels(scene, camera, W, H);
      await flushFrames(engine, scene);
      const before = { meshes: scene.meshes.length, materials: scene.materials.length, textures: scene.textures.length, gpu: gpuCounters() };
      const t0 = performance.now();
      const glb = await exportDioramaGLB(nodes);
      const exportMs = performance.now() - t0;
      await flushFrames(engine, scene);
      const afterExport = { meshes: scene.meshes.length, materials: scene.materials.length, textures: scene.textures.length, gpu: gpuCounters(), textureNames: scene.textures.map((t) => `${t.name}:${t.getClassName()}`) };
      const materialsRestored = nodes.layers.every((m) => m.material === nodes.materials[nodes.layers.indexOf(m)]);

      // Parse the JSON chunk for the checks a non-Babylon viewer would see.
      const view = new DataView(glb.buffer, glb.byteOffset, glb.byteLength);
      const jsonLength = view.getUint32(12, true);
      const gltf = JSON.parse(new TextDecoder().decode(glb.subarray(20, 20 + jsonLength))) as {
        nodes: { name?: string; mesh?: number; extras?: { dioramaLayer?: { layer: number } } }[];
        meshes: { primitives: { material?: number }[] }[];
        materials: { name?: string; alphaMode?: string; doubleSided?: boolean; extensions?: Record<string, unknown> }[];
        extensionsUsed?: string[];
      };
      const layerNodes = gltf.nodes.filter((n) => n.mesh !== undefined);
      const gltfInfo = {
        magic: String.fromCharCode(glb[0]!, glb[1]!, glb[2]!, glb[3]!),
        bytes: glb.length,
        layerNodeNames: layerNodes.map((n) => n.name),
        extrasLayers: layerNodes.map((n) => n.extras?.dioramaLayer?.layer),
        materialIndexOfLayer: layerNodes.map((n) => gltf.meshes[n.mesh!]!.primitives[0]!.material),
        alphaModes: gltf.materials.map((m) => m.alphaMode),
        doubleSided: gltf.materials.map((m) => m.doubleSided),
        unlit: gltf.materials.map((m) => !!m.extensions?.KHR_materials_unlit),
        extensionsUsed: gltf.extensionsUsed ?? [],
        hasCamera: gltf.nodes.some((n) => (n as { camera?: number }).camera !== undefined),
      };

      // Reload into the same scene with the original diorama hidden.
      nodes.root.setEnabled(false);
      const loaded = await ImportMeshAsync(glb, scene, { pluginExtension: '.glb' });
      const layers = restoreDioramaOrder(loaded.meshes);
      const reloadRender = await renderPixels(scene, camera, W, H);
      const reloadInfo = {
        layers: layers.length,
        names: layers.map((m) => m.name),
        metadataLayers: layers.map((m) => getDioramaLayerMetadata(m)?.layer),
        alphaIndices: layers.map((m) => m.alphaIndex),
        blend: layers.map((m) => (m.material as Material).needAlphaBlending()),
        materialNames: layers.map((m) => (m.material as Material).name),
        vertexCounts: layers.map((m) => (m as AbstractMesh).getTotalVertices()),
      };
      const out = {
        width: W,
        height: H,
        layers: nodes.layers.length,
        vertexCounts: nodes.layers.map((m) => m.getTotalVertices()),
        exportMs,
        before,
        afterExport,
        materialsRestored,
        gltfInfo,
        reloadInfo,
        psnrPluginVsPhoto: renderPsnr(pluginRender, image),
        psnrReloadVsPlugin: renderPsnr(reloadRender, { width: W, height: H, data: pluginRender }),
        psnrReloadVsPhoto: renderPsnr(reloadRender, image),
        holesReload: holeFraction(reloadRender, W * H, pluginRender),
      };
      if (args.dump) (out as Record<string, unknown>).pixels = toBase64(reloadRender);
      for (const m of loaded.meshes) m.dispose(false, true);
      for (const t of loaded.transformNodes) t.dispose();
      for (const t of loaded.meshes.map((m) => m.material)) t?.dispose(true, true);
      nodes.dispose();
      scene.activeCamera = flushCamera;
      await flushFrames(engine, scene);
      (out as Record<string, unknown>).baseline = baseline;
      (out as Record<string, unknown>).afterDispose = { ...gpuCounters(), engineTextures: engine.getLoadedTexturesCache().length };
      scene.dispose();
      return out;
    } finally {
      engine.dispose();
    }
  },
});
