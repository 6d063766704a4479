/**
 * The depth-slice scheme of the MPI materials (engine-neutral).
 *
 * Layers are drawn back to front (layer index order; 0 = farthest). In the default 'layered' depth mode each
 * layer also owns a disjoint slice of the depth range: clip z is remapped affinely, z' = A·z + B·w, so that
 * NDC depth (whatever the engine's range, [-1, 1] in WebGL, [0, 1] in WebGPU, and reversed depth included) of
 * layer k lands in slice k counted from the front. A nearer layer therefore always wins the depth test against
 * a farther one (the painter's order of the MPI, whatever the layers' actual depth ranges are; they overlap
 * where a layer's hidden fill continues under a nearer object), layers can never z-fight, and depth writes
 * stay on so that a layer folding over itself in a novel view occludes itself correctly. The remap is affine
 * in clip space, hence linear in screen space, like a per-layer depth range (glDepthRange) would be.
 * Fragments with α = 0 are discarded and write no depth.
 * Trade-off: in this mode other scene objects are not depth-tested against the layers' true depths. The
 * 'scene' mode keeps true depths (the diorama then occludes and is occluded by other objects correctly) and
 * turns layer depth writes off, relying on the draw order alone.
 */

/** How layers are depth-tested; see the module comment. */
export type DioramaDepthMode = 'layered' | 'scene';

/**
 * Depth remap (A, B) of layer slice `slice` (0 = nearest) out of `count`, for the engine's NDC depth
 * convention: NDC z in [m, 1] with m = 0 (WebGPU, "half z range") or −1 (WebGL), possibly reversed
 * (near = 1). With d = (z_ndc − m)/(1 − m) the normalised depth and n = d (or 1 − d when reversed) its
 * distance-ordered version, the slice maps n ↦ (slice + n)/count and back. Every step is affine in z_ndc,
 * hence z_clip' = A·z_clip + B·w_clip.
 * @returns [A, B]; [1, 0] (unchanged) for a single slice
 */
export function depthSliceAB(slice: number, count: number, halfZRange: boolean, reversed: boolean): [number, number] {
  if (count <= 1) return [1, 0];
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
  return [f1 - f0, f0];
}

/**
 * GLSL of the MPI layer (shared by every GLSL engine path): the fragment shader samples the PREMULTIPLIED
 * layer texture (bilinear filtering of premultiplied colour is correct), discards α = 0 and outputs the
 * colour unchanged for premultiplied "over" blending (ONE, ONE_MINUS_SRC_ALPHA). The vertex helper applies
 * the depth slice to a clip-space position.
 */
export const MPI_GLSL = {
  /** `vec4 dioramaDepthSlice(vec4 clip, vec2 remap)`: clip.z' = remap.x·clip.z + remap.y·clip.w. */
  depthSliceFunction: /* glsl */ `
vec4 dioramaDepthSlice(vec4 clip, vec2 remap) {
  // (A, B): clip.z' = A * clip.z + B * clip.w, the layer's depth slice (A = 1, B = 0: unchanged).
  clip.z = clip.z * remap.x + clip.w * remap.y;
  return clip;
}
`,
  fragment: /* glsl */ `
precision highp float;
varying vec2 vUV;
uniform sampler2D layerTexture;
void main(void) {
  // Premultiplied rgba, bilinearly filtered (correct for premultiplied colour).
  vec4 c = texture2D(layerTexture, vUV);
  if (c.a <= 0.0) discard;
  gl_FragColor = c;
}
`,
} as const;
