/**
 * Browser test harness (Node side): launches Debian's Chromium through puppeteer-core with the flag set that
 * makes WebGL2, WebGPU compute and a WebGPU canvas work together on SwiftShader (../shared/docs/environment.md),
 * serves the repository over HTTP on 127.0.0.1 (with COOP/COEP so multi-threaded wasm works), and bundles
 * page-side TypeScript entries with esbuild.
 *
 * A page entry (e.g. test/browser/pages/foo.page.ts) assigns its test functions to `window.diorama` and
 * then sets `window.dioramaReady = true`. A vitest file opens it with `openPage(h, 'test/browser/pages/foo.page.ts')`
 * and calls `page.evaluate(() => window.diorama.someTest(args))`.
 * `const h = useHarness()` inside a describe block starts the server and browser in beforeAll and closes
 * them in afterAll; `h()` returns the harness.
 *
 * URL layout of the server:
 *   /<path>            a file of the repository (node_modules included, so onnxruntime-web's .wasm is at
 *                      /node_modules/onnxruntime-web/dist/)
 *   /shared-data/<p>   ../shared/data/<p> (absent on a user's clone: tests must skip)
 *   /__page?entry=<js> an empty page with a 512×512 canvas#c that imports the bundled entry as a module
 */
import { existsSync, mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { build } from 'esbuild';
import puppeteer, { type Browser, type Page } from 'puppeteer-core';
import { afterAll, beforeAll } from 'vitest';
import { startStaticServer, type StaticServer } from '../../demo/server';

export const REPO_ROOT = resolve(import.meta.dirname, '..', '..');
export const SHARED_DATA = resolve(REPO_ROOT, '..', 'shared', 'data');
export const CHROME_PATH = process.env.CHROME_PATH ?? '/usr/bin/chromium';

/** True when a Chromium executable exists (CI installs Debian's; a user may point CHROME_PATH at Chrome). */
export const hasChromium = existsSync(CHROME_PATH);
/** True when ../shared/data is beside the repository. */
export const hasSharedData = existsSync(SHARED_DATA);

/** Flags measured to make WebGL2, WebGPU compute and a WebGPU canvas work together headless (environment.md). */
export const CHROMIUM_FLAGS = [
  '--no-sandbox',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--disable-quic',
  '--disable-dev-shm-usage',
  '--enable-unsafe-webgpu',
  '--enable-unsafe-swiftshader',
  '--enable-features=Vulkan',
  '--use-vulkan=swiftshader',
  '--use-angle=swiftshader',
];

export type TestServer = StaticServer;

function pageHtml(entry: string, width: number, height: number): string {
  return `<!doctype html><html><head><meta charset="utf-8"><title>diorama test</title><link rel="icon" href="data:,">
<style>html,body{margin:0;background:#000}canvas{display:block}</style></head>
<body><canvas id="c" width="${width}" height="${height}" style="width:${width}px;height:${height}px"></canvas>
<script type="module" src="${entry}"></script></body></html>`;
}

/** Serves the repository root (and ../shared/data under /shared-data/) on 127.0.0.1 with cross-origin isolation headers. */
export function startServer(): Promise<TestServer> {
  return startStaticServer({
    root: REPO_ROOT,
    mounts: { '/shared-data/': SHARED_DATA },
    routes: {
      '/__page': (_req, u, res) => {
        const entry = (u.searchParams.get('entry') ?? '').replace(/[<>"]/g, '');
        const w = Number(u.searchParams.get('w') ?? 512);
        const h = Number(u.searchParams.get('h') ?? 512);
        res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' });
        res.end(pageHtml(entry, w, h));
      },
    },
  });
}

/** Launches headless Chromium with CHROMIUM_FLAGS plus any extra flags. */
export async function launchBrowser(extraArgs: string[] = []): Promise<Browser> {
  return puppeteer.launch({
    executablePath: CHROME_PATH,
    headless: true,
    args: [...CHROMIUM_FLAGS, ...extraArgs],
    protocolTimeout: 600_000,
  });
}

const bundled = new Map<string, string>();

/**
 * Bundles a page-side entry (path relative to the repository root) into out/browser/ as one ESM file and
 * returns its URL path. `.wgsl` files import as strings, as in the library build. Cached per process.
 */
export async function bundleEntry(entry: string): Promise<string> {
  const hit = bundled.get(entry);
  if (hit) return hit;
  const outDir = join(REPO_ROOT, 'out', 'browser');
  mkdirSync(outDir, { recursive: true });
  const name = entry.replace(/^.*\//, '').replace(/\.[cm]?tsx?$/, '') + '.js';
  await build({
    entryPoints: [join(REPO_ROOT, entry)],
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    sourcemap: 'inline',
    outfile: join(outDir, name),
    loader: { '.wgsl': 'text' },
    logLevel: 'warning',
    // onnxruntime-web's bundles reference Node built-ins behind runtime checks.
    external: ['node:*', 'fs', 'path', 'url', 'os', 'crypto', 'worker_threads', 'perf_hooks'],
  });
  const url = `/out/browser/${name}`;
  bundled.set(entry, url);
  return url;
}

export interface Harness {
  browser: Browser;
  server: TestServer;
  close(): Promise<void>;
}

/** Starts a server and a browser together (one per test file, in beforeAll). */
export async function startHarness(extraArgs: string[] = []): Promise<Harness> {
  const server = await startServer();
  const browser = await launchBrowser(extraArgs);
  return {
    browser,
    server,
    async close() {
      await browser.close().catch(() => undefined);
      await server.close();
    },
  };
}

/**
 * Registers, in the calling describe block, a beforeAll that starts a harness (after `before`, e.g. writing
 * fixtures, within the same hook and its `timeout`) and an afterAll that closes it. Returns a getter for the
 * harness, valid inside tests and hooks registered after this call (beforeAll hooks run in order).
 */
export function useHarness(options: { timeout?: number; before?: () => Promise<unknown>; extraArgs?: string[] } = {}): () => Harness {
  let h: Harness | undefined;
  beforeAll(async () => {
    await options.before?.();
    h = await startHarness(options.extraArgs);
  }, options.timeout);
  afterAll(async () => {
    await h?.close();
  });
  return () => {
    if (!h) throw new Error('useHarness: the harness is not started (use the getter inside tests or later hooks)');
    return h;
  };
}

export interface OpenedPage {
  page: Page;
  /** Console errors and uncaught page errors seen so far. */
  errors: string[];
  /** Every console line, for diagnostics. */
  logs: string[];
}

/**
 * Opens a fresh page that imports the bundled `entry` and waits until it sets `window.dioramaReady`.
 * The canvas size defaults to 512×512.
 */
export async function openPage(h: Harness, entry: string, size: { width?: number; height?: number } = {}): Promise<OpenedPage> {
  const script = await bundleEntry(entry);
  const page = await h.browser.newPage();
  const errors: string[] = [];
  const logs: string[] = [];
  page.on('console', (m) => {
    const line = `[${m.type()}] ${m.text()}`;
    logs.push(line);
    if (m.type() === 'error') errors.push(line);
  });
  page.on('pageerror', (e) => errors.push(`[pageerror] ${(e as Error).message ?? String(e)}`));
  const w = size.width ?? 512;
  const hh = size.height ?? 512;
  await page.setViewport({ width: w, height: hh });
  await page.goto(`${h.server.url}/__page?entry=${encodeURIComponent(script)}&w=${w}&h=${hh}`, { waitUntil: 'load' });
  await page.waitForFunction('window.dioramaReady === true || window.dioramaError !== undefined', { timeout: 120_000 });
  const failed = await page.evaluate('window.dioramaError');
  if (failed !== undefined) throw new Error(`page ${entry} failed to start: ${String(failed)}\n${logs.join('\n')}`);
  return { page, errors, logs };
}

/** Calls the page's exposed `window.diorama[fn](args)` (see pages/boot.ts expose) and returns its result. */
export async function callPage<T>(page: Page, fn: string, args?: unknown): Promise<T> {
  return (await page.evaluate((f, a) => window.diorama[f]!(a), fn, args as never)) as T;
}

/**
 * For the WebGPU tests: in the calling describe block, a harness (useHarness), `entry` opened once, and whether
 * Chromium gives that page a WebGPU adapter (its exposed `adapter()`). The getters and `call` are valid inside
 * tests and later hooks.
 */
export function useGpuPage(entry: string, timeout = 120_000): { available: () => boolean; errors: () => string[]; call: <T>(fn: string, args?: unknown) => Promise<T> } {
  const h = useHarness({ timeout });
  let opened: OpenedPage | undefined;
  let available = false;
  beforeAll(async () => {
    opened = await openPage(h(), entry);
    available = (await callPage<{ available: boolean }>(opened.page, 'adapter')).available;
  }, timeout);
  const page = (): Page => {
    if (!opened) throw new Error(`useGpuPage: ${entry} is not open (use the getters inside tests)`);
    return opened.page;
  };
  return { available: () => available, errors: () => opened?.errors ?? [], call: (fn, args) => callPage(page(), fn, args) };
}
