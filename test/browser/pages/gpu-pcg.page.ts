/**
 * Browser page of test/browser/gpu-pcg.test.ts: every PCG kernel against a float64 CPU twin, the full GPU
 * solve against solveGridPCG / solveGridMultilevel, and buffer accounting. Each entry point runs inside
 * pushErrorScope('validation') and reports the scope's error; kernel outputs are poisoned with a NaN
 * pattern first, so an element a kernel fails to write shows up as NaN.
 */
import { expose, requestTestDevice } from './boot';
import { prolongInto, solveGridMultilevel, solveGridPCG, type GridSystem } from '../../../src/math/solver';
import {
  GpuGridSolver,
  bindPcgKernel,
  decodePcgState,
  defaultWorkgroups,
  dispatchPcgKernel,
  getPcgPipelines,
  pcgParams,
  solveGridMultilevelGpu,
  solveGridPCGGpu,
  type PcgKernel,
  type PcgRole,
} from '../../../src/gpu/pcg';
import { gpuBufferStats } from '../../../src/gpu/device';
import { BufferUsage, MapMode, navigatorGpu, type GpuBuffer, type GpuDevice } from '../../../src/gpu/webgpu';
import { mulberry32 as rng } from '../../fixtures/rng';

let device: GpuDevice | null = null;

function randomArray(n: number, r: () => number, lo: number, hi: number): Float32Array {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = lo + (hi - lo) * r();
  return a;
}

/**
 * A random SPD grid system: weights U(0, 2) (a few cut to 0), confidence U(0.05, 1) or, with `sparseData`,
 * zero on most pixels; with `fixedFraction` > 0 that share of pixels are Dirichlet pixels (and c = 0 then
 * also allowed), so every component keeps a data term or a fixed pixel.
 */
function randomSystem(W: number, H: number, seed: number, fixedFraction: number, sparseData = false): { sys: GridSystem; x0: Float32Array } {
  const r = rng(seed);
  const n = W * H;
  const c = new Float32Array(n);
  for (let i = 0; i < n; i++) c[i] = sparseData ? (r() < 0.05 ? 0.05 + r() : 0) : 0.05 + 0.95 * r();
  const wx = randomArray(n, r, 0, 2);
  const wy = randomArray(n, r, 0, 2);
  for (let i = 0; i < n; i++) {
    if (r() < 0.05) wx[i] = 0;
    if (r() < 0.05) wy[i] = 0;
  }
  const b = randomArray(n, r, -1, 3);
  const x0 = randomArray(n, r, -1, 3);
  let fixed: Uint8Array | undefined;
  if (fixedFraction > 0) {
    fixed = new Uint8Array(n);
    for (let i = 0; i < n; i++) if (r() < fixedFraction) fixed[i] = 1;
    fixed[0] = 1; // at least one Dirichlet pixel
  }
  const sys: GridSystem = { width: W, height: H, c, b, wx, wy };
  if (fixed) sys.fixed = fixed;
  return { sys, x0 };
}

async function withValidation<T>(dev: GpuDevice, fn: () => Promise<T>): Promise<T & { validationError: string | null }> {
  dev.pushErrorScope('validation');
  let value: T | undefined;
  let thrown: unknown;
  let failed = false;
  try {
    value = await fn();
  } catch (e) {
    failed = true;
    thrown = e;
  }
  const err = await dev.popErrorScope();
  if (failed) throw thrown;
  return { ...(value as T), validationError: err ? err.message : null };
}

// ---------------------------------------------------------------------------------------------------------
// Kernel harness: buffers by role, poisoned, one dispatch, read back.

const POISON = 0x7fc00000; // a quiet NaN
const RW = BufferUsage.STORAGE | BufferUsage.COPY_SRC | BufferUsage.COPY_DST;

function buffer(dev: GpuDevice, data: ArrayBufferView | null, bytes: number, usage = RW): GpuBuffer {
  const size = Math.max(16, Math.ceil(bytes / 4) * 4);
  const b = dev.createBuffer({ size, usage });
  const init = new Uint32Array(size / 4).fill(POISON);
  if (data) new Uint8Array(init.buffer).set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
  dev.queue.writeBuffer(b, 0, init);
  return b;
}

async function read(dev: GpuDevice, src: GpuBuffer): Promise<ArrayBuffer> {
  const st = dev.createBuffer({ size: src.size, usage: BufferUsage.MAP_READ | BufferUsage.COPY_DST });
  const e = dev.createCommandEncoder();
  e.copyBufferToBuffer(src, 0, st, 0, src.size);
  dev.queue.submit([e.finish()]);
  await st.mapAsync(MapMode.READ);
  const out = st.getMappedRange().slice(0);
  st.unmap();
  st.destroy();
  return out;
}

function scalarsBytes(s: { rz?: number; denom?: number; pq?: number; alpha?: number; beta?: number; residual?: number; iterations?: number; done?: number; status?: number; rz0?: number }): Uint32Array {
  const buf = new ArrayBuffer(64);
  const f = new Float32Array(buf);
  const u = new Uint32Array(buf);
  f[0] = s.rz ?? 0;
  f[1] = s.denom ?? 1;
  f[2] = s.pq ?? 0;
  f[3] = s.alpha ?? 0;
  f[4] = s.beta ?? 0;
  f[5] = s.residual ?? 0;
  u[6] = s.iterations ?? 0;
  u[7] = s.done ?? 0;
  u[8] = s.status ?? 0;
  f[9] = s.rz0 ?? 0;
  return u;
}

function runKernel(dev: GpuDevice, kernel: PcgKernel, buffers: Partial<Record<PcgRole, GpuBuffer>>, W: number, H: number): void {
  const pipes = getPcgPipelines(dev);
  const group = bindPcgKernel(dev, pipes, kernel, buffers);
  const e = dev.createCommandEncoder();
  const pass = e.beginComputePass();
  dispatchPcgKernel(pass, pipes, kernel, group, W, H);
  pass.end();
  dev.queue.submit([e.finish()]);
}

/** max_i |gpu_i − ref_i| / scale_i, and the number of non-finite GPU values (unwritten = NaN poison). */
function compare(gpu: Float32Array, ref: Float64Array, scale: Float64Array | number): { maxRel: number; nonFinite: number } {
  let maxRel = 0;
  let nonFinite = 0;
  for (let i = 0; i < ref.length; i++) {
    const g = gpu[i]!;
    if (!Number.isFinite(g)) {
      nonFinite++;
      continue;
    }
    const s = typeof scale === 'number' ? scale : scale[i]!;
    const e = Math.abs(g - ref[i]!) / (s > 0 ? s : 1);
    if (e > maxRel) maxRel = e;
  }
  return { maxRel, nonFinite };
}

/** Σ of each component of a kernel's vec2 partial sums, and how many partials hold a non-finite value. */
function sumPartials(pt: Float32Array, groups: number): { sums: [number, number]; nonFinite: number } {
  const sums: [number, number] = [0, 0];
  let nonFinite = 0;
  for (let g = 0; g < groups; g++) {
    if (!Number.isFinite(pt[2 * g]!) || !Number.isFinite(pt[2 * g + 1]!)) nonFinite++;
    sums[0] += pt[2 * g]!;
    sums[1] += pt[2 * g + 1]!;
  }
  return { sums, nonFinite };
}

interface KernelReport {
  kernel: string;
  outputs: Record<string, { maxRel: number; nonFinite: number }>;
  extra?: Record<string, unknown>;
}

/** f64 diagonal as the solver defines it (0 at fixed / isolated pixels), and the sum of its terms. */
function refDiagonal(sys: GridSystem): Float64Array {
  const { width: W, height: H, c, wx, wy, fixed } = sys;
  const d = new Float64Array(W * H);
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) {
      const i = y * W + x;
      let v = c[i]!;
      if (x + 1 < W) v += wx[i]!;
      if (x > 0) v += wx[i - 1]!;
      if (y + 1 < H) v += wy[i]!;
      if (y > 0) v += wy[i - W]!;
      d[i] = fixed && fixed[i] ? 0 : v > 0 ? v : 0;
    }
  }
  return d;
}

/** Neighbour loop helper: calls f(j, w_ij) for the in-grid neighbours of (x, y). */
function forNeighbours(sys: GridSystem, x: number, y: number, f: (j: number, w: number) => void): void {
  const { width: W, height: H, wx, wy } = sys;
  const i = y * W + x;
  if (x + 1 < W) f(i + 1, wx[i]!);
  if (x > 0) f(i - 1, wx[i - 1]!);
  if (y + 1 < H) f(i + W, wy[i]!);
  if (y > 0) f(i - W, wy[i - W]!);
}

async function kernelChecks(args: { seed: number; width: number; height: number; fixedFraction: number }): Promise<{ reports: KernelReport[]; validationError: string | null }> {
  const dev = device!;
  return withValidation(dev, async () => {
    const { width: W, height: H, seed } = args;
    const n = W * H;
    const { sys, x0 } = randomSystem(W, H, seed, args.fixedFraction);
    const r = rng(seed ^ 0xabcdef);
    const wg = defaultWorkgroups(dev);
    const groups = Math.ceil(W / wg.x) * Math.ceil(H / (wg.y * wg.rows));
    const reports: KernelReport[] = [];
    const created: GpuBuffer[] = [];
    const mk = (data: ArrayBufferView | null, bytes: number, usage?: number): GpuBuffer => {
      const b = buffer(dev, data, bytes, usage);
      created.push(b);
      return b;
    };
    const params = mk(new Uint8Array(pcgParams(W, H, wg, 100, 1e-3, !!sys.fixed)), 48, BufferUsage.UNIFORM | BufferUsage.COPY_DST);
    const w = new Float32Array(2 * n);
    w.set(sys.wx);
    w.set(sys.wy, n);
    const fixedBytes = new Uint8Array(Math.ceil(n / 4) * 4);
    if (sys.fixed) fixedBytes.set(sys.fixed);
    const common = { params, c: mk(sys.c, 4 * n), b: mk(sys.b, 4 * n), w: mk(w, 8 * n), fixed: mk(fixedBytes, fixedBytes.length) };

    // diagonal
    const dRef = refDiagonal(sys);
    {
      const diag = mk(null, 4 * n);
      runKernel(dev, 'diagonal', { ...common, diag }, W, H);
      const g = new Float32Array(await read(dev, diag), 0, n);
      // A sum of five non-negative terms: f32 error ≤ 4u·sum.
      reports.push({ kernel: 'diagonal', outputs: { diag: compare(g, dRef, dRef) } });
    }
    const diag32 = Float32Array.from(dRef);
    const diagBuf = mk(diag32, 4 * n);

    // residual: r = Cb − Ax at free pixels, p = z (both halves), partials of rᵀz and fᵀM⁻¹f
    {
      const x = mk(x0, 4 * n);
      const rBuf = mk(null, 4 * n);
      const pBuf = mk(null, 8 * n);
      const partials = mk(null, 8 * groups);
      runKernel(dev, 'residual', { ...common, diag: diagBuf, x, r: rBuf, p: pBuf, partials }, W, H);
      const rRef = new Float64Array(n);
      const rScale = new Float64Array(n);
      const zRef = new Float64Array(n);
      let rz = 0, rzAbs = 0, bn = 0, bnAbs = 0;
      for (let y = 0; y < H; y++) {
        for (let xx = 0; xx < W; xx++) {
          const i = y * W + xx;
          const d = diag32[i]!;
          if (!(d > 0)) continue;
          const cb = sys.c[i]! * sys.b[i]!;
          let ax = d * x0[i]!;
          let scale = Math.abs(cb) + Math.abs(d * x0[i]!);
          let f = cb;
          let fAbs = Math.abs(cb);
          forNeighbours(sys, xx, y, (j, wv) => {
            ax -= wv * x0[j]!;
            scale += Math.abs(wv * x0[j]!);
            if (!(diag32[j]! > 0)) {
              f += wv * x0[j]!;
              fAbs += Math.abs(wv * x0[j]!);
            }
          });
          rRef[i] = cb - ax;
          rScale[i] = scale;
          zRef[i] = rRef[i]! / d;
          rz += rRef[i]! * zRef[i]!;
          rzAbs += (scale * scale) / d;
          bn += (f * f) / d;
          bnAbs += (fAbs * fAbs) / d;
        }
      }
      const rg = new Float32Array(await read(dev, rBuf), 0, n);
      const pg = new Float32Array(await read(dev, pBuf), 0, 2 * n);
      const zScale = new Float64Array(n);
      for (let i = 0; i < n; i++) zScale[i] = diag32[i]! > 0 ? rScale[i]! / diag32[i]! : 1;
      const { sums: [sRz, sBn], nonFinite } = sumPartials(new Float32Array(await read(dev, partials), 0, 2 * groups), groups);
      reports.push({
        kernel: 'residual',
        outputs: {
          r: compare(rg, rRef, rScale),
          p0: compare(pg.subarray(0, n), zRef, zScale),
          p1: compare(pg.subarray(n, 2 * n), zRef, zScale),
          partialsRz: { maxRel: Math.abs(sRz - rz) / rzAbs, nonFinite },
          partialsBnorm: { maxRel: Math.abs(sBn - bn) / bnAbs, nonFinite },
        },
      });
    }

    // applyOperator: p_new = M⁻¹r + βp_old, x += αp_old, q = A p_new, partials of p_newᵀq
    for (const parity of [0, 1]) {
      const rv = randomArray(n, r, -1, 1);
      const pv = randomArray(2 * n, r, -1, 1);
      const xv = randomArray(n, r, -1, 1);
      const alpha = 0.5 + r();
      const beta = r();
      const scal = mk(scalarsBytes({ alpha, beta, iterations: 6 + parity }), 64);
      const rBuf = mk(rv, 4 * n);
      const pBuf = mk(pv, 8 * n);
      const xBuf = mk(xv, 4 * n);
      const qBuf = mk(null, 4 * n);
      const partials = mk(null, 8 * groups);
      runKernel(dev, 'applyOperator', { ...common, diag: diagBuf, r: rBuf, p: pBuf, x: xBuf, q: qBuf, partials, scalars: scal }, W, H);
      const cur = parity * n;
      const nxt = n - cur;
      const pNew = new Float64Array(n);
      const pNewScale = new Float64Array(n);
      const xRef = new Float64Array(n);
      const xScale = new Float64Array(n);
      for (let i = 0; i < n; i++) {
        const d = diag32[i]!;
        const z = d > 0 ? rv[i]! / d : 0;
        pNew[i] = z + beta * pv[cur + i]!;
        pNewScale[i] = Math.abs(z) + Math.abs(beta * pv[cur + i]!);
        xRef[i] = xv[i]! + alpha * pv[cur + i]!;
        xScale[i] = Math.abs(xv[i]!) + Math.abs(alpha * pv[cur + i]!);
      }
      const qRef = new Float64Array(n);
      const qScale = new Float64Array(n);
      let pq = 0, pqAbs = 0;
      for (let y = 0; y < H; y++) {
        for (let xx = 0; xx < W; xx++) {
          const i = y * W + xx;
          const d = diag32[i]!;
          if (!(d > 0)) continue;
          let q = d * pNew[i]!;
          let s = Math.abs(d) * pNewScale[i]!;
          forNeighbours(sys, xx, y, (j, wv) => {
            q -= wv * pNew[j]!;
            s += Math.abs(wv) * pNewScale[j]!;
          });
          qRef[i] = q;
          qScale[i] = s;
          pq += pNew[i]! * q;
          pqAbs += pNewScale[i]! * s;
        }
      }
      const pg = new Float32Array(await read(dev, pBuf), 0, 2 * n);
      const qg = new Float32Array(await read(dev, qBuf), 0, n);
      const xg = new Float32Array(await read(dev, xBuf), 0, n);
      const { sums: [sPq], nonFinite } = sumPartials(new Float32Array(await read(dev, partials), 0, 2 * groups), groups);
      let oldTouched = 0;
      for (let i = 0; i < n; i++) if (pg[cur + i] !== pv[cur + i]) oldTouched++;
      reports.push({
        kernel: `applyOperator(parity ${parity})`,
        outputs: {
          pNew: compare(pg.subarray(nxt, nxt + n), pNew, pNewScale),
          q: compare(qg, qRef, qScale),
          x: compare(xg, xRef, xScale),
          partialsPq: { maxRel: Math.abs(sPq - pq) / pqAbs, nonFinite },
        },
        extra: { oldDirectionChanged: oldTouched },
      });
    }

    // updateResidual: r −= αq, partials of rᵀM⁻¹r
    {
      const rv = randomArray(n, r, -1, 1);
      const qv = randomArray(n, r, -1, 1);
      const alpha = 0.5 + r();
      const scal = mk(scalarsBytes({ alpha }), 64);
      const rBuf = mk(rv, 4 * n);
      const qBuf = mk(qv, 4 * n);
      const partials = mk(null, 8 * groups);
      runKernel(dev, 'updateResidual', { ...common, diag: diagBuf, r: rBuf, q: qBuf, partials, scalars: scal }, W, H);
      const rRef = new Float64Array(n);
      const rScale = new Float64Array(n);
      let rz = 0, rzAbs = 0;
      for (let i = 0; i < n; i++) {
        rRef[i] = rv[i]! - alpha * qv[i]!;
        rScale[i] = Math.abs(rv[i]!) + Math.abs(alpha * qv[i]!);
        if (diag32[i]! > 0) {
          rz += (rRef[i]! * rRef[i]!) / diag32[i]!;
          rzAbs += (rScale[i]! * rScale[i]!) / diag32[i]!;
        }
      }
      const rg = new Float32Array(await read(dev, rBuf), 0, n);
      const { sums: [s], nonFinite } = sumPartials(new Float32Array(await read(dev, partials), 0, 2 * groups), groups);
      reports.push({ kernel: 'updateResidual', outputs: { r: compare(rg, rRef, rScale), partialsRz: { maxRel: Math.abs(s - rz) / rzAbs, nonFinite } } });
    }

    // applyStep: x += α p[iterations & 1]
    for (const parity of [0, 1]) {
      const pv = randomArray(2 * n, r, -1, 1);
      const xv = randomArray(n, r, -1, 1);
      const alpha = r();
      const scal = mk(scalarsBytes({ alpha, iterations: 4 + parity }), 64);
      const xBuf = mk(xv, 4 * n);
      runKernel(dev, 'applyStep', { params, x: xBuf, p: mk(pv, 8 * n), scalars: scal }, W, H);
      const ref = new Float64Array(n);
      const sc = new Float64Array(n);
      for (let i = 0; i < n; i++) {
        ref[i] = xv[i]! + alpha * pv[parity * n + i]!;
        sc[i] = Math.abs(xv[i]!) + Math.abs(alpha * pv[parity * n + i]!);
      }
      reports.push({ kernel: `applyStep(parity ${parity})`, outputs: { x: compare(new Float32Array(await read(dev, xBuf), 0, n), ref, sc) } });
    }

    // finalize kernels on random partials (positive, as the reduced quantities are at a solution's scale)
    {
      const pv = new Float32Array(2 * groups);
      for (let i = 0; i < 2 * groups; i++) pv[i] = r() * 10;
      let s0 = 0, s1 = 0;
      for (let g = 0; g < groups; g++) {
        s0 += pv[2 * g]!;
        s1 += pv[2 * g + 1]!;
      }
      const partials = mk(pv, 8 * groups);
      const rel = (a: number, b: number): number => Math.abs(a - b) / Math.abs(b);
      // finishSetup
      const scal = mk(null, 64);
      runKernel(dev, 'finishSetup', { params, partials, scalars: scal }, W, H);
      const st = decodePcgState(await read(dev, scal));
      const res = Math.sqrt(s0 / s1);
      reports.push({
        kernel: 'finishSetup',
        outputs: { rz: { maxRel: rel(st.rz, s0), nonFinite: 0 }, rz0: { maxRel: rel(st.rz0, s0), nonFinite: 0 }, denom: { maxRel: rel(st.denom, s1), nonFinite: 0 }, residual: { maxRel: rel(st.residual, res), nonFinite: 0 } },
        extra: { iterations: st.iterations, done: st.done, alpha: st.alpha, beta: st.beta, status: st.status, expectDone: !(res > 1e-3) },
      });
      // finishAlpha: α = rz / Σ, and the two failure states
      const rz = 1 + r();
      const scalA = mk(scalarsBytes({ rz }), 64);
      runKernel(dev, 'finishAlpha', { params, partials, scalars: scalA }, W, H);
      const sa = decodePcgState(await read(dev, scalA));
      const negative = mk(new Float32Array(2 * groups).fill(-1), 8 * groups);
      const scalNeg = mk(scalarsBytes({ rz }), 64);
      runKernel(dev, 'finishAlpha', { params, partials: negative, scalars: scalNeg }, W, H);
      const sn = decodePcgState(await read(dev, scalNeg));
      const zero = mk(new Float32Array(2 * groups), 8 * groups);
      const scalZero = mk(scalarsBytes({ rz, alpha: 3 }), 64);
      runKernel(dev, 'finishAlpha', { params, partials: zero, scalars: scalZero }, W, H);
      const sz = decodePcgState(await read(dev, scalZero));
      // pᵀAp < 0 once rᵀz is down by more than 1e-12 from its start: round-off, a clean stop.
      const scalRound = mk(scalarsBytes({ rz, rz0: rz * 1e13 }), 64);
      runKernel(dev, 'finishAlpha', { params, partials: negative, scalars: scalRound }, W, H);
      const so = decodePcgState(await read(dev, scalRound));
      reports.push({
        kernel: 'finishAlpha',
        outputs: { alpha: { maxRel: rel(sa.alpha, rz / s0), nonFinite: 0 }, pq: { maxRel: rel(sa.pq, s0), nonFinite: 0 } },
        extra: { okStatus: sa.status, okDone: sa.done, negStatus: sn.status, negDone: sn.done, zeroStatus: sz.status, zeroDone: sz.done, zeroAlpha: sz.alpha, roundStatus: so.status, roundDone: so.done },
      });
      // finishBeta: β = Σ / rz, rz ← Σ, iterations + 1, residual, stop test
      const scalB = mk(scalarsBytes({ rz, denom: 4, iterations: 5 }), 64);
      runKernel(dev, 'finishBeta', { params, partials, scalars: scalB }, W, H);
      const sb = decodePcgState(await read(dev, scalB));
      const resB = Math.sqrt(s0 / 4);
      reports.push({
        kernel: 'finishBeta',
        outputs: { beta: { maxRel: rel(sb.beta, s0 / rz), nonFinite: 0 }, rz: { maxRel: rel(sb.rz, s0), nonFinite: 0 }, residual: { maxRel: rel(sb.residual, resB), nonFinite: 0 } },
        extra: { iterations: sb.iterations, done: sb.done, expectDone: !(resB > 1e-3) },
      });
      // done = 1 freezes the state
      const scalD = mk(scalarsBytes({ rz, denom: 4, iterations: 5, done: 1, beta: 0.25 }), 64);
      runKernel(dev, 'finishBeta', { params, partials, scalars: scalD }, W, H);
      const sd = decodePcgState(await read(dev, scalD));
      reports.push({ kernel: 'finishBeta(done)', outputs: {}, extra: { iterations: sd.iterations, beta: sd.beta } });
    }

    // prolong: coarse → fine at non-fixed pixels; fixed pixels keep their values
    {
      const w2 = Math.ceil(W / 2);
      const h2 = Math.ceil(H / 2);
      const coarse = randomArray(w2 * h2, r, -1, 3);
      const xv = Float32Array.from(x0);
      const xBuf = mk(xv, 4 * n);
      runKernel(dev, 'prolong', { params, fixed: common.fixed, x: xBuf, coarse: mk(coarse, 4 * w2 * h2) }, W, H);
      const ref32 = Float32Array.from(x0);
      prolongInto(coarse, w2, ref32, W, H, sys.fixed);
      const g = new Float32Array(await read(dev, xBuf), 0, n);
      const sc = new Float64Array(n);
      for (let i = 0; i < n; i++) sc[i] = Math.max(Math.abs(ref32[i]!), 1);
      let fixedChanged = 0;
      if (sys.fixed) for (let i = 0; i < n; i++) if (sys.fixed[i] && g[i] !== x0[i]) fixedChanged++;
      reports.push({ kernel: 'prolong', outputs: { x: compare(g, Float64Array.from(ref32), sc) }, extra: { fixedChanged } });
    }
    for (const b of created) b.destroy();
    return { reports };
  });
}

// ---------------------------------------------------------------------------------------------------------
// Full solves

interface SolveComparison {
  width: number;
  height: number;
  cpu: { iterations: number; residual: number; converged: boolean };
  gpu: { iterations: number; residual: number; converged: boolean; backend: string; readbacks: number };
  /** max |x_gpu − x_cpu| / max |x_cpu|. */
  maxRelError: number;
  /** Same, measured against the exact (f64, tightly converged) solution, for both. */
  cpuErrorVsExact?: number;
  gpuErrorVsExact?: number;
  nonFinite: number;
}

function maxAbs(a: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]!));
  return m;
}

function relDiff(a: ArrayLike<number>, b: ArrayLike<number>): { rel: number; nonFinite: number } {
  let m = 0;
  let nonFinite = 0;
  for (let i = 0; i < a.length; i++) {
    if (!Number.isFinite(a[i]!)) nonFinite++;
    else m = Math.max(m, Math.abs(a[i]! - b[i]!));
  }
  return { rel: m / Math.max(maxAbs(b), 1e-30), nonFinite };
}

async function solveCompare(args: {
  seed: number;
  width: number;
  height: number;
  fixedFraction: number;
  sparseData?: boolean;
  tolerance: number;
  maxIterations: number;
  checkInterval?: number;
  multilevel?: boolean;
}): Promise<SolveComparison & { validationError: string | null }> {
  const dev = device!;
  return withValidation(dev, async () => {
    const { sys, x0 } = randomSystem(args.width, args.height, args.seed, args.fixedFraction, args.sparseData);
    const opts = { tolerance: args.tolerance, maxIterations: args.maxIterations, checkInterval: args.checkInterval ?? 8 };
    const cpu = args.multilevel ? solveGridMultilevel(sys, x0, opts) : solveGridPCG(sys, x0, opts);
    const gpu = args.multilevel ? await solveGridMultilevelGpu(dev, sys, x0, opts) : await solveGridPCGGpu(dev, sys, x0, opts);
    const d = relDiff(gpu.x, cpu.x);
    return {
      width: sys.width,
      height: sys.height,
      cpu: { iterations: cpu.iterations, residual: cpu.residual, converged: cpu.converged },
      gpu: { iterations: gpu.iterations, residual: gpu.residual, converged: gpu.converged, backend: gpu.backend, readbacks: gpu.readbacks },
      maxRelError: d.rel,
      nonFinite: d.nonFinite + (gpu.x.length === sys.width * sys.height ? 0 : 1),
    };
  });
}

/** A GPU-buffer-in, GPU-buffer-out solve (b and x0 already on the device) against the CPU solver. */
async function solveBuffers(args: { seed: number; width: number; height: number; tolerance: number; maxIterations: number }) {
  const dev = device!;
  return withValidation(dev, async () => {
    const { sys, x0 } = randomSystem(args.width, args.height, args.seed, 0.05);
    const n = sys.width * sys.height;
    const usage = BufferUsage.STORAGE | BufferUsage.COPY_SRC | BufferUsage.COPY_DST;
    const bBuf = buffer(dev, sys.b, 4 * n, usage);
    const xBuf = buffer(dev, x0, 4 * n, usage);
    const before = gpuBufferStats(dev);
    const gpu = await solveGridPCGGpu(dev, { ...sys, b: bBuf }, xBuf, { tolerance: args.tolerance, maxIterations: args.maxIterations, output: 'buffer' });
    const cpu = solveGridPCG(sys, x0, { tolerance: args.tolerance, maxIterations: args.maxIterations });
    const x = new Float32Array(await read(dev, gpu.xBuffer!), 0, n);
    gpu.xBuffer!.destroy();
    bBuf.destroy();
    xBuf.destroy();
    const after = gpuBufferStats(dev);
    const d = relDiff(x, cpu.x);
    return { maxRelError: d.rel, nonFinite: d.nonFinite, iterations: [cpu.iterations, gpu.iterations], liveBefore: before.live, liveAfter: after.live, handedOut: after.handedOut - before.handedOut };
  });
}

/** Repeated solves on one GpuGridSolver and one-call solves, then dispose: buffer counts before and after. */
async function leakCheck(args: { seed: number; runs: number }) {
  const dev = device!;
  return withValidation(dev, async () => {
    const before = gpuBufferStats(dev);
    const solver = new GpuGridSolver(dev);
    const sizes: [number, number][] = [[40, 30], [33, 17], [40, 30]];
    let during = 0;
    for (let k = 0; k < args.runs; k++) {
      const [W, H] = sizes[k % sizes.length]!;
      const { sys, x0 } = randomSystem(W, H, args.seed + k, 0.1);
      await solver.solve(sys, x0, { tolerance: 1e-5, maxIterations: 50 });
      await solver.solveMultilevel(sys, x0, { tolerance: 1e-4, maxIterations: 20, levels: 1 });
      during = Math.max(during, gpuBufferStats(dev).live);
    }
    // Overlapping calls on one solver (the second gets temporary buffers).
    const a = randomSystem(40, 30, args.seed + 99, 0);
    await Promise.all([solver.solve(a.sys, a.x0, { maxIterations: 10 }), solver.solve(a.sys, a.x0, { maxIterations: 10 })]);
    solver.dispose();
    const afterDispose = gpuBufferStats(dev);
    for (let k = 0; k < args.runs; k++) {
      const { sys, x0 } = randomSystem(24, 24, args.seed + 1000 + k, 0.1);
      await solveGridPCGGpu(dev, sys, x0, { maxIterations: 20 });
      await solveGridMultilevelGpu(dev, sys, x0, { maxIterations: 20, levels: 2 });
    }
    const afterOneCall = gpuBufferStats(dev);
    let disposedError = '';
    try {
      await solver.solve(a.sys, a.x0);
    } catch (e) {
      disposedError = (e as Error).message;
    }
    return { liveBefore: before.live, liveDuring: during, liveAfterDispose: afterDispose.live, liveAfterOneCall: afterOneCall.live, created: afterOneCall.created - before.created, disposedError };
  });
}

/** A system with pᵀAp < 0 (negative weights): the GPU solver must throw like the CPU one. */
async function indefinite() {
  const dev = device!;
  const { sys, x0 } = randomSystem(20, 20, 5, 0);
  // d = c + Σw stays positive (1 − 4·0.2) but the off-diagonal entries −w = +0.2 outweigh it: indefinite.
  sys.c.fill(1);
  sys.wx.fill(-0.2);
  sys.wy.fill(-0.2);
  let cpu = '';
  let gpu = '';
  try {
    solveGridPCG(sys, x0, {});
  } catch (e) {
    cpu = (e as Error).message;
  }
  try {
    await solveGridPCGGpu(dev, sys, x0, {});
  } catch (e) {
    gpu = (e as Error).message;
  }
  return { cpu, gpu };
}

/**
 * Device loss: (a) a device destroyed before the call, (b) one destroyed while the solve runs, (c) GPU-buffer
 * inputs on a lost device. (a) and (b) must finish on the CPU with the CPU solver's result and one warning
 * per device; (c) must throw (the CPU path cannot read GPU buffers).
 */
async function deviceLoss(args: { seed: number }) {
  const gpu = navigatorGpu()!;
  // An adapter makes one device: a fresh adapter per device.
  const newDevice = async (): Promise<GpuDevice> => (await (await gpu.requestAdapter())!.requestDevice());
  const warnings: string[] = [];
  const warn = console.warn;
  console.warn = (...a: unknown[]) => {
    warnings.push(a.map(String).join(' '));
  };
  try {
    const { sys, x0 } = randomSystem(60, 40, args.seed, 0.1);
    const opts = { tolerance: 1e-6, maxIterations: 500, checkInterval: 2 };
    const cpu = solveGridPCG(sys, x0, opts);
    const d1 = await newDevice();
    d1.destroy();
    await d1.lost;
    const a = await solveGridPCGGpu(d1, sys, x0, opts);
    const a2 = await solveGridPCGGpu(d1, sys, x0, opts); // same device: no second warning
    // Loss in the middle of the solve, at a deterministic point: the device destroys itself when the driver
    // asks for its third command encoder (upload + first batch, second batch, then the third batch).
    const real = await newDevice();
    let encoders = 0;
    const d2 = new Proxy(real, {
      get(target, prop) {
        const v = Reflect.get(target, prop, target) as unknown;
        if (prop === 'createCommandEncoder') {
          return (desc?: unknown) => {
            if (++encoders === 3) target.destroy();
            return target.createCommandEncoder(desc as never);
          };
        }
        return typeof v === 'function' ? (v as (...x: unknown[]) => unknown).bind(target) : v;
      },
    }) as GpuDevice;
    const b = await solveGridPCGGpu(d2, sys, x0, opts);
    const d3 = await newDevice();
    const usage = BufferUsage.STORAGE | BufferUsage.COPY_SRC | BufferUsage.COPY_DST;
    const bBuf = d3.createBuffer({ size: 4 * sys.b.length, usage });
    d3.destroy();
    await d3.lost;
    let cError = '';
    try {
      await solveGridPCGGpu(d3, { ...sys, b: bBuf }, x0, opts);
    } catch (e) {
      cError = `${(e as { code?: string }).code}: ${(e as Error).message}`;
    }
    return {
      a: { backend: a.backend, maxRelError: relDiff(a.x, cpu.x).rel },
      a2: { backend: a2.backend },
      b: { backend: b.backend, maxRelError: relDiff(b.x, cpu.x).rel },
      encoders,
      cError,
      warnings,
    };
  } finally {
    console.warn = warn;
  }
}

/** harmonizeGpu / solveGridPCGGpu with no device given: a device of our own from navigator.gpu. */
async function ownDevice(args: { seed: number }) {
  const { sys, x0 } = randomSystem(50, 30, args.seed, 0);
  const r1 = await solveGridPCGGpu(undefined, sys, x0, { tolerance: 1e-6, maxIterations: 500 });
  const r2 = await solveGridPCGGpu(null, sys, x0, { tolerance: 1e-6, maxIterations: 500 });
  const cpu = solveGridPCG(sys, x0, { tolerance: 1e-6, maxIterations: 500 });
  return { backends: [r1.backend, r2.backend], maxRelError: Math.max(relDiff(r1.x, cpu.x).rel, relDiff(r2.x, cpu.x).rel) };
}

expose(
  {
    async adapter() {
      return { available: !!device };
    },
    kernelChecks,
    solveCompare,
    solveBuffers,
    leakCheck,
    indefinite,
    deviceLoss,
    ownDevice,
  },
  async () => {
    device = await requestTestDevice();
  },
);
