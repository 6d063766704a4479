/**
 * Browser half of the novel-view evaluation (scripts/eval-views.ts, docs/metrics.md §2) and of the orbit
 * test (test/browser/views-orbit.test.ts). Bundled and served by test/browser/harness.ts.
 *
 * `window.diorama.init({ engine })` creates one Babylon engine on the page canvas (WebGL2 `Engine` or
 * `WebGPUEngine`; no MSAA, device ratio 1, so a pixel of the canvas is a pixel of the photo).
 * `window.diorama.renderScene(request)` then, for one photo + depth:
 * - decomposes it with the real core pipeline (`decompose`) and builds the layered scene with the real
 *   Babylon builder (`createDioramaNodes`): method `diorama`;
 * - builds the same decomposition with every layer's filled pixels (role 2: hidden content invented by the
 *   inpainter) made transparent: method `noInpaint` (the feather and the layers' own pixels stay as they are);
 * - builds the rubber sheet of scripts/eval/rubber-sheet.ts from the same depth: method `rubberSheet`;
 * - renders each requested view of each method twice, over opaque magenta and over opaque green (see
 *   view-metrics.ts: that pair separates content from coverage whatever the blending), reads the pixels
 *   back (rows top first, RGBA) and returns them base64-encoded.
 * Every method's nodes are disposed before the next method is built, so they never see each other.
 *
 * With `footprint`, every view is rendered a third time with each mesh's material replaced by the
 * footprint material (footprint-material.ts: texels per pixel of the front-most fragment with alpha ≥ ½),
 * for the orbit sweep's `stretched` (docs/metrics.md §5).
 *
 * Depth: `depth` (every value finite and > 0) builds the rubber sheet and, unless `dioramaDepth` is given,
 * the decomposition; `dioramaDepth` (0 = unknown allowed) and `masks` (a label map) are what the
 * decomposition receives instead (the `sensor` and `network` inputs of §2).
 *
 * Cameras: one pinhole camera for every method and view with the photo's intrinsics and the canvas at the
 * photo's size: Babylon's symmetric vertical-fov frustum (fov 2·atan(H / (2·fy))) with the projection
 * matrix's x scale and principal-point terms set from fx, cx, cy after Babylon computes it, the formula of
 * src/babylon/nodes.ts (applyIntrinsics). A view gives the camera position and the point it looks at, in
 * camera space (= world space: x right, y up, z forward; Babylon's default left-handed frame), with y up.
 */
import { Engine } from '@babylonjs/core/Engines/engine';
import { WebGPUEngine } from '@babylonjs/core/Engines/webgpuEngine';
import type { AbstractEngine } from '@babylonjs/core/Engines/abstractEngine';
import { Scene } from '@babylonjs/core/scene';
import { FreeCamera } from '@babylonjs/core/Cameras/freeCamera';
import { Camera } from '@babylonjs/core/Cameras/camera';
import { Matrix, Vector2, Vector3 } from '@babylonjs/core/Maths/math.vector';
import type { BaseTexture } from '@babylonjs/core/Materials/Textures/baseTexture';
import type { Material } from '@babylonjs/core/Materials/material';
import { Color4 } from '@babylonjs/core/Maths/math.color';
import type { Mesh } from '@babylonjs/core/Meshes/mesh';
import { decompose, type DecomposeOptions } from '../../src/core/decompose';
import type { Decomposition, Intrinsics, Layer } from '../../src/core/types';
import { createDioramaNodes } from '../../src/babylon/pure';
import { depthSliceRemap } from '../../src/babylon/mpi-material';
import { createFootprintMaterial } from './footprint-material';
import { expose, canvas } from '../../test/browser/pages/boot';
import { CreateRubberSheet } from './rubber-sheet';
import { CLEAR_GREEN, CLEAR_MAGENTA } from './view-metrics';

export type ViewMethod = 'diorama' | 'noInpaint' | 'rubberSheet';

export interface ViewSpec {
  name: string;
  /** Camera position, camera space of the photo. */
  position: [number, number, number];
  /** Point looked at. */
  target: [number, number, number];
}

export interface RenderRequest {
  width: number;
  height: number;
  /** RGBA8 photo, base64. */
  image: string;
  /** Float32 metric depth W·H, every value finite and > 0, base64 (little-endian): the rubber sheet's. */
  depth: string;
  /** Float32 depth for decompose (0 = unknown allowed), base64; `depth` when omitted. */
  dioramaDepth?: string;
  /** Int32 label map (−1 = none) for decompose's masks, base64. */
  masks?: string;
  /** Also render every view's footprint pass (RenderedView.footprint). */
  footprint?: boolean;
  intrinsics: Intrinsics;
  /** Methods to build, in this order. */
  methods: ViewMethod[];
  /** Views rendered for every method. */
  views: ViewSpec[];
  /** Extra views per method (e.g. the original view for `diorama` only). */
  extraViews?: Partial<Record<ViewMethod, ViewSpec[]>>;
  /** Options for `decompose` (JSON-serialisable part). */
  decompose?: Omit<DecomposeOptions, 'signal' | 'onProgress'>;
  /** Diagnostics: build only these layer indices (all when omitted). */
  onlyLayers?: number[];
  /**
   * Orbit views for `diorama`, placed from the builder's orbit (`nodes.orbit`: target on the optical axis at
   * the median depth R): yaw and pitch by ±angleDeg around the target (camera at distance R, looking at
   * it) and sideways by ±sideways·R (looking straight ahead). Named yaw±, pitch±, side±.
   */
  orbit?: { angleDeg: number; sideways: number };
  /**
   * Also render every `diorama` view with the back layer alone (the others hidden), as view `<name>@back`:
   * its coverage is the photographed frame at the backdrop's depth (see view-metrics.ts, orbitHoles).
   */
  backdropPass?: boolean;
}

export interface RenderedView {
  /** RGBA rows top first over opaque magenta, base64. */
  magenta: string;
  /** Same over opaque green. */
  green: string;
  /** With `footprint`: the footprint pass over black (footprint-material.ts encoding), base64. */
  footprint?: string;
}

export interface MethodResult {
  views: Record<string, RenderedView>;
}

export interface RenderResponse {
  methods: Partial<Record<ViewMethod, MethodResult>>;
  decomposeMs: number | null;
  layers: number | null;
  /** The builder's orbit (target z = radius = median depth), when `diorama` was built. */
  orbit: { radius: number; maxAngle: number; maxSideways: number } | null;
}

/** The orbit views of {@link RenderRequest.orbit} around the target (0, 0, R). */
export function orbitViews(R: number, angleDeg: number, sideways: number): ViewSpec[] {
  const a = (angleDeg * Math.PI) / 180;
  const s = Math.sin(a) * R;
  const c = R - Math.cos(a) * R;
  const t: [number, number, number] = [0, 0, R];
  return [
    { name: 'yaw-', position: [-s, 0, c], target: t },
    { name: 'yaw+', position: [s, 0, c], target: t },
    { name: 'pitch-', position: [0, -s, c], target: t },
    { name: 'pitch+', position: [0, s, c], target: t },
    { name: 'side-', position: [-sideways * R, 0, 0], target: [-sideways * R, 0, 1] },
    { name: 'side+', position: [sideways * R, 0, 0], target: [sideways * R, 0, 1] },
  ];
}

let engine: AbstractEngine | null = null;
let engineKind: 'webgl' | 'webgpu' | null = null;

function decodeBase64(b64: string): Uint8Array {
  const bin = atob(b64);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

function encodeBase64(bytes: Uint8Array): string {
  let s = '';
  const chunk = 0x8000;
  for (let i = 0; i < bytes.length; i += chunk) s += String.fromCharCode.apply(null, bytes.subarray(i, i + chunk) as unknown as number[]);
  return btoa(s);
}

/** The same layers with every filled (role 2) pixel made transparent; meshes are shared, not copied. */
function withoutInpainting(dec: Decomposition): Decomposition {
  const layers: Layer[] = dec.layers.map((l) => {
    const data = new Uint8ClampedArray(l.rgba.data);
    for (let j = 0; j < l.role.length; j++) if (l.role[j] === 2) data[4 * j + 3] = 0;
    return { ...l, rgba: { width: l.rgba.width, height: l.rgba.height, data } };
  });
  return { ...dec, layers };
}

function makeCamera(scene: Scene, intr: Intrinsics, width: number, height: number, minZ: number, maxZ: number): FreeCamera {
  const cam = new FreeCamera('evalCamera', new Vector3(0, 0, 0), scene);
  cam.fovMode = Camera.FOVMODE_VERTICAL_FIXED;
  cam.fov = 2 * Math.atan(height / (2 * intr.fy));
  cam.minZ = minZ;
  cam.maxZ = maxZ;
  cam.upVector = new Vector3(0, 1, 0);
  // Row-vector convention: clip.x = m0·x + m8·z, clip.y = m5·y + m9·z, clip.w = z; m5 = 2fy/H is the fov.
  const scratch = new Array<number>(16);
  cam.onProjectionMatrixChangedObservable.add(() => {
    const m = cam.getProjectionMatrix();
    const aspect = cam.getEngine().getAspectRatio(cam);
    for (let i = 0; i < 16; i++) scratch[i] = m.m[i]!;
    scratch[0] = (scratch[5]! * (intr.fx / intr.fy)) / aspect;
    scratch[8] = (2 * intr.cx - width) / (aspect * height);
    scratch[9] = (height - 2 * intr.cy) / height;
    Matrix.FromArrayToRef(scratch, 0, m);
  });
  scene.activeCamera = cam;
  return cam;
}

/** A mesh with the texture and depth remap its footprint material needs. */
interface FootprintSource {
  mesh: Mesh;
  texture: BaseTexture;
  remap: Vector2;
}

/**
 * Renders the footprint pass of every view: each source mesh's material swapped for its footprint material,
 * cleared to black, then the materials restored and the footprint materials disposed.
 */
async function renderFootprints(scene: Scene, cam: FreeCamera, views: ViewSpec[], sources: FootprintSource[], W: number, H: number): Promise<Record<string, string>> {
  const saved: (Material | null)[] = sources.map((s) => s.mesh.material);
  const mats = sources.map((s, k) => createFootprintMaterial(`footprint.${k}`, s.texture, s.remap, scene));
  sources.forEach((s, k) => (s.mesh.material = mats[k]!));
  const out: Record<string, string> = {};
  try {
    await scene.whenReadyAsync();
    for (const v of views) {
      cam.position = new Vector3(...v.position);
      cam.setTarget(new Vector3(...v.target));
      out[v.name] = encodeBase64(await renderAndRead(scene, [0, 0, 0], W, H));
    }
  } finally {
    sources.forEach((s, k) => (s.mesh.material = saved[k]!));
    for (const m of mats) m.dispose(true, false);
  }
  return out;
}

/** Renders the current scene once over `clear` and reads the canvas back as RGBA rows, top row first. */
async function renderAndRead(scene: Scene, clear: readonly number[], W: number, H: number): Promise<Uint8Array> {
  const e = engine!;
  scene.clearColor = new Color4(clear[0]! / 255, clear[1]! / 255, clear[2]! / 255, 1);
  scene.render();
  const raw = new Uint8Array((await e.readPixels(0, 0, W, H, true, true)).buffer.slice(0)) as Uint8Array;
  if (raw.length < W * H * 4) throw new Error(`readPixels returned ${raw.length} bytes; expected ${W * H * 4}`);
  // WebGL reads the framebuffer bottom row first; WebGPU's swap-chain texture is top row first.
  if (engineKind === 'webgpu') return raw.subarray(0, W * H * 4);
  const out = new Uint8Array(W * H * 4);
  const row = W * 4;
  for (let y = 0; y < H; y++) out.set(raw.subarray((H - 1 - y) * row, (H - y) * row), y * row);
  return out;
}

async function renderViews(scene: Scene, cam: FreeCamera, views: ViewSpec[], W: number, H: number): Promise<Record<string, RenderedView>> {
  const out: Record<string, RenderedView> = {};
  // Let textures and shaders finish compiling before the first frame.
  await scene.whenReadyAsync();
  for (const v of views) {
    cam.position = new Vector3(...v.position);
    cam.setTarget(new Vector3(...v.target));
    const magenta = encodeBase64(await renderAndRead(scene, CLEAR_MAGENTA, W, H));
    const green = encodeBase64(await renderAndRead(scene, CLEAR_GREEN, W, H));
    out[v.name] = { magenta, green };
  }
  return out;
}

expose({
  async init(args: { engine: 'webgl' | 'webgpu' }): Promise<{ engine: string; description: string }> {
    if (engine) throw new Error('init: the engine exists already');
    const c = canvas();
    if (args.engine === 'webgpu') {
      const e = new WebGPUEngine(c, { antialias: false, adaptToDeviceRatio: false, swapChainFormat: 'rgba8unorm' });
      await e.initAsync();
      engine = e;
    } else {
      engine = new Engine(c, false, { preserveDrawingBuffer: true, stencil: true, premultipliedAlpha: false }, false);
    }
    engineKind = args.engine;
    engine.setHardwareScalingLevel(1);
    return { engine: args.engine, description: engine.description };
  },

  async renderScene(req: RenderRequest): Promise<RenderResponse> {
    const e = engine;
    if (!e) throw new Error('renderScene: call init first');
    const { width: W, height: H, intrinsics } = req;
    const image = { width: W, height: H, data: new Uint8ClampedArray(decodeBase64(req.image).buffer) };
    const depthBytes = decodeBase64(req.depth);
    if (image.data.length !== W * H * 4) throw new Error(`image has ${image.data.length} bytes; expected ${W * H * 4}`);
    if (depthBytes.length !== W * H * 4) throw new Error(`depth has ${depthBytes.length} bytes; expected ${W * H * 4} (float32 per pixel)`);
    const depth = new Float32Array(depthBytes.buffer, 0, W * H);
    let dioramaDepth = depth;
    if (req.dioramaDepth !== undefined) {
      const b = decodeBase64(req.dioramaDepth);
      if (b.length !== W * H * 4) throw new Error(`dioramaDepth has ${b.length} bytes; expected ${W * H * 4} (float32 per pixel)`);
      dioramaDepth = new Float32Array(b.buffer, 0, W * H);
    }
    let labels: Int32Array | null = null;
    if (req.masks !== undefined) {
      const b = decodeBase64(req.masks);
      if (b.length !== W * H * 4) throw new Error(`masks have ${b.length} bytes; expected ${W * H * 4} (int32 label per pixel)`);
      labels = new Int32Array(b.buffer, 0, W * H);
    }
    let zMin = Infinity;
    let zMax = 0;
    for (let i = 0; i < depth.length; i++) {
      const z = depth[i]!;
      if (!(z > 0 && z < Infinity)) throw new Error(`depth at pixel ${i} is ${z}; expected finite > 0 everywhere`);
      if (z < zMin) zMin = z;
      if (z > zMax) zMax = z;
    }
    e.setSize(W, H, true);
    // Clipping planes well outside the scene's depth range.
    const minZ = zMin / 4;
    const maxZ = zMax * 4;

    const response: RenderResponse = { methods: {}, decomposeMs: null, layers: null, orbit: null };
    let dec: Decomposition | null = null;
    const needsLayers = req.methods.some((m) => m !== 'rubberSheet');
    if (needsLayers) {
      const t0 = performance.now();
      dec = await decompose({ image, depth: dioramaDepth, intrinsics, ...(labels ? { masks: { kind: 'labels' as const, labels } } : {}) }, { ...req.decompose });
      response.decomposeMs = performance.now() - t0;
      response.layers = dec.layers.length;
    }
    for (const method of req.methods) {
      const scene = new Scene(e);
      scene.skipPointerMovePicking = true;
      const cam = makeCamera(scene, intrinsics, W, H, minZ, maxZ);
      const sources: FootprintSource[] = [];
      let dispose: () => void;
      let layerMeshes: Mesh[] = [];
      const views = [...req.views, ...(req.extraViews?.[method] ?? [])];
      if (method === 'rubberSheet') {
        const sheet = CreateRubberSheet(scene, image, depth, intrinsics);
        sources.push({ mesh: sheet.mesh, texture: sheet.texture, remap: new Vector2(1, 0) });
        dispose = () => sheet.dispose();
      } else {
        const only = req.onlyLayers;
        const built = method === 'diorama' ? dec! : withoutInpainting(dec!);
        const nodes = createDioramaNodes(scene, built, only ? { layerFilter: (l) => only.includes(l.index) } : {});
        if (method === 'diorama') {
          const o = nodes.orbit;
          response.orbit = { radius: o.radius, maxAngle: o.maxAngle, maxSideways: o.maxSideways };
          if (req.orbit) views.push(...orbitViews(o.radius, req.orbit.angleDeg, req.orbit.sideways));
        }
        dispose = () => nodes.dispose();
        layerMeshes = nodes.layers.slice();
        // nodes.textures[k] is the texture of nodes.layers[k] (built together); the slice as in createDioramaNodes.
        const count = dec!.layers.length;
        nodes.layers.forEach((mesh, k) => {
          const layer = (mesh.metadata as { diorama: { layer: number } }).diorama.layer;
          const remap = nodes.depthMode === 'layered' ? depthSliceRemap(count - 1 - layer, count, e.isNDCHalfZRange, e.useReverseDepthBuffer) : new Vector2(1, 0);
          sources.push({ mesh, texture: nodes.textures[k]!, remap });
        });
      }
      const rendered = await renderViews(scene, cam, views, W, H);
      if (method !== 'rubberSheet' && req.backdropPass && layerMeshes.length > 0) {
        const back = layerMeshes[0]!;
        for (const m of layerMeshes) m.isVisible = m === back;
        const b = await renderViews(scene, cam, views, W, H);
        for (const m of layerMeshes) m.isVisible = true;
        for (const [name, v] of Object.entries(b)) rendered[`${name}@back`] = v;
      }
      if (req.footprint) {
        const fp = await renderFootprints(scene, cam, views, sources, W, H);
        for (const [name, b64] of Object.entries(fp)) rendered[name]!.footprint = b64;
      }
      response.methods[method] = { views: rendered };
      dispose();
      scene.dispose();
    }
    return response;
  },
});
