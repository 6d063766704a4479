/**
 * Orbit sweep (docs/metrics.md §5) on every scene of a data folder laid out like ../shared/data: what a user
 * sees when orbiting, without ground truth.
 *
 *   npm run eval:orbit -- <data-dir> [--depth oracle|network|sensor] [--json FILE] [--save DIR]
 *                                    [--scenes a,b] [--engine webgl|webgpu]
 *
 * Scenes: every stereo scene (left.png; depth from `--depth` as in eval-views, scripts/eval/depth-modes.ts;
 * focal W, principal point at the centre) and every rgbd scene (rgb.png; depth.pfm as it is, 0 = unknown,
 * to the diorama, filled along rows from the background side for the rubber sheet; intrinsics from
 * meta.json, else decompose's default field of view, src/core/validate.ts). Methods: `diorama` (core
 * `decompose` → `createDioramaNodes`) and `rubberSheet` (scripts/eval/rubber-sheet.ts), both rendered in
 * headless Chromium by scripts/eval/views.page.ts.
 *
 * Views (scripts/eval/orbit.ts): the photo camera orbiting the pivot on its optical axis at the scene's
 * median known depth (the ground truth's for stereo scenes, so every mode orbits the same pivot), yaw −10°,
 * −5°, +5°, +10° and pitch −5°, +5°; same intrinsics and resolution. Each view is rendered over magenta and
 * over green (coverage) and once more with every mesh's material replaced by the footprint material
 * (scripts/eval/footprint-material.ts). Per view: holesFrame (fraction of the frame showing the clear
 * colour) and stretched (fraction of the frame drawn with coverage ≥ ½ whose front-most texture footprint is
 * under ¼ texel per pixel). Per scene: holesFrame = max over the views, stretched = mean.
 *
 * Prints a table (a row per scene, mean and median) and the issue-12 targets; `--json` writes the report
 * of metrics.md (per scene and method holesFrame, stretched and views [{yaw, pitch, holesFrame,
 * stretched}]) with `depthMode` and a `summary` at its top level; `--save DIR` writes one contact sheet per
 * scene (DIR/<scene>.png: the photo view and the six views over black, a row per method, and a row per
 * method with the stretched pixels in red).
 */
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { decodePFM } from '../src/io/pfm';
import type { Intrinsics, RGBAImage } from '../src/core/types';
import { DEFAULT_FOV_DEGREES, resolveIntrinsics } from '../src/core/validate';
import { startHarness, hasChromium, CHROME_PATH } from '../test/browser/harness';
import { parseDataDirArgs, splitList } from './eval/cli';
import { DEPTH_MODES, groundTruthDepth, isDepthMode, stereoDepthInputs, type DepthInputs, type DepthMode } from './eval/depth-modes';
import { readImageRGBA } from './eval/io-node';
import { ORBIT_SWEEP, medianKnownDepth, orbitViewMetrics, orbitViewSpec } from './eval/orbit';
import { type Check, buildReport, formatChecks, formatValue, formatWideTable, writeReport } from './eval/report';
import { discoverScenes, loadScene, type SceneRef } from './eval/scenes';
import { writeContactSheet, type SheetRow } from './eval/contact-sheet';
import { fillDepthForRendering } from './eval/view-metrics';
import { ORIGINAL_VIEW, openViewRenderer, type ViewEngine } from './eval/views-node';

const METHODS = ['diorama', 'rubberSheet'] as const;
const METRICS = ['holesFrame', 'stretched'] as const;
/** Issue 12: the diorama's stretched fraction at most this share of the rubber sheet's, on every scene. */
const STRETCH_RATIO_TARGET = 0.25;

interface Args {
  dataDir: string;
  depth: DepthMode;
  json?: string;
  save?: string;
  scenes?: string[];
  engine: ViewEngine;
}

function usage(msg?: string): never {
  if (msg) console.error(`eval-orbit: ${msg}`);
  console.error('usage: npm run eval:orbit -- <data-dir> [--depth oracle|network|sensor] [--json FILE] [--save DIR] [--scenes a,b] [--engine webgl|webgpu]');
  process.exit(2);
}

function parseArgs(argv: string[]): Args {
  const a: Args = { dataDir: '', depth: 'oracle', engine: 'webgl' };
  a.dataDir = parseDataDirArgs(argv, usage, (t, value) => {
    if (t === '--json') a.json = value();
    else if (t === '--save') a.save = value();
    else if (t === '--scenes') a.scenes = splitList(value());
    else if (t === '--depth') {
      const d = value();
      if (!isDepthMode(d)) usage(`--depth must be one of ${DEPTH_MODES.join(', ')}; found '${d}'`);
      a.depth = d;
    } else if (t === '--engine') {
      const e = value();
      if (e !== 'webgl' && e !== 'webgpu') usage(`--engine must be webgl or webgpu; found '${e}'`);
      a.engine = e;
    } else return false;
    return true;
  });
  return a;
}

/** A scene ready to render: photo, depth inputs, intrinsics and the pivot distance. */
interface OrbitScene {
  name: string;
  image: RGBAImage;
  inputs: DepthInputs;
  intrinsics: Intrinsics;
  pivot: number;
}

async function loadOrbitScene(ref: SceneRef, mode: DepthMode): Promise<OrbitScene | string> {
  if (ref.set === 'stereo') {
    const image = await readImageRGBA(join(ref.dir, 'left.png'));
    const { width: W, height: H } = image;
    const pfm = decodePFM(new Uint8Array(readFileSync(join(ref.dir, 'disp.pfm'))));
    if (pfm.width !== W || pfm.height !== H) throw new Error(`${ref.dir}: left.png is ${W}x${H} but disp.pfm is ${pfm.width}x${pfm.height}`);
    const inputs = stereoDepthInputs(mode, pfm.data, W, H, ref.name);
    const pivot = medianKnownDepth(groundTruthDepth(pfm.data, W));
    if (!inputs || pivot === null) return 'no known disparity';
    return { name: ref.name, image, inputs, intrinsics: { fx: W, fy: W, cx: W / 2, cy: H / 2 }, pivot };
  }
  const s = await loadScene(ref);
  const baseline = fillDepthForRendering(s.depth, s.width, s.height);
  const pivot = medianKnownDepth(s.depth);
  if (!baseline || pivot === null) return 'no known depth';
  let unknown = 0;
  for (let i = 0; i < s.depth.length; i++) if (!(s.depth[i]! > 0)) unknown++;
  // The intrinsics decompose itself would assume when meta.json has none.
  const intrinsics = s.intrinsics ?? resolveIntrinsics({ image: s.image, depth: s.depth }, s.width, s.height, DEFAULT_FOV_DEGREES).intrinsics;
  return { name: s.name, image: s.image, inputs: { baseline, diorama: s.depth, unknownFraction: unknown / s.depth.length }, intrinsics, pivot };
}

interface ViewRow {
  yaw: number;
  pitch: number;
  holesFrame: number;
  stretched: number;
}

const fmt = (v: number | null | undefined, digits = 4): string => formatValue(v, digits);

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  if (!hasChromium) throw new Error(`Chromium not found at ${CHROME_PATH} (set CHROME_PATH)`);
  let refs = discoverScenes(resolve(args.dataDir));
  if (args.scenes) {
    const unknown = args.scenes.filter((n) => !refs.some((r) => r.name === n));
    if (unknown.length) usage(`unknown scene(s): ${unknown.join(', ')} (have: ${refs.map((r) => r.name).join(', ')})`);
    refs = refs.filter((r) => args.scenes!.includes(r.name));
  }
  const dup = refs.find((r, i) => refs.findIndex((q) => q.name === r.name) !== i);
  if (dup) throw new Error(`two scenes are named '${dup.name}' (stereo and rgbd); rename one`);
  const t0 = performance.now();
  const h = await startHarness();
  const renderer = await openViewRenderer(h, args.engine);
  console.log(`eval-orbit: ${refs.length} scenes, depth ${args.depth} (stereo scenes; rgbd depth as measured), engine ${args.engine} (${renderer.description})`);
  const perScene: Record<string, Partial<Record<string, Partial<Record<string, number | null>>>>> = {};
  const perView: Record<string, Partial<Record<string, ViewRow[]>>> = {};
  const notes: string[] = [];
  try {
    for (const ref of refs) {
      const tScene = performance.now();
      const s = await loadOrbitScene(ref, args.depth);
      if (typeof s === 'string') {
        notes.push(`${ref.name}: ${s}; every metric is null`);
        perScene[ref.name] = {};
        continue;
      }
      const { width: W, height: H } = s.image;
      const views = ORBIT_SWEEP.map((v) => orbitViewSpec(v, s.pivot));
      const res = await renderer.render({
        image: s.image,
        depth: s.inputs.baseline,
        ...(s.inputs.diorama !== s.inputs.baseline ? { dioramaDepth: s.inputs.diorama } : {}),
        ...(s.inputs.masks ? { masks: s.inputs.masks } : {}),
        intrinsics: s.intrinsics,
        methods: [...METHODS],
        views: [...views, ORIGINAL_VIEW],
        footprint: true,
      });
      const row: (typeof perScene)[string] = {};
      const viewRows: (typeof perView)[string] = {};
      const sheetRows: SheetRow[] = [];
      for (const m of METHODS) {
        const r = res.methods[m];
        if (!r) continue;
        const list: ViewRow[] = [];
        const tiles: RGBAImage[] = [r.views['original']!.coverage.content];
        const stretchTiles: RGBAImage[] = [];
        for (const v of ORBIT_SWEEP) {
          const dv = r.views[v.name]!;
          const om = orbitViewMetrics(dv.coverage, dv.footprint!);
          list.push({ yaw: v.yaw, pitch: v.pitch, holesFrame: om.holesFrame, stretched: om.stretched });
          tiles.push(dv.coverage.content);
          if (args.save) stretchTiles.push(tintMask(dv.coverage.content, om.stretchedMask));
        }
        if (args.save) {
          const photo = r.views['original']!;
          stretchTiles.unshift(tintMask(photo.coverage.content, orbitViewMetrics(photo.coverage, photo.footprint!).stretchedMask));
          sheetRows.push({ label: m === 'diorama' ? 'diorama' : 'rubber sheet', tiles });
          sheetRows.push({ label: `${m === 'diorama' ? 'diorama' : 'sheet'}: stretched`, tiles: stretchTiles });
        }
        viewRows[m] = list;
        row[m] = { holesFrame: Math.max(...list.map((v) => v.holesFrame)), stretched: list.reduce((a, v) => a + v.stretched, 0) / list.length };
      }
      perScene[s.name] = row;
      perView[s.name] = viewRows;
      console.log(
        `  ${s.name} ${W}x${H}: ${res.layers} layers, pivot ${fmt(s.pivot, 3)}` +
          `${s.inputs.unknownFraction > 0 ? `, ${fmt(100 * s.inputs.unknownFraction, 1)} % unknown for the diorama` : ''}; ` +
          `holesFrame ours ${fmt(row.diorama?.holesFrame, 5)} / sheet ${fmt(row.rubberSheet?.holesFrame, 5)}, ` +
          `stretched ours ${fmt(row.diorama?.stretched, 5)} / sheet ${fmt(row.rubberSheet?.stretched, 5)}; ${fmt((performance.now() - tScene) / 1000, 1)} s`,
      );
      if (args.save) {
        const out = join(resolve(args.save), `${s.name}.png`);
        await writeContactSheet(out, ['photo', ...ORBIT_SWEEP.map((v) => v.name.replace('-', ' −').replace('+', ' +') + '°')], sheetRows, `${s.name} — depth ${args.depth}`);
      }
    }
  } finally {
    if (renderer.errors.length) notes.push(`page console errors:\n  ${renderer.errors.slice(0, 10).join('\n  ')}`);
    await renderer.close();
    await h.close();
  }

  const report = buildReport({ methods: METHODS, metrics: METRICS }, perScene);
  const names = Object.keys(report.scenes);
  const ratio = (name: string): number | null => {
    const o = report.scenes[name]!['diorama']!['stretched'];
    const s = report.scenes[name]!['rubberSheet']!['stretched'];
    return o === null || s === null || s === 0 ? null : o / s;
  };
  console.log(`\nOrbit sweep (metrics.md §5), depth ${args.depth}, engine ${args.engine}: fractions of the frame`);
  console.log(
    formatWideTable(report, [
      { method: 'diorama', metric: 'holesFrame', label: 'holesFrame ours', digits: 5 },
      { method: 'rubberSheet', metric: 'holesFrame', label: 'holesFrame sheet', digits: 5 },
      { method: 'diorama', metric: 'stretched', label: 'stretched ours', digits: 5 },
      { method: 'rubberSheet', metric: 'stretched', label: 'stretched sheet', digits: 5 },
    ]),
  );
  console.log(`stretched ours / sheet: ${names.map((n) => `${n} ${fmt(ratio(n), 3)}`).join(', ')}`);

  const holesOver = names.filter((n) => (report.scenes[n]!['diorama']!['holesFrame'] ?? 0) > 0);
  const stretchOver = names.filter((n) => {
    const o = report.scenes[n]!['diorama']!['stretched'];
    const s = report.scenes[n]!['rubberSheet']!['stretched'];
    return o !== null && s !== null && o > STRETCH_RATIO_TARGET * s;
  });
  const scored = names.filter((n) => report.scenes[n]!['diorama']!['holesFrame'] !== null && report.scenes[n]!['rubberSheet']!['stretched'] !== null);
  const summary = {
    scenes: names.length,
    scenesScored: scored.length,
    holesFrameNonZero: holesOver.length,
    holesFrameNonZeroScenes: holesOver,
    stretchedAboveQuarterOfSheet: stretchOver.length,
    stretchedAboveQuarterOfSheetScenes: stretchOver,
  };
  const checks: Check[] = [
    {
      name: 'holesFrame 0 on every scene (diorama)',
      pass: scored.length < names.length ? null : holesOver.length === 0,
      detail: `${holesOver.length} of ${scored.length} above 0${holesOver.length ? `: ${holesOver.join(', ')}` : ''}; max ${fmt(Math.max(...names.map((n) => report.scenes[n]!['diorama']!['holesFrame'] ?? 0)), 5)}`,
    },
    {
      name: 'stretched ≤ ¼ of the rubber sheet’s on every scene',
      pass: scored.length < names.length ? null : stretchOver.length === 0,
      detail: `${stretchOver.length} of ${scored.length} above${stretchOver.length ? `: ${stretchOver.join(', ')}` : ''}; mean ${fmt(report.mean['diorama']!['stretched'], 5)} vs sheet ${fmt(report.mean['rubberSheet']!['stretched'], 5)}`,
    },
  ];
  console.log(`\nTargets (issue 12), depth ${args.depth}`);
  console.log(formatChecks(checks));
  for (const n of notes) console.log(`note: ${n}`);
  if (args.json) {
    const scenes: Record<string, Record<string, Record<string, unknown>>> = {};
    for (const [name, row] of Object.entries(report.scenes)) {
      scenes[name] = {};
      for (const m of METHODS) scenes[name]![m] = { ...row[m], views: perView[name]?.[m] ?? null };
    }
    writeReport(resolve(args.json), { depthMode: args.depth, ...report, scenes, summary });
    console.log(`report written to ${args.json}`);
  }
  console.log(`done in ${fmt((performance.now() - t0) / 1000, 1)} s`);
}

/** The content with its stretched pixels painted red and the rest dimmed to half (contact sheets). */
function tintMask(content: RGBAImage, mask: Uint8Array): RGBAImage {
  const data = new Uint8ClampedArray(content.data.length);
  for (let i = 0; i < mask.length; i++) {
    const o = 4 * i;
    if (mask[i]) {
      data[o] = 255;
      data[o + 1] = 0;
      data[o + 2] = 0;
    } else {
      data[o] = content.data[o]! >> 1;
      data[o + 1] = content.data[o + 1]! >> 1;
      data[o + 2] = content.data[o + 2]! >> 1;
    }
    data[o + 3] = 255;
  }
  return { width: content.width, height: content.height, data };
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? (e.stack ?? e.message) : e);
  process.exit(1);
});
