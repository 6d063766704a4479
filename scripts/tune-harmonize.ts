/**
 * Developer tool: sweeps harmonize() options on the real scenes with metrics.md §1 inputs and prints the
 * mean metrics per setting (raw first). Usage: tsx scripts/tune-harmonize.ts <data-dir> [json-of-option-sets]
 */
import { harmonize, type HarmonizeOptions } from '../src/math/harmonize';
import { discoverScenes, loadScene } from './eval/scenes';
import { synthMasks, synthRawDepth, hashSeed } from './eval/synth';
import { evaluateDepth } from './eval/depth-metrics';

const dir = process.argv[2] ?? '../shared/data';
const sets: HarmonizeOptions[] = process.argv[3] ? JSON.parse(process.argv[3]) : [{}];
const scenes = await Promise.all(discoverScenes(dir).map(loadScene));
const keys = ['absrel', 'absrelEdgeCovered', 'absrelEdgeUncovered', 'boundaryF1', 'dbeAccuracy', 'dbeCompleteness'] as const;
const acc: Record<string, number[][]> = {};
const prepared = scenes.map((s) => {
  const seed = hashSeed(s.name);
  const w = s.width;
  const h = s.height;
  return { ...s, w, h, gt: s.depth, raw: synthRawDepth(s.depth, w, h, seed), masks: synthMasks(s.depth, w, h, seed + 1) };
});
const rows: string[] = [];
const runs: { label: string; f: (p: (typeof prepared)[number]) => Float32Array }[] = [
  { label: 'raw', f: (p) => p.raw },
  ...sets.map((o) => ({ label: JSON.stringify(o), f: (p: (typeof prepared)[number]) => harmonize({ width: p.w, height: p.h, depth: p.raw, labels: p.masks, image: p.image }, o).depth })),
];
for (const run of runs) {
  const per: number[][] = [];
  let ms = 0;
  for (const p of prepared) {
    const t0 = performance.now();
    const d = run.f(p);
    ms += performance.now() - t0;
    const m = evaluateDepth(p.gt, d, p.masks, p.w, p.h);
    per.push(keys.map((k) => m[k] ?? NaN));
  }
  const mean = keys.map((_, j) => { const v = per.map((r) => r[j]!).filter((x) => Number.isFinite(x)); return v.reduce((a, b) => a + b, 0) / v.length; });
  acc[run.label] = per;
  rows.push(`${mean.map((v) => v.toFixed(4)).join('  ')}  ${(ms / prepared.length).toFixed(0)}ms  ${run.label}`);
  console.log(rows[rows.length - 1]);
}
console.log(keys.join('  '));
