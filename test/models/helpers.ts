/**
 * Helpers shared by the model tests (test/models/*.test.ts).
 */
import { expect } from 'vitest';
import { DioramaError } from '../../src/core/errors';
import type { AxisTable } from '../../src/models/resample';
import type { ModelSession } from '../../src/models/runtime';

/** Awaits `p`, asserts that it rejects with a DioramaError and returns that error (fails if it resolves). */
export async function rejection(p: Promise<unknown>): Promise<DioramaError> {
  try {
    await p;
  } catch (e) {
    expect(e).toBeInstanceOf(DioramaError);
    return e as DioramaError;
  }
  throw new Error('expected a rejection');
}

/** Wraps a session so that its runs are counted; every other member is forwarded to the session. */
export function counted(s: ModelSession): { session: ModelSession; runs: () => number } {
  let n = 0;
  const session = new Proxy(s, {
    get(target, key) {
      if (key === 'run') {
        return (...args: Parameters<ModelSession['run']>) => {
          n++;
          return target.run(...args);
        };
      }
      const v = Reflect.get(target, key, target) as unknown;
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  });
  return { session, runs: () => n };
}

/** The taps of output `i` of a resampling table that carry weight, as [source index, weight] pairs. */
export function nonZeroTaps(t: AxisTable, i: number): [number, number][] {
  const out: [number, number][] = [];
  for (let k = 0; k < t.taps; k++) if (t.weight[i * t.taps + k] !== 0) out.push([t.index[i * t.taps + k]!, t.weight[i * t.taps + k]!]);
  return out;
}

/**
 * Whether a resampling table of a `inSize`-sample axis is a partition of unity with in-range indices: every
 * tap reads a sample in [0, inSize) and each output's weights sum to 1. The weights are float32, each rounded
 * at most twice from exact values that sum to 1 (when computed, and when normalised), so
 * |Σw − 1| ≤ 2·2⁻²⁴·Σ|w|, plus the double-precision summation here (≤ taps·2⁻⁵³).
 */
export function isPartitionOfUnity(t: AxisTable, inSize: number): boolean {
  for (let i = 0; i < t.outSize; i++) {
    let sum = 0;
    let abs = 0;
    for (let k = 0; k < t.taps; k++) {
      const j = t.index[i * t.taps + k]!;
      if (j < 0 || j >= inSize) return false;
      const w = t.weight[i * t.taps + k]!;
      sum += w;
      abs += Math.abs(w);
    }
    if (Math.abs(sum - 1) > 2 ** -23 * abs + t.taps * 2 ** -53) return false;
  }
  return true;
}
