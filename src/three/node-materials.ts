/**
 * three.js materials of the layered scene for `WebGPURenderer` (`three/webgpu`): node materials implementing
 * the same material description as the WebGL ShaderMaterial path (src/three/materials.ts; see its module
 * comment for compositing, order and colour management).
 *
 * The MPI material is a NodeMaterial whose vertex node applies the layer's depth slice to the clip-space
 * position (a uniform updated per render from the renderer's NDC convention: [0, 1] on WebGPU, [-1, 1] on the
 * WebGL2 fallback backend, reversed with `reversedDepthBuffer`) and whose fragment node outputs the straight
 * colour decoded to linear; `premultipliedAlpha` makes three.js premultiply it, and the renderer's output
 * transform (sRGB) encodes it again. With the renderer's default sRGB output the layers are therefore blended
 * in linear light inside three.js's half-float frame buffer, like every other three.js WebGPU material (the
 * WebGL path blends the sRGB values, like Babylon; on the 14 stereo scenes of the novel-view evaluation the two
 * differ by a few hundredths of a dB). Opaque texels come out as the photo's values either way.
 */
import { MeshLambertNodeMaterial, NodeMaterial, Vector2, type DataTexture, type Node } from 'three/webgpu';
import { Discard, Fn, If, modelViewProjection, sRGBTransferEOTF, texture, uniform, uv, vec4 } from 'three/tsl';
import type { LayerMaterialDescription } from '../scene/description';
import { applyLayerState, layerDepthRemap, type DepthConventionSource, type DioramaMaterialFactory } from './materials';

/** The unlit MPI node material of one layer (see the module comment). */
export function createMpiNodeMaterial(tex: DataTexture, m: LayerMaterialDescription): NodeMaterial {
  const mat = new NodeMaterial();
  applyLayerState(mat, m);
  mat.fog = false;
  mat.lights = false;
  const remap = uniform(new Vector2(1, 0)).onRenderUpdate(({ renderer, camera }) => {
    const [a, b] = layerDepthRemap(m, renderer as DepthConventionSource, camera!);
    return new Vector2(a, b);
  });
  mat.vertexNode = Fn(() => {
    const clip = (modelViewProjection as unknown as Node<'vec4'>).toVar();
    return vec4(clip.x, clip.y, clip.z.mul(remap.x).add(clip.w.mul(remap.y)), clip.w);
  })();
  const sample = texture(tex, uv());
  mat.fragmentNode = Fn(() => {
    const c = sample.toVar();
    If(c.a.lessThanEqual(0), () => {
      Discard();
    });
    // Straight colour decoded to linear; setupOutput premultiplies (premultipliedAlpha = true).
    return vec4(sRGBTransferEOTF(c.rgb.div(c.a)) as unknown as Node<'vec3'>, c.a);
  })();
  return mat;
}

/** The lit variant: a Lambert node material with the straight-alpha (bled) texture, straight over, depth writes off. */
export function createLitNodeMaterial(tex: DataTexture, m: LayerMaterialDescription): MeshLambertNodeMaterial {
  const mat = new MeshLambertNodeMaterial({ map: tex });
  applyLayerState(mat, m);
  return mat;
}

/** The materials of the WebGPURenderer path. */
export const webgpuMaterials: DioramaMaterialFactory = {
  renderer: 'webgpu',
  mpi: createMpiNodeMaterial,
  lit: createLitNodeMaterial,
};
