/**
 * Helpers shared by the model tests (test/models/*.test.ts).
 */
import { expect } from 'vitest';
import { DioramaError } from '../../src/core/errors';
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
