/**
 * WebGPU driver of the grid solver: Jacobi-preconditioned conjugate gradient on the GridSystem of
 * src/math/solver.ts, (C + L_w) x = C b with optional Dirichlet pixels, entirely on the GPU.
 *
 * Kernels (shaders/pcg/*.wgsl, each with `common.wgsl` prepended):
 *   setup      diagonal → residual → finishSetup          d = diag(A); r = Cb − Ax; p = z = M⁻¹r; rᵀz, fᵀM⁻¹f
 *   iteration  applyOperator → finishAlpha → updateResidual → finishBeta
 *              (p = z + βp, x += α_prev p, q = Ap, pᵀq) (α) (r −= αq, rᵀz) (β, residual, stop test)
 *   end        applyStep                                   x += α p (the step the next iteration would apply)
 *   cascade    prolong                                      coarse solution → fine starting guess
 * Dot products are two-stage reductions: a pairwise tree in workgroup memory per workgroup, then one
 * workgroup sums the partials (finalize.wgsl). α, β, the residual and a `done` flag live in a storage buffer
 * written by the finalize kernels, so a batch of `checkInterval` iterations is one submission; kernels return
 * at once after `done`, so a batch may overshoot convergence at no cost beyond empty dispatches. The CPU reads
 * the 48-byte state back once per batch, with the next batch already submitted (the read-back latency is
 * hidden behind GPU work).
 *
 * Memory traffic per iteration, f32 (N pixels): applyOperator reads r, d, p_old (on a tile with a one-pixel
 * halo), wx, wy, x and writes p_new, q, x; updateResidual reads r, q, d and writes r. That is 13 words per
 * pixel plus the halo: {@link PCG_BYTES_PER_PIXEL_ITERATION}.
 *
 * Tiling: every pixel kernel covers tiles of WG_X × (WG_Y · ROWS) pixels, each invocation ROWS pixels of a
 * column (default 16 × 4 invocations × 4 rows). Kernels with barriers pay per invocation on software
 * adapters (SwiftShader runs them as coroutines: measured ~1–3 µs per invocation there); several pixels per
 * invocation cut that and the reduction work per pixel on any adapter.
 *
 * Precision: vectors are f32 like the CPU solver's; the CPU reduces in f64 and this in f32 (pairwise, Kahan
 * across workgroups), so α, β and the residual agree to a few f32 ulps times log2(N). The stop test is the
 * CPU's (relative preconditioned residual ≤ tolerance); where the residual lands within that rounding of the
 * tolerance the two may stop one iteration apart (see the tests for the resulting tolerance).
 */
import { DioramaError, invariant, throwIfAborted } from '../core/errors';
import { planMultilevel, solveGridMultilevel, solveGridPCG, type GridSystem, type MultilevelOptions, type SolveOptions, type SolveResult } from '../math/solver';
import commonWgsl from '../../shaders/pcg/common.wgsl';
import diagonalWgsl from '../../shaders/pcg/diagonal.wgsl';
import residualWgsl from '../../shaders/pcg/residual.wgsl';
import operatorWgsl from '../../shaders/pcg/operator.wgsl';
import updateWgsl from '../../shaders/pcg/update.wgsl';
import finalizeWgsl from '../../shaders/pcg/finalize.wgsl';
import prolongWgsl from '../../shaders/pcg/prolong.wgsl';
import {
  acquireGpuDevice,
  assertDeviceAlive,
  createTrackedBuffer,
  destroyTrackedBuffer,
  gpuFailure,
  handOutTrackedBuffer,
  isDeviceLost,
  isGpuFailure,
  readBuffer,
  scoped,
  warnFallback,
} from './device';
import { BufferUsage, ShaderStage, isGpuBuffer, type GpuBindGroup, type GpuBindGroupLayout, type GpuBuffer, type GpuCommandEncoder, type GpuComputePassEncoder, type GpuComputePipeline, type GpuDevice } from './webgpu';

// ---------------------------------------------------------------------------------------------------------
// Kernels and pipelines

/** Buffers a kernel can bind; the number is the binding index used by every file of shaders/pcg. */
const PCG_BINDINGS = Object.freeze({
  params: 0,
  c: 1,
  b: 2,
  w: 3,
  fixed: 4,
  diag: 5,
  x: 6,
  r: 7,
  p: 8,
  q: 9,
  partials: 10,
  scalars: 11,
  coarse: 12,
});

export type PcgRole = keyof typeof PCG_BINDINGS;
type Access = 'uniform' | 'read' | 'rw';

interface KernelSpec {
  source: string;
  entry: string;
  /** 'pixel': 2-D dispatch over the grid in WG_X × (WG_Y · ROWS)-pixel tiles; 'single': one workgroup of `reduce` invocations. */
  kind: 'pixel' | 'single';
  bindings: ReadonlyArray<readonly [PcgRole, Access]>;
}

/** Every kernel of the solver, with the bindings its entry point uses. */
const PCG_KERNELS = {
  diagonal: { source: diagonalWgsl, entry: 'diagonal', kind: 'pixel', bindings: [['params', 'uniform'], ['c', 'read'], ['w', 'read'], ['fixed', 'read'], ['diag', 'rw']] },
  residual: {
    source: residualWgsl,
    entry: 'residual',
    kind: 'pixel',
    bindings: [['params', 'uniform'], ['c', 'read'], ['b', 'read'], ['w', 'read'], ['diag', 'read'], ['x', 'read'], ['r', 'rw'], ['p', 'rw'], ['partials', 'rw']],
  },
  applyOperator: {
    source: operatorWgsl,
    entry: 'applyOperator',
    kind: 'pixel',
    bindings: [['params', 'uniform'], ['w', 'read'], ['diag', 'read'], ['x', 'rw'], ['r', 'read'], ['p', 'rw'], ['q', 'rw'], ['partials', 'rw'], ['scalars', 'read']],
  },
  updateResidual: {
    source: updateWgsl,
    entry: 'updateResidual',
    kind: 'pixel',
    bindings: [['params', 'uniform'], ['diag', 'read'], ['r', 'rw'], ['q', 'read'], ['partials', 'rw'], ['scalars', 'read']],
  },
  applyStep: { source: updateWgsl, entry: 'applyStep', kind: 'pixel', bindings: [['params', 'uniform'], ['x', 'rw'], ['p', 'read'], ['scalars', 'read']] },
  finishSetup: { source: finalizeWgsl, entry: 'finishSetup', kind: 'single', bindings: [['params', 'uniform'], ['partials', 'read'], ['scalars', 'rw']] },
  finishAlpha: { source: finalizeWgsl, entry: 'finishAlpha', kind: 'single', bindings: [['params', 'uniform'], ['partials', 'read'], ['scalars', 'rw']] },
  finishBeta: { source: finalizeWgsl, entry: 'finishBeta', kind: 'single', bindings: [['params', 'uniform'], ['partials', 'read'], ['scalars', 'rw']] },
  prolong: { source: prolongWgsl, entry: 'prolong', kind: 'pixel', bindings: [['params', 'uniform'], ['fixed', 'read'], ['x', 'rw'], ['coarse', 'read']] },
} as const satisfies Record<string, KernelSpec>;

export type PcgKernel = keyof typeof PCG_KERNELS;

/** Workgroup shape (the shaders' `override` constants). */
export interface PcgWorkgroups {
  /** WG_X × WG_Y invocations per pixel-kernel workgroup. Default 16 × 4. */
  x: number;
  y: number;
  /** ROWS, pixels per invocation (stacked vertically): tiles of x × (y · rows) pixels. Default 4 (16 × 16 tiles). */
  rows: number;
  /** Invocations of the single-workgroup finalize kernels (their WG_X; WG_Y = 1). Default 256 (or the device's limit). */
  reduce: number;
}

/**
 * Bytes of GPU memory traffic per pixel and PCG iteration for a tile shape: 13 f32 words (applyOperator:
 * x, wx, wy read, x, p_new, q written, plus r, d, p_old; updateResidual: r, q, d read, r written) plus the
 * halo re-reads of r, d and p_old around each tile (a cache usually absorbs those).
 */
export function pcgBytesPerPixelIteration(wg: Pick<PcgWorkgroups, 'x' | 'y' | 'rows'>): number {
  const tw = wg.x;
  const th = wg.y * wg.rows;
  return 4 * (10 + (3 * ((tw + 2) * (th + 2))) / (tw * th));
}

/** {@link pcgBytesPerPixelIteration} of the default 16 × 16-pixel tiles (≈ 55 B). */
export const PCG_BYTES_PER_PIXEL_ITERATION = pcgBytesPerPixelIteration({ x: 16, y: 4, rows: 4 });

/** Uniform buffer of struct Params of common.wgsl (7 words), rounded up to 16 bytes. */
const PARAMS_BYTES = 32;
/** Storage block of struct Scalars of common.wgsl (10 words). */
const SCALARS_BYTES = 40;

interface Pipelines {
  wg: PcgWorkgroups;
  kernels: Record<PcgKernel, { pipeline: GpuComputePipeline; layout: GpuBindGroupLayout; spec: KernelSpec }>;
}

const pipelineCache = new WeakMap<GpuDevice, Map<string, Pipelines>>();

/**
 * Default workgroup shape for a device: 16 × 4 invocations of 4 pixels each (16 × 16-pixel tiles; every
 * WebGPU device allows 256 invocations of up to 256 × 256 × 64, so this always fits), and 256 (or the
 * device's limit) for the finalize kernels. Four pixels per invocation halve the reduction trees' barriers
 * per pixel compared with one, and keep rows of 16 consecutive pixels per memory access.
 */
export function defaultWorkgroups(device: GpuDevice): PcgWorkgroups {
  const lim = device.limits;
  const inv = lim.maxComputeInvocationsPerWorkgroup ?? 256;
  const reduce = Math.min(256, inv, lim.maxComputeWorkgroupSizeX ?? 256);
  // Software adapters: half the invocations again (same 16 × 16 tiles, so the same reductions).
  return isSoftwareAdapter(device) ? { x: 16, y: 2, rows: 8, reduce } : { x: 16, y: 4, rows: 4, reduce };
}

/**
 * True for a CPU-emulated adapter (SwiftShader, or one flagged as a fallback adapter), read from
 * `device.adapterInfo` where the browser provides it. Such adapters pay for every dispatched invocation of a
 * kernel with barriers (even one that returns at once), so the drivers use fewer invocations and submit no
 * speculative batches there.
 */
export function isSoftwareAdapter(device: GpuDevice): boolean {
  const info = (device as { adapterInfo?: { architecture?: string; isFallbackAdapter?: boolean } }).adapterInfo;
  return !!info && (info.isFallbackAdapter === true || /swiftshader/i.test(info.architecture ?? ''));
}

/**
 * The solver's pipelines on `device` for these workgroup sizes, compiled on first use and cached per device
 * (a WeakMap: a lost or dropped device takes its pipelines with it).
 */
export function getPcgPipelines(device: GpuDevice, wg: PcgWorkgroups = defaultWorkgroups(device)): Pipelines {
  for (const [k, v] of [['x', wg.x], ['y', wg.y], ['rows', wg.rows], ['reduce', wg.reduce]] as const) {
    if (!Number.isInteger(v) || v < 1) throw new DioramaError('INVALID_OPTION', `gpu pcg: workgroup '${k}' must be a positive integer; found ${v}`);
  }
  if (wg.x * wg.y > device.limits.maxComputeInvocationsPerWorkgroup || wg.reduce > device.limits.maxComputeInvocationsPerWorkgroup) {
    throw new DioramaError('INVALID_OPTION', `gpu pcg: workgroups ${wg.x}×${wg.y} / ${wg.reduce} exceed the device's ${device.limits.maxComputeInvocationsPerWorkgroup} invocations per workgroup`);
  }
  let perDevice = pipelineCache.get(device);
  if (!perDevice) {
    perDevice = new Map();
    pipelineCache.set(device, perDevice);
  }
  const key = `${wg.x}x${wg.y}x${wg.rows}/${wg.reduce}`;
  const hit = perDevice.get(key);
  if (hit) return hit;
  const modules = new Map<string, ReturnType<GpuDevice['createShaderModule']>>();
  const kernels = {} as Pipelines['kernels'];
  for (const name of Object.keys(PCG_KERNELS) as PcgKernel[]) {
    const spec: KernelSpec = PCG_KERNELS[name];
    let module = modules.get(spec.source);
    if (!module) {
      module = device.createShaderModule({ label: `diorama pcg ${spec.entry}`, code: `${commonWgsl}\n${spec.source}` });
      modules.set(spec.source, module);
    }
    const layout = device.createBindGroupLayout({
      label: `diorama pcg ${name}`,
      entries: spec.bindings.map(([role, access]) => ({
        binding: PCG_BINDINGS[role],
        visibility: ShaderStage.COMPUTE,
        buffer: { type: access === 'uniform' ? 'uniform' : access === 'read' ? 'read-only-storage' : 'storage' },
      })),
    });
    const constants: Record<string, number> = spec.kind === 'pixel' ? { WG_X: wg.x, WG_Y: wg.y, ROWS: wg.rows } : { WG_X: wg.reduce, WG_Y: 1 };
    const pipeline = device.createComputePipeline({
      label: `diorama pcg ${name}`,
      layout: device.createPipelineLayout({ bindGroupLayouts: [layout] }),
      compute: { module, entryPoint: spec.entry, constants },
    });
    kernels[name] = { pipeline, layout, spec };
  }
  const built: Pipelines = { wg: { ...wg }, kernels };
  perDevice.set(key, built);
  return built;
}

/** Bind group of one kernel from buffers by role (only the roles the kernel uses are read). */
export function bindPcgKernel(device: GpuDevice, pipes: Pipelines, kernel: PcgKernel, buffers: Partial<Record<PcgRole, GpuBuffer>>): GpuBindGroup {
  const k = pipes.kernels[kernel];
  return device.createBindGroup({
    label: `diorama pcg ${kernel}`,
    layout: k.layout,
    entries: k.spec.bindings.map(([role]) => {
      const buffer = buffers[role];
      invariant(buffer, `gpu pcg: kernel '${kernel}' needs a '${role}' buffer`);
      return { binding: PCG_BINDINGS[role], resource: { buffer } };
    }),
  });
}

/** Records one dispatch of `kernel` into an open compute pass (pixel kernels cover width × height). */
export function dispatchPcgKernel(pass: GpuComputePassEncoder, pipes: Pipelines, kernel: PcgKernel, group: GpuBindGroup, width: number, height: number): void {
  const k = pipes.kernels[kernel];
  pass.setPipeline(k.pipeline);
  pass.setBindGroup(0, group);
  if (k.spec.kind === 'single') pass.dispatchWorkgroups(1);
  else pass.dispatchWorkgroups(Math.ceil(width / pipes.wg.x), Math.ceil(height / (pipes.wg.y * pipes.wg.rows)));
}

/** Contents of the Params uniform block for a grid level. */
export function pcgParams(width: number, height: number, wg: PcgWorkgroups, maxIterations: number, tolerance: number, hasFixed: boolean): ArrayBuffer {
  const buf = new ArrayBuffer(PARAMS_BYTES);
  const u = new Uint32Array(buf);
  const f = new Float32Array(buf);
  const gx = Math.ceil(width / wg.x);
  const gy = Math.ceil(height / (wg.y * wg.rows));
  u[0] = width;
  u[1] = height;
  u[2] = gx;
  u[3] = gx * gy;
  u[4] = Math.min(0xffffffff, Math.max(0, Math.floor(maxIterations)));
  u[5] = hasFixed ? 1 : 0;
  f[6] = tolerance;
  return buf;
}

/** Decoded struct Scalars. */
export interface PcgState {
  rz: number;
  denom: number;
  pq: number;
  alpha: number;
  beta: number;
  residual: number;
  iterations: number;
  done: boolean;
  /** 0 ok, 1 breakdown (pᵀAp = 0 or NaN, or ≤ 0 at round-off), 2 indefinite (pᵀAp < 0). */
  status: number;
  /** rᵀz of the starting residual. */
  rz0: number;
}

/** Reads struct Scalars (common.wgsl) from the first SCALARS_BYTES of `bytes`. */
export function decodePcgState(bytes: ArrayBuffer): PcgState {
  const f = new Float32Array(bytes, 0, SCALARS_BYTES / 4);
  const u = new Uint32Array(bytes, 0, SCALARS_BYTES / 4);
  return { rz: f[0]!, denom: f[1]!, pq: f[2]!, alpha: f[3]!, beta: f[4]!, residual: f[5]!, iterations: u[6]!, done: u[7] !== 0, status: u[8]!, rz0: f[9]! };
}

// ---------------------------------------------------------------------------------------------------------
// Workspaces

const STORAGE = BufferUsage.STORAGE | BufferUsage.COPY_DST | BufferUsage.COPY_SRC;

/** The buffers and bind groups of one grid size. */
class Level {
  readonly n: number;
  readonly buffers: Record<Exclude<PcgRole, 'coarse'>, GpuBuffer>;
  readonly readback: [GpuBuffer, GpuBuffer];
  staging: GpuBuffer | undefined;
  readonly groups: Record<Exclude<PcgKernel, 'prolong'>, GpuBindGroup>;
  busy = false;

  constructor(
    readonly device: GpuDevice,
    readonly pipes: Pipelines,
    readonly width: number,
    readonly height: number,
  ) {
    const n = width * height;
    this.n = n;
    const partialCount = Math.ceil(width / pipes.wg.x) * Math.ceil(height / (pipes.wg.y * pipes.wg.rows));
    const mk = (label: string, size: number, usage = STORAGE): GpuBuffer =>
      createTrackedBuffer(device, { label: `diorama pcg ${label} ${width}x${height}`, size: Math.max(16, Math.ceil(size / 4) * 4), usage });
    this.buffers = {
      params: mk('params', PARAMS_BYTES, BufferUsage.UNIFORM | BufferUsage.COPY_DST),
      c: mk('c', 4 * n),
      b: mk('b', 4 * n),
      w: mk('w', 8 * n),
      fixed: mk('fixed', n),
      diag: mk('diag', 4 * n),
      x: mk('x', 4 * n),
      r: mk('r', 4 * n),
      p: mk('p', 8 * n),
      q: mk('q', 4 * n),
      partials: mk('partials', 8 * partialCount),
      scalars: mk('scalars', SCALARS_BYTES),
    };
    const rb = (k: number): GpuBuffer => mk(`readback${k}`, SCALARS_BYTES, BufferUsage.MAP_READ | BufferUsage.COPY_DST);
    this.readback = [rb(0), rb(1)];
    const g = {} as Level['groups'];
    for (const k of Object.keys(PCG_KERNELS) as PcgKernel[]) {
      if (k !== 'prolong') g[k] = bindPcgKernel(device, pipes, k, this.buffers);
    }
    this.groups = g;
  }

  /** MAP_READ buffer for the solution, made on first use. */
  stagingBuffer(): GpuBuffer {
    if (!this.staging) {
      this.staging = createTrackedBuffer(this.device, {
        label: `diorama pcg staging ${this.width}x${this.height}`,
        size: Math.max(16, 4 * this.n),
        usage: BufferUsage.MAP_READ | BufferUsage.COPY_DST,
      });
    }
    return this.staging;
  }

  dispatch(pass: GpuComputePassEncoder, kernel: Exclude<PcgKernel, 'prolong'>): void {
    dispatchPcgKernel(pass, this.pipes, kernel, this.groups[kernel], this.width, this.height);
  }

  destroy(): void {
    for (const b of Object.values(this.buffers)) destroyTrackedBuffer(this.device, b);
    destroyTrackedBuffer(this.device, this.readback[0]);
    destroyTrackedBuffer(this.device, this.readback[1]);
    destroyTrackedBuffer(this.device, this.staging);
  }
}

// ---------------------------------------------------------------------------------------------------------
// Public types

/** A GridSystem whose data target may already be on the GPU (f32, W·H values, COPY_SRC usage). */
export type GpuGridSystem = Omit<GridSystem, 'b'> & { b: Float32Array | GpuBuffer };

export interface GpuSolveOptions extends SolveOptions {
  /** Iterations per submission; the solver state is read back once per batch. Default 8. */
  checkInterval?: number;
  /**
   * Submit the next batch before reading back the current one, hiding the read-back latency (the extra
   * batch costs only early-returning dispatches once converged). Default true, false on software adapters.
   */
  speculate?: boolean;
  /**
   * 'array' (default): the solution is read back into `x`. 'buffer': it stays on the GPU in `xBuffer` (a new
   * STORAGE | COPY_SRC | COPY_DST buffer of W·H f32 that the caller owns and destroys); `x` is then empty.
   */
  output?: 'array' | 'buffer';
}

export interface GpuSolveResult extends SolveResult {
  /** Where the solve ran: 'webgpu', or 'cpu' after a fallback (no WebGPU, device lost, out of memory). */
  backend: 'webgpu' | 'cpu';
  /** The solution on the GPU with `output: 'buffer'`. */
  xBuffer?: GpuBuffer;
  /** Solver-state read-backs (batches waited for). */
  readbacks: number;
}

export interface GpuMultilevelOptions extends MultilevelOptions, Pick<GpuSolveOptions, 'checkInterval' | 'speculate'> {}

// ---------------------------------------------------------------------------------------------------------
// The solver

/**
 * A reusable GPU grid solver on one device. Buffers are kept per grid size between calls (a per-frame solve
 * allocates nothing after the first); `dispose()` destroys them all. Calls may overlap: a call that finds its
 * size's buffers in use gets temporary ones.
 */
export class GpuGridSolver {
  private readonly _levels = new Map<string, Level>();
  private _disposed = false;
  private readonly _pipes: Pipelines;
  /** Rejects when building the pipelines raised a WebGPU error (awaited by every call). */
  private readonly _built: Promise<void>;

  /**
   * @param device The device to run on (the caller keeps ownership).
   * @param workgroups Workgroup sizes; default {@link defaultWorkgroups}.
   */
  constructor(
    readonly device: GpuDevice,
    workgroups?: PcgWorkgroups,
  ) {
    assertDeviceAlive(device, 'gpu pcg');
    const built = scoped(device, 'gpu pcg: building pipelines', () => getPcgPipelines(device, workgroups));
    this._pipes = built.value;
    this._built = built.errors;
  }

  /** Destroys every buffer of the solver. Calls in flight finish first on their (temporary) buffers. */
  dispose(): void {
    this._disposed = true;
    for (const l of this._levels.values()) if (!l.busy) l.destroy();
    this._levels.clear();
  }

  /**
   * Jacobi-PCG from `x0` (its values at fixed pixels are the Dirichlet values), the GPU twin of solveGridPCG:
   * same system, same stopping rule, same iteration cap. `sys.b` and `x0` may be GPU buffers (W·H f32 with
   * COPY_SRC usage, on this device). Throws DioramaError on bad input, on an indefinite system (as the CPU
   * solver does) and on GPU failure (see isGpuFailure).
   */
  async solve(sys: GpuGridSystem, x0: Float32Array | GpuBuffer, options: GpuSolveOptions = {}): Promise<GpuSolveResult> {
    checkSystem(sys, x0, 'solveGridPCGGpu');
    const tolerance = options.tolerance ?? 1e-4;
    const maxIterations = options.maxIterations ?? 500;
    const level = await this._acquire(sys.width, sys.height);
    try {
      const upload = scoped(this.device, 'gpu pcg: upload', () => {
        const e = this.device.createCommandEncoder({ label: 'diorama pcg' });
        this._upload(level, sys, x0, maxIterations, tolerance, e);
        return e;
      });
      const state = await this._run(level, upload.value, maxIterations, options);
      await upload.errors;
      return await this._finish(level, state, tolerance, options.output ?? 'array');
    } finally {
      this._release(level);
    }
  }

  /**
   * Coarse-to-fine PCG, the GPU twin of solveGridMultilevel: the cascade is the CPU one (planMultilevel:
   * the restricted systems are built on the CPU), each level is solved on the GPU and prolonged on the GPU into
   * the next level's starting guess; only the solver state is read back between levels. A level's last step
   * (applyStep) and its prolongation ride in the next level's first submission.
   */
  async solveMultilevel(sys: GridSystem, x0: Float32Array, options: GpuMultilevelOptions = {}): Promise<GpuSolveResult & { coarseIterations: number }> {
    checkSystem(sys, x0, 'solveGridMultilevelGpu');
    const plan = planMultilevel(sys, x0, options); // the CPU solver's cascade, coarsest level first
    const held: Level[] = [];
    try {
      let coarseIterations = 0;
      let prev: Level | undefined;
      let readbacks = 0;
      let last: PcgState | undefined;
      for (let k = 0; k < plan.length; k++) {
        const lv = plan[k]!;
        const level = await this._acquire(lv.sys.width, lv.sys.height, held);
        held.push(level);
        const upload = scoped(this.device, 'gpu pcg: upload', () => {
          const e = this.device.createCommandEncoder({ label: 'diorama pcg cascade' });
          this._upload(level, lv.sys, lv.x0, lv.maxIterations, lv.tolerance, e);
          if (prev) {
            const group = bindPcgKernel(this.device, this._pipes, 'prolong', { ...level.buffers, coarse: prev.buffers.x });
            const pass = e.beginComputePass({ label: 'diorama pcg prolong' });
            // The coarse level's last step first, so that its x is complete before it is prolonged.
            prev.dispatch(pass, 'applyStep');
            dispatchPcgKernel(pass, this._pipes, 'prolong', group, level.width, level.height);
            pass.end();
          }
          return e;
        });
        const state = await this._run(level, upload.value, lv.maxIterations, options);
        await upload.errors;
        readbacks += state.readbacks;
        if (state.status === 2) throwIndefinite(state);
        if (k < plan.length - 1) coarseIterations += state.iterations;
        prev = level;
        last = state;
      }
      invariant(prev && last, 'gpu pcg: empty cascade');
      const res = await this._finish(prev, { ...last, readbacks }, plan[plan.length - 1]!.tolerance, 'array');
      return { ...res, coarseIterations };
    } finally {
      for (const l of held) this._release(l);
    }
  }

  /**
   * The buffers of a width × height level, marked busy: the cached ones when free, else new ones (cached
   * when the size had none). Allocation errors (out of memory) reject as GPU failures.
   */
  private async _acquire(width: number, height: number, exclude: Level[] = []): Promise<Level> {
    if (this._disposed) throw new DioramaError('INVALID_OPTION', 'gpu pcg: the solver was disposed');
    assertDeviceAlive(this.device, 'gpu pcg');
    await this._built;
    if (this._disposed) throw new DioramaError('INVALID_OPTION', 'gpu pcg: the solver was disposed');
    const lim = this.device.limits;
    const n = width * height;
    if (8 * n > lim.maxStorageBufferBindingSize || 8 * n > lim.maxBufferSize) {
      throw gpuFailure(`gpu pcg: a ${width}x${height} grid needs ${8 * n} bytes per buffer; the device allows ${Math.min(lim.maxStorageBufferBindingSize, lim.maxBufferSize)}`);
    }
    if (Math.ceil(width / this._pipes.wg.x) > lim.maxComputeWorkgroupsPerDimension || Math.ceil(height / (this._pipes.wg.y * this._pipes.wg.rows)) > lim.maxComputeWorkgroupsPerDimension) {
      throw gpuFailure(`gpu pcg: a ${width}x${height} grid needs more workgroups per dimension than the device's ${lim.maxComputeWorkgroupsPerDimension}`);
    }
    const key = `${width}x${height}`;
    const cached = this._levels.get(key);
    if (cached && !cached.busy && !exclude.includes(cached)) {
      cached.busy = true;
      return cached;
    }
    const made = scoped(this.device, 'gpu pcg: allocating buffers', () => new Level(this.device, this._pipes, width, height));
    const level = made.value;
    level.busy = true;
    try {
      await made.errors;
    } catch (e) {
      level.destroy();
      throw e;
    }
    if (!this._levels.has(key) && !this._disposed) this._levels.set(key, level);
    return level;
  }

  private _release(level: Level): void {
    level.busy = false;
    if (this._disposed || this._levels.get(`${level.width}x${level.height}`) !== level) level.destroy();
  }

  /** Writes the system and the starting guess into the level's buffers (GPU sources are copied by `enc`). */
  private _upload(level: Level, sys: GpuGridSystem, x0: Float32Array | GpuBuffer, maxIterations: number, tolerance: number, enc: GpuCommandEncoder): void {
    const q = this.device.queue;
    const n = level.n;
    const B = level.buffers;
    q.writeBuffer(B.params, 0, pcgParams(level.width, level.height, this._pipes.wg, maxIterations, tolerance, !!sys.fixed));
    q.writeBuffer(B.c, 0, src(sys.c));
    q.writeBuffer(B.w, 0, src(sys.wx));
    q.writeBuffer(B.w, 4 * n, src(sys.wy));
    if (sys.fixed) {
      const bytes = n % 4 === 0 ? sys.fixed : padTo4(sys.fixed);
      q.writeBuffer(B.fixed, 0, src(bytes));
    }
    if (isGpuBuffer(sys.b)) enc.copyBufferToBuffer(sys.b, 0, B.b, 0, 4 * n);
    else q.writeBuffer(B.b, 0, src(sys.b));
    if (isGpuBuffer(x0)) enc.copyBufferToBuffer(x0, 0, B.x, 0, 4 * n);
    else q.writeBuffer(B.x, 0, src(x0));
  }

  /**
   * Runs setup and batches of iterations until the GPU state says done. The first submission is `first`
   * (uploads, copies, prolongation) plus setup plus one batch; with `speculate`, every later batch is
   * submitted before the previous one's state is awaited, else after it.
   */
  private async _run(
    level: Level,
    first: GpuCommandEncoder,
    maxIterations: number,
    options: Pick<GpuSolveOptions, 'checkInterval' | 'speculate' | 'signal'>,
  ): Promise<PcgState & { readbacks: number }> {
    const B = Math.max(1, Math.floor(options.checkInterval ?? 8));
    const maxIt = Math.max(0, Math.floor(maxIterations));
    const batches = Math.max(1, Math.ceil(maxIt / B));
    const signal = options.signal;
    const submitBatch = (index: number, enc: GpuCommandEncoder): Promise<void> => {
      const { errors } = scoped(this.device, 'gpu pcg: iteration batch', () => {
        const pass = enc.beginComputePass({ label: `diorama pcg batch ${index}` });
        if (index === 0) {
          level.dispatch(pass, 'diagonal');
          level.dispatch(pass, 'residual');
          level.dispatch(pass, 'finishSetup');
        }
        const count = Math.min(B, maxIt - index * B);
        for (let k = 0; k < count; k++) {
          level.dispatch(pass, 'applyOperator');
          level.dispatch(pass, 'finishAlpha');
          level.dispatch(pass, 'updateResidual');
          level.dispatch(pass, 'finishBeta');
        }
        pass.end();
        enc.copyBufferToBuffer(level.buffers.scalars, 0, level.readback[index % 2]!, 0, SCALARS_BYTES);
        this.device.queue.submit([enc.finish()]);
      });
      return errors;
    };
    throwIfAborted(signal);
    const speculate = options.speculate ?? !isSoftwareAdapter(this.device);
    const pending: Promise<void>[] = [submitBatch(0, first)];
    let submitted = 1;
    for (let k = 0; k < batches; k++) {
      if (submitted < batches && (speculate || submitted === k)) {
        pending.push(submitBatch(submitted, this.device.createCommandEncoder({ label: 'diorama pcg' })));
        submitted++;
      }
      const bytes = await readBuffer(this.device, level.readback[k % 2]!, SCALARS_BYTES, 'gpu pcg');
      await pending[k];
      const state = decodePcgState(bytes);
      if (state.done) return { ...state, readbacks: k + 1 };
      throwIfAborted(signal);
    }
    throw new DioramaError('INTERNAL', `gpu pcg: the solver state was not done after ${maxIt} iterations`);
  }

  /** Applies the last step and delivers x (read back, or copied into a buffer the caller owns). */
  private async _finish(level: Level, state: PcgState & { readbacks: number }, tolerance: number, output: 'array' | 'buffer'): Promise<GpuSolveResult> {
    if (state.status === 2) throwIndefinite(state);
    const n = level.n;
    let xBuffer: GpuBuffer | undefined;
    const { errors } = scoped(this.device, 'gpu pcg: result', () => {
      const e = this.device.createCommandEncoder({ label: 'diorama pcg result' });
      const pass = e.beginComputePass({ label: 'diorama pcg apply' });
      level.dispatch(pass, 'applyStep');
      pass.end();
      if (output === 'buffer') {
        xBuffer = createTrackedBuffer(this.device, { label: 'diorama pcg solution', size: Math.max(16, 4 * n), usage: STORAGE });
        e.copyBufferToBuffer(level.buffers.x, 0, xBuffer, 0, 4 * n);
      } else {
        e.copyBufferToBuffer(level.buffers.x, 0, level.stagingBuffer(), 0, 4 * n);
      }
      this.device.queue.submit([e.finish()]);
    });
    let x: Float32Array;
    try {
      if (output === 'buffer') {
        await this.device.queue.onSubmittedWorkDone();
        assertDeviceAlive(this.device, 'gpu pcg');
        x = new Float32Array(0);
      } else {
        x = new Float32Array(await readBuffer(this.device, level.stagingBuffer(), 4 * n, 'gpu pcg'));
      }
      await errors;
    } catch (e) {
      destroyTrackedBuffer(this.device, xBuffer);
      throw e;
    }
    if (xBuffer) handOutTrackedBuffer(this.device, xBuffer);
    const residual = state.residual;
    const result: GpuSolveResult = {
      x,
      iterations: state.iterations,
      residual,
      converged: residual <= tolerance,
      backend: 'webgpu',
      readbacks: state.readbacks,
    };
    if (xBuffer) result.xBuffer = xBuffer;
    return result;
  }
}

function throwIndefinite(state: PcgState): never {
  throw new DioramaError('SOLVER_FAILED', `solver: the system is not positive definite (pᵀAp = ${state.pq})`);
}

function padTo4(a: Uint8Array): Uint8Array {
  const out = new Uint8Array(Math.ceil(a.length / 4) * 4);
  out.set(a);
  return out;
}

/** Size checks of solveGridPCG, extended to GPU-buffer inputs. */
function checkSystem(sys: GpuGridSystem, x0: Float32Array | GpuBuffer, fn: string): void {
  const { width: W, height: H } = sys;
  if (!Number.isInteger(W) || !Number.isInteger(H) || W < 1 || H < 1) {
    throw new DioramaError('SIZE_MISMATCH', `${fn}: grid must be at least 1x1 with integer sides; found ${W}x${H}`);
  }
  const N = W * H;
  const arrays: [string, Float32Array | GpuBuffer][] = [['c', sys.c], ['b', sys.b], ['wx', sys.wx], ['wy', sys.wy], ['x0', x0]];
  for (const [name, arr] of arrays) {
    if (isGpuBuffer(arr)) {
      if (arr.size < 4 * N) throw new DioramaError('SIZE_MISMATCH', `${fn}: GPU buffer '${name}' has ${arr.size} bytes; expected at least ${4 * N} (${W}x${H} f32)`);
      if (!(arr.usage & BufferUsage.COPY_SRC)) throw new DioramaError('INVALID_OPTION', `${fn}: GPU buffer '${name}' lacks COPY_SRC usage (usage flags ${arr.usage})`);
    } else if (arr.length !== N) {
      throw new DioramaError('SIZE_MISMATCH', `${fn}: '${name}' has ${arr.length} values; expected ${W}x${H} = ${N}`);
    }
  }
  if (sys.fixed && sys.fixed.length !== N) throw new DioramaError('SIZE_MISMATCH', `${fn}: 'fixed' has ${sys.fixed.length} values; expected ${N}`);
}

// ---------------------------------------------------------------------------------------------------------
// One-call API with the CPU fallback

/**
 * Jacobi-PCG on the GPU: the WebGPU twin of solveGridPCG (same system, starting guess, stopping rule and
 * iteration cap; f32 reductions instead of f64, see the module comment).
 *
 * @param device The device to run on (e.g. Babylon's `WebGPUEngine._device`, or the one shared with
 *   onnxruntime-web), or a GpuGridSolver to reuse its buffers across calls; null/undefined: a device of our
 *   own through navigator.gpu.
 * @param sys The grid system; `sys.b` may be a GPUBuffer (W·H f32, COPY_SRC usage) on `device`.
 * @param x0 Starting guess (its values at fixed pixels are the Dirichlet values); may be a GPUBuffer.
 * @param options Tolerance (default 1e-4), iteration cap (default 500), abort signal, read-back interval
 *   (default every 8 iterations), output 'array' (default) or 'buffer' (solution left on the GPU).
 * @returns The solution and solver figures; `backend` says where it ran. Without WebGPU (one log line per
 *   page), or when the device is lost or out of memory (one warning per device), the CPU solver runs
 *   instead, provided the inputs are CPU arrays; with GPU-buffer inputs such a failure throws a DioramaError.
 */
export async function solveGridPCGGpu(
  device: GpuDevice | GpuGridSolver | null | undefined,
  sys: GpuGridSystem,
  x0: Float32Array | GpuBuffer,
  options: GpuSolveOptions = {},
): Promise<GpuSolveResult> {
  const onCpu = (reason: unknown): GpuSolveResult => {
    if (isGpuBuffer(sys.b) || isGpuBuffer(x0)) {
      const why = reason instanceof Error ? reason.message : 'WebGPU is unavailable';
      throw gpuFailure(`solveGridPCGGpu: ${why}; the inputs are GPU buffers, which the CPU path cannot read`, reason);
    }
    return { ...solveGridPCG(sys as GridSystem, x0, options), backend: 'cpu', readbacks: 0 };
  };
  return withSolver<GpuSolveResult>(device, 'solveGridPCGGpu', (solver) => solver.solve(sys, x0, options), onCpu);
}

/**
 * Coarse-to-fine PCG on the GPU: the WebGPU twin of solveGridMultilevel (same pyramid, per-level caps and
 * tolerances; restriction on the CPU, level solves and prolongation on the GPU). Falls back to the CPU
 * cascade like {@link solveGridPCGGpu}.
 */
export async function solveGridMultilevelGpu(
  device: GpuDevice | GpuGridSolver | null | undefined,
  sys: GridSystem,
  x0: Float32Array,
  options: GpuMultilevelOptions = {},
): Promise<GpuSolveResult & { coarseIterations: number }> {
  return withSolver<GpuSolveResult & { coarseIterations: number }>(
    device,
    'solveGridMultilevelGpu',
    (solver) => solver.solveMultilevel(sys, x0, options),
    () => ({ ...solveGridMultilevel(sys, x0, options), backend: 'cpu', readbacks: 0 }),
  );
}

/**
 * Runs `gpu` with the caller's solver (kept), or a temporary solver on the caller's or our own device
 * (disposed after the call), with {@link withGpu}'s fallback to `cpu`.
 */
async function withSolver<T>(
  device: GpuDevice | GpuGridSolver | null | undefined,
  what: string,
  gpu: (solver: GpuGridSolver) => Promise<T>,
  cpu: (reason: unknown) => T | Promise<T>,
): Promise<T> {
  if (device instanceof GpuGridSolver) {
    const solver = device;
    return withGpu(solver.device, what, () => gpu(solver), cpu);
  }
  return withGpu(device, what, async (dev) => {
    const solver = new GpuGridSolver(dev);
    try {
      return await gpu(solver);
    } finally {
      solver.dispose();
    }
  }, cpu);
}

/**
 * Runs `gpu` on the caller's or our own device, or `cpu` when there is no WebGPU (acquireGpuDevice logs
 * that once), the device is lost, or the GPU fails (device lost or out of memory during the call): `cpu`
 * gets the failure as `reason`, and after it succeeds one warning per device is logged. Errors of the inputs,
 * an indefinite system, an abort, and WebGPU validation errors (a bug, or a foreign buffer) propagate.
 */
async function withGpu<T>(
  device: GpuDevice | null | undefined,
  what: string,
  gpu: (device: GpuDevice) => Promise<T>,
  cpu: (reason: unknown) => T | Promise<T>,
): Promise<T> {
  const dev = await acquireGpuDevice(device);
  if (!dev) return cpu(undefined);
  // The warning is given once the CPU path has succeeded (when it cannot run, its error says why instead).
  const fallback = async (reason: unknown): Promise<T> => {
    const v = await cpu(reason);
    warnFallback(dev, what, reason);
    return v;
  };
  if (isDeviceLost(dev)) return fallback(gpuFailure('the WebGPU device was lost before the call'));
  try {
    return await gpu(dev);
  } catch (e) {
    if (isGpuFailure(e) || isDeviceLost(dev)) return fallback(e);
    throw e;
  }
}

/** A typed array as writeBuffer's source (TypeScript types a view over ArrayBufferLike more widely than WebGPU's). */
function src(a: ArrayBufferView): GPUAllowSharedBufferSource {
  return a as GPUAllowSharedBufferSource;
}
