/**
 * Materials of the layered (multiplane image) scene.
 *
 * Compositing. Each layer texture stores PREMULTIPLIED colour (rgb·α, α). Bilinear filtering of
 * premultiplied texels is the correct average of partially covered pixels, whereas filtering straight
 * colours drags the RGB of transparent texels (black, or whatever the crop held) into a silhouette: the
 * classic dark or light fringe. The fragment shader outputs the filtered premultiplied colour unchanged and
 * the blend is "over" for premultiplied sources, C = C_src + (1 − α_src)·C_dst (Babylon's
 * ALPHA_PREMULTIPLIED_PORTERDUFF: ONE, ONE_MINUS_SRC_ALPHA for colour and alpha). From the photo's own
 * viewpoint every pixel centre samples a texel centre, so a stack of feathered layers whose colours equal the
 * photo reproduces the photo.
 *
 * Order. Layers are drawn back to front (alphaIndex = layer index; 0 = farthest). In the default 'layered'
 * depth mode each layer also owns a disjoint slice of the depth range: clip z is remapped affinely,
 * z' = A·z + B·w, so that NDC depth (whatever the engine's range, [-1, 1] in WebGL, [0, 1] in WebGPU, and
 * reversed depth included) of layer k lands in slice k counted from the front. A nearer layer therefore always
 * wins the depth test against a farther one (the painter's order of the MPI, whatever the layers' actual
 * depth ranges are; they overlap where a layer's hidden fill continues under a nearer object), layers can
 * never z-fight, and depth writes stay on so that a layer folding over itself in a novel view occludes itself
 * correctly. The remap is affine in clip space, hence linear in screen space, like a per-layer depth range
 * (glDepthRange) would be. Fragments with α = 0 are discarded and write no depth.
 * Trade-off: in this mode other scene objects are not depth-tested against the layers' true depths. The
 * 'scene' mode keeps true depths (the diorama then occludes and is occluded by other objects correctly) and
 * turns layer depth writes off, relying on the draw order alone.
 *
 * Lighting. The default material is unlit (the photo already holds its light). With `lighting: true` a
 * StandardMaterial is used instead, fed a STRAIGHT-alpha texture whose transparent texels carry the colour of
 * their nearest opaque neighbours (see {@link bleedStraightRGBA}), so that straight-alpha filtering shows
 * no fringe either; it blends with straight alpha (ALPHA_COMBINE) in 'scene' depth mode.
 */
import { Constants } from '@babylonjs/core/Engines/constants.js';
import type { Scene } from '@babylonjs/core/scene.js';
import type { AbstractEngine } from '@babylonjs/core/Engines/abstractEngine.js';
import { ShaderMaterial } from '@babylonjs/core/Materials/shaderMaterial.js';
import { ShaderLanguage } from '@babylonjs/core/Materials/shaderLanguage.js';
import { UniformBuffer } from '@babylonjs/core/Materials/uniformBuffer.js';
import { StandardMaterial } from '@babylonjs/core/Materials/standardMaterial.js';
import { Texture } from '@babylonjs/core/Materials/Textures/texture.js';
import { RawTexture } from '@babylonjs/core/Materials/Textures/rawTexture.js';
import { Color3 } from '@babylonjs/core/Maths/math.color.js';
import { Vector2 } from '@babylonjs/core/Maths/math.vector.js';
import type { RGBAImage } from '../core/types';

/** How layers are depth-tested; see the module comment. */
export type DioramaDepthMode = 'layered' | 'scene';

const MPI_VERTEX_GLSL = /* glsl */ `
precision highp float;
attribute vec3 position;
attribute vec2 uv;
uniform mat4 world;
uniform mat4 viewProjection;
// (A, B): clip.z' = A * clip.z + B * clip.w, the layer's depth slice (A = 1, B = 0: unchanged).
uniform vec2 depthRemap;
varying vec2 vUV;
void main(void) {
  vec4 p = viewProjection * (world * vec4(position, 1.0));
  p.z = p.z * depthRemap.x + p.w * depthRemap.y;
  gl_Position = p;
  vUV = uv;
}
`;

const MPI_FRAGMENT_GLSL = /* glsl */ `
precision highp float;
varying vec2 vUV;
uniform sampler2D layerTexture;
void main(void) {
  // Premultiplied rgba, bilinearly filtered (correct for premultiplied colour).
  vec4 c = texture2D(layerTexture, vUV);
  if (c.a <= 0.0) discard;
  gl_FragColor = c;
}
`;

// WGSL takes its matrices from Babylon's Scene and Mesh uniform buffers and the depth slice from a small
// uniform buffer of the material's own: no "left-over" uniforms, whose per-draw buffers Babylon 9's
// WebGPU engine never frees when an effect is released.
const MPI_VERTEX_WGSL = /* wgsl */ `
#include<sceneUboDeclaration>
#include<meshUboDeclaration>
attribute position : vec3<f32>;
attribute uv : vec2<f32>;
struct DioramaLayer {
  // (A, B): clip.z' = A * clip.z + B * clip.w, the layer's depth slice (A = 1, B = 0: unchanged).
  depthRemap : vec2<f32>,
};
var<uniform> dioramaLayer : DioramaLayer;
varying vUV : vec2<f32>;
@vertex
fn main(input : VertexInputs) -> FragmentInputs {
  var p = scene.viewProjection * (mesh.world * vec4<f32>(vertexInputs.position, 1.0));
  p.z = p.z * dioramaLayer.depthRemap.x + p.w * dioramaLayer.depthRemap.y;
  vertexOutputs.position = p;
  vertexOutputs.vUV = vertexInputs.uv;
}
`;

const MPI_FRAGMENT_WGSL = /* wgsl */ `
varying vUV : vec2<f32>;
var layerTextureSampler : sampler;
var layerTexture : texture_2d<f32>;
@fragment
fn main(input : FragmentInputs) -> FragmentOutputs {
  // Premultiplied rgba, bilinearly filtered (correct for premultiplied colour). Sampled before the
  // discard so that the sample stays in uniform control flow.
  let c = textureSample(layerTexture, layerTextureSampler, fragmentInputs.vUV);
  if (c.a <= 0.0) {
    discard;
  }
  fragmentOutputs.color = c;
}
`;

/**
 * Depth remap (A, B) of layer slice `slice` (0 = nearest) out of `count`, for the engine's NDC depth
 * convention: NDC z in [m, 1] with m = 0 (WebGPU, "half z range") or −1 (WebGL), possibly reversed
 * (near = 1). With d = (z_ndc − m)/(1 − m) the normalised depth and n = d (or 1 − d when reversed) its
 * distance-ordered version, the slice maps n ↦ (slice + n)/count and back. Every step is affine in z_ndc,
 * hence z_clip' = A·z_clip + B·w_clip.
 */
export function depthSliceRemap(slice: number, count: number, halfZRange: boolean, reversed: boolean): Vector2 {
  if (count <= 1) return new Vector2(1, 0);
  const m = halfZRange ? 0 : -1;
  const f = (z: number): number => {
    const d = (z - m) / (1 - m);
    const n = reversed ? 1 - d : d;
    const s = (slice + n) / count;
    const out = reversed ? 1 - s : s;
    return m + (1 - m) * out;
  };
  const f0 = f(0);
  const f1 = f(1);
  return new Vector2(f1 - f0, f0);
}

/** Options of {@link createMpiMaterial}. */
export interface LayerMaterialOptions {
  /** Depth mode (see the module comment). Default 'layered'; lighting forces 'scene'. */
  depthMode?: DioramaDepthMode;
  /** Slice of this layer counted from the front (0 = nearest) and the number of slices. */
  slice: number;
  sliceCount: number;
}

/**
 * Premultiplies a straight-alpha RGBA8 image: rgb' = round(rgb·α/255). Exact for α = 255 and α = 0; the
 * rounding error elsewhere is at most half a level.
 */
export function premultiplyRGBA(img: RGBAImage): Uint8Array {
  const src = img.data;
  const out = new Uint8Array(src.length);
  for (let i = 0; i < src.length; i += 4) {
    const a = src[i + 3]!;
    if (a === 255) {
      out[i] = src[i]!;
      out[i + 1] = src[i + 1]!;
      out[i + 2] = src[i + 2]!;
    } else if (a !== 0) {
      // (x·a + 127) / 255 rounded, in integers.
      out[i] = ((src[i]! * a + 127) / 255) | 0;
      out[i + 1] = ((src[i + 1]! * a + 127) / 255) | 0;
      out[i + 2] = ((src[i + 2]! * a + 127) / 255) | 0;
    }
    out[i + 3] = a;
  }
  return out;
}

/**
 * A straight-alpha copy of `img` in which every transparent texel (α = 0) that touches a visible one (8
 * neighbours) takes the average colour of its visible neighbours, so that straight-alpha bilinear filtering
 * (lit materials, glTF viewers) never pulls a foreign colour into a silhouette. One ring is enough for
 * bilinear filtering at or above 1:1; the rest of the transparent area keeps its colour (never sampled
 * with non-zero weight next to a visible texel).
 */
export function bleedStraightRGBA(img: RGBAImage): Uint8Array {
  const { width: W, height: H } = img;
  const src = img.data;
  const out = new Uint8Array(src);
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) {
      const i = (y * W + x) * 4;
      if (src[i + 3] !== 0) continue;
      let r = 0;
      let g = 0;
      let b = 0;
      let n = 0;
      for (let dy = -1; dy <= 1; dy++) {
        const yy = y + dy;
        if (yy < 0 || yy >= H) continue;
        for (let dx = -1; dx <= 1; dx++) {
          const xx = x + dx;
          if (xx < 0 || xx >= W || (dx === 0 && dy === 0)) continue;
          const j = (yy * W + xx) * 4;
          if (src[j + 3] === 0) continue;
          r += src[j]!;
          g += src[j + 1]!;
          b += src[j + 2]!;
          n++;
        }
      }
      if (n > 0) {
        out[i] = Math.round(r / n);
        out[i + 1] = Math.round(g / n);
        out[i + 2] = Math.round(b / n);
      }
    }
  }
  return out;
}

/**
 * Creates the RGBA8 texture of a layer (no v-flip: row 0 of the data is v = 0, the top of the crop, which
 * is the UV convention of the layer meshes), clamped at the edges.
 */
export function createLayerTexture(name: string, data: Uint8Array, width: number, height: number, scene: Scene, mipmaps = false): RawTexture {
  const sampling = mipmaps ? Texture.TRILINEAR_SAMPLINGMODE : Texture.BILINEAR_SAMPLINGMODE;
  const tex = RawTexture.CreateRGBATexture(data, width, height, scene, mipmaps, false, sampling);
  tex.name = name;
  tex.wrapU = Texture.CLAMP_ADDRESSMODE;
  tex.wrapV = Texture.CLAMP_ADDRESSMODE;
  tex.hasAlpha = true;
  return tex;
}

/**
 * The unlit MPI material of one layer: premultiplied texture, premultiplied "over" blending, depth slice.
 * Written in GLSL for WebGL and in WGSL for WebGPU (no shader translation, nothing downloaded).
 */
export function createMpiMaterial(name: string, texture: RawTexture, scene: Scene, options: LayerMaterialOptions): ShaderMaterial {
  const engine: AbstractEngine = scene.getEngine();
  const wgsl = engine.isWebGPU;
  const layered = (options.depthMode ?? 'layered') === 'layered';
  const remap = layered ? depthSliceRemap(options.slice, options.sliceCount, engine.isNDCHalfZRange, engine.useReverseDepthBuffer) : new Vector2(1, 0);
  // WGSL takes world and viewProjection from Babylon's Scene and Mesh uniform buffers (see MPI_VERTEX_WGSL);
  // GLSL declares them as plain uniforms.
  const mat = new ShaderMaterial(
    name,
    scene,
    wgsl ? { vertexSource: MPI_VERTEX_WGSL, fragmentSource: MPI_FRAGMENT_WGSL } : { vertexSource: MPI_VERTEX_GLSL, fragmentSource: MPI_FRAGMENT_GLSL },
    {
      attributes: ['position', 'uv'],
      uniforms: wgsl ? [] : ['world', 'viewProjection', 'depthRemap'],
      ...(wgsl ? { uniformBuffers: ['Scene', 'Mesh'] } : {}),
      samplers: ['layerTexture'],
      needAlphaBlending: true,
      shaderLanguage: wgsl ? ShaderLanguage.WGSL : ShaderLanguage.GLSL,
    },
  );
  if (wgsl) {
    const ubo = new UniformBuffer(engine, undefined, false, `${name}.dioramaLayer`);
    ubo.addUniform('depthRemap', 2);
    ubo.create();
    ubo.updateFloat2('depthRemap', remap.x, remap.y);
    ubo.update();
    mat.setUniformBuffer('dioramaLayer', ubo);
    mat.onDisposeObservable.addOnce(() => ubo.dispose());
  } else {
    mat.setVector2('depthRemap', remap);
  }
  mat.setTexture('layerTexture', texture);
  mat.alphaMode = Constants.ALPHA_PREMULTIPLIED_PORTERDUFF;
  mat.backFaceCulling = false;
  // Babylon turns depth writes off for alpha-blended draws unless the material forces them.
  mat.forceDepthWrite = layered;
  mat.disableDepthWrite = !layered;
  return mat;
}

/**
 * The lit variant: a StandardMaterial with a straight-alpha (bled) diffuse texture, no specular, straight
 * "over" blending, depth writes off (painter's order by alphaIndex).
 */
export function createLitMaterial(name: string, texture: RawTexture, scene: Scene): StandardMaterial {
  const mat = new StandardMaterial(name, scene);
  mat.diffuseTexture = texture;
  mat.useAlphaFromDiffuseTexture = true;
  mat.specularColor = new Color3(0, 0, 0);
  mat.backFaceCulling = false;
  mat.twoSidedLighting = true;
  mat.alphaMode = Constants.ALPHA_COMBINE;
  mat.disableDepthWrite = true;
  mat.transparencyMode = 2; // Material.MATERIAL_ALPHABLEND
  return mat;
}
