/**
 * Page-side helpers shared by the Babylon test pages: engine creation (WebGL2 or WebGPU on the page's
 * canvas), off-screen render + readback of one camera's view, GPU resource counters and image metrics.
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

export type EngineKind = 'webgl' | 'webgpu';

/** Live GPU object counts, from wrapping the context/device creation and deletion calls. */
export interface GpuCounters {
  buffers: number;
  textures: number;
}

const counters: GpuCounters = { buffers: 0, textures: 0 };
let instrumented = false;
/** Labels of live WebGPU buffers (diagnostics). */
export const liveLabels = new Map<object, string>();

/**
 * Wraps WebGL2 createBuffer/deleteBuffer/createTexture/deleteTexture and WebGPU createBuffer/destroy,
 * createTexture/destroy so that tests can compare live counts before and after a dispose. Must run before
 * the engine is created.
 */
function instrument(): void {
  if (instrumented) return;
  instrumented = true;
  const gl2 = WebGL2RenderingContext.prototype;
  const cb = gl2.createBuffer;
  const db = gl2.deleteBuffer;
  const ct = gl2.createTexture;
  const dt = gl2.deleteTexture;
  gl2.createBuffer = function (this: WebGL2RenderingContext) {
    const b = cb.call(this);
    if (b) counters.buffers++;
    return b;
  };
  gl2.deleteBuffer = function (this: WebGL2RenderingContext, b: WebGLBuffer | null) {
    if (b && this.isBuffer(b)) counters.buffers--;
    return db.call(this, b);
  };
  gl2.createTexture = function (this: WebGL2RenderingContext) {
    const t = ct.call(this);
    if (t) counters.textures++;
    return t;
  };
  gl2.deleteTexture = function (this: WebGL2RenderingContext, t: WebGLTexture | null) {
    if (t && this.isTexture(t)) counters.textures--;
    return dt.call(this, t);
  };
  if (typeof GPUDevice !== 'undefined') {
    const dev = GPUDevice.prototype;
    const cbuf = dev.createBuffer;
    const ctex = dev.createTexture;
    const live = new WeakSet<object>();
    dev.createBuffer = function (this: GPUDevice, d: GPUBufferDescriptor) {
      const b = cbuf.call(this, d);
      counters.buffers++;
      live.add(b);
      liveLabels.set(b, `${d.label ?? '?'} size=${d.size} usage=${d.usage}`);
      const destroy = b.destroy.bind(b);
      b.destroy = () => {
        if (live.has(b)) {
          live.delete(b);
          liveLabels.delete(b);
          counters.buffers--;
        }
        destroy();
      };
      return b;
    };
    dev.createTexture = function (this: GPUDevice, d: GPUTextureDescriptor) {
      const t = ctex.call(this, d);
      counters.textures++;
      live.add(t);
      const destroy = t.destroy.bind(t);
      t.destroy = () => {
        if (live.has(t)) {
          live.delete(t);
          counters.textures--;
        }
        destroy();
      };
      return t;
    };
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

/** PSNR (dB, peak 255) of the RGB channels over all pixels; Infinity when identical. */
export function psnrRGB(a: ArrayLike<number>, b: ArrayLike<number>, pixels: number): number {
  let se = 0;
  for (let i = 0; i < pixels; i++) {
    for (let c = 0; c < 3; c++) {
      const d = a[i * 4 + c]! - b[i * 4 + c]!;
      se += d * d;
    }
  }
  const mse = se / (pixels * 3);
  return mse === 0 ? Infinity : 10 * Math.log10((255 * 255) / mse);
}

/** Fraction of pixels exactly equal to the clear colour (0, 0, 0). */
export function holeFraction(a: ArrayLike<number>, pixels: number): number {
  let n = 0;
  for (let i = 0; i < pixels; i++) if (a[i * 4] === 0 && a[i * 4 + 1] === 0 && a[i * 4 + 2] === 0) n++;
  return n / pixels;
}

/** Decodes an image URL to RGBA8 through the browser (no colour management beyond the default). */
export async function fetchRGBA(url: string): Promise<{ width: number; height: number; data: Uint8ClampedArray }> {
  const blob = await (await fetch(url)).blob();
  const bmp = await createImageBitmap(blob, { premultiplyAlpha: 'none' });
  const c = new OffscreenCanvas(bmp.width, bmp.height);
  const ctx = c.getContext('2d')!;
  ctx.drawImage(bmp, 0, 0);
  const id = ctx.getImageData(0, 0, bmp.width, bmp.height);
  bmp.close();
  return { width: id.width, height: id.height, data: id.data };
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
