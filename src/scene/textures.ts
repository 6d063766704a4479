/**
 * Texture data of the layers, engine-neutral: the premultiplied RGBA the MPI materials sample, and the
 * straight-alpha "bled" RGBA of the lit materials and of the glTF export.
 *
 * Why premultiplied: bilinear filtering of premultiplied texels is the correct average of partially covered
 * pixels, whereas filtering straight colours drags the RGB of transparent texels into a silhouette (the
 * classic dark or light fringe). Straight-alpha consumers (lit materials, glTF viewers) get a copy whose
 * transparent texels next to visible ones carry their neighbours' colour instead.
 */
import type { RGBAImage } from '../core/types';

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
