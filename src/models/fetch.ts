/**
 * Getting model bytes: HTTP(S) downloads with byte progress, abort, optional SHA-256 check and caching, and
 * local files in Node.
 *
 * Order of a download: cache lookup (a cached entry whose SHA-256 differs from the expected one is dropped) →
 * fetch → stream the body, reporting bytes → length check against Content-Length → SHA-256 check → cache write.
 * The cache is written only at the very end, so an aborted, truncated or corrupt download leaves no entry.
 */
import { DioramaError } from '../core/errors';
import { type ModelCache, defaultCache, safeCache } from './cache';
import { messageOf, modelError } from './errors';
import { isNode } from './runtime';
import { importNodeBuiltin } from './node-builtins';

/** Byte progress of one file. `total` is undefined when the server sends no Content-Length. */
export interface DownloadProgress {
  /** URL or path of the file. */
  file: string;
  loaded: number;
  total: number | undefined;
  /** True when served from the cache. */
  cached: boolean;
}

export interface FetchOptions {
  signal?: AbortSignal;
  onProgress?: (p: DownloadProgress) => void;
  /** Cache to use; false disables caching; default: the platform's (Cache API / ~/.cache/diorama). */
  cache?: ModelCache | false;
  /** Node disk-cache directory when `cache` is not given. */
  cacheDir?: string;
  /** Expected SHA-256 (hex, any case). A mismatch throws MODEL_INTEGRITY and nothing is cached. */
  sha256?: string;
  /**
   * Expected size in bytes. A download of another length throws MODEL_FETCH and nothing is cached; a cached entry
   * of another length is dropped and downloaded again.
   */
  expectedBytes?: number;
  /** fetch implementation (default globalThis.fetch). */
  fetch?: typeof fetch;
  /** Extra request headers (e.g. an Authorization header for gated models). */
  headers?: Record<string, string>;
  /** Receives warnings (cache failures). Default console.warn. */
  onWarning?: (message: string) => void;
}

/**
 * The two ways forward every MODEL_FETCH message names (offline machines, blocked hosts, gated repositories).
 * Exported so that entry points (loader, CLI, demo) can show the same words.
 */
export const MODEL_FETCH_HINT =
  'serve the model files yourself and pass `modelBaseUrl` (Hugging Face layout <modelBaseUrl>/<repo>/resolve/<revision>/<file>), or pass a depth map';

/** A MODEL_FETCH error for `url`: what failed, then the two ways forward. */
export function fetchError(url: string, what: string, cause?: unknown): DioramaError {
  return modelError('MODEL_FETCH', `cannot download ${url}: ${what}; ${MODEL_FETCH_HINT}`, cause);
}

function abortError(signal: AbortSignal): DioramaError {
  return new DioramaError('ABORTED', 'model download aborted', { cause: signal.reason });
}

/** Lower-case hex SHA-256 of `bytes` (WebCrypto: browsers' secure contexts and Node ≥ 19). */
export async function sha256Hex(bytes: Uint8Array): Promise<string> {
  const subtle = (globalThis as { crypto?: Crypto }).crypto?.subtle;
  if (!subtle) throw modelError('MODEL_INTEGRITY', 'SHA-256 check requested but crypto.subtle is unavailable (not a secure context?)');
  const digest = await subtle.digest('SHA-256', bytes as Uint8Array<ArrayBuffer>);
  const v = new Uint8Array(digest);
  let s = '';
  for (let i = 0; i < v.length; i++) s += v[i]!.toString(16).padStart(2, '0');
  return s;
}

/** Throws MODEL_INTEGRITY when `bytes` do not hash to `expected`. */
export async function verifySha256(bytes: Uint8Array, expected: string, file: string): Promise<void> {
  const want = expected.trim().toLowerCase();
  if (!/^[0-9a-f]{64}$/.test(want)) throw modelError('INVALID_OPTION', `sha256 for ${file} must be 64 hex digits; found '${expected}'`);
  const got = await sha256Hex(bytes);
  if (got !== want) throw modelError('MODEL_INTEGRITY', `SHA-256 of ${file} (${bytes.byteLength} bytes) is ${got}; expected ${want}`);
}

const warnedOnce = new Set<string>();
function warnOnce(onWarning: FetchOptions['onWarning'], message: string): void {
  if (onWarning) return onWarning(message);
  if (warnedOnce.has(message)) return;
  warnedOnce.add(message);
  console.warn(`[diorama] ${message}`);
}

/**
 * Downloads `url` (or returns its cached bytes). Throws MODEL_FETCH (HTTP status, network error, truncated
 * body), MODEL_INTEGRITY (SHA-256 mismatch) or ABORTED.
 */
export async function fetchModelFile(url: string, options: FetchOptions = {}): Promise<Uint8Array> {
  const { signal, onProgress, sha256 } = options;
  if (signal?.aborted) throw abortError(signal);
  // data: and blob: URLs are already local: never cached.
  const cacheable = !/^(data|blob):/i.test(url);
  const rawCache = options.cache === false || !cacheable ? undefined : (options.cache ?? (await defaultCache(options.cacheDir).catch(() => undefined)));
  const cache = rawCache ? safeCache(rawCache, (m) => warnOnce(options.onWarning, m)) : undefined;

  if (cache) {
    const hit = await cache.get(url);
    if (hit) {
      let ok = options.expectedBytes === undefined || hit.byteLength === options.expectedBytes;
      if (ok && sha256) ok = (await sha256Hex(hit)) === sha256.trim().toLowerCase();
      if (!ok) await cache.delete(url);
      if (ok) {
        onProgress?.({ file: url, loaded: hit.byteLength, total: hit.byteLength, cached: true });
        return hit;
      }
    }
  }

  const doFetch = options.fetch ?? globalThis.fetch;
  if (typeof doFetch !== 'function') throw fetchError(url, 'no fetch() in this environment');
  let res: Response;
  try {
    res = await doFetch(url, { signal, headers: options.headers });
  } catch (e) {
    if (signal?.aborted) throw abortError(signal);
    throw fetchError(url, messageOf(e), e);
  }
  if (!res.ok) {
    await res.body?.cancel().catch(() => undefined);
    const hint = res.status === 401 || res.status === 403 ? ' (gated model? pass an Authorization header through `headers`)' : '';
    throw fetchError(url, `HTTP ${res.status} ${res.statusText}${hint}`.trim());
  }
  const lengthHeader = res.headers.get('Content-Length');
  // With Content-Encoding the header counts compressed bytes: do not trust it as the body length then.
  const encoded = !!res.headers.get('Content-Encoding') && res.headers.get('Content-Encoding') !== 'identity';
  const total = lengthHeader !== null && !encoded && Number.isFinite(Number(lengthHeader)) ? Number(lengthHeader) : undefined;

  const bytes = await readBody(res, url, total, signal, onProgress);
  if (total !== undefined && bytes.byteLength !== total) {
    throw fetchError(url, `the download is truncated: received ${bytes.byteLength} of ${total} bytes`);
  }
  if (options.expectedBytes !== undefined && bytes.byteLength !== options.expectedBytes) {
    throw fetchError(url, `received ${bytes.byteLength} bytes; expected ${options.expectedBytes} (wrong or changed file)`);
  }
  if (sha256) await verifySha256(bytes, sha256, url);
  if (signal?.aborted) throw abortError(signal);
  if (cache) await cache.put(url, bytes);
  return bytes;
}

async function readBody(
  res: Response,
  url: string,
  total: number | undefined,
  signal: AbortSignal | undefined,
  onProgress: FetchOptions['onProgress'],
): Promise<Uint8Array> {
  onProgress?.({ file: url, loaded: 0, total, cached: false });
  if (!res.body) {
    const b = new Uint8Array(await res.arrayBuffer());
    onProgress?.({ file: url, loaded: b.byteLength, total, cached: false });
    return b;
  }
  const reader = res.body.getReader();
  // With a known length, write into one buffer; otherwise collect chunks and join once.
  let buf: Uint8Array | undefined = total !== undefined ? new Uint8Array(total) : undefined;
  const chunks: Uint8Array[] = [];
  let loaded = 0;
  const onAbort = () => void reader.cancel().catch(() => undefined);
  signal?.addEventListener('abort', onAbort, { once: true });
  try {
    for (;;) {
      let r: ReadableStreamReadResult<Uint8Array>;
      try {
        r = await reader.read();
      } catch (e) {
        if (signal?.aborted) throw abortError(signal);
        throw fetchError(url, `the connection failed after ${loaded} bytes (${messageOf(e)})`, e);
      }
      if (signal?.aborted) throw abortError(signal);
      if (r.done) break;
      const chunk = r.value;
      if (buf && loaded + chunk.byteLength <= buf.byteLength) buf.set(chunk, loaded);
      else {
        if (buf) {
          // More bytes than announced: fall back to chunks.
          chunks.push(buf.subarray(0, loaded));
          buf = undefined;
        }
        chunks.push(chunk);
      }
      loaded += chunk.byteLength;
      onProgress?.({ file: url, loaded, total, cached: false });
    }
  } finally {
    signal?.removeEventListener('abort', onAbort);
  }
  if (buf) return loaded === buf.byteLength ? buf : buf.subarray(0, loaded);
  const out = new Uint8Array(loaded);
  let o = 0;
  for (const c of chunks) {
    out.set(c, o);
    o += c.byteLength;
  }
  return out;
}

/** Reads a local file (Node only). Throws MODEL_FETCH when it cannot be read, MODEL_INTEGRITY on a hash mismatch. */
export async function readModelFile(path: string, options: Pick<FetchOptions, 'signal' | 'onProgress' | 'sha256' | 'expectedBytes'> = {}): Promise<Uint8Array> {
  if (!isNode()) throw modelError('MODEL_FETCH', `cannot read local path '${path}' outside Node; pass a URL or the bytes`);
  if (options.signal?.aborted) throw abortError(options.signal);
  const { readFile } = await importNodeBuiltin('node:fs/promises');
  let bytes: Uint8Array;
  try {
    const b = await readFile(path, { signal: options.signal });
    bytes = new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
  } catch (e) {
    if (options.signal?.aborted) throw abortError(options.signal);
    throw modelError('MODEL_FETCH', `cannot read model file '${path}': ${messageOf(e)}`, e);
  }
  options.onProgress?.({ file: path, loaded: bytes.byteLength, total: bytes.byteLength, cached: false });
  if (options.expectedBytes !== undefined && bytes.byteLength !== options.expectedBytes) {
    throw modelError('MODEL_FETCH', `model file '${path}' has ${bytes.byteLength} bytes; expected ${options.expectedBytes}`);
  }
  if (options.sha256) await verifySha256(bytes, options.sha256, path);
  return bytes;
}
