/**
 * Depth-edge evaluation (docs/metrics.md §1) and layer count / stability (§3) on every scene of a data
 * folder laid out like ../shared/data (stereo/*, rgbd/*).
 *
 *   npm run eval -- <data-dir> [--json FILE] [--scenes a,b] [--no-peers] [--no-layers] [--layer-runs N]
 *
 * Per scene: GT depth D* (rgbd: metres; stereo: W / disparity), raw depth D̃ = synthRawDepth(D*, seed) and
 * masks = synthMasks(D*, seed + 1) with seed = hashSeed(scene name) (scripts/eval/synth.ts). Methods:
 * - raw:        D̃ itself;
 * - harmonized: harmonize({ depth: D̃, labels: masks, image }) (src/math/harmonize.ts), plus its iterations,
 *               and, through decompose(…, { stopAfter: 'layers' }), the layer count and its std-dev over
 *               re-runs with the depth noise re-drawn and the masks re-jittered (new seeds);
 * - fbs/jbf/gf: OpenCV peers (scripts/eval/depth_peers.py, one /usr/bin/python3 process for all scenes, run
 *               in parallel with the TypeScript work), fed D̃ with unknown pixels filled from the nearest
 *               known one and guided by the RGB. Each peer tries a small grid of settings, each in the depth
 *               and the inverse-depth domain; the one setting per peer with the best mean covered-edge
 *               AbsRel over all scenes is reported (and printed).
 * Prints a table per metric (a row per scene, then mean and median), the acceptance checks, and with
 * --json the report of metrics.md.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { decompose } from '../src/core/decompose';
import type { DecomposeInput } from '../src/core/types';
import { harmonize } from '../src/math/harmonize';
import { type DepthMetrics, evaluateDepth, fillFromNearest, isValidDepth } from './eval/depth-metrics';
import { type Check, type MethodMetrics, buildReport, formatChecks, formatMetricTable, writeReport } from './eval/report';
import { type EvalScene, discoverScenes, loadScene } from './eval/scenes';
import { applyDepthNoise, hashSeed, jitterLabels, networkInputs, type NetworkInputs } from './eval/synth';
import { parseDataDirArgs, splitList } from './eval/cli';

const HERE = dirname(fileURLToPath(import.meta.url));
const PYTHON = '/usr/bin/python3';
const PEER_SCRIPT = join(HERE, 'eval', 'depth_peers.py');

const METHODS = ['raw', 'harmonized', 'fbs', 'jbf', 'gf'] as const;
const PEERS = ['fbs', 'jbf', 'gf'] as const;
type Peer = (typeof PEERS)[number];
const METRICS = ['absrel', 'absrelEdge', 'absrelEdgeCovered', 'absrelEdgeUncovered', 'boundaryF1', 'dbeAccuracy', 'dbeCompleteness', 'ms'] as const;
const HARMONIZED_EXTRA = ['layers', 'layersStd', 'iterations'] as const;

// ---------------------------------------------------------------------------------------------------------
// Peer settings grid: 4 parameter sets × {depth, inverse depth} per peer.

interface PeerSetting {
  id: string;
  peer: Peer;
  domain: 'depth' | 'inverse';
  params: Record<string, number>;
}

function peerGrid(): PeerSetting[] {
  // Chosen from a wider sweep on 7 of the scenes (inverse depth; fbs σs ∈ {4,8,16} × σl ∈ {4,8} × λ ∈ {8,32,128},
  // jbf d ∈ {9,15,21,31,41} × σc ∈ {5,10,20}, gf r ∈ {1,2,4,8} × eps ∈ {1e-5…1e-1}): the 4 best of each,
  // all of which beat their depth-domain twins there.
  const base: { peer: Peer; params: Record<string, number> }[] = [
    // fastBilateralSolverFilter(guide, src, conf, sigma_spatial, sigma_luma, sigma_chroma, lambda)
    { peer: 'fbs', params: { sigmaSpatial: 8, sigmaLuma: 4, sigmaChroma: 4, lambda: 32 } },
    { peer: 'fbs', params: { sigmaSpatial: 8, sigmaLuma: 4, sigmaChroma: 4, lambda: 8 } },
    { peer: 'fbs', params: { sigmaSpatial: 4, sigmaLuma: 4, sigmaChroma: 4, lambda: 128 } },
    { peer: 'fbs', params: { sigmaSpatial: 16, sigmaLuma: 4, sigmaChroma: 4, lambda: 8 } },
    // jointBilateralFilter(guide 0..255, src, d, sigmaColor, sigmaSpace)
    { peer: 'jbf', params: { d: 15, sigmaColor: 10, sigmaSpace: 5 } },
    { peer: 'jbf', params: { d: 21, sigmaColor: 5, sigmaSpace: 7 } },
    { peer: 'jbf', params: { d: 21, sigmaColor: 10, sigmaSpace: 7 } },
    { peer: 'jbf', params: { d: 31, sigmaColor: 5, sigmaSpace: 10 } },
    // guidedFilter(guide 0..1, src, radius, eps)
    { peer: 'gf', params: { radius: 1, eps: 1e-2 } },
    { peer: 'gf', params: { radius: 1, eps: 1e-3 } },
    { peer: 'gf', params: { radius: 2, eps: 1e-2 } },
    { peer: 'gf', params: { radius: 2, eps: 1e-1 } },
  ];
  const out: PeerSetting[] = [];
  const count: Record<string, number> = {};
  for (const domain of ['depth', 'inverse'] as const) {
    for (const b of base) {
      const k = (count[b.peer] = (count[b.peer] ?? 0) + 1) - 1;
      out.push({ id: `${b.peer}-${k}`, peer: b.peer, domain, params: b.params });
    }
  }
  return out;
}

function describeSetting(s: PeerSetting): string {
  return `${s.domain === 'inverse' ? 'inverse depth' : 'depth'}, ${Object.entries(s.params).map(([k, v]) => `${k}=${v}`).join(' ')}`;
}

// ---------------------------------------------------------------------------------------------------------
// Command line

interface Args {
  dataDir: string;
  json?: string;
  scenes?: string[];
  peers: boolean;
  layers: boolean;
  layerRuns: number;
}

function usage(msg?: string): never {
  if (msg) console.error(`eval-depth: ${msg}`);
  console.error('usage: npm run eval -- <data-dir> [--json FILE] [--scenes a,b] [--no-peers] [--no-layers] [--layer-runs N]');
  process.exit(2);
}

function parseArgs(argv: string[]): Args {
  const a: Args = { dataDir: '', peers: true, layers: true, layerRuns: 10 };
  a.dataDir = parseDataDirArgs(argv, usage, (t, value) => {
    if (t === '--json') a.json = value();
    else if (t === '--scenes') a.scenes = splitList(value());
    else if (t === '--no-peers') a.peers = false;
    else if (t === '--no-layers') a.layers = false;
    else if (t === '--layer-runs') {
      a.layerRuns = Number(value());
      if (!Number.isInteger(a.layerRuns) || a.layerRuns < 2) usage('--layer-runs must be an integer ≥ 2');
    } else return false;
    return true;
  });
  return a;
}

// ---------------------------------------------------------------------------------------------------------
// Per-scene inputs

/** A scene with its §1 inputs (synth.ts networkInputs: D̃ and masks, plus what the layer re-runs reuse). */
interface Prepared extends NetworkInputs {
  scene: EvalScene;
}

function prepare(scene: EvalScene): Prepared {
  return { scene, ...networkInputs(scene.depth, scene.width, scene.height, scene.name) };
}

// ---------------------------------------------------------------------------------------------------------
// §3: layer count and its stability

/**
 * §3 for one scene: the layer count of decompose(…, { stopAfter: 'layers' }) on (D̃, masks, RGB,
 * intrinsics), and the population standard deviation (÷ N) of the count over `runs` re-runs, each with the
 * 2 % depth noise re-drawn and the masks re-jittered (same displacement-field spread) from new seeds.
 */
async function layerStats(p: Prepared, runs: number): Promise<{ layers: number; layersStd: number }> {
  const { scene } = p;
  const { width: w, height: h, name } = scene;
  const count = async (depth: Float32Array, labels: Int32Array): Promise<number> => {
    const input: DecomposeInput = { image: scene.image, depth, masks: { kind: 'labels', labels } };
    if (scene.intrinsics) input.intrinsics = scene.intrinsics;
    const d = await decompose(input, { stopAfter: 'layers' });
    // With stopAfter 'layers' the layers are assigned but not built: the count is in the stats.
    return d.layers.length > 0 ? d.layers.length : d.stats.layerCount;
  };
  const layers = await count(p.raw, p.masks);
  const counts: number[] = [];
  for (let k = 1; k <= runs; k++) {
    const depth = applyDepthNoise(p.blurred, hashSeed(`${name}/rerun${k}/depth`));
    const labels = jitterLabels(p.regions, w, h, hashSeed(`${name}/rerun${k}/masks`));
    counts.push(await count(depth, labels));
  }
  const mean = counts.reduce((a, b) => a + b, 0) / counts.length;
  const variance = counts.reduce((a, b) => a + (b - mean) * (b - mean), 0) / counts.length;
  return { layers, layersStd: Math.sqrt(variance) };
}

// ---------------------------------------------------------------------------------------------------------
// Peers

function peersAvailable(): string | null {
  const r = spawnSync(PYTHON, ['-c', 'import cv2; cv2.ximgproc.fastBilateralSolverFilter; cv2.ximgproc.guidedFilter'], { encoding: 'utf8' });
  if (r.error) return `${PYTHON} could not be started (${r.error.message})`;
  if (r.status !== 0) return `${PYTHON} cannot import cv2 with ximgproc (${(r.stderr || '').trim().split('\n').pop()})`;
  return null;
}

interface PeerLine {
  scene: string;
  setting: string;
  ms?: number;
  file?: string;
  error?: string;
}

class PeerRun {
  readonly settings = peerGrid();
  /** results[settingId][scene] */
  readonly results = new Map<string, Map<string, DepthMetrics & { ms: number }>>();
  readonly errors: string[] = [];
  private readonly queue: PeerLine[] = [];
  private readonly done: Promise<number>;
  private readonly dir: string;

  constructor(private readonly byName: Map<string, Prepared>) {
    this.dir = mkdtempSync(join(tmpdir(), 'diorama-eval-depth-'));
    const scenes = [];
    for (const p of byName.values()) {
      const { width: w, height: h, name, image } = p.scene;
      const n = w * h;
      const conf = new Uint8Array(n);
      for (let i = 0; i < n; i++) conf[i] = isValidDepth(p.raw[i]!) ? 1 : 0;
      const filled = fillFromNearest(p.raw, w, h);
      const rgb = new Uint8Array(n * 3);
      for (let i = 0; i < n; i++) {
        rgb[3 * i] = image.data[4 * i]!;
        rgb[3 * i + 1] = image.data[4 * i + 1]!;
        rgb[3 * i + 2] = image.data[4 * i + 2]!;
      }
      const base = join(this.dir, fileSafe(name));
      writeFileSync(`${base}.depth.f32`, new Uint8Array(filled.buffer, filled.byteOffset, filled.byteLength));
      writeFileSync(`${base}.conf.u8`, conf);
      writeFileSync(`${base}.rgb.u8`, rgb);
      scenes.push({ id: name, width: w, height: h, depth: `${base}.depth.f32`, conf: `${base}.conf.u8`, rgb: `${base}.rgb.u8` });
    }
    const jobPath = join(this.dir, 'job.json');
    writeFileSync(jobPath, JSON.stringify({ outDir: this.dir, scenes, settings: this.settings }));
    const child = spawn(PYTHON, [PEER_SCRIPT, jobPath], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (s: string) => {
      stderr += s;
      if (stderr.length > 20000) stderr = stderr.slice(-10000);
    });
    const lines = createInterface({ input: child.stdout });
    lines.on('line', (line) => {
      try {
        this.queue.push(JSON.parse(line) as PeerLine);
      } catch {
        this.errors.push(`unexpected peer output: ${line.slice(0, 200)}`);
      }
    });
    this.done = new Promise((res) => {
      child.on('close', (code) => {
        if (code !== 0) this.errors.push(`depth_peers.py exited with ${code}: ${stderr.trim().split('\n').slice(-3).join(' | ')}`);
        res(code ?? -1);
      });
      child.on('error', (e) => {
        this.errors.push(`depth_peers.py failed to start: ${e.message}`);
        res(-1);
      });
    });
  }

  /** Evaluates every output that has arrived so far (and deletes its file). */
  drain(): void {
    for (let line = this.queue.shift(); line; line = this.queue.shift()) {
      if (line.error !== undefined || !line.file) {
        this.errors.push(`${line.scene} ${line.setting}: ${line.error ?? 'no output file'}`);
        continue;
      }
      const p = this.byName.get(line.scene);
      if (!p) continue;
      const buf = readFileSync(line.file);
      unlinkSync(line.file);
      const { width: w, height: h } = p.scene;
      if (buf.byteLength !== w * h * 4) {
        this.errors.push(`${line.scene} ${line.setting}: output has ${buf.byteLength} bytes; expected ${w * h * 4}`);
        continue;
      }
      const pred = new Float32Array(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength));
      const m = evaluateDepth(p.scene.depth, pred, p.masks, w, h);
      let per = this.results.get(line.setting);
      if (!per) this.results.set(line.setting, (per = new Map()));
      per.set(line.scene, { ...m, ms: line.ms ?? NaN });
    }
  }

  async finish(): Promise<void> {
    await this.done;
    this.drain();
    rmSync(this.dir, { recursive: true, force: true });
  }

  /**
   * The setting of `peer` with the lowest mean covered-edge AbsRel over all scenes (settings that failed on
   * some scene are not eligible), with the ranking of all its settings.
   */
  best(peer: Peer, sceneNames: string[]): { setting: PeerSetting | null; ranking: { setting: PeerSetting; score: number | null }[] } {
    const ranking = this.settings
      .filter((s) => s.peer === peer)
      .map((setting) => {
        const per = this.results.get(setting.id);
        if (!per || sceneNames.some((n) => !per.has(n))) return { setting, score: null };
        const v = sceneNames.map((n) => per.get(n)!.absrelEdgeCovered).filter((x): x is number => x !== null);
        return { setting, score: v.length ? v.reduce((a, b) => a + b, 0) / v.length : null };
      });
    let best: { setting: PeerSetting; score: number | null } | null = null;
    for (const r of ranking) if (r.score !== null && (best === null || r.score < best.score!)) best = r;
    return { setting: best?.setting ?? null, ranking };
  }
}

function fileSafe(name: string): string {
  return name.replace(/[^A-Za-z0-9_-]/g, '_');
}

// ---------------------------------------------------------------------------------------------------------
// Main

function metricsRow(m: DepthMetrics, ms: number | null): MethodMetrics {
  return { ...m, ms };
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const t0 = performance.now();
  let refs = discoverScenes(resolve(args.dataDir));
  if (args.scenes) {
    const want = new Set(args.scenes);
    const unknown = args.scenes.filter((s) => !refs.some((r) => r.name === s || `${r.set}/${r.name}` === s));
    if (unknown.length) usage(`unknown scene(s): ${unknown.join(', ')} (have: ${refs.map((r) => r.name).join(', ')})`);
    refs = refs.filter((r) => want.has(r.name) || want.has(`${r.set}/${r.name}`));
  }
  const dup = refs.find((r, i) => refs.findIndex((q) => q.name === r.name) !== i);
  if (dup) throw new Error(`two scenes are named '${dup.name}' (stereo and rgbd); rename one`);

  console.log(`eval-depth: ${refs.length} scene(s) from ${resolve(args.dataDir)}`);
  const prepared: Prepared[] = [];
  for (const ref of refs) prepared.push(prepare(await loadScene(ref)));
  const byName = new Map(prepared.map((p) => [p.scene.name, p] as const));
  const tPrep = performance.now();

  let peers: PeerRun | null = null;
  if (args.peers) {
    const why = peersAvailable();
    if (why) console.log(`peers skipped: ${why}; their metrics are null`);
    else peers = new PeerRun(byName);
  } else {
    console.log('peers skipped (--no-peers); their metrics are null');
  }

  if (!args.layers) console.log('layers skipped (--no-layers); layers and layersStd are null');

  const rows: Record<string, Record<string, MethodMetrics>> = {};
  let harmonizeMs = 0;
  let layersMs = 0;
  for (const p of prepared) {
    const { width: w, height: h, name } = p.scene;
    const row: Record<string, MethodMetrics> = {};
    row['raw'] = metricsRow(evaluateDepth(p.scene.depth, p.raw, p.masks, w, h), null);
    const th = performance.now();
    let ms = 0;
    try {
      const hz = harmonize({ width: w, height: h, depth: p.raw, labels: p.masks, image: p.scene.image });
      ms = performance.now() - th;
      row['harmonized'] = { ...metricsRow(evaluateDepth(p.scene.depth, hz.depth, p.masks, w, h), ms), iterations: hz.iterations };
    } catch (e) {
      ms = performance.now() - th;
      console.log(`  ${name}: harmonize failed: ${(e as Error).message}`);
      row['harmonized'] = {};
    }
    harmonizeMs += ms;
    let sceneLayersMs = 0;
    if (args.layers) {
      const tl = performance.now();
      try {
        Object.assign(row['harmonized'], await layerStats(p, args.layerRuns));
      } catch (e) {
        console.log(`  ${name}: decompose failed: ${(e as Error).message}`);
      }
      sceneLayersMs = performance.now() - tl;
      layersMs += sceneLayersMs;
    }
    rows[name] = row;
    const r = row['raw']!, hm = row['harmonized']!;
    const f = (v: number | null | undefined, d = 4): string => (typeof v === 'number' ? v.toFixed(d) : '—');
    console.log(
      `  ${name.padEnd(16)} ${w}x${h}  covered AbsRel raw ${f(r['absrelEdgeCovered'])} → ${f(hm['absrelEdgeCovered'])}` +
        `  F1 ${f(r['boundaryF1'], 3)} → ${f(hm['boundaryF1'], 3)}  harmonize ${ms.toFixed(0)} ms, ${hm['iterations']} it` +
        (hm['layers'] !== undefined ? `  layers ${hm['layers']} ± ${f(hm['layersStd'] as number, 2)} (${(sceneLayersMs / 1000).toFixed(1)} s)` : ''),
    );
    peers?.drain();
    await new Promise((r) => setImmediate(r)); // let the peer process's output lines in
  }
  const tOurs = performance.now();

  const names = prepared.map((p) => p.scene.name);
  if (peers) {
    await peers.finish();
    for (const e of peers.errors) console.log(`peer error: ${e}`);
    console.log('\nPeer settings (mean covered-edge AbsRel over all scenes; * = kept):');
    for (const peer of PEERS) {
      const { setting, ranking } = peers.best(peer, names);
      for (const r of ranking) {
        console.log(`  ${r.setting === setting ? '*' : ' '} ${peer}  ${r.score === null ? '   —  ' : r.score.toFixed(4)}  ${describeSetting(r.setting)}`);
      }
      if (!setting) continue;
      const per = peers.results.get(setting.id)!;
      for (const n of names) {
        const m = per.get(n);
        if (m) rows[n]![peer] = metricsRow(m, m.ms);
      }
    }
  }
  const tEnd = performance.now();

  const report = buildReport({ methods: METHODS, metrics: METRICS, extra: { harmonized: HARMONIZED_EXTRA } }, rows);
  const tables: [string, number, string][] = [
    ['absrelEdgeCovered', 4, 'AbsRel, covered edge band (lower is better)'],
    ['absrelEdgeUncovered', 4, 'AbsRel, uncovered edge band'],
    ['absrelEdge', 4, 'AbsRel, edge band'],
    ['absrel', 4, 'AbsRel, all pixels'],
    ['boundaryF1', 4, 'Boundary F1 (higher is better)'],
    ['dbeAccuracy', 3, 'DBE accuracy, px (lower is better)'],
    ['dbeCompleteness', 3, 'DBE completeness, px (lower is better)'],
    ['ms', 0, 'Time, ms'],
  ];
  for (const [metric, digits, title] of tables) console.log('\n' + formatMetricTable(report, metric, METHODS, digits, title));
  console.log('\n' + formatMetricTable(report, 'iterations', ['harmonized'], 0, 'Harmonize iterations'));
  console.log('\n' + formatMetricTable(report, 'layers', ['harmonized'], 1, 'Layers (count)'));
  console.log('\n' + formatMetricTable(report, 'layersStd', ['harmonized'], 2, `Layer-count std-dev over ${args.layerRuns} re-runs`));

  console.log('\nAcceptance (means over scenes):');
  console.log(formatChecks(acceptanceChecks(report.mean)));

  console.log(
    `\nTime: load + synth ${((tPrep - t0) / 1000).toFixed(1)} s, harmonize ${(harmonizeMs / 1000).toFixed(1)} s, ` +
      `layers ${(layersMs / 1000).toFixed(1)} s, metrics and the rest of the TS pass ${((tOurs - tPrep - harmonizeMs - layersMs) / 1000).toFixed(1)} s, ` +
      `waiting for peers ${((tEnd - tOurs) / 1000).toFixed(1)} s; total ${((tEnd - t0) / 1000).toFixed(1)} s`,
  );
  if (args.json) {
    writeReport(args.json, report);
    console.log(`report written to ${args.json}`);
  }
}

/** The acceptance checks of the depth-harmonization issue, on the mean row. */
function acceptanceChecks(mean: Record<string, MethodMetrics>): Check[] {
  const v = (method: string, metric: string): number | null => mean[method]?.[metric] ?? null;
  const f = (x: number | null): string => (x === null ? 'null' : x.toFixed(4));
  const checks: Check[] = [];
  const hc = v('harmonized', 'absrelEdgeCovered');
  const rc = v('raw', 'absrelEdgeCovered');
  checks.push({
    name: 'covered-edge AbsRel: harmonized ≤ 0.6 × raw',
    pass: hc === null || rc === null ? null : hc <= 0.6 * rc,
    detail: `${f(hc)} vs 0.6 × ${f(rc)} = ${rc === null ? 'null' : (0.6 * rc).toFixed(4)}`,
  });
  for (const peer of PEERS) {
    const pc = v(peer, 'absrelEdgeCovered');
    checks.push({
      name: `covered-edge AbsRel: harmonized < ${peer}`,
      pass: hc === null || pc === null ? null : hc < pc,
      detail: `${f(hc)} vs ${f(pc)}`,
    });
  }
  const ha = v('harmonized', 'absrel'), ra = v('raw', 'absrel');
  checks.push({ name: 'all-pixel AbsRel: harmonized ≤ raw', pass: ha === null || ra === null ? null : ha <= ra, detail: `${f(ha)} vs ${f(ra)}` });
  const hu = v('harmonized', 'absrelEdgeUncovered'), ru = v('raw', 'absrelEdgeUncovered');
  checks.push({
    name: 'uncovered-edge AbsRel: harmonized ≤ 1.05 × raw',
    pass: hu === null || ru === null ? null : hu <= 1.05 * ru,
    detail: `${f(hu)} vs 1.05 × ${f(ru)} = ${ru === null ? 'null' : (1.05 * ru).toFixed(4)}`,
  });
  const hf = v('harmonized', 'boundaryF1');
  for (const other of ['raw', 'fbs'] as const) {
    const of = v(other, 'boundaryF1');
    checks.push({ name: `boundary F1: harmonized > ${other}`, pass: hf === null || of === null ? null : hf > of, detail: `${f(hf)} vs ${f(of)}` });
  }
  const jf = v('jbf', 'boundaryF1');
  const jc = v('jbf', 'absrelEdgeCovered');
  checks.push({
    name: 'harmonized vs jbf',
    pass: null,
    info: true,
    detail: `boundary F1 ${f(hf)} vs ${f(jf)}; covered-edge AbsRel ${f(hc)} vs ${f(jc)}`,
  });
  return checks;
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? (e.stack ?? e.message) : e);
  process.exit(1);
});
