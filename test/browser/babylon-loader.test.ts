/**
 * The Diorama scene-loader plugin in a real browser, both Babylon engines: the three SceneLoader entry
 * points, a URL, a File and bytes, pluginOptions reaching the plugin, byte and stage progress, typed errors
 * that leave the scene unchanged, cancellation by dispose(), and release of every resource after dispose.
 */
import { describe, expect, it } from 'vitest';
import sharp from 'sharp';
import { hasChromium, openPage, useHarness } from './harness';

type Snapshot = Record<'meshes' | 'materials' | 'textures' | 'transformNodes' | 'geometries' | 'engineTextures' | 'gpuBuffers' | 'gpuTextures', number>;
interface ErrorInfo {
  message: string;
  outerName?: string;
  innerIsDiorama: boolean;
  code?: string;
  innerMessage?: string;
  after?: Snapshot;
  resolved?: boolean;
}

const STAGES = ['image', 'depth', 'validate', 'masks', 'harmonize', 'layers', 'inpaint', 'mesh', 'nodes', 'complete'];

describe.skipIf(!hasChromium)('babylon loader plugin', () => {
  const h = useHarness({ timeout: 120_000 });

  for (const engine of ['webgl', 'webgpu'] as const) {
    describe(engine, () => {
      it('ImportMeshAsync loads bytes, a File and a URL; pluginOptions reach the plugin; progress is reported', async () => {
        const { page, errors } = await openPage(h(), 'test/browser/pages/babylon-loader.page.ts');
        const r = (await page.evaluate((e) => window.diorama.importSources({ engine: e }), engine)) as Record<string, any>;
        for (const kind of ['bytes', 'file', 'url']) {
          const x = r[kind];
          console.log(`[babylon-loader] ${engine} ${kind}: ${x.meshes} layers, PSNR ${x.psnr.toFixed(2)} dB`);
          expect(x.meshes).toBeGreaterThanOrEqual(2);
          expect(x.parentsOk).toBe(true);
          expect(x.sameNodes).toBe(true);
          // pluginOptions: name and alphaIndexBase reached the plugin.
          const root = kind === 'file' ? 'room' : `photo-${kind}`;
          expect(x.rootName).toBe(root);
          expect(x.meshNames).toEqual(x.metadataLayers.map((l: number) => `${root}.layer_${String(l).padStart(2, '0')}`));
          expect(x.metadataLayers).toEqual([...Array(x.meshes).keys()]);
          expect(x.alphaIndices).toEqual(x.metadataLayers.map((l: number) => 100 + l));
          expect(x.stages).toEqual(STAGES);
          expect(x.lastStage).toEqual({ stage: 'complete', fraction: 1 });
          expect(x.psnr).toBeGreaterThanOrEqual(38);
          expect(x.holes).toBe(0);
        }
        // Bytes need no reading; a File and a URL report byte progress up to the whole file.
        expect(r.bytes.byteEvents).toBe(0);
        for (const kind of ['file', 'url']) {
          expect(r[kind].byteEvents).toBeGreaterThanOrEqual(1);
          expect(r[kind].lastBytes.loaded).toBe(r[kind].pngBytes);
        }
        expect(errors).toEqual([]);
        await page.close();
      }, 300_000);

      it('AppendSceneAsync and LoadAssetContainerAsync; dispose returns every count to its baseline', async () => {
        const { page, errors } = await openPage(h(), 'test/browser/pages/babylon-loader.page.ts');
        const r = (await page.evaluate((e) => window.diorama.appendAndContainer({ engine: e }), engine)) as Record<string, any>;
        const L = r.appendLayers;
        expect(L).toBeGreaterThanOrEqual(2);
        expect(r.afterAppend.meshes).toBe(r.baseline.meshes + L);
        expect(r.afterAppend.transformNodes).toBe(r.baseline.transformNodes + 1);
        expect(r.afterAppend.engineTextures).toBe(r.baseline.engineTextures + L);
        expect(r.appendPsnr).toBeGreaterThanOrEqual(38);
        expect(r.afterAppendDispose).toEqual(r.baseline);
        // The container holds the assets; the scene lists none of them until addAllToScene().
        expect(r.containerCounts).toEqual({ meshes: L, materials: L, textures: L, transformNodes: 1 });
        expect({ ...r.afterContainerLoad, engineTextures: 0, gpuBuffers: 0, gpuTextures: 0 }).toEqual({ ...r.baseline, engineTextures: 0, gpuBuffers: 0, gpuTextures: 0 });
        expect(r.inScene.meshes).toBe(r.baseline.meshes + L);
        expect(r.containerPsnr).toBeGreaterThanOrEqual(38);
        expect(r.afterContainerDispose).toEqual(r.baseline);
        expect(r.containerLeft).toEqual({ meshes: 0, materials: 0, textures: 0, transformNodes: 0 });
        expect(errors).toEqual([]);
        await page.close();
      }, 300_000);

      it('corrupt, non-image, empty, huge and depth-less inputs give typed errors and leave the scene unchanged', async () => {
        const { page } = await openPage(h(), 'test/browser/pages/babylon-loader.page.ts');
        const r = (await page.evaluate((e) => window.diorama.badInputs({ engine: e }), engine)) as { before: Snapshot; cases: Record<string, ErrorInfo> };
        const expected: Record<string, string> = {
          corrupt: 'DECODE_FAILED',
          nonImage: 'UNSUPPORTED_FORMAT',
          zeroBytes: 'DECODE_FAILED',
          hugeHeader: 'IMAGE_TOO_LARGE',
          overMaxPixels: 'IMAGE_TOO_LARGE',
          noDepth: 'INVALID_OPTION',
          badDepthBytes: 'UNSUPPORTED_FORMAT',
          depthSizeMismatch: 'SIZE_MISMATCH',
        };
        for (const [name, code] of Object.entries(expected)) {
          const c = r.cases[name]!;
          expect(c.resolved, name).toBeUndefined();
          // Babylon wraps plugin errors in a RuntimeError; the DioramaError is its innerError.
          expect(c.outerName, name).toBe('RuntimeError');
          expect(c.innerIsDiorama, name).toBe(true);
          expect(c.code, name).toBe(code);
          expect(c.message, name).toContain(c.innerMessage!);
          expect(c.after, name).toEqual(r.before);
        }
        expect(r.cases.hugeHeader!.innerMessage).toContain('30000x30000');
        expect(r.cases.zeroBytes!.innerMessage).toContain('empty');
        expect(r.cases.noDepth!.innerMessage).toContain('estimateDepth');
        await page.close();
      }, 300_000);

      it('dispose() during loading cancels cleanly; an aborted signal cancels; the loader still works afterwards', async () => {
        const { page } = await openPage(h(), 'test/browser/pages/babylon-loader.page.ts');
        const r = (await page.evaluate((e) => window.diorama.cancel({ engine: e }), engine)) as Record<string, any>;
        expect(r.duringDecompose.stageAtDispose).toBe('harmonize');
        for (const k of ['duringDecompose', 'duringFetch', 'externalSignal']) {
          expect(r[k].resolved, k).toBeUndefined();
          expect(r[k].code, k).toBe('ABORTED');
        }
        expect(r.duringDecompose.after).toEqual(r.before);
        expect(r.duringFetch.after).toEqual(r.before);
        expect(r.afterwards.layers).toBeGreaterThanOrEqual(2);
        await page.close();
      }, 300_000);
    });
  }

  it('depth as PFM bytes, 16-bit PNG (bytes and Blob) and a half-size array all load; the PNG keeps 16 bits', async () => {
    // A 16-bit greyscale PNG in millimetres with values that 8 bits could not hold.
    const W = 37;
    const H = 23;
    const mm = new Uint16Array(W * H);
    for (let i = 0; i < mm.length; i++) mm[i] = (i * 2654435761) % 65536;
    const png = await sharp(mm, { raw: { width: W, height: H, channels: 1, premultiplied: false } }).toColourspace('grey16').png().toBuffer();
    const { page, errors } = await openPage(h(), 'test/browser/pages/babylon-loader.page.ts');
    const g = (await page.evaluate((b) => window.diorama.png16({ base64: b }), png.toString('base64'))) as { width: number; height: number; samples: number[] };
    expect([g.width, g.height]).toEqual([W, H]);
    expect(g.samples).toEqual(Array.from(mm));

    // The synthetic scene's depth (metres) as a 16-bit PNG in millimetres, through the loader.
    const { makeScene } = await import('../fixtures/scene');
    const s = makeScene({ width: 256, height: 192 });
    const dmm = new Uint16Array(s.width * s.height);
    for (let i = 0; i < dmm.length; i++) dmm[i] = Math.round(s.depth[i]! * 1000);
    const depthPng = await sharp(dmm, { raw: { width: s.width, height: s.height, channels: 1, premultiplied: false } }).toColourspace('grey16').png().toBuffer();
    const r = (await page.evaluate((b) => window.diorama.depthFormats({ engine: 'webgl', png16: b }), depthPng.toString('base64'))) as Record<string, any>;
    expect(r.pfmRoundTrip).toBe(true);
    for (const k of ['pfm', 'png16', 'png16Blob', 'halfSizeArray']) {
      console.log(`[babylon-loader] depth ${k}: ${r[k].layers} layers, PSNR ${r[k].psnr.toFixed(2)} dB`);
      expect(r[k].layers, k).toBeGreaterThanOrEqual(2);
      expect(r[k].psnr, k).toBeGreaterThanOrEqual(38);
    }
    expect(errors).toEqual([]);
    await page.close();
  }, 300_000);
});
