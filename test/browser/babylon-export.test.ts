/**
 * GLB export of a diorama through @babylonjs/serializers, reloaded by @babylonjs/loaders, both Babylon engines:
 * same number of layers, alpha mode BLEND, unlit, double-sided, back-to-front order kept (node and material
 * order, names, extras), and the reloaded scene renders the photo camera like the plugin does: PSNR ≥ 35 dB
 * (the reload blends straight alpha, the plugin premultiplied; they differ only on partially transparent
 * texels). The export itself leaves no GPU object behind.
 */
import { describe, expect, it } from 'vitest';
import { hasChromium, hasSharedData, openPage, useHarness } from './harness';

describe.skipIf(!hasChromium)('babylon GLB export', () => {
  const h = useHarness({ timeout: 120_000 });

  const cases: { engine: 'webgl' | 'webgpu'; scene?: string }[] = [{ engine: 'webgl' }, { engine: 'webgpu' }];
  if (hasSharedData) cases.push({ engine: 'webgl', scene: 'teddy' }, { engine: 'webgpu', scene: 'teddy' });

  for (const c of cases) {
    it(`${c.engine}, ${c.scene ?? 'synthetic'}: reloads with the same layers, BLEND and order, and renders the same view`, async () => {
      const { page, errors } = await openPage(h(), 'test/browser/pages/babylon-export.page.ts');
      const r = (await page.evaluate((a) => window.diorama.exportReload(a), c)) as Record<string, any>;
      console.log(`[babylon-export] ${c.engine} ${c.scene ?? 'synthetic'}: ${r.layers} layers, GLB ${r.gltfInfo.bytes} B, reload vs plugin ${r.psnrReloadVsPlugin.toFixed(2)} dB, plugin vs photo ${r.psnrPluginVsPhoto.toFixed(2)} dB`);
      const L = r.layers;
      const order = [...Array(L).keys()];
      const names = order.map((k) => `photo.layer_${String(k).padStart(2, '0')}`);
      // The file itself, as any glTF viewer sees it.
      expect(r.gltfInfo.magic).toBe('glTF');
      expect(r.gltfInfo.layerNodeNames).toEqual(names);
      expect(r.gltfInfo.extrasLayers).toEqual(order);
      expect(r.gltfInfo.materialIndexOfLayer).toEqual(order);
      expect(r.gltfInfo.alphaModes).toEqual(order.map(() => 'BLEND'));
      expect(r.gltfInfo.doubleSided).toEqual(order.map(() => true));
      expect(r.gltfInfo.unlit).toEqual(order.map(() => true));
      expect(r.gltfInfo.hasCamera).toBe(false);
      // The scene was not changed by the export.
      expect(r.materialsRestored).toBe(true);
      expect(r.afterExport).toMatchObject(r.before);
      // Reloaded by Babylon's glTF loader.
      expect(r.reloadInfo.layers).toBe(L);
      expect(r.reloadInfo.names).toEqual(names);
      expect(r.reloadInfo.metadataLayers).toEqual(order);
      expect(r.reloadInfo.alphaIndices).toEqual(order);
      expect(r.reloadInfo.blend).toEqual(order.map(() => true));
      expect(r.reloadInfo.vertexCounts).toEqual(r.vertexCounts);
      expect(r.psnrReloadVsPlugin).toBeGreaterThanOrEqual(35);
      expect(r.holesReload).toBe(0);
      expect(errors).toEqual([]);
      await page.close();
    }, 600_000);
  }

  for (const engine of ['webgl', 'webgpu'] as const) {
    it(`${engine}: exporting leaves no GPU object, engine texture or scene material behind`, async () => {
      const { page } = await openPage(h(), 'test/browser/pages/babylon-export.page.ts');
      const r = (await page.evaluate((e) => window.diorama.exportRelease({ engine: e }), engine)) as { rounds: Record<string, unknown>[] };
      // Round 0 warms up Babylon's own caches (its image encoder's engine, WebGPU's default material);
      // round 1 must end exactly where round 0 ended.
      const strip = (x: Record<string, unknown>) => ({ ...x, glbBytes: undefined });
      expect(strip(r.rounds[1]!)).toEqual(strip(r.rounds[0]!));
      expect(r.rounds[0]!.engineTextures).toBe(0);
      expect(r.rounds[0]!.sceneTextures).toBe(0);
      await page.close();
    }, 300_000);
  }
});
