/**
 * three.js materials of the layered (multiplane image) scene for `WebGLRenderer`: the engine side of the
 * material description in src/scene (description.ts, depth-slices.ts). The WebGPURenderer implements the same
 * description with node materials (src/three/node-materials.ts).
 *
 * Compositing. Each layer texture stores PREMULTIPLIED colour (rgb·α, α) of the photo's sRGB values. The
 * blend is "over" for premultiplied sources, C = C_src + (1 − α_src)·C_dst (CustomBlending, OneFactor /
 * OneMinusSrcAlphaFactor for colour and alpha). Colour management follows three.js's convention for built-in
 * materials: the fragment decodes the straight colour to linear, three's `colorspace_fragment` encodes it to
 * the output colour space (sRGB on screen: the round trip returns the photo's values), and the colour is
 * premultiplied last, so that on screen the arithmetic is exactly Babylon's (blending of sRGB values) and
 * into a linear render target the layers write linear colour like every other three.js material.
 *
 * Order: renderOrder = renderOrderBase + layer index (three.js sorts transparent objects by renderOrder
 * first), and in 'layered' depth mode each layer's own depth slice, applied in the vertex shader from the
 * renderer's NDC convention (WebGL [-1, 1], or [0, 1] reversed with `reversedDepthBuffer`).
 */
import {
  ClampToEdgeWrapping,
  CustomBlending,
  DataTexture,
  DoubleSide,
  LinearFilter,
  LinearMipmapLinearFilter,
  MeshLambertMaterial,
  NoColorSpace,
  NormalBlending,
  OneFactor,
  OneMinusSrcAlphaFactor,
  RGBAFormat,
  SRGBColorSpace,
  ShaderMaterial,
  UnsignedByteType,
  Vector2,
  WebGPUCoordinateSystem,
  type Camera,
  type Material,
  type WebGLRenderer,
} from 'three';
import { depthSliceAB, MPI_GLSL } from '../scene/depth-slices';
import type { LayerMaterialDescription, LayerTextureDescription } from '../scene/description';

/** Creates the engine objects of a layer's material; the WebGL and WebGPU adapters each provide one. */
export interface DioramaMaterialFactory {
  /** Which renderer the materials are for. */
  readonly renderer: 'webgl' | 'webgpu';
  /** The unlit MPI material (premultiplied texture, premultiplied over, depth slice). */
  mpi(texture: DataTexture, material: LayerMaterialDescription): Material;
  /** The lit material (straight-alpha bled texture, straight over, no depth writes). */
  lit(texture: DataTexture, material: LayerMaterialDescription): Material;
}

/**
 * The RGBA8 texture of a layer: no v-flip (row 0 of the data is v = 0, the top of the crop, which is the UV
 * convention of the layer meshes), clamped, bilinear (trilinear with mipmaps). Premultiplied MPI data is
 * tagged NoColorSpace (the shader decodes it itself: a premultiplied sRGB value cannot be decoded by the
 * sampler); straight lit data is tagged SRGBColorSpace (three.js's colour management for lit materials).
 */
export function createLayerTexture(t: LayerTextureDescription): DataTexture {
  const tex = new DataTexture(t.data, t.width, t.height, RGBAFormat, UnsignedByteType);
  tex.name = t.name;
  tex.flipY = false;
  tex.premultiplyAlpha = false;
  tex.wrapS = ClampToEdgeWrapping;
  tex.wrapT = ClampToEdgeWrapping;
  tex.magFilter = LinearFilter;
  tex.minFilter = t.mipmaps ? LinearMipmapLinearFilter : LinearFilter;
  tex.generateMipmaps = t.mipmaps;
  tex.colorSpace = t.alpha === 'premultiplied' ? NoColorSpace : SRGBColorSpace;
  tex.needsUpdate = true;
  return tex;
}

/** The parts of WebGLRenderer / WebGPURenderer that say which NDC depth convention a draw uses. */
export interface DepthConventionSource {
  coordinateSystem?: number;
  /** WebGPURenderer: the constructor's reversedDepthBuffer. */
  reversedDepthBuffer?: boolean;
  /** WebGLRenderer: the depth buffer state (reversed when EXT_clip_control is in use). */
  state?: { buffers?: { depth?: { getReversed?: () => boolean } } };
}

/**
 * Depth remap (A, B) of a layer for the renderer and camera about to draw it: NDC z in [0, 1] for WebGPU and
 * for reversed depth (WebGL: EXT_clip_control, ZERO_TO_ONE), else [-1, 1]. Reversed depth is read from the
 * renderer as well as the camera: WebGLRenderer marks the camera reversed only when it sets up the first
 * program of a frame, after the first object's onBeforeRender.
 */
export function layerDepthRemap(material: LayerMaterialDescription, renderer: DepthConventionSource, camera: Camera): [number, number] {
  if (!material.depthWrite) return [1, 0];
  const reversed =
    (camera as Camera & { reversedDepth?: boolean }).reversedDepth === true || renderer.reversedDepthBuffer === true || renderer.state?.buffers?.depth?.getReversed?.() === true;
  const half = renderer.coordinateSystem === WebGPUCoordinateSystem || reversed;
  return depthSliceAB(material.slice, material.sliceCount, half, reversed);
}

const MPI_VERTEX = /* glsl */ `
uniform vec2 depthRemap;
varying vec2 vUV;
${MPI_GLSL.depthSliceFunction}
void main() {
  gl_Position = dioramaDepthSlice(projectionMatrix * modelViewMatrix * vec4(position, 1.0), depthRemap);
  vUV = uv;
}
`;

// three.js prefixes a ShaderMaterial's fragment shader with its colour-space functions
// (linearToOutputTexel, used by colorspace_fragment).
const MPI_FRAGMENT = /* glsl */ `
varying vec2 vUV;
uniform sampler2D layerTexture;
// sRGB EOTF (three.js's sRGBTransferEOTF, per channel).
vec3 dioramaSRGBToLinear(vec3 c) {
  return mix(pow(c * 0.9478672986 + vec3(0.0521327014), vec3(2.4)), c * 0.0773993808, vec3(lessThanEqual(c, vec3(0.04045))));
}
void main() {
  // Premultiplied rgba, bilinearly filtered (correct for premultiplied colour).
  vec4 c = texture2D(layerTexture, vUV);
  if (c.a <= 0.0) discard;
  gl_FragColor = vec4(dioramaSRGBToLinear(c.rgb / c.a), c.a);
  #include <colorspace_fragment>
  gl_FragColor.rgb *= gl_FragColor.a;
}
`;

/** Applies the blending, sidedness and depth state of a layer's material description. */
export function applyLayerState(mat: Material, m: LayerMaterialDescription): void {
  mat.name = m.name;
  mat.transparent = true;
  mat.side = DoubleSide;
  // One pass for both faces (three.js draws double-sided transparent materials twice otherwise).
  mat.forceSinglePass = true;
  mat.depthTest = true;
  mat.depthWrite = m.depthWrite;
  if (m.blend === 'premultiplied') {
    mat.blending = CustomBlending;
    mat.blendSrc = OneFactor;
    mat.blendDst = OneMinusSrcAlphaFactor;
    mat.blendSrcAlpha = OneFactor;
    mat.blendDstAlpha = OneMinusSrcAlphaFactor;
    mat.premultipliedAlpha = true;
  } else {
    mat.blending = NormalBlending;
    mat.premultipliedAlpha = false;
  }
}

/** The unlit MPI material of one layer for WebGLRenderer (a ShaderMaterial; see the module comment). */
export function createMpiShaderMaterial(texture: DataTexture, m: LayerMaterialDescription): ShaderMaterial {
  const mat = new ShaderMaterial({
    uniforms: { layerTexture: { value: texture }, depthRemap: { value: new Vector2(1, 0) } },
    vertexShader: MPI_VERTEX,
    fragmentShader: MPI_FRAGMENT,
  });
  applyLayerState(mat, m);
  const remap = mat.uniforms.depthRemap!.value as Vector2;
  // The NDC convention is the renderer's and the camera's: set just before each draw.
  mat.onBeforeRender = (renderer: WebGLRenderer, _scene, camera) => {
    const [a, b] = layerDepthRemap(m, renderer, camera);
    remap.set(a, b);
  };
  return mat;
}

/** The lit variant: a Lambert material with the straight-alpha (bled) texture, straight over, depth writes off. */
export function createLitLayerMaterial(texture: DataTexture, m: LayerMaterialDescription): MeshLambertMaterial {
  const mat = new MeshLambertMaterial({ map: texture });
  applyLayerState(mat, m);
  mat.alphaTest = 0;
  return mat;
}

/** The materials of the WebGLRenderer path. */
export const webglMaterials: DioramaMaterialFactory = {
  renderer: 'webgl',
  mpi: createMpiShaderMaterial,
  lit: createLitLayerMaterial,
};
