/**
 * Page-side helpers of the three.js tests and of the three.js novel-view renderer: a WebGLRenderer or
 * WebGPURenderer on a fresh canvas (no MSAA, pixel ratio 1), rendering a camera's view to the canvas and
 * reading it back top row first, and the renderer's memory counters.
 */
import { Color, SRGBColorSpace, type Camera, type Scene } from 'three';
import { WebGLRenderer } from 'three';
import { WebGPURenderer } from 'three/webgpu';
import { webglMaterials, type DioramaMaterialFactory } from '../../../src/three/materials';
import { webgpuMaterials } from '../../../src/three/node-materials';

export type ThreeKind = 'webgl' | 'webgpu';

export interface ThreeContext {
  kind: ThreeKind;
  renderer: WebGLRenderer | WebGPURenderer;
  canvas: HTMLCanvasElement;
  materials: DioramaMaterialFactory;
  /** Renders `camera`'s view over the opaque clear colour `clear` (sRGB bytes) and reads the canvas back, rows top first. */
  renderAndRead(scene: Scene, camera: Camera, clear?: readonly number[]): Promise<Uint8Array>;
  /** info.memory (geometries, textures) and, on WebGL, the number of live programs. */
  memory(): { geometries: number; textures: number; programs: number };
  dispose(): void;
}

/**
 * Creates a renderer of the given kind on a new width×height canvas (a canvas that had a WebGL context cannot
 * give a WebGPU one). `outputColorSpace` stays three.js's default (sRGB) unless given; `reversedDepthBuffer`
 * is off unless asked for.
 */
export async function createThree(kind: ThreeKind, width: number, height: number, options: { outputColorSpace?: string; reversedDepthBuffer?: boolean } = {}): Promise<ThreeContext> {
  const canvas = document.createElement('canvas');
  canvas.width = width;
  canvas.height = height;
  document.body.appendChild(canvas);
  let renderer: WebGLRenderer | WebGPURenderer;
  if (kind === 'webgpu') {
    const r = new WebGPURenderer({ canvas, antialias: false, alpha: false, reversedDepthBuffer: options.reversedDepthBuffer === true });
    await r.init();
    renderer = r;
  } else {
    renderer = new WebGLRenderer({ canvas, antialias: false, alpha: false, preserveDrawingBuffer: true, reversedDepthBuffer: options.reversedDepthBuffer === true });
  }
  renderer.setPixelRatio(1);
  renderer.setSize(width, height, false);
  if (options.outputColorSpace) renderer.outputColorSpace = options.outputColorSpace as typeof SRGBColorSpace;
  const scratch = document.createElement('canvas');
  return {
    kind,
    renderer,
    canvas,
    materials: kind === 'webgpu' ? webgpuMaterials : webglMaterials,
    async renderAndRead(scene, camera, clear = [0, 0, 0]) {
      const W = canvas.width;
      const H = canvas.height;
      renderer.setClearColor(new Color().setRGB(clear[0]! / 255, clear[1]! / 255, clear[2]! / 255, SRGBColorSpace), 1);
      if (kind === 'webgl') {
        const r = renderer as WebGLRenderer;
        r.render(scene, camera);
        const gl = r.getContext();
        const raw = new Uint8Array(W * H * 4);
        gl.readPixels(0, 0, W, H, gl.RGBA, gl.UNSIGNED_BYTE, raw);
        // WebGL reads the framebuffer bottom row first.
        const out = new Uint8Array(W * H * 4);
        const row = W * 4;
        for (let y = 0; y < H; y++) out.set(raw.subarray((H - 1 - y) * row, (H - y) * row), y * row);
        return out;
      }
      const r = renderer as WebGPURenderer;
      r.render(scene, camera);
      // The canvas content of this frame, copied in the same task (opaque: no premultiplication loss).
      scratch.width = W;
      scratch.height = H;
      const ctx = scratch.getContext('2d', { willReadFrequently: true })!;
      ctx.clearRect(0, 0, W, H);
      ctx.drawImage(canvas, 0, 0);
      return new Uint8Array(ctx.getImageData(0, 0, W, H).data.buffer);
    },
    memory() {
      const m = renderer.info.memory as { geometries: number; textures: number };
      const programs = kind === 'webgl' ? ((renderer as WebGLRenderer).info.programs?.length ?? 0) : 0;
      return { geometries: m.geometries, textures: m.textures, programs };
    },
    dispose() {
      renderer.dispose();
      canvas.remove();
    },
  };
}
