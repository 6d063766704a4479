/**
 * Occlusion layering (src/math/occlusion.ts, src/core/occlusion-layers.ts): tears, slabs, backed tears,
 * far-side fills, the back layer and its rim, depth-hole completion. Every expected value follows from the
 * geometry of the synthetic input.
 */
import { describe, expect, it } from 'vitest';
import { decompose } from '../src/core/decompose';
import type { Decomposition, RGBAImage } from '../src/core/types';
import { assignSlabs, chooseSlabBoundaries, completeDepthFarSide, detectTears, parallaxScale, reach, rimMargins } from '../src/math/occlusion';

const intr = (W: number, H: number, f = W) => ({ fx: f, fy: f, cx: W / 2, cy: H / 2 });

describe('tears', () => {
  it('K = f·b·median depth', () => {
    expect(parallaxScale({ fx: 800, fy: 700, cx: 0, cy: 0 }, 3, 0.2)).toBeCloseTo(800 * 0.2 * 3, 9);
  });

  it('a fronto-parallel step tears exactly when its parallax exceeds the threshold', () => {
    const W = 8, H = 2, K = 100;
    for (const [px, torn] of [[0.9, false], [1.1, true]] as const) {
      const inv = new Float32Array(W * H).fill(0.5);
      for (let y = 0; y < H; y++) for (let x = 4; x < W; x++) inv[y * W + x] = 0.5 + px / K;
      const t = detectTears(inv, W, H, K, 1);
      expect(t.count).toBe(torn ? H : 0);
      if (torn) expect(t.right[3]).toBeCloseTo(px, 4);
    }
  });

  it('slopes of any steepness and creases stay welded', () => {
    const W = 32, H = 6, K = 1000;
    const inv = new Float32Array(W * H);
    // 50 px of parallax per pixel on the left half, then a crease to the opposite slope.
    for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) inv[y * W + x] = 1 + (x < 16 ? x : 32 - x) * 0.05;
    expect(detectTears(inv, W, H, K, 1).count).toBe(0);
  });

  it('a one-pixel-thin bar in front of a plane tears on both sides', () => {
    const W = 9, H = 3, K = 100;
    const inv = new Float32Array(W * H).fill(0.2);
    for (let y = 0; y < H; y++) inv[y * W + 4] = 0.5;
    const t = detectTears(inv, W, H, K, 1);
    for (let y = 0; y < H; y++) {
      expect(t.right[y * W + 3]).toBeCloseTo(30, 3);
      expect(t.right[y * W + 4]).toBeCloseTo(30, 3);
    }
    expect(t.count).toBe(2 * H);
  });
});

describe('slabs', () => {
  it('one boundary separates the two sides of a step, inside the gap; slopes get none', () => {
    const W = 40, H = 20, K = 100;
    const inv = new Float32Array(W * H).fill(0.2);
    for (let y = 5; y < 15; y++) for (let x = 10; x < 30; x++) inv[y * W + x] = 0.5;
    const b = chooseSlabBoundaries(inv, detectTears(inv, W, H, K, 1), 11);
    expect(b.length).toBe(1);
    expect(b[0]!).toBeGreaterThan(0.2);
    expect(b[0]!).toBeLessThanOrEqual(0.5);
    const slab = assignSlabs(inv, b);
    expect(slab[0]).toBe(0);
    expect(slab[10 * W + 20]).toBe(1);
    const ramp = new Float32Array(W * H);
    for (let i = 0; i < W * H; i++) ramp[i] = 0.2 + (i % W) * 0.01;
    expect(chooseSlabBoundaries(ramp, detectTears(ramp, W, H, K, 1), 11)).toEqual([]);
  });

  it('a step that opens by less than a visible stretch (4 px) is not worth a layer', () => {
    const W = 20, H = 10, K = 100;
    const inv = new Float32Array(W * H).fill(0.2);
    for (let y = 0; y < H; y++) for (let x = 10; x < W; x++) inv[y * W + x] = 0.2 + 3.5 / K;
    expect(detectTears(inv, W, H, K, 1).count).toBe(H);
    expect(chooseSlabBoundaries(inv, detectTears(inv, W, H, K, 1), 11)).toEqual([]);
  });

  it('reach: a seed with budget b covers chessboard distance b − 1 through passable pixels only', () => {
    const W = 11, H = 11;
    const budget = new Uint16Array(W * H);
    budget[5 * W + 5] = 4;
    const passable = new Uint8Array(W * H).fill(1);
    for (let y = 0; y < H; y++) passable[y * W + 7] = 0; // a wall at x = 7
    const r = reach(budget, passable, W, H);
    for (let y = 0; y < H; y++) {
      for (let x = 0; x < W; x++) {
        const d = Math.max(Math.abs(x - 5), Math.abs(y - 5));
        const expected = x >= 7 ? 0 : d <= 3 ? 4 - d : 0;
        expect(r[y * W + x], `(${x}, ${y})`).toBe(expected);
      }
    }
  });
});

describe('rim margins', () => {
  it('no orbit sees nothing past the border; a yaw sees at least the analytic overshoot of the mid-row', () => {
    const W = 400, H = 300, f = 400, Zp = 2;
    const K = intr(W, H, f);
    expect(rimMargins(K, W, H, Zp, [Zp, 4], 0, 0)).toEqual({ left: 0, right: 0, top: 0, bottom: 0 });
    const m = rimMargins(K, W, H, Zp, [4], 10, 0, 0);
    // Yaw θ about (0, 0, Zp): camera centre C = (−Zp·sinθ, 0, Zp − Zp·cosθ) for a turn to the right (the
    // rotated axis points at the pivot), a frame-edge ray at angle α from the view axis has angle α + θ in
    // the photo camera; on the plane z = Z it lands at x = C.x + (Z − C.z)·tan(α + θ).
    const over = (theta: number, alpha: number, Z: number): number => {
      const Cx = -Zp * Math.sin(theta), Cz = Zp - Zp * Math.cos(theta);
      const x = Cx + (Z - Cz) * Math.tan(alpha + theta);
      return W / 2 + (f * x) / Z;
    };
    const a = Math.atan(W / 2 / f);
    const th = (10 * Math.PI) / 180;
    const worstRight = Math.max(over(th, a, 4), over(-th, a, 4)) - W;
    const worstLeft = -Math.min(over(th, -a, 4), over(-th, -a, 4));
    expect(m.right).toBeGreaterThanOrEqual(Math.floor(worstRight));
    expect(m.left).toBeGreaterThanOrEqual(Math.floor(worstLeft));
    // The corners see a little further than the mid-row, not an order of magnitude.
    expect(m.right).toBeLessThan(1.5 * worstRight + 2);
  });
});

describe('depth-hole completion', () => {
  it('an unknown border is completed, corners included (their rows and columns hold no known value)', () => {
    const W = 12, H = 10;
    const d = new Float32Array(W * H);
    for (let y = 3; y < H - 3; y++) for (let x = 3; x < W - 3; x++) d[y * W + x] = 2;
    const { depth: c, filled } = completeDepthFarSide(d, W, H);
    expect(filled).toBe(W * H - (W - 6) * (H - 6));
    for (const v of c) expect(v).toBe(2);
  });

  it('an occlusion shadow takes the far side, a hole inside a plane is interpolated, a thin bar stays whole', () => {
    const W = 40, H = 40;
    const d = new Float32Array(W * H).fill(4);
    // Near square at 1 m on columns 5–14 with a 4-px shadow (unknown) on its right.
    for (let y = 5; y < 35; y++) {
      for (let x = 5; x < 15; x++) d[y * W + x] = 1;
      for (let x = 15; x < 19; x++) d[y * W + x] = 0;
    }
    // A 2-px bar at 2 m on columns 28–29 crossing a disc-shaped hole of radius 5 centred on it.
    for (let y = 0; y < H; y++) for (const x of [28, 29]) d[y * W + x] = 2;
    for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) if ((x - 28.5) ** 2 + (y - 20) ** 2 <= 25) d[y * W + x] = 0;
    const { depth: c, filled } = completeDepthFarSide(d, W, H);
    expect(filled).toBeGreaterThan(0);
    for (let y = 5; y < 35; y++) for (let x = 15; x < 19; x++) expect(c[y * W + x]).toBe(4);
    for (let y = 15; y <= 25; y++) {
      for (let x = 23; x <= 34; x++) {
        if ((x - 28.5) ** 2 + (y - 20) ** 2 > 25) continue;
        expect(c[y * W + x], `(${x}, ${y})`).toBe(x === 28 || x === 29 ? 2 : 4);
      }
    }
  });
});

/** A textured green/blue background at 4 m with a saturated red square at 1 m whose edge pixels are anti-aliased (half red, half background). */
function redOccluderScene(W: number, H: number): { image: RGBAImage; depth: Float32Array } {
  const data = new Uint8ClampedArray(W * H * 4);
  const depth = new Float32Array(W * H);
  const x0 = W * 0.35, x1 = W * 0.65, y0 = H * 0.3, y1 = H * 0.7;
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) {
      const i = y * W + x;
      const bg = [20, 120 + 80 * Math.sin(x * 0.7) * Math.cos(y * 0.5), 110 + 90 * Math.cos(x * 0.3 + y * 0.9)];
      // Coverage of the pixel by the red square (box filter over the pixel).
      const cx = Math.max(0, Math.min(x + 1, x1) - Math.max(x, x0));
      const cy = Math.max(0, Math.min(y + 1, y1) - Math.max(y, y0));
      const a = cx * cy;
      data[4 * i] = a * 255 + (1 - a) * bg[0]!;
      data[4 * i + 1] = (1 - a) * bg[1]!;
      data[4 * i + 2] = (1 - a) * bg[2]!;
      data[4 * i + 3] = 255;
      depth[i] = a >= 0.5 ? 1 : 4;
    }
  }
  return { image: { width: W, height: H, data }, depth };
}

function layerAt(r: Decomposition, x: number, y: number): number {
  return r.layerOfPixel![y * r.width + x]!;
}

describe('decompose with occlusion layers', () => {
  const W = 96, H = 72;
  const { image, depth } = redOccluderScene(W, H);
  const intrinsics = intr(W, H);
  const run = decompose({ image, depth, intrinsics });

  it('the occluder and the background are separate layers; the original view reproduces the photo', async () => {
    const r = await run;
    expect(r.layers.length).toBe(2);
    expect(layerAt(r, 2, 2)).toBe(0);
    expect(layerAt(r, W >> 1, H >> 1)).toBe(1);
    // Own and seam pixels keep the photo's colour.
    for (const l of r.layers) {
      for (let y = 0; y < l.bbox.height; y++) {
        for (let x = 0; x < l.bbox.width; x++) {
          const j = y * l.bbox.width + x;
          if (l.role[j] !== 1) continue;
          const i = (l.bbox.y + y) * W + l.bbox.x + x;
          for (let c = 0; c < 3; c++) expect(Math.abs(l.rgba.data[4 * j + c]! - image.data[4 * i + c]!)).toBeLessThanOrEqual(0);
        }
      }
    }
  });

  it('far-side fill: no filled pixel of the layer behind is red-dominant', async () => {
    const r = await run;
    const back = r.layers[0]!;
    let filled = 0;
    for (let j = 0; j < back.role.length; j++) {
      if (back.role[j] !== 2) continue;
      filled++;
      const [R, G, B] = [back.rgba.data[4 * j]!, back.rgba.data[4 * j + 1]!, back.rgba.data[4 * j + 2]!];
      expect(R > G && R > B, `filled texel ${j}: ${R},${G},${B}`).toBe(false);
    }
    expect(filled).toBeGreaterThan(0);
  });

  it('every tear is backed: behind the occluder the back layer has fill at least as wide as the orbit opens the tear', async () => {
    const r = await run;
    const back = r.layers[0]!;
    // Parallax of the step at the edge of the orbit range: K·(1/1 − 1/4) with K = f·0.2·median depth (4 m).
    const open = W * 0.2 * 4 * (1 - 1 / 4);
    const w = Math.min(Math.ceil(open), Math.floor(W * 0.15));
    // The back layer fills everything, so in particular a band of that width inside the square's silhouette.
    let checked = 0;
    for (let y = 0; y < H; y++) {
      let run = 0;
      for (let x = 0; x < W; x++) {
        if (depth[y * W + x] !== 1) continue;
        if (run++ >= w) break;
        const j = (y - back.bbox.y) * back.bbox.width + (x - back.bbox.x);
        expect(back.role[j], `(${x}, ${y})`).toBe(2);
        expect(back.depth[j]!).toBeCloseTo(4, 3);
        checked++;
      }
    }
    expect(checked).toBeGreaterThan(100);
  });

  it('the back layer is opaque over the frame and past it by the rim margins of the orbit range', async () => {
    const r = await run;
    const back = r.layers[0]!;
    const rim = rimMargins(intrinsics, W, H, 4, [4]);
    expect(back.bbox.x).toBeLessThanOrEqual(-rim.left);
    expect(back.bbox.y).toBeLessThanOrEqual(-rim.top);
    expect(back.bbox.x + back.bbox.width).toBeGreaterThanOrEqual(W + rim.right);
    expect(back.bbox.y + back.bbox.height).toBeGreaterThanOrEqual(H + rim.bottom);
    expect(rim.left).toBeGreaterThan(0);
    for (let j = 0; j < back.role.length; j++) expect(back.rgba.data[4 * j + 3]).toBe(255);
    // The mesh covers the extended rectangle: its positions reach past the frame's unprojected corners.
    const p = back.mesh.positions;
    let minX = Infinity;
    for (let k = 0; k < p.length; k += 3) minX = Math.min(minX, p[k]! / p[k + 2]!);
    expect(minX * intrinsics.fx + intrinsics.cx).toBeLessThan(-rim.left + 1);
  });

  it('a continuous slope is one welded layer', async () => {
    const d = new Float32Array(W * H);
    for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) d[y * W + x] = 1 / (0.2 + 0.01 * y); // a floor
    const r = await decompose({ image, depth: d, intrinsics });
    expect(r.layers.length).toBe(1);
    expect(r.stats.tearEdges).toBe(0);
  });
});
