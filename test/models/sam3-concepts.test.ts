/**
 * SAM3 text-concept mode through the real onnxruntime-web with the tiny detector graphs and tokenizer of
 * test/fixtures/make-sam3-models.ts: query q of concept c has a constant box and logit DETECTOR_SPEC.logits
 * [token(c)][q]; the presence logit is +5 for "cat"/"dog", −5 for "sky". Box edges are at whole photo pixels,
 * half a pixel from every pixel centre, so mask extents are exact.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { resolveMasks } from '../../src/core/validate';
import type { RGBAImage } from '../../src/core/types';
import { type ModelRuntime, createRuntime } from '../../src/models/runtime';
import { Sam3Concepts, Sam3ImageEmbedding, resolveSam3Masks } from '../../src/models/sam3';
import { SAM3_DETECTOR_DECODER_CONTRACT } from '../../src/models/sam3-contracts';
import { TextTokenizer } from '../../src/models/tokenizer';
import { DETECTOR_SPEC, TOKENS, buildDetectorDecoder, buildDetectorVisionEncoder, buildTextEncoder, buildTinyTokenizer } from '../fixtures/make-sam3-models';
import { counted } from './helpers';

const sigmoid = (x: number) => 1 / (1 + Math.exp(-x));
const W = 640, H = 360;

function photo(): RGBAImage {
  return { width: W, height: H, data: new Uint8ClampedArray(W * H * 4).fill(90) };
}

/** The photo-pixel rectangle of query q's normalised box. */
function boxRect(q: number) {
  const [x0, y0, x1, y1] = DETECTOR_SPEC.boxes[q]!;
  const r = { x: Math.round(x0 * W), y: Math.round(y0 * H), x1: Math.round(x1 * W), y1: Math.round(y1 * H) };
  return { x: r.x, y: r.y, width: r.x1 - r.x, height: r.y1 - r.y };
}

describe('tokenizer (tokenizer.json through @huggingface/tokenizers)', () => {
  const tok = new TextTokenizer(buildTinyTokenizer());

  it('adds the template tokens, pads with <|endoftext|> to 32 and masks the padding', () => {
    const b = tok.encodeBatch(['cat', 'A Dog']);
    expect(b.length).toBe(32);
    expect(tok.padId).toBe(TOKENS.eos);
    const row = (r: number) => Array.from(b.ids.subarray(r * 32, r * 32 + 6), Number);
    const mask = (r: number) => Array.from(b.attentionMask.subarray(r * 32, r * 32 + 6), Number);
    expect(row(0)).toEqual([TOKENS.bos, TOKENS.cat, TOKENS.eos, TOKENS.eos, TOKENS.eos, TOKENS.eos]);
    expect(mask(0)).toEqual([1, 1, 1, 0, 0, 0]);
    expect(b.tokens[1]).toEqual(['<|startoftext|>', 'a</w>', 'dog</w>', '<|endoftext|>']); // lowercased
    expect(row(1).slice(0, 4)).toEqual([TOKENS.bos, 26, TOKENS.dog, TOKENS.eos]);
    expect(mask(1)).toEqual([1, 1, 1, 1, 0, 0]);
  });

  it('truncates long texts to 32 tokens keeping the end-of-text marker', () => {
    const b = tok.encodeBatch(['x '.repeat(40)]);
    expect(Number(b.ids[0])).toBe(TOKENS.bos);
    expect(Number(b.ids[31])).toBe(TOKENS.eos);
    expect(Array.from(b.attentionMask, Number).every((v) => v === 1)).toBe(true);
  });

  it('rejects a file that is not a tokenizer', () => {
    expect(() => new TextTokenizer('{not json')).toThrow(expect.objectContaining({ code: 'DECODE_FAILED' }));
    expect(() => new TextTokenizer({ version: '1.0' })).toThrow(/no 'model' section/);
  });
});

describe('SAM3 concept adapter (tiny graphs, onnxruntime-web wasm)', () => {
  let rt: ModelRuntime;
  let sam: Sam3Concepts;
  let runs: { vision: () => number; text: () => number; decoder: () => number };
  let emb: Sam3ImageEmbedding;

  beforeAll(async () => {
    rt = await createRuntime({ onWarning: () => {} });
    const loaded = await Sam3Concepts.load(rt, {
      visionEncoder: { bytes: buildDetectorVisionEncoder() },
      textEncoder: { bytes: buildTextEncoder() },
      decoder: { bytes: buildDetectorDecoder() },
      tokenizer: JSON.stringify(buildTinyTokenizer()),
    });
    const v = counted(loaded.visionEncoder), t = counted(loaded.textEncoder), d = counted(loaded.decoder);
    runs = { vision: v.runs, text: t.runs, decoder: d.runs };
    sam = new Sam3Concepts(v.session, t.session, d.session, loaded.tokenizer);
    emb = await sam.embed(photo());
  });

  it('returns masks only for concepts the presence head accepts, with names, scores and exact boxes', async () => {
    const r = await sam.segment(emb, ['cat', 'dog', 'sky']);
    const p = sigmoid(5);
    expect(r.concepts).toEqual([
      { name: 'cat', presence: expect.closeTo(p, 6), accepted: true, maskCount: 2 },
      { name: 'dog', presence: expect.closeTo(p, 6), accepted: true, maskCount: 1 },
      { name: 'sky', presence: expect.closeTo(sigmoid(-5), 6), accepted: false, maskCount: 0 },
    ]);
    // Kept: score = sigmoid(logit)·sigmoid(presence) > 0.5 → cat q0 (logit 3), dog q3 (2), cat q2 (0.5);
    // dropped: cat q1 (−1 → 0.27), cat q5 (−0.5 → 0.37). Sorted by score.
    expect(r.masks.map((m) => [m.concept, m.score])).toEqual([
      ['cat', expect.closeTo(sigmoid(3) * p, 6)],
      ['dog', expect.closeTo(sigmoid(2) * p, 6)],
      ['cat', expect.closeTo(sigmoid(0.5) * p, 6)],
    ]);
    [0, 3, 2].forEach((q, i) => {
      const m = r.masks[i]!;
      expect(m.bbox).toEqual(boxRect(q));
      const [x0, y0, x1, y1] = DETECTOR_SPEC.boxes[q]!;
      expect(m.box).toEqual([x0 * W, y0 * H, x1 * W, y1 * H].map((v) => expect.closeTo(v, 3)));
      // Inside the box except possibly the 4 corner pixels, where the logit surface has its kinks.
      expect(m.area).toBeGreaterThanOrEqual(m.bbox.width * m.bbox.height - 4);
    });
  });

  it('thresholds are options: a lower score threshold keeps more; the presence gate is separate', async () => {
    const r = await sam.segment(emb, ['cat'], { scoreThreshold: 0.3 });
    expect(r.masks.map((m) => m.bbox)).toEqual([0, 2, 5].map(boxRect));
    // Even with every score accepted, a rejected concept returns nothing...
    const sky = await sam.segment(emb, ['sky'], { scoreThreshold: 0 });
    expect(sky.concepts[0]).toMatchObject({ accepted: false, maskCount: 0 });
    expect(sky.masks).toHaveLength(0);
    // ...until the presence threshold admits it: q4 scores sigmoid(5)·sigmoid(−5) ≈ 0.0066, the other queries
    // (logit −10) ≈ 3e-7.
    const sky2 = await sam.segment(emb, ['sky'], { scoreThreshold: 0.001, presenceThreshold: 0.001 });
    expect(sky2.masks.map((m) => [m.concept, m.bbox])).toEqual([['sky', boxRect(4)]]);
  });

  it('multi-word concepts reach the encoder through the tokenizer (the word “cat” decides)', async () => {
    const r = await sam.segment(emb, ['  Black CAT ']);
    expect(r.concepts[0]).toMatchObject({ name: 'Black CAT', accepted: true, maskCount: 2 });
    expect(r.masks.every((m) => m.concept === 'Black CAT')).toBe(true);
  });

  it('resolves into a label map: higher score owns overlaps, concept names ride on the labels into the core', async () => {
    const r = await sam.segment(emb, ['dog', 'cat']);
    const res = resolveSam3Masks(r);
    expect(res.masks.concepts).toEqual(['cat', 'dog', 'cat']);
    // cat q0 and dog q3 overlap on x ∈ [192, 256), y ∈ [144, 216): cat (0.946) beats dog (0.875).
    const L = res.masks.labels;
    expect(L[180 * W + 220]).toBe(0);
    expect(L[250 * W + 300]).toBe(1);
    const core = resolveMasks(res.masks, W, H);
    expect(core.count).toBe(3);
    expect(core.concepts[core.labels[180 * W + 220]!]).toBe('cat');
    expect(core.concepts[core.labels[250 * W + 300]!]).toBe('dog');
    expect(core.concepts[core.labels[300 * W + 500]!]).toBe('cat'); // q2
  });

  it('computes the image embedding once; the text encoder runs once per call for all concepts', async () => {
    const v0 = runs.vision(), t0 = runs.text(), d0 = runs.decoder();
    await sam.segment(emb, ['cat', 'dog']);
    await sam.segment(emb, ['sky']);
    expect(runs.vision() - v0).toBe(0);
    expect(runs.text() - t0).toBe(2);
    expect(runs.decoder() - d0).toBe(3);
    expect(runs.vision()).toBe(1); // only the embed() in beforeAll
  });

  it('accepts exports whose pred_logits are [B,Q,1]', async () => {
    const dec = await rt.createSession({ bytes: buildDetectorDecoder({ logitsRank: 3 }) }, SAM3_DETECTOR_DECODER_CONTRACT);
    const alt = new Sam3Concepts(sam.visionEncoder, sam.textEncoder, dec, sam.tokenizer);
    const e2 = await alt.embed(photo());
    const r = await alt.segment(e2, ['cat']);
    expect(r.masks.map((m) => m.bbox)).toEqual([0, 2].map(boxRect));
    e2.dispose();
    await dec.dispose();
  });

  it('rejects a tracker embedding, an empty concept and a tokenizer of the wrong length', async () => {
    const fake = new Sam3ImageEmbedding('tracker', W, H, {}, sam);
    await expect(sam.segment(fake, ['cat'])).rejects.toThrow(/comes from the SAM3 tracker vision encoder/);
    await expect(sam.segment(emb, ['cat', ' '])).rejects.toThrow(/concepts\[1\] must be a non-empty string/);
    const short = new TextTokenizer(buildTinyTokenizer(), {}, { maxLength: 16 });
    expect(() => new Sam3Concepts(sam.visionEncoder, sam.textEncoder, sam.decoder, short)).toThrow(/takes 32 tokens but the tokenizer produces 16/);
  });
});
