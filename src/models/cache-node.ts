/**
 * Node disk cache for model files. Layout: one file per key, `<dir>/<sha256(key) first 24 hex>-<basename>`.
 * Writes go to a unique `.partial` file that is renamed into place only when complete, so a crash or abort
 * never leaves a truncated entry under the final name.
 *
 * Node built-ins are imported inside the functions (through node-builtins.ts): this module is reachable from browser bundles
 * (through cache.ts), where a static `import 'node:fs'` would break loading even though the code never runs.
 */
import type { ModelCache } from './cache';
import { sha256Hex } from './fetch';
import { importNodeBuiltin } from './node-builtins';

type Env = Record<string, string | undefined>;
const nodeProcess = () => (globalThis as unknown as { process: { env: Env; pid: number } }).process;

/** The default cache directory: $DIORAMA_CACHE_DIR, else $XDG_CACHE_HOME/diorama, else ~/.cache/diorama. */
export async function defaultCacheDir(): Promise<string> {
  const env = nodeProcess().env;
  if (env.DIORAMA_CACHE_DIR) return env.DIORAMA_CACHE_DIR;
  const { homedir } = await importNodeBuiltin('node:os');
  const { join } = await importNodeBuiltin('node:path');
  return join(env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'diorama');
}

/** The file name a key is stored under (sha256 prefix of the key + a readable base name). */
export async function cacheFileName(key: string): Promise<string> {
  const hash = (await sha256Hex(new TextEncoder().encode(key))).slice(0, 24);
  const base = (key.split(/[?#]/)[0]!.split('/').pop() || 'model').replace(/[^A-Za-z0-9._-]/g, '_').slice(0, 80);
  return `${hash}-${base}`;
}

/** A ModelCache over a directory (default: defaultCacheDir(), created on first write). */
export function diskCache(dir?: string): ModelCache & { dir(): Promise<string> } {
  let resolved: Promise<string> | undefined;
  const dirOf = () => (resolved ??= dir !== undefined ? Promise.resolve(dir) : defaultCacheDir());
  const fileOf = async (key: string) => {
    const { join } = await importNodeBuiltin('node:path');
    return join(await dirOf(), await cacheFileName(key));
  };
  return {
    dir: dirOf,
    async get(key) {
      const { readFile } = await importNodeBuiltin('node:fs/promises');
      try {
        const b = await readFile(await fileOf(key));
        return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
      } catch (e) {
        if ((e as { code?: string }).code === 'ENOENT') return undefined;
        throw e;
      }
    },
    async put(key, bytes) {
      const { mkdir, rename, rm, writeFile } = await importNodeBuiltin('node:fs/promises');
      await mkdir(await dirOf(), { recursive: true });
      const final = await fileOf(key);
      const tmp = `${final}.${nodeProcess().pid}.${Math.random().toString(36).slice(2, 10)}.partial`;
      try {
        await writeFile(tmp, bytes);
        await rename(tmp, final);
      } catch (e) {
        await rm(tmp, { force: true }).catch(() => undefined);
        throw e;
      }
    },
    async delete(key) {
      const { rm } = await importNodeBuiltin('node:fs/promises');
      await rm(await fileOf(key), { force: true });
    },
  };
}
