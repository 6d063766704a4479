/**
 * Model byte caches. A cache maps a key (the file's URL) to its complete bytes; entries are written only after
 * a download finished and passed its integrity check, so an aborted or failed download never leaves an entry.
 * A cache that fails (quota, private mode, read-only disk) is not an error: callers go through `safeCache()`,
 * which turns failures into one warning and a miss.
 *
 * - Browsers and workers: the Cache API (`caches.open('diorama-models')`), keyed by URL.
 * - Node: files under `~/.cache/diorama` (or `$DIORAMA_CACHE_DIR`, or a directory you choose), see cache-node.ts.
 * - Anything else: implement `ModelCache` (three methods).
 */
import { isNode } from './runtime';

/** Where model bytes are kept between sessions. Keys are URLs (or any stable string). */
export interface ModelCache {
  get(key: string): Promise<Uint8Array | undefined>;
  put(key: string, bytes: Uint8Array): Promise<void>;
  delete(key: string): Promise<void>;
}

/** The Cache API store used in browsers. */
export function browserCache(name = 'diorama-models'): ModelCache {
  const open = () => {
    const cs = (globalThis as { caches?: CacheStorage }).caches;
    if (!cs) throw new Error('the Cache API is not available here');
    return cs.open(name);
  };
  return {
    async get(key) {
      const res = await (await open()).match(key);
      if (!res) return undefined;
      return new Uint8Array(await res.arrayBuffer());
    },
    async put(key, bytes) {
      const body = new Blob([bytes as Uint8Array<ArrayBuffer>], { type: 'application/octet-stream' });
      await (await open()).put(key, new Response(body, { headers: { 'Content-Length': String(bytes.byteLength) } }));
    },
    async delete(key) {
      await (await open()).delete(key);
    },
  };
}

/** An in-memory cache (tests, short-lived pages). */
export function memoryCache(): ModelCache & { readonly entries: Map<string, Uint8Array> } {
  const entries = new Map<string, Uint8Array>();
  return {
    entries,
    get: async (k) => entries.get(k),
    put: async (k, b) => void entries.set(k, b),
    delete: async (k) => void entries.delete(k),
  };
}

/**
 * The platform's default cache: the Cache API in browsers, a disk cache in Node (directory `nodeDir`, else
 * $DIORAMA_CACHE_DIR, else ~/.cache/diorama). Undefined when neither exists.
 */
export async function defaultCache(nodeDir?: string): Promise<ModelCache | undefined> {
  if (isNode()) {
    const { diskCache } = await import('./cache-node');
    return diskCache(nodeDir);
  }
  if ((globalThis as { caches?: unknown }).caches) return browserCache();
  return undefined;
}

/** Wraps a cache so that its failures become one warning each and behave as misses / no-ops. */
export function safeCache(cache: ModelCache, warn: (message: string) => void): ModelCache {
  const guard = async <T>(what: string, key: string, f: () => Promise<T>, fallback: T): Promise<T> => {
    try {
      return await f();
    } catch (e) {
      warn(`model cache ${what} failed for ${key} (${e instanceof Error ? e.message : String(e)}); continuing without the cache`);
      return fallback;
    }
  };
  return {
    get: (k) => guard('read', k, () => cache.get(k), undefined),
    put: (k, b) => guard('write', k, () => cache.put(k, b), undefined),
    delete: (k) => guard('delete', k, () => cache.delete(k), undefined),
  };
}
