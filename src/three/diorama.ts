/**
 * The three.js scene graph of a decomposition: a `Group` with one `Mesh` per layer (back to front), each with
 * its texture and MPI material, a photo `PerspectiveCamera` whose projection matches the intrinsics, the orbit
 * range, and `dispose()`. Built from the engine-neutral description of src/scene, like the Babylon adapter.
 *
 * Frame: three.js is right-handed with cameras looking down −z, so the library's camera space (x right, y up,
 * z forward) maps to the group's local frame as (x, y, −z): the photo's camera sits at the group's origin
 * looking down −z, which is a default PerspectiveCamera. Triangles keep their on-screen winding
 * (counter-clockwise seen from the camera, three.js's front faces; layers are double-sided anyway).
 */
import { BufferAttribute, BufferGeometry, Group, Mesh, PerspectiveCamera, Quaternion, Vector3, type DataTexture, type Material, type Object3D } from 'three';
import { DioramaError } from '../core/errors';
import type { Decomposition, Intrinsics, Layer } from '../core/types';
import { describeDiorama, DIORAMA_DESCRIBE_DEFAULTS, type DioramaLayerMetadata, type DioramaRootMetadata, type PhotoCameraDescription } from '../scene/description';
import type { DioramaDepthMode } from '../scene/depth-slices';
import type { RGBAImage } from '../core/types';
import { createLayerTexture, webglMaterials, type DioramaMaterialFactory } from './materials';

/** Options of {@link createDiorama}; every field is optional. */
export interface DioramaThreeOptions {
  /** Name of the group (and prefix of everything else). Default 'diorama'. */
  name?: string;
  /** Lit layers (Lambert material, straight alpha) instead of the unlit MPI material. Default false. */
  lighting?: boolean;
  /** 'layered' (default) or 'scene'; see src/scene/depth-slices.ts. Lighting forces 'scene'. */
  depthMode?: DioramaDepthMode;
  /** renderOrder of layer 0 (the farthest); layer k gets renderOrderBase + k. Default 0. */
  renderOrderBase?: number;
  /** Texture mipmaps (trilinear). Default false (bilinear, exact at the photo's scale). */
  mipmaps?: boolean;
  /** Only build the layers that pass this filter. Default all. */
  layerFilter?: (layer: Layer) => boolean;
  /** Orbit half-angle (degrees) around the scene centre. Default 10. */
  orbitAngle?: number;
  /** Sideways travel allowed to the orbit camera, as a fraction of the median depth. Default 0.05. */
  orbitSideways?: number;
  /**
   * The renderer's materials: {@link webglMaterials} (ShaderMaterial, WebGLRenderer; default) or
   * `webgpuMaterials` from `diorama/three/webgpu` (node materials, WebGPURenderer).
   */
  materials?: DioramaMaterialFactory;
}

/** Default values of {@link DioramaThreeOptions}. */
export const DIORAMA_THREE_DEFAULTS = Object.freeze({
  ...DIORAMA_DESCRIBE_DEFAULTS,
  renderOrderBase: 0,
});

/** `mesh.userData.diorama` of a layer: the shared layer metadata plus `index` (= `layer`). */
export type DioramaThreeLayerData = DioramaLayerMetadata & { index: number };

/** The orbit range in the group's local frame (three.js: the photo looks down −z). */
export interface DioramaThreeOrbit {
  /** Scene centre: (0, 0, −median depth). */
  target: Vector3;
  /** Distance from the photo's viewpoint to the target (the median depth, metres). */
  radius: number;
  /** Half-angle of the orbit around the target, radians. */
  maxAngle: number;
  /** Allowed sideways travel (metres). */
  maxSideways: number;
  nearDepth: number;
  farDepth: number;
}

/** The OrbitControls properties {@link Diorama.applyOrbitLimits} sets (three/addons/controls/OrbitControls.js). */
export interface OrbitControlsLike {
  object: Object3D;
  target: Vector3;
  cursor?: Vector3;
  minDistance: number;
  maxDistance: number;
  minAzimuthAngle: number;
  maxAzimuthAngle: number;
  minPolarAngle: number;
  maxPolarAngle: number;
  maxTargetRadius?: number;
  update(deltaTime?: number | null): boolean;
}

/** What {@link createDiorama} (or the DioramaLoader) built. */
export interface Diorama {
  /** The group: add it to your scene. Named after the photo; the layer meshes are its children. */
  readonly scene: Group;
  /** Layer meshes, back to front (index 0 = farthest; renderOrder increases to the front). */
  readonly layers: Mesh[];
  /** A camera at the photo's viewpoint (see {@link Diorama.createPhotoCamera}); not part of the group. */
  readonly camera: PerspectiveCamera;
  readonly textures: DataTexture[];
  readonly materials: Material[];
  readonly geometries: BufferGeometry[];
  /** Photo size (pixels) and intrinsics the layers were unprojected with. */
  readonly width: number;
  readonly height: number;
  readonly intrinsics: Intrinsics;
  readonly orbit: DioramaThreeOrbit;
  /** Depth mode in use (lighting forces 'scene'). */
  readonly depthMode: DioramaDepthMode;
  /** Which renderer the materials are for. */
  readonly renderer: 'webgl' | 'webgpu';
  /**
   * A new PerspectiveCamera exactly at the photo's viewpoint, in world space (the group's current world
   * transform applied): vertical fov 2·atan(H / 2fy), aspect (W/H)·(fy/fx) and the principal point through
   * `setViewOffset`, near/far from the scene's depth range. For a pixel-exact original view render to a
   * canvas with the photo's aspect ratio (W/H); `updateProjectionMatrix()` keeps the principal point.
   */
  createPhotoCamera(name?: string): PerspectiveCamera;
  /**
   * Sets OrbitControls limits for the range the layers were built for: target at the scene centre, azimuth and
   * polar angle within ±maxAngle of the photo's viewpoint, distance within ±10 % of the radius, target
   * travel within maxSideways (OrbitControls' cursor / maxTargetRadius). Assumes an unrotated group (the
   * angles are world angles). Calls `controls.update()`.
   */
  applyOrbitLimits(controls: OrbitControlsLike): void;
  /** True once dispose() ran. */
  readonly isDisposed: boolean;
  /** Removes the group and cameras from their parents and frees every geometry, texture and material it made. */
  dispose(): void;
}

const registry = new WeakMap<Object3D, Diorama>();
const layerSources = new WeakMap<Mesh, RGBAImage>();

/** @internal The straight-alpha RGBA a layer mesh was built from (used by the GLB export). */
export function getLayerSourceImage(mesh: Mesh): RGBAImage | undefined {
  return layerSources.get(mesh);
}

/** The Diorama an object belongs to (the group, a layer mesh, or any descendant), if any. */
export function getDiorama(object: Object3D | null | undefined): Diorama | undefined {
  for (let o: Object3D | null | undefined = object; o; o = o.parent) {
    const hit = registry.get(o);
    if (hit) return hit;
  }
  return undefined;
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  const out: Partial<T> = {};
  for (const k of Object.keys(o) as (keyof T)[]) if (o[k] !== undefined) out[k] = o[k];
  return out;
}

/**
 * Applies the photo's intrinsics to a PerspectiveCamera. three.js's projection is x_ndc = x / (aspect·tan(fov/2)·(−z))
 * on a symmetric frustum; the pinhole camera wants x_ndc = (2fx/W)·x/Z + (2cx − W)/W, y_ndc = (2fy/H)·y/Z + (H − 2cy)/H.
 * With tan(fov/2) = H/(2fy) and aspect = (W/H)·(fy/fx) the scales match; measuring the view offset in units
 * of fy-pixels (full width W' = W·fy/fx, full height H) shifts the frustum window by (W/2 − cx)·fy/fx and
 * H/2 − cy, which moves the principal point to (cx, cy).
 */
export function applyPhotoIntrinsics(cam: PerspectiveCamera, c: PhotoCameraDescription): void {
  const { width: W, height: H, intrinsics: k } = c;
  const s = k.fy / k.fx;
  cam.fov = (c.fovY * 180) / Math.PI;
  cam.near = c.near;
  cam.far = c.far;
  cam.zoom = 1;
  cam.filmOffset = 0;
  cam.setViewOffset(W * s, H, (W / 2 - k.cx) * s, H / 2 - k.cy, W * s, H);
  cam.updateProjectionMatrix();
}

/**
 * Builds the three.js objects of a decomposition (see the module comment). Throws DioramaError INVALID_OPTION
 * on a decomposition without layers or with inconsistent mesh arrays (before anything is created).
 * @param decomposition the result of decompose()
 * @param options see {@link DioramaThreeOptions}
 */
export function createDiorama(decomposition: Decomposition, options: DioramaThreeOptions = {}): Diorama {
  const opt = { ...DIORAMA_THREE_DEFAULTS, ...stripUndefined(options) };
  const factory = options.materials ?? webglMaterials;
  const desc = describeDiorama(decomposition, opt);
  const { width, height, depthMode } = desc;
  const created = { textures: [] as DataTexture[], materials: [] as Material[], geometries: [] as BufferGeometry[], meshes: [] as Mesh[], cameras: [] as PerspectiveCamera[] };
  const group = new Group();
  group.name = desc.name;
  const rootMeta: DioramaRootMetadata = desc.root;
  group.userData = { diorama: rootMeta };
  try {
    for (const layer of desc.layers) {
      const texture = createLayerTexture(layer.texture);
      created.textures.push(texture);
      const material = layer.material.kind === 'lit' ? factory.lit(texture, layer.material) : factory.mpi(texture, layer.material);
      created.materials.push(material);
      const geometry = new BufferGeometry();
      geometry.name = `${layer.name}.geometry`;
      const p = layer.positions;
      const pos = new Float32Array(p.length);
      for (let i = 0; i < p.length; i += 3) {
        pos[i] = p[i]!;
        pos[i + 1] = p[i + 1]!;
        pos[i + 2] = -p[i + 2]!;
      }
      geometry.setAttribute('position', new BufferAttribute(pos, 3));
      geometry.setAttribute('uv', new BufferAttribute(layer.uvs, 2));
      if (layer.normals) {
        const n = new Float32Array(layer.normals);
        for (let i = 2; i < n.length; i += 3) n[i] = -n[i]!;
        geometry.setAttribute('normal', new BufferAttribute(n, 3));
      }
      geometry.setIndex(new BufferAttribute(layer.indices, 1));
      geometry.computeBoundingSphere();
      created.geometries.push(geometry);
      const mesh = new Mesh(geometry, material);
      mesh.name = layer.name;
      mesh.renderOrder = opt.renderOrderBase + layer.material.order;
      const data: DioramaThreeLayerData = { index: layer.index, ...layer.metadata };
      mesh.userData = { diorama: data };
      layerSources.set(mesh, layer.source);
      group.add(mesh);
      created.meshes.push(mesh);
    }
  } catch (e) {
    for (const g of created.geometries) g.dispose();
    for (const m of created.materials) m.dispose();
    for (const t of created.textures) t.dispose();
    throw e;
  }

  const o = desc.orbit;
  const orbit: DioramaThreeOrbit = {
    target: new Vector3(o.target[0], o.target[1], -o.target[2]),
    radius: o.radius,
    maxAngle: o.maxAngle,
    maxSideways: o.maxSideways,
    nearDepth: o.nearDepth,
    farDepth: o.farDepth,
  };

  const makeCamera = (name: string): PerspectiveCamera => {
    const cam = new PerspectiveCamera();
    cam.name = name;
    applyPhotoIntrinsics(cam, desc.camera);
    group.updateWorldMatrix(true, false);
    const position = new Vector3();
    const quaternion = new Quaternion();
    group.matrixWorld.decompose(position, quaternion, new Vector3());
    cam.position.copy(position);
    cam.quaternion.copy(quaternion);
    cam.updateMatrixWorld();
    created.cameras.push(cam);
    return cam;
  };

  let disposed = false;
  const camera = makeCamera(`${desc.name}.camera`);
  const diorama: Diorama = {
    scene: group,
    layers: created.meshes,
    camera,
    textures: created.textures,
    materials: created.materials,
    geometries: created.geometries,
    width,
    height,
    intrinsics: { ...desc.intrinsics },
    orbit,
    depthMode,
    renderer: factory.renderer,
    get isDisposed() {
      return disposed;
    },
    createPhotoCamera(name?: string) {
      if (disposed) throw new DioramaError('INVALID_OPTION', 'createPhotoCamera() called after dispose()');
      return makeCamera(name ?? `${desc.name}.camera`);
    },
    applyOrbitLimits(controls: OrbitControlsLike) {
      if (disposed) throw new DioramaError('INVALID_OPTION', 'applyOrbitLimits() called after dispose()');
      group.updateWorldMatrix(true, false);
      const target = orbit.target.clone().applyMatrix4(group.matrixWorld);
      controls.target.copy(target);
      if (controls.cursor) controls.cursor.copy(target);
      // OrbitControls measures the azimuth around +y from +z and the polar angle from +y: the photo's
      // viewpoint, on +z of the target, is azimuth 0, polar π/2.
      controls.minAzimuthAngle = -orbit.maxAngle;
      controls.maxAzimuthAngle = orbit.maxAngle;
      controls.minPolarAngle = Math.PI / 2 - orbit.maxAngle;
      controls.maxPolarAngle = Math.PI / 2 + orbit.maxAngle;
      controls.minDistance = orbit.radius * 0.9;
      controls.maxDistance = orbit.radius * 1.1;
      if ('maxTargetRadius' in controls) controls.maxTargetRadius = orbit.maxSideways;
      controls.update();
    },
    dispose() {
      if (disposed) return;
      disposed = true;
      group.removeFromParent();
      for (const c of created.cameras) c.removeFromParent();
      for (const m of created.meshes) group.remove(m);
      for (const g of created.geometries) g.dispose();
      for (const m of created.materials) m.dispose();
      for (const t of created.textures) t.dispose();
      registry.delete(group);
    },
  };
  registry.set(group, diorama);
  return diorama;
}
