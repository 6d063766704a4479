/// <reference types="@webgpu/types" />
/**
 * The one module that talks to onnxruntime-web. Everything else in src/models works with the small types
 * declared here (CpuTensor, GpuTensor, ModelContract, ModelSession), never with `ort` itself.
 *
 * Usage:
 * ```ts
 * import { createRuntime, defineContract } from './runtime';
 *
 * const CONTRACT = defineContract({                  // deep-frozen, keeps literal types
 *   id: 'my-model',
 *   inputs: [{ name: 'image', aliases: ['pixel_values'], types: ['float32'], shapes: [['B', 3, 'H', 'W']] }],
 *   outputs: [{ name: 'depth', aliases: ['predicted_depth'], types: ['float32'], shapes: [['B', 1, 'H', 'W'], ['B', 'H', 'W']] }],
 * });
 * // Browser: WebGPU when an adapter exists, else wasm (one warning). Node: wasm.
 * const rt = await createRuntime({ wasmPaths: '/node_modules/onnxruntime-web/dist/' });
 * // Or share the 3D engine's device (needs the `onnxruntime-web/webgpu` build, loaded by default in browsers):
 * //   const rt = await createRuntime({ device: engine._device, outputLocation: 'gpu-buffer' });
 * const session = await rt.createSession({ bytes, name: 'my-model.onnx' }, CONTRACT);   // MODEL_LOAD / MODEL_CONTRACT
 * const out = await session.run({ image: { type: 'float32', dims: [1, 3, h, w], data } }); // keys: contract names
 * out.depth.data;                       // Float32Array (float16 outputs are widened to float32)
 * const gpu = await session.runGpu({ image: … });   // GpuTensor where the output stayed on the GPU
 * await session.dispose(); await rt.dispose();
 * ```
 *
 * What it does:
 * - Execution providers: `webgpu` then `wasm` by default in browsers, `wasm` in Node. If WebGPU is missing,
 *   or a WebGPU session cannot be created, it warns once and uses wasm.
 * - Precision: `runtime.supportsFp16` is true only on WebGPU with the adapter/device feature 'shader-f16';
 *   `choosePrecision()` maps a requested precision to one the runtime can run (fp16 → fp32 otherwise).
 *   float32 feeds are narrowed to float16 when the model's input is float16, and float16 outputs are widened.
 * - Session creation is serialised through one promise queue per process (onnxruntime-web's wasm instance is
 *   shared; concurrent creation only multiplies peak memory).
 * - External data files (`externalData: [{ path, bytes }]`) are handed to onnxruntime by their path in the graph.
 * - Contract check: after creation, the session's input/output names (with aliases), dtypes and shapes
 *   (symbolic dims match anything) are compared with the contract; a mismatch throws MODEL_CONTRACT naming
 *   what was expected and what was found. At run time, feeds and outputs are checked against the contract's
 *   shapes with consistent symbol bindings (so `H` of an output must equal `H` of the input).
 * - Device sharing: `device` is passed as `executionProviders: [{ name: 'webgpu', device }]`. The runtime then
 *   checks which device onnxruntime really uses: the default `onnxruntime-web` bundle (JSEP) ignores a supplied
 *   device, which shows as `env.webgpu.device` being another device, and the first GPU output is probed with a
 *   copy on the caller's device inside a validation error scope. If sharing is not in force, `deviceMode`
 *   becomes 'private', a warning is given once, outputs are copied through the CPU, and GPU feeds from the
 *   caller's device are refused (MODEL_RUN) — one device's buffers are never fed to another.
 */
import type * as OrtTypes from 'onnxruntime-web';
import { DioramaError } from '../core/errors';
import { messageOf, modelError } from './errors';

type Ort = typeof OrtTypes;
type OrtSession = OrtTypes.InferenceSession;
type OrtTensor = OrtTypes.Tensor;

// ---------------------------------------------------------------------------------------------------------------
// Public types
// ---------------------------------------------------------------------------------------------------------------

/** 'cpu' is onnxruntime-node's native CPU provider (pass the onnxruntime-node module as `ort`); see loadNodeOrt(). */
export type ExecutionProvider = 'webgpu' | 'wasm' | 'cpu';
export type Precision = 'fp32' | 'fp16' | 'q8';
export type TensorType = 'float32' | 'float16' | 'int64' | 'int32' | 'int8' | 'uint8' | 'bool';
export type TensorDataArray = Float32Array | Uint16Array | BigInt64Array | Int32Array | Int8Array | Uint8Array;
/** A dimension in a contract: a fixed size, or a symbol (same symbol = same size within one run). */
export type Dim = number | string;

/** A tensor in CPU memory. float16 data is a Uint16Array of IEEE half bits; bool is a Uint8Array of 0/1. */
export interface CpuTensor {
  readonly type: TensorType;
  readonly dims: readonly number[];
  readonly data: TensorDataArray;
}

/** A tensor living in a GPUBuffer of `device`. The caller owns it: `dispose()` when done. */
export interface GpuTensor {
  readonly location: 'gpu-buffer';
  readonly type: TensorType;
  readonly dims: readonly number[];
  readonly gpuBuffer: GPUBuffer;
  /** The device the buffer belongs to (the shared device in shared mode, onnxruntime's own otherwise). */
  readonly device: GPUDevice | undefined;
  /** Copies the data to the CPU (float16 widened to float32). Does not dispose. */
  download(): Promise<CpuTensor>;
  dispose(): void;
}

/** A GPU buffer the caller feeds to a session; `device` must be the session's shared device. */
export interface GpuFeed {
  readonly location: 'gpu-buffer';
  readonly type: 'float32' | 'float16' | 'int32' | 'int64' | 'uint8' | 'bool';
  readonly dims: readonly number[];
  readonly gpuBuffer: GPUBuffer;
  readonly device: GPUDevice;
}

export type Feed = CpuTensor | GpuFeed;

/** One input or output of a model contract. */
export interface TensorSpec {
  /** Canonical name used by adapters (keys of feeds and outputs). */
  readonly name: string;
  /** Other names public exports use for the same tensor. */
  readonly aliases?: readonly string[];
  /** Accepted element types. float32 also accepts float16 (fp16 exports), converted transparently. */
  readonly types: readonly TensorType[];
  /** Accepted shapes (any one of them). */
  readonly shapes: readonly (readonly Dim[])[];
  /** Outputs only: the export may lack it (e.g. confidence). */
  readonly optional?: boolean;
}

/** A declared model interface: what the adapter feeds and reads. */
export interface ModelContract {
  /** Human-readable model id used in messages. */
  readonly id: string;
  readonly inputs: readonly TensorSpec[];
  readonly outputs: readonly TensorSpec[];
}

/**
 * Declares a contract with contextual typing and deep-freezes it (`Object.freeze` on a literal widens
 * `types: ['float32']` to `string[]`; this does not).
 */
export function defineContract(contract: ModelContract): ModelContract {
  const freeze = <T>(o: T): T => {
    if (o && typeof o === 'object' && !Object.isFrozen(o)) {
      for (const v of Object.values(o)) freeze(v);
      Object.freeze(o);
    }
    return o;
  };
  return freeze(contract);
}

/** Model bytes plus external-data files, as produced by the registry/fetch layer or passed by the caller. */
export interface ModelBytes {
  readonly bytes: Uint8Array;
  /** Name for messages (file name or URL). */
  readonly name?: string;
  /** External data files, keyed by the `location` the graph refers to (e.g. 'model.onnx_data'). */
  readonly externalData?: readonly { readonly path: string; readonly bytes: Uint8Array }[];
}

/** Resolved binding between a contract tensor and the model's own tensor. */
export interface BoundTensor {
  readonly spec: TensorSpec;
  /** The model's name for it. */
  readonly modelName: string;
  /** The element type in the model (from metadata; the first contract type when metadata is missing). */
  readonly type: TensorType;
  /** The model's declared shape (numbers and symbol strings), or undefined when it declares none. */
  readonly shape: readonly Dim[] | undefined;
}

export type DeviceMode = 'shared' | 'private' | 'none';

export interface RuntimeOptions {
  /** Execution providers to try in order. Default: ['webgpu', 'wasm'] in browsers, ['wasm'] in Node. */
  executionProviders?: readonly ExecutionProvider[];
  /**
   * A GPUDevice to share with the 3D engine (zero-copy). Needs the `onnxruntime-web/webgpu` build (the default
   * one loaded in browsers); with a build that ignores it the runtime warns and falls back to 'private'.
   */
  device?: GPUDevice;
  /** Where session outputs are kept by default: 'cpu' (default) or 'gpu-buffer' (WebGPU only). */
  outputLocation?: 'cpu' | 'gpu-buffer';
  /** An onnxruntime-web module to use instead of importing one (e.g. `import * as ort from 'onnxruntime-web/webgpu'`). */
  ort?: unknown;
  /** Where onnxruntime-web's .wasm/.mjs files are served (browsers). Default: onnxruntime's own guess. */
  wasmPaths?: string;
  /** wasm threads. Default: onnxruntime's choice (needs cross-origin isolation for > 1 in browsers). */
  numThreads?: number;
  /** Receives each warning once (default console.warn). */
  onWarning?: (message: string) => void;
}

export interface SessionOptions {
  /** Where outputs stay: overrides the runtime's outputLocation for this session. */
  outputLocation?: 'cpu' | 'gpu-buffer';
  /** Free-dimension overrides for onnxruntime (symbol → size). */
  freeDimensionOverrides?: Record<string, number>;
}

export interface RunOptions {
  signal?: AbortSignal;
  /** Contract output names to compute (default: all outputs the model has). */
  outputs?: readonly string[];
}

export interface ModelSession {
  readonly contract: ModelContract;
  /** The execution provider the session runs on. */
  readonly provider: ExecutionProvider;
  /** Contract name → binding, for inputs and for the outputs the model has. */
  readonly inputs: ReadonlyMap<string, BoundTensor>;
  readonly outputs: ReadonlyMap<string, BoundTensor>;
  /** Whether the model has this contract output (optional outputs may be missing). */
  hasOutput(name: string): boolean;
  /** Runs and returns CPU tensors keyed by contract name (float16 widened to float32). */
  run(feeds: Readonly<Record<string, Feed>>, options?: RunOptions): Promise<Record<string, CpuTensor>>;
  /** Runs and returns GPU tensors where onnxruntime left outputs on the GPU, CPU tensors elsewhere. */
  runGpu(feeds: Readonly<Record<string, Feed>>, options?: RunOptions): Promise<Record<string, CpuTensor | GpuTensor>>;
  dispose(): Promise<void>;
}

// ---------------------------------------------------------------------------------------------------------------
// Environment helpers
// ---------------------------------------------------------------------------------------------------------------

/** True in Node.js (or a Node-compatible runtime), false in browsers and workers. */
export function isNode(): boolean {
  const p = (globalThis as { process?: { versions?: { node?: string } } }).process;
  return typeof p?.versions?.node === 'string' && typeof (globalThis as { window?: unknown }).window === 'undefined';
}

function gpuOf(): GPU | undefined {
  const nav = (globalThis as { navigator?: Navigator }).navigator;
  return nav && 'gpu' in nav ? (nav as Navigator & { gpu?: GPU }).gpu : undefined;
}

let ortPromise: Promise<Ort> | undefined;

/**
 * Loads onnxruntime-web once: the Node build in Node, the `webgpu` build (native WebGPU EP, honours a supplied
 * GPUDevice, also runs wasm) in browsers and workers.
 */
async function loadOrt(): Promise<Ort> {
  ortPromise ??= (isNode() ? import('onnxruntime-web') : import('onnxruntime-web/webgpu')) as Promise<Ort>;
  return ortPromise;
}

/** A promise queue: tasks run one after another, a failing task does not block the next. */
let creationQueue: Promise<unknown> = Promise.resolve();
function serialised<T>(task: () => Promise<T>): Promise<T> {
  const run = creationQueue.then(task, task);
  creationQueue = run.catch(() => undefined);
  return run;
}

// ---------------------------------------------------------------------------------------------------------------
// float16 <-> float32
// ---------------------------------------------------------------------------------------------------------------

const f32Scratch = new Float32Array(1);
const u32Scratch = new Uint32Array(f32Scratch.buffer);

/** IEEE 754 binary32 → binary16 bits, round to nearest even, overflow → ±Inf, NaN kept. */
export function toHalfBits(v: number): number {
  f32Scratch[0] = v;
  const x = u32Scratch[0]!;
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  let mant = x & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0);
  const e = exp - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00;
  if (e <= 0) {
    // Subnormal half: value = mant' · 2^-24 with the implicit bit restored.
    if (e < -10) return sign;
    mant |= 0x800000;
    const shift = 14 - e;
    let half = mant >>> shift;
    const rem = mant & ((1 << shift) - 1);
    const halfway = 1 << (shift - 1);
    if (rem > halfway || (rem === halfway && half & 1)) half++;
    return sign | half;
  }
  let half = (e << 10) | (mant >>> 13);
  const rem = mant & 0x1fff;
  if (rem > 0x1000 || (rem === 0x1000 && half & 1)) half++; // may carry into the exponent: correct rounding
  return sign | half;
}

let halfTable: Float32Array | undefined;
/** binary16 bits → number (exact). */
export function fromHalfBits(h: number): number {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const m = h & 0x3ff;
  if (e === 0) return s * m * 2 ** -24;
  if (e === 31) return m ? NaN : s * Infinity;
  return s * (1 + m / 1024) * 2 ** (e - 15);
}

/** Widens an array of half bits to float32 (table lookup). */
export function halfToFloat32(src: Uint16Array): Float32Array {
  if (!halfTable) {
    halfTable = new Float32Array(65536);
    for (let i = 0; i < 65536; i++) halfTable[i] = fromHalfBits(i);
  }
  const t = halfTable;
  const out = new Float32Array(src.length);
  for (let i = 0; i < src.length; i++) out[i] = t[src[i]!]!;
  return out;
}

/** Narrows float32 values to half bits. */
export function float32ToHalf(src: Float32Array): Uint16Array {
  const out = new Uint16Array(src.length);
  for (let i = 0; i < src.length; i++) out[i] = toHalfBits(src[i]!);
  return out;
}

// ---------------------------------------------------------------------------------------------------------------
// Contract matching
// ---------------------------------------------------------------------------------------------------------------

export function formatShape(shape: readonly Dim[] | undefined): string {
  return shape === undefined ? '[?]' : `[${shape.join(',')}]`;
}

function specNames(spec: TensorSpec): string[] {
  return [spec.name, ...(spec.aliases ?? [])];
}

function describeSpec(spec: TensorSpec): string {
  const al = spec.aliases?.length ? ` (or ${spec.aliases.map((a) => `'${a}'`).join(', ')})` : '';
  return `'${spec.name}'${al} ${spec.types.join('|')} ${spec.shapes.map(formatShape).join(' or ')}`;
}

interface MetaEntry {
  name: string;
  type?: TensorType;
  shape?: readonly Dim[];
}

function readMetadata(list: readonly unknown[] | undefined, names: readonly string[]): MetaEntry[] {
  return names.map((name, i) => {
    const m = list?.[i] as { name?: string; isTensor?: boolean; type?: string; shape?: readonly (number | string)[] } | undefined;
    if (!m || m.isTensor === false) return { name };
    const shape = Array.isArray(m.shape) && m.shape.length > 0 ? m.shape.map((d) => (typeof d === 'number' && d < 0 ? '?' : d)) : undefined;
    return { name, type: m.type as TensorType | undefined, shape };
  });
}

function describeModelSide(meta: MetaEntry[]): string {
  if (meta.length === 0) return 'none';
  return meta.map((m) => `'${m.name}'${m.type ? ' ' + m.type : ''}${m.shape ? ' ' + formatShape(m.shape) : ''}`).join(', ');
}

/** Whether a declared model shape can satisfy a contract shape: same rank, equal where both are numbers. */
function shapeCompatible(model: readonly Dim[], contract: readonly Dim[]): boolean {
  if (model.length !== contract.length) return false;
  for (let i = 0; i < model.length; i++) {
    const a = model[i];
    const b = contract[i];
    if (typeof a === 'number' && typeof b === 'number' && a !== b) return false;
  }
  return true;
}

function typeAccepted(model: TensorType, spec: TensorSpec): boolean {
  return spec.types.includes(model) || (model === 'float16' && spec.types.includes('float32'));
}

/**
 * Matches a session's inputs/outputs to a contract. Throws MODEL_CONTRACT naming what was expected and found:
 * missing names, extra required inputs, dtypes or shapes the contract does not accept.
 */
export function bindContract(
  contract: ModelContract,
  inputNames: readonly string[],
  outputNames: readonly string[],
  inputMeta?: readonly unknown[],
  outputMeta?: readonly unknown[],
): { inputs: Map<string, BoundTensor>; outputs: Map<string, BoundTensor> } {
  const inMeta = readMetadata(inputMeta, inputNames);
  const outMeta = readMetadata(outputMeta, outputNames);
  const problems: string[] = [];
  const bindSide = (specs: readonly TensorSpec[], meta: MetaEntry[], side: 'input' | 'output'): Map<string, BoundTensor> => {
    const bound = new Map<string, BoundTensor>();
    const used = new Set<string>();
    for (const spec of specs) {
      const m = meta.find((e) => specNames(spec).includes(e.name) && !used.has(e.name));
      if (!m) {
        if (!(side === 'output' && spec.optional)) problems.push(`${side} ${describeSpec(spec)} not found`);
        continue;
      }
      used.add(m.name);
      if (m.type && !typeAccepted(m.type, spec)) {
        problems.push(`${side} '${m.name}' has type ${m.type}; expected ${spec.types.join(' or ')}`);
        continue;
      }
      if (m.shape && !spec.shapes.some((s) => shapeCompatible(m.shape!, s))) {
        problems.push(`${side} '${m.name}' has shape ${formatShape(m.shape)}; expected ${spec.shapes.map(formatShape).join(' or ')}`);
        continue;
      }
      bound.set(spec.name, { spec, modelName: m.name, type: m.type ?? spec.types[0]!, shape: m.shape });
    }
    if (side === 'input') {
      // Every model input must be fed: an input the contract does not know cannot be satisfied.
      for (const e of meta) if (!used.has(e.name)) problems.push(`model input '${e.name}' is not part of the contract`);
    }
    return bound;
  };
  const inputs = bindSide(contract.inputs, inMeta, 'input');
  const outputs = bindSide(contract.outputs, outMeta, 'output');
  if (problems.length > 0) {
    throw modelError(
      'MODEL_CONTRACT',
      `model '${contract.id}' does not match its contract: ${problems.join('; ')}. ` +
        `Expected inputs ${contract.inputs.map(describeSpec).join(', ')} and outputs ${contract.outputs.map(describeSpec).join(', ')}; ` +
        `found inputs ${describeModelSide(inMeta)} and outputs ${describeModelSide(outMeta)}`,
    );
  }
  return { inputs, outputs };
}

/**
 * Matches a session against several contracts (e.g. the two DA3 input layouts) and returns the first that fits.
 * When none fits, throws one MODEL_CONTRACT naming, per contract, what was expected, and what the model has.
 */
export function bindAnyContract(
  contracts: readonly ModelContract[],
  inputNames: readonly string[],
  outputNames: readonly string[],
  inputMeta?: readonly unknown[],
  outputMeta?: readonly unknown[],
): { contract: ModelContract; inputs: Map<string, BoundTensor>; outputs: Map<string, BoundTensor> } {
  const errors: DioramaError[] = [];
  for (const c of contracts) {
    try {
      return { contract: c, ...bindContract(c, inputNames, outputNames, inputMeta, outputMeta) };
    } catch (e) {
      if (!(e instanceof DioramaError) || e.code !== 'MODEL_CONTRACT' || contracts.length === 1) throw e;
      errors.push(e);
    }
  }
  throw modelError('MODEL_CONTRACT', `the model fits none of ${contracts.length} contracts: ${errors.map((e) => e.message).join(' | ')}`);
}

/**
 * Checks concrete dims against a spec's accepted shapes, binding symbols in `env` (first binding wins).
 * Returns an error message, or undefined when the dims fit one shape (whose bindings are then committed).
 */
function checkDims(spec: TensorSpec, dims: readonly number[], env: Map<string, number>, what: string): string | undefined {
  for (const shape of spec.shapes) {
    if (shape.length !== dims.length) continue;
    const local = new Map<string, number>();
    let ok = true;
    for (let i = 0; i < shape.length && ok; i++) {
      const s = shape[i]!;
      const d = dims[i]!;
      if (typeof s === 'number') ok = s === d;
      else {
        const b = env.get(s) ?? local.get(s);
        if (b === undefined) local.set(s, d);
        else ok = b === d;
      }
    }
    if (ok) {
      for (const [k, v] of local) env.set(k, v);
      return undefined;
    }
  }
  const bindings = [...env].map(([k, v]) => `${k}=${v}`).join(', ');
  return `${what} '${spec.name}' has shape ${formatShape(dims)}; expected ${spec.shapes.map(formatShape).join(' or ')}${bindings ? ` with ${bindings}` : ''}`;
}

// ---------------------------------------------------------------------------------------------------------------
// Runtime
// ---------------------------------------------------------------------------------------------------------------

/**
 * Creates a runtime: loads onnxruntime-web, picks the execution providers and probes WebGPU. Never throws for a
 * missing GPU: it warns once and uses wasm.
 */
export async function createRuntime(options: RuntimeOptions = {}): Promise<ModelRuntime> {
  const ort = (options.ort as Ort | undefined) ?? (await loadOrt());
  if (options.wasmPaths !== undefined) ort.env.wasm.wasmPaths = options.wasmPaths;
  if (options.numThreads !== undefined) ort.env.wasm.numThreads = options.numThreads;
  const rt = new ModelRuntime(ort, options);
  await rt._init();
  return rt;
}

export class ModelRuntime {
  /** Execution providers in force, in order of preference (after probing). */
  providers: ExecutionProvider[] = [];
  /** True when fp16 models may be used: WebGPU with 'shader-f16'. */
  supportsFp16 = false;
  /** 'shared': onnxruntime runs on the caller's device; 'private': on its own; 'none': no WebGPU. */
  deviceMode: DeviceMode = 'none';
  /** Adapter description when WebGPU is in use (for reports). */
  adapterInfo: string | undefined;

  private readonly _warned = new Set<string>();
  private readonly _sessions = new Set<SessionImpl>();
  private _disposed = false;
  private _probeScratch: GPUBuffer | undefined;
  private _sharedVerified = false;

  /** @internal use createRuntime() */
  constructor(
    readonly ort: Ort,
    readonly options: RuntimeOptions,
  ) {}

  /** The device onnxruntime's WebGPU EP uses: the shared one, or onnxruntime's own (once a session exists). */
  get device(): GPUDevice | undefined {
    if (this.deviceMode === 'shared') return this.options.device;
    return this._ortDevice;
  }
  private _ortDevice: GPUDevice | undefined;

  /** Warns once per distinct message. */
  warn(message: string): void {
    if (this._warned.has(message)) return;
    this._warned.add(message);
    (this.options.onWarning ?? ((m: string) => console.warn(`[diorama] ${m}`)))(message);
  }

  /** @internal */
  async _init(): Promise<void> {
    const requested = [...(this.options.executionProviders ?? (isNode() ? ['wasm'] : ['webgpu', 'wasm']))] as ExecutionProvider[];
    for (const ep of requested) {
      if (ep !== 'webgpu' && ep !== 'wasm' && ep !== 'cpu') throw modelError('INVALID_OPTION', `executionProviders: expected 'webgpu', 'wasm' or 'cpu'; found '${String(ep)}'`);
    }
    const providers: ExecutionProvider[] = [];
    for (const ep of requested) {
      if (ep === 'wasm' || ep === 'cpu') {
        if (!providers.includes(ep)) providers.push(ep);
        continue;
      }
      const why = await this._probeWebGpu();
      if (why) {
        this.warn(`WebGPU unavailable (${why}); using the wasm execution provider`);
        continue;
      }
      providers.push('webgpu');
    }
    // wasm is the last resort when nothing requested is usable (WebGPU only, and it is missing).
    if (providers.length === 0) providers.push('wasm');
    this.providers = providers;
    if (providers[0] !== 'webgpu') {
      this.supportsFp16 = false;
      this.deviceMode = 'none';
    }
  }

  /** Returns why WebGPU cannot be used, or undefined when it can (and records features). */
  private async _probeWebGpu(): Promise<string | undefined> {
    const dev = this.options.device;
    if (dev) {
      if (typeof GPUDevice !== 'undefined' && !(dev instanceof GPUDevice)) return 'options.device is not a GPUDevice';
      this.supportsFp16 = dev.features.has('shader-f16');
      this.deviceMode = 'shared';
      const info = (dev as GPUDevice & { adapterInfo?: GPUAdapterInfo }).adapterInfo;
      this.adapterInfo = info ? `${info.vendor} ${info.architecture}`.trim() : 'caller device';
      return undefined;
    }
    const gpu = gpuOf();
    if (!gpu) return isNode() ? 'no navigator.gpu in Node' : 'navigator.gpu is missing';
    let adapter: GPUAdapter | null = null;
    try {
      adapter = await gpu.requestAdapter();
    } catch (e) {
      return `requestAdapter failed: ${messageOf(e)}`;
    }
    if (!adapter) return 'requestAdapter returned null';
    this.supportsFp16 = adapter.features.has('shader-f16');
    this.deviceMode = 'private';
    this.adapterInfo = `${adapter.info?.vendor ?? ''} ${adapter.info?.architecture ?? ''}`.trim() || 'unknown adapter';
    return undefined;
  }

  /**
   * Maps a requested precision to one this runtime can run: fp16 only with WebGPU + 'shader-f16' (else fp32,
   * with a warning when fp16 was asked for explicitly); 'auto' → fp16 where supported, else fp32.
   */
  choosePrecision(requested: Precision | 'auto' = 'auto', available: readonly Precision[] = ['fp32', 'fp16', 'q8']): Precision {
    const fp16ok = this.supportsFp16 && this.providers[0] === 'webgpu';
    if (requested === 'auto') return fp16ok && available.includes('fp16') ? 'fp16' : available.includes('fp32') ? 'fp32' : available[0]!;
    if (requested === 'fp16' && !fp16ok) {
      this.warn(`fp16 model requested but the ${this.providers[0]} execution provider${this.providers[0] === 'webgpu' ? " lacks 'shader-f16'" : ''} cannot run it; using fp32`);
      return 'fp32';
    }
    return requested;
  }

  /**
   * Creates a session from model bytes and checks it against `contract`. Creation is serialised process-wide.
   * Tries the runtime's providers in order (webgpu → wasm with a warning on failure).
   * @throws MODEL_LOAD when the bytes are not a loadable model, MODEL_CONTRACT on a contract mismatch.
   */
  async createSession(model: ModelBytes, contracts: ModelContract | readonly ModelContract[], options: SessionOptions = {}): Promise<ModelSession> {
    const list: readonly ModelContract[] = Array.isArray(contracts) ? contracts : [contracts as ModelContract];
    const contract = list[0]!;
    if (this._disposed) throw modelError('MODEL_DISPOSED', `runtime was disposed; cannot create a session for '${contract.id}'`);
    const name = model.name ?? contract.id;
    if (!(model.bytes instanceof Uint8Array)) throw modelError('MODEL_LOAD', `model '${name}': expected bytes as a Uint8Array; found ${typeof model.bytes}`);
    if (model.bytes.byteLength === 0) throw modelError('MODEL_LOAD', `model '${name}' is empty (0 bytes); expected an ONNX file`);
    const location = options.outputLocation ?? this.options.outputLocation ?? 'cpu';
    return serialised(async () => {
      let lastError: unknown;
      for (let i = 0; i < this.providers.length; i++) {
        const ep = this.providers[i]!;
        let session: OrtSession;
        try {
          session = await this._create(model, ep, location, options);
        } catch (e) {
          lastError = e;
          if (i + 1 < this.providers.length) {
            this.warn(`could not create a ${ep} session for '${name}' (${messageOf(e)}); falling back to ${this.providers[i + 1]}`);
          }
          continue;
        }
        let bound: ReturnType<typeof bindAnyContract>;
        try {
          bound = bindAnyContract(list, session.inputNames, session.outputNames, session.inputMetadata, session.outputMetadata);
        } catch (e) {
          await session.release().catch(() => undefined);
          throw e;
        }
        if (ep === 'webgpu') await this._checkDevice();
        const s = new SessionImpl(this, session, bound.contract, ep, bound.inputs, bound.outputs);
        this._sessions.add(s);
        return s;
      }
      // An operator the build has no kernel for (e.g. a quantized export's integer ops on a build without them):
      // say which, and what to do, rather than suggesting a corrupt file.
      const why = messageOf(lastError);
      const op = /No Op registered for (\w+)|Could not find an implementation for (\w+)/.exec(why);
      if (op) {
        throw modelError(
          'MODEL_LOAD',
          `model '${name}' for '${contract.id}' uses operator ${op[1] ?? op[2]}, which onnxruntime (${this.providers.join(', ')}) does not implement: this file cannot run here; choose another precision (e.g. 'fp32') or another export (${why})`,
          lastError,
        );
      }
      throw modelError(
        'MODEL_LOAD',
        `cannot load model '${name}' (${model.bytes.byteLength} bytes) for '${contract.id}': ${why}. The file may be truncated, corrupt or not an ONNX model`,
        lastError,
      );
    });
  }

  private async _create(model: ModelBytes, ep: ExecutionProvider, location: 'cpu' | 'gpu-buffer', options: SessionOptions): Promise<OrtSession> {
    const providers: OrtTypes.InferenceSession.ExecutionProviderConfig[] =
      ep === 'webgpu' ? [this.deviceMode === 'shared' && this.options.device ? { name: 'webgpu', device: this.options.device } : 'webgpu'] : [ep];
    const so: OrtTypes.InferenceSession.SessionOptions = {
      executionProviders: providers,
      graphOptimizationLevel: 'all',
      ...(ep === 'webgpu' && location === 'gpu-buffer' ? { preferredOutputLocation: 'gpu-buffer' as const } : {}),
      ...(options.freeDimensionOverrides ? { freeDimensionOverrides: options.freeDimensionOverrides } : {}),
      ...(model.externalData?.length ? { externalData: model.externalData.map((f) => ({ path: f.path, data: f.bytes })) } : {}),
    };
    return this.ort.InferenceSession.create(model.bytes, so);
  }

  /**
   * After a WebGPU session exists: finds out which device onnxruntime uses.
   * - The JSEP build (default `onnxruntime-web` bundle) creates one device of its own, ignores a supplied one,
   *   and locks it into `env.webgpu.device` as a non-writable property: a locked device other than the caller's
   *   means sharing is not in force.
   * - The native WebGPU-EP build (`onnxruntime-web/webgpu`) registers the supplied device per session and keeps a
   *   writable `env.webgpu.device` holding its default device (which may differ from a session's): no verdict
   *   here; the first GPU output is probed on the caller's device instead (_verifyShared).
   */
  private async _checkDevice(): Promise<void> {
    const webgpuEnv = this.ort.env.webgpu as object;
    const desc = Object.getOwnPropertyDescriptor(webgpuEnv, 'device');
    const locked = !!desc && 'value' in desc && desc.writable === false;
    if (this.deviceMode === 'shared') {
      if (locked && desc!.value !== this.options.device) {
        this._refuseSharing('this onnxruntime-web build (the default bundle, JSEP) runs on its own GPUDevice and ignores a supplied one; import `onnxruntime-web/webgpu`');
      }
      return;
    }
    let reported: unknown;
    try {
      reported = await Promise.resolve((webgpuEnv as { device?: unknown }).device);
    } catch {
      reported = undefined;
    }
    if (reported && typeof reported === 'object') this._ortDevice = reported as GPUDevice;
  }

  /** @internal Demotes shared mode to private with one warning. */
  _refuseSharing(reason: string): void {
    if (this.deviceMode !== 'shared') return;
    this.deviceMode = 'private';
    this._sharedVerified = false;
    this._ortDevice = undefined;
    this.warn(`GPU device sharing refused: ${reason}; outputs are copied through the CPU and GPU feeds from the caller's device are rejected`);
  }

  /**
   * @internal Probes that `buffer` (an onnxruntime output) belongs to the shared device: a 4-byte copy into a
   * buffer of that device inside a validation error scope. A buffer of another device is a validation error.
   */
  async _verifyShared(buffer: GPUBuffer): Promise<boolean> {
    if (this.deviceMode !== 'shared') return false;
    if (this._sharedVerified) return true;
    const dev = this.options.device!;
    this._probeScratch ??= dev.createBuffer({ size: 4, usage: GPUBufferUsage.COPY_DST });
    dev.pushErrorScope('validation');
    const enc = dev.createCommandEncoder();
    enc.copyBufferToBuffer(buffer, 0, this._probeScratch, 0, 4);
    dev.queue.submit([enc.finish()]);
    const err = await dev.popErrorScope();
    if (err) {
      this._refuseSharing(`an onnxruntime output buffer is not usable on the shared device (${err.message})`);
      return false;
    }
    this._sharedVerified = true;
    return true;
  }

  /** @internal */
  _forget(s: SessionImpl): void {
    this._sessions.delete(s);
  }

  /** Releases every session of this runtime; later calls fail with MODEL_DISPOSED. */
  async dispose(): Promise<void> {
    this._disposed = true;
    const all = [...this._sessions];
    this._sessions.clear();
    await Promise.all(all.map((s) => s.dispose()));
    this._probeScratch?.destroy();
    this._probeScratch = undefined;
  }
}

const ORT_GPU_TYPES = new Set(['float32', 'float16', 'int32', 'int64', 'uint8', 'bool']);

class SessionImpl implements ModelSession {
  private _disposed = false;

  constructor(
    private readonly rt: ModelRuntime,
    private readonly session: OrtSession,
    readonly contract: ModelContract,
    readonly provider: ExecutionProvider,
    readonly inputs: ReadonlyMap<string, BoundTensor>,
    readonly outputs: ReadonlyMap<string, BoundTensor>,
  ) {}

  hasOutput(name: string): boolean {
    return this.outputs.has(name);
  }

  async run(feeds: Readonly<Record<string, Feed>>, options: RunOptions = {}): Promise<Record<string, CpuTensor>> {
    const raw = await this._run(feeds, options);
    const out: Record<string, CpuTensor> = {};
    try {
      for (const [k, t] of Object.entries(raw)) out[k] = await toCpu(t);
    } finally {
      for (const t of Object.values(raw)) if (t.location === 'gpu-buffer') t.dispose();
    }
    return out;
  }

  async runGpu(feeds: Readonly<Record<string, Feed>>, options: RunOptions = {}): Promise<Record<string, CpuTensor | GpuTensor>> {
    const raw = await this._run(feeds, options);
    const out: Record<string, CpuTensor | GpuTensor> = {};
    let shared = this.rt.deviceMode === 'shared';
    if (shared) {
      const first = Object.values(raw).find((t) => t.location === 'gpu-buffer');
      if (first) shared = await this.rt._verifyShared(first.gpuBuffer as GPUBuffer);
    }
    for (const [k, t] of Object.entries(raw)) {
      if (t.location !== 'gpu-buffer') {
        out[k] = await toCpu(t);
      } else if (this.rt.deviceMode === 'shared' && shared) {
        out[k] = wrapGpu(t, this.rt.device);
      } else if (this.rt.options.device) {
        // The caller expected buffers on its device, and these are not: hand over CPU copies instead.
        out[k] = await toCpu(t);
        t.dispose();
      } else {
        out[k] = wrapGpu(t, this.rt.device);
      }
    }
    return out;
  }

  private async _run(feeds: Readonly<Record<string, Feed>>, options: RunOptions): Promise<Record<string, OrtTensor>> {
    if (this._disposed) throw modelError('MODEL_DISPOSED', `session for '${this.contract.id}' was disposed`);
    const { ort } = this.rt;
    const env = new Map<string, number>();
    const ortFeeds: Record<string, OrtTensor> = {};
    for (const [name, b] of this.inputs) {
      const f = feeds[name];
      if (!f) throw modelError('INVALID_OPTION', `model '${this.contract.id}': feed '${name}' is missing; expected ${describeSpec(b.spec)}`);
      const err = checkDims(b.spec, f.dims, env, 'feed');
      if (err) throw modelError('MODEL_CONTRACT', `model '${this.contract.id}': ${err}`);
      ortFeeds[b.modelName] = this._toOrt(ort, f, b);
    }
    for (const k of Object.keys(feeds)) {
      if (!this.inputs.has(k)) throw modelError('INVALID_OPTION', `model '${this.contract.id}': unknown feed '${k}'; expected ${[...this.inputs.keys()].join(', ')}`);
    }
    const wanted = options.outputs ?? [...this.outputs.keys()];
    const fetches: string[] = [];
    for (const n of wanted) {
      const b = this.outputs.get(n);
      if (!b) throw modelError('INVALID_OPTION', `model '${this.contract.id}' has no output '${n}'; it has ${[...this.outputs.keys()].join(', ')}`);
      fetches.push(b.modelName);
    }
    if (options.signal?.aborted) throw new DioramaError('ABORTED', 'operation aborted', { cause: options.signal.reason });
    let result: OrtTypes.InferenceSession.ReturnType;
    try {
      result = await this.session.run(ortFeeds, fetches);
    } catch (e) {
      throw modelError('MODEL_RUN', `model '${this.contract.id}' failed to run on ${this.provider}: ${messageOf(e)}`, e);
    }
    const out: Record<string, OrtTensor> = {};
    for (const n of wanted) out[n] = result[this.outputs.get(n)!.modelName] as OrtTensor;
    const disposeAll = () => {
      for (const t of Object.values(out)) if (t.location === 'gpu-buffer') t.dispose();
    };
    if (options.signal?.aborted) {
      disposeAll();
      throw new DioramaError('ABORTED', 'operation aborted', { cause: options.signal.reason });
    }
    for (const n of wanted) {
      const err = checkDims(this.outputs.get(n)!.spec, out[n]!.dims, env, 'output');
      if (err) {
        disposeAll();
        throw modelError('MODEL_CONTRACT', `model '${this.contract.id}': ${err}`);
      }
    }
    return out;
  }

  private _toOrt(ort: Ort, f: Feed, b: BoundTensor): OrtTensor {
    const dims = [...f.dims];
    if ('gpuBuffer' in f) {
      if (this.provider !== 'webgpu') throw modelError('MODEL_RUN', `feed '${b.spec.name}' is a GPU buffer but the session runs on ${this.provider}`);
      if (this.rt.deviceMode !== 'shared' || f.device !== this.rt.device) {
        throw modelError(
          'MODEL_RUN',
          `feed '${b.spec.name}' is a GPU buffer of another device than onnxruntime's (device mode '${this.rt.deviceMode}'); pass CPU data, or share the device with createRuntime({ device })`,
        );
      }
      if (!ORT_GPU_TYPES.has(f.type) || f.type !== b.type) throw modelError('MODEL_CONTRACT', `GPU feed '${b.spec.name}' has type ${f.type}; the model expects ${b.type}`);
      return ort.Tensor.fromGpuBuffer(f.gpuBuffer, { dataType: f.type as 'float32', dims });
    }
    let data = f.data;
    let type = f.type;
    const expected = numel(dims);
    if (data.length !== expected) throw modelError('INVALID_OPTION', `feed '${b.spec.name}' has ${data.length} values; dims ${formatShape(dims)} need ${expected}`);
    if (b.type === 'float16' && type === 'float32') {
      data = float32ToHalf(data as Float32Array);
      type = 'float16';
    } else if (b.type === 'float32' && type === 'float16') {
      data = halfToFloat32(data as Uint16Array);
      type = 'float32';
    } else if (type !== b.type) {
      throw modelError('MODEL_CONTRACT', `feed '${b.spec.name}' has type ${type}; the model expects ${b.type}`);
    }
    return new ort.Tensor(type, data as Float32Array, dims);
  }

  async dispose(): Promise<void> {
    if (this._disposed) return;
    this._disposed = true;
    this.rt._forget(this);
    await this.session.release().catch(() => undefined);
  }
}

function numel(dims: readonly number[]): number {
  let n = 1;
  for (const d of dims) n *= d;
  return n;
}

async function toCpu(t: OrtTensor): Promise<CpuTensor> {
  const data = (t.location === 'cpu' || t.location === 'cpu-pinned' ? t.data : await t.getData()) as TensorDataArray;
  if (t.type === 'float16') return { type: 'float32', dims: t.dims, data: halfToFloat32(data as Uint16Array) };
  return { type: t.type as TensorType, dims: t.dims, data };
}

function wrapGpu(t: OrtTensor, device: GPUDevice | undefined): GpuTensor {
  return {
    location: 'gpu-buffer',
    type: t.type as TensorType,
    dims: t.dims,
    gpuBuffer: t.gpuBuffer as GPUBuffer,
    device,
    download: () => toCpu(t),
    dispose: () => t.dispose(),
  };
}
