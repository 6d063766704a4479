/**
 * A small WebAssembly encoder and kernel cache shared by the hand-written SIMD kernels (solver.ts's PCG
 * sweep, mesh.ts's quadtree pyramid, build-layers.ts's mesh smoothing). Each kernel is one function that
 * imports its memory as `env.mem`; its body is written as a flat list of opcode bytes with the helpers
 * below (WebAssembly core specification, binary format: LEB128 integers, sections 1/2/3/7/10).
 */

/** Unsigned LEB128 (WebAssembly's integer encoding). */
export function uleb(n: number): number[] {
  const out: number[] = [];
  do {
    let b = n & 0x7f;
    n >>>= 7;
    if (n !== 0) b |= 0x80;
    out.push(b);
  } while (n !== 0);
  return out;
}

/** Signed LEB128. */
export function sleb(n: number): number[] {
  const out: number[] = [];
  for (;;) {
    const b = n & 0x7f;
    n >>= 7;
    if ((n === 0 && (b & 0x40) === 0) || (n === -1 && (b & 0x40) !== 0)) {
      out.push(b);
      return out;
    }
    out.push(b | 0x80);
  }
}

/** `local.get i`. */
export function localGet(i: number): number[] {
  return [0x20, ...uleb(i)];
}

/** `local.set i`. */
export function localSet(i: number): number[] {
  return [0x21, ...uleb(i)];
}

/** `i32.const v`. */
export function i32Const(v: number): number[] {
  return [0x41, ...sleb(v)];
}

/** A SIMD instruction (prefix 0xfd, opcode `op`, then its immediates). */
export function simd(op: number, ...imm: number[]): number[] {
  return [0xfd, ...uleb(op), ...imm];
}

/** Value types. */
export const I32 = 0x7f;
export const F32 = 0x7d;
export const F64 = 0x7c;
export const V128 = 0x7b;

/** One-byte i32 instructions. */
export const ADD = 0x6a;
export const SUB = 0x6b;
export const MUL = 0x6c;
export const AND = 0x71;
export const OR = 0x72;
export const SHL = 0x74;
export const SHR_S = 0x75;
export const SHR_U = 0x76;
export const LT_S = 0x48;
export const EQZ = 0x45;

/** Structured control (blocks without a result). */
export const BLOCK = [0x02, 0x40];
export const LOOP = [0x03, 0x40];
export const IF = [0x04, 0x40];
export const ELSE = [0x05];
export const END = [0x0b];

/** `br d` / `br_if d`. */
export function br(d: number): number[] {
  return [0x0c, ...uleb(d)];
}
export function brIf(d: number): number[] {
  return [0x0d, ...uleb(d)];
}

/** `v128.load` / `v128.store`, byte alignment, offset 0. */
export const V128_LOAD = simd(0x00, 0x00, 0x00);
export const V128_STORE = simd(0x0b, 0x00, 0x00);

/** `v128.const` of four float32 lanes (one value splatted when only `a` is given). */
export function f32x4(a: number, b = a, c = a, d = a): number[] {
  return simd(0x0c, ...new Uint8Array(new Float32Array([a, b, c, d]).buffer));
}

/** `while (test) body`: block { loop { test; i32.eqz; br_if 1; body; br 0 } }; `test` leaves an i32. */
export function whileLoop(test: number[], body: number[]): number[] {
  return [...BLOCK, ...LOOP, ...test, EQZ, ...brIf(1), ...body, ...br(0), ...END, ...END];
}

/** The i32 test `local a < local b` (signed). */
export function lessThan(a: number, b: number): number[] {
  return [...localGet(a), ...localGet(b), LT_S];
}

/** `local += by` on an i32 local. */
export function increment(local: number, by: number): number[] {
  return [...localGet(local), ...i32Const(by), ADD, ...localSet(local)];
}

/**
 * A WebAssembly module of one function `name`(params) → () with the given local types and body (ending
 * with `end`), importing its memory as `env.mem`.
 */
export function wasmModule(name: string, params: number[], locals: number[], body: number[]): Uint8Array<ArrayBuffer> {
  const vec = (items: number[][]): number[] => [...uleb(items.length), ...items.flat()];
  const section = (id: number, bytes: number[]): number[] => [id, ...uleb(bytes.length), ...bytes];
  const str = (s: string): number[] => vec(Array.from(s, (ch) => [ch.charCodeAt(0)]));
  const func = [...vec(locals.map((t) => [1, t])), ...body];
  return new Uint8Array([
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
    ...section(1, vec([[0x60, ...vec(params.map((t) => [t])), ...vec([])]])), // type 0: (params) → ()
    ...section(2, vec([[...str('env'), ...str('mem'), 0x02, 0x00, 0x01]])), // import env.mem, min 1 page
    ...section(3, vec([[0]])), // function 0 has type 0
    ...section(7, vec([[...str(name), 0x00, 0x00]])), // export it
    ...section(10, vec([[...uleb(func.length), ...func]])), // its code
  ]);
}

/** A kernel instance: its exported function and its memory. */
export interface KernelInstance<F> {
  memory: WebAssembly.Memory;
  fn: F;
}

/**
 * The one linear memory that every kernel imports as `env.mem`, and the kernels instantiated against it.
 * Kernel calls are synchronous and never nested (each copies its inputs in, runs, and copies its results
 * out, or, for the solver, keeps its work vectors there for one solve), so they can take turns in the same
 * memory: it is only as large as the largest single need, and pages one stage has touched (the harmonic
 * fill's solve of a layer) are warm for the next (that layer's smoothing and mesh pyramid), where separate
 * memories would each be allocated and faulted in afresh. Held through a WeakRef as a whole, so an idle
 * library does not pin it (a caller's KernelInstance keeps it alive while in use).
 */
interface Arena {
  memory: WebAssembly.Memory;
  fns: Map<object, unknown>;
}
let arenaHeld: WeakRef<Arena> | undefined;

/**
 * A one-function WebAssembly kernel (see wasmModule), compiled on first use and instantiated against the
 * shared memory (see Arena), which is grown on demand. `get` returns undefined where WebAssembly (with
 * SIMD) is unavailable or refused (e.g. a content security policy without 'wasm-unsafe-eval'), or the
 * memory cannot be had: callers then run their JavaScript loop instead. The memory's contents are stale:
 * each call initialises what it reads.
 */
export class KernelCache<F> {
  private module: WebAssembly.Module | null | undefined;

  constructor(
    private readonly name: string,
    private readonly build: () => Uint8Array<ArrayBuffer>,
  ) {}

  /** The kernel with at least `bytes` bytes of memory. */
  get(bytes: number): KernelInstance<F> | undefined {
    if (this.module === null) return undefined;
    try {
      if (this.module === undefined) {
        const code = this.build();
        this.module = typeof WebAssembly === 'object' && WebAssembly.validate(code) ? new WebAssembly.Module(code) : null;
        if (this.module === null) return undefined;
      }
    } catch {
      this.module = null;
      return undefined;
    }
    try {
      const pages = Math.ceil(bytes / 65536);
      let arena = arenaHeld?.deref();
      if (!arena) {
        arena = { memory: new WebAssembly.Memory({ initial: pages }), fns: new Map() };
        arenaHeld = new WeakRef(arena);
      } else if (arena.memory.buffer.byteLength < bytes) {
        arena.memory.grow(pages - arena.memory.buffer.byteLength / 65536);
      }
      let fn = arena.fns.get(this) as F | undefined;
      if (fn === undefined) {
        const instance = new WebAssembly.Instance(this.module, { env: { mem: arena.memory } });
        fn = instance.exports[this.name] as F;
        arena.fns.set(this, fn);
      }
      return { memory: arena.memory, fn };
    } catch {
      return undefined;
    }
  }
}
