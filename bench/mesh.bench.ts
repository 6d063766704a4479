/**
 * Benchmark of per-layer meshing: 12 synthetic layers of a 1920×1080 decomposition (a full-frame far
 * background, a hill band, a slanted ground plane and nine objects of various sizes with wiggly
 * silhouettes, curved depth and internal depth jumps). Times buildLayerMesh over all 12 layers and prints
 * the median (and min) of 10 runs after 2 warm-up runs, the process CPU time, per-layer times, vertex
 * and triangle counts. On a shared machine, wall time includes other processes' load (printed too);
 * process CPU time and the min are the steadier figures.
 *
 *   npx tsx bench/mesh.bench.ts            (MESH_BENCH_RUNS=30 for more runs)
 */
import os from 'node:os';
import type { Intrinsics, Rect } from '../src/core/types';
import { buildLayerMeshDetailed, type MeshCrop } from '../src/math/mesh';

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

const layers: MeshCrop[] = [
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

const area = layers.reduce((s, l) => s + l.width * l.height, 0);
console.log(`mesh.bench: 12 layers of a ${W}×${H} decomposition, ${(area / 1e6).toFixed(2)} Mpx of crops in total`);

const runs: number[] = [];
const cpuRuns: number[] = [];
let last: ReturnType<typeof buildLayerMeshDetailed>[] = [];
const perLayer: number[][] = layers.map(() => []);
const RUNS = Number(process.env.MESH_BENCH_RUNS ?? 10) + 2;
for (let r = 0; r < RUNS; r++) {
  const t0 = performance.now();
  const c0 = process.cpuUsage();
  const out = [];
  for (let i = 0; i < layers.length; i++) {
    const t = performance.now();
    out.push(buildLayerMeshDetailed(layers[i], K));
    if (r >= 2) perLayer[i].push(performance.now() - t);
  }
  const ms = performance.now() - t0;
  const cpu = process.cpuUsage(c0);
  if (r >= 2) {
    runs.push(ms);
    cpuRuns.push((cpu.user + cpu.system) / 1000);
  }
  last = out;
}
const median = (a: number[]): number => {
  const s = [...a].sort((x, y) => x - y);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
let nV = 0;
let nT = 0;
console.log('layer  crop        vertices  triangles  full-density  ms(median)  ms(min)  step  tolScale');
last.forEach((res, i) => {
  const v = res.mesh.positions.length / 3;
  const t = res.mesh.indices.length / 3;
  nV += v;
  nT += t;
  const l = layers[i];
  console.log(
    `${String(i).padStart(5)}  ${`${l.width}×${l.height}`.padEnd(10)}  ${String(v).padStart(8)}  ${String(t).padStart(9)}  ${String((l.width + 1) * (l.height + 1)).padStart(12)}  ${median(perLayer[i]).toFixed(2).padStart(10)}  ${Math.min(...perLayer[i]).toFixed(2).padStart(7)}  ${String(res.gridStep).padStart(4)}  ${res.toleranceScale}`,
  );
});
console.log(`total: ${nV} vertices, ${nT} triangles`);
console.log(`all 12 layers: median ${median(runs).toFixed(1)} ms wall over ${runs.length} runs (min ${Math.min(...runs).toFixed(1)}, max ${Math.max(...runs).toFixed(1)}); median ${median(cpuRuns).toFixed(1)} ms process CPU`);
console.log(`load average while running: ${os.loadavg().map((x) => x.toFixed(2)).join(' ')} on ${os.cpus().length} CPUs (other processes inflate wall time)`);
