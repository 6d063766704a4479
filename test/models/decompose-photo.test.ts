/**
 * decomposePhoto end to end with the generated models (wasm EP): photo → DA3 depth → SAM3 automatic masks →
 * core decompose.
 *
 * Proves: the core receives the model's depth at the photo's resolution (with harmonization off, the scene's
 * depth equals the model's function of the red channel); SAM3 masks become the label map; DA2 disparity goes in
 * as inverse depth; EXIF intrinsics reach the result; caller masks skip the segmenter; progress covers the model
 * stages then the core stages in order; an abort stops the run with ABORTED; loaded models passed in are not
 * disposed, models loaded from sources are.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DioramaError } from '../../src/core/errors';
import type { RGBAImage } from '../../src/core/types';
import { loadDepthModel, type DepthModel } from '../../src/models/da3';
import { PhotoPipeline, decomposePhoto, type PhotoStage } from '../../src/models/decompose-photo';
import { createRuntime, type ModelRuntime } from '../../src/models/runtime';
import { rgbImage } from '../fixtures/images';
import { da2Model, da3Model, tinyModelOutput as modelOut } from '../fixtures/make-models';
import { buildTrackerDecoder, buildTrackerVisionEncoder } from '../fixtures/make-sam3-models';

/** Two depth planes: left 40% red 40 (near, 2.04), right red 230 (far, 4.82); a greenish square on the left. */
function photo(W = 320, H = 240): RGBAImage {
  return rgbImage(W, H, (x, y) => {
    const near = x < W * 0.4;
    return [near ? 40 : 230, near && y > H * 0.3 && y < H * 0.7 && x > W * 0.1 ? 200 : 60, 90];
  });
}

let rt: ModelRuntime;
let da3: DepthModel;
const trackerSources = () => ({ visionEncoder: { bytes: buildTrackerVisionEncoder() }, decoder: { bytes: buildTrackerDecoder() } });

beforeAll(async () => {
  rt = await createRuntime();
  da3 = await loadDepthModel(rt, { bytes: da3Model() });
});
afterAll(async () => {
  await rt?.dispose();
});

describe('decomposePhoto', () => {
  it('runs photo → depth → SAM3 masks → layers with the generated models', async () => {
    const img = photo();
    const stages: PhotoStage[] = [];
    const r = await decomposePhoto(img, {
      models: { runtime: rt, depth: da3, masks: { ...trackerSources(), automatic: { pointsPerSide: 4, pointsPerBatch: 8 } } },
      harmonize: false,
      onProgress: (s, f) => {
        if (f === 0) stages.push(s);
      },
    });
    // Depth at the photo's resolution, equal to the model's function of red away from the step edge.
    expect(r.depth.width).toBe(320);
    expect(r.harmonizedDepth.length).toBe(320 * 240);
    expect(r.harmonizedDepth[120 * 320 + 10]).toBeCloseTo(modelOut(40), 4);
    expect(r.harmonizedDepth[120 * 320 + 300]).toBeCloseTo(modelOut(230), 4);
    // SAM3 produced masks and they label pixels.
    expect(r.maskSet!.masks.length).toBeGreaterThan(0);
    expect(r.stats.maskCount).toBeGreaterThanOrEqual(1);
    expect(r.layers.length).toBeGreaterThanOrEqual(2);
    expect(stages).toEqual(['load', 'depth', 'segment', 'validate', 'masks', 'harmonize', 'layers', 'inpaint', 'mesh']);
    expect(r.modelTimings.depthMs).toBeGreaterThan(0);
    expect(r.intrinsicsKnown).toBe(false);
    // The DepthModel passed in loaded is still usable.
    await expect(da3.estimate(photo(28, 28))).resolves.toBeDefined();
  });

  it('caller masks skip the segmenter; EXIF tags reach the intrinsics', async () => {
    const img = photo(200, 100);
    const labels = new Int32Array(200 * 100).map((_, i) => (i % 200 < 80 ? 0 : 1));
    let segmented = false;
    const r = await decomposePhoto(img, {
      models: { depth: da3, masks: { segment: async () => ((segmented = true), { width: 200, height: 100, masks: [] }) } },
      masks: { kind: 'labels', labels },
      exif: { FocalLengthIn35mmFormat: 36 },
      stopAfter: 'layers',
    });
    expect(segmented).toBe(false);
    expect(r.stats.maskCount).toBe(2);
    expect(r.intrinsicsKnown).toBe(true);
    expect(r.intrinsics.fx).toBeCloseTo((36 * Math.hypot(200, 100)) / Math.hypot(36, 24), 6);
  });

  it('DA2 disparity is handed to the core as inverse depth', async () => {
    const r = await decomposePhoto(photo(), { models: { runtime: rt, depth: { source: { bytes: da2Model({ dynamic: true }) }, kind: 'da2' } }, harmonize: false, stopAfter: 'harmonize' });
    expect(r.depth.quantity).toBe('disparity');
    expect(r.depth.metric).toBe(false);
    expect(r.harmonizedDepth[120 * 320 + 10]).toBeCloseTo(1 / modelOut(40), 4);
  });

  it('an abort during the run rejects with ABORTED', async () => {
    const ac = new AbortController();
    const p = decomposePhoto(photo(), {
      models: { depth: da3 },
      signal: ac.signal,
      onProgress: (s) => {
        if (s === 'validate') ac.abort(new Error('stop'));
      },
    });
    await expect(p).rejects.toBeInstanceOf(DioramaError);
    await expect(p).rejects.toMatchObject({ code: 'ABORTED' });
  });

  it('a PhotoPipeline reuses its models and releases only what it loaded', async () => {
    const pipeline = await PhotoPipeline.load({ runtime: rt, depth: { source: { bytes: da3Model() }, kind: 'da3-nested' } });
    const a = await pipeline.run(photo(64, 48), { stopAfter: 'harmonize', harmonize: false });
    const b = await pipeline.run(photo(48, 64), { stopAfter: 'harmonize', harmonize: false });
    expect(a.depth.metric).toBe(true);
    expect(b.width).toBe(48);
    await pipeline.dispose();
    await expect(pipeline.run(photo(64, 48))).rejects.toMatchObject({ code: 'MODEL_DISPOSED' });
    // The shared runtime is still alive.
    await expect(rt.createSession({ bytes: da3Model() }, da3.session.contract)).resolves.toBeDefined();
  });
});
