/**
 * A small static HTTP server for the demo and the browser tests: files under a root directory plus named
 * mounts (e.g. /shared-data/ → ../shared/data), cross-origin isolated (COOP/COEP, so onnxruntime-web may use
 * threaded wasm), correct MIME types for .wasm/.onnx/.wgsl, no caching, loopback only.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { extname, join, resolve, sep } from 'node:path';
import type { AddressInfo } from 'node:net';

export const MIME: Readonly<Record<string, string>> = Object.freeze({
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.map': 'application/json',
  '.wasm': 'application/wasm',
  '.onnx': 'application/octet-stream',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.webp': 'image/webp',
  '.svg': 'image/svg+xml',
  '.pfm': 'application/octet-stream',
  '.npy': 'application/octet-stream',
  '.glb': 'model/gltf-binary',
  '.wgsl': 'text/plain; charset=utf-8',
  '.txt': 'text/plain; charset=utf-8',
});

export interface StaticServerOptions {
  /** Directory served at /. */
  root: string;
  /** URL prefix (with leading and trailing slash) → directory. */
  mounts?: Record<string, string>;
  /** Exact paths answered by a handler instead of a file (e.g. '/' → the demo page). */
  routes?: Record<string, (req: IncomingMessage, url: URL, res: ServerResponse) => void>;
  /** Port on 127.0.0.1; 0 = any free port. Default 0. */
  port?: number;
}

export interface StaticServer {
  /** e.g. http://127.0.0.1:41234 (no trailing slash). */
  url: string;
  port: number;
  close(): Promise<void>;
}

/** Starts the server; resolves once it listens. Only GET/HEAD of regular files inside a root are served. */
export async function startStaticServer(options: StaticServerOptions): Promise<StaticServer> {
  const root = resolve(options.root);
  const mounts = Object.entries(options.mounts ?? {}).map(([prefix, dir]) => [prefix, resolve(dir)] as const);
  const server = createServer((req, res) => {
    const u = new URL(req.url ?? '/', 'http://localhost');
    res.setHeader('Cross-Origin-Opener-Policy', 'same-origin');
    res.setHeader('Cross-Origin-Embedder-Policy', 'require-corp');
    res.setHeader('Cross-Origin-Resource-Policy', 'same-origin');
    res.setHeader('Cache-Control', 'no-store');
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { Allow: 'GET, HEAD' });
      res.end();
      return;
    }
    const route = options.routes?.[u.pathname];
    if (route) {
      route(req, u, res);
      return;
    }
    let base = root;
    let rel: string;
    try {
      rel = decodeURIComponent(u.pathname);
    } catch {
      res.writeHead(400);
      res.end('bad path');
      return;
    }
    for (const [prefix, dir] of mounts) {
      if (rel.startsWith(prefix)) {
        base = dir;
        rel = rel.slice(prefix.length - 1);
        break;
      }
    }
    const file = resolve(join(base, rel));
    if (!(file === base || file.startsWith(base + sep)) || !existsSync(file) || !statSync(file).isFile()) {
      res.writeHead(404, { 'Content-Type': 'text/plain; charset=utf-8' });
      res.end(`not found: ${u.pathname}`);
      return;
    }
    const body = readFileSync(file);
    res.writeHead(200, { 'Content-Type': MIME[extname(file).toLowerCase()] ?? 'application/octet-stream', 'Content-Length': body.length });
    res.end(req.method === 'HEAD' ? undefined : body);
  });
  await new Promise<void>((ok, fail) => {
    server.once('error', fail);
    server.listen(options.port ?? 0, '127.0.0.1', () => ok());
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    close: () =>
      new Promise<void>((ok) => {
        server.closeAllConnections();
        server.close(() => ok());
      }),
  };
}
