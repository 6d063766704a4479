/**
 * Babylon.js materials of the layered (multiplane image) scene: the engine side of the material description
 * in src/scene (description.ts, depth-slices.ts, textures.ts).
 *
 * Compositing. Each layer texture stores PREMULTIPLIED colour (rgb·α, α). The fragment shader outputs the
 * filtered premultiplied colour unchanged and the blend is "over" for premultiplied sources,
 * C = C_src + (1 − α_src)·C_dst (Babylon's ALPHA_PREMULTIPLIED_PORTERDUFF: ONE, ONE_MINUS_SRC_ALPHA for colour
 * and alpha). From the photo's own viewpoint every pixel centre samples a texel centre, so a stack of
 * feathered layers whose colours equal the photo reproduces the photo.
 *
 * Order: alphaIndex = layer index, and in 'layered' depth mode each layer's own depth slice (see
 * src/scene/depth-slices.ts for the scheme and its trade-off against 'scene' mode).
 *
 * Lighting. The default material is unlit (the photo already holds its light). With `lighting: true` a
 * StandardMaterial is used instead, fed a STRAIGHT-alpha texture whose transparent texels carry the colour of
 * their nearest opaque neighbours (see bleedStraightRGBA), so that straight-alpha filtering shows no fringe
 * either; it blends with straight alpha (ALPHA_COMBINE) in 'scene' depth mode.
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
import { depthSliceAB, MPI_GLSL, type DioramaDepthMode } from '../scene/depth-slices';

export { premultiplyRGBA, bleedStraightRGBA } from '../scene/textures';
export type { DioramaDepthMode } from '../scene/depth-slices';

const MPI_VERTEX_GLSL = /* glsl */ `
precision highp float;
attribute vec3 position;
attribute vec2 uv;
uniform mat4 world;
uniform mat4 viewProjection;
// (A, B): clip.z' = A * clip.z + B * clip.w, the layer's depth slice (A = 1, B = 0: unchanged).
uniform vec2 depthRemap;
varying vec2 vUV;
${MPI_GLSL.depthSliceFunction}
void main(void) {
  gl_Position = dioramaDepthSlice(viewProjection * (world * vec4(position, 1.0)), depthRemap);
  vUV = uv;
}
`;

const MPI_FRAGMENT_GLSL = MPI_GLSL.fragment;

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
 * Depth remap (A, B) of layer slice `slice` (0 = nearest) out of `count` as a Vector2 (see
 * src/scene/depth-slices.ts, depthSliceAB).
 */
export function depthSliceRemap(slice: number, count: number, halfZRange: boolean, reversed: boolean): Vector2 {
  const [a, b] = depthSliceAB(slice, count, halfZRange, reversed);
  return new Vector2(a, b);
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
