/**
 * Inpainting evaluation (shared/docs/metrics.md §4).
 *
 *   npm run eval:inpaint -- <data-dir> [--json FILE] [--out DIR] [--repeat N] [--radius R]
 *
 * For every photo in <data-dir>/photos (*.jpg, *.jpeg, *.png, sorted by name):
 *
 * 1. Load it as sRGB; photos whose longest side exceeds 1920 px are downscaled (Lanczos 3) so that it is
 *    1920, the largest size the pipeline works at.
 * 2. Cut holes shaped like disocclusion bands. Photos have no masks, so object silhouettes are derived
 *    from the photo itself, deterministically:
 *    a. luminance (BT.601), Gaussian blur σ = 2 px, Sobel gradient;
 *    b. Canny-style edges: non-maximum suppression along the gradient (4 directions), hysteresis with
 *       high = 85th percentile of the surviving magnitudes and low = 0.4 × high, 8-connected;
 *    c. chains = 8-connected edge components; silhouette-like ones are long (≥ 4 % of the longest image
 *       side) and curve-like (bounding-box diagonal ≥ 0.3 × pixel count, which rules out tangled texture);
 *       the gradient direction is made consistent along each chain (breadth-first from its first pixel,
 *       flipping a pixel's gradient when it disagrees with its parent's), so the normal field does not
 *       flip where the contrast reverses along a silhouette;
 *    d. taking chains from the longest down, each gets a band width w ∈ {6, …, 20} px and a side
 *       (±normal) from a seeded generator (mulberry32, seed 0x5eed ^ hashSeed(file name), the FNV-1a hash of scripts/eval/synth.ts); the band is every
 *       pixel closer than w to the chain whose offset from its nearest chain pixel e satisfies
 *       side · (p − e) · n(e) ≥ −0.5 (the chain itself plus a w-px strip on one side: what a foreground
 *       object reveals when the camera moves sideways); chains are added until the holes cover 5 % of
 *       the image or 8 chains are used.
 *    The same hole is given to every method.
 * 3. Fill with ours (inpaintTelea, radius R = 5) and OpenCV cv2.inpaint INPAINT_TELEA and INPAINT_NS
 *    (radius 5) via scripts/eval/inpaint_peers.py: one long-lived /usr/bin/python3 process for all
 *    photos, fed photo by photo right after ours so that the timings are taken close together.
 *    Peers are skipped with a message when `import cv2` fails.
 * 4. Inside the hole: PSNR (RGB, peak 255), SSIM (luminance, Gaussian window 11, σ 1.5, map computed on
 *    the full image then averaged over hole pixels; see scripts/eval/image-metrics.ts) and time in ms
 *    (wall clock, median of --repeat runs, default 3; ours around the inpaintTelea call, after one
 *    untimed call on the first photo so that the JIT has compiled it; peers inside python around the
 *    cv2.inpaint call only, without file I/O).
 *
 * Prints a table (a row per photo, then mean and median rows); --json writes
 * {scenes:{<photo>:{diorama|telea|ns:{psnr,ssim,ms}}}, mean:{…}, median:{…}}, null where a metric
 * cannot be computed. --out keeps the holes and all results as PNGs in DIR.
 */
import { type ChildProcessByStdio, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { createInterface } from 'node:readline';
import type { Readable, Writable } from 'node:stream';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { RGBAImage } from '../src/core/types';
import { inpaintTelea } from '../src/math/telea';
import { convolveSeparable, gaussianKernel, luminance, mean, median, psnrRGB, ssimLuma } from './eval/image-metrics';
import { readImageRGBA, writePngGray, writePngRGBA } from './eval/io-node';
import { hashSeed } from './eval/synth';
import { mulberry32 } from '../test/fixtures/rng';

const HERE = dirname(fileURLToPath(import.meta.url));
export const PEERS_SCRIPT = join(HERE, 'eval', 'inpaint_peers.py');
export const PYTHON = '/usr/bin/python3';

// ---------------------------------------------------------------------------------------------------
// Disocclusion-band holes (procedure in the file header, step 2).

export interface HoleOptions {
  seed: number;
  /** Stop adding bands once this fraction of the image is covered. Default 0.05. */
  targetFraction?: number;
  /** At most this many chains. Default 8. */
  maxChains?: number;
  /** Band width range, pixels. Default 6–20. */
  minWidth?: number;
  maxWidth?: number;
}

export interface HoleResult {
  hole: Uint8Array;
  fraction: number;
  chains: number;
}

/** Canny-style edge chains with consistently oriented unit normals. */
interface Chains {
  /** Pixel indices of all chains, concatenated. */
  pixels: Int32Array;
  /** Chain k spans pixels[start[k] .. start[k+1]). */
  start: number[];
  nx: Float32Array;
  ny: Float32Array;
}

function edgeChains(image: RGBAImage): Chains {
  const { width: W, height: H } = image;
  const n = W * H;
  const Y = convolveSeparable(luminance(image), W, H, gaussianKernel(13, 2));
  const gx = new Float32Array(n);
  const gy = new Float32Array(n);
  const mag = new Float32Array(n);
  for (let y = 1; y < H - 1; y++) {
    for (let x = 1; x < W - 1; x++) {
      const i = y * W + x;
      const a = Y[i - W - 1];
      const b = Y[i - W];
      const c = Y[i - W + 1];
      const d = Y[i - 1];
      const f = Y[i + 1];
      const g = Y[i + W - 1];
      const h = Y[i + W];
      const k = Y[i + W + 1];
      const sx = c + 2 * f + k - (a + 2 * d + g);
      const sy = g + 2 * h + k - (a + 2 * b + c);
      gx[i] = sx;
      gy[i] = sy;
      mag[i] = Math.hypot(sx, sy);
    }
  }
  // Non-maximum suppression along the gradient, quantised to 0°, 45°, 90°, 135°.
  const nms = new Float32Array(n);
  const kept: number[] = [];
  const t22 = Math.tan(Math.PI / 8);
  const t67 = Math.tan((3 * Math.PI) / 8);
  for (let y = 1; y < H - 1; y++) {
    for (let x = 1; x < W - 1; x++) {
      const i = y * W + x;
      const m = mag[i];
      if (m <= 0) continue;
      const ax = Math.abs(gx[i]);
      const ay = Math.abs(gy[i]);
      let o: number;
      if (ay <= t22 * ax) o = 1;
      else if (ay >= t67 * ax) o = W;
      else o = gx[i] * gy[i] > 0 ? W + 1 : W - 1;
      if (m > mag[i - o] && m >= mag[i + o]) {
        nms[i] = m;
        kept.push(m);
      }
    }
  }
  kept.sort((a, b) => a - b);
  const high = kept.length ? kept[Math.min(kept.length - 1, Math.floor(0.85 * kept.length))] : Infinity;
  const low = 0.4 * high;
  // Hysteresis (8-connected).
  const edge = new Uint8Array(n);
  const stack: number[] = [];
  const nb8 = [-W - 1, -W, -W + 1, -1, 1, W - 1, W, W + 1];
  for (let i = 0; i < n; i++) {
    if (nms[i] >= high && !edge[i]) {
      edge[i] = 1;
      stack.push(i);
      while (stack.length) {
        const p = stack.pop()!;
        for (const o of nb8) {
          const q = p + o;
          if (q >= 0 && q < n && !edge[q] && nms[q] >= low) {
            edge[q] = 1;
            stack.push(q);
          }
        }
      }
    }
  }
  // Components (8-connected) by breadth-first search, orienting normals along the way.
  const nx = new Float32Array(n);
  const ny = new Float32Array(n);
  const seen = new Uint8Array(n);
  const all: number[] = [];
  const start: number[] = [0];
  for (let i = 0; i < n; i++) {
    if (!edge[i] || seen[i]) continue;
    const m0 = mag[i];
    nx[i] = gx[i] / m0;
    ny[i] = gy[i] / m0;
    seen[i] = 1;
    const first = all.length;
    all.push(i);
    for (let head = first; head < all.length; head++) {
      const p = all[head];
      for (const o of nb8) {
        const q = p + o;
        if (q < 0 || q >= n || !edge[q] || seen[q]) continue;
        // Reject wrap-around across the left/right image border.
        if (Math.abs((q % W) - (p % W)) > 1) continue;
        seen[q] = 1;
        const m = mag[q];
        let ux = gx[q] / m;
        let uy = gy[q] / m;
        if (ux * nx[p] + uy * ny[p] < 0) {
          ux = -ux;
          uy = -uy;
        }
        nx[q] = ux;
        ny[q] = uy;
        all.push(q);
      }
    }
    start.push(all.length);
  }
  return { pixels: Int32Array.from(all), start, nx, ny };
}

/** Bounding box [x0, y0, x1, y1] (inclusive) of the chain pixels pixels[s..e) of a W-wide image. */
function chainBox(pixels: ArrayLike<number>, s: number, e: number, W: number): [number, number, number, number] {
  let x0 = Infinity;
  let x1 = -Infinity;
  let y0 = Infinity;
  let y1 = -Infinity;
  for (let j = s; j < e; j++) {
    const p = pixels[j]!;
    const x = p % W;
    const y = (p / W) | 0;
    if (x < x0) x0 = x;
    if (x > x1) x1 = x;
    if (y < y0) y0 = y;
    if (y > y1) y1 = y;
  }
  return [x0, y0, x1, y1];
}

/**
 * Deterministic disocclusion-band holes for a photo (procedure in the file header, step 2).
 * @returns the hole (1 = fill), the covered fraction and how many chains were used.
 */
export function disocclusionHoles(image: RGBAImage, options: HoleOptions): HoleResult {
  const { width: W, height: H } = image;
  const target = options.targetFraction ?? 0.05;
  const maxChains = options.maxChains ?? 8;
  const wMin = options.minWidth ?? 6;
  const wMax = options.maxWidth ?? 20;
  const chains = edgeChains(image);
  const minLen = Math.round(0.04 * Math.max(W, H));
  const candidates: { k: number; len: number; box: [number, number, number, number] }[] = [];
  for (let k = 0; k + 1 < chains.start.length; k++) {
    const s = chains.start[k];
    const e = chains.start[k + 1];
    const len = e - s;
    if (len < minLen) continue;
    const box = chainBox(chains.pixels, s, e, W);
    if (Math.hypot(box[2] - box[0], box[3] - box[1]) < 0.3 * len) continue;
    candidates.push({ k, len, box });
  }
  candidates.sort((a, b) => b.len - a.len || a.k - b.k);

  const rng = mulberry32(options.seed);
  const hole = new Uint8Array(W * H);
  const best = new Float32Array(W * H).fill(Infinity);
  const owner = new Int32Array(W * H).fill(-1);
  let covered = 0;
  let used = 0;
  for (const { k, box } of candidates) {
    if (used >= maxChains || covered >= target * W * H) break;
    const w = wMin + Math.floor(rng() * (wMax - wMin + 1));
    const side = rng() < 0.5 ? -1 : 1;
    const s = chains.start[k];
    const e = chains.start[k + 1];
    // Nearest chain pixel within distance w, for every pixel around the chain.
    for (let j = s; j < e; j++) {
      const p = chains.pixels[j];
      const ex = p % W;
      const ey = (p / W) | 0;
      for (let dy = -w; dy <= w; dy++) {
        const y = ey + dy;
        if (y < 0 || y >= H) continue;
        for (let dx = -w; dx <= w; dx++) {
          const x = ex + dx;
          if (x < 0 || x >= W) continue;
          const d2 = dx * dx + dy * dy;
          if (d2 >= w * w) continue;
          const q = y * W + x;
          if (d2 < best[q]) {
            best[q] = d2;
            owner[q] = p;
          }
        }
      }
    }
    // The chain's bounding box grown by w, clipped to the image: every pixel given an owner above.
    const x0 = Math.max(0, box[0] - w);
    const y0 = Math.max(0, box[1] - w);
    const x1 = Math.min(W - 1, box[2] + w);
    const y1 = Math.min(H - 1, box[3] + w);
    for (let y = y0; y <= y1; y++) {
      for (let x = x0; x <= x1; x++) {
        const q = y * W + x;
        const p = owner[q];
        if (p < 0) continue;
        const dx = x - (p % W);
        const dy = y - ((p / W) | 0);
        if (side * (dx * chains.nx[p] + dy * chains.ny[p]) >= -0.5 && !hole[q]) {
          hole[q] = 1;
          covered++;
        }
        best[q] = Infinity;
        owner[q] = -1;
      }
    }
    used++;
  }
  return { hole, fraction: covered / (W * H), chains: used };
}

// ---------------------------------------------------------------------------------------------------
// Peers.

/** Whether /usr/bin/python3 can import cv2; the message says why not. */
export function peersAvailable(): { ok: boolean; message: string } {
  const r = spawnSync(PYTHON, ['-c', 'import cv2; print(cv2.__version__)'], { encoding: 'utf8' });
  if (r.status === 0) return { ok: true, message: `OpenCV ${r.stdout.trim()}` };
  return { ok: false, message: `${PYTHON} -c 'import cv2' failed (${(r.stderr || String(r.error)).trim().split('\n').pop()})` };
}

export interface PeerJob {
  name: string;
  image: string;
  hole: string;
  radius: number;
  repeat: number;
  methods: ('telea' | 'ns')[];
  out?: Partial<Record<'telea' | 'ns', string>>;
}

export interface PeerTiming {
  /** Median wall-clock ms of the cv2.inpaint call. */
  ms: number;
  runs: number[];
  /** Median CPU ms of the python process during the call. */
  cpuMs: number;
  cpuRuns: number[];
}

export interface PeerResult {
  name: string;
  telea?: PeerTiming;
  ns?: PeerTiming;
}

/**
 * One long-lived scripts/eval/inpaint_peers.py process: jobs go one JSON line at a time, so start-up is
 * paid once while the caller can interleave peer timings with its own (fairer on a busy machine).
 */
export class PeerProcess {
  private readonly _child: ChildProcessByStdio<Writable, Readable, null>;
  private readonly _lines: AsyncIterator<string>;
  private _hello: { cv2: string; threads: number } | undefined;

  constructor() {
    this._child = spawn(PYTHON, [PEERS_SCRIPT], { stdio: ['pipe', 'pipe', 'inherit'] });
    this._lines = createInterface({ input: this._child.stdout })[Symbol.asyncIterator]();
  }

  private async _next(): Promise<unknown> {
    const r = await this._lines.next();
    if (r.done) throw new Error('inpaint_peers.py exited unexpectedly');
    return JSON.parse(r.value);
  }

  /** OpenCV version and thread count reported by the process. */
  async hello(): Promise<{ cv2: string; threads: number }> {
    this._hello ??= (await this._next()) as { cv2: string; threads: number };
    return this._hello;
  }

  async run(job: PeerJob): Promise<PeerResult> {
    await this.hello();
    this._child.stdin.write(`${JSON.stringify(job)}\n`);
    const reply = (await this._next()) as PeerResult & { error?: string };
    if (reply.error) throw new Error(`inpaint_peers.py: ${reply.error}`);
    return reply;
  }

  close(): void {
    this._child.stdin.end();
  }
}

// ---------------------------------------------------------------------------------------------------
// Command.

type Method = 'diorama' | 'telea' | 'ns';
const METHODS: Method[] = ['diorama', 'telea', 'ns'];
interface Scores {
  psnr: number | null;
  ssim: number | null;
  ms: number | null;
}

function medianOf(xs: number[]): number {
  const v = [...xs].sort((a, b) => a - b);
  const m = v.length >> 1;
  return v.length % 2 ? v[m] : 0.5 * (v[m - 1] + v[m]);
}

function usage(): never {
  console.error('usage: tsx scripts/eval-inpaint.ts <data-dir> [--json FILE] [--out DIR] [--repeat N] [--radius R]');
  process.exit(2);
}

async function main(argv: string[]): Promise<void> {
  let dataDir: string | undefined;
  let jsonPath: string | undefined;
  let outDir: string | undefined;
  let repeat = 3;
  let radius = 5;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--json') jsonPath = argv[++i];
    else if (a === '--out') outDir = argv[++i];
    else if (a === '--repeat') repeat = Number(argv[++i]);
    else if (a === '--radius') radius = Number(argv[++i]);
    else if (a.startsWith('--')) usage();
    else dataDir = a;
  }
  if (!dataDir || !(repeat >= 1) || !(radius >= 1)) usage();
  const photoDir = join(dataDir, 'photos');
  if (!existsSync(photoDir)) {
    console.error(`no photos folder at ${photoDir}`);
    process.exit(1);
  }
  const files = readdirSync(photoDir)
    .filter((f) => /\.(jpe?g|png)$/i.test(f))
    .sort();
  if (files.length === 0) {
    console.error(`no *.jpg/*.png in ${photoDir}`);
    process.exit(1);
  }
  const work = outDir ? resolve(outDir) : mkdtempSync(join(tmpdir(), 'diorama-inpaint-'));
  mkdirSync(work, { recursive: true });
  const peers = peersAvailable();
  if (!peers.ok) console.warn(`peers skipped: ${peers.message}`);

  interface Scene {
    name: string;
    image: RGBAImage;
    hole: Uint8Array;
    fraction: number;
    ours: RGBAImage;
    oursMs: number;
    job: PeerJob;
  }
  const scenes: Scene[] = [];
  const peerResults = new Map<string, PeerResult>();
  const server = peers.ok ? new PeerProcess() : null;
  try {
    if (server) {
      const hello = await server.hello();
      console.error(`peers: OpenCV ${hello.cv2}, ${hello.threads} thread(s) available to it`);
    }
    let warmedUp = false;
    for (const file of files) {
      const name = basename(file).replace(/\.[^.]+$/, '');
      const image = await readImageRGBA(join(photoDir, file), { maxSide: 1920 });
      const { hole, fraction } = disocclusionHoles(image, { seed: 0x5eed ^ hashSeed(file) });
      const job: PeerJob = {
        name,
        image: join(work, `${name}.png`),
        hole: join(work, `${name}.hole.png`),
        radius,
        repeat,
        methods: ['telea', 'ns'],
        out: { telea: join(work, `${name}.telea.png`), ns: join(work, `${name}.ns.png`) },
      };
      await writePngRGBA(job.image, image);
      const hole255 = new Uint8Array(hole.length);
      for (let i = 0; i < hole.length; i++) hole255[i] = hole[i] ? 255 : 0;
      await writePngGray(job.hole, hole255, image.width, image.height);

      // Ours, then the peers on the same photo right after (timings close in time on a shared machine).
      if (!warmedUp) {
        inpaintTelea(image, hole, { radius });
        warmedUp = true;
      }
      let ours: RGBAImage | undefined;
      const runs: number[] = [];
      for (let r = 0; r < repeat; r++) {
        const t0 = performance.now();
        ours = inpaintTelea(image, hole, { radius });
        runs.push(performance.now() - t0);
      }
      if (outDir) await writePngRGBA(join(work, `${name}.diorama.png`), ours!);
      scenes.push({ name, image, hole, fraction, ours: ours!, oursMs: medianOf(runs), job });
      let line = `${name} ${image.width}x${image.height} hole ${(100 * fraction).toFixed(1)}%: ours ${medianOf(runs).toFixed(1)} ms`;
      if (server) {
        const r = await server.run(job);
        peerResults.set(name, r);
        line += `, telea ${r.telea?.ms.toFixed(1)} ms, ns ${r.ns?.ms.toFixed(1)} ms`;
      }
      console.error(line);
    }
  } finally {
    server?.close();
  }

  const report: {
    scenes: Record<string, Record<Method, Scores>>;
    mean: Record<Method, Scores>;
    median: Record<Method, Scores>;
  } = { scenes: {}, mean: {} as Record<Method, Scores>, median: {} as Record<Method, Scores> };
  const finite = (x: number | null): number | null => (x !== null && Number.isFinite(x) ? x : null);
  for (const s of scenes) {
    const row = {} as Record<Method, Scores>;
    row.diorama = {
      psnr: finite(psnrRGB(s.image, s.ours, s.hole)),
      ssim: finite(ssimLuma(s.image, s.ours, s.hole)),
      ms: s.oursMs,
    };
    const pr = peerResults.get(s.name);
    for (const m of ['telea', 'ns'] as const) {
      const timing = pr?.[m];
      if (!timing) {
        row[m] = { psnr: null, ssim: null, ms: null };
        continue;
      }
      const filled = await readImageRGBA(s.job.out![m]!);
      row[m] = {
        psnr: finite(psnrRGB(s.image, filled, s.hole)),
        ssim: finite(ssimLuma(s.image, filled, s.hole)),
        ms: timing.ms,
      };
    }
    report.scenes[s.name] = row;
  }
  for (const m of METHODS) {
    const rows = Object.values(report.scenes).map((r) => r[m]);
    for (const [agg, f] of [
      ['mean', mean],
      ['median', median],
    ] as const) {
      report[agg][m] = {
        psnr: f(rows.map((r) => r.psnr)),
        ssim: f(rows.map((r) => r.ssim)),
        ms: f(rows.map((r) => r.ms)),
      };
    }
  }

  // Table.
  const fmt = (x: number | null, d: number): string => (x === null ? '—' : x.toFixed(d));
  const head = ['photo', 'size', 'hole%'];
  for (const m of METHODS) head.push(`${m} PSNR`, `${m} SSIM`, `${m} ms`);
  const lines: string[][] = [head];
  for (const s of scenes) {
    const r = report.scenes[s.name];
    const line = [s.name, `${s.image.width}x${s.image.height}`, (100 * s.fraction).toFixed(1)];
    for (const m of METHODS) line.push(fmt(r[m].psnr, 2), fmt(r[m].ssim, 4), fmt(r[m].ms, 1));
    lines.push(line);
  }
  for (const agg of ['mean', 'median'] as const) {
    const fr = scenes.map((s) => 100 * s.fraction);
    const line = [agg, '', fmt(agg === 'mean' ? mean(fr) : median(fr), 1)];
    for (const m of METHODS) line.push(fmt(report[agg][m].psnr, 2), fmt(report[agg][m].ssim, 4), fmt(report[agg][m].ms, 1));
    lines.push(line);
  }
  const widths = head.map((_, c) => Math.max(...lines.map((l) => l[c].length)));
  for (const [i, l] of lines.entries()) {
    console.log(l.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]) : cell.padStart(widths[c]))).join('  '));
    if (i === 0 || i === scenes.length) console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  }
  if (jsonPath) {
    writeFileSync(jsonPath, JSON.stringify(report, null, 2));
    console.error(`wrote ${jsonPath}`);
  }
  if (!outDir) rmSync(work, { recursive: true, force: true });
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  main(process.argv.slice(2)).catch((e: unknown) => {
    console.error(e);
    process.exit(1);
  });
}
