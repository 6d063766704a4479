/**
 * The main job until the browser demo lands: makes a sample RGB-D scene (our own synthetic scene, free to
 * redistribute), writes it as files, and decomposes it with the built command-line tool, exactly as a
 * user would: `node dist/cli.js photo.png --depth depth.pfm --masks masks.png --out ...`.
 *
 * Usage: npm run demo [-- --out <dir>] [-- --width 1280 --height 720]
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import sharp from 'sharp';
import { encodePFM } from '../src/io/pfm';
import { makeScene } from '../test/fixtures/scene';

const { values } = parseArgs({
  options: { out: { type: 'string', default: 'out/demo' }, width: { type: 'string', default: '960' }, height: { type: 'string', default: '540' } },
});
const out = resolve(values.out!);
const width = Number(values.width);
const height = Number(values.height);
const input = join(out, 'input');
mkdirSync(input, { recursive: true });

const scene = makeScene({ width, height, objects: 3, depthNoise: 0.01, seed: 7 });
const photo = join(input, 'photo.png');
const depth = join(input, 'depth.pfm');
const masks = join(input, 'masks.png');
await sharp(Buffer.from(scene.image.data.buffer, scene.image.data.byteOffset, scene.image.data.byteLength), {
  raw: { width, height, channels: 4 },
}).png().toFile(photo);
writeFileSync(depth, encodePFM({ width, height, data: scene.depth }));
const labelBytes = new Uint8Array(width * height);
for (let i = 0; i < labelBytes.length; i++) labelBytes[i] = scene.labels[i]! + 1;
await sharp(Buffer.from(labelBytes), { raw: { width, height, channels: 1 } }).png().toFile(masks);
console.log(`[demo] sample RGB-D scene ${width}x${height} with ${scene.labelCount} masks (${scene.concepts.join(', ')}) → ${input}`);

const cli = resolve('dist/cli.js');
if (!existsSync(cli)) {
  console.error('[demo] dist/cli.js is missing: run `npm run build` first');
  process.exit(1);
}
const k = scene.intrinsics;
const args = [cli, photo, '--depth', depth, '--masks', masks, '--out', join(out, 'result'), '--fx', String(k.fx), '--fy', String(k.fy), '--cx', String(k.cx), '--cy', String(k.cy)];
console.log(`[demo] node ${args.map((a) => a.replace(process.cwd() + '/', '')).join(' ')}`);
const run = spawnSync(process.execPath, args, { stdio: 'inherit' });
if (run.status !== 0) process.exit(run.status ?? 1);

const summary = JSON.parse(readFileSync(join(out, 'result', 'scene.json'), 'utf8')) as {
  layers: { index: number; bbox: { x: number; y: number; width: number; height: number }; depthRange: [number, number]; planeDepth: number; vertices: number; files: { rgba: string } }[];
};
console.log('[demo] layers, back to front:');
for (const l of summary.layers) {
  console.log(
    `  ${String(l.index).padStart(2)}  depth ${l.depthRange[0].toFixed(2)}–${l.depthRange[1].toFixed(2)} m  plane ${l.planeDepth.toFixed(2)} m  ` +
      `crop ${l.bbox.width}x${l.bbox.height}@${l.bbox.x},${l.bbox.y}  ${l.vertices} vertices  ${l.files.rgba}`,
  );
}
console.log(`[demo] done: open ${join(out, 'result')}`);
