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
import { createEngine, createScene, fetchRGBA, flushFrames, gpuCounters, holeFraction, psnrRGB, renderPixels, type EngineKind } from './babylon-common';
import { makeScene } from '../../fixtures/scene';
import { encodePFM } from '../../../src/io/pfm';
import { decodePFM } from '../../../src/io/pfm';
import { DioramaFileLoader, RegisterDioramaLoader } from '../../../src/babylon/diorama.pure';
import { getDioramaNodes, type DioramaNodes } from '../../../src/babylon/nodes';
import type { DioramaLoaderOptions, DioramaStageEvent } from '../../../src/babylon/diorama.options';
import { decodeGreyPNG } from '../../../src/io/png16';
import { DioramaError } from '../../../src/core/errors';
import type { RGBAImage } from '../../../src/core/types';

RegisterDioramaLoader();
RegisterDioramaLoader(); // idempotent

/** Lossless PNG bytes of an RGBA image through a canvas (opaque images round-trip exactly). */
async function encodePNG(img: RGBAImage): Promise<Uint8Array> {
  const c = new OffscreenCanvas(img.width, img.height);
  const ctx = c.getContext('2d')!;
  ctx.putImageData(new ImageData(new Uint8ClampedArray(img.data), img.width, img.height), 0, 0);
  const blob = await c.convertToBlob({ type: 'image/png' });
  return new Uint8Array(await blob.arrayBuffer());
}

/** The synthetic scene as a PNG + its depth. */
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

/** Engine + scene with a camera of the test's own; renders a warm-up frame so that baselines are stable. */
async function setup(kind: EngineKind) {
  const engine = await createEngine(kind);
  const scene = createScene(engine);
  const camera = new FreeCamera('test-camera', new Vector3(0, 0, -1), scene);
  scene.activeCamera = camera;
  await flushFrames(engine, scene);
  return { engine, scene, camera };
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
  async importSources(args: { engine: EngineKind }) {
    const { engine, scene } = await setup(args.engine);
    try {
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
        let created: DioramaNodes | null = null;
        const opts: Partial<DioramaLoaderOptions> = {
          depth,
          intrinsics: s.intrinsics,
          alphaIndexBase: 100,
          name: kind === 'file' ? undefined : `photo-${kind}`,
          onNodesCreated: (n) => (created = n),
        };
        const r = await withPlugin((onProgress) => ImportMeshAsync(source, scene, { ...extra, onProgress, pluginOptions: { diorama: opts } }));
        const nodes = created as DioramaNodes | null;
        const root = r.value.transformNodes[0]!;
        const camera = nodes!.createPhotoCamera();
        const px = await renderPixels(scene, camera, s.width, s.height);
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
          psnr: psnrRGB(px, s.image.data, s.width * s.height),
          holes: holeFraction(px, s.width * s.height),
        };
        nodes!.dispose();
        if (typeof source === 'string') URL.revokeObjectURL(source);
      }
      return out;
    } finally {
      scene.dispose();
      engine.dispose();
    }
  },

  /** AppendSceneAsync and LoadAssetContainerAsync; release of every resource after dispose. */
  async appendAndContainer(args: { engine: EngineKind }) {
    const { engine, scene, camera } = await setup(args.engine);
    try {
      const { s, png } = await synthetic();
      const opts = { depth: { data: s.depth, width: s.width, height: s.height }, intrinsics: s.intrinsics };
      // Warm-up load + dispose so that shader/effect caches and the readback path exist before the baseline.
      {
        let n: DioramaNodes | null = null;
        await AppendSceneAsync(png, scene, { pluginExtension: '.png', pluginOptions: { diorama: { ...opts, onNodesCreated: (x) => (n = x) } } });
        const cam = (n as unknown as DioramaNodes).createPhotoCamera();
        await renderPixels(scene, cam, s.width, s.height);
        (n as unknown as DioramaNodes).dispose();
        scene.activeCamera = camera;
        await flushFrames(engine, scene);
      }
      const baseline = snapshot(scene, engine);

      let appended: DioramaNodes | null = null;
      await AppendSceneAsync(png, scene, { pluginExtension: '.png', pluginOptions: { diorama: { ...opts, onNodesCreated: (x) => (appended = x) } } });
      const afterAppend = snapshot(scene, engine);
      const a = appended as unknown as DioramaNodes;
      const cam = a.createPhotoCamera();
      const pxAppend = await renderPixels(scene, cam, s.width, s.height);
      const appendPsnr = psnrRGB(pxAppend, s.image.data, s.width * s.height);
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
      const cam2 = nodes.createPhotoCamera();
      const px = await renderPixels(scene, cam2, s.width, s.height);
      const containerPsnr = psnrRGB(px, s.image.data, s.width * s.height);
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
    } finally {
      scene.dispose();
      engine.dispose();
    }
  },

  /** Bad inputs: each must reject with a typed DioramaError and leave the scene unchanged. */
  async badInputs(args: { engine: EngineKind }) {
    const { engine, scene } = await setup(args.engine);
    try {
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
        noDepth: { source: png, options: { depth: undefined } },
        badDepthBytes: { source: png, options: { depth: new TextEncoder().encode('not a depth file') } },
        depthSizeMismatch: { source: png, options: { depth: { data: new Float32Array(10), width: 3, height: 3 } } },
      };
      const before = snapshot(scene, engine);
      const out: Record<string, unknown> = {};
      for (const [name, c] of Object.entries(cases)) {
        const opts: Partial<DioramaLoaderOptions> = { depth, intrinsics: s.intrinsics, ...c.options };
        try {
          if (c.source instanceof File) await ImportMeshAsync(c.source, scene, { pluginOptions: { diorama: opts } });
          else await ImportMeshAsync(c.source, scene, { pluginExtension: '.png', pluginOptions: { diorama: opts } });
          out[name] = { resolved: true };
        } catch (e) {
          out[name] = errorInfo(e);
        }
        await flushFrames(engine, scene);
        (out[name] as Record<string, unknown>).after = snapshot(scene, engine);
      }
      return { before, cases: out };
    } finally {
      scene.dispose();
      engine.dispose();
    }
  },

  /** plugin.dispose() while decompose runs, and while a URL is being fetched. */
  async cancel(args: { engine: EngineKind }) {
    const { engine, scene } = await setup(args.engine);
    try {
      const { s, png } = await synthetic(320, 240);
      const depth = { data: s.depth, width: s.width, height: s.height };
      const before = snapshot(scene, engine);
      const out: Record<string, unknown> = {};
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
      (out.duringDecompose as Record<string, unknown>).after = snapshot(scene, engine);
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
      (out.duringFetch as Record<string, unknown>).after = snapshot(scene, engine);
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
      let ok: DioramaNodes | null = null;
      await ImportMeshAsync(png, scene, { pluginExtension: '.png', pluginOptions: { diorama: { depth, onNodesCreated: (n) => (ok = n) } } });
      out.afterwards = { layers: (ok as unknown as DioramaNodes).layers.length };
      (ok as unknown as DioramaNodes).dispose();
      return { before, ...out };
    } finally {
      scene.dispose();
      engine.dispose();
    }
  },

  /** A stereo scene of the shared data through the loader: URL photo + URL disparity (inverse depth, scale W). */
  async stereoOriginal(args: { scene: string; engines: EngineKind[] }) {
    const base = `/shared-data/stereo/${args.scene}`;
    const reference = await fetchRGBA(`${base}/left.png`);
    const W = reference.width;
    const H = reference.height;
    const out: Record<string, unknown> = { width: W, height: H };
    for (const kind of args.engines) {
      const { engine, scene } = await setup(kind);
      try {
        let nodes: DioramaNodes | null = null;
        const t0 = performance.now();
        await ImportMeshAsync(`${base}/left.png`, scene, {
          pluginOptions: {
            diorama: {
              depth: `${base}/disp.pfm`,
              depthIsInverse: true,
              depthScale: W, // depth = f·B/d with f = W, B = 1
              intrinsics: { fx: W, fy: W, cx: W / 2, cy: H / 2 },
              onNodesCreated: (n) => (nodes = n),
            },
          },
        });
        const loadMs = performance.now() - t0;
        const n = nodes as unknown as DioramaNodes;
        const cam = n.createPhotoCamera();
        const px = await renderPixels(scene, cam, W, H);
        out[kind] = { psnr: psnrRGB(px, reference.data, W * H), holes: holeFraction(px, W * H), layers: n.layers.length, loadMs };
        n.dispose();
      } finally {
        scene.dispose();
        engine.dispose();
      }
    }
    return out;
  },

  /** Decodes a 16-bit PNG (base64) in the browser and returns its samples. */
  async png16(args: { base64: string }) {
    const bin = atob(args.base64);
    const bytes = new Uint8Array(bin.length);
    for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
    const g = await decodeGreyPNG(bytes);
    return { width: g.width, height: g.height, samples: Array.from(g.data) };
  },

  /** Depth given as PFM bytes and as a 16-bit PNG (mm, base64) through the loader: layers and PSNR. */
  async depthFormats(args: { engine: EngineKind; png16: string }) {
    const { engine, scene } = await setup(args.engine);
    try {
      const { s, png } = await synthetic(256, 192);
      const pfm = encodePFM({ width: s.width, height: s.height, data: s.depth });
      const bin = atob(args.png16);
      const png16 = new Uint8Array(bin.length);
      for (let i = 0; i < bin.length; i++) png16[i] = bin.charCodeAt(i);
      const out: Record<string, unknown> = {};
      for (const [name, depth] of [
        ['pfm', pfm],
        ['png16', png16],
        ['png16Blob', new Blob([png16 as BlobPart])],
        ['halfSizeArray', halfSize(s.depth, s.width, s.height)],
      ] as const) {
        let nodes: DioramaNodes | null = null;
        await ImportMeshAsync(png, scene, { pluginExtension: '.png', pluginOptions: { diorama: { depth, intrinsics: s.intrinsics, onNodesCreated: (n) => (nodes = n) } } });
        const n = nodes as unknown as DioramaNodes;
        const px = await renderPixels(scene, n.createPhotoCamera(), s.width, s.height);
        out[name] = { layers: n.layers.length, psnr: psnrRGB(px, s.image.data, s.width * s.height) };
        n.dispose();
      }
      // Sanity of the PFM test input itself.
      const back = decodePFM(pfm);
      out.pfmRoundTrip = back.data.every((v, i) => v === s.depth[i]);
      return out;
    } finally {
      scene.dispose();
      engine.dispose();
    }
  },
});

function halfSize(depth: Float32Array, W: number, H: number) {
  const w = W >> 1;
  const h = H >> 1;
  const data = new Float32Array(w * h);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) data[y * w + x] = depth[2 * y * W + 2 * x]!;
  return { data, width: w, height: h };
}
