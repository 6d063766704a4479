/**
 * Browser page of bench/models.bench.ts: the shared per-stage model benchmark in Chromium, and the main
 * thread's longest stall while depth runs in the page versus in the Web Worker.
 */
import { expose } from './boot';
import { loadDepthModel } from '../../../src/models/da3';
import { createRuntime } from '../../../src/models/runtime';
import { ModelWorkerClient } from '../../../src/models/worker-client';
import { benchPhoto, runStageBench, type StageBenchOptions } from './models-bench-stages';

/** Runs `work` while a 2 ms timer records the longest gap between its ticks (main-thread stall). */
async function withStallMeter(work: () => Promise<void>): Promise<{ totalMs: number; maxStallMs: number }> {
  let last = performance.now();
  let maxGap = 0;
  const timer = setInterval(() => {
    const now = performance.now();
    maxGap = Math.max(maxGap, now - last);
    last = now;
  }, 2);
  const t0 = performance.now();
  await work();
  const totalMs = performance.now() - t0;
  clearInterval(timer);
  maxGap = Math.max(maxGap, performance.now() - last);
  return { totalMs, maxStallMs: maxGap };
}

expose({
  async bench(o: StageBenchOptions) {
    return runStageBench(o);
  },
  async adapter() {
    const a = await navigator.gpu?.requestAdapter();
    return a ? `${a.info.vendor} ${a.info.architecture}` : null;
  },
  /** DA3 depth of a W×H photo, `runs` times, in the page and in the worker (wasm EP in both). */
  async responsiveness(o: { workerUrl: string; width: number; height: number; runs: number; modelUrl: string; wasmPaths: string }) {
    const photo = benchPhoto(o.width, o.height);
    const abs = (p: string) => new URL(p, location.href).href;
    const rt = await createRuntime({ executionProviders: ['wasm'], wasmPaths: o.wasmPaths });
    const local = await loadDepthModel(rt, o.modelUrl, { cache: false });
    await local.estimate(photo);
    const page = await withStallMeter(async () => {
      for (let i = 0; i < o.runs; i++) await local.estimate(photo);
    });
    await rt.dispose();
    const client = await ModelWorkerClient.create(o.workerUrl, { executionProviders: ['wasm'], wasmPaths: abs(o.wasmPaths) });
    const remote = await client.loadDepthModel(abs(o.modelUrl), { cache: false });
    await remote.estimate(photo);
    const worker = await withStallMeter(async () => {
      for (let i = 0; i < o.runs; i++) await remote.estimate(photo);
    });
    client.terminate();
    return { page, worker };
  },
});
