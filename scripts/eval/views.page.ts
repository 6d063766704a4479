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
 * Cameras: one pinhole camera for every method and view, with the photo's vertical field of view
 * 2·atan(H / (2·fy)) and the canvas at the photo's size (so the horizontal one follows from fx = fy;
 * principal point at the centre: the eval's stereo geometry and the synthetic scene both have it there).
 * A view gives the camera position and the point it looks at, in camera space (= world space: x right,
 * y up, z forward; Babylon's default left-handed frame), with y up.
 */
import { Engine } from '@babylonjs/core/Engines/engine';
import { WebGPUEngine } from '@babylonjs/core/Engines/webgpuEngine';
import type { AbstractEngine } from '@babylonjs/core/Engines/abstractEngine';
import { Scene } from '@babylonjs/core/scene';
import { FreeCamera } from '@babylonjs/core/Cameras/freeCamera';
import { Camera } from '@babylonjs/core/Cameras/camera';
import { Vector3 } from '@babylonjs/core/Maths/math.vector';
import { Color4 } from '@babylonjs/core/Maths/math.color';
import type { Mesh } from '@babylonjs/core/Meshes/mesh';
import { decompose, type DecomposeOptions } from '../../src/core/decompose';
import type { Decomposition, Intrinsics, Layer } from '../../src/core/types';
import { createDioramaNodes } from '../../src/babylon/pure';
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
  /** Float32 metric depth W·H, every value finite and > 0, base64 (little-endian). */
  depth: string;
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

function makeCamera(scene: Scene, intr: Intrinsics, height: number, minZ: number, maxZ: number): FreeCamera {
  const cam = new FreeCamera('evalCamera', new Vector3(0, 0, 0), scene);
  cam.fovMode = Camera.FOVMODE_VERTICAL_FIXED;
  cam.fov = 2 * Math.atan(height / (2 * intr.fy));
  cam.minZ = minZ;
  cam.maxZ = maxZ;
  cam.upVector = new Vector3(0, 1, 0);
  scene.activeCamera = cam;
  return cam;
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
    // The eval camera is a symmetric Babylon frustum: principal point at the centre, square pixels.
    if (Math.abs(intrinsics.cx - W / 2) > 1e-3 * W || Math.abs(intrinsics.cy - H / 2) > 1e-3 * H || Math.abs(intrinsics.fx / intrinsics.fy - 1) > 1e-6) {
      throw new Error(`renderScene: expected fx = fy and the principal point at the image centre; found ${JSON.stringify(intrinsics)} for ${W}x${H}`);
    }
    const depth = new Float32Array(depthBytes.buffer, 0, W * H);
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
      dec = await decompose({ image, depth, intrinsics }, { ...req.decompose });
      response.decomposeMs = performance.now() - t0;
      response.layers = dec.layers.length;
    }
    for (const method of req.methods) {
      const scene = new Scene(e);
      scene.skipPointerMovePicking = true;
      const cam = makeCamera(scene, intrinsics, H, minZ, maxZ);
      let dispose: () => void;
      let layerMeshes: Mesh[] = [];
      const views = [...req.views, ...(req.extraViews?.[method] ?? [])];
      if (method === 'rubberSheet') {
        const sheet = CreateRubberSheet(scene, image, depth, intrinsics);
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
      }
      const rendered = await renderViews(scene, cam, views, W, H);
      if (method !== 'rubberSheet' && req.backdropPass && layerMeshes.length > 0) {
        const back = layerMeshes[0]!;
        for (const m of layerMeshes) m.isVisible = m === back;
        const b = await renderViews(scene, cam, views, W, H);
        for (const m of layerMeshes) m.isVisible = true;
        for (const [name, v] of Object.entries(b)) rendered[`${name}@back`] = v;
      }
      response.methods[method] = { views: rendered };
      dispose();
      scene.dispose();
    }
    return response;
  },
});
