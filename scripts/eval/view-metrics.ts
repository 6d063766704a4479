/**
 * Novel-view metrics of docs/metrics.md §2 (stereo scenes), pure TypeScript, no I/O.
 *
 * Geometry (../shared/data/README.md): a left pixel (x, y) with disparity d > 0 appears in the right view
 * at (x − d, y). With focal f = W and baseline B = 1, depth is Z = W / d and the right camera is the left
 * one translated by +1 along its x axis.
 *
 * - Unknown disparities (0, negative or non-finite) are filled along their row from the BACKGROUND side:
 *   a run of unknown pixels between two known ones takes the smaller (farther) of the two bounding
 *   disparities, a run touching the image edge takes its only bounding value. Rows without any known
 *   disparity stay unknown for scoring; for rendering they copy the nearest row that has one
 *   ({@link fillDisparityForRendering}).
 * - Scored region ALL (right view): every pixel except a 10 px border, except on each row the strip right
 *   of m_y = max_x (x − d(x, y)) (pixel indices; no left pixel lands there), except rows with no known
 *   disparity. The filled disparity is used (filling is part of the protocol).
 * - BAND: pixels of ALL within 8 px (Euclidean) of a disparity jump. A jump is a pair of horizontal
 *   left-view neighbours (x, x+1) with |d(x) − d(x+1)| > 1 px; in the right view it becomes the horizontal
 *   segment [min(a, b), max(a, b)] of row y, with a = x − d(x) and b = x + 1 − d(x + 1) the warped
 *   positions of the two neighbours. The distance of right pixel (X, Y) to it is
 *   √(max(0, lo − X, X − hi)² + (Y − y)²).
 * - HOLES: a view is rendered twice, over two opaque clear colours K₁ = magenta (255, 0, 255) and
 *   K₂ = green (0, 255, 0). Any blending that is linear in the destination (straight or premultiplied
 *   "over", additive) gives R = C + T·K with the content C and the transmittance T that lets the clear
 *   colour through, so T = ((R₁ − R₂)_r + (R₂ − R₁)_g + (R₁ − R₂)_b) / (3·255), and the content over black
 *   is C = (R₂.r, R₁.g, R₂.b) exactly (the channels where one clear colour is 0). A pixel "shows the clear
 *   colour" when T > ½ (more clear colour than content). PSNR and SSIM are scored on C, i.e. as if the
 *   clear colour were black.
 * - PSNR (RGB, peak 255) and SSIM (luminance, Gaussian window 11, σ 1.5) come from ./image-metrics.ts.
 */
import type { RGBAImage } from '../../src/core/types';
import { psnrRGB, ssimLuma } from './image-metrics';

/** Border (px) left out of ALL. */
export const VIEW_BORDER = 10;
/** BAND radius (px) around a warped disparity jump. */
export const BAND_RADIUS = 8;
/** A disparity jump: |d(x) − d(x+1)| above this many pixels. */
export const JUMP_THRESHOLD = 1;
/** A pixel is a hole when more than this fraction of the clear colour shows through. */
export const HOLE_TRANSMITTANCE = 0.5;
/** The two opaque clear colours of the coverage pair (RGB 0–255). */
export const CLEAR_MAGENTA = [255, 0, 255] as const;
export const CLEAR_GREEN = [0, 255, 0] as const;

function isKnown(d: number): boolean {
  return d > 0 && d < Infinity;
}

/** Filled disparity of a stereo scene plus which rows had any known disparity. */
export interface FilledDisparity {
  width: number;
  height: number;
  /** W·H disparities (px): > 0 on every row with `rowKnown`, 0 on rows without any known value. */
  disparity: Float32Array;
  /** 1 for rows with at least one known disparity. */
  rowKnown: Uint8Array;
}

/**
 * Fills unknown disparities along each row from the background side (see the module comment).
 * Rows with no known disparity are left at 0 and flagged in `rowKnown`.
 */
export function fillDisparityRows(disp: Float32Array, width: number, height: number): FilledDisparity {
  if (disp.length !== width * height) throw new Error(`disparity has ${disp.length} values; expected ${width}·${height} = ${width * height}`);
  const out = new Float32Array(disp.length);
  const rowKnown = new Uint8Array(height);
  for (let y = 0; y < height; y++) {
    const row = y * width;
    let prev = -1; // column of the last known pixel
    for (let x = 0; x < width; x++) {
      const v = disp[row + x]!;
      if (!isKnown(v)) continue;
      out[row + x] = v;
      // Fill the unknown run (prev, x) with the background (smaller) of its bounding values.
      if (x - prev > 1) out.fill(prev >= 0 ? Math.min(disp[row + prev]!, v) : v, row + prev + 1, row + x);
      prev = x;
    }
    if (prev < 0) continue;
    rowKnown[y] = 1;
    // A run touching the right edge takes the last known value.
    if (prev < width - 1) out.fill(disp[row + prev]!, row + prev + 1, row + width);
  }
  return { width, height, disparity: out, rowKnown };
}

/**
 * Disparity for building the scene: the row-filled disparity with rows that have no known value copied from
 * the nearest row that has (the upper one on ties). Returns null when no row has any known disparity.
 */
export function fillDisparityForRendering(f: FilledDisparity): Float32Array | null {
  const { width: W, height: H, disparity, rowKnown } = f;
  const out = disparity.slice();
  // Nearest known row above and below, by two sweeps.
  const above = new Int32Array(H).fill(-1);
  let last = -1;
  for (let y = 0; y < H; y++) {
    if (rowKnown[y]) last = y;
    above[y] = last;
  }
  last = -1;
  let any = false;
  for (let y = H - 1; y >= 0; y--) {
    if (rowKnown[y]) {
      last = y;
      any = true;
      continue;
    }
    const a = above[y]!;
    const src = a < 0 ? last : last < 0 ? a : y - a <= last - y ? a : last;
    if (src >= 0) out.copyWithin(y * W, src * W, src * W + W);
  }
  return any ? out : null;
}

/** Depth Z = W / d (focal W, baseline 1) of a filled disparity map; 0 where d ≤ 0. */
export function depthFromDisparity(disp: Float32Array, width: number): Float32Array {
  const out = new Float32Array(disp.length);
  for (let i = 0; i < disp.length; i++) {
    const d = disp[i]!;
    out[i] = isKnown(d) ? width / d : 0;
  }
  return out;
}

/**
 * A depth map (0, negative or non-finite = unknown) filled for rendering as §2 fills disparity: converted
 * to the disparity-like W / Z (any positive scale gives the same fill: the fill only compares values),
 * filled along rows from the background side ({@link fillDisparityRows}), rows without any known value
 * copied from the nearest row that has ({@link fillDisparityForRendering}), and converted back. Known
 * pixels keep their depth up to float32 rounding of the two divisions. Null when no pixel is known.
 */
export function fillDepthForRendering(depth: Float32Array, width: number, height: number): Float32Array | null {
  const disp = new Float32Array(depth.length);
  for (let i = 0; i < depth.length; i++) {
    const z = depth[i]!;
    disp[i] = isKnown(z) ? width / z : 0;
  }
  const filled = fillDisparityForRendering(fillDisparityRows(disp, width, height));
  return filled ? depthFromDisparity(filled, width) : null;
}

/** The scored regions of the right view (1 = inside), W·H each. */
export interface ViewRegions {
  all: Uint8Array;
  band: Uint8Array;
  allCount: number;
  bandCount: number;
}

/**
 * ALL and BAND of metrics.md §2 for the right view, from the row-filled LEFT disparity (see the module
 * comment for the exact definitions). Cost O(W·H + 17·jumps).
 */
export function scoredRegions(f: FilledDisparity): ViewRegions {
  const { width: W, height: H, disparity: d, rowKnown } = f;
  const border = VIEW_BORDER;
  const R = BAND_RADIUS;
  const all = new Uint8Array(W * H);
  let allCount = 0;
  for (let y = border; y < H - border; y++) {
    if (!rowKnown[y]) continue;
    const row = y * W;
    let m = -Infinity;
    for (let x = 0; x < W; x++) {
      const v = x - d[row + x]!;
      if (v > m) m = v;
    }
    const xEnd = Math.min(W - border - 1, Math.floor(m));
    for (let x = border; x <= xEnd; x++) {
      all[row + x] = 1;
      allCount++;
    }
  }
  // BAND: per source row, the warped jump segments; each is spread over rows y−R…y+R with the half-width
  // √(R² − dy²) of the disc, accumulated as +1/−1 at interval ends in a per-row difference array.
  const diff = new Int32Array((W + 1) * H);
  const halfWidth = new Float64Array(R + 1);
  for (let k = 0; k <= R; k++) halfWidth[k] = Math.sqrt(R * R - k * k);
  for (let y = 0; y < H; y++) {
    if (!rowKnown[y]) continue;
    const row = y * W;
    for (let x = 0; x + 1 < W; x++) {
      const d0 = d[row + x]!;
      const d1 = d[row + x + 1]!;
      if (!(Math.abs(d0 - d1) > JUMP_THRESHOLD)) continue;
      const a = x - d0;
      const b = x + 1 - d1;
      const lo = Math.min(a, b);
      const hi = Math.max(a, b);
      for (let dy = -R; dy <= R; dy++) {
        const yy = y + dy;
        if (yy < 0 || yy >= H) continue;
        const hw = halfWidth[Math.abs(dy)]!;
        const x0 = Math.max(0, Math.ceil(lo - hw));
        const x1 = Math.min(W - 1, Math.floor(hi + hw));
        if (x0 > x1) continue;
        diff[yy * (W + 1) + x0]!++;
        diff[yy * (W + 1) + x1 + 1]!--;
      }
    }
  }
  const band = new Uint8Array(W * H);
  let bandCount = 0;
  for (let y = 0; y < H; y++) {
    let acc = 0;
    const drow = y * (W + 1);
    for (let x = 0; x < W; x++) {
      acc += diff[drow + x]!;
      const i = y * W + x;
      if (acc > 0 && all[i]) {
        band[i] = 1;
        bandCount++;
      }
    }
  }
  return { all, band, allCount, bandCount };
}

/** Content over black and the clear-colour transmittance of a view rendered over magenta and green. */
export interface Coverage {
  /** RGBA8, alpha 255: what was rendered, over black. */
  content: RGBAImage;
  /** Transmittance T ∈ [0, 1] per pixel (0 = fully covered, 1 = nothing rendered). */
  transmittance: Float32Array;
}

/**
 * Separates content and coverage from the two renders of one view over the opaque clear colours
 * {@link CLEAR_MAGENTA} and {@link CLEAR_GREEN} (see the module comment for the derivation).
 */
export function coverageFromPair(overMagenta: RGBAImage, overGreen: RGBAImage): Coverage {
  const { width, height } = overMagenta;
  if (overGreen.width !== width || overGreen.height !== height) {
    throw new Error(`coverage pair differs in size: ${width}x${height} vs ${overGreen.width}x${overGreen.height}`);
  }
  const n = width * height;
  const m = overMagenta.data;
  const g = overGreen.data;
  const data = new Uint8ClampedArray(n * 4);
  const transmittance = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const c = i << 2;
    const t = (m[c]! - g[c]! + (g[c + 1]! - m[c + 1]!) + (m[c + 2]! - g[c + 2]!)) / (3 * 255);
    transmittance[i] = t < 0 ? 0 : t > 1 ? 1 : t;
    data[c] = g[c]!;
    data[c + 1] = m[c + 1]!;
    data[c + 2] = g[c + 2]!;
    data[c + 3] = 255;
  }
  return { content: { width, height, data }, transmittance };
}

/** Fraction of the pixels of `region` (all pixels when omitted) whose transmittance exceeds `threshold`; null for an empty region. */
export function holeFraction(transmittance: Float32Array, region?: Uint8Array, threshold = HOLE_TRANSMITTANCE): number | null {
  let n = 0;
  let holes = 0;
  for (let i = 0; i < transmittance.length; i++) {
    if (region && !region[i]) continue;
    n++;
    if (transmittance[i]! > threshold) holes++;
  }
  return n ? holes / n : null;
}

/** The §2 metrics of one rendered novel view. */
export interface ViewScores {
  psnr: number | null;
  psnrBand: number | null;
  ssim: number | null;
  ssimBand: number | null;
  holes: number | null;
}

/**
 * Scores a right-view render (content over black plus transmittance, from {@link coverageFromPair}) against
 * the real right image over ALL and BAND. An empty BAND gives null band metrics.
 */
export function scoreView(reference: RGBAImage, coverage: Coverage, regions: ViewRegions): ViewScores {
  const { content, transmittance } = coverage;
  const hasAll = regions.allCount > 0;
  const hasBand = regions.bandCount > 0;
  return {
    psnr: hasAll ? psnrRGB(reference, content, regions.all) : null,
    psnrBand: hasBand ? psnrRGB(reference, content, regions.band) : null,
    ssim: hasAll ? ssimLuma(reference, content, regions.all) : null,
    ssimBand: hasBand ? ssimLuma(reference, content, regions.band) : null,
    holes: hasAll ? holeFraction(transmittance, regions.all) : null,
  };
}

/**
 * Hole pixels of an orbit view: pixels with transmittance > `threshold` that are ENCLOSED by rendered
 * pixels, i.e. not 4-connected through uncovered pixels to the view's outer ring. Uncovered pixels that
 * reach the frame are outside the photographed frustum (nothing was ever seen there), not holes.
 */
export function enclosedHoles(transmittance: Float32Array, width: number, height: number, threshold = HOLE_TRANSMITTANCE): { count: number; mask: Uint8Array; outside: number } {
  const n = width * height;
  const open = new Uint8Array(n);
  for (let i = 0; i < n; i++) open[i] = transmittance[i]! > threshold ? 1 : 0;
  // Flood the uncovered pixels reachable from the border.
  const reached = new Uint8Array(n);
  const stack = new Int32Array(n);
  let top = 0;
  const seed = (i: number): void => {
    if (open[i] && !reached[i]) {
      reached[i] = 1;
      stack[top++] = i;
    }
  };
  for (let x = 0; x < width; x++) {
    seed(x);
    seed((height - 1) * width + x);
  }
  for (let y = 0; y < height; y++) {
    seed(y * width);
    seed(y * width + width - 1);
  }
  let outside = 0;
  while (top > 0) {
    const i = stack[--top]!;
    outside++;
    const x = i % width;
    if (x > 0) seed(i - 1);
    if (x + 1 < width) seed(i + 1);
    if (i >= width) seed(i - width);
    if (i + width < n) seed(i + width);
  }
  const mask = new Uint8Array(n);
  let count = 0;
  for (let i = 0; i < n; i++) {
    if (open[i] && !reached[i]) {
      mask[i] = 1;
      count++;
    }
  }
  return { count, mask, outside };
}

/** Orbit holes split by where they lie (see {@link orbitHoles}). */
export interface OrbitHoles {
  /** Uncovered pixels inside the backdrop's footprint: real holes. */
  holes: number;
  mask: Uint8Array;
  /**
   * Uncovered pixels outside the backdrop's footprint but enclosed by nearer layers (pockets along the
   * frame where nearer layers reach further out than the backdrop): reported, not holes in the scene.
   */
  pockets: number;
}

/**
 * Holes of an orbit view, given the transmittance of the full render and of a render of the back layer
 * alone. The back layer (layer 0) of a decomposition is filled over the whole photo and never torn, so its
 * projection is the photographed frame at the backdrop's depth; its FOOTPRINT is the pixels it covers plus
 * any uncovered pixels it encloses (its own gaps). A hole is an uncovered pixel (transmittance > `threshold`)
 * of the full render inside that footprint. Uncovered pixels outside it lie beyond the photo's frame at the
 * backdrop's depth, where the photo recorded nothing; those that nearer layers enclose are counted as
 * `pockets`.
 */
export function orbitHoles(full: Float32Array, backdrop: Float32Array, width: number, height: number, threshold = HOLE_TRANSMITTANCE): OrbitHoles {
  const n = width * height;
  if (full.length !== n || backdrop.length !== n) throw new Error(`orbitHoles: expected ${n} transmittance values per render`);
  const backGaps = enclosedHoles(backdrop, width, height, threshold).mask;
  const enclosed = enclosedHoles(full, width, height, threshold).mask;
  const mask = new Uint8Array(n);
  let holes = 0;
  let pockets = 0;
  for (let i = 0; i < n; i++) {
    if (!(full[i]! > threshold)) continue;
    const inFootprint = !(backdrop[i]! > threshold) || backGaps[i] === 1;
    if (inFootprint) {
      mask[i] = 1;
      holes++;
    } else if (enclosed[i]) pockets++;
  }
  return { holes, mask, pockets };
}

/** Footprint pass (footprint-material.ts): R code of one texel per pixel, and codes per octave. */
export const FOOTPRINT_CODE_ONE = 128;
export const FOOTPRINT_CODES_PER_OCTAVE = 16;
/** A pixel is stretched when its footprint is under this many texels per pixel (one texel over > 4 px). */
export const STRETCH_FOOTPRINT = 0.25;

/** Footprint (texels per pixel) of an R code of the footprint pass: 2^((code − 128)/16), ±1/32 octave. */
export function footprintFromCode(code: number): number {
  return 2 ** ((code - FOOTPRINT_CODE_ONE) / FOOTPRINT_CODES_PER_OCTAVE);
}

/**
 * `stretched` of §5 for one view: the fraction of ALL frame pixels that are drawn with coverage ≥ ½
 * (transmittance ≤ ½ in the colour pair, the complement of a hole) and whose front-most fragment with
 * texture alpha ≥ ½ has a footprint under ¼ texel per pixel (B = 255 in the footprint pass; see
 * footprint-material.ts). A covered pixel without such a fragment (only thinner layers there) is not
 * stretched. Also returns the stretched mask.
 */
export function stretchedFraction(footprint: RGBAImage, transmittance: Float32Array, threshold = HOLE_TRANSMITTANCE): { fraction: number; mask: Uint8Array } {
  const n = footprint.width * footprint.height;
  if (transmittance.length !== n) throw new Error(`stretchedFraction: ${transmittance.length} transmittance values for a ${footprint.width}x${footprint.height} footprint render`);
  const mask = new Uint8Array(n);
  let count = 0;
  const d = footprint.data;
  for (let i = 0; i < n; i++) {
    if (transmittance[i]! > threshold) continue;
    if (d[4 * i + 1]! >= 128 && d[4 * i + 2]! >= 128) {
      mask[i] = 1;
      count++;
    }
  }
  return { fraction: count / n, mask };
}
