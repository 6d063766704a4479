/**
 * The orbit sweep's measures in the real renderer (scripts/eval/views.page.ts, footprint-material.ts,
 * docs/metrics.md §5) on scenes whose answer follows from the geometry, WebGL2 and WebGPU.
 *
 * A photo W×H of constant depth Z = 1 with intrinsics f, (W/2, H/2) gives a rubber sheet that is one
 * fronto-parallel plane covering the photo's frame exactly ([0, W] × [0, H] at depth 1; its texture is the
 * W×H photo, so one texel = one photo pixel). A camera moved along the optical axis to z = z₀ (same
 * intrinsics, looking down +z) sees the plane at distance 1 − z₀, magnified by m = 1/(1 − z₀) about the
 * principal point; all depths are equal, so the texture mapping is affine and the footprint is exactly
 * 1/m² = (1 − z₀)² texels per pixel everywhere on the plane:
 * - z₀ = 0.6: 0.16 texel per pixel < ¼, the plane fills the frame: stretched = 1, holesFrame = 0;
 * - z₀ = 0.4: 0.36 ≥ ¼: stretched = 0;
 * - z₀ = −1: 4 texels per pixel, the plane covers the centred W/2 × H/2 rectangle, whose edges fall on pixel
 *   boundaries when W and H are multiples of 4: holesFrame = ¾ exactly, stretched = 0.
 * The footprint's R code is round(16·log2 footprint) + 128 (footprint-material.ts), 86, 104 and 160 for
 * exact vertices. The rasteriser snaps vertex positions to its sub-pixel grid (at least 4 bits in WebGL and
 * Vulkan: each coordinate moves by ≤ 1/32 px), and the sheet's triangles have legs of m px, so each leg
 * changes by ≤ 1/16 px, relative e = 1/(16m), and the determinant by a factor ≤ (1 + e)² + e²: the code
 * may be off by 16·log2 of that plus ½ for the rounding. The stretched bit compares in float32 and is
 * exact here (the footprints are half an octave or more from ¼, far beyond those errors).
 *
 * The front-most rule on the layered scene: a near square (depth 1) before a far wall (depth 4). Moving the
 * camera to z₀ = 0.55 spreads the near layer to 1/0.45² = 4.94 pixels per texel (stretched) and the far one
 * to (4/3.45)² = 1.34 (not stretched); the square, magnified 1/0.45 about the centre, covers
 * (s/0.45)² pixels. If the depth test let the far layer win under it, stretched would be 0. The scene is
 * decomposed without feather (inpaint.feather 0), so the near layer's alpha crosses ½ exactly on the
 * square's outline (bilinear between an opaque and an empty texel); the pixel centres inside an
 * axis-aligned square of side a number a² within 2a + 1.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Intrinsics } from '../../src/core/types';
import { rgbImage } from '../fixtures/images';
import { hasChromium, startHarness, CHROME_PATH, type Harness } from './harness';
import { holeFraction } from '../../scripts/eval/view-metrics';
import { orbitViewMetrics } from '../../scripts/eval/orbit';
import { openViewRenderer, ORIGINAL_VIEW, type ViewEngine, type ViewRenderer, type ViewSpec } from '../../scripts/eval/views-node';

const W = 160;
const H = 120;
const K: Intrinsics = { fx: 160, fy: 160, cx: W / 2, cy: H / 2 };
const photo = rgbImage(W, H, (x, y) => [40 + ((x * 7 + y * 3) % 170), 40 + ((x * 5 + y * 11) % 170), 60 + ((x + y) % 120)]);
const forward = (name: string, z: number): ViewSpec => ({ name, position: [0, 0, z], target: [0, 0, z + 1] });

/**
 * Checks the footprint pass: `drawn` pixels have a fragment (G = 255) and each one's R code is within the
 * snapping bound of the exact code for footprint `f` on triangles with legs of `m` px (see the header).
 */
function expectFootprint(fp: { data: Uint8Array | Uint8ClampedArray }, f: number, m: number, drawn: number): void {
  const exact = 16 * Math.log2(f) + 128;
  const e = 1 / (16 * m);
  const tol = 16 * Math.log2((1 + e) ** 2 + e * e) + 0.5;
  let count = 0;
  let worst = 0;
  for (let i = 0; i < fp.data.length; i += 4) {
    if (fp.data[i + 1] !== 255) continue;
    count++;
    worst = Math.max(worst, Math.abs(fp.data[i]! - exact));
  }
  expect(count).toBe(drawn);
  expect(worst).toBeLessThanOrEqual(tol);
}

for (const engine of ['webgl', 'webgpu'] as ViewEngine[]) {
  describe.skipIf(!hasChromium)(`orbit footprint and frame holes, ${engine} (Chromium at ${CHROME_PATH})`, () => {
    let h: Harness;
    let r: ViewRenderer;
    beforeAll(async () => {
      h = await startHarness();
      r = await openViewRenderer(h, engine);
    }, 120_000);
    afterAll(async () => {
      await r?.close();
      await h?.close();
    });

    it('a textured plane: footprint (1 − z₀)², stretched 1 or 0 by the ¼ threshold, holesFrame ¾ when it covers a quarter of the frame', async () => {
      const depth = new Float32Array(W * H).fill(1);
      const views = [ORIGINAL_VIEW, forward('z0.6', 0.6), forward('z0.4', 0.4), forward('z-1', -1)];
      const res = await r.render({ image: photo, depth, intrinsics: K, methods: ['rubberSheet'], views, footprint: true });
      const v = res.methods.rubberSheet!.views;
      const m = Object.fromEntries(Object.entries(v).map(([k, dv]) => [k, orbitViewMetrics(dv.coverage, dv.footprint!)]));
      expect(m['original']).toMatchObject({ holesFrame: 0, stretched: 0 });
      expectFootprint(v['original']!.footprint!, 1, 1, W * H);
      expect(m['z0.6']).toMatchObject({ holesFrame: 0, stretched: 1 });
      expectFootprint(v['z0.6']!.footprint!, 0.16, 2.5, W * H);
      expect(m['z0.4']).toMatchObject({ holesFrame: 0, stretched: 0 });
      expectFootprint(v['z0.4']!.footprint!, 0.36, 1 / 0.6, W * H);
      expect(m['z-1']!.holesFrame).toBe(0.75);
      expect(m['z-1']!.stretched).toBe(0);
      expectFootprint(v['z-1']!.footprint!, 4, 0.5, (W / 2) * (H / 2));
      expect(r.errors).toEqual([]);
    }, 120_000);

    it('layered scene: the front-most layer decides (a near square stretched in front of an unstretched wall)', async () => {
      const s = 40;
      const x0 = (W - s) / 2, y0 = (H - s) / 2;
      const inSquare = (x: number, y: number): boolean => x >= x0 && x < x0 + s && y >= y0 && y < y0 + s;
      const depth = new Float32Array(W * H);
      for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) depth[y * W + x] = inSquare(x, y) ? 1 : 4;
      const z0 = 0.55;
      const res = await r.render({
        image: photo,
        depth,
        intrinsics: K,
        methods: ['diorama'],
        views: [ORIGINAL_VIEW, forward('fwd', z0)],
        footprint: true,
        decompose: { inpaint: { feather: 0 } },
      });
      expect(res.layers).toBeGreaterThanOrEqual(2);
      const dv = res.methods.diorama!.views['fwd']!;
      const m = orbitViewMetrics(dv.coverage, dv.footprint!);
      const side = s / (1 - z0);
      const expected = (side * side) / (W * H);
      const tolerance = (2 * side + 1) / (W * H);
      expect(Math.abs(m.stretched - expected)).toBeLessThanOrEqual(tolerance);
      // Moving forward only magnifies: the frame stays covered.
      expect(m.holesFrame).toBe(0);
      // The photo view: every layer at one texel per pixel, nothing stretched, nothing uncovered.
      const o = res.methods.diorama!.views['original']!;
      expect(orbitViewMetrics(o.coverage, o.footprint!).stretched).toBe(0);
      expect(holeFraction(o.coverage.transmittance)).toBe(0);
      expect(r.errors).toEqual([]);
    }, 180_000);
  });
}
