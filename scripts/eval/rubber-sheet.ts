/**
 * The rubber-sheet baseline of docs/metrics.md §2: ONE uncut mesh displaced by the depth map, two
 * triangles per pixel quad, the photo as its texture — what every "photo to 3D" depth demo ships. At a
 * depth discontinuity its triangles stretch from the foreground to the background, so a novel view shows
 * the silhouette smeared across the revealed strip instead of a hole.
 *
 * Geometry: one vertex per pixel, at the pixel centre (u, v) = (x + ½, y + ½) with that pixel's depth Z,
 * unprojected in the library's camera space (src/core/types.ts: x right, y up, z forward)
 *   P = ((u − cx)·Z/fx, −(v − cy)·Z/fy, Z),
 * with UV (u/W, v/H) (v = 0 at the top). The outermost vertices are moved to the image edge (u = 0 or W,
 * v = 0 or H; still that pixel's depth and its UV at the edge), so that from the original camera the sheet
 * covers the whole frame: a vertex projects back exactly to (u, v) whatever its depth, so the original view
 * reproduces the photo up to texture filtering. Quad (x, y)–(x+1, y+1) of neighbouring centres is split
 * along its TL–BR diagonal into two counter-clockwise triangles (seen from the camera, x right / y up),
 * the winding convention of `LayerMesh`. W·H vertices, 2·(W−1)·(H−1) triangles.
 *
 * The Babylon part wraps that geometry in a mesh with the layers' own unlit MPI material and texture helper
 * (src/babylon/mpi-material.ts) on an opaque copy of the photo, as a single layer (one depth slice, so its
 * depth is unchanged), with depth writes forced on so that the sheet occludes itself where it folds over. It thus renders with
 * the same engine, camera, shader and texture filtering as the layers it is compared with, on WebGL2 and
 * WebGPU alike.
 */
import { Mesh } from '@babylonjs/core/Meshes/mesh';
import { VertexData } from '@babylonjs/core/Meshes/mesh.vertexData';
import type { ShaderMaterial } from '@babylonjs/core/Materials/shaderMaterial';
import type { RawTexture } from '@babylonjs/core/Materials/Textures/rawTexture';
import type { Scene } from '@babylonjs/core/scene';
import { createLayerTexture, createMpiMaterial } from '../../src/babylon/mpi-material';
import type { Intrinsics, RGBAImage } from '../../src/core/types';

/** CPU geometry of a rubber sheet (camera space, see the module comment). */
export interface RubberSheetGeometry {
  /** xyz per vertex, W·H vertices in row-major pixel order. */
  positions: Float32Array;
  /** uv per vertex (v = 0 at the top). */
  uvs: Float32Array;
  /** Three indices per triangle, counter-clockwise seen from the camera (x right, y up). */
  indices: Uint32Array;
}

/**
 * Builds the rubber sheet of a W×H depth map (metres, every value finite and > 0: fill unknown depth
 * first). Throws on a size mismatch, an image smaller than 2×2 or an unusable depth value.
 */
export function rubberSheetGeometry(depth: Float32Array, width: number, height: number, intrinsics: Intrinsics): RubberSheetGeometry {
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 2 || height < 2) {
    throw new Error(`rubber sheet needs at least 2x2 pixels; found ${width}x${height}`);
  }
  if (depth.length !== width * height) throw new Error(`depth has ${depth.length} values; expected ${width}·${height} = ${width * height}`);
  const { fx, fy, cx, cy } = intrinsics;
  const n = width * height;
  const positions = new Float32Array(n * 3);
  const uvs = new Float32Array(n * 2);
  for (let y = 0; y < height; y++) {
    const v = y === 0 ? 0 : y === height - 1 ? height : y + 0.5;
    const ny = -(v - cy) / fy;
    for (let x = 0; x < width; x++) {
      const i = y * width + x;
      const z = depth[i]!;
      if (!(z > 0 && z < Infinity)) throw new Error(`rubber sheet: depth at (${x}, ${y}) is ${z}; expected a finite value > 0`);
      const u = x === 0 ? 0 : x === width - 1 ? width : x + 0.5;
      positions[3 * i] = ((u - cx) / fx) * z;
      positions[3 * i + 1] = ny * z;
      positions[3 * i + 2] = z;
      uvs[2 * i] = u / width;
      uvs[2 * i + 1] = v / height;
    }
  }
  const indices = new Uint32Array((width - 1) * (height - 1) * 6);
  let k = 0;
  for (let y = 0; y + 1 < height; y++) {
    for (let x = 0; x + 1 < width; x++) {
      const tl = y * width + x;
      const tr = tl + 1;
      const bl = tl + width;
      const br = bl + 1;
      // (tl, bl, tr) and (tr, bl, br): counter-clockwise with y up.
      indices[k++] = tl;
      indices[k++] = bl;
      indices[k++] = tr;
      indices[k++] = tr;
      indices[k++] = bl;
      indices[k++] = br;
    }
  }
  return { positions, uvs, indices };
}

/** What {@link CreateRubberSheet} made; `dispose()` frees the mesh, its material and its texture. */
export interface RubberSheet {
  mesh: Mesh;
  material: ShaderMaterial;
  texture: RawTexture;
  dispose(): void;
}

/**
 * Adds a rubber-sheet mesh of `image` displaced by `depth` to `scene` (camera space = world space, the
 * photo's camera at the origin looking down +z).
 *
 * @param scene the Babylon scene.
 * @param image the photo (RGBA8; its alpha is ignored: the sheet is opaque).
 * @param depth W·H metric depth, every value finite and > 0.
 * @param intrinsics the photo's pinhole intrinsics.
 * @param name mesh name, default "rubberSheet".
 * @returns the mesh with its material and texture.
 */
export function CreateRubberSheet(scene: Scene, image: RGBAImage, depth: Float32Array, intrinsics: Intrinsics, name = 'rubberSheet'): RubberSheet {
  const { width: W, height: H } = image;
  const geo = rubberSheetGeometry(depth, W, H, intrinsics);
  const mesh = new Mesh(name, scene);
  const vd = new VertexData();
  vd.positions = geo.positions;
  vd.uvs = geo.uvs;
  vd.indices = geo.indices;
  vd.applyToMesh(mesh, false);
  mesh.alwaysSelectAsActiveMesh = true;
  mesh.isPickable = false;

  // Opaque: premultiplied and straight colours agree.
  const rgba = new Uint8Array(W * H * 4);
  rgba.set(image.data);
  for (let i = 3; i < rgba.length; i += 4) rgba[i] = 255;
  const texture = createLayerTexture(`${name}.texture`, rgba, W, H, scene, false);
  const material = createMpiMaterial(`${name}.material`, texture, scene, { slice: 0, sliceCount: 1 });
  // Babylon turns depth writes off for every alpha-blended material (engine.setAlphaMode) unless forced;
  // the sheet must occlude itself where it folds over in a novel view.
  material.forceDepthWrite = true;
  mesh.material = material;
  return {
    mesh,
    material,
    texture,
    dispose() {
      mesh.dispose(false, false);
      material.dispose(false, false);
      texture.dispose();
    },
  };
}
