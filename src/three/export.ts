/**
 * GLB export of a three.js diorama through three.js's GLTFExporter (`binary: true`), with the same layer
 * structure as the Babylon export: a root node named after the photo (extras.diorama) with one child node per
 * layer, back to front, named `<root>.layer_NN` (extras.dioramaLayer), each with an unlit, alpha-BLEND,
 * double-sided material and a lossless straight-alpha PNG (src/scene/glb.ts writes the materials for both
 * engines). The group's own transform is not exported (the root is written at the origin), the camera is not
 * part of the group. glTF is right-handed with y up, like the group's local frame: positions are written as
 * they are. Viewers keep node order for transparent objects at the same position (three.js does), so the
 * layers composite back to front; {@link restoreDioramaOrder} sets renderOrder and depth writes after a reload.
 */
import { Group, Matrix4, MeshBasicMaterial, type Material, type Mesh, type Object3D } from 'three';
import { GLTFExporter } from 'three/addons/exporters/GLTFExporter.js';
import { DioramaError } from '../core/errors';
import { attachLayerMaterials } from '../scene/glb';
import { layerIndexFromName, type DioramaLayerMetadata } from '../scene/description';
import { getLayerSourceImage, type Diorama } from './diorama';

/** Options of {@link exportDioramaGLB}. */
export interface ExportDioramaOptions {
  /** Return a Blob ('blob') or the bytes ('bytes'). Default 'bytes'. */
  as?: 'bytes' | 'blob';
}

/**
 * Exports the diorama (group and layer meshes only) as a binary glTF (see the module comment). The diorama is
 * left as it was.
 * @param diorama what createDiorama (or the DioramaLoader) built
 * @param options see {@link ExportDioramaOptions}
 * @returns the .glb file as bytes (default) or a Blob (`as: 'blob'`)
 */
export async function exportDioramaGLB(diorama: Diorama, options?: ExportDioramaOptions & { as?: 'bytes' }): Promise<Uint8Array>;
export async function exportDioramaGLB(diorama: Diorama, options: ExportDioramaOptions & { as: 'blob' }): Promise<Blob>;
export async function exportDioramaGLB(diorama: Diorama, options: ExportDioramaOptions = {}): Promise<Uint8Array | Blob> {
  if (diorama.isDisposed) throw new DioramaError('INVALID_OPTION', 'exportDioramaGLB: the diorama was disposed');
  const layers = diorama.layers.map((mesh) => {
    const source = getLayerSourceImage(mesh);
    if (!source) throw new DioramaError('INTERNAL', `exportDioramaGLB: no source image for layer mesh '${mesh.name}'`);
    const meta = (mesh.userData as { diorama?: DioramaLayerMetadata }).diorama;
    return { mesh, name: mesh.name, source, layer: meta?.layer ?? layerIndexFromName(mesh.name) ?? 0 };
  });
  // An export-only copy of the graph: a root at the origin and one node per layer sharing the geometry,
  // with a plain placeholder material (the MPI material has no glTF equivalent; src/scene/glb.ts writes the
  // layer materials) and the metadata under the keys of the Babylon export.
  const placeholder = new MeshBasicMaterial();
  placeholder.name = `${diorama.scene.name}.export-placeholder`;
  const root = new Group();
  root.name = diorama.scene.name;
  root.userData = { diorama: (diorama.scene.userData as { diorama?: unknown }).diorama };
  for (const { mesh, layer } of [...layers].sort((a, b) => a.layer - b.layer)) {
    const copy = mesh.clone(false) as Mesh;
    copy.material = placeholder as Material;
    const meta = { ...(mesh.userData as { diorama?: Record<string, unknown> }).diorama };
    delete meta.index;
    copy.userData = { dioramaLayer: meta };
    copy.matrix.copy(mesh.matrix);
    copy.renderOrder = layer;
    root.add(copy);
  }
  root.matrix.copy(new Matrix4());
  root.updateMatrixWorld(true);
  let glb: Uint8Array;
  try {
    const exporter = new GLTFExporter();
    const out = await exporter.parseAsync(root as Object3D, { binary: true, onlyVisible: false });
    if (!(out instanceof ArrayBuffer)) throw new DioramaError('INTERNAL', 'exportDioramaGLB: GLTFExporter did not return a binary glTF');
    glb = new Uint8Array(out);
  } finally {
    placeholder.dispose();
  }
  const file = await attachLayerMaterials(glb, layers);
  return options.as === 'blob' ? new Blob([file as BlobPart], { type: 'model/gltf-binary' }) : file;
}

/**
 * Restores the back-to-front compositing of diorama layers loaded from an exported GLB with three.js's
 * GLTFLoader: renderOrder = renderOrderBase + layer index (from the extras, or the `layer_NN` name) and depth
 * writes off on their materials, so that layers are drawn strictly in MPI order. Other objects are left alone.
 * @param root the loaded scene (gltf.scene)
 * @param renderOrderBase renderOrder of layer 0 (default 0)
 * @returns the layer meshes found, back to front
 */
export function restoreDioramaOrder(root: Object3D, renderOrderBase = 0): Mesh[] {
  const found: { mesh: Mesh; layer: number }[] = [];
  root.traverse((o) => {
    const mesh = o as Mesh;
    if (!mesh.isMesh) return;
    const ud = mesh.userData as { dioramaLayer?: DioramaLayerMetadata; diorama?: DioramaLayerMetadata };
    const layer = ud.dioramaLayer?.layer ?? ud.diorama?.layer ?? layerIndexFromName(mesh.name);
    if (layer === undefined) return;
    mesh.renderOrder = renderOrderBase + layer;
    for (const m of Array.isArray(mesh.material) ? mesh.material : [mesh.material]) m.depthWrite = false;
    found.push({ mesh, layer });
  });
  found.sort((a, b) => a.layer - b.layer);
  return found.map((f) => f.mesh);
}
