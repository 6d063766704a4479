/**
 * GLB export of a diorama through @babylonjs/serializers, and the fix-up that restores the layers'
 * compositing after the GLB is loaded again.
 *
 * glTF has no premultiplied alpha, no custom shaders and no draw order. The serializer writes the nodes,
 * geometry (converted to glTF's right-handed frame), names and extras; the layer materials are then written
 * into the GLB by src/scene/glb.ts (shared with the three.js export), because a Babylon material would have to be built and converted for each
 * layer (a PBR material adds a BRDF lookup texture to the scene and, on WebGPU, buffers Babylon 9 does not
 * free; the StandardMaterial conversion halves the base colour). Each layer gets: an unlit material
 * (KHR_materials_unlit), alphaMode BLEND, doubleSided, and a lossless PNG of its STRAIGHT-alpha texture
 * whose transparent texels carry their visible neighbours' colour (no fringe under straight-alpha
 * filtering), sampled LINEAR with clamped edges. The order is encoded three ways: node and material order
 * (back to front), node names (`<root>.layer_NN`) and extras (`extras.dioramaLayer.layer`). Viewers that sort
 * transparent objects by node position see all layers at the origin and keep node order (three.js); in
 * Babylon, {@link restoreDioramaOrder} sets alphaIndex from the extras and turns depth writes off.
 * Coordinates: Babylon's exporter converts the left-handed scene to glTF's right-handed frame and its loader
 * converts back (a `__root__` node with a handedness flip), so a reloaded diorama lies where it was.
 */
import type { Node } from '@babylonjs/core/node.js';
import type { AbstractMesh } from '@babylonjs/core/Meshes/abstractMesh.js';
import type { AssetContainer } from '@babylonjs/core/assetContainer.js';
import { StandardMaterial } from '@babylonjs/core/Materials/standardMaterial.js';
import { GLTF2Export } from '@babylonjs/serializers/glTF/2.0/glTFSerializer.js';
import { DioramaError } from '../core/errors';
import { attachLayerMaterials } from '../scene/glb';
import { layerIndexFromName } from '../scene/description';
import { getLayerSourceImage, type DioramaLayerMetadata, type DioramaNodes } from './nodes';

/** Options of {@link exportDioramaGLB}. */
export interface ExportDioramaOptions {
  /** File name inside the glTF data (without extension). Default: the root node's name. */
  fileName?: string;
  /** Return a Blob ('blob') or the bytes ('bytes'). Default 'bytes'. */
  as?: 'bytes' | 'blob';
}

/**
 * Exports the diorama (root and layer meshes only: no camera, nothing else of the scene) as a binary glTF
 * with unlit, alpha-BLEND, double-sided layer materials and straight-alpha PNG textures. The scene is left
 * as it was (the layers' materials are detached only while the serializer runs).
 * @param nodes what createDioramaNodes (or the loader) built; it must be in its scene (not only in an AssetContainer)
 * @param options see {@link ExportDioramaOptions}
 * @returns the .glb file as bytes (default) or a Blob (`as: 'blob'`)
 */
export async function exportDioramaGLB(nodes: DioramaNodes, options?: ExportDioramaOptions & { as?: 'bytes' }): Promise<Uint8Array>;
export async function exportDioramaGLB(nodes: DioramaNodes, options: ExportDioramaOptions & { as: 'blob' }): Promise<Blob>;
export async function exportDioramaGLB(nodes: DioramaNodes, options: ExportDioramaOptions = {}): Promise<Uint8Array | Blob> {
  if (nodes.isDisposed) throw new DioramaError('INVALID_OPTION', 'exportDioramaGLB: the diorama was disposed');
  const scene = nodes.root.getScene();
  if (!scene.transformNodes.includes(nodes.root)) {
    throw new DioramaError('INVALID_OPTION', 'exportDioramaGLB: the diorama is not in its scene (loaded into an AssetContainer?); call container.addAllToScene() first');
  }
  const fileName = options.fileName ?? nodes.root.name;
  const layers = nodes.layers.map((mesh) => {
    const source = getLayerSourceImage(mesh);
    if (!source) throw new DioramaError('INTERNAL', `exportDioramaGLB: no source image for layer mesh '${mesh.name}'`);
    return { name: mesh.name, source, layer: getDioramaLayerMetadata(mesh)?.layer ?? 0 };
  });

  // Serialize nodes and geometry with a plain placeholder material (the MPI shader has no glTF equivalent,
  // and a mesh without material would make the serializer create the scene's default material). The
  // placeholder's glTF material is dropped below.
  const keep = new Set<Node>([nodes.root, ...nodes.layers]);
  const saved = nodes.layers.map((m) => m.material);
  const placeholder = new StandardMaterial(`${nodes.root.name}.export-placeholder`, scene);
  let glb: Uint8Array;
  try {
    for (const m of nodes.layers) m.material = placeholder;
    const data = await GLTF2Export.GLBAsync(scene, fileName, {
      shouldExportNode: (n: Node) => keep.has(n),
      exportWithoutWaitingForScene: true,
      exportUnusedUVs: true,
    });
    // The serializer derives the key from the file name (and may treat a dot in it as an extension): take the one GLB.
    const blob = Object.entries(data.files).find(([k, v]) => k.endsWith('.glb') && v instanceof Blob)?.[1];
    if (!(blob instanceof Blob)) throw new DioramaError('INTERNAL', `exportDioramaGLB: the serializer produced no .glb file for '${fileName}' (found: ${Object.keys(data.files).join(', ') || 'nothing'})`);
    glb = new Uint8Array(await blob.arrayBuffer());
  } finally {
    nodes.layers.forEach((m, i) => (m.material = saved[i]!));
    placeholder.dispose(true, true);
  }

  // Images, textures and materials, in back-to-front layer order (src/scene/glb.ts).
  const out = await attachLayerMaterials(glb, layers);
  return options.as === 'blob' ? new Blob([out as BlobPart], { type: 'model/gltf-binary' }) : out;
}

/** Layer metadata of a mesh loaded from an exported GLB (glTF extras), or of a live layer mesh. */
export function getDioramaLayerMetadata(mesh: AbstractMesh): DioramaLayerMetadata | undefined {
  const m = mesh.metadata as { diorama?: DioramaLayerMetadata; gltf?: { extras?: { dioramaLayer?: DioramaLayerMetadata } } } | null | undefined;
  return m?.diorama ?? m?.gltf?.extras?.dioramaLayer;
}

/**
 * Restores the back-to-front compositing of diorama layers loaded from an exported GLB with Babylon's glTF
 * loader: alphaIndex = alphaIndexBase + layer index (from the glTF extras, or the `layer_NN` name) and
 * depth writes off on their materials, so that layers are drawn strictly in MPI order. Meshes that are not
 * diorama layers are left alone.
 * @param meshes the loaded meshes, or the AssetContainer they were loaded into
 * @param alphaIndexBase alphaIndex of layer 0 (default 0)
 * @returns the layer meshes found, back to front
 */
export function restoreDioramaOrder(meshes: readonly AbstractMesh[] | AssetContainer, alphaIndexBase = 0): AbstractMesh[] {
  const list = Array.isArray(meshes) ? (meshes as readonly AbstractMesh[]) : (meshes as AssetContainer).meshes;
  const found: { mesh: AbstractMesh; layer: number }[] = [];
  for (const mesh of list) {
    let layer = getDioramaLayerMetadata(mesh)?.layer;
    if (layer === undefined) layer = layerIndexFromName(mesh.name);
    if (layer === undefined || !mesh.material) continue;
    mesh.alphaIndex = alphaIndexBase + layer;
    mesh.material.disableDepthWrite = true;
    found.push({ mesh, layer });
  }
  found.sort((a, b) => a.layer - b.layer);
  return found.map((f) => f.mesh);
}
