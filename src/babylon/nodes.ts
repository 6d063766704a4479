/**
 * Scene nodes of a decomposition: a root TransformNode, one mesh per layer with its texture and MPI
 * material, a camera placed where the photo was taken, and the orbit range. Usable without the loader:
 *
 * ```ts
 * import { decompose } from 'diorama';
 * import { createDioramaNodes } from 'diorama/babylon/pure';
 *
 * const result = await decompose({ image, depth, intrinsics });
 * const nodes = createDioramaNodes(scene, result, { name: 'photo' });
 * const camera = nodes.createPhotoCamera();        // ArcRotateCamera at the photo's viewpoint, orbit limits set
 * // or nodes.createPhotoCamera({ kind: 'free' }): a FreeCamera at the viewpoint (move it for novel views)
 * scene.activeCamera = camera;
 * camera.attachControl();
 * // ... render; the canvas aspect should be the photo's (width / height) for a pixel-exact original view
 * // (Babylon takes a camera's aspect ratio from the canvas, also when rendering into a render target).
 * nodes.dispose();                                  // frees meshes, materials, textures, cameras it made
 * ```
 *
 * Geometry: layer meshes are in camera space (x right, y up, z forward, metres), which is Babylon's
 * default left-handed frame with the photo's camera at the root's origin looking down +z. UVs have
 * v = 0 at the top of the crop and textures are uploaded without a v-flip (invertY = false), so both agree.
 */
import type { Scene } from '@babylonjs/core/scene.js';
import type { AssetContainer } from '@babylonjs/core/assetContainer.js';
import type { Node } from '@babylonjs/core/node.js';
import { TransformNode } from '@babylonjs/core/Meshes/transformNode.js';
import { Mesh } from '@babylonjs/core/Meshes/mesh.js';
import { VertexData } from '@babylonjs/core/Meshes/mesh.vertexData.js';
import type { Material } from '@babylonjs/core/Materials/material.js';
import type { BaseTexture } from '@babylonjs/core/Materials/Textures/baseTexture.js';
import type { Camera } from '@babylonjs/core/Cameras/camera.js';
import type { Geometry } from '@babylonjs/core/Meshes/geometry.js';
import { ArcRotateCamera } from '@babylonjs/core/Cameras/arcRotateCamera.js';
import { FreeCamera } from '@babylonjs/core/Cameras/freeCamera.js';
import { Matrix, Vector3 } from '@babylonjs/core/Maths/math.vector.js';
import { DioramaError } from '../core/errors';
import type { Decomposition, Intrinsics, Layer, RGBAImage } from '../core/types';
import { describeDiorama, DIORAMA_DESCRIBE_DEFAULTS, type DioramaLayerMetadata, type PhotoCameraDescription } from '../scene/description';
import { createLayerTexture, createLitMaterial, createMpiMaterial, type DioramaDepthMode } from './mpi-material';

export { dioramaLayerName, type DioramaLayerMetadata } from '../scene/description';

/** Options of {@link createDioramaNodes}; every field is optional. */
export interface DioramaNodesOptions {
  /** Name of the root node (and prefix of everything else). Default 'diorama'. */
  name?: string;
  /** Receive scene lighting (lit StandardMaterial) instead of the unlit MPI material. Default false. */
  lighting?: boolean;
  /**
   * 'layered' (default): each layer gets its own depth slice, exact MPI order and self-occlusion;
   * 'scene': true depths, depth writes off, for mixing with other objects. See mpi-material.ts.
   */
  depthMode?: DioramaDepthMode;
  /** alphaIndex of layer 0 (the farthest); layer k gets alphaIndexBase + k. Default 0. */
  alphaIndexBase?: number;
  /** Rendering group of the layers. Default 0. */
  renderingGroupId?: number;
  /** Generate texture mipmaps (trilinear). Default false (bilinear, exact at the photo's scale). */
  mipmaps?: boolean;
  /** Parent of the root node. Default none. */
  parent?: TransformNode;
  /**
   * When given, every created asset is added to this container instead of the scene (the pattern of
   * Babylon's own loaders: the scene does not list them until `container.addAllToScene()`).
   */
  container?: AssetContainer;
  /** Only build the layers whose index passes this filter (e.g. the loader's meshNames). Default all. */
  layerFilter?: (layer: Layer) => boolean;
  /** Orbit half-angle (degrees) around the scene centre. Default 10. */
  orbitAngle?: number;
  /** Sideways travel allowed to the orbit camera, as a fraction of the median depth. Default 0.05. */
  orbitSideways?: number;
}

/** Default values of {@link DioramaNodesOptions}. */
export const DIORAMA_NODES_DEFAULTS = Object.freeze({
  ...DIORAMA_DESCRIBE_DEFAULTS,
  alphaIndexBase: 0,
  renderingGroupId: 0,
});

/** The orbit range the layers were built for (camera space of the photo, i.e. the root's local frame). */
export interface DioramaOrbit {
  /** Scene centre: the point on the optical axis at the median depth. */
  target: Vector3;
  /** Distance from the photo's viewpoint to the target (the median depth, metres). */
  radius: number;
  /** Half-angle of the orbit around the target, radians. */
  maxAngle: number;
  /** Allowed sideways travel (metres). */
  maxSideways: number;
  /** Nearest and farthest scene depth (metres, 2nd and 98th percentiles of the harmonized depth). */
  nearDepth: number;
  farDepth: number;
}

/** Options of {@link DioramaNodes.createPhotoCamera}. */
export interface PhotoCameraOptions {
  /** 'orbit' (default): ArcRotateCamera with the orbit limits; 'free': FreeCamera at the viewpoint. */
  kind?: 'orbit' | 'free';
  /** Camera name. Default `<root name>.camera`. */
  name?: string;
}

/** What {@link createDioramaNodes} built. */
export interface DioramaNodes {
  /** Root node, named after the photo; layer meshes are its children. */
  readonly root: TransformNode;
  /** Layer meshes, back to front (index 0 = farthest). */
  readonly layers: Mesh[];
  readonly textures: BaseTexture[];
  readonly materials: Material[];
  /** Photo size (pixels) and intrinsics the layers were unprojected with. */
  readonly width: number;
  readonly height: number;
  readonly intrinsics: Intrinsics;
  readonly orbit: DioramaOrbit;
  /** Depth mode in use (lighting forces 'scene'). */
  readonly depthMode: DioramaDepthMode;
  /**
   * Creates a camera exactly at the photo's viewpoint: vertical field of view 2·atan(H / 2fy) (Babylon's
   * fov is vertical), horizontal scale fx/fy and principal point (cx, cy) applied to the projection
   * matrix, near/far planes from the scene's depth range. The camera is parented to the root (it follows
   * the diorama if the root moves) and is disposed with the nodes. For a pixel-exact original view render
   * to a canvas with the photo's aspect ratio. A 'free' camera can be moved in the photo's camera space for
   * novel views (e.g. `camera.position.x = B` for the right camera of a stereo pair with baseline B).
   * @param scene optional, must be the diorama's own scene (accepted for symmetry with Babylon helpers)
   * @param options see {@link PhotoCameraOptions}
   */
  createPhotoCamera(options?: PhotoCameraOptions): ArcRotateCamera | FreeCamera;
  createPhotoCamera(scene: Scene, options?: PhotoCameraOptions): ArcRotateCamera | FreeCamera;
  /** True once dispose() ran. */
  readonly isDisposed: boolean;
  /** Frees every mesh, material, texture (and GPU buffer) and camera created for this diorama. */
  dispose(): void;
}

const registry = new WeakMap<Node, DioramaNodes>();
/** Straight-alpha source image of each layer mesh (the decomposition's own array, not a copy), for export. */
const layerSources = new WeakMap<Mesh, RGBAImage>();

/** @internal The straight-alpha RGBA a layer mesh was built from (used by the GLB export). */
export function getLayerSourceImage(mesh: Mesh): RGBAImage | undefined {
  return layerSources.get(mesh);
}

/** The DioramaNodes a node belongs to (the root, a layer mesh, or any descendant), if any. */
export function getDioramaNodes(node: Node | null | undefined): DioramaNodes | undefined {
  for (let n: Node | null | undefined = node; n; n = n.parent) {
    const hit = registry.get(n);
    if (hit) return hit;
  }
  return undefined;
}

/**
 * Builds the Babylon nodes of a decomposition: a root TransformNode named `options.name`, one Mesh per
 * layer (32-bit indices, positions and UVs of `layer.mesh`, metadata in `mesh.metadata.diorama`), each
 * with its own RGBA texture and material. Throws DioramaError INVALID_OPTION on a decomposition without
 * layers or with inconsistent mesh arrays. Nothing is added to the scene before the input is checked.
 */
export function createDioramaNodes(scene: Scene, decomposition: Decomposition, options: DioramaNodesOptions = {}): DioramaNodes {
  const opt = { ...DIORAMA_NODES_DEFAULTS, ...stripUndefined(options) };
  // Checks the input and computes everything engine-neutral before anything is added to the scene.
  const desc = describeDiorama(decomposition, opt);
  const { width, height, intrinsics, depthMode } = desc;

  const container = opt.container;
  const created: { meshes: Mesh[]; textures: BaseTexture[]; materials: Material[]; cameras: Camera[]; geometries: Geometry[] } = { meshes: [], textures: [], materials: [], cameras: [], geometries: [] };
  const previousBlock = scene._blockEntityCollection;
  scene._blockEntityCollection = !!container;
  let root: TransformNode;
  try {
    root = new TransformNode(opt.name, scene);
    if (opt.parent) root.parent = opt.parent;
    // One object under both keys, as for the layers: the glTF serializer exports `gltf.extras`.
    const rootMeta = desc.root;
    root.metadata = { diorama: rootMeta, gltf: { extras: { diorama: rootMeta } } };
    container?.transformNodes.push(root);
    for (const layer of desc.layers) {
      const { name } = layer;
      const texture = createLayerTexture(layer.texture.name, layer.texture.data, layer.texture.width, layer.texture.height, scene, layer.texture.mipmaps);
      created.textures.push(texture);
      container?.textures.push(texture);
      const m = layer.material;
      const material =
        m.kind === 'lit' ? createLitMaterial(m.name, texture, scene) : createMpiMaterial(m.name, texture, scene, { depthMode, slice: m.slice, sliceCount: m.sliceCount });
      created.materials.push(material);
      container?.materials.push(material);

      const mesh = new Mesh(name, scene);
      const vd = new VertexData();
      vd.positions = layer.positions;
      vd.uvs = layer.uvs;
      vd.indices = layer.indices;
      if (layer.normals) vd.normals = layer.normals;
      vd.applyToMesh(mesh, false);
      mesh.material = material;
      mesh.parent = root;
      mesh.alphaIndex = opt.alphaIndexBase + m.order;
      mesh.renderingGroupId = opt.renderingGroupId;
      const meta: DioramaLayerMetadata = layer.metadata;
      mesh.metadata = { diorama: meta, gltf: { extras: { dioramaLayer: meta } } };
      created.meshes.push(mesh);
      container?.meshes.push(mesh);
      layerSources.set(mesh, layer.source);
      if (mesh.geometry) {
        created.geometries.push(mesh.geometry);
        container?.geometries.push(mesh.geometry);
      }
    }
  } catch (e) {
    scene._blockEntityCollection = previousBlock;
    for (const m of created.meshes) m.dispose(false, false);
    for (const m of created.materials) m.dispose(true, false);
    for (const t of created.textures) t.dispose();
    root!?.dispose();
    throw e;
  } finally {
    scene._blockEntityCollection = previousBlock;
  }

  const o = desc.orbit;
  const orbit: DioramaOrbit = {
    target: new Vector3(...o.target),
    radius: o.radius,
    maxAngle: o.maxAngle,
    maxSideways: o.maxSideways,
    nearDepth: o.nearDepth,
    farDepth: o.farDepth,
  };

  let disposed = false;
  const nodes: DioramaNodes = {
    root,
    layers: created.meshes,
    textures: created.textures,
    materials: created.materials,
    width,
    height,
    intrinsics: { ...intrinsics },
    orbit,
    depthMode,
    get isDisposed() {
      return disposed;
    },
    createPhotoCamera(a?: Scene | PhotoCameraOptions, b?: PhotoCameraOptions) {
      if (disposed) throw new DioramaError('INVALID_OPTION', 'createPhotoCamera() called after dispose()');
      const isScene = !!a && typeof (a as Scene).getEngine === 'function';
      if (isScene && a !== scene) throw new DioramaError('INVALID_OPTION', 'createPhotoCamera: the scene must be the one the diorama was built in');
      const camOptions: PhotoCameraOptions = (isScene ? b : (a as PhotoCameraOptions | undefined)) ?? {};
      const cam = makePhotoCamera(scene, root, camOptions, { camera: desc.camera, orbit, name: camOptions.name ?? `${opt.name}.camera` });
      created.cameras.push(cam);
      cam.onDisposeObservable.addOnce(() => {
        const i = created.cameras.indexOf(cam);
        if (i >= 0) created.cameras.splice(i, 1);
      });
      return cam;
    },
    dispose() {
      if (disposed) return;
      disposed = true;
      for (const c of created.cameras.slice()) c.dispose();
      for (const m of created.meshes) m.dispose(false, false);
      for (const m of created.materials) m.dispose(true, false);
      for (const t of created.textures) t.dispose();
      root.dispose(false, false);
      if (container) {
        removeAll(container.meshes, created.meshes);
        removeAll(container.materials, created.materials);
        removeAll(container.textures, created.textures);
        removeAll(container.transformNodes, [root]);
        removeAll(container.geometries, created.geometries);
      }
      registry.delete(root);
    },
  };
  registry.set(root, nodes);
  return nodes;
}

function removeAll<T>(arr: T[], items: readonly T[]): void {
  for (const it of items) {
    const i = arr.indexOf(it);
    if (i >= 0) arr.splice(i, 1);
  }
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  const out: Partial<T> = {};
  for (const k of Object.keys(o) as (keyof T)[]) if (o[k] !== undefined) out[k] = o[k];
  return out;
}

interface CameraContext {
  camera: PhotoCameraDescription;
  orbit: DioramaOrbit;
  name: string;
}

/**
 * Applies the photo's intrinsics to a Babylon perspective camera. Babylon builds a symmetric frustum with
 * a vertical fov (m5 = 1/tan(fov/2), m0 = m5/aspect). A pinhole camera maps camera-space (x, y, z) to
 * NDC x = (2·cx − W)/W' + (2·fx/W')·x/z and NDC y = (H − 2·cy)/H + (2·fy/H)·y/z (y up), with W' = aspect·H
 * the canvas width in photo pixels (W' = W when the canvas has the photo's aspect). In Babylon's row-vector
 * convention clip.x = m0·x + m8·z and clip.y = m5·y + m9·z (clip.w = z), so after Babylon computed its
 * matrix: m5 = 2fy/H (that is the fov), m0 = m5·(fx/fy)/aspect, m8 = (2cx − W)/W', m9 = (H − 2cy)/H.
 */
function applyIntrinsics(cam: Camera, ctx: CameraContext): void {
  const c = ctx.camera;
  const H = c.height;
  cam.fovMode = 0; // Camera.FOVMODE_VERTICAL_FIXED
  cam.fov = c.fovY;
  cam.minZ = c.near;
  cam.maxZ = c.far;
  const scratch = new Array<number>(16);
  cam.onProjectionMatrixChangedObservable.add(() => {
    const m = cam.getProjectionMatrix();
    const aspect = cam.getEngine().getAspectRatio(cam);
    const a = m.m;
    for (let i = 0; i < 16; i++) scratch[i] = a[i]!;
    scratch[0] = (scratch[5]! * c.pixelAspect) / aspect;
    // (2cx − W)/W' with W' = aspect·H: the description's offset (2cx − W)/W rescaled to the canvas width.
    scratch[8] = (c.offsetX * c.width) / (aspect * H);
    scratch[9] = c.offsetY;
    Matrix.FromArrayToRef(scratch, 0, m);
  });
}

function makePhotoCamera(scene: Scene, root: TransformNode, options: PhotoCameraOptions, ctx: CameraContext): ArcRotateCamera | FreeCamera {
  const kind = options.kind ?? 'orbit';
  let cam: ArcRotateCamera | FreeCamera;
  if (kind === 'free') {
    const free = new FreeCamera(ctx.name, Vector3.Zero(), scene, false);
    free.rotation.set(0, 0, 0);
    free.setTarget(new Vector3(0, 0, 1));
    cam = free;
  } else if (kind === 'orbit') {
    const { target, radius, maxAngle, maxSideways } = ctx.orbit;
    // Babylon's ArcRotateCamera (left-handed): position = target + r·(cos α·sin β, cos β, sin α·sin β).
    // The photo's viewpoint (0, 0, 0) seen from target (0, 0, r) is α = −π/2, β = π/2.
    const arc = new ArcRotateCamera(ctx.name, -Math.PI / 2, Math.PI / 2, radius, target.clone(), scene, false);
    arc.lowerAlphaLimit = -Math.PI / 2 - maxAngle;
    arc.upperAlphaLimit = -Math.PI / 2 + maxAngle;
    arc.lowerBetaLimit = Math.PI / 2 - maxAngle;
    arc.upperBetaLimit = Math.PI / 2 + maxAngle;
    arc.lowerRadiusLimit = radius * (1 - 0.1);
    arc.upperRadiusLimit = radius * (1 + 0.1);
    arc.panningOriginTarget.copyFrom(target);
    arc.panningDistanceLimit = maxSideways;
    arc.wheelDeltaPercentage = 0.01;
    cam = arc;
  } else {
    throw new DioramaError('INVALID_OPTION', `createPhotoCamera: kind must be 'orbit' or 'free'; found '${String(kind)}'`);
  }
  cam.parent = root;
  applyIntrinsics(cam, ctx);
  return cam;
}
