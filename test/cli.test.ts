/**
 * The command line (src/cli.ts), run as a child process through tsx exactly as `npx tsx src/cli.ts` would
 * (the local node_modules/.bin/tsx, without npm's own start-up). Inputs are written by the test from the
 * synthetic scene: a PNG photo (sharp), a PFM depth map and a 16-bit PNG label map.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import { encodePFM, decodePFM } from '../src/io/pfm';
import { makeScene } from './fixtures/scene';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const TSX = join(ROOT, 'node_modules', '.bin', 'tsx');
const W = 160;
const H = 120;

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function cli(args: string[]): Promise<Run> {
  return new Promise((done) => {
    execFile(TSX, [join(ROOT, 'src', 'cli.ts'), ...args], { cwd: ROOT, timeout: 60_000 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : -1) : 0;
      done({ code, stdout, stderr });
    });
  });
}

interface SceneJson {
  width: number;
  height: number;
  intrinsics: { fx: number; fy: number; cx: number; cy: number };
  intrinsicsKnown: boolean;
  photo: string;
  masks: string | null;
  layers: {
    index: number;
    bbox: { x: number; y: number; width: number; height: number };
    depthRange: [number, number];
    planeDepth: number;
    concepts: string[];
    vertices: number;
    triangles: number;
    files: { rgba: string; depth: string; depthPfm: string };
  }[];
  stats: { layerCount: number; maskCount: number; width: number; height: number };
}

describe('diorama CLI', () => {
  const dir = mkdtempSync(join(tmpdir(), 'diorama-cli-'));
  const scene = makeScene({ width: W, height: H });
  const photo = join(dir, 'photo.png');
  const depth = join(dir, 'depth.pfm');
  const masks = join(dir, 'masks.png');

  beforeAll(async () => {
    await sharp(Buffer.from(scene.image.data.buffer), { raw: { width: W, height: H, channels: 4 } }).png().toFile(photo);
    writeFileSync(depth, encodePFM({ width: W, height: H, data: scene.depth }));
    // Label map PNG: 0 = none, k = mask k − 1 (16-bit greyscale).
    const lab = Uint16Array.from(scene.labels, (l) => l + 1);
    await sharp(lab, { raw: { width: W, height: H, channels: 1 } }).toColourspace('grey16').png().toFile(masks);
    writeFileSync(join(dir, 'corrupt.pfm'), new TextEncoder().encode(`Pf\n${W} ${H}\n-1.0\n` + 'short'));
    writeFileSync(join(dir, 'small.pfm'), encodePFM({ width: 80, height: 60, data: new Float32Array(80 * 60).fill(2) }));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  async function checkOutput(out: string, run: Run): Promise<SceneJson> {
    expect(run.stderr).not.toMatch(/diorama: /);
    expect(run.code).toBe(0);
    expect(run.stderr).toMatch(/\[diorama\] harmonize\s+done in \d+ ms/);
    const json = JSON.parse(readFileSync(join(out, 'scene.json'), 'utf8')) as SceneJson;
    expect(json.width).toBe(W);
    expect(json.height).toBe(H);
    expect(json.photo).toBe(photo);
    expect(json.layers.length).toBe(json.stats.layerCount);
    expect(json.layers.length).toBeGreaterThanOrEqual(4);
    expect(json.layers.length).toBeLessThanOrEqual(12);
    for (const [k, l] of json.layers.entries()) {
      expect(l.index).toBe(k);
      const { x, y, width, height } = l.bbox;
      // Inside the photo, except the back layer, which covers it and reaches past it by the orbit's rim.
      if (k === 0) expect(x <= 0 && y <= 0 && x + width >= W && y + height >= H).toBe(true);
      else expect(x >= 0 && y >= 0 && width >= 1 && height >= 1 && x + width <= W && y + height <= H).toBe(true);
      expect(l.vertices).toBeGreaterThan(0);
      expect(l.triangles).toBeGreaterThan(0);
      if (k > 0) expect(l.planeDepth).toBeLessThan(json.layers[k - 1]!.planeDepth);
      for (const f of Object.values(l.files)) expect(existsSync(join(out, f)), f).toBe(true);
      // The files hold the crop: RGBA PNG and 16-bit depth PNG of bbox size, PFM of bbox size.
      const rgba = await sharp(join(out, l.files.rgba)).metadata();
      expect([rgba.width, rgba.height, rgba.channels]).toEqual([width, height, 4]);
      const d16 = await sharp(join(out, l.files.depth)).metadata();
      expect([d16.width, d16.height, d16.depth]).toEqual([width, height, 'ushort']);
      const pfm = decodePFM(readFileSync(join(out, l.files.depthPfm)));
      expect([pfm.width, pfm.height]).toEqual([width, height]);
      // Depth of the layer's own pixels lies in its depthRange; the PFM holds metres (0 = empty).
      let maxZ = 0;
      for (const v of pfm.data) maxZ = Math.max(maxZ, v);
      expect(maxZ).toBeGreaterThanOrEqual(l.depthRange[1] * (1 - 1e-6));
    }
    expect(existsSync(join(out, 'harmonized_depth.pfm'))).toBe(true);
    return json;
  }

  it('photo + depth → exit 0, scene.json with layers, files and crops (RGB-D only, guessed intrinsics)', async () => {
    const out = join(dir, 'out-rgbd');
    const run = await cli([photo, '--depth', depth, '--out', out]);
    const json = await checkOutput(out, run);
    expect(json.intrinsicsKnown).toBe(false);
    expect(json.masks).toBeNull();
  });

  it('with --masks and intrinsics → the masks and intrinsics are used', async () => {
    const out = join(dir, 'out-masks');
    const k = scene.intrinsics;
    const run = await cli([photo, '--depth', depth, '--masks', masks, '--out', out, '--fx', String(k.fx), '--fy', String(k.fy), '--cx', String(k.cx), '--cy', String(k.cy), '--quiet']);
    expect(run.stderr).not.toMatch(/\[diorama\]/); // --quiet
    const json = JSON.parse(readFileSync(join(out, 'scene.json'), 'utf8')) as SceneJson;
    expect(run.code).toBe(0);
    expect(json.intrinsicsKnown).toBe(true);
    expect(json.intrinsics.fx).toBeCloseTo(k.fx, 9);
    expect(json.stats.maskCount).toBe(scene.labelCount);
    expect(json.masks).toBe(masks);
  });

  it('bad input → exit 1 with "diorama: CODE: message" on stderr; bad usage → exit 2', async () => {
    const [corrupt, missing, mismatch, badOption, usage, help] = await Promise.all([
      cli([photo, '--depth', join(dir, 'corrupt.pfm'), '--out', join(dir, 'o1')]),
      cli([photo, '--depth', join(dir, 'nope.pfm'), '--out', join(dir, 'o2')]),
      cli([photo, '--depth', join(dir, 'small.pfm'), '--out', join(dir, 'o3')]),
      cli([photo, '--depth', depth, '--out', join(dir, 'o4'), '--min-layers', '7', '--max-layers', '3', '--quiet']),
      cli(['--out', join(dir, 'o5')]),
      cli(['--help']),
    ]);
    expect(corrupt.code).toBe(1);
    expect(corrupt.stderr).toMatch(new RegExp(`diorama: DECODE_FAILED: PFM: expected ${W * H * 4} bytes of ${W}x${H}x1 floats, found 5`));
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/diorama: DECODE_FAILED: cannot read depth file '.*nope\.pfm'/);
    expect(mismatch.code).toBe(1);
    expect(mismatch.stderr).toMatch(new RegExp(`diorama: SIZE_MISMATCH: depth map is 80x60 but the photo is ${W}x${H}`));
    expect(badOption.code).toBe(1);
    expect(badOption.stderr).toMatch(/diorama: INVALID_OPTION: .*found \[7, 3\]/);
    for (const o of ['o1', 'o2', 'o3', 'o4']) expect(existsSync(join(dir, o, 'scene.json'))).toBe(false);
    expect(usage.code).toBe(2);
    expect(usage.stderr).toMatch(/^usage: diorama <photo> \[--depth <file>\]/m);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/^usage: diorama/m);
  });
});
