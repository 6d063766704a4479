/**
 * three.js half of the novel-view evaluation (scripts/eval-views.ts with `--engine three-webgl` or
 * `three-webgpu`): the protocol of scripts/eval/views.page.ts (same request and response, same methods,
 * views and clear colours), rendered with the three.js adapter instead of Babylon's.
 *
 * `init({ engine })` creates a WebGLRenderer or a WebGPURenderer (`three/webgpu`) on a fresh canvas (no MSAA,
 * pixel ratio 1). `renderScene(request)` decomposes the photo with the real core pipeline and builds:
 * - `diorama`: createDiorama (src/three) of the decomposition;
 * - `noInpaint`: the same with every filled (role 2) pixel transparent;
 * - `rubberSheet`: the rubber sheet of scripts/eval/rubber-sheet.ts as one opaque layer of the same MPI
 *   material (one depth slice: true depth, depth writes on), like the Babylon page's sheet.
 * Cameras: a PerspectiveCamera with the photo's vertical field of view and aspect (principal point at the
 * centre, fx = fy, as the Babylon page requires), placed at the view's position looking at its target; the
 * library's camera space (x right, y up, z forward) is the group's frame with z negated (src/three/diorama.ts).
 * Orbit views are not supported here (the Babylon page only).
 */
import { PerspectiveCamera, Scene } from 'three';
import { decompose } from '../../src/core/decompose';
import type { Decomposition, Layer } from '../../src/core/types';
import { createDiorama, type Diorama } from '../../src/three/diorama';
import { expose } from '../../test/browser/pages/boot';
import { createThree, type ThreeContext, type ThreeKind } from '../../test/browser/pages/three-common';
import { rubberSheetGeometry } from './rubber-sheet';
import { CLEAR_GREEN, CLEAR_MAGENTA } from './view-metrics';
import type { RenderRequest, RenderResponse, RenderedView, ViewSpec } from './views.page';

let ctx: ThreeContext | null = null;

function decodeBase64(b64: string): Uint8Array {
  const bin = atob(b64);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

function encodeBase64(bytes: Uint8Array): string {
  let s = '';
  for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode.apply(null, bytes.subarray(i, i + 0x8000) as unknown as number[]);
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

/** The rubber sheet as a one-layer decomposition: the opaque photo over the whole frame. */
function rubberSheetDecomposition(req: RenderRequest, image: { width: number; height: number; data: Uint8ClampedArray }, depth: Float32Array): Decomposition {
  const { width: W, height: H, intrinsics } = req;
  const geo = rubberSheetGeometry(depth, W, H, intrinsics);
  const rgba = new Uint8ClampedArray(image.data);
  for (let i = 3; i < rgba.length; i += 4) rgba[i] = 255;
  let zMin = Infinity;
  let zMax = 0;
  for (const z of depth) {
    zMin = Math.min(zMin, z);
    zMax = Math.max(zMax, z);
  }
  const layer: Layer = {
    index: 0,
    depthRange: [zMin, zMax],
    planeDepth: zMin,
    bbox: { x: 0, y: 0, width: W, height: H },
    rgba: { width: W, height: H, data: rgba },
    depth,
    role: new Uint8Array(W * H).fill(1),
    maskIds: [],
    concepts: [],
    mesh: { positions: geo.positions, uvs: geo.uvs, indices: geo.indices, pixels: new Float32Array((geo.positions.length / 3) * 2) },
  };
  return {
    width: W,
    height: H,
    intrinsics,
    intrinsicsKnown: true,
    harmonizedDepth: depth,
    labels: new Int32Array(W * H).fill(-1),
    layers: [layer],
    stats: { timings: [], totalMs: 0, width: W, height: H, maskCount: 0, layerCount: 1, solverIterations: 0, solverResidual: 0, vertexCount: 0, triangleCount: 0 },
  };
}

async function renderViews(t: ThreeContext, scene: Scene, cam: PerspectiveCamera, views: ViewSpec[]): Promise<Record<string, RenderedView>> {
  const out: Record<string, RenderedView> = {};
  for (const v of views) {
    cam.position.set(v.position[0], v.position[1], -v.position[2]);
    cam.up.set(0, 1, 0);
    cam.lookAt(v.target[0], v.target[1], -v.target[2]);
    cam.updateMatrixWorld();
    const magenta = encodeBase64(await t.renderAndRead(scene, cam, CLEAR_MAGENTA));
    const green = encodeBase64(await t.renderAndRead(scene, cam, CLEAR_GREEN));
    out[v.name] = { magenta, green };
  }
  return out;
}

expose({
  async init(args: { engine: 'three-webgl' | 'three-webgpu' }): Promise<{ engine: string; description: string }> {
    if (ctx) throw new Error('init: the renderer exists already');
    const kind: ThreeKind = args.engine === 'three-webgpu' ? 'webgpu' : 'webgl';
    ctx = await createThree(kind, 64, 64);
    const backend = kind === 'webgpu' ? ((ctx.renderer as unknown as { backend: { isWebGPUBackend?: boolean } }).backend.isWebGPUBackend ? 'WebGPU backend' : 'WebGL2 fallback backend') : 'WebGL2';
    return { engine: args.engine, description: `three.js ${kind === 'webgpu' ? 'WebGPURenderer' : 'WebGLRenderer'} (${backend})` };
  },

  async renderScene(req: RenderRequest): Promise<RenderResponse> {
    const t = ctx;
    if (!t) throw new Error('renderScene: call init first');
    if (req.orbit) throw new Error('renderScene: orbit views are rendered by the Babylon engines only');
    const { width: W, height: H, intrinsics } = req;
    const image = { width: W, height: H, data: new Uint8ClampedArray(decodeBase64(req.image).buffer) };
    const depthBytes = decodeBase64(req.depth);
    if (image.data.length !== W * H * 4) throw new Error(`image has ${image.data.length} bytes; expected ${W * H * 4}`);
    if (depthBytes.length !== W * H * 4) throw new Error(`depth has ${depthBytes.length} bytes; expected ${W * H * 4} (float32 per pixel)`);
    if (Math.abs(intrinsics.cx - W / 2) > 1e-3 * W || Math.abs(intrinsics.cy - H / 2) > 1e-3 * H || Math.abs(intrinsics.fx / intrinsics.fy - 1) > 1e-6) {
      throw new Error(`renderScene: expected fx = fy and the principal point at the image centre; found ${JSON.stringify(intrinsics)} for ${W}x${H}`);
    }
    const depth = new Float32Array(depthBytes.buffer, 0, W * H);
    let zMin = Infinity;
    let zMax = 0;
    for (let i = 0; i < depth.length; i++) {
      const z = depth[i]!;
      if (!(z > 0 && z < Infinity)) throw new Error(`depth at pixel ${i} is ${z}; expected finite > 0 everywhere`);
      zMin = Math.min(zMin, z);
      zMax = Math.max(zMax, z);
    }
    t.canvas.width = W;
    t.canvas.height = H;
    t.renderer.setSize(W, H, false);
    const cam = new PerspectiveCamera((2 * Math.atan(H / (2 * intrinsics.fy)) * 180) / Math.PI, W / H, zMin / 4, zMax * 4);

    const response: RenderResponse = { methods: {}, decomposeMs: null, layers: null, orbit: null };
    let dec: Decomposition | null = null;
    if (req.methods.some((m) => m !== 'rubberSheet')) {
      const t0 = performance.now();
      dec = await decompose({ image, depth, intrinsics }, { ...req.decompose });
      response.decomposeMs = performance.now() - t0;
      response.layers = dec.layers.length;
    }
    for (const method of req.methods) {
      const scene = new Scene();
      const views = [...req.views, ...(req.extraViews?.[method] ?? [])];
      const only = req.onlyLayers;
      const built = method === 'rubberSheet' ? rubberSheetDecomposition(req, image, depth) : method === 'diorama' ? dec! : withoutInpainting(dec!);
      const d: Diorama = createDiorama(built, { materials: t.materials, ...(only && method !== 'rubberSheet' ? { layerFilter: (l) => only.includes(l.index) } : {}) });
      scene.add(d.scene);
      if (method === 'diorama') response.orbit = { radius: d.orbit.radius, maxAngle: d.orbit.maxAngle, maxSideways: d.orbit.maxSideways };
      const rendered = await renderViews(t, scene, cam, views);
      if (method !== 'rubberSheet' && req.backdropPass && d.layers.length > 0) {
        const back = d.layers[0]!;
        for (const m of d.layers) m.visible = m === back;
        const b = await renderViews(t, scene, cam, views);
        for (const m of d.layers) m.visible = true;
        for (const [name, v] of Object.entries(b)) rendered[`${name}@back`] = v;
      }
      response.methods[method] = { views: rendered };
      d.dispose();
    }
    return response;
  },
});
