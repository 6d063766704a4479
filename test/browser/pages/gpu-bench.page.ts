/**
 * Benchmark page of bench/gpu.bench.ts: the Stage 1 solve at full size, GPU (solveGridPCGGpu on a reused
 * GpuGridSolver) and CPU (solveGridPCG) side by side in the same page on the same system, plus the adapter's
 * copy bandwidth (copyBufferToBuffer of a large buffer), the memory traffic per PCG iteration against it,
 * and the Stage 3 harmonic fill (CPU vs GPU cascade) on large holes.
 *
 * Inputs come as raw files the Node side wrote under out/bench-gpu/ (photo RGBA8, raw depth f32, labels
 * i32), so the page does not need sharp or the data folder.
 */
import { expose } from './boot';
import { assembleHarmonizeSystem } from '../../../src/math/harmonize';
import { harmonicFill } from '../../../src/math/harmonic';
import { solveGridPCG } from '../../../src/math/solver';
import { GpuGridSolver, PCG_BYTES_PER_PIXEL_ITERATION, defaultWorkgroups, solveGridPCGGpu } from '../../../src/gpu/pcg';
import { harmonicFillGpu } from '../../../src/gpu/fill';
import { acquireGpuDevice, gpuBufferStats } from '../../../src/gpu/device';
import { BufferUsage, type GpuDevice } from '../../../src/gpu/webgpu';

/** The library's own device (acquireGpuDevice: the adapter's full buffer limits), as a user without one gets. */
let device: GpuDevice | null = null;

async function fetchBytes(url: string): Promise<ArrayBuffer> {
  const r = await fetch(url);
  if (!r.ok) throw new Error(`${url}: HTTP ${r.status}`);
  return r.arrayBuffer();
}

/** Copy bandwidth of `runs` big copyBufferToBuffer calls: (read + written bytes) / wall time of each, GB/s. */
async function copyBandwidth(dev: GpuDevice, bytes: number, runs: number): Promise<{ bytes: number; ratesGBs: number[] }> {
  const usage = BufferUsage.COPY_SRC | BufferUsage.COPY_DST | BufferUsage.STORAGE;
  const a = dev.createBuffer({ size: bytes, usage });
  const b = dev.createBuffer({ size: bytes, usage });
  const copy = async (): Promise<number> => {
    const t0 = performance.now();
    const e = dev.createCommandEncoder();
    e.copyBufferToBuffer(a, 0, b, 0, bytes);
    dev.queue.submit([e.finish()]);
    await dev.queue.onSubmittedWorkDone();
    return performance.now() - t0;
  };
  await copy(); // first touch allocates
  const rates: number[] = [];
  for (let k = 0; k < runs; k++) rates.push((2 * bytes) / ((await copy()) * 1e6));
  a.destroy();
  b.destroy();
  return { bytes, ratesGBs: rates };
}

interface BenchArgs {
  base: string;
  width: number;
  height: number;
  runs: number;
  /** Fixed iteration counts for the per-iteration cost: (T(long) − T(short)) / (long − short). */
  shortIterations: number;
  longIterations: number;
  copyBytes: number;
}

/** State shared by the phases (each phase is one page.evaluate, so none runs into the protocol timeout). */
let ctx: { args: BenchArgs; hs: ReturnType<typeof assembleHarmonizeSystem>; solver: GpuGridSolver; assembleMs: number } | undefined;

async function setup(args: BenchArgs) {
  const dev = device!;
  const { width: W, height: H } = args;
  const image = { width: W, height: H, data: new Uint8ClampedArray(await fetchBytes(`${args.base}/image.u8`)) };
  const depth = new Float32Array(await fetchBytes(`${args.base}/raw.f32`));
  const labels = new Int32Array(await fetchBytes(`${args.base}/labels.i32`));
  const tA = performance.now();
  const hs = assembleHarmonizeSystem({ width: W, height: H, depth, labels, image });
  const assembleMs = performance.now() - tA;
  ctx = { args, hs, solver: new GpuGridSolver(dev), assembleMs };
  const info: Partial<GPUAdapterInfo> & { isFallbackAdapter?: boolean } = dev.adapterInfo ?? {};
  return {
    adapter: { vendor: info.vendor ?? '', architecture: info.architecture ?? '', description: info.description ?? '', isFallbackAdapter: info.isFallbackAdapter ?? null },
    workgroups: defaultWorkgroups(dev),
    assembleMs,
  };
}

async function bandwidth() {
  return copyBandwidth(device!, ctx!.args.copyBytes, ctx!.args.runs + 2);
}

const lastX: { gpu?: Float32Array; cpu?: Float32Array } = {};

/**
 * One timed solve of the harmonize system: path 'gpu-cold' (solveGridPCGGpu, pipelines and buffers made in
 * the call), 'gpu' (the warm GpuGridSolver) or 'cpu' (solveGridPCG); with the harmonize tolerance, or with
 * `iterations` set, exactly that many iterations (tolerance 0, one read-back).
 */
async function solveOnce(a: { path: 'gpu-cold' | 'gpu' | 'cpu'; iterations?: number }) {
  const { hs, solver } = ctx!;
  const sys = hs.system;
  const opts = a.iterations === undefined
    ? { tolerance: hs.solveOptions.tolerance, maxIterations: hs.solveOptions.maxIterations }
    : { tolerance: 0, maxIterations: a.iterations, checkInterval: a.iterations };
  const t0 = performance.now();
  const r = a.path === 'cpu' ? solveGridPCG(sys, hs.start, opts)
    : a.path === 'gpu' ? await solver.solve(sys, hs.start, opts)
    : await solveGridPCGGpu(device!, sys, hs.start, opts);
  const ms = performance.now() - t0;
  if (a.iterations !== undefined && r.iterations !== a.iterations) throw new Error(`expected ${a.iterations} ${a.path} iterations, ran ${r.iterations}`);
  if (a.iterations === undefined) lastX[a.path === 'cpu' ? 'cpu' : 'gpu'] = r.x;
  return { ms, iterations: r.iterations, residual: r.residual, readbacks: 'readbacks' in r ? r.readbacks : 0, tolerance: opts.tolerance, maxIterations: opts.maxIterations };
}

/** Differences of two solutions: max per pixel |a − b| / |b|, and max |a − b| / max |b|. */
function diff(a: Float32Array, b: Float32Array): { perPixel: number; ofMax: number } {
  let m = 0, d = 0, s = 0;
  for (let i = 0; i < a.length; i++) {
    const e = Math.abs(a[i]! - b[i]!);
    m = Math.max(m, e / Math.abs(b[i]!));
    d = Math.max(d, e);
    s = Math.max(s, Math.abs(b[i]!));
  }
  return { perPixel: m, ofMax: d / s };
}

/**
 * GPU vs CPU solution of the last default-tolerance solves, and the GPU's own sensitivity to f32 summation
 * order: the same solve with 32 × 8-pixel tiles (other partial sums) against the default 16 × 16 tiles.
 */
async function compareLast() {
  const { hs } = ctx!;
  const other = new GpuGridSolver(device!, { x: 32, y: 1, rows: 8, reduce: 256 });
  const r = await other.solve(hs.system, hs.start, { tolerance: hs.solveOptions.tolerance, maxIterations: hs.solveOptions.maxIterations });
  other.dispose();
  return {
    gpuVsCpu: diff(lastX.gpu!, lastX.cpu!),
    gpuTileOrder: diff(r.x, lastX.gpu!),
    tileOrderIterations: r.iterations,
    bytesPerPixel: PCG_BYTES_PER_PIXEL_ITERATION,
    pixels: ctx!.args.width * ctx!.args.height,
  };
}

/** Stage 3 style fill at full size: known everywhere but three large discs (inverse domain, defaults). */
async function fillBench() {
  const { args, solver } = ctx!;
  const { width: W, height: H } = args;
  const N = W * H;
  const values = new Float32Array(N);
  const known = new Uint8Array(N).fill(1);
  const fill = new Uint8Array(N);
  for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) values[y * W + x] = 2 + 0.001 * x + 0.0005 * y + 0.1 * Math.sin(x / 50) * Math.cos(y / 70);
  for (const [cx, cy, rad] of [[0.3, 0.4, 0.12], [0.7, 0.6, 0.18], [0.5, 0.2, 0.06]] as const) {
    for (let y = 0; y < H; y++) {
      for (let x = 0; x < W; x++) {
        if (Math.hypot(x - cx * W, y - cy * H) < rad * H) {
          known[y * W + x] = 0;
          fill[y * W + x] = 1;
        }
      }
    }
  }
  const opts = { domain: 'inverse' as const, tolerance: 1e-4, maxIterations: 400 };
  // One timed run each (a cascade of ~5 levels is slow on a software adapter); the GPU run includes the
  // allocation of its levels' buffers.
  let t0 = performance.now();
  const g = await harmonicFillGpu(values, W, H, known, fill, { ...opts, device: solver });
  const gpuMs = performance.now() - t0;
  t0 = performance.now();
  const c = harmonicFill(values, W, H, known, fill, opts);
  const cpuMs = performance.now() - t0;
  let maxRelDiff = 0;
  for (let i = 0; i < N; i++) maxRelDiff = Math.max(maxRelDiff, Math.abs(g.values[i]! - c.values[i]!) / c.values[i]!);
  return { fillPixels: fill.reduce((a, v) => a + v, 0), gpu: { ms: gpuMs, iterations: g.iterations }, cpu: { ms: cpuMs, iterations: c.iterations }, maxRelDiff };
}

async function teardown() {
  ctx?.solver.dispose();
  ctx = undefined;
  return { liveBuffers: gpuBufferStats(device!).live };
}

expose(
  {
    async adapter() {
      return { available: !!device };
    },
    setup,
    bandwidth,
    solveOnce,
    compareLast,
    fillBench,
    teardown,
  },
  async () => {
    device = await acquireGpuDevice();
  },
);
