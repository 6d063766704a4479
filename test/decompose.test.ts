/**
 * decompose() end to end on the synthetic scene of test/fixtures/scene.ts, its progress and abort contract,
 * and its handling of bad input (every error a DioramaError whose message names expected vs found).
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { decompose, type DecomposeOptions } from '../src/core/decompose';
import { DioramaError } from '../src/core/errors';
import type { Decomposition, DecomposeInput, Stage } from '../src/core/types';
import { makeScene, type SyntheticScene } from './fixtures/scene';

const STAGES: Stage[] = ['validate', 'masks', 'harmonize', 'layers', 'inpaint', 'mesh'];

async function rejection(p: Promise<unknown> | (() => Promise<unknown>)): Promise<DioramaError> {
  try {
    await (typeof p === 'function' ? p() : p);
  } catch (e) {
    expect(e).toBeInstanceOf(DioramaError);
    expect(typeof (e as DioramaError).code).toBe('string');
    return e as DioramaError;
  }
  throw new Error('expected decompose to reject');
}

/** Median of the harmonized depth over a layer's own pixels. */
function ownMedian(r: Decomposition, li: number): number {
  const l = r.layers[li]!;
  const v: number[] = [];
  for (let y = 0; y < l.bbox.height; y++) {
    for (let x = 0; x < l.bbox.width; x++) {
      if (l.role[y * l.bbox.width + x] === 1) v.push(r.harmonizedDepth[(l.bbox.y + y) * r.width + l.bbox.x + x]!);
    }
  }
  v.sort((a, b) => a - b);
  return v[v.length >> 1]!;
}

/**
 * The structural contract of a Decomposition for the given input. Per-pixel checks collect failures (the
 * first few are reported) instead of calling expect() a million times.
 */
function checkDecomposition(r: Decomposition, input: DecomposeInput): void {
  const { width: W, height: H } = input.image;
  const N = W * H;
  const photo = input.image.data;
  const failures: string[] = [];
  const fail = (msg: string): void => {
    if (failures.length < 20) failures.push(msg);
  };
  expect(r.width).toBe(W);
  expect(r.height).toBe(H);
  expect(r.harmonizedDepth.length).toBe(N);
  for (let i = 0; i < N; i++) if (!(r.harmonizedDepth[i]! > 0 && Number.isFinite(r.harmonizedDepth[i]!))) fail(`harmonized depth at ${i} is ${r.harmonizedDepth[i]}`);
  expect(r.layerOfPixel).toBeDefined();
  const lop = r.layerOfPixel!;
  expect(lop.length).toBe(N);
  expect(r.stats.layerCount).toBe(r.layers.length);

  const ownCount = new Uint8Array(N);
  let vertices = 0;
  let triangles = 0;
  r.layers.forEach((l, li) => {
    expect(l.index).toBe(li);
    const { x: bx, y: by, width: cw, height: ch } = l.bbox;
    // Crops lie inside the image, except the back layer's, which covers the whole image and may reach past
    // it by the orbit's rim margins (occlusion layering).
    if (li === 0 && (bx < 0 || by < 0 || bx + cw > W || by + ch > H)) {
      expect(bx <= 0 && by <= 0 && bx + cw >= W && by + ch >= H, `back bbox ${JSON.stringify(l.bbox)}`).toBe(true);
    } else expect(bx >= 0 && by >= 0 && cw >= 1 && ch >= 1 && bx + cw <= W && by + ch <= H, `bbox ${JSON.stringify(l.bbox)}`).toBe(true);
    const n = cw * ch;
    expect(l.rgba.width).toBe(cw);
    expect(l.rgba.height).toBe(ch);
    expect(l.rgba.data.length).toBe(n * 4);
    expect(l.depth.length).toBe(n);
    expect(l.role.length).toBe(n);
    let near = Infinity;
    let far = -Infinity;
    for (let y = 0; y < ch; y++) {
      for (let x = 0; x < cw; x++) {
        const j = y * cw + x;
        const role = l.role[j]!;
        const a = l.rgba.data[j * 4 + 3]!;
        const d = l.depth[j]!;
        const at = `layer ${li} (${bx + x}, ${by + y}) role ${role}`;
        if (bx + x < 0 || by + y < 0 || bx + x >= W || by + y >= H) {
          // Past the image border (the back layer's rim): filled, opaque, with depth.
          if (role !== 2 || a !== 255 || !(d > 0 && Number.isFinite(d))) fail(`${at}: rim texel alpha ${a}, depth ${d}`);
          continue;
        }
        const i = (by + y) * W + bx + x;
        const samePhoto = l.rgba.data[j * 4] === photo[i * 4] && l.rgba.data[j * 4 + 1] === photo[i * 4 + 1] && l.rgba.data[j * 4 + 2] === photo[i * 4 + 2];
        if (role === 1) {
          // Own pixel: the photo's colour exactly, opaque, the harmonized depth exactly.
          ownCount[i]++;
          if (lop[i] !== li) fail(`${at}: layerOfPixel says ${lop[i]}`);
          if (!samePhoto) fail(`${at}: colour differs from the photo`);
          if (a !== 255) fail(`${at}: alpha ${a}`);
          if (d !== r.harmonizedDepth[i]) fail(`${at}: depth ${d} ≠ harmonized ${r.harmonizedDepth[i]}`);
          near = Math.min(near, d);
          far = Math.max(far, d);
        } else if (role === 2) {
          if (a !== 255) fail(`${at}: filled pixel alpha ${a}`); // filled (hidden) pixels are opaque
          if (!(lop[i]! > li)) fail(`${at}: filled pixel not behind a nearer layer (owner ${lop[i]})`);
        } else if (role === 3 && a === 255) {
          // Seam overlap (occlusion layering): a nearer layer's pixel with the photo's colour and depth.
          if (!(lop[i]! > li)) fail(`${at}: seam pixel not of a nearer layer (owner ${lop[i]})`);
          if (!samePhoto) fail(`${at}: seam colour differs from the photo`);
          if (d !== r.harmonizedDepth[i]) fail(`${at}: seam depth ${d} ≠ harmonized ${r.harmonizedDepth[i]}`);
        } else if (role === 3) {
          if (!(a > 0 && a < 255)) fail(`${at}: feather alpha ${a}`);
          if (!(lop[i]! < li)) fail(`${at}: feather over a nearer layer (owner ${lop[i]})`);
          if (!samePhoto) fail(`${at}: feather colour differs from the photo`);
        } else if (role !== 0 || a !== 0 || d !== 0) {
          fail(`${at}: empty pixel with alpha ${a}, depth ${d}`);
        }
        if (role !== 0 && !(d > 0 && Number.isFinite(d))) fail(`${at}: depth ${d}`);
      }
    }
    expect(l.depthRange).toEqual([near, far]);
    const nv = l.mesh.positions.length / 3;
    expect(nv).toBeGreaterThan(0);
    expect(l.mesh.indices.length).toBeGreaterThan(0);
    expect(l.mesh.uvs.length).toBe(2 * nv);
    expect(l.mesh.pixels.length).toBe(2 * nv);
    for (const k of l.mesh.indices) if (!(k < nv)) fail(`layer ${li}: index ${k} ≥ ${nv} vertices`);
    for (const p of l.mesh.positions) if (!Number.isFinite(p)) fail(`layer ${li}: position ${p}`);
    vertices += nv;
    triangles += l.mesh.indices.length / 3;
  });
  // Every pixel is an own pixel of exactly one layer.
  for (let i = 0; i < N; i++) if (ownCount[i] !== 1) fail(`pixel ${i} is an own pixel of ${ownCount[i]} layers`);
  expect(failures).toEqual([]);
  expect(r.stats.vertexCount).toBe(vertices);
  expect(r.stats.triangleCount).toBe(triangles);
  expect(r.stats.timings.map((t) => t.stage)).toEqual(STAGES);

  // Back to front: planes strictly nearer with each layer.
  for (let li = 1; li < r.layers.length; li++) expect(r.layers[li]!.planeDepth).toBeLessThan(r.layers[li - 1]!.planeDepth);

  // Seen from the original camera, compositing the layers back to front (straight alpha "over") gives the
  // photo back: own pixels are opaque with the photo's colour and feathers carry the photo's colour too, so
  // α·C + (1 − α)·C = C; filled pixels of farther layers are covered by the owner.
  const comp = new Float64Array(N * 3);
  for (const l of r.layers) {
    for (let y = 0; y < l.bbox.height; y++) {
      for (let x = 0; x < l.bbox.width; x++) {
        const j = y * l.bbox.width + x;
        if (l.bbox.x + x < 0 || l.bbox.y + y < 0 || l.bbox.x + x >= W || l.bbox.y + y >= H) continue;
        const i = (l.bbox.y + y) * W + l.bbox.x + x;
        const a = l.rgba.data[j * 4 + 3]! / 255;
        for (let c = 0; c < 3; c++) comp[i * 3 + c] = a * l.rgba.data[j * 4 + c]! + (1 - a) * comp[i * 3 + c]!;
      }
    }
  }
  let maxDiff = 0;
  for (let i = 0; i < N; i++) for (let c = 0; c < 3; c++) maxDiff = Math.max(maxDiff, Math.abs(comp[i * 3 + c]! - photo[i * 4 + c]!));
  expect(maxDiff).toBeLessThan(1e-9);
}

describe('decompose on the synthetic scene (320×240)', () => {
  let scene: SyntheticScene;
  let withMasks: Decomposition;
  let rgbdOnly: Decomposition;
  const events: [Stage, number][] = [];

  beforeAll(async () => {
    scene = makeScene({ width: 320, height: 240 });
    withMasks = await decompose(
      { image: scene.image, depth: scene.depth, masks: { kind: 'labels', labels: scene.labels, concepts: scene.concepts }, intrinsics: scene.intrinsics },
      { onProgress: (s, f) => events.push([s, f]) },
    );
    rgbdOnly = await decompose({ image: scene.image, depth: scene.depth });
  });

  it('with masks: layers back to front with consistent crops, own pixels reproducing the photo, opaque fills, meshes', () => {
    checkDecomposition(withMasks, { image: scene.image, depth: scene.depth });
    expect(withMasks.layers.length).toBeGreaterThanOrEqual(4);
    expect(withMasks.layers.length).toBeLessThanOrEqual(12);
    expect(withMasks.intrinsicsKnown).toBe(true);
    expect(withMasks.stats.maskCount).toBe(scene.labelCount);
    // The objects are ≥ 0.35 m apart in depth: the median own depth falls strictly from back to front.
    for (let li = 1; li < withMasks.layers.length; li++) expect(ownMedian(withMasks, li)).toBeLessThan(ownMedian(withMasks, li - 1));
    // The backdrop (farthest) is in layer 0 and the cylinder (nearest, 1.98 m) in the last layer.
    expect(withMasks.layers[0]!.concepts).toContain('backdrop');
    expect(withMasks.layers[withMasks.layers.length - 1]!.concepts).toEqual(['cylinder']);
    // The back layer is a full backdrop: its crop is the whole image and it has no empty pixel.
    const back = withMasks.layers[0]!;
    expect(back.bbox.x <= 0 && back.bbox.y <= 0 && back.bbox.x + back.bbox.width >= 320 && back.bbox.y + back.bbox.height >= 240).toBe(true);
    expect(back.role.every((r) => r === 1 || r === 2 || r === 3)).toBe(true);
  });

  it('meshes unproject through the given intrinsics', () => {
    const { fx, fy, cx, cy } = scene.intrinsics;
    for (const l of withMasks.layers) {
      const { positions: p, pixels: px } = l.mesh;
      let worst = 0;
      for (let v = 0; v < p.length / 3; v++) {
        const z = p[v * 3 + 2]!;
        expect(z).toBeGreaterThan(0);
        worst = Math.max(worst, Math.abs(p[v * 3]! - ((px[v * 2]! - cx) * z) / fx) / z, Math.abs(p[v * 3 + 1]! + ((px[v * 2 + 1]! - cy) * z) / fy) / z);
      }
      // float32 positions and pixel coordinates: a few roundings of 2^-24 relative on values ≤ ~1.2·z.
      expect(worst).toBeLessThanOrEqual(1e-5);
    }
  });

  it('RGB-D only (no masks): still 4–12 layers from depth segments, same contract', () => {
    checkDecomposition(rgbdOnly, { image: scene.image, depth: scene.depth });
    expect(rgbdOnly.layers.length).toBeGreaterThanOrEqual(4);
    expect(rgbdOnly.layers.length).toBeLessThanOrEqual(12);
    expect(rgbdOnly.intrinsicsKnown).toBe(false);
    expect(rgbdOnly.stats.maskCount).toBeGreaterThan(0);
    // The default 60° guess is the scene's own camera.
    expect(rgbdOnly.intrinsics.fx).toBeCloseTo(scene.intrinsics.fx, 9);
    for (let li = 1; li < rgbdOnly.layers.length; li++) expect(ownMedian(rgbdOnly, li)).toBeLessThan(ownMedian(rgbdOnly, li - 1));
  });

  it('reports progress for every stage in order, fractions in [0, 1] and non-decreasing, ending at 1', () => {
    for (const [, f] of events) expect(f >= 0 && f <= 1).toBe(true);
    const firstSeen = STAGES.map((s) => events.findIndex(([t]) => t === s));
    for (const k of firstSeen) expect(k).toBeGreaterThanOrEqual(0);
    for (let k = 1; k < firstSeen.length; k++) expect(firstSeen[k]!).toBeGreaterThan(firstSeen[k - 1]!);
    for (const s of STAGES) {
      const fr = events.filter(([t]) => t === s).map(([, f]) => f);
      expect(fr[0]).toBe(0);
      expect(fr[fr.length - 1]).toBe(1);
      for (let k = 1; k < fr.length; k++) expect(fr[k]!).toBeGreaterThanOrEqual(fr[k - 1]!);
    }
    expect(events[events.length - 1]![1]).toBe(1);
  });
});

describe('decompose abort', () => {
  const small = makeScene({ width: 64, height: 48 });
  const input: DecomposeInput = { image: small.image, depth: small.depth, masks: { kind: 'labels', labels: small.labels } };

  it('rejects with ABORTED (reason as cause) when the signal is already aborted', async () => {
    const ctl = new AbortController();
    ctl.abort('user left');
    const e = await rejection(decompose(input, { signal: ctl.signal }));
    expect(e.code).toBe('ABORTED');
    expect(e.cause).toBe('user left');
  });

  it('rejects with ABORTED when aborted from any progress callback, including the last one', async () => {
    const events: [Stage, number][] = [];
    await decompose(input, { onProgress: (s, f) => events.push([s, f]) });
    expect(events.length).toBeGreaterThan(STAGES.length * 2 - 1);
    for (let k = 0; k < events.length; k++) {
      const ctl = new AbortController();
      let calls = 0;
      const e = await rejection(
        decompose(input, {
          signal: ctl.signal,
          onProgress: () => {
            if (calls++ === k) ctl.abort();
          },
        }),
      );
      expect(e.code, `abort at callback ${k} (${events[k]!.join(' ')})`).toBe('ABORTED');
    }
  });

  it('rejects with ABORTED when aborted from a timer while a stage runs', async () => {
    const mid = makeScene({ width: 160, height: 120 });
    const ctl = new AbortController();
    const p = decompose({ image: mid.image, depth: mid.depth }, { signal: ctl.signal, onProgress: (s, f) => s === 'masks' && f === 1 && setTimeout(() => ctl.abort(), 0) });
    expect((await rejection(p)).code).toBe('ABORTED');
  });
});

describe('decompose input handling', () => {
  const s = makeScene({ width: 96, height: 72 });
  const base = (): DecomposeInput => ({ image: s.image, depth: s.depth });
  const fails = async (input: unknown, options: DecomposeOptions, code: string, message: RegExp): Promise<void> => {
    const e = await rejection(() => decompose(input as DecomposeInput, options));
    expect(e.code).toBe(code);
    expect(e.message).toMatch(message);
  };

  it('a list of all-zero masks falls back to depth segments exactly like no masks', async () => {
    const N = 96 * 72;
    const empty = [{ data: new Uint8Array(N) }, { data: new Uint8Array(N), score: 3 }];
    const a = await decompose({ ...base(), masks: { kind: 'list', masks: empty } });
    const b = await decompose(base());
    expect(a.layers.length).toBeGreaterThanOrEqual(4);
    expect(a.layers.length).toBeLessThanOrEqual(12);
    expect(a.stats.maskCount).toBe(b.stats.maskCount);
    expect(a.layerOfPixel).toEqual(b.layerOfPixel);
    expect(a.harmonizedDepth).toEqual(b.harmonizedDepth);
  });

  it('binary mask lists: higher score wins where masks overlap', async () => {
    const N = 96 * 72;
    const left = new Uint8Array(N);
    const all = new Uint8Array(N).fill(1);
    for (let i = 0; i < N; i++) if (i % 96 < 48) left[i] = 255;
    const r = await decompose({ ...base(), masks: { kind: 'list', masks: [{ data: all, score: 0.2, concept: 'all' }, { data: left, score: 0.9, concept: 'left' }] } }, { harmonize: false, stopAfter: 'layers' });
    // Painted in score order: 'left' is label 0 on the left half, 'all' label 1 on the right half.
    expect(r.stats.maskCount).toBe(2);
    for (let i = 0; i < N; i++) expect(r.labels[i]).toBe(i % 96 < 48 ? 0 : 1);
  });

  it('scattered unknown depth (NaN, 0, negative, ±Infinity) is filled; the contract still holds', async () => {
    const depth = s.depth.slice();
    const bad = [NaN, 0, -1, Infinity, -Infinity];
    let seed = 5;
    for (let i = 0; i < depth.length; i++) {
      seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0;
      if (seed / 2 ** 32 < 0.15) depth[i] = bad[i % bad.length]!;
    }
    const input = { image: s.image, depth, masks: { kind: 'labels' as const, labels: s.labels } };
    const r = await decompose(input);
    checkDecomposition(r, input);
    expect(r.layers.length).toBeGreaterThanOrEqual(4);
  });

  it('1×1 image: one layer holding the pixel (a single flat pixel cannot be split to reach minLayers)', async () => {
    const image = { width: 1, height: 1, data: Uint8ClampedArray.from([10, 20, 30, 255]) };
    const input = { image, depth: Float32Array.from([2.5]) };
    const r = await decompose(input);
    checkDecomposition(r, input);
    expect(r.layers.length).toBe(1);
    const l0 = r.layers[0]!;
    const j = (0 - l0.bbox.y) * l0.bbox.width + (0 - l0.bbox.x);
    expect(l0.role[j]).toBe(1);
    expect(Array.from(l0.rgba.data.subarray(4 * j, 4 * j + 4))).toEqual([10, 20, 30, 255]);
    expect(r.layers[0]!.depthRange).toEqual([2.5, 2.5]);
    await fails({ image, depth: Float32Array.from([NaN]) }, {}, 'NO_VALID_DEPTH', /all 1 pixels are 0, negative, NaN or infinite/);
  });

  it('an 8000×8000 image is rejected as IMAGE_TOO_LARGE before its pixels are read', async () => {
    // data has length 0: the size check must come first (a data check would report INVALID_IMAGE).
    await fails({ image: { width: 8000, height: 8000, data: new Uint8Array(0) }, depth: new Float32Array(0) }, {}, 'IMAGE_TOO_LARGE', /8000x8000 \(64\.0 MP\); the limit is 33\.6 MP/);
    await fails(base(), { maxPixels: 96 * 72 - 1 }, 'IMAGE_TOO_LARGE', /96x72/);
  });

  it('rejects mismatched sizes with SIZE_MISMATCH', async () => {
    const N = 96 * 72;
    await fails({ image: s.image, depth: new Float32Array(N - 1).fill(1) }, {}, 'SIZE_MISMATCH', new RegExp(`depth has ${N - 1} values; expected 96x72 = ${N}`));
    await fails({ ...base(), masks: { kind: 'labels', labels: new Int32Array(N + 3) } }, {}, 'SIZE_MISMATCH', new RegExp(`masks.labels has ${N + 3} values; expected 96x72 = ${N}`));
    await fails({ ...base(), masks: { kind: 'list', masks: [{ data: new Uint8Array(N) }, { data: new Uint8Array(10) }] } }, {}, 'SIZE_MISMATCH', new RegExp(`masks\\[1\\]\\.data has 10 bytes; expected 96x72 = ${N}`));
  });

  it('rejects wrong types and malformed images with INVALID_IMAGE / INVALID_DEPTH / INVALID_MASKS', async () => {
    const N = 96 * 72;
    await fails({ depth: s.depth }, {}, 'INVALID_IMAGE', /input\.image is missing; expected an RGBA8 image/);
    await fails({ image: { width: 96, height: 72, data: new Float32Array(N * 4) }, depth: s.depth }, {}, 'INVALID_IMAGE', /Uint8Array or Uint8ClampedArray.*found Float32Array/);
    await fails({ image: { width: 96, height: 72, data: Array.from({ length: N * 4 }, () => 0) }, depth: s.depth }, {}, 'INVALID_IMAGE', /found Array/);
    await fails({ image: { width: 96, height: 72, data: new Uint8Array(N * 3) }, depth: s.depth }, {}, 'INVALID_IMAGE', new RegExp(`has ${N * 3} bytes; expected width·height·4 = ${N * 4}`));
    await fails({ image: { width: 0, height: 72, data: new Uint8Array(0) }, depth: s.depth }, {}, 'INVALID_IMAGE', /positive integers; found 0x72/);
    await fails({ image: { width: 9.5, height: 2, data: new Uint8Array(76) }, depth: s.depth }, {}, 'INVALID_IMAGE', /found 9\.5x2/);
    await fails({ image: s.image, depth: new Float64Array(N) }, {}, 'INVALID_DEPTH', /depth must be a Float32Array; found Float64Array/);
    await fails({ image: s.image, depth: Array.from({ length: N }, () => 1) }, {}, 'INVALID_DEPTH', /found Array/);
    await fails({ image: s.image }, {}, 'INVALID_DEPTH', /found undefined/);
    await fails({ ...base(), masks: { kind: 'labels', labels: new Float32Array(N) } }, {}, 'INVALID_MASKS', /Int32Array; found Float32Array/);
    await fails({ ...base(), masks: { kind: 'list', masks: [{ data: new Int8Array(N) }] } }, {}, 'INVALID_MASKS', /masks\[0\]\.data must be a Uint8Array.*found Int8Array/);
    await fails({ ...base(), masks: { kind: 'list', masks: [{ data: new Uint8Array(N), score: NaN }] } }, {}, 'INVALID_MASKS', /masks\[0\]\.score must be finite; found NaN/);
    await fails({ ...base(), masks: { kind: 'polygons' } }, {}, 'INVALID_MASKS', /found kind 'polygons'/);
  });

  it('rejects all-unknown depth with NO_VALID_DEPTH', async () => {
    const N = 96 * 72;
    await fails({ image: s.image, depth: new Float32Array(N) }, {}, 'NO_VALID_DEPTH', new RegExp(`all ${N} pixels are 0, negative, NaN or infinite`));
    await fails({ image: s.image, depth: new Float32Array(N).fill(NaN) }, {}, 'NO_VALID_DEPTH', /NaN/);
    // Inverse depth that is 0 everywhere (points at infinity) has no usable value either.
    await fails({ image: s.image, depth: new Float32Array(N), depthIsInverse: true }, {}, 'NO_VALID_DEPTH', /no usable value/);
  });

  it('rejects bad intrinsics with INVALID_INTRINSICS and bad options with INVALID_OPTION', async () => {
    const k = s.intrinsics;
    await fails({ ...base(), intrinsics: { ...k, fx: NaN } }, {}, 'INVALID_INTRINSICS', /intrinsics\.fx must be a finite number; found NaN/);
    await fails({ ...base(), intrinsics: { ...k, cy: undefined } }, {}, 'INVALID_INTRINSICS', /intrinsics\.cy must be a finite number; found undefined/);
    await fails({ ...base(), intrinsics: { ...k, fy: -3 } }, {}, 'INVALID_INTRINSICS', /fx, fy must be > 0; found fx=.*, fy=-3/);
    await fails(base(), { layers: { minLayers: 6, maxLayers: 3 } }, 'INVALID_OPTION', /1 ≤ minLayers ≤ maxLayers ≤ 255; found \[6, 3\]/);
    await fails(base(), { layers: { overlapFactor: -1 } }, 'INVALID_OPTION', /overlapFactor must be > 0; found -1/);
    await fails(base(), { fieldOfView: 180 }, 'INVALID_OPTION', /fieldOfView must be in \(0, 180\) degrees; found 180/);
    await fails(base(), { harmonize: { lambda: -1 } }, 'INVALID_OPTION', /lambda must be a finite number ≥ 0; found -1/);
  });
});
