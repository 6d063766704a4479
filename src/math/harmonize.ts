/**
 * Stage 1: depth harmonization. Depth is smoothed inside each mask and left free to jump across mask
 * boundaries, so that depth edges snap to object silhouettes.
 *
 *   minimise  Σ_p c_p (x_p − x̃_p)² + λ Σ_{p~q} w_pq (x_p − x_q)²
 *
 * over x = inverse depth (default) or depth, on the 4-neighbour grid, by Jacobi-PCG (see solver.ts).
 *
 * Four ingredients make the edge snap (each measured on metrics.md §1; see the closing notes):
 * 1. Boundary snapping (snap.ts). A segmenter's boundary is only accurate to a pixel or two, so labels within
 *    `snapRadius` px of every mask boundary are re-decided from the depth and colour evidence, by the label
 *    with the smallest expected relative depth error.
 * 2. Confidence. A network's depth bleeds across silhouettes, so c_p falls from 1 to `edgeConfidence` in a
 *    band of `confidenceRadius` px along the snapped boundaries: there the solution is the interior depth
 *    extended up to the silhouette. Unknown depth is pulled weakly to the nearest known depth of its mask.
 * 3. Weights. w_pq = λ between neighbours with the same label (times an optional colour affinity, off by
 *    default: it measured worse), `crossWeight` (≈ 0) across labels; inside a mask and outside the band,
 *    depth-edge stopping lowers w_pq where the input depth itself steps, so edges the masks missed survive.
 * 4. A starting guess that already carries each mask's interior depth up to its silhouette, so Jacobi-PCG
 *    converges in a handful of iterations.
 *
 * Alternatives that were built and measured worse (a colour-only watershed snap, edge-strength alignment,
 * tile-coherent shift votes, a coarse-to-fine start) are not kept; scripts/tune-harmonize.ts sweeps options.
 */
import { DioramaError, throwIfAborted } from '../core/errors';
import type { RGBAImage } from '../core/types';
import { fillNearest, fillNearestWithFallback, labelBand } from './labels';
import { solveGridPCG, type GridSystem } from './solver';
import { snapLabels } from './snap';

export interface HarmonizeOptions {
  /** Smoothness weight λ. Default 2 (metrics §1 equal to λ = 4 within noise, and CG needs fewer iterations). */
  lambda?: number;
  /** Solve in 'inverse' depth (default) or 'depth'. */
  domain?: 'inverse' | 'depth';
  /** Half-width (px) of the band where labels are re-decided from depth and colour evidence (snap.ts). 0 disables. Default 3. */
  snapRadius?: number;
  /** Compare depths linearly in the snap (default true); see SnapOptions.linearDepth. */
  snapLinearDepth?: boolean;
  /** Temperature of the snap's expected-relative-error decision (0 = plain cost). Default 3. */
  snapRiskTemperature?: number;
  /** See SnapOptions.depthScale. Default 0.03. */
  snapDepthScale?: number;
  /** See SnapOptions.colorScale. Default 12. */
  snapColorScale?: number;
  /** See SnapOptions.stayBonus. Default 0.5. */
  snapStayBonus?: number;
  /** Width (px) of the low-confidence band along boundaries. Default 4. */
  confidenceRadius?: number;
  /** Confidence at the boundary itself. Default 0.01. */
  edgeConfidence?: number;
  /** Colour affinity scale σ (0–255 units) for the in-mask weights; 0 disables colour weighting (default: the masks alone decide where smoothing stops; colour weights measured worse on metrics.md §1). */
  colorSigma?: number;
  /** Floor of the colour affinity inside a mask. Default 0.05. */
  colorFloor?: number;
  /**
   * Relative depth difference σ (on |log ratio| of neighbouring input depths) that stops smoothing inside
   * a mask, away from its boundary band; 0 disables. Default 0.03 (about the spread of neighbour ratios under 2 % per-pixel noise: noise keeps most of its weight, a real edge step loses it).
   */
  depthSigma?: number;
  /** Floor of the depth-stopping factor. Default 0.01. */
  depthFloor?: number;
  /**
   * Data confidence of pixels with unknown depth, pulled to the depth of the nearest known pixel of their
   * mask. Default 1: holes take their mask's nearby depth and are smoothed with it; much lower values make
   * CG carry information across large sensor holes, which costs hundreds of iterations.
   */
  unknownConfidence?: number;
  /** Weight across a mask boundary (relative to λ). Default 1e-4. */
  crossWeight?: number;
  /** PCG tolerance (relative preconditioned residual). Default 1e-2: measured on metrics.md §1, tighter solves change no metric beyond noise (the starting guess is already close). */
  tolerance?: number;
  /** Default 200. */
  maxIterations?: number;
  signal?: AbortSignal;
}

export const HARMONIZE_DEFAULTS: Readonly<Required<Omit<HarmonizeOptions, 'signal'>>> = Object.freeze({
  lambda: 2,
  domain: 'inverse',
  snapRadius: 3,
  snapRiskTemperature: 3,
  snapLinearDepth: true,
  snapDepthScale: 0.03,
  snapColorScale: 12,
  snapStayBonus: 0.5,
  confidenceRadius: 4,
  edgeConfidence: 0.01,
  colorSigma: 0,
  colorFloor: 0.05,
  depthSigma: 0.03,
  depthFloor: 0.01,
  unknownConfidence: 1,
  crossWeight: 1e-4,
  tolerance: 1e-2,
  maxIterations: 200,
});

export interface HarmonizeInput {
  width: number;
  height: number;
  /** Metres; 0 or NaN = unknown. */
  depth: Float32Array;
  /** -1 = no mask. Pixels with -1 are treated as one more region. */
  labels: Int32Array;
  /** The photo; enables boundary refinement and colour weights. */
  image?: RGBAImage;
  /** Optional per-pixel confidence in [0, 1] multiplied into c (e.g. a network's confidence output). */
  confidence?: Float32Array;
}

/** Milliseconds per part of harmonize(). */
export interface HarmonizeTimings {
  /** Validation, data term, nearest fill of unknown depth. */
  prepare: number;
  /** Boundary snapping. */
  snap: number;
  /** Confidence band, smoothness weights and the starting guess. */
  weights: number;
  /** The linear solve (PCG). */
  solve: number;
}

export interface HarmonizeResult {
  timings: HarmonizeTimings;
  /** Harmonized metric depth (every pixel > 0 unless no depth was known at all). */
  depth: Float32Array;
  /** Labels after boundary refinement. */
  labels: Int32Array;
  iterations: number;
  residual: number;
}

/**
 * Stage 1 split at the linear solve, so that the solve can run elsewhere (e.g. a GPU port of solveGridPCG):
 * `assembleHarmonizeSystem` does everything before it, `finish` everything after it.
 */
export interface HarmonizeSystem {
  /** The assembled system in the solve domain (inverse depth by default): c, b, wx, wy (λ folded in). */
  system: GridSystem;
  /** Starting guess for the solve. */
  start: Float32Array;
  /** Tolerance and iteration cap the CPU path uses. */
  solveOptions: { tolerance: number; maxIterations: number };
  /** Timings so far (prepare, snap, weights; solve is 0 until `finish`). */
  timings: HarmonizeTimings;
  /** Turns a solution x of `system` into the result (back to depth, refined labels, timings.solve = solveMs). */
  finish(x: Float32Array, iterations: number, residual: number, solveMs: number): HarmonizeResult;
}

/**
 * Runs Stage 1: assembleHarmonizeSystem, Jacobi-PCG (solveGridPCG) from its starting guess, finish.
 * See the module comment for the model.
 */
export function harmonize(input: HarmonizeInput, options: HarmonizeOptions = {}): HarmonizeResult {
  const hs = assembleHarmonizeSystem(input, options);
  const t0 = performance.now();
  const res = solveGridPCG(hs.system, hs.start, { ...hs.solveOptions, signal: options.signal });
  return hs.finish(res.x, res.iterations, res.residual, performance.now() - t0);
}

/**
 * Everything of Stage 1 before the linear solve: validation, data term, boundary snapping, confidence band,
 * smoothness weights and the starting guess. The returned `system` is the SPD grid system of solver.ts whose
 * solution x (inverse depth, or depth with `domain: 'depth'`) `finish` maps back to metric depth.
 * Throws DioramaError on mismatched sizes, an invalid λ, or when no pixel has a valid depth.
 */
export function assembleHarmonizeSystem(input: HarmonizeInput, options: HarmonizeOptions = {}): HarmonizeSystem {
  const o = { ...HARMONIZE_DEFAULTS, ...stripUndefined(options) };
  const { width: W, height: H, depth, labels } = input;
  const N = W * H;
  if (depth.length !== N) throw new DioramaError('SIZE_MISMATCH', `harmonize: depth has ${depth.length} values; expected ${W}x${H} = ${N}`);
  if (labels.length !== N) throw new DioramaError('SIZE_MISMATCH', `harmonize: labels have ${labels.length} values; expected ${N}`);
  if (input.image && (input.image.width !== W || input.image.height !== H)) {
    throw new DioramaError('SIZE_MISMATCH', `harmonize: image is ${input.image.width}x${input.image.height}; expected ${W}x${H}`);
  }
  if (input.confidence && input.confidence.length !== N) {
    throw new DioramaError('SIZE_MISMATCH', `harmonize: confidence has ${input.confidence.length} values; expected ${N}`);
  }
  if (!(o.lambda >= 0) || !Number.isFinite(o.lambda)) throw new DioramaError('INVALID_OPTION', `harmonize: lambda must be a finite number ≥ 0; found ${o.lambda}`);
  const signal = options.signal;
  throwIfAborted(signal);

  // Data term in the solve domain; unknown depth gets c = 0 and a nearest-known starting value.
  const timings: HarmonizeTimings = { prepare: 0, snap: 0, weights: 0, solve: 0 };
  let tMark = performance.now();
  const lap = (): number => {
    const now = performance.now();
    const d = now - tMark;
    tMark = now;
    return d;
  };
  const inverse = o.domain === 'inverse';
  const known = new Uint8Array(N);
  const target = new Float32Array(N);
  let knownCount = 0;
  // Smallest known value in the solve domain: sets the positive floor of the solution (see finish).
  let minPos = Infinity;
  let maxLabel = -1;
  for (let i = 0; i < N; i++) {
    const d = depth[i]!;
    if (labels[i]! > maxLabel) maxLabel = labels[i]!;
    if (d > 0 && d < Infinity) {
      known[i] = 1;
      const t = inverse ? 1 / d : d;
      target[i] = t;
      if (t < minPos) minPos = t;
      knownCount++;
    }
  }
  if (knownCount === 0) throw new DioramaError('NO_VALID_DEPTH', 'harmonize: no pixel has a valid depth (all are 0, NaN or infinite)');
  // Unknown depth starts from the nearest known pixel of the same mask (then of any mask).
  const x0 = knownCount < N ? fillNearestWithFallback(target, known, W, H, labels) : target.slice();

  timings.prepare = lap();
  let refined = labels;
  // Inverse depth for the evidence (0 = unknown): the data target itself in the inverse domain.
  let z = target;
  if (!inverse) {
    z = new Float32Array(N);
    for (let i = 0; i < N; i++) z[i] = known[i] ? 1 / target[i]! : 0;
  }
  if (o.snapRadius > 0) {
    refined = snapLabels(refined, input.image, z, known, W, H, {
      radius: o.snapRadius,
      depthScale: o.snapDepthScale,
      colorScale: o.snapColorScale,
      stayBonus: o.snapStayBonus,
      riskTemperature: o.snapRiskTemperature,
      linearDepth: o.snapLinearDepth,
    }, signal);
  }
  throwIfAborted(signal);

  timings.snap = lap();
  // Confidence band along refined boundaries.
  const R = Math.max(0, Math.round(o.confidenceRadius));
  const dist = labelBand(refined, W, H, R);
  // c: unknown depth is pulled towards the nearest known depth of its mask (unknownConfidence); known depth
  // has confidence 1 outside the band and a quadratic ramp inside it, from edgeConfidence at the boundary
  // (d = 0) up to the band's edge (d = R): the bled pixels near the silhouette are almost free while the
  // band's outer pixels already anchor the interior. The unknown-depth pull keeps regions cut off by mask
  // boundaries well posed and bounds how far information must travel (≈ sqrt(λ / c) px).
  // Anchors (known depth outside the band) are where depth stopping applies and where the start is taken.
  const c = new Float32Array(N);
  const anchor = new Uint8Array(N);
  const conf = input.confidence;
  const e0 = o.edgeConfidence;
  const unknownC = o.unknownConfidence;
  // deepest[label + 1]: the largest band distance within the label (R + 1 once it has an interior pixel;
  // −1 for a label with no pixel).
  const deepest = new Int16Array(maxLabel + 2).fill(-1);
  const ramp = (d: number, inner: number): number => {
    const t = inner > R ? d / (R + 1) : (d + 1) / (inner + 1);
    return e0 + (1 - e0) * t * t;
  };
  for (let i = 0; i < N; i++) {
    const d = dist[i]!;
    const k = refined[i]! + 1;
    if (d > deepest[k]!) deepest[k] = d;
    if (!known[i]) {
      c[i] = unknownC;
      continue;
    }
    anchor[i] = d > R ? 1 : 0;
    let ci = d <= R && R > 0 ? ramp(d, R + 1) : 1;
    if (conf) ci *= Math.min(1, Math.max(0, conf[i]!));
    c[i] = ci;
  }
  // A label thinner than the band would have no confident pixel at all (its mean then floats on a
  // near-singular system, which is inaccurate and slow for CG): its ramp ends at its innermost pixels.
  // (Snapping only moves pixels between existing labels, so maxLabel bounds the refined labels too.)
  let thin = false;
  for (let k = 0; k < deepest.length; k++) if (deepest[k]! >= 0 && deepest[k]! <= R) thin = true;
  if (thin && R > 0) {
    for (let i = 0; i < N; i++) {
      const inner = deepest[refined[i]! + 1]!;
      if (inner > R || !known[i]) continue;
      let ci = ramp(dist[i]!, inner);
      if (conf) ci *= Math.min(1, Math.max(0, conf[i]!));
      c[i] = ci;
    }
  }

  // Smoothness weights.
  const wx = new Float32Array(N);
  const wy = new Float32Array(N);
  const lam = o.lambda;
  const cross = lam * o.crossWeight;
  const img = input.image?.data;
  const useColor = !!img && o.colorSigma > 0;
  const inv2s2 = useColor ? 1 / (2 * o.colorSigma * o.colorSigma) : 0;
  // exp lookup over squared colour distance (0 … 3·255²), quantised to integers.
  const expLUT = useColor ? buildAffinityLUT(inv2s2, o.colorFloor) : undefined;
  // Depth-edge stopping inside masks, away from mask boundaries: a depth edge the masks did not see keeps
  // its (blurred) step instead of being smoothed further. Δ = |log(x̃_p / x̃_q)| on the input depth.
  const useDepthStop = o.depthSigma > 0;
  const inv2d2 = useDepthStop ? 1 / (2 * o.depthSigma * o.depthSigma) : 0;
  // exp(−t) tabulated on t ∈ [0, tMax], tMax where it meets the floor; t = Δ²/(2σ²).
  const tMax = Math.log(1 / Math.max(o.depthFloor, 1e-6));
  const STEPS = 2048;
  const stopLUT = new Float32Array(STEPS + 1);
  for (let s = 0; s <= STEPS; s++) stopLUT[s] = Math.max(o.depthFloor, Math.exp(-(s / STEPS) * tMax));
  const tScale = STEPS / tMax;
  computeWeights(wx, wy, W, H, {
    labels: refined,
    target,
    stopOK: useDepthStop ? anchor : new Uint8Array(N),
    stopLUT,
    stopScale: inv2d2 * tScale,
    steps: STEPS,
    lam,
    cross,
    expLUT,
    img,
  });
  throwIfAborted(signal);

  // Starting guess in the confidence band: the nearest confident value of the same label, i.e. the interior
  // depth carried up to the silhouette, which is close to the solution there; CG then needs tens of
  // iterations, not the hundreds it takes to carry values through low-confidence pixels by itself.
  const start = R > 0 ? fillNearest(x0, anchor, W, H, refined) : x0;
  timings.weights = lap();
  // Positive floor for the solution: the smallest positive known value's scale, so 1/x never explodes.
  const eps = minPos * 1e-3;
  const finish = (x: Float32Array, iterations: number, residual: number, solveMs: number): HarmonizeResult => {
    if (x.length !== N) throw new DioramaError('SIZE_MISMATCH', `harmonize: solution has ${x.length} values; expected ${N}`);
    const out = new Float32Array(N);
    for (let i = 0; i < N; i++) {
      const v = Math.max(x[i]!, eps);
      out[i] = inverse ? 1 / v : v;
    }
    return { depth: out, labels: refined, iterations, residual, timings: { ...timings, solve: solveMs } };
  };
  return {
    system: { width: W, height: H, c, b: x0, wx, wy },
    start,
    solveOptions: { tolerance: o.tolerance, maxIterations: o.maxIterations },
    timings,
    finish,
  };
}

/** Everything the smoothness weights depend on (see computeWeights). */
interface EdgeWeightParams {
  labels: Int32Array;
  /** Input values in the solve domain (0 = unknown). */
  target: Float32Array;
  /** Pixels where depth stopping applies (known depth outside the confidence band). */
  stopOK: Uint8Array;
  stopLUT: Float32Array;
  stopScale: number;
  steps: number;
  lam: number;
  cross: number;
  expLUT: Float32Array | undefined;
  img: Uint8Array | Uint8ClampedArray | undefined;
}

/**
 * Right-neighbour (wx) and down-neighbour (wy) weights of every pixel; 0 where the neighbour is off-grid.
 * The weight of edge (i, j) is `cross` between labels, and λ · depth stopping · colour affinity within a
 * label; depth stopping applies where both ends are in `stopOK` (see stopFactor).
 */
function computeWeights(wx: Float32Array, wy: Float32Array, W: number, H: number, p: EdgeWeightParams): void {
  const { labels, target, stopOK, stopLUT, stopScale, steps, lam, cross, expLUT, img } = p;
  for (let y = 0; y < H; y++) {
    const row = y * W;
    const down = y + 1 < H;
    for (let x = 0; x < W; x++) {
      const i = row + x;
      const li = labels[i]!;
      const si = stopOK[i]!;
      const a = target[i]!;
      if (x + 1 < W) {
        const j = i + 1;
        let w = cross;
        if (labels[j] === li) {
          w = lam;
          if (si && stopOK[j]) w *= stopFactor(a, target[j]!, stopLUT, stopScale, steps);
          if (expLUT) w *= affinity(img!, i, j, expLUT);
        }
        wx[i] = w;
      }
      if (down) {
        const j = i + W;
        let w = cross;
        if (labels[j] === li) {
          w = lam;
          if (si && stopOK[j]) w *= stopFactor(a, target[j]!, stopLUT, stopScale, steps);
          if (expLUT) w *= affinity(img!, i, j, expLUT);
        }
        wy[i] = w;
      }
    }
  }
}

/**
 * Depth-stopping factor exp(−Δ²/(2σ²)) (floored) of a same-label edge between values a and b, read from
 * `lut` at s = Δ² · scale, with Δ = |log(a/b)| ≈ 2|a − b|/(a + b): within 1 % of the log while
 * |log(a/b)| < 0.35; beyond that the factor is at its floor either way.
 */
function stopFactor(a: number, b: number, lut: Float32Array, scale: number, steps: number): number {
  const r = (2 * (a - b)) / (a + b);
  const s = r * r * scale;
  return s >= steps ? lut[steps]! : lut[s | 0]!;
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  const r: Partial<T> = {};
  for (const k of Object.keys(o) as (keyof T)[]) if (o[k] !== undefined) r[k] = o[k];
  return r;
}

function buildAffinityLUT(inv2s2: number, floor: number): Float32Array {
  const max = 3 * 255 * 255;
  // Affinity falls below the floor long before max: cut the table there.
  const cut = Math.min(max, Math.ceil(Math.log(1 / Math.max(floor, 1e-6)) / inv2s2) + 1);
  const lut = new Float32Array(cut + 1);
  for (let s = 0; s <= cut; s++) lut[s] = Math.max(floor, Math.exp(-s * inv2s2));
  return lut;
}

function affinity(img: Uint8Array | Uint8ClampedArray, i: number, j: number, lut: Float32Array): number {
  const a = i * 4;
  const b = j * 4;
  const dr = img[a]! - img[b]!;
  const dg = img[a + 1]! - img[b + 1]!;
  const db = img[a + 2]! - img[b + 2]!;
  const s = dr * dr + dg * dg + db * db;
  return s < lut.length ? lut[s]! : lut[lut.length - 1]!;
}
