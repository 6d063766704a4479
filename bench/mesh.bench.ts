/**
 * Benchmark of per-layer meshing, two cases (MESH_BENCH_CASE=synthetic|real|all, default all):
 *
 * - synthetic: 12 synthetic layers of a 1920×1080 decomposition (a full-frame far background, a hill band,
 *   a slanted ground plane and nine objects of various sizes with wiggly silhouettes, curved depth and
 *   internal depth jumps), default mesh options. Median (and min) of 10 runs after 2 warm-up runs.
 * - real: the layers the pipeline builds for ../shared/data/rgbd/kinect_emsanet (rgb.png + depth.pfm,
 *   stretched to 1920×1080 exactly as bench/core.bench.ts does: photo bilinear, depth nearest neighbour;
 *   synthetic raw depth and masks from scripts/eval/synth.ts with core.bench's seed 12345). decompose() runs
 *   once; its layers (bbox, alpha = rgba.data[4k+3], inpainted depth, with sensor noise) are then meshed
 *   with the pipeline's options (pipelineMeshOptions: depthTolerance, noiseFactor and jumpRatio, the back
 *   layer 0 never tearing), each but the back layer after smoothForMesh exactly as
 *   build-layers.ts does (into one reused buffer). The smoothing is timed with the meshing (the pipeline's
 *   mesh stage includes it) and also reported separately. Median of 5 runs after 1 warm-up. Falls back to
 *   the synthetic case, with a message, when the data folder is absent. MESH_BENCH_CACHE=<file> stores/reuses the layers
 *   (skips decompose on later runs; delete the file after changing the pipeline).
 *
 * Printed: per-layer times, vertex and triangle counts, grid step and tolerance scale, the total wall time
 * and process CPU time. On a shared machine, wall time includes other processes' load (printed too);
 * process CPU time and the min are the steadier figures.
 *
 *   npx tsx bench/mesh.bench.ts            (MESH_BENCH_RUNS=30 for more runs)
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import type { DecomposeInput, Intrinsics, Rect } from '../src/core/types';
import { decompose } from '../src/core/decompose';
import { PIPELINE_MESH_DEPTH_TOLERANCE, PIPELINE_MESH_JUMP_RATIO, PIPELINE_MESH_NOISE_FACTOR, pipelineMeshOptions, smoothForMesh } from '../src/core/build-layers';
import { buildLayerMeshDetailed, type MeshCrop, type MeshOptions } from '../src/math/mesh';
import { synthMasks, synthRawDepth } from '../scripts/eval/synth';
import { BENCH_SEED, KINECT_DIR, loadKinect1080 } from './inputs';

const W = 1920;
const H = 1080;
const K: Intrinsics = { fx: 1500, fy: 1500, cx: W / 2, cy: H / 2 };

function crop(bbox: Rect, fill: (u: number, v: number) => [depth: number, alpha: number]): MeshCrop {
  const n = bbox.width * bbox.height;
  const depth = new Float32Array(n);
  const alpha = new Uint8Array(n);
  for (let y = 0; y < bbox.height; y++) {
    for (let x = 0; x < bbox.width; x++) {
      const [d, a] = fill(bbox.x + x + 0.5, bbox.y + y + 0.5);
      if (a > 0) {
        depth[y * bbox.width + x] = d;
        alpha[y * bbox.width + x] = a;
      }
    }
  }
  return { bbox, width: bbox.width, height: bbox.height, depth, alpha };
}

/** An object: wiggly ellipse silhouette (1-px feather), dome-shaped depth, an optional nearer "limb". */
function blob(bbox: Rect, z: number, seed: number, limb: boolean): MeshCrop {
  const cx = bbox.x + bbox.width / 2;
  const cy = bbox.y + bbox.height / 2;
  const rx = bbox.width / 2 - 4;
  const ry = bbox.height / 2 - 4;
  return crop(bbox, (u, v) => {
    const dx = (u - cx) / rx;
    const dy = (v - cy) / ry;
    const th = Math.atan2(dy, dx);
    const r = Math.hypot(dx, dy);
    const edge = 0.9 + 0.05 * Math.sin(5 * th + seed) + 0.03 * Math.sin(13 * th + 2 * seed) + 0.01 * Math.sin(41 * th);
    if (r > edge) return [0, 0];
    const a = r > edge - 1 / Math.min(rx, ry) ? 128 : 255;
    let d = z * (1 - 0.08 * Math.sqrt(Math.max(0, 1 - (r / edge) ** 2)));
    // A limb in front of the body: a vertical band 12 % nearer (a depth jump on both sides).
    if (limb && Math.abs(dx - 0.3) < 0.12 && dy > -0.2) d *= 0.88;
    return [d, a];
  });
}

function syntheticLayers(): MeshCrop[] {
  return [
  // Background: full frame, far, gently varying (inpainted where nearer layers were).
  crop({ x: 0, y: 0, width: W, height: H }, (u, v) => [80 + 10 * Math.sin(u / 400) + 5 * Math.cos(v / 300), 255]),
  // Hills band: content below a ridge line, 30–40 m.
  crop({ x: 0, y: 250, width: W, height: 400 }, (u, v) => {
    const ridge = 300 + 40 * Math.sin(u / 170) + 15 * Math.sin(u / 37) + 3 * Math.sin(u / 5);
    return v < ridge ? [0, 0] : [30 + 10 * Math.sin(u / 500) - (v - 300) * 0.01, 255];
  }),
  // Ground plane seen from 1.6 m: Z = fy·h/(v − cy), rows 600..1080 (4–20 m).
  crop({ x: 0, y: 600, width: W, height: H - 600 }, (_u, v) => [(1500 * 1.6) / (v - 540), 255]),
  blob({ x: 100, y: 200, width: 900, height: 700 }, 12, 1, true),
  blob({ x: 1100, y: 150, width: 600, height: 800 }, 9, 2, true),
  blob({ x: 800, y: 500, width: 400, height: 400 }, 7, 3, false),
  blob({ x: 1500, y: 400, width: 300, height: 600 }, 6, 4, true),
  blob({ x: 300, y: 700, width: 1200, height: 300 }, 5, 5, false),
  blob({ x: 1000, y: 100, width: 200, height: 200 }, 4, 6, false),
  blob({ x: 50, y: 450, width: 700, height: 500 }, 3.5, 7, true),
  blob({ x: 1300, y: 650, width: 500, height: 350 }, 3, 8, false),
  blob({ x: 900, y: 600, width: 150, height: 400 }, 2.5, 9, true),
  ];
}


// ---------------------------------------------------------------------------------------------------------
// Real case: the pipeline's layers of kinect_emsanet.

const SEED = BENCH_SEED; // the same layers as bench/core.bench.ts

interface RealLayers {
  intrinsics: Intrinsics;
  crops: MeshCrop[];
}

/** Simple binary cache: JSON header line, then each crop's depth (f32) and alpha (u8) bytes. */
function saveCache(path: string, r: RealLayers): void {
  const header = JSON.stringify({ intrinsics: r.intrinsics, bboxes: r.crops.map((c) => c.bbox) });
  const parts: Buffer[] = [Buffer.from(`${header}\n`)];
  for (const c of r.crops) {
    parts.push(Buffer.from(c.depth.buffer, c.depth.byteOffset, c.depth.byteLength));
    parts.push(Buffer.from(c.alpha.buffer, c.alpha.byteOffset, c.alpha.byteLength));
  }
  writeFileSync(path, Buffer.concat(parts));
}

function loadCache(path: string): RealLayers {
  const buf = readFileSync(path);
  const nl = buf.indexOf(10);
  const { intrinsics, bboxes } = JSON.parse(buf.subarray(0, nl).toString()) as { intrinsics: Intrinsics; bboxes: Rect[] };
  let at = nl + 1;
  const crops = bboxes.map((bbox) => {
    const n = bbox.width * bbox.height;
    const depth = new Float32Array(buf.buffer.slice(buf.byteOffset + at, buf.byteOffset + at + 4 * n));
    at += 4 * n;
    const alpha = new Uint8Array(buf.buffer.slice(buf.byteOffset + at, buf.byteOffset + at + n));
    at += n;
    return { bbox, width: bbox.width, height: bbox.height, depth, alpha };
  });
  return { intrinsics, crops };
}

async function realLayers(): Promise<RealLayers | undefined> {
  const cache = process.env.MESH_BENCH_CACHE;
  if (cache && existsSync(cache)) {
    console.log(`real case: layers from cache ${cache}`);
    return loadCache(cache);
  }
  const real = await loadKinect1080();
  if (!real) return undefined;
  const { image, gt } = real;
  const input: DecomposeInput = {
    image,
    depth: synthRawDepth(gt, W, H, SEED),
    masks: { kind: 'labels', labels: synthMasks(gt, W, H, SEED) },
  };
  const t0 = performance.now();
  const res = await decompose(input);
  const meshMs = res.stats.timings.find((t) => t.stage === 'mesh')?.ms ?? NaN;
  console.log(`real case: decompose() took ${(performance.now() - t0).toFixed(0)} ms (its mesh stage ${meshMs.toFixed(0)} ms)`);
  const crops = res.layers.map((l) => {
    const n = l.bbox.width * l.bbox.height;
    const alpha = new Uint8Array(n);
    for (let k = 0; k < n; k++) alpha[k] = l.rgba.data[4 * k + 3]!;
    return { bbox: l.bbox, width: l.bbox.width, height: l.bbox.height, depth: l.depth, alpha };
  });
  const out = { intrinsics: res.intrinsics, crops };
  if (cache) saveCache(cache, out);
  return out;
}

// ---------------------------------------------------------------------------------------------------------
// Timing

const median = (a: number[]): number => {
  const s = [...a].sort((x, y) => x - y);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

/**
 * Times meshing all `layers` (`timed` runs after `warm`); with `smooth`, each layer's depth is first replaced
 * by smooth(layer, i) inside the timed region (the pipeline's mesh stage), and that part is also summed apart.
 */
function runCase(
  name: string,
  layers: MeshCrop[],
  K: Intrinsics,
  optionsOf: (i: number) => MeshOptions,
  timed: number,
  warm: number,
  smooth?: (crop: MeshCrop, i: number) => Float32Array,
): void {
  const area = layers.reduce((s, l) => s + l.width * l.height, 0);
  console.log(`\n[${name}] ${layers.length} layers, ${(area / 1e6).toFixed(2)} Mpx of crops in total`);
  const runs: number[] = [];
  const cpuRuns: number[] = [];
  const smoothRuns: number[] = [];
  let last: ReturnType<typeof buildLayerMeshDetailed>[] = [];
  const perLayer: number[][] = layers.map(() => []);
  for (let r = 0; r < timed + warm; r++) {
    const t0 = performance.now();
    const c0 = process.cpuUsage();
    const out = [];
    let smoothMs = 0;
    for (let i = 0; i < layers.length; i++) {
      const t = performance.now();
      const depth = smooth ? smooth(layers[i], i) : layers[i].depth;
      smoothMs += performance.now() - t;
      out.push(buildLayerMeshDetailed({ ...layers[i], depth }, K, optionsOf(i)));
      if (r >= warm) perLayer[i].push(performance.now() - t);
    }
    const ms = performance.now() - t0;
    const cpu = process.cpuUsage(c0);
    if (r >= warm) {
      runs.push(ms);
      cpuRuns.push((cpu.user + cpu.system) / 1000);
      smoothRuns.push(smoothMs);
    }
    last = out;
  }
  let nV = 0;
  let nT = 0;
  console.log('layer  bbox (x,y w×h)          vertices  triangles  full-density  ms(median)  ms(min)  step  tolScale  depthTol');
  last.forEach((res, i) => {
    const v = res.mesh.positions.length / 3;
    const t = res.mesh.indices.length / 3;
    nV += v;
    nT += t;
    const l = layers[i];
    const box = `${l.bbox.x},${l.bbox.y} ${l.width}×${l.height}`;
    console.log(
      `${String(i).padStart(5)}  ${box.padEnd(22)}  ${String(v).padStart(8)}  ${String(t).padStart(9)}  ${String((l.width + 1) * (l.height + 1)).padStart(12)}  ${median(perLayer[i]).toFixed(2).padStart(10)}  ${Math.min(...perLayer[i]).toFixed(2).padStart(7)}  ${String(res.gridStep).padStart(4)}  ${String(res.toleranceScale).padStart(8)}  ${res.depthTolerance.toFixed(4)}`,
    );
  });
  console.log(`total: ${nV} vertices, ${nT} triangles`);
  console.log(
    `all ${layers.length} layers${smooth ? ' (smoothing + meshing)' : ''}: median ${median(runs).toFixed(1)} ms wall over ${runs.length} runs (min ${Math.min(...runs).toFixed(1)}, max ${Math.max(...runs).toFixed(1)}); median ${median(cpuRuns).toFixed(1)} ms process CPU`,
  );
  if (smooth) {
    const mesher = runs.map((t, k) => t - smoothRuns[k]);
    console.log(`  of which smoothForMesh: median ${median(smoothRuns).toFixed(1)} ms; the mesher alone: median ${median(mesher).toFixed(1)} ms (min ${Math.min(...mesher).toFixed(1)})`);
  }
}

const which = process.env.MESH_BENCH_CASE ?? 'all';
const extra = process.env.MESH_BENCH_RUNS;
if (which === 'all' || which === 'synthetic') {
  runCase('synthetic, default options', syntheticLayers(), K, () => ({}), Number(extra ?? 10), 2);
}
if (which === 'all' || which === 'real') {
  const real = await realLayers();
  if (real) {
    const opts = (i: number): MeshOptions => pipelineMeshOptions(i === 0);
    // The pipeline meshes a noise-smoothed copy of each layer's depth but the back layer's (smoothForMesh, into
    // one buffer reused across layers); do the same here, inside the timed region (the pipeline's mesh stage).
    let scratch = new Float32Array(0);
    const smooth = (c: MeshCrop, i: number): Float32Array => {
      if (i === 0) return c.depth;
      if (scratch.length < c.width * c.height) scratch = new Float32Array(c.width * c.height);
      return smoothForMesh(c.depth, c.alpha, c.width, c.height, PIPELINE_MESH_JUMP_RATIO, scratch);
    };
    runCase(`real: kinect_emsanet pipeline layers, depthTolerance ${PIPELINE_MESH_DEPTH_TOLERANCE}, noiseFactor ${PIPELINE_MESH_NOISE_FACTOR}, others jumpRatio ${PIPELINE_MESH_JUMP_RATIO}, back layer jumpRatio MAX_VALUE`, real.crops, real.intrinsics, opts, Number(extra ?? 5), 1, smooth);
  } else {
    console.log(`\nreal case: ${KINECT_DIR} is absent; running the synthetic case instead`);
    if (which === 'real') runCase('synthetic, default options (fallback)', syntheticLayers(), K, () => ({}), Number(extra ?? 10), 2);
  }
}
console.log(`\nload average while running: ${os.loadavg().map((x) => x.toFixed(2)).join(' ')} on ${os.cpus().length} CPUs (other processes inflate wall time)`);
