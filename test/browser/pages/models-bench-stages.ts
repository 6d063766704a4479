/**
 * The per-stage model benchmark shared by Node (bench/models.bench.ts, wasm) and Chromium
 * (models-bench.page.ts, wasm and webgpu): for a photo, time our pre-processing, the model run and our
 * post-processing of each model stage, with the generated tiny models.
 *
 * - depth (DA3 and DA2): DepthResult.timings (preprocess = resize + normalise to NCHW; inference =
 *   session.run incl. tensor creation and output copy; postprocess = intrinsics + resize back in inverse depth).
 * - segment (SAM3 automatic, tracker export): the vision encoder's and decoder's session.run time are measured
 *   by wrapping the sessions' run(); "ours" = embed + generate wall time − model time (pre-processing to
 *   1008², point batching, IoU/stability filtering, mask upsampling, NMS).
 * Medians of `runs` timed runs after one warm-up.
 */
import type { RGBAImage } from '../../../src/core/types';
import { loadDepthModel } from '../../../src/models/da3';
import type { ModelSource } from '../../../src/models/registry';
import { createRuntime, isNode, type ExecutionProvider, type ModelSession } from '../../../src/models/runtime';
import { Sam3Tracker } from '../../../src/models/sam3';
import { rgbImage } from '../../fixtures/images';

export interface StageBenchOptions {
  ep: ExecutionProvider;
  runs: number;
  width: number;
  height: number;
  /** Directory (Node) or URL prefix (browser) of the generated models, ending with '/'. */
  modelBase: string;
  wasmPaths?: string;
  /** SAM3 automatic grid (points per side). */
  pointsPerSide: number;
  /** SAM3 timed runs (slow on software WebGPU). */
  samRuns: number;
}

export interface StageTimes {
  stage: string;
  provider: string;
  /** Medians, ms. */
  preMs: number;
  modelMs: number;
  postMs: number;
  /** Our pre+post as a fraction of the stage total. */
  oursFraction: number;
  runs: number;
  note?: string;
}

function median(v: number[]): number {
  const s = [...v].sort((a, b) => a - b);
  const n = s.length;
  return n % 2 ? s[(n - 1) >> 1]! : (s[n / 2 - 1]! + s[n / 2]!) / 2;
}

/** A deterministic 8-bit photo with texture in every channel (content does not affect the timings). */
export function benchPhoto(W: number, H: number): RGBAImage {
  return rgbImage(W, H, (x, y) => [(x * 255) / W + 20 * Math.sin(y / 17), (y * 255) / H, ((x ^ y) * 7) & 255]);
}

function source(base: string, name: string): ModelSource {
  return isNode() && !/^https?:/.test(base) ? { path: base + name } : base + name;
}

/** Wraps a session's run() to accumulate its wall time into `acc.ms`. */
function timeRuns(s: ModelSession, acc: { ms: number }): void {
  const run = s.run.bind(s);
  (s as { run: ModelSession['run'] }).run = async (feeds, o) => {
    const t0 = performance.now();
    try {
      return await run(feeds, o);
    } finally {
      acc.ms += performance.now() - t0;
    }
  };
}

export async function runStageBench(o: StageBenchOptions): Promise<StageTimes[]> {
  const photo = benchPhoto(o.width, o.height);
  const rt = await createRuntime({ executionProviders: [o.ep], wasmPaths: o.wasmPaths, onWarning: () => undefined });
  const out: StageTimes[] = [];
  try {
    for (const [name, kind, label] of [
      ['da3-tiny.onnx', 'da3-main', 'depth DA3'],
      ['da2-tiny-dynamic.onnx', 'da2', 'depth DA2 (dynamic)'],
    ] as const) {
      const m = await loadDepthModel(rt, source(o.modelBase, name), { kind, cache: false });
      await m.estimate(photo);
      const pre: number[] = [];
      const run: number[] = [];
      const post: number[] = [];
      let size = '';
      for (let i = 0; i < o.runs; i++) {
        const r = await m.estimate(photo);
        pre.push(r.timings.preprocessMs);
        run.push(r.timings.inferenceMs);
        post.push(r.timings.postprocessMs);
        size = `${r.processedWidth}x${r.processedHeight}`;
      }
      const p = median(pre);
      const r = median(run);
      const q = median(post);
      out.push({ stage: label, provider: m.session.provider, preMs: p, modelMs: r, postMs: q, oursFraction: (p + q) / (p + r + q), runs: o.runs, note: `model input ${size}` });
      await m.dispose();
    }

    const tracker = await Sam3Tracker.load(rt, {
      visionEncoder: source(o.modelBase, 'sam3/tracker-vision-encoder.onnx'),
      decoder: source(o.modelBase, 'sam3/tracker-prompt-encoder-mask-decoder.onnx'),
    }, { cache: false });
    const enc = { ms: 0 };
    const dec = { ms: 0 };
    timeRuns(tracker.visionEncoder, enc);
    timeRuns(tracker.decoder, dec);
    const embedOurs: number[] = [];
    const encMs: number[] = [];
    const genOurs: number[] = [];
    const decMs: number[] = [];
    let masks = 0;
    for (let i = 0; i <= o.samRuns; i++) {
      enc.ms = 0;
      dec.ms = 0;
      const t0 = performance.now();
      const emb = await tracker.embed(photo);
      const t1 = performance.now();
      const set = await tracker.generate(emb, { pointsPerSide: o.pointsPerSide });
      const t2 = performance.now();
      emb.dispose();
      masks = set.masks.length;
      if (i === 0) continue; // warm-up
      embedOurs.push(t1 - t0 - enc.ms);
      encMs.push(enc.ms);
      genOurs.push(t2 - t1 - dec.ms);
      decMs.push(dec.ms);
    }
    const e = median(embedOurs);
    const em = median(encMs);
    out.push({ stage: 'segment SAM3 encoder', provider: tracker.visionEncoder.provider, preMs: e, modelMs: em, postMs: 0, oursFraction: e / (e + em), runs: o.samRuns, note: 'pre = resize/normalise to 1008²' });
    const g = median(genOurs);
    const dm = median(decMs);
    out.push({
      stage: `segment SAM3 automatic (${o.pointsPerSide}² points)`,
      provider: tracker.decoder.provider,
      preMs: 0,
      modelMs: dm,
      postMs: g,
      oursFraction: g / (g + dm),
      runs: o.samRuns,
      note: `post = batching, filtering, upsampling, NMS; ${masks} masks kept`,
    });
    await tracker.dispose();
  } finally {
    await rt.dispose();
  }
  return out;
}
