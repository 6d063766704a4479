/**
 * The three.js adapter in Chromium, WebGLRenderer and WebGPURenderer: layer count and order, the photo camera
 * against the intrinsics, premultiplied blending with exact expected pixels, depth slices, dispose, the
 * loader's conventions and typed errors, and the GLB export.
 *
 * Why the original view holds 38 dB (as for Babylon, test/browser/babylon-nodes.test.ts): from the photo's
 * viewpoint every pixel centre maps to a texel centre of the layer that owns it, feathers composite
 * α·C + (1 − α)·C = C, and what remains is premultiplication and blend rounding and the mesh's bounded
 * texture swim: a few levels on a small fraction of pixels.
 */
import { describe, expect, it } from 'vitest';
import { hasChromium, openPage, useHarness } from './harness';

const STAGES = ['image', 'depth', 'validate', 'masks', 'harmonize', 'layers', 'inpaint', 'mesh', 'nodes', 'complete'];
const ONE = 201; // three.js OneFactor
const ONE_MINUS_SRC_ALPHA = 205; // three.js OneMinusSrcAlphaFactor

/** sRGB transfer functions (three.js's sRGBTransferEOTF / OETF), float64. */
const decode = (c: number) => (c <= 0.04045 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4);
const encode = (c: number) => (c <= 0.0031308 ? c * 12.92 : 1.055 * c ** (1 / 2.4) - 0.055);

/**
 * Expected "over" of a straight front colour F with alpha a (bytes) on an opaque back colour B, per channel,
 * before the final rounding to a byte. The layer texture holds P = round(F·a/255) (premultiplyRGBA).
 * WebGL blends the sRGB values: P + (1 − a/255)·B. WebGPU (sRGB output) blends in linear light and encodes:
 * 255·encode(decode(P/a)·a/255 + (1 − a/255)·decode(B/255)).
 */
function expectedOver(kind: 'webgl' | 'webgpu', F: number[], a: number, B: number[]): number[] {
  return F.map((f, c) => {
    const P = Math.floor((f * a + 127) / 255);
    const b = B[c]!;
    if (kind === 'webgl') return P + (1 - a / 255) * b;
    return 255 * encode(decode(P / a) * (a / 255) + (1 - a / 255) * decode(b / 255));
  });
}

describe.skipIf(!hasChromium)('three.js adapter', () => {
  const h = useHarness({ timeout: 120_000 });

  for (const kind of ['webgl', 'webgpu'] as const) {
    describe(kind, () => {
      for (const depthMode of ['layered', 'scene'] as const) {
        it(`depthMode ${depthMode}: layers in order with their metadata, the photo camera reproduces the photo, dispose frees everything`, async () => {
          const { page, errors } = await openPage(h(), 'test/browser/pages/three.page.ts');
          const r = (await page.evaluate((a) => window.diorama.synthetic(a), { kind, options: { depthMode } })) as Record<string, any>;
          console.log(`[three] ${kind} ${depthMode}: PSNR ${r.psnr.toFixed(2)} dB, ${r.layers} layers, holes ${r.holes}`);
          const n = r.layers;
          expect(n).toBeGreaterThanOrEqual(2);
          const names = [...Array(n).keys()].map((i) => `diorama.layer_${String(i).padStart(2, '0')}`);
          // Back to front: children, layer list, renderOrder and userData all agree with the layer index.
          expect(r.order.children).toEqual(names);
          expect(r.order.layers).toEqual(names);
          expect(r.order.renderOrder).toEqual([...Array(n).keys()]);
          expect(r.order.index).toEqual([...Array(n).keys()]);
          expect(r.order.depthRanges).toEqual(r.decompositionRanges);
          expect(r.order.planeDepths).toEqual(r.decompositionPlanes);
          expect(r.order.transparent).toEqual(Array(n).fill(true));
          expect(r.order.blending).toEqual(Array(n).fill([ONE, ONE_MINUS_SRC_ALPHA]));
          expect(r.psnr).toBeGreaterThanOrEqual(38);
          expect(r.holes).toBe(0);
          // One geometry and one texture per layer while alive; back to the baseline after dispose().
          expect(r.during.geometries).toBe(r.before.geometries + n);
          expect(r.during.textures).toBe(r.before.textures + n);
          expect(r.after).toEqual(r.before);
          expect(r.inScene).toBe(0);
          expect(errors).toEqual([]);
          await page.close();
        }, 300_000);
      }

      it('lit layers (Lambert, straight alpha) under a white ambient light of intensity π show the photo; dispose frees everything', async () => {
        const { page, errors } = await openPage(h(), 'test/browser/pages/three.page.ts');
        const r = (await page.evaluate((a) => window.diorama.lit(a), { kind })) as Record<string, any>;
        console.log(`[three] ${kind} lit (${r.type}): PSNR ${r.psnr.toFixed(2)} dB`);
        // Irradiance π for every normal and Lambert's albedo/π: lit colour = texture colour; straight-alpha blending of bled textures
        // differs from the premultiplied path only on feather texels.
        expect(r.depthMode).toBe('scene');
        expect(r.depthWrite.every((x: boolean) => x === false)).toBe(true);
        expect(r.psnr).toBeGreaterThanOrEqual(38);
        expect(r.holes).toBe(0);
        expect(r.after).toEqual(r.before);
        expect(errors).toEqual([]);
        await page.close();
      }, 300_000);

      it('camera: known points project onto their pixels (anisotropic, off-centre intrinsics); a pixel quad covers exactly its pixels', async () => {
        const { page, errors } = await openPage(h(), 'test/browser/pages/three.page.ts');
        const r = (await page.evaluate((a) => window.diorama.projection(a), { kind })) as { errors: number[]; samples: { inside: number[][]; outside: number[][] } };
        // Float64 projection of a float32 camera matrix: far below a thousandth of a pixel.
        for (const e of r.errors) expect(e).toBeLessThan(1e-3);
        for (const p of r.samples.inside) expect(p).toEqual([255, 0, 0]);
        for (const p of r.samples.outside) expect(p).toEqual([0, 0, 255]);
        const off = (await page.evaluate((a) => window.diorama.offCentre(a), { kind })) as Record<string, any>;
        console.log(`[three] ${kind} off-centre: PSNR ${off.psnr.toFixed(2)} dB`);
        expect([off.intrinsics.cx, off.intrinsics.cy]).toEqual([144, 80]);
        // Ignoring the shift would misplace every pixel by 16 px horizontally and 40 px vertically.
        expect(off.psnr).toBeGreaterThanOrEqual(38);
        expect(off.after).toEqual(off.before);
        expect(errors).toEqual([]);
        await page.close();
      }, 300_000);

      it('premultiplied blending of two layers gives the exact pixel of the blending arithmetic', async () => {
        const { page, errors } = await openPage(h(), 'test/browser/pages/three.page.ts');
        const back = [210, 40, 90];
        const front = [30, 180, 220];
        const alpha = 128;
        const want = expectedOver(kind, front, alpha, back);
        // Worked values: WebGL P = (15, 90, 110) + 0.498·B = (119.59, 109.92, 154.82); WebGPU (154.93, 133.81, 170.96).
        // Each is more than 0.05 from a rounding boundary, more than the renderers' error (float32 shader maths;
        // WebGPU's half-float frame buffer: 2⁻¹¹ relative in linear light, ≤ 0.04 level after encoding at these values).
        for (const v of want) expect(Math.abs((v % 1) - 0.5)).toBeGreaterThan(0.05);
        const r = (await page.evaluate((a) => window.diorama.blend(a), { kind, back, front, alpha })) as Record<string, number[]>;
        console.log(`[three] ${kind} blend: ${r.centre} (expected ${want.map((v) => v.toFixed(2))})`);
        expect(r.backOnly).toEqual(back);
        expect(r.centre).toEqual(want.map(Math.round));
        expect(r.corner).toEqual(r.centre);
        expect(errors).toEqual([]);
        await page.close();
      }, 300_000);

      it("'layered' depth keeps the layers' order over true depth and resolves self-occlusion; 'scene' draws in order", async () => {
        const { page, errors } = await openPage(h(), 'test/browser/pages/three.page.ts');
        const layered = (await page.evaluate((a) => window.diorama.selfOcclusion(a), { kind, options: { depthMode: 'layered' } })) as Record<string, number[]>;
        const scene = (await page.evaluate((a) => window.diorama.selfOcclusion(a), { kind, options: { depthMode: 'scene' } })) as Record<string, number[]>;
        const [RED, GREEN, BLUE, YELLOW] = [[255, 0, 0], [0, 255, 0], [0, 0, 255], [255, 255, 0]];
        // The nearer square of a layer hides the farther one, whatever the triangle order.
        expect(layered.centre).toEqual(RED);
        // The nearest layer (2) wins although its square lies behind layer 0's backdrop in true depth.
        expect(layered.corner).toEqual(YELLOW);
        expect(layered.outside).toEqual(BLUE);
        // Scene mode writes no layer depth: the draw order alone decides (the later, farther square wins).
        expect(scene.centre).toEqual(GREEN);
        expect(scene.corner).toEqual(YELLOW);
        // The same with a reversed depth buffer ([0, 1], near = 1): the slices follow the renderer's convention.
        const reversed = (await page.evaluate((a) => window.diorama.selfOcclusion(a), { kind, options: { depthMode: 'layered' }, reversedDepthBuffer: true })) as Record<string, any>;
        console.log(`[three] ${kind} reversed depth buffer in use: ${reversed.reversed}`);
        expect(reversed.reversed).toBe(true);
        expect([reversed.centre, reversed.corner, reversed.outside]).toEqual([RED, YELLOW, BLUE]);
        expect(errors).toEqual([]);
        await page.close();
      }, 300_000);

      it('DioramaLoader: loadAsync with manager events, stages and byte progress; errors reach onError and manager.itemError as coded DioramaErrors', async () => {
        const { page } = await openPage(h(), 'test/browser/pages/three.page.ts');
        const r = (await page.evaluate((a) => window.diorama.loader(a), { kind })) as Record<string, any>;
        console.log(`[three] ${kind} loader: PSNR ${r.psnr.toFixed(2)} dB`);
        expect(r.success.events).toEqual(['onStart', 'onLoad']);
        expect(r.success.stages).toEqual(STAGES);
        expect(r.success.last).toEqual({ stage: 'complete', fraction: 1 });
        expect(r.success.bytes).toBe(r.success.pngBytes);
        expect(r.success.name).toBe('room');
        expect(r.success.layers.length).toBeGreaterThanOrEqual(2);
        expect(r.success.renderer).toBe(kind);
        expect(r.psnr).toBeGreaterThanOrEqual(38);
        const cases: Record<string, string> = { notFound: 'DECODE_FAILED', notImage: 'UNSUPPORTED_FORMAT', noDepth: 'INVALID_OPTION', badScale: 'INVALID_OPTION', aborted: 'ABORTED' };
        for (const [name, code] of Object.entries(cases)) {
          const c = r[name];
          expect(c.loaded, name).toBe(false);
          expect(c.error.isDiorama, name).toBe(true);
          expect(c.error.code, `${name}: ${c.error.message}`).toBe(code);
          expect(c.managerErrors.length, name).toBeGreaterThanOrEqual(1);
        }
        expect(r.notFound.managerErrors[0]).toMatch(/\/does-not-exist\.png$/);
        expect(r.notFound.error.message).toMatch(/404/);
        expect(r.parseError).toMatchObject({ isDiorama: true, code: 'UNSUPPORTED_FORMAT' });
        await page.close();
      }, 300_000);

      it('GLB export: root and layer nodes with extras, unlit BLEND materials with PNGs, back to front; GLTFLoader + restoreDioramaOrder render it again', async () => {
        const { page, errors } = await openPage(h(), 'test/browser/pages/three.page.ts');
        const r = (await page.evaluate((a) => window.diorama.exportGlb(a), { kind })) as Record<string, any>;
        console.log(`[three] ${kind} export: reloaded PSNR ${r.psnr.toFixed(2)} dB`);
        const n = r.layerCount;
        expect(r.nodes[0].name).toBe('room');
        expect(r.nodes[0].extras.diorama.layerCount).toBe(n);
        expect(r.nodes[0].children).toEqual([...Array(n).keys()].map((i) => i + 1));
        expect(r.nodes.slice(1).map((x: any) => x.name)).toEqual(r.layerNames);
        expect(r.nodes.slice(1).map((x: any) => x.extras.dioramaLayer.layer)).toEqual([...Array(n).keys()]);
        expect(r.materials).toHaveLength(n);
        r.materials.forEach((m: any, i: number) => {
          expect(m).toMatchObject({ name: `${r.layerNames[i]}.material`, alphaMode: 'BLEND', doubleSided: true, extensions: { KHR_materials_unlit: {} } });
        });
        expect(r.images).toEqual(Array(n).fill('image/png'));
        expect(r.extensionsUsed).toContain('KHR_materials_unlit');
        expect(r.restored.map((x: any[]) => x[1])).toEqual([...Array(n).keys()]);
        expect(r.restored.every((x: any[]) => x[2] === false && x[3] === true)).toBe(true);
        // Straight alpha of bled textures: differs from the premultiplied path only on feather texels.
        expect(r.psnr).toBeGreaterThanOrEqual(38);
        expect(errors).toEqual([]);
        await page.close();
      }, 300_000);
    });
  }
});
