/**
 * GLB export of a diorama through @babylonjs/serializers, and the fix-up that restores the layers'
 * compositing after the GLB is loaded again.
 *
 * glTF has no premultiplied alpha, no custom shaders and no draw order. The serializer writes the nodes,
 * geometry (converted to glTF's right-handed frame), names and extras; the layer materials are then written
 * into the GLB by this module, because a Babylon material would have to be built and converted for each
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
import { bleedStraightRGBA } from './mpi-material';
import { getLayerSourceImage, type DioramaLayerMetadata, type DioramaNodes } from './nodes';
import { encodePNG } from '../io/png-encode';

/** Options of {@link exportDioramaGLB}. */
export interface ExportDioramaOptions {
  /** File name inside the glTF data (without extension). Default: the root node's name. */
  fileName?: string;
  /** Return a Blob ('blob') or the bytes ('bytes'). Default 'bytes'. */
  as?: 'bytes' | 'blob';
}

interface GltfJson {
  asset: unknown;
  buffers?: { byteLength: number; uri?: string }[];
  bufferViews?: { buffer: number; byteOffset?: number; byteLength: number; byteStride?: number; target?: number }[];
  nodes?: { name?: string; mesh?: number; extras?: { dioramaLayer?: { layer?: number } } }[];
  meshes?: { primitives: { material?: number; attributes: Record<string, number> }[] }[];
  images?: { mimeType: string; bufferView: number; name?: string }[];
  samplers?: { magFilter: number; minFilter: number; wrapS: number; wrapT: number }[];
  textures?: { sampler: number; source: number; name?: string }[];
  materials?: unknown[];
  extensionsUsed?: string[];
  [k: string]: unknown;
}

const GLB_MAGIC = 0x46546c67; // 'glTF'
const CHUNK_JSON = 0x4e4f534a;
const CHUNK_BIN = 0x004e4942;

/** Splits a GLB into its JSON and BIN chunks. */
function readGLB(glb: Uint8Array): { json: GltfJson; bin: Uint8Array } {
  const v = new DataView(glb.buffer, glb.byteOffset, glb.byteLength);
  if (glb.length < 20 || v.getUint32(0, true) !== GLB_MAGIC) throw new DioramaError('INTERNAL', 'exportDioramaGLB: the serializer did not produce a GLB');
  const jsonLen = v.getUint32(12, true);
  if (v.getUint32(16, true) !== CHUNK_JSON) throw new DioramaError('INTERNAL', 'exportDioramaGLB: GLB has no JSON chunk first');
  const json = JSON.parse(new TextDecoder().decode(glb.subarray(20, 20 + jsonLen))) as GltfJson;
  let bin: Uint8Array = new Uint8Array(0);
  const binHeader = 20 + jsonLen;
  if (binHeader + 8 <= glb.length && v.getUint32(binHeader + 4, true) === CHUNK_BIN) {
    bin = glb.subarray(binHeader + 8, binHeader + 8 + v.getUint32(binHeader, true));
  }
  return { json, bin };
}

/** Assembles a GLB from a JSON document and a BIN payload (chunks padded to 4 bytes). */
function writeGLB(json: GltfJson, bin: Uint8Array): Uint8Array {
  let jsonBytes = new TextEncoder().encode(JSON.stringify(json));
  const jsonPad = (4 - (jsonBytes.length % 4)) % 4;
  if (jsonPad) {
    const padded = new Uint8Array(jsonBytes.length + jsonPad).fill(0x20);
    padded.set(jsonBytes);
    jsonBytes = padded;
  }
  const binPad = (4 - (bin.length % 4)) % 4;
  const binLen = bin.length + binPad;
  const total = 12 + 8 + jsonBytes.length + (binLen ? 8 + binLen : 0);
  const out = new Uint8Array(total);
  const v = new DataView(out.buffer);
  v.setUint32(0, GLB_MAGIC, true);
  v.setUint32(4, 2, true);
  v.setUint32(8, total, true);
  v.setUint32(12, jsonBytes.length, true);
  v.setUint32(16, CHUNK_JSON, true);
  out.set(jsonBytes, 20);
  if (binLen) {
    const o = 20 + jsonBytes.length;
    v.setUint32(o, binLen, true);
    v.setUint32(o + 4, CHUNK_BIN, true);
    out.set(bin, o + 8);
  }
  return out;
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
  // Encode the textures first (no scene change while awaiting them).
  const layers = nodes.layers.map((mesh) => {
    const src = getLayerSourceImage(mesh);
    if (!src) throw new DioramaError('INTERNAL', `exportDioramaGLB: no source image for layer mesh '${mesh.name}'`);
    return { mesh, src, layer: getDioramaLayerMetadata(mesh)?.layer ?? 0 };
  });
  const pngs = await Promise.all(layers.map(({ src }) => encodePNG({ width: src.width, height: src.height, data: bleedStraightRGBA(src) })));

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

  // Add images, textures and materials, in back-to-front layer order.
  const { json, bin } = readGLB(glb);
  const chunks: Uint8Array[] = [bin];
  let binLength = bin.length;
  json.bufferViews ??= [];
  json.images ??= [];
  json.samplers ??= [];
  json.textures ??= [];
  // Only the placeholder's material is in there: every primitive of the file is a layer's.
  json.materials = [];
  json.buffers ??= [{ byteLength: 0 }];
  const sampler = json.samplers.length;
  // LINEAR filtering without mipmaps, edges clamped (what the MPI material does).
  json.samplers.push({ magFilter: 9729, minFilter: 9729, wrapS: 33071, wrapT: 33071 });
  const byName = new Map<string, number>();
  (json.nodes ?? []).forEach((n, i) => n.name !== undefined && byName.set(n.name, i));
  const order = layers.map((l, i) => ({ ...l, png: pngs[i]! })).sort((a, b) => a.layer - b.layer);
  for (const { mesh, png } of order) {
    const pad = (4 - (binLength % 4)) % 4;
    if (pad) {
      chunks.push(new Uint8Array(pad));
      binLength += pad;
    }
    const view = json.bufferViews.length;
    json.bufferViews.push({ buffer: 0, byteOffset: binLength, byteLength: png.length });
    chunks.push(png);
    binLength += png.length;
    const image = json.images.length;
    json.images.push({ mimeType: 'image/png', bufferView: view, name: `${mesh.name}.rgba` });
    const texture = json.textures.length;
    json.textures.push({ sampler, source: image, name: `${mesh.name}.rgba` });
    const material = json.materials.length;
    json.materials.push({
      name: `${mesh.name}.material`,
      pbrMetallicRoughness: { baseColorTexture: { index: texture }, metallicFactor: 0, roughnessFactor: 1 },
      alphaMode: 'BLEND',
      doubleSided: true,
      extensions: { KHR_materials_unlit: {} },
    });
    const nodeIndex = byName.get(mesh.name);
    const meshIndex = nodeIndex !== undefined ? json.nodes![nodeIndex]!.mesh : undefined;
    if (meshIndex === undefined) throw new DioramaError('INTERNAL', `exportDioramaGLB: the serializer wrote no mesh node '${mesh.name}'`);
    for (const prim of json.meshes![meshIndex]!.primitives) {
      if (prim.attributes.TEXCOORD_0 === undefined) throw new DioramaError('INTERNAL', `exportDioramaGLB: mesh '${mesh.name}' was written without UVs`);
      prim.material = material;
    }
  }
  json.buffers[0]!.byteLength = binLength;
  json.extensionsUsed = [...new Set([...(json.extensionsUsed ?? []), 'KHR_materials_unlit'])];
  const payload = new Uint8Array(binLength);
  let o = 0;
  for (const c of chunks) {
    payload.set(c, o);
    o += c.length;
  }
  const out = writeGLB(json, payload);
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
    if (layer === undefined) {
      const m = /\.layer_(\d+)$/.exec(mesh.name);
      if (m) layer = Number(m[1]);
    }
    if (layer === undefined || !mesh.material) continue;
    mesh.alphaIndex = alphaIndexBase + layer;
    mesh.material.disableDepthWrite = true;
    found.push({ mesh, layer });
  }
  found.sort((a, b) => a.layer - b.layer);
  return found.map((f) => f.mesh);
}
