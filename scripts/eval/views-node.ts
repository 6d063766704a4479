/**
 * Node half of the browser renderer used by the novel-view evaluation and the orbit test: opens
 * scripts/eval/views.page.ts in the headless Chromium of test/browser/harness.ts, ships a photo + depth to
 * it and gets every requested view of every method back as RGBA images (see views.page.ts).
 */
import type { Page } from 'puppeteer-core';
import type { Intrinsics, RGBAImage } from '../../src/core/types';
import { openPage, type Harness } from '../../test/browser/harness';
import type { RenderRequest, RenderResponse, ViewMethod, ViewSpec } from './views.page';
import { coverageFromPair, type Coverage } from './view-metrics';

export type { ViewMethod, ViewSpec } from './views.page';
export type ViewEngine = 'webgl' | 'webgpu' | 'three-webgl' | 'three-webgpu';

export const VIEWS_PAGE = 'scripts/eval/views.page.ts';
/** The same protocol rendered with the three.js adapter (engines three-webgl, three-webgpu). */
export const VIEWS_THREE_PAGE = 'scripts/eval/views-three.page.ts';

/** A decoded view: both renders and the content/coverage separated from them. */
export interface DecodedView {
  overMagenta: RGBAImage;
  overGreen: RGBAImage;
  coverage: Coverage;
  /** With `footprint`: the footprint pass (footprint-material.ts encoding). */
  footprint?: RGBAImage;
}

export interface DecodedMethod {
  views: Record<string, DecodedView>;
}

export interface DecodedResponse extends Omit<RenderResponse, 'methods'> {
  methods: Partial<Record<ViewMethod, DecodedMethod>>;
}

export interface SceneToRender {
  image: RGBAImage;
  /** Metric depth, W·H, every value finite and > 0 (the rubber sheet's; the diorama's unless `dioramaDepth`). */
  depth: Float32Array;
  /** Depth for decompose, 0 = unknown allowed (sensor holes). */
  dioramaDepth?: Float32Array;
  /** Label map for decompose's masks. */
  masks?: Int32Array;
  /** Also render the footprint pass of every view. */
  footprint?: boolean;
  intrinsics: Intrinsics;
  methods: ViewMethod[];
  views: ViewSpec[];
  extraViews?: Partial<Record<ViewMethod, ViewSpec[]>>;
  decompose?: RenderRequest['decompose'];
  /** Diagnostics: build only these layers of the decomposition. */
  onlyLayers?: number[];
  /** Orbit views for `diorama` (see views.page.ts). */
  orbit?: RenderRequest['orbit'];
  /** Also render each layered view with the back layer alone (`<view>@back`). */
  backdropPass?: boolean;
}

export interface ViewRenderer {
  engine: ViewEngine;
  description: string;
  page: Page;
  /** Console errors seen on the page so far. */
  errors: string[];
  logs: string[];
  render(scene: SceneToRender): Promise<DecodedResponse>;
  close(): Promise<void>;
}

function toBase64(bytes: ArrayBufferView): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64');
}

function imageFromBase64(b64: string, width: number, height: number): RGBAImage {
  const buf = Buffer.from(b64, 'base64');
  if (buf.byteLength !== width * height * 4) throw new Error(`rendered view has ${buf.byteLength} bytes; expected ${width * height * 4}`);
  return { width, height, data: new Uint8ClampedArray(buf.buffer, buf.byteOffset, buf.byteLength) };
}

/** Opens the renderer page on `engine` (one page per engine; scenes are rendered one after another). */
export async function openViewRenderer(h: Harness, engine: ViewEngine): Promise<ViewRenderer> {
  const { page, errors, logs } = await openPage(h, engine.startsWith('three-') ? VIEWS_THREE_PAGE : VIEWS_PAGE);
  const info = (await page.evaluate((e) => window.diorama.init!({ engine: e }), engine)) as { description: string };
  return {
    engine,
    description: info.description,
    page,
    errors,
    logs,
    async render(s: SceneToRender): Promise<DecodedResponse> {
      const { width: W, height: H } = s.image;
      const req: RenderRequest = {
        width: W,
        height: H,
        image: toBase64(s.image.data),
        depth: toBase64(s.depth),
        ...(s.dioramaDepth ? { dioramaDepth: toBase64(s.dioramaDepth) } : {}),
        ...(s.masks ? { masks: toBase64(s.masks) } : {}),
        ...(s.footprint ? { footprint: true } : {}),
        intrinsics: s.intrinsics,
        methods: s.methods,
        views: s.views,
        ...(s.extraViews ? { extraViews: s.extraViews } : {}),
        ...(s.decompose ? { decompose: s.decompose } : {}),
        ...(s.onlyLayers ? { onlyLayers: s.onlyLayers } : {}),
        ...(s.orbit ? { orbit: s.orbit } : {}),
        ...(s.backdropPass ? { backdropPass: true } : {}),
      };
      const res = (await page.evaluate((r) => window.diorama.renderScene!(r), req as unknown as Record<string, unknown>)) as RenderResponse;
      const methods: DecodedResponse['methods'] = {};
      for (const [m, r] of Object.entries(res.methods) as [ViewMethod, NonNullable<RenderResponse['methods'][ViewMethod]>][]) {
        const views: Record<string, DecodedView> = {};
        for (const [name, v] of Object.entries(r.views)) {
          const overMagenta = imageFromBase64(v.magenta, W, H);
          const overGreen = imageFromBase64(v.green, W, H);
          views[name] = { overMagenta, overGreen, coverage: coverageFromPair(overMagenta, overGreen) };
          if (v.footprint) views[name]!.footprint = imageFromBase64(v.footprint, W, H);
        }
        methods[m] = { views };
      }
      return { ...res, methods };
    },
    async close() {
      await page.close().catch(() => undefined);
    },
  };
}

/** The photo's own camera: at the origin, looking down +z. */
export const ORIGINAL_VIEW: ViewSpec = { name: 'original', position: [0, 0, 0], target: [0, 0, 1] };

/** The right camera of a stereo pair with baseline `b` (translated by +b along x, same orientation). */
export function rightView(b = 1): ViewSpec {
  return { name: 'right', position: [b, 0, 0], target: [b, 0, 1] };
}
