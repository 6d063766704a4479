/**
 * The Babylon loader with the models plugged in: `ImportMeshAsync(photoUrl, scene)` where the depth and the
 * masks come from diorama/models (the generated tiny DA3 and SAM3-tracker graphs, wasm EP) through
 * `loaderEstimator`. No depth option is given: the models are the only source of geometry.
 */
import { ImportMeshAsync } from '@babylonjs/core/Loading/sceneLoader.js';
import { expose } from './boot';
import { createEngine, createScene, type EngineKind } from './babylon-common';
import { RegisterDioramaLoader } from '../../../src/babylon/diorama.pure';
import { getDioramaNodes } from '../../../src/babylon/nodes';
import { PhotoPipeline, loaderEstimator } from '../../../src/models/decompose-photo';

RegisterDioramaLoader();

expose({
  /** A photo alone: no depth, no estimator: the loader's default models run from a mirror in the Hugging Face layout. */
  async importPhotoAlone(args: { engine: EngineKind; photo: string; modelBaseUrl: string; masks?: boolean }) {
    const engine = await createEngine(args.engine);
    const scene = createScene(engine);
    const progress: Record<string, { loaded: number; total: number | undefined; events: number }> = {};
    const before = scene.meshes.length;
    try {
      const result = await ImportMeshAsync(args.photo, scene, {
        pluginOptions: {
          diorama: {
            models: {
              modelBaseUrl: args.modelBaseUrl,
              ...(args.masks ? { masks: { pointsPerSide: 6 } } : {}),
              wasmPaths: '/node_modules/onnxruntime-web/dist/',
              executionProviders: ['wasm'],
              cache: false,
              onDownloadProgress: (p) => {
                const e = (progress[p.file.replace(args.modelBaseUrl, '')] ??= { loaded: 0, total: undefined, events: 0 });
                e.loaded = p.loaded;
                e.total = p.total;
                e.events++;
              },
            },
          },
        },
      });
      const nodes = getDioramaNodes(result.meshes[0]);
      const meta = (result.transformNodes[0]!.metadata as { diorama: { intrinsicsKnown?: boolean; depthKind?: string; intrinsics: { fx: number } } }).diorama;
      const out = {
        ok: true,
        layers: nodes?.layers.length ?? 0,
        meshes: result.meshes.filter((m) => m.getTotalVertices() > 0).length,
        progress,
        code: '',
        message: '',
        meshesAfter: 0,
        before,
        intrinsicsKnown: meta.intrinsicsKnown,
        depthKind: meta.depthKind,
        fx: meta.intrinsics.fx,
        maskCount: (meta as { maskCount?: number }).maskCount ?? -1,
        masksFrom: (meta as { masksFrom?: string }).masksFrom ?? '',
      };
      nodes?.dispose();
      return out;
    } catch (e) {
      const inner = (e as { innerError?: { code?: string; message?: string } }).innerError;
      return { ok: false, layers: 0, meshes: 0, progress, code: inner?.code ?? '', message: inner?.message ?? String(e), meshesAfter: scene.meshes.length, before, intrinsicsKnown: undefined, depthKind: undefined, fx: 0, maskCount: -1, masksFrom: '' };
    } finally {
      scene.dispose();
      engine.dispose();
    }
  },

  async importWithModels(args: { engine: EngineKind; photo: string }) {
    const engine = await createEngine(args.engine);
    const scene = createScene(engine);
    const pipeline = await PhotoPipeline.load({
      runtime: { wasmPaths: '/node_modules/onnxruntime-web/dist/', executionProviders: ['wasm'] },
      depth: '/out/models/da3-tiny.onnx',
      masks: { visionEncoder: '/out/models/sam3/tracker-vision-encoder.onnx', decoder: '/out/models/sam3/tracker-prompt-encoder-mask-decoder.onnx', automatic: { pointsPerSide: 8 } },
    });
    let estimated = 0;
    const estimator = loaderEstimator(pipeline);
    try {
      const result = await ImportMeshAsync(args.photo, scene, {
        pluginOptions: {
          diorama: {
            estimateDepth: async (image, signal) => {
              estimated++;
              return estimator(image, signal);
            },
          },
        },
      });
      const nodes = getDioramaNodes(result.meshes[0]);
      const out = {
        estimated,
        meshes: result.meshes.filter((m) => m.getTotalVertices() > 0).length,
        layers: nodes?.layers.length ?? 0,
      };
      nodes?.dispose();
      return out;
    } finally {
      await pipeline.dispose();
      scene.dispose();
      engine.dispose();
    }
  },
});
