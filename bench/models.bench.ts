/**
 * Per-stage model benchmark at a 1920×1080 photo with the generated tiny models (test/fixtures/make-models.ts):
 * our pre/post-processing time beside the model run time, for DA3, DA2 and SAM3 (automatic), on
 *   - Node, wasm EP (this process), and
 *   - Chromium (headless, SwiftShader): wasm EP and webgpu EP;
 * plus the main thread's longest stall while DA3 runs in the page vs in the Web Worker (worker.ts).
 *
 *   npx tsx bench/models.bench.ts            (MODELS_BENCH_RUNS=N, default 5; MODELS_BENCH_SAM_RUNS, default 2;
 *                                             MODELS_BENCH_POINTS=n SAM3 grid points per side, default 16)
 *
 * What the numbers mean: the tiny models compute almost nothing, so "model" is the runtime's fixed cost
 * (tensor upload/download, kernel dispatch) at these tensor sizes, not a real network's time. The figure of
 * interest is our own pre/post-processing in ms, to be compared with a real model's run time (models.md:
 * DA3-Small ≈ 507 ms at 504² on an M4 CPU; DA2-S ≈ 13 ms at 518² on an RTX 4080). SwiftShader WebGPU is a
 * CPU emulation: its times say nothing about a real GPU. The machine is shared (2 cores): medians of N runs.
 * Results also go to bench/results/models.json (git-ignored).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { MODELS_DIR, writeModels } from '../test/fixtures/make-models';
import { bundleEntry, hasChromium, openPage, startHarness } from '../test/browser/harness';
import { runStageBench, type StageBenchOptions, type StageTimes } from '../test/browser/pages/models-bench-stages';

const HERE = dirname(fileURLToPath(import.meta.url));
const RUNS = Math.max(1, Number(process.env.MODELS_BENCH_RUNS ?? 5));
const SAM_RUNS = Math.max(1, Number(process.env.MODELS_BENCH_SAM_RUNS ?? 2));
const POINTS = Math.max(1, Number(process.env.MODELS_BENCH_POINTS ?? 16));
const W = 1920;
const H = 1080;

function table(title: string, rows: StageTimes[]): string {
  const lines = [`\n${title}`, '| stage | EP | ours pre (ms) | model (ms) | ours post (ms) | ours / stage | note |', '|---|---|---:|---:|---:|---:|---|'];
  for (const r of rows) {
    lines.push(`| ${r.stage} | ${r.provider} | ${r.preMs.toFixed(1)} | ${r.modelMs.toFixed(1)} | ${r.postMs.toFixed(1)} | ${(100 * r.oursFraction).toFixed(0)} % | ${r.note ?? ''} |`);
  }
  return lines.join('\n');
}

async function main(): Promise<void> {
  await writeModels();
  const base: Omit<StageBenchOptions, 'ep' | 'modelBase'> = { runs: RUNS, samRuns: SAM_RUNS, width: W, height: H, pointsPerSide: POINTS };
  const results: Record<string, unknown> = {};
  console.log(`models benchmark: ${W}x${H} photo, ${RUNS} runs (SAM3: ${SAM_RUNS} runs, ${POINTS}² points), medians`);

  const nodeRows = await runStageBench({ ...base, ep: 'wasm', modelBase: MODELS_DIR + '/' });
  results['node/wasm'] = nodeRows;
  console.log(table('Node 20, onnxruntime-web wasm EP', nodeRows));

  if (hasChromium) {
    const h = await startHarness();
    try {
      const { page } = await openPage(h, 'test/browser/pages/models-bench.page.ts');
      const adapter = (await page.evaluate('window.diorama.adapter()')) as string | null;
      // Main-thread stalls: DA3 depth in the page vs in the Web Worker (wasm EP in both).
      const workerUrl = await bundleEntry('src/models/worker.ts');
      const resp = (await page.evaluate(
        (a) => window.diorama.responsiveness!(a),
        { workerUrl, width: W, height: H, runs: RUNS, modelUrl: '/out/models/da3-tiny.onnx', wasmPaths: '/node_modules/onnxruntime-web/dist/' } as never,
      )) as { page: { totalMs: number; maxStallMs: number }; worker: { totalMs: number; maxStallMs: number } };
      results['chromium/responsiveness'] = resp;
      console.log(`\nChromium, DA3 depth ×${RUNS} at ${W}x${H} (wasm): longest main-thread stall ${resp.page.maxStallMs.toFixed(0)} ms in the page ` +
        `(total ${resp.page.totalMs.toFixed(0)} ms) vs ${resp.worker.maxStallMs.toFixed(0)} ms with the Web Worker (total ${resp.worker.totalMs.toFixed(0)} ms)`);
      for (const ep of ['wasm', 'webgpu'] as const) {
        if (ep === 'webgpu' && !adapter) {
          console.log('\nChromium: no WebGPU adapter, webgpu skipped');
          continue;
        }
        const o: StageBenchOptions = { ...base, ep, modelBase: '/out/models/', wasmPaths: '/node_modules/onnxruntime-web/dist/' };
        const rows = (await page.evaluate((a) => window.diorama.bench!(a), o as never)) as StageTimes[];
        results[`chromium/${ep}`] = rows;
        console.log(table(`Chromium (headless${ep === 'webgpu' ? `, ${adapter}` : ''}), ${ep} EP`, rows));
      }
    } finally {
      await h.close();
    }
  } else {
    console.log('\nChromium not found: browser rows skipped');
  }
  const dir = join(HERE, 'results');
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'models.json'), JSON.stringify({ width: W, height: H, runs: RUNS, samRuns: SAM_RUNS, pointsPerSide: POINTS, date: new Date().toISOString(), results }, null, 1));
}

main().catch((e) => {
  console.error(e);
  process.exitCode = 1;
});
