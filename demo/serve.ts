/**
 * `npm run demo`: writes the sample scenes, bundles the demo page and its worker with esbuild, and serves
 * everything on http://127.0.0.1:<port>/ (default 4173; `--port 0` picks a free one). Prints the URL and
 * keeps serving until interrupted. `startDemo()` does the same for tests and the screenshot script.
 *
 * URL layout: / → demo/index.html; /three → demo/three.html (the three.js example page); /app/* → the bundles (out/demo/app); /samples/* → out/demo/samples;
 * everything else → the repository (onnxruntime-web's .wasm at /node_modules/onnxruntime-web/dist/,
 * generated test models at /out/models/).
 */
import { readFileSync, mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { build } from 'esbuild';
import { startStaticServer, type StaticServer } from './server';
import { writeSamples } from './samples';

export const REPO_ROOT = resolve(import.meta.dirname, '..');
const OUT = join(REPO_ROOT, 'out', 'demo');

/** Bundles demo/main.ts, demo/worker.ts and demo/three.ts into out/demo/app/. */
export async function bundleDemo(): Promise<void> {
  mkdirSync(join(OUT, 'app'), { recursive: true });
  await build({
    entryPoints: { main: join(REPO_ROOT, 'demo', 'main.ts'), worker: join(REPO_ROOT, 'demo', 'worker.ts'), three: join(REPO_ROOT, 'demo', 'three.ts') },
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    sourcemap: true,
    outdir: join(OUT, 'app'),
    loader: { '.wgsl': 'text' },
    logLevel: 'warning',
    external: ['node:*', 'fs', 'path', 'url', 'os', 'crypto', 'worker_threads', 'perf_hooks'],
  });
}

/** Writes samples, bundles and serves the demo. */
export async function startDemo(options: { port?: number } = {}): Promise<StaticServer> {
  await writeSamples(join(OUT, 'samples'));
  await bundleDemo();
  return startStaticServer({
    root: REPO_ROOT,
    port: options.port ?? 0,
    mounts: { '/app/': join(OUT, 'app'), '/samples/': join(OUT, 'samples') },
    routes: {
      '/': (_req, _u, res) => {
        res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' });
        res.end(readFileSync(join(REPO_ROOT, 'demo', 'index.html')));
      },
      '/three': (_req, _u, res) => {
        res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' });
        res.end(readFileSync(join(REPO_ROOT, 'demo', 'three.html')));
      },
      '/style.css': (_req, _u, res) => {
        res.writeHead(200, { 'Content-Type': 'text/css; charset=utf-8' });
        res.end(readFileSync(join(REPO_ROOT, 'demo', 'style.css')));
      },
    },
  });
}

if (process.argv[1] && resolve(process.argv[1]) === resolve(import.meta.filename)) {
  const { values } = parseArgs({ options: { port: { type: 'string', default: process.env.PORT ?? '4173' } } });
  const t0 = performance.now();
  const server = await startDemo({ port: Number(values.port) });
  console.log(`Diorama demo ready in ${((performance.now() - t0) / 1000).toFixed(1)} s: ${server.url}/`);
  console.log('Open it in a browser with WebGPU or WebGL2 (Chrome, Edge, Firefox, Safari). Ctrl+C stops.');
}
