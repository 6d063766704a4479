/**
 * Stage benchmark of the CPU pipeline at 1920×1080.
 *
 *   npm run bench:core                     (CORE_BENCH_RUNS=N for N timed runs per stage, default 5)
 *
 * `npm run bench:core` bundles this file with esbuild first, so the library code runs as it ships (one
 * bundle, as dist/ is); under tsx, module-by-module transpilation measured 15–30 % slower on the solver.
 *
 * Input: ../shared/data/rgbd/kinect_emsanet beside the repository (rgb.png + depth.pfm, 1440×1080 Kinect v2),
 * stretched to 1920×1080 (photo: sharp, bilinear; depth: nearest neighbour, so no depth is invented across
 * edges), with the synthetic raw depth and segmenter masks of docs/metrics.md §1 made from it by
 * scripts/eval/synth.ts (synthRawDepth: σ = 2 px blur + 2 % noise; synthMasks: depth regions, jittered).
 * When the data folder is absent, the synthetic scene of test/fixtures/scene.ts at 1920×1080 is used the
 * same way (the output says which).
 *
 * Stages, each timed separately (one untimed warm-up call, then N timed calls; sub-10 ms stages get at least
 * 25 calls): mask resolution and depth segmentation, harmonize() with default options, clusterMasks and
 * assignLayers on a 200-mask label map, the inpainting of every layer once (Telea + harmonic fill, set up
 * exactly as build-layers.ts does) and of the median-cost layer N times, the meshing of all built layers
 * (buildLayerMesh), and the whole decompose() N times with its own per-stage timings (the full inpaint and
 * mesh stages are taken from there). Reported: median and min wall time.
 * The machine is shared and noisy: medians are the figure of record, mins show the noise floor.
 * Results also go to bench/results/core.json (git-ignored).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { DecomposeInput, RGBAImage } from '../src/core/types';
import { decompose } from '../src/core/decompose';
import { normaliseDepth, resolveIntrinsics, resolveMasks, DEFAULT_FOV_DEGREES } from '../src/core/validate';
import { autoMargins, buildLayers, INPAINT_DEFAULTS } from '../src/core/build-layers';
import { harmonize } from '../src/math/harmonize';
import { assignLayers, clusterMasks, computeMaskStats, LAYER_DEFAULTS } from '../src/math/layers';
import { bandDistance, segmentDepth } from '../src/math/labels';
import { harmonicFill } from '../src/math/harmonic';
import { inpaintTelea } from '../src/math/telea';
import { buildLayerMesh } from '../src/math/mesh';
import { pipelineMeshOptions, smoothForMesh } from '../src/core/build-layers';
import { synthMasks, synthRawDepth } from '../scripts/eval/synth';
import { makeScene } from '../test/fixtures/scene';
import { BENCH_H, BENCH_SEED, BENCH_W, KINECT_DIR, loadKinect1080 } from './inputs';

const W = BENCH_W;
const H = BENCH_H;
const N = W * H;
const RUNS = Math.max(1, Number(process.env.CORE_BENCH_RUNS ?? 5));
const SEED = BENCH_SEED;
const HERE = dirname(fileURLToPath(import.meta.url));

// ---------------------------------------------------------------------------------------------------------
// Input

async function loadInput(): Promise<{ source: string; image: RGBAImage; gt: Float32Array }> {
  const real = await loadKinect1080();
  if (real) return real;
  const s = makeScene({ width: W, height: H });
  return { source: `SYNTHETIC scene (test/fixtures/scene.ts): ${KINECT_DIR} is absent`, image: s.image, gt: s.depth };
}

/**
 * A 200-mask label map over the image: the Voronoi cells of a jittered 20×10 grid of seeds (each pixel takes
 * the nearest seed among the 3×3 grid cells around it). Cells straddle depth edges like an over-segmenting
 * segmenter's parts do, so their depth statistics are realistic for the clustering.
 */
function voronoi200(): Int32Array {
  const gx = 20;
  const gy = 10;
  const cw = W / gx;
  const ch = H / gy;
  let s = 99;
  const rnd = (): number => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32);
  const sx = new Float64Array(gx * gy);
  const sy = new Float64Array(gx * gy);
  for (let j = 0; j < gy; j++) {
    for (let i = 0; i < gx; i++) {
      sx[j * gx + i] = (i + 0.15 + 0.7 * rnd()) * cw;
      sy[j * gx + i] = (j + 0.15 + 0.7 * rnd()) * ch;
    }
  }
  const labels = new Int32Array(N);
  for (let y = 0; y < H; y++) {
    const cj = Math.min(gy - 1, Math.floor(y / ch));
    for (let x = 0; x < W; x++) {
      const ci = Math.min(gx - 1, Math.floor(x / cw));
      let best = 0;
      let bd = Infinity;
      for (let j = Math.max(0, cj - 1); j <= Math.min(gy - 1, cj + 1); j++) {
        for (let i = Math.max(0, ci - 1); i <= Math.min(gx - 1, ci + 1); i++) {
          const k = j * gx + i;
          const d = (x + 0.5 - sx[k]!) ** 2 + (y + 0.5 - sy[k]!) ** 2;
          if (d < bd) {
            bd = d;
            best = k;
          }
        }
      }
      labels[y * W + x] = best;
    }
  }
  return labels;
}

// ---------------------------------------------------------------------------------------------------------
// Timing

interface Row {
  stage: string;
  medianMs: number;
  minMs: number;
  runs: number;
  targetMs?: number;
  note?: string;
}

const median = (a: number[]): number => {
  const s = a.slice().sort((x, y) => x - y);
  return s.length % 2 ? s[(s.length - 1) >> 1]! : 0.5 * (s[s.length / 2 - 1]! + s[s.length / 2]!);
};

const rows: Row[] = [];

/** Warm-up call, then timed calls (≥ 25 when the warm-up took under 10 ms). Returns the last result. */
async function time<T>(stage: string, f: () => T | Promise<T>, extra: Partial<Row> = {}): Promise<T> {
  let t0 = performance.now();
  let out = await f();
  const warm = performance.now() - t0;
  const n = warm < 10 ? Math.max(RUNS, 25) : RUNS;
  const ms: number[] = [];
  for (let r = 0; r < n; r++) {
    t0 = performance.now();
    out = await f();
    ms.push(performance.now() - t0);
  }
  const row: Row = { stage, medianMs: median(ms), minMs: Math.min(...ms), runs: n, ...extra };
  rows.push(row);
  process.stderr.write(`  ${stage}: median ${row.medianMs.toFixed(1)} ms\n`);
  return out;
}

function record(stage: string, ms: number[], extra: Partial<Row> = {}): void {
  rows.push({ stage, medianMs: median(ms), minMs: Math.min(...ms), runs: ms.length, ...extra });
}

// ---------------------------------------------------------------------------------------------------------

const input = await loadInput();
console.log(`core.bench: ${W}×${H}, input: ${input.source}`);
const raw = synthRawDepth(input.gt, W, H, SEED);
const masks = synthMasks(input.gt, W, H, SEED);
const image = input.image;
const decomposeInput: DecomposeInput = { image, depth: raw, masks: { kind: 'labels', labels: masks } };
const { depth: metric } = normaliseDepth(decomposeInput, W, H);
const { intrinsics } = resolveIntrinsics(decomposeInput, W, H, DEFAULT_FOV_DEGREES);

// Masks / segmentation.
const resolved = await time('masks: resolve label map', () => resolveMasks(decomposeInput.masks, W, H), { note: '' });
rows[rows.length - 1]!.note = `${resolved.count} masks`;
const seg = await time('masks: segmentDepth (RGB-D only)', () => segmentDepth(metric, W, H));
rows[rows.length - 1]!.note = `${seg.count} segments`;

// Harmonize (default options).
const h = await time('harmonize (defaults)', () => harmonize({ width: W, height: H, depth: metric, labels: resolved.labels, image }), { targetMs: 400 });
rows[rows.length - 1]!.note = `${h.iterations} PCG iterations, residual ${h.residual.toExponential(2)}`;

// Clustering with 200 masks.
const labels200 = voronoi200();
const stats200 = computeMaskStats(h.depth, labels200, 200, LAYER_DEFAULTS.madFloor);
const cl = await time('clusterMasks (200 masks)', () => clusterMasks(stats200, LAYER_DEFAULTS.overlapFactor), { targetMs: 5 });
rows[rows.length - 1]!.note = `${cl.count} clusters`;
const a200 = await time('assignLayers (200-mask map)', () => assignLayers(h.depth, labels200, 200));
rows[rows.length - 1]!.note = `${a200.layerCount} layers; includes per-pixel stats and assignment`;
const assignment = await time('assignLayers (pipeline masks)', () => assignLayers(h.depth, h.labels, resolved.count));
rows[rows.length - 1]!.note = `${assignment.layerCount} layers from ${resolved.count} masks`;

// Per-layer inpainting, set up exactly as build-layers.ts does: own pixels O; fill pixels F = nearer pixels
// within the layer's auto margin of O (all other pixels for the back layer); a 2-px feather over farther
// pixels; crop to the bounding box of all three; Telea from O over the rest of the crop; harmonic fill of the
// depth (inverse domain) over F and the feather. One timed pass over all layers gives the breakdown; the
// median-cost layer is then timed RUNS more times as the representative layer.
const L = assignment.layerCount;
const ctxBase = { W, H, depth: h.depth, pixelLayer: assignment.pixelLayer, layerCount: L, intrinsics };
const margins = autoMargins(ctxBase, INPAINT_DEFAULTS.orbitBaseline);

interface LayerWork {
  li: number;
  run: () => { teleaMs: number; harmonicMs: number; iterations: number };
  note: string;
}

function layerWork(li: number): LayerWork | undefined {
  const own = new Uint8Array(N);
  let ownCount = 0;
  for (let i = 0; i < N; i++) ownCount += own[i] = assignment.pixelLayer[i] === li ? 1 : 0;
  if (ownCount === 0) return undefined;
  const role = new Uint8Array(N);
  if (li === 0) {
    for (let i = 0; i < N; i++) role[i] = own[i] ? 1 : 2;
  } else {
    const dist = bandDistance(own, W, H, margins[li]!);
    for (let i = 0; i < N; i++) {
      if (own[i]) role[i] = 1;
      else if (assignment.pixelLayer[i]! > li && dist[i]! <= margins[li]!) role[i] = 2;
    }
    const support = Uint8Array.from(role, (r) => (r ? 1 : 0));
    const fd = bandDistance(support, W, H, 2);
    for (let i = 0; i < N; i++) if (!role[i] && fd[i]! <= 2 && assignment.pixelLayer[i]! < li) role[i] = 3;
  }
  let x0 = W, y0 = H, x1 = -1, y1 = -1;
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) {
      if (!role[y * W + x]) continue;
      x0 = Math.min(x0, x); x1 = Math.max(x1, x);
      y0 = Math.min(y0, y); y1 = Math.max(y1, y);
    }
  }
  const cw = x1 - x0 + 1;
  const ch = y1 - y0 + 1;
  const cropImg = new Uint8ClampedArray(cw * ch * 4);
  const hole = new Uint8Array(cw * ch);
  const known = new Uint8Array(cw * ch);
  const fillD = new Uint8Array(cw * ch);
  const cropDepth = new Float32Array(cw * ch);
  let holeCount = 0;
  let fillCount = 0;
  for (let y = 0; y < ch; y++) {
    for (let x = 0; x < cw; x++) {
      const i = (y0 + y) * W + x0 + x;
      const j = y * cw + x;
      for (let c = 0; c < 3; c++) cropImg[j * 4 + c] = image.data[i * 4 + c]!;
      cropImg[j * 4 + 3] = 255;
      if (role[i] === 1) {
        known[j] = 1;
        cropDepth[j] = h.depth[i]!;
      } else {
        hole[j] = 1;
        holeCount++;
        if (role[i]) {
          fillD[j] = 1;
          fillCount++;
        }
      }
    }
  }
  return {
    li,
    note: `layer ${li}/${L}: crop ${cw}×${ch}, own ${ownCount}, Telea holes ${holeCount}, depth fill ${fillCount}, margin ${li === 0 ? 'all' : margins[li]} px`,
    run: () => {
      const t0 = performance.now();
      inpaintTelea({ width: cw, height: ch, data: cropImg }, hole, { radius: INPAINT_DEFAULTS.radius });
      const t1 = performance.now();
      const hf = harmonicFill(cropDepth, cw, ch, known, fillD, { domain: 'inverse' });
      return { teleaMs: t1 - t0, harmonicMs: performance.now() - t1, iterations: hf.iterations };
    },
  };
}

const breakdown: { li: number; teleaMs: number; harmonicMs: number; iterations: number; note: string }[] = [];
for (let li = 0; li < L; li++) {
  const w = layerWork(li);
  if (!w) continue;
  breakdown.push({ li, note: w.note, ...w.run() });
  process.stderr.write(`  inpaint layer ${li}: ${(breakdown[breakdown.length - 1]!.teleaMs + breakdown[breakdown.length - 1]!.harmonicMs).toFixed(0)} ms\n`);
}
const byCost = breakdown.slice().sort((a, b) => a.teleaMs + a.harmonicMs - (b.teleaMs + b.harmonicMs));
const rep = byCost[(byCost.length - 1) >> 1]!;
{
  const w = layerWork(rep.li)!;
  const tTelea: number[] = [];
  const tHarm: number[] = [];
  let it = 0;
  for (let r = 0; r < RUNS; r++) {
    const t = w.run();
    tTelea.push(t.teleaMs);
    tHarm.push(t.harmonicMs);
    it = t.iterations;
  }
  record('inpaint 1 layer (median-cost): Telea', tTelea, { note: w.note });
  record('inpaint 1 layer (median-cost): harm.', tHarm, { note: `harmonicFill, ${it} fine PCG iterations` });
  record('inpaint 1 layer (median-cost): total', tTelea.map((t, k) => t + tHarm[k]!));
}

// One buildLayers pass for the layers to mesh (its inpaint/mesh times are measured below inside decompose()).
const concepts = Array.from({ length: resolved.count }, () => undefined);
const built = buildLayers({ ...ctxBase, image, planeDepths: assignment.planeDepths, layerMasks: assignment.layerMasks, concepts, inpaint: {}, mesh: {} });
const nLayers = built.layers.length;

// Meshing of all built layers on its own.
const crops = built.layers.map((l, k) => ({
  crop: {
    bbox: l.bbox,
    width: l.bbox.width,
    height: l.bbox.height,
    depth: l.depth,
    alpha: Uint8Array.from({ length: l.bbox.width * l.bbox.height }, (_, j) => l.rgba.data[j * 4 + 3]!),
  },
  back: built.sourceIndex[k] === 0,
}));
let verts = 0;
// As the pipeline meshes (build-layers.ts): smoothed depth (into one reused buffer), the pipeline's mesh
// options; the timing includes the smoothing pass.
let meshScratch = new Float32Array(0);
await time('mesh all layers (buildLayerMesh)', () => {
  verts = 0;
  for (const { crop, back } of crops) {
    const options = pipelineMeshOptions(back);
    if (meshScratch.length < crop.width * crop.height) meshScratch = new Float32Array(crop.width * crop.height);
    const depth = back ? crop.depth : smoothForMesh(crop.depth, crop.alpha, crop.width, crop.height, options.jumpRatio!, meshScratch);
    verts += buildLayerMesh({ ...crop, depth }, intrinsics, options).positions.length / 3;
  }
}, { targetMs: 100 });
rows[rows.length - 1]!.note = `${nLayers} layers, ${verts} vertices`;

// Whole pipeline (no separate warm-up: every stage's code has run above already).
const perStage = new Map<string, number[]>();
let last!: Awaited<ReturnType<typeof decompose>>;
const tTotal: number[] = [];
for (let r = 0; r < RUNS; r++) {
  const t0 = performance.now();
  last = await decompose(decomposeInput);
  tTotal.push(performance.now() - t0);
  for (const t of last.stats.timings) perStage.set(t.stage, [...(perStage.get(t.stage) ?? []), t.ms]);
}
record('decompose() total', tTotal, { note: `${last.layers.length} layers, ${last.stats.vertexCount} vertices, ${last.stats.solverIterations} harmonize iterations` });
for (const [stage, ms] of perStage) {
  const target = stage === 'harmonize' ? 400 : stage === 'mesh' && last.layers.length <= 12 ? 100 : undefined;
  record(`  decompose stage '${stage}'`, ms, { targetMs: target });
}

// ---------------------------------------------------------------------------------------------------------
// Report

const pad = (s: string, n: number): string => (s.length >= n ? s : s + ' '.repeat(n - s.length));
const lpad = (s: string, n: number): string => (s.length >= n ? s : ' '.repeat(n - s.length) + s);
console.log('');
console.log(`${pad('stage', 36)} ${lpad('median ms', 10)} ${lpad('min ms', 9)} ${lpad('runs', 5)}  ${pad('target', 12)} note`);
for (const r of rows) {
  const target = r.targetMs === undefined ? '' : `≤ ${r.targetMs} ${r.medianMs <= r.targetMs ? 'ok' : 'MISSED'}`;
  console.log(`${pad(r.stage, 36)} ${lpad(r.medianMs.toFixed(1), 10)} ${lpad(r.minMs.toFixed(1), 9)} ${lpad(String(r.runs), 5)}  ${pad(target, 12)} ${r.note ?? ''}`);
}
console.log(`\nper-layer inpainting (one pass; layer 0 = back, fills every non-own pixel):`);
for (const b of breakdown) {
  console.log(`  ${b.note}: Telea ${b.teleaMs.toFixed(0)} ms, harmonic fill ${b.harmonicMs.toFixed(0)} ms (${b.iterations} fine PCG iterations)`);
}
const load = os.loadavg().map((x) => x.toFixed(2)).join(' ');
console.log(`\nload average ${load} on ${os.cpus().length} CPUs (${os.cpus()[0]?.model ?? 'unknown CPU'}), node ${process.version}; wall times include other processes' load`);

const outDir = join(HERE, 'results');
mkdirSync(outDir, { recursive: true });
const json = {
  date: new Date().toISOString(),
  machine: { cpus: os.cpus().length, model: os.cpus()[0]?.model, node: process.version, loadavg: os.loadavg() },
  input: { source: input.source, width: W, height: H, masks: resolved.count, seed: SEED },
  runs: RUNS,
  stages: rows,
  inpaintBreakdown: breakdown,
};
writeFileSync(join(outDir, 'core.json'), JSON.stringify(json, null, 2));
console.log(`written ${join(outDir, 'core.json')}`);
