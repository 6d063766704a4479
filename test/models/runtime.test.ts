/**
 * The runtime module in Node (real onnxruntime-web, wasm EP).
 *
 * Proves: float16 conversion is exact for every half value and rounds to nearest even; fp16 models are fed and
 * read through float32 transparently; contract binding resolves aliases, tolerates missing optional outputs and
 * rejects unknown inputs and wrong dtypes with both sides named; run-time feed/output shapes are checked with
 * consistent symbols; session creation is serialised (never two onnxruntime creations at once); asking for
 * WebGPU where there is none falls back to wasm with exactly one warning; fp16 is never chosen without WebGPU
 * 'shader-f16'; GPU feeds are refused on wasm; disposed sessions fail with MODEL_DISPOSED.
 */
import * as ort from 'onnxruntime-web';
import { describe, expect, it } from 'vitest';
import { DioramaError } from '../../src/core/errors';
import { bindContract, createRuntime, defineContract, float32ToHalf, fromHalfBits, halfToFloat32, toHalfBits } from '../../src/models/runtime';
import { da3Model } from '../fixtures/make-models';
import { GraphBuilder, attr } from '../fixtures/onnx/writer';
import { rejection } from './helpers';

const DOUBLE = defineContract({
  id: 'double',
  inputs: [{ name: 'x', aliases: ['input'], types: ['float32'], shapes: [['N']] }],
  outputs: [
    { name: 'y', aliases: ['output'], types: ['float32'], shapes: [['N']] },
    { name: 'extra', types: ['float32'], shapes: [['N']], optional: true },
  ],
});

/** The tiny DA3-shaped model of test/fixtures/make-models.ts, without the aliases and optional outputs. */
const TINY_DA3 = defineContract({
  id: 'da3',
  inputs: [{ name: 'image', types: ['float32'], shapes: [['B', 3, 'H', 'W']] }],
  outputs: [{ name: 'depth', types: ['float32'], shapes: [['B', 1, 'H', 'W']] }],
});

/** y = 2x with float16 input and output (Cast around a float32 Mul). */
function fp16Model(): Uint8Array {
  const g = new GraphBuilder('fp16');
  const x = g.input('input', 'float16', ['N']);
  const xf = g.op('Cast', [x], { to: attr.int(1) });
  const y = g.op('Mul', [xf, g.f32([2], [])]);
  g.output(g.op('Cast', [y], { to: attr.int(10) }), 'float16', ['N'], 'output');
  return g.toModel();
}

describe('float16', () => {
  it('round-trips every half value exactly (NaNs stay NaN)', () => {
    for (let h = 0; h < 65536; h++) {
      const v = fromHalfBits(h);
      if (Number.isNaN(v)) expect(Number.isNaN(fromHalfBits(toHalfBits(v)))).toBe(true);
      else expect(toHalfBits(v)).toBe(h);
    }
    expect(halfToFloat32(Uint16Array.from([0x3c00, 0xc000, 0x7bff, 0x0001]))).toEqual(Float32Array.from([1, -2, 65504, 2 ** -24]));
  });

  it('rounds to nearest, ties to even, and overflows to infinity', () => {
    // 1 + 2^-11 is halfway between 1 (0x3c00, even) and 1 + 2^-10 (0x3c01): ties go to even.
    expect(toHalfBits(1 + 2 ** -11)).toBe(0x3c00);
    // 1 + 3·2^-11 is halfway between 0x3c01 and 0x3c02: to even 0x3c02.
    expect(toHalfBits(1 + 3 * 2 ** -11)).toBe(0x3c02);
    expect(toHalfBits(1 + 2 ** -11 + 2 ** -20)).toBe(0x3c01);
    expect(toHalfBits(65520)).toBe(0x7c00);
    expect(toHalfBits(-1e6)).toBe(0xfc00);
    // Smallest subnormal half and half of it (tie → even 0).
    expect(toHalfBits(2 ** -24)).toBe(1);
    expect(toHalfBits(2 ** -25)).toBe(0);
    expect(float32ToHalf(Float32Array.from([0.5, -0.25]))).toEqual(Uint16Array.from([0x3800, 0xb400]));
  });

  it('feeds float32 to a float16 model and widens its float16 output', async () => {
    const rt = await createRuntime();
    const s = await rt.createSession({ bytes: fp16Model() }, DOUBLE);
    expect(s.inputs.get('x')).toMatchObject({ modelName: 'input', type: 'float16' });
    expect(s.hasOutput('extra')).toBe(false);
    const out = await s.run({ x: { type: 'float32', dims: [4], data: Float32Array.from([1.5, -3.25, 1000, 0.1]) } });
    expect(out.y!.type).toBe('float32');
    // 0.1 is not a half: it becomes 0.0999755859375, doubled exactly.
    expect(Array.from(out.y!.data as Float32Array)).toEqual([3, -6.5, 2000, 2 * fromHalfBits(toHalfBits(0.1))]);
    await rt.dispose();
  });
});

describe('contract binding', () => {
  it('names expected and found on a dtype mismatch and on inputs the contract lacks', () => {
    const e = (() => {
      try {
        bindContract(DOUBLE, ['x', 'mask'], ['y'], [
          { name: 'x', isTensor: true, type: 'int64', shape: ['N'] },
          { name: 'mask', isTensor: true, type: 'bool', shape: ['N'] },
        ]);
      } catch (err) {
        return err as DioramaError;
      }
      throw new Error('expected a throw');
    })();
    expect(e.code).toBe('MODEL_CONTRACT');
    expect(e.message).toContain("input 'x' has type int64; expected float32");
    expect(e.message).toContain("model input 'mask' is not part of the contract");
    expect(e.message).toContain("found inputs 'x' int64 [N], 'mask' bool [N]");
  });

  it('accepts models without metadata (names only)', () => {
    const b = bindContract(DOUBLE, ['input'], ['output', 'extra']);
    expect(b.inputs.get('x')!.modelName).toBe('input');
    expect(b.outputs.get('extra')!.modelName).toBe('extra');
  });

  it('checks feed shapes and binds symbols consistently at run time', async () => {
    const rt = await createRuntime();
    const s = await rt.createSession({ bytes: fp16Model() }, DOUBLE);
    const e = await rejection(s.run({ x: { type: 'float32', dims: [2, 2], data: new Float32Array(4) } }));
    expect(e.code).toBe('MODEL_CONTRACT');
    expect(e.message).toContain("feed 'x' has shape [2,2]; expected [N]");
    const e2 = await rejection(s.run({ x: { type: 'float32', dims: [3], data: new Float32Array(4) } }));
    expect(e2.code).toBe('INVALID_OPTION');
    expect(e2.message).toContain('4 values');
    const e3 = await rejection(s.run({}));
    expect(e3.message).toContain("feed 'x' is missing");
    await rt.dispose();
  });
});

describe('runtime', () => {
  it('serialises session creation', async () => {
    let active = 0;
    let maxActive = 0;
    let calls = 0;
    const wrapped = {
      env: ort.env,
      Tensor: ort.Tensor,
      InferenceSession: {
        async create(...args: Parameters<typeof ort.InferenceSession.create>) {
          calls++;
          active++;
          maxActive = Math.max(maxActive, active);
          try {
            await new Promise((r) => setTimeout(r, 20));
            return await (ort.InferenceSession.create as (...a: unknown[]) => Promise<ort.InferenceSession>)(...args);
          } finally {
            active--;
          }
        },
      },
    };
    const rt = await createRuntime({ ort: wrapped });
    const sessions = await Promise.all([0, 1, 2, 3].map(() => rt.createSession({ bytes: da3Model() }, TINY_DA3)));
    expect(calls).toBe(4);
    expect(maxActive).toBe(1);
    // A failing creation does not block the queue.
    const bad = rt.createSession({ bytes: new Uint8Array([1, 2, 3]) }, TINY_DA3);
    const next = rt.createSession({ bytes: da3Model() }, TINY_DA3);
    expect((await rejection(bad)).code).toBe('MODEL_LOAD');
    await expect(next).resolves.toBeDefined();
    await rt.dispose();
    expect((await rejection(sessions[0]!.run({ image: { type: 'float32', dims: [1, 3, 1, 1], data: new Float32Array(3) } }))).code).toBe('MODEL_DISPOSED');
    expect((await rejection(rt.createSession({ bytes: da3Model() }, TINY_DA3))).code).toBe('MODEL_DISPOSED');
  });

  it('asking for WebGPU without one falls back to wasm with one warning, and never picks fp16', async () => {
    const warnings: string[] = [];
    const rt = await createRuntime({ executionProviders: ['webgpu', 'wasm'], onWarning: (m) => warnings.push(m) });
    expect(rt.providers).toEqual(['wasm']);
    expect(rt.deviceMode).toBe('none');
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/WebGPU unavailable .*wasm/);
    expect(rt.supportsFp16).toBe(false);
    expect(rt.choosePrecision('auto')).toBe('fp32');
    expect(rt.choosePrecision('fp16')).toBe('fp32');
    expect(rt.choosePrecision('fp16')).toBe('fp32');
    expect(rt.choosePrecision('q8')).toBe('q8');
    expect(warnings).toHaveLength(2); // the fp16 refusal, once
    await rt.dispose();
  });

  it('a WebGPU session that cannot be created falls back to wasm with one warning; fp16 follows shader-f16', async () => {
    // A stand-in adapter (Node has no WebGPU) with 'shader-f16', and an onnxruntime whose webgpu EP fails.
    const g = globalThis as { navigator?: unknown };
    const saved = Object.getOwnPropertyDescriptor(globalThis, 'navigator');
    Object.defineProperty(globalThis, 'navigator', {
      configurable: true,
      value: { gpu: { requestAdapter: async () => ({ features: new Set(['shader-f16']), info: { vendor: 'test', architecture: 'stub' } }) } },
    });
    const eps: string[] = [];
    const wrapped = {
      env: ort.env,
      Tensor: ort.Tensor,
      InferenceSession: {
        async create(bytes: Uint8Array, options: ort.InferenceSession.SessionOptions) {
          const ep = options.executionProviders![0] as string;
          eps.push(ep);
          if (ep === 'webgpu') throw new Error('no WebGPU backend in this build');
          return ort.InferenceSession.create(bytes, options);
        },
      },
    };
    try {
      const warnings: string[] = [];
      const rt = await createRuntime({ ort: wrapped, executionProviders: ['webgpu', 'wasm'], onWarning: (m) => warnings.push(m) });
      expect(rt.providers).toEqual(['webgpu', 'wasm']);
      expect(rt.supportsFp16).toBe(true);
      expect(rt.choosePrecision('auto')).toBe('fp16');
      const s1 = await rt.createSession({ bytes: da3Model(), name: 'a.onnx' }, TINY_DA3);
      const s2 = await rt.createSession({ bytes: da3Model(), name: 'a.onnx' }, TINY_DA3);
      expect(s1.provider).toBe('wasm');
      expect(s2.provider).toBe('wasm');
      expect(eps).toEqual(['webgpu', 'wasm', 'webgpu', 'wasm']);
      expect(warnings).toHaveLength(1);
      expect(warnings[0]).toMatch(/could not create a webgpu session for 'a.onnx' \(no WebGPU backend in this build\); falling back to wasm/);
      await rt.dispose();
    } finally {
      if (saved) Object.defineProperty(globalThis, 'navigator', saved);
      else delete g.navigator;
    }
  });

  it('refuses GPU-buffer feeds on the wasm provider', async () => {
    const rt = await createRuntime();
    const s = await rt.createSession({ bytes: fp16Model() }, DOUBLE);
    const fake = { location: 'gpu-buffer', type: 'float32', dims: [4], gpuBuffer: {} as GPUBuffer, device: {} as GPUDevice } as const;
    const e = await rejection(s.run({ x: fake }));
    expect(e.code).toBe('MODEL_RUN');
    expect(e.message).toContain('wasm');
    await rt.dispose();
  });

  it('rejects an unknown execution provider', async () => {
    const e = await rejection(createRuntime({ executionProviders: ['cuda' as 'wasm'] }));
    expect(e.code).toBe('INVALID_OPTION');
  });
});
