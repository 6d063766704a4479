/**
 * The engine-neutral half of the GLB export: every engine's glTF serializer writes the root and layer nodes,
 * their geometry, names and extras with a placeholder material; {@link attachLayerMaterials} then replaces the
 * materials with the layers' own, identically for every engine.
 *
 * glTF has no premultiplied alpha, no custom shaders and no draw order. Each layer gets: an unlit material
 * (KHR_materials_unlit), alphaMode BLEND, doubleSided, and a lossless PNG of its STRAIGHT-alpha texture whose
 * transparent texels carry their visible neighbours' colour (no fringe under straight-alpha filtering),
 * sampled LINEAR with clamped edges. The order is encoded three ways: node and material order (back to
 * front), node names (`<root>.layer_NN`) and extras (`extras.dioramaLayer.layer`).
 */
import { DioramaError } from '../core/errors';
import type { RGBAImage } from '../core/types';
import { encodePNG } from '../io/png-encode';
import { bleedStraightRGBA } from './textures';

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
export function readGLB(glb: Uint8Array): { json: GltfJson; bin: Uint8Array } {
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
export function writeGLB(json: GltfJson, bin: Uint8Array): Uint8Array {
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

/** A layer to give its material in the GLB: its node name, layer index and straight-alpha source crop. */
export interface GlbLayer {
  name: string;
  layer: number;
  source: RGBAImage;
}

/**
 * Replaces the materials of a serializer's GLB (every primitive of which is a layer's, written with one
 * placeholder material) by the layers' unlit BLEND materials with their straight-alpha PNG textures, in
 * back-to-front layer order. Throws DioramaError INTERNAL when a layer's node, mesh or UVs are missing.
 * @param glb the serializer's output
 * @param layers the layers (any order; sorted by `layer`)
 * @returns the new GLB
 */
export async function attachLayerMaterials(glb: Uint8Array, layers: readonly GlbLayer[]): Promise<Uint8Array> {
  const pngs = await Promise.all(layers.map(({ source }) => encodePNG({ width: source.width, height: source.height, data: bleedStraightRGBA(source) })));
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
  if (json.buffers.length === 0) json.buffers.push({ byteLength: 0 });
  const sampler = json.samplers.length;
  // LINEAR filtering without mipmaps, edges clamped (what the MPI material does).
  json.samplers.push({ magFilter: 9729, minFilter: 9729, wrapS: 33071, wrapT: 33071 });
  const byName = new Map<string, number>();
  (json.nodes ?? []).forEach((n, i) => n.name !== undefined && byName.set(n.name, i));
  const order = layers.map((l, i) => ({ ...l, png: pngs[i]! })).sort((a, b) => a.layer - b.layer);
  for (const { name, png } of order) {
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
    json.images.push({ mimeType: 'image/png', bufferView: view, name: `${name}.rgba` });
    const texture = json.textures.length;
    json.textures.push({ sampler, source: image, name: `${name}.rgba` });
    const material = json.materials.length;
    json.materials.push({
      name: `${name}.material`,
      pbrMetallicRoughness: { baseColorTexture: { index: texture }, metallicFactor: 0, roughnessFactor: 1 },
      alphaMode: 'BLEND',
      doubleSided: true,
      extensions: { KHR_materials_unlit: {} },
    });
    const nodeIndex = byName.get(name);
    const meshIndex = nodeIndex !== undefined ? json.nodes![nodeIndex]!.mesh : undefined;
    if (meshIndex === undefined) throw new DioramaError('INTERNAL', `exportDioramaGLB: the serializer wrote no mesh node '${name}'`);
    for (const prim of json.meshes![meshIndex]!.primitives) {
      if (prim.attributes.TEXCOORD_0 === undefined) throw new DioramaError('INTERNAL', `exportDioramaGLB: mesh '${name}' was written without UVs`);
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
  return writeGLB(json, payload);
}
