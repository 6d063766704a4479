/**
 * A local stand-in for Hugging Face and GitHub releases: serves the tiny hub tree (test/fixtures/make-hub-models.ts)
 * on 127.0.0.1 in the public layout (`/<repo>/resolve/<revision>/<file>`, `/<repo>/releases/download/<tag>/<file>`),
 * with CORS headers (so pages on another origin can fetch), request counts, and injectable faults per path:
 *   'drop'   send the headers with the full Content-Length, half the body, then destroy the socket;
 *   '404'    answer 404;
 *   'short'  announce the true length but end the body early (Content-Length not reached, connection closed).
 * Used by test/models/hub.test.ts, test/cli-models.test.ts and the browser tests.
 */
import { createServer, type Server } from 'node:http';
import { readFileSync, statSync } from 'node:fs';
import { join, normalize } from 'node:path';
import type { AddressInfo } from 'node:net';
import { HUB_DIR, writeHub } from '../fixtures/make-hub-models';

export type HubFault = 'drop' | '404' | 'short';

export interface HubServer {
  /** http://127.0.0.1:<port> (use as `modelBaseUrl`). */
  readonly url: string;
  /** Requests per path. */
  readonly hits: Map<string, number>;
  /** Faults per path (mutable: set, delete, clear). */
  readonly faults: Map<string, HubFault>;
  close(): Promise<void>;
}

/** Writes the hub tree (unless `dir` is given and already written) and serves it. */
export async function startHubServer(dir?: string): Promise<HubServer> {
  const root = dir ?? writeHub(HUB_DIR);
  const hits = new Map<string, number>();
  const faults = new Map<string, HubFault>();
  const server: Server = createServer((req, res) => {
    const path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
    hits.set(path, (hits.get(path) ?? 0) + 1);
    const cors = {
      'Access-Control-Allow-Origin': '*',
      'Cross-Origin-Resource-Policy': 'cross-origin',
      'Access-Control-Expose-Headers': 'Content-Length',
    };
    if (req.method === 'OPTIONS') {
      res.writeHead(204, { ...cors, 'Access-Control-Allow-Headers': '*' });
      return res.end();
    }
    const file = normalize(join(root, path));
    const fault = faults.get(path);
    let body: Buffer | undefined;
    try {
      if (file.startsWith(root) && statSync(file).isFile()) body = readFileSync(file);
    } catch {
      body = undefined;
    }
    if (!body || fault === '404') {
      res.writeHead(404, { ...cors, 'Content-Type': 'text/plain' });
      return res.end('Entry not found');
    }
    res.writeHead(200, { ...cors, 'Content-Type': 'application/octet-stream', 'Content-Length': body.byteLength, ...(fault ? { Connection: 'close' } : {}) });
    if (fault === 'drop') {
      res.write(body.subarray(0, body.byteLength >> 1), () => setTimeout(() => res.destroy(), 10));
      return;
    }
    if (fault === 'short') {
      // Fewer bytes than announced, then the connection closes (Connection: close).
      res.write(body.subarray(0, Math.max(0, body.byteLength - 7)), () => res.destroy());
      return;
    }
    res.end(body);
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    hits,
    faults,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((ok) => server.close(() => ok()));
    },
  };
}
