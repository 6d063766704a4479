/**
 * The demo's 3D view: builds the layered scene with diorama/babylon, keeps the camera orbiting around the
 * scene from the photo's own viewpoint, shows/hides/highlights layers, draws 2D overlays (input depth,
 * harmonized depth, masks, layers) registered to the photo as seen from the photo camera, and maps a click
 * on the view back to the photo pixel under it (for SAM3 click prompts).
 */
import type { Scene } from '@babylonjs/core/scene';
import { Color3 } from '@babylonjs/core/Maths/math.color';
import { Matrix, Vector3 } from '@babylonjs/core/Maths/math.vector';
import type { AbstractMesh } from '@babylonjs/core/Meshes/abstractMesh';
import '@babylonjs/core/Culling/ray'; // scene.multiPick
import type { Decomposition } from '../src/index';
import { ArcRotateCamera } from '@babylonjs/core/Cameras/arcRotateCamera';
import { createDioramaNodes, exportDioramaGLB, type DioramaNodes } from '../src/babylon/pure';
import type { DoneMessage } from './protocol';
import { layerColour } from './colours';

export type OverlayKind = 'none' | 'depth' | 'harmonized' | 'masks' | 'layers';

/** A photo point found under the pointer: continuous photo coordinates and the layer that was hit. */
export interface PhotoPick {
  x: number;
  y: number;
  layer: number;
}

export class DioramaView {
  private nodes?: DioramaNodes;
  private done?: DoneMessage;
  private overlay: OverlayKind = 'none';
  private overlayImages = new Map<OverlayKind, HTMLCanvasElement>();
  private resetCam?: () => void;
  overlayOpacity = 0.6;

  constructor(
    readonly scene: Scene,
    private readonly overlayCanvas: HTMLCanvasElement,
  ) {}

  /**
   * Replaces the current result with a new one. The camera starts at the photo's viewpoint, or with
   * `keepCamera` (a rebuild of the same photo, e.g. after a prompt) where the previous orbit camera was.
   */
  show(done: DoneMessage, name: string, options: { keepCamera?: boolean } = {}): void {
    const prev = this.scene.activeCamera;
    const pose =
      options.keepCamera && this.nodes && prev instanceof ArcRotateCamera
        ? { alpha: prev.alpha, beta: prev.beta, radius: prev.radius, target: prev.target.clone() }
        : undefined;
    this.nodes?.dispose();
    this.overlayImages.clear();
    this.done = done;
    this.nodes = createDioramaNodes(this.scene, done.result, { name });
    const cam = this.nodes.createPhotoCamera();
    this.scene.activeCamera = cam;
    cam.attachControl(true);
    if (cam instanceof ArcRotateCamera) {
      const home = { alpha: cam.alpha, beta: cam.beta, radius: cam.radius, target: cam.target.clone() };
      const place = (p: typeof home): void => {
        cam.alpha = p.alpha;
        cam.beta = p.beta;
        cam.radius = p.radius;
        cam.setTarget(p.target.clone());
      };
      this.resetCam = () => place(home);
      // Same photo, same camera frame (the root is the photo camera): the old pose is valid as it is.
      if (pose) place(pose);
    }
    this.drawOverlay();
  }

  /**
   * The photo point under the pointer at (x, y) (CSS pixels relative to the render canvas), from any
   * viewpoint: the nearest visible layer surface hit by the picking ray, skipping the parts of a layer that
   * have no content, projected back through the photo camera: a layer vertex unprojected from pixel (u, v)
   * at depth Z sits at ((u − cx)·Z/fx, −(v − cy)·Z/fy, Z) in the root's frame, so a hit at (X, Y, Z) there
   * comes from u = cx + fx·X/Z, v = cy − fy·Y/Z. At the photo's own viewpoint this is exactly the pixel
   * under the pointer, whichever layer is hit. Returns undefined when the ray misses the scene.
   */
  pickPhotoPoint(x: number, y: number): PhotoPick | undefined {
    const nodes = this.nodes;
    const r = this.done?.result;
    if (!nodes || !r) return undefined;
    const meshes = new Set<AbstractMesh>(nodes.layers);
    const hits = this.scene.multiPick(x, y, (m) => meshes.has(m) && m.isEnabled());
    if (!hits?.length) return undefined;
    hits.sort((a, b) => a.distance - b.distance);
    const toRoot = Matrix.Invert(nodes.root.getWorldMatrix());
    const { fx, fy, cx, cy } = nodes.intrinsics;
    const p = new Vector3();
    for (const h of hits) {
      if (!h.hit || !h.pickedPoint || !h.pickedMesh) continue;
      const index = h.pickedMesh.metadata?.diorama?.layer as number;
      const layer = r.layers.find((l) => l.index === index);
      const uv = h.getTextureCoordinates();
      if (layer && uv) {
        // UVs span the layer's crop, v = 0 at its top; an empty texel (role 0) is see-through.
        const w = layer.rgba.width;
        const tx = Math.min(w - 1, Math.max(0, Math.floor(uv.x * w)));
        const ty = Math.min(layer.rgba.height - 1, Math.max(0, Math.floor(uv.y * layer.rgba.height)));
        if (layer.role[ty * w + tx] === 0) continue;
      }
      Vector3.TransformCoordinatesToRef(h.pickedPoint, toRoot, p);
      if (!(p.z > 0)) continue;
      const u = cx + (fx * p.x) / p.z;
      const v = cy - (fy * p.y) / p.z;
      if (u >= 0 && v >= 0 && u < r.width && v < r.height) return { x: u, y: v, layer: index };
    }
    return undefined;
  }

  resetCamera(): void {
    this.resetCam?.();
    this.drawOverlay();
  }

  /** Turns the orbit camera by (Δα, Δβ) radians, clamped to the orbit range (used by scripts and tests). */
  orbitBy(dAlpha: number, dBeta: number): void {
    const cam = this.scene.activeCamera;
    if (cam instanceof ArcRotateCamera) {
      cam.alpha += dAlpha;
      cam.beta += dBeta;
    }
  }

  setLayerVisible(index: number, visible: boolean): void {
    this.nodes?.layers.find((m) => m.metadata?.diorama?.layer === index)?.setEnabled(visible);
  }

  /** Tints one layer (index −1: none) with its panel colour. */
  highlightLayer(index: number): void {
    if (!this.nodes || !this.done) return;
    const count = this.done.result.layers.length;
    for (const mesh of this.nodes.layers) {
      const li = mesh.metadata?.diorama?.layer as number;
      const on = li === index;
      mesh.renderOverlay = on;
      if (on) {
        const [r, g, b] = layerColour(li, count);
        mesh.overlayColor = new Color3(r / 255, g / 255, b / 255);
        mesh.overlayAlpha = 0.45;
      }
    }
  }

  setOverlay(kind: OverlayKind): void {
    this.overlay = kind;
    if (kind !== 'none') this.resetCamera();
    this.drawOverlay();
  }

  /** Draws the chosen overlay where the photo appears in the photo camera's view (vertical field of view fixed). */
  drawOverlay(): void {
    const c = this.overlayCanvas;
    const dpr = window.devicePixelRatio || 1;
    c.width = Math.round(c.clientWidth * dpr);
    c.height = Math.round(c.clientHeight * dpr);
    const ctx = c.getContext('2d')!;
    ctx.clearRect(0, 0, c.width, c.height);
    if (this.overlay === 'none' || !this.done) return;
    const img = this.overlayImage(this.overlay);
    const { width: W, height: H } = this.done.result;
    const scale = c.height / H;
    const w = W * scale;
    ctx.globalAlpha = this.overlayOpacity;
    ctx.imageSmoothingEnabled = false;
    ctx.drawImage(img, (c.width - w) / 2, 0, w, c.height);
  }

  async exportGLB(): Promise<Uint8Array> {
    if (!this.nodes) throw new Error('nothing to export yet');
    return exportDioramaGLB(this.nodes);
  }

  /**
   * Loads a GLB (base64, e.g. one this page exported) through Babylon's glTF loader into a detached asset
   * container and returns how many meshes with geometry it holds; the container is disposed again.
   */
  async reloadGLBMeshCount(base64: string): Promise<number> {
    await import('@babylonjs/loaders/glTF/2.0/index.js');
    const { LoadAssetContainerAsync } = await import('@babylonjs/core/Loading/sceneLoader.js');
    const bin = atob(base64);
    const bytes = new Uint8Array(bin.length);
    for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
    const container = await LoadAssetContainerAsync(bytes, this.scene, { pluginExtension: '.glb' });
    const count = container.meshes.filter((m) => m.getTotalVertices() > 0).length;
    container.dispose();
    return count;
  }

  private overlayImage(kind: OverlayKind): HTMLCanvasElement {
    const hit = this.overlayImages.get(kind);
    if (hit) return hit;
    const d = this.done!;
    const r = d.result;
    const rgba = new Uint8ClampedArray(r.width * r.height * 4);
    if (kind === 'depth' || kind === 'harmonized') paintDepth(kind === 'depth' ? d.inputDepth : r.harmonizedDepth, rgba);
    else if (kind === 'masks') paintLabels(r.labels, r.width, r.height, rgba);
    else paintLayers(r, rgba);
    const cv = document.createElement('canvas');
    cv.width = r.width;
    cv.height = r.height;
    cv.getContext('2d')!.putImageData(new ImageData(rgba, r.width, r.height), 0, 0);
    this.overlayImages.set(kind, cv);
    return cv;
  }
}

/** Inverse depth through a perceptual blue→yellow ramp, near = bright; unknown = transparent. */
function paintDepth(depth: Float32Array, out: Uint8ClampedArray): void {
  let lo = Infinity;
  let hi = 0;
  for (const z of depth) {
    if (z > 0 && Number.isFinite(z)) {
      const v = 1 / z;
      if (v < lo) lo = v;
      if (v > hi) hi = v;
    }
  }
  const span = hi > lo ? hi - lo : 1;
  for (let i = 0; i < depth.length; i++) {
    const z = depth[i]!;
    if (!(z > 0 && Number.isFinite(z))) continue;
    const t = (1 / z - lo) / span;
    out[i * 4] = 255 * Math.min(1, 1.6 * t);
    out[i * 4 + 1] = 255 * Math.min(1, Math.max(0, 1.4 * t - 0.2));
    out[i * 4 + 2] = 255 * (0.45 + 0.55 * Math.sin(Math.PI * Math.min(1, t * 1.2)));
    out[i * 4 + 3] = 255;
  }
}

/** Each mask in a hashed colour, boundaries dark; no mask = transparent. */
function paintLabels(labels: Int32Array, W: number, H: number, out: Uint8ClampedArray): void {
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) {
      const i = y * W + x;
      const l = labels[i]!;
      if (l < 0) continue;
      const edge = (x + 1 < W && labels[i + 1] !== l) || (y + 1 < H && labels[i + W] !== l);
      const h = Math.imul(l + 1, 0x9e3779b1) >>> 0;
      out[i * 4] = edge ? 0 : 64 + (h & 0xbf);
      out[i * 4 + 1] = edge ? 0 : 64 + ((h >>> 8) & 0xbf);
      out[i * 4 + 2] = edge ? 0 : 64 + ((h >>> 16) & 0xbf);
      out[i * 4 + 3] = 255;
    }
  }
}

/** Every pixel in its layer's panel colour. */
function paintLayers(r: Decomposition, out: Uint8ClampedArray): void {
  const lop = r.layerOfPixel;
  if (!lop) return;
  const n = r.layers.length;
  const table = r.layers.map((_, k) => layerColour(k, n));
  for (let i = 0; i < lop.length; i++) {
    const c = table[lop[i]!];
    if (!c) continue;
    out[i * 4] = c[0];
    out[i * 4 + 1] = c[1];
    out[i * 4 + 2] = c[2];
    out[i * 4 + 3] = 255;
  }
}
