/**
 * three.js adapter page (WebGLRenderer and WebGPURenderer): decompose a scene in the page, build it with
 * createDiorama / DioramaLoader, render the photo camera to the canvas and read it back; layer order, camera
 * projection, premultiplied blending, depth slices, dispose, loader errors and the GLB export.
 */
import { AmbientLight, LoadingManager, PerspectiveCamera, Scene, Vector3, type Material, type Mesh } from 'three';
import { GLTFLoader } from 'three/addons/loaders/GLTFLoader.js';
import { expose } from './boot';
import { createThree, type ThreeKind } from './three-common';
import { holeFraction, renderPsnr } from './babylon-common';
import { makeScene } from '../../fixtures/scene';
import { decompose } from '../../../src/core/decompose';
import { DioramaError } from '../../../src/core/errors';
import type { Decomposition, Intrinsics, Layer, RGBAImage } from '../../../src/core/types';
import { encodePNG } from '../../../src/io/png-encode';
import { createDiorama, type Diorama, type DioramaThreeOptions } from '../../../src/three/diorama';
import { DioramaLoader } from '../../../src/three/loader';
import { DioramaLoader as DioramaLoaderWebGPU } from '../../../src/three/webgpu';
import { exportDioramaGLB, restoreDioramaOrder } from '../../../src/three/export';
import type { DioramaStageEvent } from '../../../src/scene/options';

interface Args {
  kind: ThreeKind;
  options?: DioramaThreeOptions;
}

/** A layer whose mesh is the given quads (4 corners each, camera space) with constant-uv texels. */
function quadLayer(index: number, rgba: number[], w: number, quads: { positions: number[]; uvs: number[] }[], depthRange: [number, number]): Layer {
  const positions = new Float32Array(quads.flatMap((q) => q.positions));
  const uvs = new Float32Array(quads.flatMap((q) => q.uvs));
  const indices = new Uint32Array(quads.flatMap((_, k) => [0, 1, 2, 0, 2, 3].map((i) => i + 4 * k)));
  return {
    index,
    depthRange,
    planeDepth: depthRange[0],
    bbox: { x: 0, y: 0, width: w, height: 1 },
    rgba: { width: w, height: 1, data: new Uint8ClampedArray(rgba) },
    depth: new Float32Array(w),
    role: new Uint8Array(w),
    maskIds: [],
    concepts: [],
    mesh: { positions, uvs, indices, pixels: new Float32Array((positions.length / 3) * 2) },
  };
}

/** The quad over pixels [x0, x1) × [y0, y1) unprojected at depth z with the intrinsics; uv (u, 0.5) everywhere. */
function pixelQuad(k: Intrinsics, z: number, u: number, x0: number, y0: number, x1: number, y1: number) {
  const p = (px: number, py: number) => [((px - k.cx) * z) / k.fx, (-(py - k.cy) * z) / k.fy, z];
  return { positions: [...p(x0, y0), ...p(x1, y0), ...p(x1, y1), ...p(x0, y1)], uvs: [u, 0.5, u, 0.5, u, 0.5, u, 0.5] };
}

function fakeDecomposition(W: number, H: number, intrinsics: Intrinsics, layers: Layer[], depth = 10): Decomposition {
  return {
    width: W,
    height: H,
    intrinsics,
    intrinsicsKnown: true,
    harmonizedDepth: new Float32Array(W * H).fill(depth),
    labels: new Int32Array(W * H).fill(-1),
    layers,
    stats: { timings: [], totalMs: 0, width: W, height: H, maskCount: 0, layerCount: layers.length, solverIterations: 0, solverResidual: 0, vertexCount: 0, triangleCount: 0 },
  };
}

const rgbAt = (px: Uint8Array, W: number, x: number, y: number) => Array.from(px.subarray((y * W + x) * 4, (y * W + x) * 4 + 3));

/** Renders a decomposition from its photo camera; PSNR vs `image`, order facts, memory before/during/after dispose. */
async function renderOriginal(kind: ThreeKind, result: Decomposition, options: DioramaThreeOptions = {}) {
  const W = result.width;
  const H = result.height;
  const t = await createThree(kind, W, H);
  try {
    const scene = new Scene();
    // Warm-up frame: the renderer's own targets exist before the baseline.
    await t.renderAndRead(scene, new PerspectiveCamera());
    const before = t.memory();
    const d = createDiorama(result, { materials: t.materials, ...options });
    scene.add(d.scene);
    const px = await t.renderAndRead(scene, d.camera);
    const during = t.memory();
    const order = {
      children: d.scene.children.map((c) => c.name),
      layers: d.layers.map((m) => m.name),
      renderOrder: d.layers.map((m) => m.renderOrder),
      index: d.layers.map((m) => (m.userData as { diorama: { index: number } }).diorama.index),
      depthRanges: d.layers.map((m) => (m.userData as { diorama: { depthRange: [number, number] } }).diorama.depthRange),
      planeDepths: d.layers.map((m) => (m.userData as { diorama: { planeDepth: number } }).diorama.planeDepth),
      transparent: d.layers.map((m) => (m.material as Material).transparent),
      blending: d.layers.map((m) => [(m.material as Material).blendSrc, (m.material as Material).blendDst]),
    };
    d.dispose();
    const inScene = scene.children.length;
    await t.renderAndRead(scene, d.camera);
    const after = t.memory();
    return { pixels: px, holes: holeFraction(px, W * H), layers: result.layers.length, order, before, during, after, inScene, width: W, height: H };
  } finally {
    t.dispose();
  }
}

async function psnrOriginal(kind: ThreeKind, result: Decomposition, image: RGBAImage, options: DioramaThreeOptions = {}) {
  const r = await renderOriginal(kind, result, options);
  return { ...r, psnr: renderPsnr(r.pixels, image), pixels: undefined };
}

/** The synthetic scene cropped to x ∈ [16, 272), y ∈ [40, 232) of 320×240: principal point (144, 80) in 256×192. */
async function offCentreDecomposition() {
  const s = makeScene({ width: 320, height: 240 });
  const x0 = 16;
  const y0 = 40;
  const W = 256;
  const H = 192;
  const crop = <T extends { set(values: ArrayLike<number>, offset: number): void }>(src: { subarray(begin: number, end: number): ArrayLike<number> }, out: T, c: number): T => {
    for (let y = 0; y < H; y++) {
      const from = ((y + y0) * s.width + x0) * c;
      out.set(src.subarray(from, from + W * c), y * W * c);
    }
    return out;
  };
  const image = { width: W, height: H, data: crop(s.image.data, new Uint8ClampedArray(W * H * 4), 4) };
  const depth = crop(s.depth, new Float32Array(W * H), 1);
  const labels = crop(s.labels, new Int32Array(W * H), 1);
  const intrinsics = { ...s.intrinsics, cx: s.intrinsics.cx - x0, cy: s.intrinsics.cy - y0 };
  const result = await decompose({ image, depth, intrinsics, masks: { kind: 'labels', labels, concepts: s.concepts } });
  return { image, result, intrinsics };
}

function errorInfo(e: unknown) {
  return { isDiorama: e instanceof DioramaError, code: (e as DioramaError)?.code, message: (e as Error)?.message ?? String(e) };
}

expose({
  async synthetic(args: Args) {
    const s = makeScene({ width: 320, height: 240 });
    const result = await decompose({ image: s.image, depth: s.depth, intrinsics: s.intrinsics, masks: { kind: 'labels', labels: s.labels, concepts: s.concepts } });
    const r = await psnrOriginal(args.kind, result, s.image, args.options);
    return { ...r, decompositionRanges: result.layers.map((l) => l.depthRange), decompositionPlanes: result.layers.map((l) => l.planeDepth) };
  },

  /**
   * Lit layers under a white AmbientLight of intensity π: three.js's Lambert indirect diffuse is
   * irradiance · albedo/π (BRDF_Lambert), so irradiance π gives the albedo and the lit layers must show the
   * photo's colours too.
   */
  async lit(args: Args) {
    const s = makeScene({ width: 256, height: 192 });
    const result = await decompose({ image: s.image, depth: s.depth, intrinsics: s.intrinsics, masks: { kind: 'labels', labels: s.labels, concepts: s.concepts } });
    const W = result.width;
    const H = result.height;
    const t = await createThree(args.kind, W, H);
    try {
      const scene = new Scene();
      scene.add(new AmbientLight(0xffffff, Math.PI));
      await t.renderAndRead(scene, new PerspectiveCamera());
      const before = t.memory();
      const d = createDiorama(result, { materials: t.materials, lighting: true });
      scene.add(d.scene);
      const px = await t.renderAndRead(scene, d.camera);
      const info = { depthMode: d.depthMode, depthWrite: d.layers.map((m) => (m.material as Material).depthWrite), type: (d.layers[0]!.material as Material).type };
      d.dispose();
      await t.renderAndRead(scene, d.camera);
      const after = t.memory();
      return { psnr: renderPsnr(px, s.image), holes: holeFraction(px, W * H), before, after, ...info };
    } finally {
      t.dispose();
    }
  },

  async offCentre(args: Args) {
    const { image, result, intrinsics } = await offCentreDecomposition();
    const r = await psnrOriginal(args.kind, result, image, args.options);
    return { ...r, intrinsics };
  },

  /**
   * Camera projection against the intrinsics, anisotropic and off-centre (fx = 80, fy = 64, cx = 20, cy = 40 in a
   * 64×48 photo): known camera-space points project to their pixels (Vector3.project), and a quad unprojected
   * over pixels [16, 48) × [8, 40) at depth 3 covers exactly those pixels in the render.
   */
  async projection(args: Args) {
    const W = 64;
    const H = 48;
    const k = { fx: 80, fy: 64, cx: 20, cy: 40 };
    const back = quadLayer(0, [0, 0, 255, 255], 1, [pixelQuad(k, 10, 0.5, -64, -64, 128, 128)], [10, 10]);
    const red = quadLayer(1, [255, 0, 0, 255], 1, [pixelQuad(k, 3, 0.5, 16, 8, 48, 40)], [3, 3]);
    const dec = fakeDecomposition(W, H, k, [back, red]);
    const t = await createThree(args.kind, W, H);
    try {
      const scene = new Scene();
      const d = createDiorama(dec, { materials: t.materials });
      scene.add(d.scene);
      const errors: number[] = [];
      for (const [u, v, z] of [[0, 0, 2], [64, 48, 5], [20, 40, 1], [33.25, 7.5, 7], [63.5, 0.5, 0.7]] as const) {
        // Camera space (x right, y up, z forward) → the group's frame (x, y, −z) → NDC → pixels (y down).
        const p = new Vector3(((u - k.cx) * z) / k.fx, (-(v - k.cy) * z) / k.fy, -z).project(d.camera);
        errors.push(Math.hypot(((p.x + 1) / 2) * W - u, ((1 - p.y) / 2) * H - v));
      }
      const px = await t.renderAndRead(scene, d.camera);
      const samples = {
        inside: [rgbAt(px, W, 16, 8), rgbAt(px, W, 47, 39), rgbAt(px, W, 30, 20)],
        outside: [rgbAt(px, W, 15, 8), rgbAt(px, W, 16, 7), rgbAt(px, W, 48, 39), rgbAt(px, W, 47, 40)],
      };
      d.dispose();
      return { errors, samples };
    } finally {
      t.dispose();
    }
  },

  /**
   * Premultiplied blending of two full-frame layers: an opaque back colour and a front colour with α = 128;
   * returns the rendered centre pixel (the test derives the expected value from the blending arithmetic).
   */
  async blend(args: Args & { back: number[]; front: number[]; alpha: number; outputColorSpace?: string }) {
    const W = 32;
    const H = 32;
    const k = { fx: 32, fy: 32, cx: 16, cy: 16 };
    const b = quadLayer(0, [...args.back, 255], 1, [pixelQuad(k, 10, 0.5, -32, -32, 64, 64)], [10, 10]);
    const f = quadLayer(1, [...args.front, args.alpha], 1, [pixelQuad(k, 5, 0.5, -32, -32, 64, 64)], [5, 5]);
    const t = await createThree(args.kind, W, H, args.outputColorSpace ? { outputColorSpace: args.outputColorSpace } : {});
    try {
      const scene = new Scene();
      const d = createDiorama(fakeDecomposition(W, H, k, [b, f]), { materials: t.materials });
      scene.add(d.scene);
      const px = await t.renderAndRead(scene, d.camera, [0, 0, 0]);
      const backOnly = (() => {
        d.layers[1]!.visible = false;
        return t.renderAndRead(scene, d.camera, [0, 0, 0]);
      })();
      const bo = await backOnly;
      d.dispose();
      return { centre: rgbAt(px, W, 16, 16), corner: rgbAt(px, W, 1, 1), backOnly: rgbAt(bo, W, 16, 16) };
    } finally {
      t.dispose();
    }
  },

  /** Babylon's self-occlusion scene (test/browser/pages/babylon-nodes.page.ts) through three.js. */
  async selfOcclusion(args: Args & { reversedDepthBuffer?: boolean }) {
    const W = 64;
    const H = 64;
    const k = { fx: 64, fy: 64, cx: 32, cy: 32 };
    const back = pixelQuad(k, 10, 0.5, -40, -40, 104, 104);
    const red = pixelQuad(k, 2, 0.25, 16, 16, 48, 48);
    const green = pixelQuad(k, 4, 0.75, 16, 16, 48, 48);
    const yellow = pixelQuad(k, 12, 0.5, 4, 4, 12, 12);
    const dec = fakeDecomposition(W, H, k, [
      quadLayer(0, [0, 0, 255, 255], 1, [back], [10, 10]),
      quadLayer(1, [255, 0, 0, 255, 0, 255, 0, 255], 2, [red, green], [2, 4]),
      quadLayer(2, [255, 255, 0, 255], 1, [yellow], [12, 12]),
    ]);
    const t = await createThree(args.kind, W, H, { reversedDepthBuffer: args.reversedDepthBuffer === true });
    try {
      const scene = new Scene();
      const d = createDiorama(dec, { materials: t.materials, ...args.options });
      scene.add(d.scene);
      const px = await t.renderAndRead(scene, d.camera);
      // Whether the renderer really drew with a reversed depth buffer (WebGL needs EXT_clip_control).
      const reversed = (d.camera as unknown as { reversedDepth?: boolean }).reversedDepth === true;
      d.dispose();
      return { centre: rgbAt(px, W, 32, 32), corner: rgbAt(px, W, 8, 8), outside: rgbAt(px, W, 60, 4), reversed };
    } finally {
      t.dispose();
    }
  },

  /** DioramaLoader: URL success (stages, manager events, PSNR) and typed errors reaching onError and manager.onError. */
  async loader(args: Args) {
    const s = makeScene({ width: 192, height: 144 });
    const png = await encodePNG(s.image);
    const url = URL.createObjectURL(new Blob([png as BlobPart], { type: 'image/png' }));
    const Loader = args.kind === 'webgpu' ? DioramaLoaderWebGPU : DioramaLoader;
    const events: string[] = [];
    const manager = new LoadingManager(
      () => events.push('onLoad'),
      undefined,
      (u) => events.push(`onError:${u === url ? 'url' : u}`),
    );
    manager.onStart = () => events.push('onStart');
    const stages: DioramaStageEvent[] = [];
    const loader = new Loader(manager).setOptions({
      depth: { data: s.depth, width: s.width, height: s.height },
      intrinsics: s.intrinsics,
      masks: { kind: 'labels', labels: s.labels, concepts: s.concepts },
      onStageChanged: (e) => stages.push(e),
      name: 'room',
    });
    let bytes = 0;
    const diorama = await loader.loadAsync(url, (e) => (bytes = e.loaded));
    const success = { events: events.slice(), stages: [...new Set(stages.map((e) => e.stage))], last: stages.at(-1), bytes, pngBytes: png.length, name: diorama.scene.name, layers: diorama.layers.map((m) => m.name), renderer: diorama.renderer };
    const t = await createThree(args.kind, s.width, s.height);
    const scene = new Scene();
    scene.add(diorama.scene);
    const px = await t.renderAndRead(scene, diorama.camera);
    const psnr = renderPsnr(px, s.image);
    diorama.dispose();
    t.dispose();

    // Errors: each through load() with callbacks, so that onError and the manager are both observed.
    const fail = (l: DioramaLoader, u: string) =>
      new Promise<{ error: ReturnType<typeof errorInfo>; managerErrors: string[]; loaded: boolean }>((resolve) => {
        const seen: string[] = [];
        l.manager.onError = (x) => seen.push(x);
        l.load(
          u,
          () => resolve({ error: errorInfo(null), managerErrors: seen, loaded: true }),
          undefined,
          (e) => setTimeout(() => resolve({ error: errorInfo(e), managerErrors: seen, loaded: false }), 0),
        );
      });
    const notFound = await fail(new Loader(new LoadingManager()), `${location.origin}/does-not-exist.png`);
    const notImage = await fail(new Loader(new LoadingManager()), URL.createObjectURL(new Blob([new TextEncoder().encode('not an image at all')])));
    const noDepth = await fail(new Loader(new LoadingManager()).setOptions({ models: false }), url);
    const badScale = await fail(new Loader(new LoadingManager()).setOptions({ depth: { data: s.depth, width: s.width, height: s.height }, depthScale: -1 }), url);
    const aborting = new Loader(new LoadingManager()).setOptions({ depth: { data: s.depth, width: s.width, height: s.height } });
    const abortedP = fail(aborting, url);
    setTimeout(() => aborting.abort(), 0);
    const aborted = await abortedP;
    let parseError: ReturnType<typeof errorInfo> | null = null;
    await new Loader()
      .parseAsync(new Uint8Array([1, 2, 3]))
      .catch((e: unknown) => (parseError = errorInfo(e)));
    URL.revokeObjectURL(url);
    return { success, psnr, notFound, notImage, noDepth, badScale, aborted, parseError };
  },

  /** GLB export: structure of the file, and GLTFLoader + restoreDioramaOrder get the layers back in order. */
  async exportGlb(args: Args) {
    const s = makeScene({ width: 160, height: 120 });
    const result = await decompose({ image: s.image, depth: s.depth, intrinsics: s.intrinsics, masks: { kind: 'labels', labels: s.labels, concepts: s.concepts } });
    const t = await createThree(args.kind, s.width, s.height);
    try {
      const d: Diorama = createDiorama(result, { name: 'room', materials: t.materials });
      const glb = await exportDioramaGLB(d);
      const jsonLen = new DataView(glb.buffer, glb.byteOffset).getUint32(12, true);
      const json = JSON.parse(new TextDecoder().decode(glb.subarray(20, 20 + jsonLen)));
      const gltf = await new GLTFLoader().parseAsync(glb.slice().buffer, '');
      const restored = restoreDioramaOrder(gltf.scene);
      const scene = new Scene();
      scene.add(gltf.scene);
      const px = await t.renderAndRead(scene, d.camera);
      const psnr = renderPsnr(px, s.image);
      const layerNames = d.layers.map((m) => m.name);
      d.dispose();
      gltf.scene.traverse((o) => {
        const m = o as Mesh;
        if (m.isMesh) {
          m.geometry.dispose();
          for (const mat of Array.isArray(m.material) ? m.material : [m.material]) {
            (mat as Material & { map?: { dispose(): void } }).map?.dispose();
            mat.dispose();
          }
        }
      });
      return {
        layerNames,
        layerCount: result.layers.length,
        nodes: json.nodes.map((n: { name: string; extras?: unknown; children?: number[]; mesh?: number }) => ({ name: n.name, extras: n.extras, children: n.children, mesh: n.mesh })),
        scenes: json.scenes,
        materials: json.materials,
        images: json.images.map((i: { mimeType: string }) => i.mimeType),
        extensionsUsed: json.extensionsUsed,
        restored: restored.map((m) => [m.name, m.renderOrder, (m.material as Material).depthWrite, (m.material as Material).transparent]),
        psnr,
      };
    } finally {
      t.dispose();
    }
  },
});
