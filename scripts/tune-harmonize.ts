/**
 * Developer tool: sweeps harmonize() options on the real scenes with metrics.md §1 inputs and prints the
 * mean metrics per setting (raw first). Usage: tsx scripts/tune-harmonize.ts <data-dir> [json-of-option-sets]
 */
import { readFileSync, readdirSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { decodePFM } from '../src/io/pfm';
import { harmonize, type HarmonizeOptions } from '../src/math/harmonize';
import { readImageRGBA } from './eval/io-node';
import { synthMasks, synthRawDepth, hashSeed } from './eval/synth';
import { evaluateDepth } from './eval/depth-metrics';

const dir = process.argv[2] ?? '../shared/data';
const sets: HarmonizeOptions[] = process.argv[3] ? JSON.parse(process.argv[3]) : [{}];
const scenes: { name: string; rgb: string; gt: Float32Array; w: number; h: number }[] = [];
for (const kind of ['stereo', 'rgbd']) {
  const base = join(dir, kind);
  if (!existsSync(base)) continue;
  for (const s of readdirSync(base).sort()) {
    const f = join(base, s, kind === 'stereo' ? 'disp.pfm' : 'depth.pfm');
    const pfm = decodePFM(new Uint8Array(readFileSync(f)));
    const gt = new Float32Array(pfm.data.length);
    for (let i = 0; i < gt.length; i++) {
      const v = pfm.data[i]!;
      gt[i] = kind === 'stereo' ? (v > 0 && Number.isFinite(v) ? pfm.width / v : 0) : v > 0 && Number.isFinite(v) ? v : 0;
    }
    scenes.push({ name: s, rgb: join(base, s, kind === 'stereo' ? 'left.png' : 'rgb.png'), gt, w: pfm.width, h: pfm.height });
  }
}
const keys = ['absrel', 'absrelEdgeCovered', 'absrelEdgeUncovered', 'boundaryF1', 'dbeAccuracy', 'dbeCompleteness'] as const;
const acc: Record<string, number[][]> = {};
const prepared = await Promise.all(scenes.map(async (s) => {
  const image = await readImageRGBA(s.rgb);
  const seed = hashSeed(s.name);
  return { ...s, image, raw: synthRawDepth(s.gt, s.w, s.h, seed), masks: synthMasks(s.gt, s.w, s.h, seed + 1) };
}));
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
