/**
 * Babylon node builder page: decompose an RGB-D scene in the page, build the layers with
 * createDioramaNodes, render the photo camera off-screen and compare with the photo.
 */
import { FreeCamera } from '@babylonjs/core/Cameras/freeCamera.js';
import { Vector3 } from '@babylonjs/core/Maths/math.vector.js';
import { Color3 } from '@babylonjs/core/Maths/math.color.js';
import { HemisphericLight } from '@babylonjs/core/Lights/hemisphericLight.js';
import type { Scene } from '@babylonjs/core/scene.js';
import { expose } from './boot';
import { createEngine, createScene, flushFrames, gpuCounters, holeFraction, renderPixels, renderPsnr, stereoInput, toBase64, type EngineKind } from './babylon-common';
import { makeScene } from '../../fixtures/scene';
import { decompose } from '../../../src/core/decompose';
import { createDioramaNodes, type DioramaNodesOptions } from '../../../src/babylon/nodes';
import type { Decomposition, RGBAImage } from '../../../src/core/types';

interface RenderArgs {
  engine: EngineKind;
  nodes?: DioramaNodesOptions;
  /** Return the rendered pixels (base64 RGBA) for inspection. */
  dump?: boolean;
}

/** Renders a decomposition from its photo camera; returns PSNR vs `image` and resource counts. */
async function renderOriginal(kind: EngineKind, result: Decomposition, image: RGBAImage, nodeOptions: DioramaNodesOptions = {}, dump = false, setupScene?: (scene: Scene) => void) {
  const engine = await createEngine(kind);
  try {
    const scene = createScene(engine);
    // A camera of the test's own, so that the scene still renders after the diorama's camera is disposed.
    const flushCamera = new FreeCamera('flush', new Vector3(0, 0, 0), scene);
    setupScene?.(scene);
    await flushFrames(engine, scene);
    const before = { ...gpuCounters(), engineTextures: engine.getLoadedTexturesCache().length };
    const t0 = performance.now();
    const nodes = createDioramaNodes(scene, result, nodeOptions);
    const camera = nodes.createPhotoCamera();
    scene.activeCamera = camera;
    const px = await renderPixels(scene, camera, result.width, result.height);
    const ms = performance.now() - t0;
    const N = result.width * result.height;
    const psnr = renderPsnr(px, image);
    const holes = holeFraction(px, N);
    const during = { ...gpuCounters(), engineTextures: engine.getLoadedTexturesCache().length };
    nodes.dispose();
    scene.activeCamera = flushCamera;
    // Let deferred releases (WebGPU destroys buffers at the end of a frame) happen.
    await flushFrames(engine, scene);
    const after = { ...gpuCounters(), engineTextures: engine.getLoadedTexturesCache().length };
    scene.dispose();
    return { psnr, holes, layers: result.layers.length, ms, before, during, after, width: result.width, height: result.height, pixels: dump ? toBase64(px) : undefined };
  } finally {
    engine.dispose();
  }
}

expose({
  async synthetic(args: RenderArgs & { width?: number; height?: number }) {
    const s = makeScene({ width: args.width ?? 320, height: args.height ?? 240 });
    const result = await decompose({
      image: s.image,
      depth: s.depth,
      intrinsics: s.intrinsics,
      masks: { kind: 'labels', labels: s.labels, concepts: s.concepts },
    });
    return renderOriginal(args.engine, result, s.image, args.nodes, args.dump);
  },

  /**
   * The synthetic scene cropped to x ∈ [16, 272), y ∈ [40, 232) of a 320×240 render: the principal point
   * (160, 120) becomes (144, 80) in a 256×192 photo, off-centre in both axes.
   */
  async syntheticOffCentre(args: RenderArgs) {
    const s = makeScene({ width: 320, height: 240 });
    const x0 = 16;
    const y0 = 40;
    const W = 256;
    const H = 192;
    // The W×H window at (x0, y0) of a row-major map with `c` values per pixel, copied row by row.
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
    return { ...(await renderOriginal(args.engine, result, image, args.nodes, args.dump)), intrinsics };
  },

  /**
   * Lit variant: a hemispheric light whose sky and ground colours are both white gives every normal the
   * same irradiance (1), so the lit layers must show the photo's own colours too.
   */
  async syntheticLit(args: RenderArgs) {
    const s = makeScene({ width: 256, height: 192 });
    const result = await decompose({ image: s.image, depth: s.depth, intrinsics: s.intrinsics, masks: { kind: 'labels', labels: s.labels, concepts: s.concepts } });
    return renderOriginal(args.engine, result, s.image, { ...args.nodes, lighting: true }, args.dump, (scene) => {
      const light = new HemisphericLight('sky', new Vector3(0, 1, 0), scene);
      light.diffuse = new Color3(1, 1, 1);
      light.groundColor = new Color3(1, 1, 1);
      light.specular = new Color3(0, 0, 0);
      light.intensity = 1;
    });
  },

  /**
   * Self-occlusion inside one layer: layer 1 holds two overlapping squares, a red one at z = 2 drawn first
   * and a green one at z = 4 drawn second (index order); layer 0 is a blue backdrop at z = 10. Seen from
   * the photo's camera the red square is in front. Layer 2, the nearest in the layers' order, is a yellow
   * square over pixels [4, 12)² placed at z = 12, BEHIND the backdrop: the layers' order must win over true
   * depth. Returns the colours at the centre (32, 32), at (8, 8) and at (60, 4).
   */
  async selfOcclusion(args: RenderArgs) {
    const W = 64;
    const H = 64;
    const intrinsics = { fx: 64, fy: 64, cx: 32, cy: 32 };
    // A square covering pixels [16, 48)² unprojected at depth z; uv constant (one texel's colour).
    const square = (z: number, u: number, x0: number, x1: number) => {
      const p = (px: number, py: number) => [((px - intrinsics.cx) * z) / intrinsics.fx, (-(py - intrinsics.cy) * z) / intrinsics.fy, z];
      return { positions: [...p(x0, x0), ...p(x1, x0), ...p(x1, x1), ...p(x0, x1)], uvs: [u, 0.5, u, 0.5, u, 0.5, u, 0.5] };
    };
    const back = square(10, 0.5, -40, 104);
    const red = square(2, 0.25, 16, 48);
    const green = square(4, 0.75, 16, 48);
    const yellow = square(12, 0.5, 4, 12);
    const layer = (index: number, rgba: number[], w: number, quads: { positions: number[]; uvs: number[] }[], depthRange: [number, number]) => {
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
    };
    const result: Decomposition = {
      width: W,
      height: H,
      intrinsics,
      intrinsicsKnown: true,
      harmonizedDepth: new Float32Array(W * H).fill(10),
      labels: new Int32Array(W * H).fill(-1),
      layers: [layer(0, [0, 0, 255, 255], 1, [back], [10, 10]), layer(1, [255, 0, 0, 255, 0, 255, 0, 255], 2, [red, green], [2, 4]), layer(2, [255, 255, 0, 255], 1, [yellow], [12, 12])],
      stats: { timings: [], totalMs: 0, width: W, height: H, maskCount: 0, layerCount: 3, solverIterations: 0, solverResidual: 0, vertexCount: 0, triangleCount: 0 },
    };
    const engine = await createEngine(args.engine);
    try {
      const scene = createScene(engine);
      const nodes = createDioramaNodes(scene, result, args.nodes);
      const camera = nodes.createPhotoCamera({ kind: 'free' });
      scene.activeCamera = camera;
      const px = await renderPixels(scene, camera, W, H);
      const centre = (32 * W + 32) * 4;
      const corner = (8 * W + 8) * 4;
      const outside = (4 * W + 60) * 4;
      return { centre: Array.from(px.subarray(centre, centre + 3)), corner: Array.from(px.subarray(corner, corner + 3)), outside: Array.from(px.subarray(outside, outside + 3)) };
    } finally {
      engine.dispose();
    }
  },

  async stereo(args: RenderArgs & { scene: string }) {
    const { image, depth, intrinsics } = await stereoInput(args.scene);
    const result = await decompose({ image, depth, intrinsics });
    return renderOriginal(args.engine, result, image, args.nodes, args.dump);
  },
});
