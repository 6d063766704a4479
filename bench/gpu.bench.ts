/**
 * GPU benchmark of the Stage 1 solve (and the Stage 3 fill) at 1920×1080, GPU and CPU side by side in the
 * same Chromium page on the same adapter.
 *
 *   npm run bench:gpu          (= tsx bench/gpu.bench.ts; GPU_BENCH_RUNS=N timed runs per figure, default 3)
 *
 * Input: the 1920×1080 scene of bench/inputs.ts (../shared/data/rgbd/kinect_emsanet stretched; synthetic
 * scene of test/fixtures/scene.ts when the data is absent) with metrics.md §1's raw depth and masks
 * (BENCH_SEED, as bench/core.bench.ts). The Node side writes photo, raw depth and labels to out/bench-gpu/,
 * the page (test/browser/pages/gpu-bench.page.ts) fetches them, runs assembleHarmonizeSystem, then times:
 * - the adapter's copy bandwidth: copyBufferToBuffer of a 256 MiB buffer, (read + written bytes) / wall time;
 * - the harmonize solve with its defaults (tolerance 1e-2): GPU (warm GpuGridSolver; and the cold first call,
 *   pipelines and buffers included) and CPU (solveGridPCG), median of N runs, iterations;
 * - the cost of one iteration on each path: (T(long) − T(short)) / (long − short) with fixed iteration
 *   counts (tolerance 0), which cancels set-up, upload and read-back; and the GPU's memory traffic per
 *   iteration (PCG_BYTES_PER_PIXEL_ITERATION · N) over that time against the copy bandwidth;
 * - harmonicFill vs harmonicFillGpu (inverse domain, defaults) on three large holes, one run each.
 * On SwiftShader (a CPU rasteriser) the GPU figures only prove that it runs; the ratio to the copy bandwidth
 * is the meaningful number on any adapter. Results also go to bench/results/gpu.json (git-ignored).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { synthMasks, synthRawDepth } from '../scripts/eval/synth';
import { makeScene } from '../test/fixtures/scene';
import { REPO_ROOT, hasChromium, openPage, startHarness, CHROME_PATH } from '../test/browser/harness';
import { BENCH_H, BENCH_SEED, BENCH_W, KINECT_DIR, loadKinect1080 } from './inputs';

const HERE = dirname(fileURLToPath(import.meta.url));
const RUNS = Math.max(1, Number(process.env.GPU_BENCH_RUNS ?? 3));

async function main(): Promise<void> {
  if (!hasChromium) {
    console.log(`bench:gpu: no Chromium at ${CHROME_PATH} (set CHROME_PATH); nothing to measure`);
    return;
  }
  const W = BENCH_W;
  const H = BENCH_H;
  const real = await loadKinect1080();
  const input = real ?? (() => {
    const s = makeScene({ width: W, height: H });
    return { source: `SYNTHETIC scene (test/fixtures/scene.ts): ${KINECT_DIR} is absent`, image: s.image, gt: s.depth };
  })();
  const raw = synthRawDepth(input.gt, W, H, BENCH_SEED);
  const masks = synthMasks(input.gt, W, H, BENCH_SEED);
  const dir = join(REPO_ROOT, 'out', 'bench-gpu');
  mkdirSync(dir, { recursive: true });
  const bytes = (a: ArrayBufferView): Uint8Array => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
  writeFileSync(join(dir, 'image.u8'), bytes(input.image.data));
  writeFileSync(join(dir, 'raw.f32'), bytes(raw));
  writeFileSync(join(dir, 'labels.i32'), bytes(masks));

  const h = await startHarness();
  try {
    const { page, errors, logs } = await openPage(h, 'test/browser/pages/gpu-bench.page.ts');
    const avail = (await page.evaluate('window.diorama.adapter()')) as { available: boolean };
    if (!avail.available) {
      console.log('bench:gpu: this Chromium offers no WebGPU adapter; nothing to measure');
      return;
    }
    const args = { base: '/out/bench-gpu', width: W, height: H, runs: RUNS, shortIterations: 2, longIterations: 22, copyBytes: 256 * 1024 * 1024 };
    const phase = async <T>(name: string, arg: unknown = {}): Promise<T> => {
      const t0 = performance.now();
      const v = (await page.evaluate((n, a) => window.diorama[n]!(a), name, arg as never)) as T;
      console.error(`  [${name} ${name === 'setup' ? '' : JSON.stringify(arg)}: ${((performance.now() - t0) / 1000).toFixed(1)} s]`);
      return v;
    };
    const f = (v: number, d = 1): string => v.toFixed(d);
    const setup = await phase<any>('setup', args);
    console.log(`bench:gpu — ${W}×${H}, input: ${input.source}`);
    console.log(`adapter: ${setup.adapter.vendor} / ${setup.adapter.architecture}${setup.adapter.isFallbackAdapter ? ' (fallback adapter)' : ''}; workgroups ${setup.workgroups.x}×${setup.workgroups.y} × ${setup.workgroups.rows} rows, reduce ${setup.workgroups.reduce}; runs ${RUNS} (medians)`);
    console.log(`assembleHarmonizeSystem (CPU, in page): ${f(setup.assembleMs)} ms`);
    const median = (a: number[]): number => {
      const s = a.slice().sort((x, y) => x - y);
      return s.length % 2 ? s[(s.length - 1) >> 1]! : 0.5 * (s[s.length / 2 - 1]! + s[s.length / 2]!);
    };
    const copy = await phase<{ bytes: number; ratesGBs: number[] }>('bandwidth');
    const bw = { ...copy, medianGBs: median(copy.ratesGBs), maxGBs: Math.max(...copy.ratesGBs) };
    console.log(`copy bandwidth (copyBufferToBuffer ${bw.bytes / 2 ** 20} MiB, read+write): ${f(bw.medianGBs, 2)} GB/s median, ${f(bw.maxGBs, 2)} max`);
    type Solve = { ms: number; iterations: number; residual: number; readbacks: number; tolerance: number; maxIterations: number };
    const cold = await phase<Solve>('solveOnce', { path: 'gpu-cold' });
    await phase<Solve>('solveOnce', { path: 'gpu' }); // warm the solver's buffers
    const gpuRuns: Solve[] = [];
    const cpuRuns: Solve[] = [];
    for (let k = 0; k < RUNS; k++) {
      gpuRuns.push(await phase<Solve>('solveOnce', { path: 'gpu' }));
      cpuRuns.push(await phase<Solve>('solveOnce', { path: 'cpu' }));
    }
    type Diff = { perPixel: number; ofMax: number };
    const cmp = await phase<{ gpuVsCpu: Diff; gpuTileOrder: Diff; tileOrderIterations: number; bytesPerPixel: number; pixels: number }>('compareLast');
    const g0 = gpuRuns[0]!;
    const c0 = cpuRuns[0]!;
    const hz = {
      tolerance: g0.tolerance,
      maxIterations: g0.maxIterations,
      gpu: { medianMs: median(gpuRuns.map((r) => r.ms)), minMs: Math.min(...gpuRuns.map((r) => r.ms)), iterations: g0.iterations, residual: g0.residual, readbacks: g0.readbacks, coldMs: cold.ms, coldIterations: cold.iterations },
      cpu: { medianMs: median(cpuRuns.map((r) => r.ms)), minMs: Math.min(...cpuRuns.map((r) => r.ms)), iterations: c0.iterations, residual: c0.residual },
      solutionDiff: cmp.gpuVsCpu,
      gpuSummationOrderDiff: cmp.gpuTileOrder,
    };
    console.log('');
    console.log(`| harmonize solve (tol ${hz.tolerance}, cap ${hz.maxIterations}) | iterations | total ms (median) | min ms |`);
    console.log('|---|---|---|---|');
    console.log(`| GPU (warm GpuGridSolver, ${hz.gpu.readbacks} read-backs) | ${hz.gpu.iterations} | ${f(hz.gpu.medianMs)} | ${f(hz.gpu.minMs)} |`);
    console.log(`| GPU (cold first call: pipelines, buffers) | ${hz.gpu.coldIterations} | ${f(hz.gpu.coldMs)} | |`);
    console.log(`| CPU solveGridPCG | ${hz.cpu.iterations} | ${f(hz.cpu.medianMs)} | ${f(hz.cpu.minMs)} |`);
    const e = (d: Diff): string => `${d.perPixel.toExponential(2)} per pixel, ${d.ofMax.toExponential(2)} of max|x|`;
    console.log(`solution difference GPU vs CPU: ${e(cmp.gpuVsCpu)}; GPU 16×16 vs 32×8 tiles (f32 summation order only, ${cmp.tileOrderIterations} its): ${e(cmp.gpuTileOrder)}`);
    console.log('');
    const perIt = async (path: 'gpu' | 'cpu') => {
      const short: number[] = [], long: number[] = [];
      for (let k = 0; k < RUNS; k++) {
        short.push((await phase<Solve>('solveOnce', { path, iterations: args.shortIterations })).ms);
        long.push((await phase<Solve>('solveOnce', { path, iterations: args.longIterations })).ms);
      }
      return { ms: (median(long) - median(short)) / (args.longIterations - args.shortIterations), short, long };
    };
    const pg = await perIt('gpu');
    const pc = await perIt('cpu');
    const bytesPerIteration = cmp.bytesPerPixel * cmp.pixels;
    const gpuGBs = bytesPerIteration / (pg.ms * 1e6);
    const frac = gpuGBs / bw.medianGBs;
    console.log(`per iteration ((T(${args.longIterations}) − T(${args.shortIterations})) / ${args.longIterations - args.shortIterations}, medians): GPU ${f(pg.ms, 2)} ms, CPU ${f(pc.ms, 2)} ms`);
    console.log(`GPU traffic per iteration: ${f(cmp.bytesPerPixel, 1)} B/px × ${cmp.pixels} px = ${f(bytesPerIteration / 1e6, 1)} MB → ${f(gpuGBs, 2)} GB/s = ${f(100 * frac, 1)} % of the measured copy bandwidth`);
    const fill = await phase<any>('fillBench');
    console.log(`harmonic fill (${fill.fillPixels} px in 3 holes, inverse, tol 1e-4; one run each): GPU ${f(fill.gpu.ms)} ms (${fill.gpu.iterations} fine its), CPU ${f(fill.cpu.ms)} ms (${fill.cpu.iterations} fine its), max rel diff ${fill.maxRelDiff.toExponential(1)}`);
    const td = await phase<any>('teardown');
    console.log(`GPU buffers left by the driver after dispose: ${td.liveBuffers}`);
    if (errors.length) console.log(`page errors:\n${errors.join('\n')}`);
    const r = { ...setup, copyBandwidth: bw, harmonizeSolve: hz, perIteration: { gpu: pg, cpu: pc, bytesPerIteration, bytesPerPixel: cmp.bytesPerPixel, gpuEffectiveGBs: gpuGBs, fractionOfCopyBandwidth: frac }, harmonicFill: fill, liveBuffersAfter: td.liveBuffers };
    const outDir = join(HERE, 'results');
    mkdirSync(outDir, { recursive: true });
    writeFileSync(
      join(outDir, 'gpu.json'),
      JSON.stringify({ date: new Date().toISOString(), machine: { cpus: os.cpus().length, loadavg: os.loadavg() }, input: input.source, runs: RUNS, ...r, pageLogs: logs.slice(-20) }, null, 2),
    );
  } finally {
    await h.close();
  }
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
