/**
 * Inpainting speed: ours (inpaintTelea, radius 5) against OpenCV's cv2.inpaint(INPAINT_TELEA, radius 5)
 * on the same 1920×1080 image and the same holes, in the same run.
 *
 *   npx tsx bench/inpaint.bench.ts [--runs N] [--photo FILE]
 *
 * Image: FILE (default ../shared/data/photos/city.jpg beside the repository), resized and centre-cropped
 * to exactly 1920×1080; when absent, a synthetic textured image (smooth gradients, stripes, discs and
 * value noise from a fixed seed). Holes: disocclusion bands (6–20 px wide, along one side of edge chains;
 * the generator of scripts/eval-inpaint.ts) added until they cover about 5 % and about 20 % of the pixels.
 *
 * Per hole set, ours then OpenCV back to back. Ours: one untimed warm-up call (JIT), then N timed calls;
 * OpenCV: N timed calls inside one long-lived python process (scripts/eval/inpaint_peers.py), timing the
 * cv2.inpaint call only, without file I/O. Both are
 * reported as the median wall-clock time and the median CPU time of the process during the call (the
 * CPU time is less sensitive to other processes on a shared machine), with the ratio ours / OpenCV.
 * OpenCV is skipped with a message when /usr/bin/python3 cannot import cv2.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { RGBAImage } from '../src/core/types';
import { inpaintTelea } from '../src/math/telea';
import { disocclusionHoles, PeerProcess, peersAvailable } from '../scripts/eval-inpaint';
import { mulberry32 } from '../test/fixtures/rng';
import { rgbImage } from '../test/fixtures/images';
import { readImageRGBA, writePngGray, writePngRGBA } from '../scripts/eval/io-node';

const W = 1920;
const H = 1080;
const RADIUS = 5;
const HERE = dirname(fileURLToPath(import.meta.url));

function syntheticImage(): RGBAImage {
  const rnd = mulberry32(0xbe4c4);
  // Value noise on a coarse 16-px lattice, bilinearly interpolated.
  const gw = Math.ceil(W / 16) + 2;
  const gh = Math.ceil(H / 16) + 2;
  const lattice = new Float32Array(gw * gh).map(() => rnd());
  const discs = Array.from({ length: 40 }, () => ({
    x: rnd() * W,
    y: rnd() * H,
    r: 20 + rnd() * 120,
    c: [rnd() * 255, rnd() * 255, rnd() * 255],
  }));
  return rgbImage(W, H, (x, y) => {
    const gx = x / 16;
    const gy = y / 16;
    const ix = Math.floor(gx);
    const iy = Math.floor(gy);
    const fx = gx - ix;
    const fy = gy - iy;
    const n =
      (lattice[iy * gw + ix] * (1 - fx) + lattice[iy * gw + ix + 1] * fx) * (1 - fy) +
      (lattice[(iy + 1) * gw + ix] * (1 - fx) + lattice[(iy + 1) * gw + ix + 1] * fx) * fy;
    let r = 60 + 100 * (x / W) + 40 * n;
    let g = 80 + 90 * (y / H) + 30 * Math.sin(x / 9 + y / 23);
    let b = 120 + 60 * Math.sin(x / 57) * Math.cos(y / 41) + 30 * n;
    for (const d of discs) {
      if ((x - d.x) ** 2 + (y - d.y) ** 2 < d.r * d.r) {
        r = d.c[0] + 20 * n;
        g = d.c[1] + 10 * Math.sin(x / 5);
        b = d.c[2];
      }
    }
    return [r, g, b];
  });
}

function median(xs: number[]): number {
  const v = [...xs].sort((a, b) => a - b);
  const m = v.length >> 1;
  return v.length % 2 ? v[m] : 0.5 * (v[m - 1] + v[m]);
}

function cpuMs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}

async function main(argv: string[]): Promise<void> {
  let runs = 5;
  let photo = resolve(HERE, '../../shared/data/photos/city.jpg');
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--runs') runs = Number(argv[++i]);
    else if (argv[i] === '--photo') photo = resolve(argv[++i]);
    else {
      console.error('usage: tsx bench/inpaint.bench.ts [--runs N] [--photo FILE]');
      process.exit(2);
    }
  }
  if (!(runs >= 1)) throw new Error('--runs must be ≥ 1');
  let image: RGBAImage;
  let source: string;
  if (existsSync(photo)) {
    image = await readImageRGBA(photo, { cover: { width: W, height: H } });
    source = photo;
  } else {
    image = syntheticImage();
    source = `synthetic (no ${photo})`;
  }
  console.log(`image: ${source}, ${W}x${H}; radius ${RADIUS}; ${runs} runs each; node ${process.version}`);

  const cases = [0.05, 0.2].map((target) => {
    const { hole, fraction, chains } = disocclusionHoles(image, { seed: 0x5eed, targetFraction: target, maxChains: 100000 });
    return { target, hole, fraction, chains, name: `holes-${Math.round(target * 100)}` };
  });

  const work = mkdtempSync(join(tmpdir(), 'diorama-inpaint-bench-'));
  const peers = peersAvailable();
  const server = peers.ok ? new PeerProcess() : null;
  try {
    const imagePath = join(work, 'image.png');
    if (server) {
      await writePngRGBA(imagePath, image);
      const hello = await server.hello();
      console.log(`OpenCV ${hello.cv2} (${hello.threads} threads available to it)`);
    } else {
      console.log(`OpenCV skipped: ${peers.message}`);
    }
    const ours = new Map<string, { wall: number; cpu: number }>();
    const cv = new Map<string, { wall: number; cpu: number }>();
    for (const c of cases) {
      // Ours then OpenCV on the same holes, back to back.
      inpaintTelea(image, c.hole, { radius: RADIUS }); // warm-up (JIT)
      const wall: number[] = [];
      const cpu: number[] = [];
      for (let r = 0; r < runs; r++) {
        const c0 = cpuMs();
        const t0 = performance.now();
        inpaintTelea(image, c.hole, { radius: RADIUS });
        wall.push(performance.now() - t0);
        cpu.push(cpuMs() - c0);
      }
      ours.set(c.name, { wall: median(wall), cpu: median(cpu) });
      if (server) {
        const holePath = join(work, `${c.name}.png`);
        const h255 = new Uint8Array(c.hole.length);
        for (let i = 0; i < h255.length; i++) h255[i] = c.hole[i] ? 255 : 0;
        await writePngGray(holePath, h255, W, H);
        const r = await server.run({ name: c.name, image: imagePath, hole: holePath, radius: RADIUS, repeat: runs, methods: ['telea'] });
        if (r.telea) cv.set(c.name, { wall: r.telea.ms, cpu: r.telea.cpuMs });
      }
    }

    const rows: string[][] = [
      ['holes', 'hole px', 'ours ms', 'opencv ms', 'ratio', 'ours cpu ms', 'opencv cpu ms', 'cpu ratio'],
    ];
    for (const c of cases) {
      const o = ours.get(c.name)!;
      const p = cv.get(c.name);
      const px = c.hole.reduce((a, v) => a + (v ? 1 : 0), 0);
      rows.push([
        `${(100 * c.fraction).toFixed(1)}% (${c.chains} bands)`,
        String(px),
        o.wall.toFixed(1),
        p ? p.wall.toFixed(1) : '—',
        p ? (o.wall / p.wall).toFixed(2) : '—',
        o.cpu.toFixed(1),
        p ? p.cpu.toFixed(1) : '—',
        p ? (o.cpu / p.cpu).toFixed(2) : '—',
      ]);
    }
    const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
    for (const r of rows) console.log(r.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]) : cell.padStart(widths[i]))).join('  '));
    console.log('ratio = ours / OpenCV (medians; < 1 means ours is faster)');
  } finally {
    server?.close();
    rmSync(work, { recursive: true, force: true });
  }
}

main(process.argv.slice(2)).catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
