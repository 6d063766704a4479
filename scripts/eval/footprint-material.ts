/**
 * The texture-footprint pass of the orbit sweep (docs/metrics.md §5, `stretched`): a material that replaces a
 * mesh's own (a diorama layer's MPI material or the rubber sheet's) and writes, per pixel, how many texels
 * of that mesh's texture one screen pixel covers, footprint = |det ∂(u·Wt, v·Ht)/∂(x, y)|, from the
 * screen-space derivatives of the texture coordinates in texel units (Wt × Ht = the texture's size).
 *
 * Which fragment counts: fragments whose filtered texture alpha is below ½ are discarded (they write no
 * depth either), blending is off and depth test and writes are on, so the pixel keeps the front-most
 * fragment with alpha ≥ ½. For the diorama the vertex stage applies the layer's own depth slice (the same
 * `depthSliceRemap` as src/babylon/mpi-material.ts): layer k owns a disjoint slice of the depth range, nearer
 * layers nearer slices, so the depth test picks the front-most layer exactly as in the colour pass; within a
 * layer (and on the rubber sheet, one slice) it picks the nearest surface.
 *
 * Output encoding, RGBA8 (read back like the colour renders, identically on WebGL2 and WebGPU, no float
 * render target or readback extension needed):
 * - B = 255 when footprint < ¼ (one texel spread over more than 4 pixels: "stretched"), else 0. The
 *   comparison is made in the shader in float32, so the metric itself is not quantised;
 * - G = 255 where a fragment was drawn (the pass clears to black);
 * - R = clamp(round(16·log2 footprint) + 128, 1, 255): the footprint to 1/32 octave (±2.2 %) for
 *   diagnosis and tests; 128 = one texel per pixel, 96 = the ¼ threshold.
 * Derivatives come from the 2×2 pixel quad of the rasterised triangle (the triangle's own interpolants,
 * also in helper lanes), so the footprint is that triangle's texture-to-screen Jacobian at the pixel.
 */
import { Constants } from '@babylonjs/core/Engines/constants';
import type { Scene } from '@babylonjs/core/scene';
import { ShaderMaterial } from '@babylonjs/core/Materials/shaderMaterial';
import { ShaderLanguage } from '@babylonjs/core/Materials/shaderLanguage';
import { UniformBuffer } from '@babylonjs/core/Materials/uniformBuffer';
import type { BaseTexture } from '@babylonjs/core/Materials/Textures/baseTexture';
import type { Vector2 } from '@babylonjs/core/Maths/math.vector';

// The shaders hard-code the encoding of view-metrics.ts (FOOTPRINT_CODE_ONE = 128, 16 codes per octave,
// STRETCH_FOOTPRINT = 0.25), which decodes it.

const VERTEX_GLSL = /* glsl */ `
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

const FRAGMENT_GLSL = /* glsl */ `
precision highp float;
varying vec2 vUV;
uniform sampler2D layerTexture;
void main(void) {
  vec2 t = vUV * vec2(textureSize(layerTexture, 0));
  vec2 tx = dFdx(t);
  vec2 ty = dFdy(t);
  float det = abs(tx.x * ty.y - tx.y * ty.x);
  float a = texture2D(layerTexture, vUV).a;
  if (a < 0.5) discard;
  float code = clamp(floor(16.0 * log2(max(det, 1e-30)) + 128.5), 1.0, 255.0);
  gl_FragColor = vec4(code / 255.0, 1.0, det < 0.25 ? 1.0 : 0.0, 1.0);
}
`;

const VERTEX_WGSL = /* wgsl */ `
#include<sceneUboDeclaration>
#include<meshUboDeclaration>
attribute position : vec3<f32>;
attribute uv : vec2<f32>;
struct FootprintLayer {
  depthRemap : vec2<f32>,
};
var<uniform> footprintLayer : FootprintLayer;
varying vUV : vec2<f32>;
@vertex
fn main(input : VertexInputs) -> FragmentInputs {
  var p = scene.viewProjection * (mesh.world * vec4<f32>(vertexInputs.position, 1.0));
  p.z = p.z * footprintLayer.depthRemap.x + p.w * footprintLayer.depthRemap.y;
  vertexOutputs.position = p;
  vertexOutputs.vUV = vertexInputs.uv;
}
`;

const FRAGMENT_WGSL = /* wgsl */ `
varying vUV : vec2<f32>;
var layerTextureSampler : sampler;
var layerTexture : texture_2d<f32>;
@fragment
fn main(input : FragmentInputs) -> FragmentOutputs {
  // Derivatives and the sample before the discard: both need uniform control flow.
  let t = fragmentInputs.vUV * vec2<f32>(textureDimensions(layerTexture, 0));
  let tx = dpdx(t);
  let ty = dpdy(t);
  let det = abs(tx.x * ty.y - tx.y * ty.x);
  let a = textureSample(layerTexture, layerTextureSampler, fragmentInputs.vUV).a;
  if (a < 0.5) {
    discard;
  }
  let code = clamp(floor(16.0 * log2(max(det, 1e-30)) + 128.5), 1.0, 255.0);
  fragmentOutputs.color = vec4<f32>(code / 255.0, 1.0, select(0.0, 1.0, det < 0.25), 1.0);
}
`;

/**
 * The footprint material of one mesh: its texture (for the size and the alpha test) and its depth remap
 * (the layer's slice; (1, 0) for the rubber sheet).
 */
export function createFootprintMaterial(name: string, texture: BaseTexture, remap: Vector2, scene: Scene): ShaderMaterial {
  const engine = scene.getEngine();
  const wgsl = engine.isWebGPU;
  const mat = new ShaderMaterial(
    name,
    scene,
    wgsl ? { vertexSource: VERTEX_WGSL, fragmentSource: FRAGMENT_WGSL } : { vertexSource: VERTEX_GLSL, fragmentSource: FRAGMENT_GLSL },
    {
      attributes: ['position', 'uv'],
      uniforms: wgsl ? [] : ['world', 'viewProjection', 'depthRemap'],
      ...(wgsl ? { uniformBuffers: ['Scene', 'Mesh'] } : {}),
      samplers: ['layerTexture'],
      needAlphaBlending: false,
      shaderLanguage: wgsl ? ShaderLanguage.WGSL : ShaderLanguage.GLSL,
    },
  );
  if (wgsl) {
    const ubo = new UniformBuffer(engine, undefined, false, `${name}.footprintLayer`);
    ubo.addUniform('depthRemap', 2);
    ubo.create();
    ubo.updateFloat2('depthRemap', remap.x, remap.y);
    ubo.update();
    mat.setUniformBuffer('footprintLayer', ubo);
    mat.onDisposeObservable.addOnce(() => ubo.dispose());
  } else {
    mat.setVector2('depthRemap', remap);
  }
  mat.setTexture('layerTexture', texture);
  mat.alphaMode = Constants.ALPHA_DISABLE;
  mat.backFaceCulling = false;
  return mat;
}
