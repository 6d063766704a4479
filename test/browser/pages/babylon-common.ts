/**
 * Page-side helpers shared by the Babylon test pages: engine creation (WebGL2 or WebGPU on the page's
 * canvas), off-screen render + readback of one camera's view, GPU resource counters, image metrics, the
 * stereo inputs of the shared data and base64 transport.
 */
import { Engine } from '@babylonjs/core/Engines/engine.js';
import { WebGPUEngine } from '@babylonjs/core/Engines/webgpuEngine.js';
import type { AbstractEngine } from '@babylonjs/core/Engines/abstractEngine.js';
import { Scene } from '@babylonjs/core/scene.js';
import type { Camera } from '@babylonjs/core/Cameras/camera.js';
import { RenderTargetTexture } from '@babylonjs/core/Materials/Textures/renderTargetTexture.js';
import { Texture } from '@babylonjs/core/Materials/Textures/texture.js';
import { Constants } from '@babylonjs/core/Engines/constants.js';
import { Color4 } from '@babylonjs/core/Maths/math.color.js';
import { canvas } from './boot';
import { psnrRGB } from '../../../scripts/eval/image-metrics';
import { decodeImageInBrowser } from '../../../src/io/browser-decode';
import { decodePFM } from '../../../src/io/pfm';
import type { Intrinsics, RGBAImage } from '../../../src/core/types';

export type EngineKind = 'webgl' | 'webgpu';

/** Live GPU object counts, from wrapping the context/device creation and deletion calls. */
export interface GpuCounters {
  buffers: number;
  textures: number;
}

const counters: GpuCounters = { buffers: 0, textures: 0 };
let instrumented = false;

/** Counts the objects of one WebGL2 create/delete pair into `counters[kind]` (deletes of dead objects ignored). */
function countWebGL(kind: keyof GpuCounters, create: 'createBuffer' | 'createTexture', remove: 'deleteBuffer' | 'deleteTexture', isLive: 'isBuffer' | 'isTexture'): void {
  type Fn = (this: WebGL2RenderingContext, ...args: unknown[]) => unknown;
  const gl2 = WebGL2RenderingContext.prototype as unknown as Record<string, Fn>;
  const createFn = gl2[create]!;
  const removeFn = gl2[remove]!;
  const isLiveFn = gl2[isLive]!;
  gl2[create] = function (...args) {
    const o = createFn.apply(this, args);
    if (o) counters[kind]++;
    return o;
  };
  gl2[remove] = function (o) {
    if (o && isLiveFn.call(this, o)) counters[kind]--;
    return removeFn.call(this, o);
  };
}

/** Counts the objects of one WebGPU create method into `counters[kind]`, until their first destroy(). */
function countWebGPU(kind: keyof GpuCounters, create: 'createBuffer' | 'createTexture'): void {
  type Fn = (this: GPUDevice, descriptor: unknown) => { destroy(): void };
  const dev = GPUDevice.prototype as unknown as Record<string, Fn>;
  const createFn = dev[create]!;
  dev[create] = function (descriptor) {
    const o = createFn.call(this, descriptor);
    counters[kind]++;
    let live = true;
    const destroy = o.destroy.bind(o);
    o.destroy = () => {
      if (live) counters[kind]--;
      live = false;
      destroy();
    };
    return o;
  };
}

/**
 * Wraps WebGL2 createBuffer/deleteBuffer/createTexture/deleteTexture and WebGPU createBuffer/destroy,
 * createTexture/destroy so that tests can compare live counts before and after a dispose. Must run before
 * the engine is created.
 */
function instrument(): void {
  if (instrumented) return;
  instrumented = true;
  countWebGL('buffers', 'createBuffer', 'deleteBuffer', 'isBuffer');
  countWebGL('textures', 'createTexture', 'deleteTexture', 'isTexture');
  if (typeof GPUDevice !== 'undefined') {
    countWebGPU('buffers', 'createBuffer');
    countWebGPU('textures', 'createTexture');
  }
}

export function gpuCounters(): GpuCounters {
  return { ...counters };
}

/**
 * Creates an engine of the given kind (no MSAA, no hardware scaling) on a fresh canvas of the page canvas's
 * size: a canvas that once had a WebGL context cannot give a WebGPU one, and vice versa.
 */
export async function createEngine(kind: EngineKind): Promise<AbstractEngine> {
  instrument();
  const page = canvas();
  const c = document.createElement('canvas');
  c.width = page.width;
  c.height = page.height;
  document.body.appendChild(c);
  if (kind === 'webgpu') {
    const e = new WebGPUEngine(c, { antialias: false, adaptToDeviceRatio: false, stencil: false });
    await e.initAsync();
    return e;
  }
  return new Engine(c, false, { preserveDrawingBuffer: true, stencil: false, antialias: false }, false);
}

/** A scene with an opaque black clear colour (the hole colour of the tests). */
export function createScene(engine: AbstractEngine): Scene {
  const scene = new Scene(engine);
  scene.clearColor = new Color4(0, 0, 0, 1);
  scene.skipPointerMovePicking = true;
  return scene;
}

/**
 * Renders `camera`'s view of the scene into a width×height RGBA8 render target and reads it back, top row
 * first (render-target readbacks are bottom-up in both Babylon engines). Waits for the scene to be ready.
 */
export async function renderPixels(scene: Scene, camera: Camera, width: number, height: number): Promise<Uint8Array> {
  // The camera's projection takes its aspect ratio from the canvas: give the canvas the target's size.
  const engine = scene.getEngine();
  if (engine.getRenderWidth() !== width || engine.getRenderHeight() !== height) engine.setSize(width, height);
  await scene.whenReadyAsync();
  const rtt = new RenderTargetTexture('readback', { width, height }, scene, false, true, Constants.TEXTURETYPE_UNSIGNED_BYTE, false, Texture.NEAREST_SAMPLINGMODE);
  rtt.activeCamera = camera;
  rtt.renderList = scene.meshes.slice();
  rtt.clearColor = scene.clearColor;
  try {
    for (let tries = 0; tries < 200 && !rtt.isReadyForRendering(); tries++) await new Promise((r) => setTimeout(r, 10));
    // Shaders compile asynchronously: render until every mesh is ready for this target.
    for (let tries = 0; tries < 400; tries++) {
      const ready = scene.meshes.every((m) => !m.isEnabled() || !m.material || m.isReady(true));
      if (ready) break;
      await new Promise((r) => setTimeout(r, 10));
    }
    rtt.render(false);
    const data = (await rtt.readPixels(0, 0, null, true)) as Uint8Array | null;
    if (!data) throw new Error('readPixels returned null');
    const u8 = new Uint8Array(data.buffer, data.byteOffset, width * height * 4);
    const out = new Uint8Array(width * height * 4);
    const row = width * 4;
    for (let y = 0; y < height; y++) out.set(u8.subarray((height - 1 - y) * row, (height - y) * row), y * row);
    return out;
  } finally {
    rtt.dispose();
  }
}

/** Fraction of pixels exactly equal to the clear colour (0, 0, 0). */
export function holeFraction(a: ArrayLike<number>, pixels: number, reference?: ArrayLike<number>): number {
  // With a reference render, a pixel that is black there too is content (photos have black pixels), not a hole.
  const black = (p: ArrayLike<number>, i: number): boolean => p[i * 4] === 0 && p[i * 4 + 1] === 0 && p[i * 4 + 2] === 0;
  let n = 0;
  for (let i = 0; i < pixels; i++) if (black(a, i) && !(reference && black(reference, i))) n++;
  return n / pixels;
}

/**
 * PSNR (dB, peak 255, RGB, all pixels; Infinity when identical) of rendered pixels against a reference image
 * of the same size: the evaluation's own metric (scripts/eval/image-metrics.ts).
 */
export function renderPsnr(pixels: Uint8Array, reference: RGBAImage): number {
  return psnrRGB(reference, { width: reference.width, height: reference.height, data: pixels })!;
}

/** Fetches an image URL and decodes it to RGBA8 with the library's own browser decoder (what the loader does). */
export async function fetchRGBA(url: string): Promise<RGBAImage> {
  const bytes = new Uint8Array(await (await fetch(url)).arrayBuffer());
  return decodeImageInBrowser(bytes, { name: url, maxPixels: Infinity });
}

/**
 * A stereo scene of the shared data as RGB-D input: left.png, and depth = f·B/d from disp.pfm with f = W,
 * B = 1 (unknown disparity 0 stays unknown depth 0: decompose fills it).
 */
export async function stereoInput(name: string): Promise<{ image: RGBAImage; depth: Float32Array; intrinsics: Intrinsics }> {
  const base = `/shared-data/stereo/${name}`;
  const image = await fetchRGBA(`${base}/left.png`);
  const disp = decodePFM(new Uint8Array(await (await fetch(`${base}/disp.pfm`)).arrayBuffer()));
  const W = disp.width;
  const H = disp.height;
  const depth = new Float32Array(W * H);
  for (let i = 0; i < depth.length; i++) if (disp.data[i]! > 0) depth[i] = W / disp.data[i]!;
  return { image, depth, intrinsics: { fx: W, fy: W, cx: W / 2, cy: H / 2 } };
}

/** Base64 of bytes (page results travel to Node as JSON). */
export function toBase64(bytes: Uint8Array): string {
  let bin = '';
  for (let i = 0; i < bytes.length; i += 0x8000) bin += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(bin);
}

/** Bytes of a base64 string (test inputs made on the Node side). */
export function fromBase64(text: string): Uint8Array {
  const bin = atob(text);
  const bytes = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
  return bytes;
}

/** Renders two full frames (beginFrame/render/endFrame) so that deferred GPU releases take place. */
export async function flushFrames(engine: AbstractEngine, scene: Scene): Promise<void> {
  for (let i = 0; i < 2; i++) {
    engine.beginFrame();
    scene.render();
    engine.endFrame();
    await new Promise((r) => setTimeout(r, 20));
  }
}
