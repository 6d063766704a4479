/**
 * Loader page: drives the Diorama scene-loader plugin through Babylon's SceneLoader entry points
 * (ImportMeshAsync, AppendSceneAsync, LoadAssetContainerAsync) with a URL, a File and bytes, checks
 * options, progress, errors, cancellation and resource release, and renders the photo camera.
 */
import { ImportMeshAsync, AppendSceneAsync, LoadAssetContainerAsync, SceneLoader } from '@babylonjs/core/Loading/sceneLoader.js';
import type { ISceneLoaderPlugin, ISceneLoaderPluginAsync, ISceneLoaderProgressEvent } from '@babylonjs/core/Loading/sceneLoader.js';
import '@babylonjs/core/Loading/loadingScreen.js'; // AppendSceneAsync shows Babylon's loading screen
import { FreeCamera } from '@babylonjs/core/Cameras/freeCamera.js';
import { Vector3 } from '@babylonjs/core/Maths/math.vector.js';
import type { AbstractEngine } from '@babylonjs/core/Engines/abstractEngine.js';
import type { Scene } from '@babylonjs/core/scene.js';
import { expose } from './boot';
import { createEngine, createScene, fetchRGBA, flushFrames, fromBase64, gpuCounters, holeFraction, renderPixels, renderPsnr, type EngineKind } from './babylon-common';
import { makeScene } from '../../fixtures/scene';
import { decodePFM, encodePFM } from '../../../src/io/pfm';
import { encodePNG } from '../../../src/io/png-encode';
import { DioramaFileLoader, RegisterDioramaLoader } from '../../../src/babylon/diorama.pure';
import { getDioramaNodes, type DioramaNodes } from '../../../src/babylon/nodes';
import type { DioramaLoaderOptions, DioramaStageEvent } from '../../../src/babylon/diorama.options';
import { decodeGreyPNG } from '../../../src/io/png16';
import { DioramaError } from '../../../src/core/errors';

RegisterDioramaLoader();
RegisterDioramaLoader(); // idempotent

/** The synthetic scene as a lossless PNG + its depth. */
async function synthetic(width = 256, height = 192) {
  const s = makeScene({ width, height });
  const png = await encodePNG(s.image);
  return { s, png };
}

interface SceneSnapshot {
  meshes: number;
  materials: number;
  textures: number;
  transformNodes: number;
  geometries: number;
  engineTextures: number;
  gpuBuffers: number;
  gpuTextures: number;
}

function snapshot(scene: Scene, engine: AbstractEngine): SceneSnapshot {
  const g = gpuCounters();
  return {
    meshes: scene.meshes.length,
    materials: scene.materials.length,
    textures: scene.textures.length,
    transformNodes: scene.transformNodes.length,
    geometries: scene.geometries.length,
    engineTextures: engine.getLoadedTexturesCache().length,
    gpuBuffers: g.buffers,
    gpuTextures: g.textures,
  };
}

/**
 * Runs `test` on a fresh engine + scene with a camera of the test's own (a warm-up frame rendered first so that
 * baselines are stable), and disposes both afterwards.
 */
async function withScene<T>(kind: EngineKind, test: (ctx: { engine: AbstractEngine; scene: Scene; camera: FreeCamera }) => Promise<T>): Promise<T> {
  const engine = await createEngine(kind);
  const scene = createScene(engine);
  try {
    const camera = new FreeCamera('test-camera', new Vector3(0, 0, -1), scene);
    scene.activeCamera = camera;
    await flushFrames(engine, scene);
    return await test({ engine, scene, camera });
  } finally {
    scene.dispose();
    engine.dispose();
  }
}

/** ImportMeshAsync of `source` with `diorama` plugin options; resolves to the nodes it built. */
async function importNodes(source: string | ArrayBufferView, scene: Scene, diorama: Partial<DioramaLoaderOptions>, extra: { pluginExtension?: string } = { pluginExtension: '.png' }): Promise<DioramaNodes> {
  let nodes: DioramaNodes | undefined;
  await ImportMeshAsync(source, scene, { ...extra, pluginOptions: { diorama: { ...diorama, onNodesCreated: (n) => (nodes = n) } } });
  if (!nodes) throw new Error('the loader resolved without calling onNodesCreated');
  return nodes;
}

function errorInfo(e: unknown) {
  const err = e as { message?: string; innerError?: unknown; cause?: unknown; name?: string };
  const inner = (err?.innerError ?? err?.cause ?? err) as { code?: string; message?: string; name?: string };
  return {
    message: String(err?.message ?? e),
    outerName: err?.name,
    innerIsDiorama: inner instanceof DioramaError,
    code: inner instanceof DioramaError ? inner.code : undefined,
    innerMessage: inner?.message,
  };
}

/** Runs `load` while capturing the activated plugin, its stage events and byte progress. */
async function withPlugin<T>(load: (onProgress: (e: ISceneLoaderProgressEvent) => void) => Promise<T>, onActivated?: (p: DioramaFileLoader) => void) {
  const stages: DioramaStageEvent[] = [];
  const bytes: { loaded: number; total: number }[] = [];
  let plugin: DioramaFileLoader | null = null;
  const obs = SceneLoader.OnPluginActivatedObservable.add((p: ISceneLoaderPlugin | ISceneLoaderPluginAsync) => {
    if (p instanceof DioramaFileLoader) {
      plugin = p;
      p.onStageChangedObservable.add((e) => stages.push({ ...e }));
      onActivated?.(p);
    }
  });
  try {
    const value = await load((e) => bytes.push({ loaded: e.loaded, total: e.total }));
    return { value, stages, bytes, plugin: plugin as DioramaFileLoader | null };
  } finally {
    SceneLoader.OnPluginActivatedObservable.remove(obs);
  }
}

expose({
  /** ImportMeshAsync from bytes, a File and a URL; pluginOptions reach the plugin; original view PSNR. */
  importSources: (args: { engine: EngineKind }) =>
    withScene(args.engine, async ({ scene }) => {
      const { s, png } = await synthetic();
      const out: Record<string, unknown> = {};
      const depth = { data: s.depth, width: s.width, height: s.height };
      const sources: Record<string, () => { source: string | File | ArrayBufferView; extra: object }> = {
        bytes: () => ({ source: png, extra: { pluginExtension: '.png' } }),
        file: () => ({ source: new File([png as BlobPart], 'room.png', { type: 'image/png' }), extra: {} }),
        url: () => ({ source: URL.createObjectURL(new Blob([png as BlobPart], { type: 'image/png' })), extra: { pluginExtension: '.png', name: 'room-url.png' } }),
      };
      for (const [kind, make] of Object.entries(sources)) {
        const { source, extra } = make();
        let created: DioramaNodes | undefined;
        const opts: Partial<DioramaLoaderOptions> = {
          depth,
          intrinsics: s.intrinsics,
          alphaIndexBase: 100,
          name: kind === 'file' ? undefined : `photo-${kind}`,
          onNodesCreated: (n) => (created = n),
        };
        const r = await withPlugin((onProgress) => ImportMeshAsync(source, scene, { ...extra, onProgress, pluginOptions: { diorama: opts } }));
        const nodes = created!;
        const root = r.value.transformNodes[0]!;
        const px = await renderPixels(scene, nodes.createPhotoCamera(), s.width, s.height);
        out[kind] = {
          meshes: r.value.meshes.length,
          meshNames: r.value.meshes.map((m) => m.name),
          rootName: root.name,
          sameNodes: getDioramaNodes(r.value.meshes[0]) === nodes && r.plugin?.nodes === nodes,
          alphaIndices: r.value.meshes.map((m) => m.alphaIndex),
          parentsOk: r.value.meshes.every((m) => m.parent === root),
          metadataLayers: r.value.meshes.map((m) => (m.metadata as { diorama: { layer: number } }).diorama.layer),
          concepts: r.value.meshes.map((m) => (m.metadata as { diorama: { concepts: string[] } }).diorama.concepts),
          stages: [...new Set(r.stages.map((e) => e.stage))],
          lastStage: r.stages[r.stages.length - 1],
          byteEvents: r.bytes.length,
          lastBytes: r.bytes[r.bytes.length - 1],
          pngBytes: png.length,
          psnr: renderPsnr(px, s.image),
          holes: holeFraction(px, s.width * s.height),
        };
        nodes.dispose();
        if (typeof source === 'string') URL.revokeObjectURL(source);
      }
      return out;
    }),

  /** AppendSceneAsync and LoadAssetContainerAsync; release of every resource after dispose. */
  appendAndContainer: (args: { engine: EngineKind }) =>
    withScene(args.engine, async ({ engine, scene, camera }) => {
      const { s, png } = await synthetic();
      const opts = { depth: { data: s.depth, width: s.width, height: s.height }, intrinsics: s.intrinsics };
      const append = async (): Promise<DioramaNodes> => {
        let n: DioramaNodes | undefined;
        await AppendSceneAsync(png, scene, { pluginExtension: '.png', pluginOptions: { diorama: { ...opts, onNodesCreated: (x) => (n = x) } } });
        return n!;
      };
      // Warm-up load + dispose so that shader/effect caches and the readback path exist before the baseline.
      {
        const n = await append();
        await renderPixels(scene, n.createPhotoCamera(), s.width, s.height);
        n.dispose();
        scene.activeCamera = camera;
        await flushFrames(engine, scene);
      }
      const baseline = snapshot(scene, engine);

      const a = await append();
      const afterAppend = snapshot(scene, engine);
      const pxAppend = await renderPixels(scene, a.createPhotoCamera(), s.width, s.height);
      const appendPsnr = renderPsnr(pxAppend, s.image);
      const appendLayers = a.layers.length;
      a.dispose();
      scene.activeCamera = camera;
      await flushFrames(engine, scene);
      const afterAppendDispose = snapshot(scene, engine);

      const c = await withPlugin(() => LoadAssetContainerAsync(png, scene, { pluginExtension: '.png', pluginOptions: { diorama: opts } }));
      const container = c.value;
      const afterContainerLoad = snapshot(scene, engine);
      const containerCounts = { meshes: container.meshes.length, materials: container.materials.length, textures: container.textures.length, transformNodes: container.transformNodes.length };
      container.addAllToScene();
      const inScene = snapshot(scene, engine);
      const nodes = getDioramaNodes(container.meshes[0])!;
      const px = await renderPixels(scene, nodes.createPhotoCamera(), s.width, s.height);
      const containerPsnr = renderPsnr(px, s.image);
      nodes.dispose();
      scene.activeCamera = camera;
      await flushFrames(engine, scene);
      const afterContainerDispose = snapshot(scene, engine);
      return {
        baseline,
        afterAppend,
        appendLayers,
        appendPsnr,
        afterAppendDispose,
        afterContainerLoad,
        containerCounts,
        containerLeft: { meshes: container.meshes.length, materials: container.materials.length, textures: container.textures.length, transformNodes: container.transformNodes.length },
        inScene,
        containerPsnr,
        afterContainerDispose,
      };
    }),

  /** Bad inputs: each must reject with a typed DioramaError and leave the scene unchanged. */
  badInputs: (args: { engine: EngineKind }) =>
    withScene(args.engine, async ({ engine, scene }) => {
      const { s, png } = await synthetic(64, 48);
      const depth = { data: s.depth, width: s.width, height: s.height };
      // A PNG whose header claims 30000×30000 (900 MP) but that holds nothing else.
      const huge = png.slice(0, 33);
      new DataView(huge.buffer).setUint32(16, 30000);
      new DataView(huge.buffer).setUint32(20, 30000);
      // Valid signature and IHDR, garbage image data.
      const corrupt = png.slice();
      for (let i = 40; i < corrupt.length - 12; i++) corrupt[i] = (i * 7919) & 0xff;
      const cases: Record<string, { source: ArrayBufferView | File; options?: Partial<DioramaLoaderOptions> }> = {
        corrupt: { source: corrupt },
        nonImage: { source: new TextEncoder().encode('this is not an image, only text pretending to be a .png file') },
        zeroBytes: { source: new File([], 'empty.png', { type: 'image/png' }) },
        hugeHeader: { source: huge },
        overMaxPixels: { source: png, options: { maxPixels: 1000 } },
        noDepth: { source: png, options: { depth: undefined, models: false } },
        badDepthBytes: { source: png, options: { depth: new TextEncoder().encode('not a depth file') } },
        depthSizeMismatch: { source: png, options: { depth: { data: new Float32Array(10), width: 3, height: 3 } } },
      };
      const before = snapshot(scene, engine);
      const out: Record<string, Record<string, unknown>> = {};
      for (const [name, c] of Object.entries(cases)) {
        const opts: Partial<DioramaLoaderOptions> = { depth, intrinsics: s.intrinsics, ...c.options };
        try {
          await ImportMeshAsync(c.source, scene, { ...(c.source instanceof File ? {} : { pluginExtension: '.png' }), pluginOptions: { diorama: opts } });
          out[name] = { resolved: true };
        } catch (e) {
          out[name] = errorInfo(e);
        }
        await flushFrames(engine, scene);
        out[name].after = snapshot(scene, engine);
      }
      return { before, cases: out };
    }),

  /** plugin.dispose() while decompose runs, and while a URL is being fetched. */
  cancel: (args: { engine: EngineKind }) =>
    withScene(args.engine, async ({ engine, scene }) => {
      const { s, png } = await synthetic(320, 240);
      const depth = { data: s.depth, width: s.width, height: s.height };
      const before = snapshot(scene, engine);
      const out: Record<string, Record<string, unknown>> = {};
      // 1. During the decomposition (on its 'harmonize' stage).
      let stageAtDispose: string | undefined;
      try {
        await withPlugin(
          () => ImportMeshAsync(png, scene, { pluginExtension: '.png', pluginOptions: { diorama: { depth, intrinsics: s.intrinsics } } }),
          (p) =>
            p.onStageChangedObservable.add((e) => {
              if (e.stage === 'harmonize' && !p.isDisposed) {
                stageAtDispose = e.stage;
                p.dispose();
              }
            }),
        );
        out.duringDecompose = { resolved: true };
      } catch (e) {
        out.duringDecompose = { ...errorInfo(e), stageAtDispose };
      }
      await flushFrames(engine, scene);
      out.duringDecompose.after = snapshot(scene, engine);
      // 2. During the fetch of a URL (disposed as soon as the plugin is activated).
      const url = URL.createObjectURL(new Blob([png as BlobPart], { type: 'image/png' }));
      try {
        await withPlugin(
          () => ImportMeshAsync(url, scene, { pluginExtension: '.png', pluginOptions: { diorama: { depth } } }),
          (p) => p.dispose(),
        );
        out.duringFetch = { resolved: true };
      } catch (e) {
        out.duringFetch = errorInfo(e);
      }
      URL.revokeObjectURL(url);
      await flushFrames(engine, scene);
      out.duringFetch.after = snapshot(scene, engine);
      // 3. An external AbortSignal that is already aborted.
      const ac = new AbortController();
      ac.abort();
      try {
        await ImportMeshAsync(png, scene, { pluginExtension: '.png', pluginOptions: { diorama: { depth, signal: ac.signal } } });
        out.externalSignal = { resolved: true };
      } catch (e) {
        out.externalSignal = errorInfo(e);
      }
      // 4. A load after all that still works.
      const ok = await importNodes(png, scene, { depth });
      out.afterwards = { layers: ok.layers.length };
      ok.dispose();
      return { before, ...out };
    }),

  /** A stereo scene of the shared data through the loader: URL photo + URL disparity (inverse depth, scale W). */
  async stereoOriginal(args: { scene: string; engines: EngineKind[] }) {
    const base = `/shared-data/stereo/${args.scene}`;
    const reference = await fetchRGBA(`${base}/left.png`);
    const W = reference.width;
    const H = reference.height;
    const out: Record<string, unknown> = { width: W, height: H };
    for (const kind of args.engines) {
      out[kind] = await withScene(kind, async ({ scene }) => {
        const t0 = performance.now();
        const n = await importNodes(
          `${base}/left.png`,
          scene,
          {
            depth: `${base}/disp.pfm`,
            depthIsInverse: true,
            depthScale: W, // depth = f·B/d with f = W, B = 1
            intrinsics: { fx: W, fy: W, cx: W / 2, cy: H / 2 },
          },
          {},
        );
        const loadMs = performance.now() - t0;
        const px = await renderPixels(scene, n.createPhotoCamera(), W, H);
        const result = { psnr: renderPsnr(px, reference), holes: holeFraction(px, W * H), layers: n.layers.length, loadMs };
        n.dispose();
        return result;
      });
    }
    return out;
  },

  /** Decodes a 16-bit PNG (base64) in the browser and returns its samples. */
  async png16(args: { base64: string }) {
    const g = await decodeGreyPNG(fromBase64(args.base64));
    return { width: g.width, height: g.height, samples: Array.from(g.data) };
  },

  /** Depth given as PFM bytes and as a 16-bit PNG (mm, base64) through the loader: layers and PSNR. */
  depthFormats: (args: { engine: EngineKind; png16: string }) =>
    withScene(args.engine, async ({ scene }) => {
      const { s, png } = await synthetic(256, 192);
      const pfm = encodePFM({ width: s.width, height: s.height, data: s.depth });
      const png16 = fromBase64(args.png16);
      const out: Record<string, unknown> = {};
      for (const [name, depth] of [
        ['pfm', pfm],
        ['png16', png16],
        ['png16Blob', new Blob([png16 as BlobPart])],
        ['halfSizeArray', halfSize(s.depth, s.width, s.height)],
      ] as const) {
        const n = await importNodes(png, scene, { depth, intrinsics: s.intrinsics });
        const px = await renderPixels(scene, n.createPhotoCamera(), s.width, s.height);
        out[name] = { layers: n.layers.length, psnr: renderPsnr(px, s.image) };
        n.dispose();
      }
      // Sanity of the PFM test input itself.
      const back = decodePFM(pfm);
      out.pfmRoundTrip = back.data.every((v, i) => v === s.depth[i]);
      return out;
    }),
});

function halfSize(depth: Float32Array, W: number, H: number) {
  const w = W >> 1;
  const h = H >> 1;
  const data = new Float32Array(w * h);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) data[y * w + x] = depth[2 * y * W + 2 * x]!;
  return { data, width: w, height: h };
}
