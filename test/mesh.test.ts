import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DioramaError } from '../src/core/errors';
import type { Intrinsics } from '../src/core/types';
import { buildLayerMesh, buildLayerMeshDetailed, MESH_DEFAULTS, type LayerMeshResult, type MeshCrop, type MeshOptions } from '../src/math/mesh';
import { mulberry32 as rng } from './fixtures/rng';

/*
 * Conventions checked here (src/core/types.ts): vertex pixels are integer pixel corners of the crop; a
 * camera-space point projects to u = fx·X/Z + cx, v = −fy·Y/Z + cy; triangles are counter-clockwise seen
 * from the camera in the x-right/y-up frame. Since x/z = (u−cx)/fx and y/z = −(v−cy)/fy with fx, fy > 0,
 * that orientation is the sign of the shoelace area in (u, −v): positive, i.e. the shoelace area in
 * image coordinates (u, v) with y down is NEGATIVE ("clockwise" in the y-down algebraic sense). We test
 * it on the exact integer (u, v) of `mesh.pixels` (camera-space areas of 1-px triangles are ~1e-7 and
 * too close to float32 noise to be a reliable check).
 */

function makeCrop(w: number, h: number, bx: number, by: number, depth: (x: number, y: number) => number, alpha: (x: number, y: number) => number): MeshCrop {
  const d = new Float32Array(w * h);
  const a = new Uint8Array(w * h);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      d[y * w + x] = depth(x, y);
      a[y * w + x] = alpha(x, y);
    }
  }
  return { bbox: { x: bx, y: by, width: w, height: h }, width: w, height: h, depth: d, alpha: a };
}

const isContent = (c: MeshCrop, x: number, y: number): boolean => {
  if (x < 0 || y < 0 || x >= c.width || y >= c.height) return false;
  const z = c.depth[y * c.width + x];
  return c.alpha[y * c.width + x] > 0 && z > 0 && z < Infinity;
};
const zAt = (c: MeshCrop, x: number, y: number): number => c.depth[y * c.width + x];
const ratio = (a: number, b: number): number => Math.max(a, b) / Math.min(a, b);

interface CheckOptions {
  J: number;
  maxV: number;
}

/** Every invariant the mesher promises; returns a few counts for further assertions. */
function checkMesh(crop: MeshCrop, K: Intrinsics, res: LayerMeshResult, { J, maxV }: CheckOptions): { nV: number; nT: number; uncovered: number } {
  const { mesh, gridStep } = res;
  const W = crop.width;
  const H = crop.height;
  const { bbox } = crop;
  expect(mesh.indices).toBeInstanceOf(Uint32Array);
  const nV = mesh.positions.length / 3;
  expect(Number.isInteger(nV)).toBe(true);
  expect(mesh.uvs.length).toBe(2 * nV);
  expect(mesh.pixels.length).toBe(2 * nV);
  expect(mesh.indices.length % 3).toBe(0);
  const nT = mesh.indices.length / 3;
  // Budget.
  expect(nV).toBeLessThanOrEqual(maxV);

  // Vertices: recorded pixel is a corner of the crop grid; reprojection; UV.
  const lx = new Int32Array(nV);
  const ly = new Int32Array(nV);
  for (let v = 0; v < nV; v++) {
    const u = mesh.pixels[2 * v];
    const vv = mesh.pixels[2 * v + 1];
    const px = u - bbox.x;
    const py = vv - bbox.y;
    expect(Number.isInteger(px) && Number.isInteger(py)).toBe(true);
    expect(px >= 0 && px <= W && py >= 0 && py <= H).toBe(true);
    expect(px % gridStep === 0 || px === W).toBe(true);
    expect(py % gridStep === 0 || py === H).toBe(true);
    lx[v] = px;
    ly[v] = py;
    const X = mesh.positions[3 * v];
    const Y = mesh.positions[3 * v + 1];
    const Z = mesh.positions[3 * v + 2];
    expect(Z > 0 && Number.isFinite(Z)).toBe(true);
    // X = f32((u−cx)·Z/fx), Z = f32(Z): X/Z has relative error ≤ 2·2^-24, so the reprojected u is off by
    // ≤ 2^-23·|u − cx|; 2^-22 leaves room for the double arithmetic here. (The brief's bound is 0.5 px.)
    const ru = (K.fx * X) / Z + K.cx;
    const rv = (-K.fy * Y) / Z + K.cy;
    expect(Math.abs(ru - u)).toBeLessThanOrEqual(2 ** -22 * Math.abs(u - K.cx) + 1e-9);
    expect(Math.abs(rv - vv)).toBeLessThanOrEqual(2 ** -22 * Math.abs(vv - K.cy) + 1e-9);
    // uv = f32(px / W): relative error ≤ 2^-24.
    expect(Math.abs(mesh.uvs[2 * v] * W - px)).toBeLessThanOrEqual(2 ** -23 * W);
    expect(Math.abs(mesh.uvs[2 * v + 1] * H - py)).toBeLessThanOrEqual(2 ** -23 * H);
  }

  // Triangles: indices, orientation (non-degenerate), jump ratio, edge use.
  const used = new Uint8Array(nV);
  const dirEdges = new Map<number, number>(); // a·nV + b → count (directed)
  const I = mesh.indices;
  // Stored depths are float32 of the double depths the mesher compared: ratio inflated by ≤ (1+2^-24)/(1−2^-24).
  const Jf = J * (1 + 2.5e-7);
  for (let t = 0; t < nT; t++) {
    const a = I[3 * t];
    const b = I[3 * t + 1];
    const c = I[3 * t + 2];
    expect(a < nV && b < nV && c < nV).toBe(true);
    used[a] = used[b] = used[c] = 1;
    const area2 = (lx[b] - lx[a]) * (ly[c] - ly[a]) - (ly[b] - ly[a]) * (lx[c] - lx[a]);
    expect(area2).toBeLessThan(0);
    const za = mesh.positions[3 * a + 2];
    const zb = mesh.positions[3 * b + 2];
    const zc = mesh.positions[3 * c + 2];
    expect(Math.max(za, zb, zc)).toBeLessThanOrEqual(Jf * Math.min(za, zb, zc));
    for (const [p, q] of [
      [a, b],
      [b, c],
      [c, a],
    ]) {
      const k = p * nV + q;
      dirEdges.set(k, (dirEdges.get(k) ?? 0) + 1);
    }
  }
  for (let v = 0; v < nV; v++) expect(used[v]).toBe(1); // no orphan vertices

  // Index-space edges: each directed edge once; an undirected edge used twice is used once each way
  // (consistent winding). Edges used once are mesh boundary: either outer boundary in image space, or a
  // tear at a depth jump, checked below.
  const cornerKey = (x: number, y: number): number => y * (W + 1) + x;
  const segKey = (p: number, q: number): string => {
    const kp = cornerKey(lx[p], ly[p]);
    const kq = cornerKey(lx[q], ly[q]);
    return kp < kq ? `${kp},${kq}` : `${kq},${kp}`;
  };
  const segUse = new Map<string, [number, number][]>(); // image segment → [from, to] index pairs
  for (const [k, n] of dirEdges) {
    expect(n).toBe(1);
    const p = Math.floor(k / nV);
    const q = k % nV;
    const key = segKey(p, q);
    const list = segUse.get(key) ?? [];
    list.push([p, q]);
    segUse.set(key, list);
  }
  for (const list of segUse.values()) {
    // At most two triangles on an image segment (one per side).
    expect(list.length).toBeLessThanOrEqual(2);
    if (list.length !== 2) continue;
    const [[p1, q1], [p2, q2]] = list;
    if (p1 === q2 && q1 === p2) continue; // shared edge, opposite directions
    // Same image segment, different vertices: a tear. Opposite directions in image space (the two
    // triangles lie on both sides), and at each endpoint whose vertices differ, the two pixels straddling
    // the segment there are not linked (depth ratio > J).
    expect(lx[p1] === lx[q2] && ly[p1] === ly[q2]).toBe(true);
    expect(lx[p1] === lx[q1] || ly[p1] === ly[q1]).toBe(true); // tears follow pixel edges
    if (gridStep !== 1) continue;
    for (const [e1, e2, other] of [
      [p1, q2, q1],
      [q1, p2, p1],
    ]) {
      if (e1 === e2) continue;
      const x = lx[e1];
      const y = ly[e1];
      const ox = lx[other];
      const oy = ly[other];
      let pa: [number, number];
      let pb: [number, number];
      if (oy === y) {
        const col = ox > x ? x : x - 1;
        pa = [col, y - 1];
        pb = [col, y];
      } else {
        const row = oy > y ? y : y - 1;
        pa = [x - 1, row];
        pb = [x, row];
      }
      expect(isContent(crop, ...pa) && isContent(crop, ...pb)).toBe(true);
      expect(ratio(zAt(crop, ...pa), zAt(crop, ...pb))).toBeGreaterThan(J * (1 - 1e-6));
    }
  }

  // T-junctions: no vertex lies strictly inside a triangle edge (in image space). Vertex pixels are
  // integers, so the candidates are the lattice points on the open segment.
  const vset = new Set<number>();
  for (let v = 0; v < nV; v++) vset.add(cornerKey(lx[v], ly[v]));
  const gcd = (a: number, b: number): number => (b === 0 ? a : gcd(b, a % b));
  for (const k of dirEdges.keys()) {
    const p = Math.floor(k / nV);
    const q = k % nV;
    const dx = lx[q] - lx[p];
    const dy = ly[q] - ly[p];
    const g = gcd(Math.abs(dx), Math.abs(dy));
    for (let s = 1; s < g; s++) expect(vset.has(cornerKey(lx[p] + (s * dx) / g, ly[p] + (s * dy) / g))).toBe(false);
  }

  // Coverage from the original camera, on the exact integer corners: inclusive point-in-triangle at texel
  // centres, strict at an off-lattice sample (x + 0.25, y + 0.625), which lies on no edge (edges are
  // axis-aligned or diagonal through integer points), so it counts overlaps.
  let uncovered = 0;
  if (gridStep === 1) {
    const covered = new Uint8Array(W * H);
    const sampled = new Uint8Array(W * H);
    for (let t = 0; t < nT; t++) {
      const v0 = I[3 * t];
      const v1 = I[3 * t + 1];
      const v2 = I[3 * t + 2];
      const xs = [lx[v0], lx[v1], lx[v2]];
      const ys = [ly[v0], ly[v1], ly[v2]];
      const edge = (i: number, px: number, py: number): number => {
        const j = (i + 1) % 3;
        return (xs[j] - xs[i]) * (py - ys[i]) - (ys[j] - ys[i]) * (px - xs[i]);
      };
      let content = 0;
      let zlo = Infinity;
      let zhi = 0;
      for (let y = Math.min(...ys); y < Math.max(...ys); y++) {
        for (let x = Math.min(...xs); x < Math.max(...xs); x++) {
          const cx = x + 0.5;
          const cy = y + 0.5;
          if (edge(0, cx, cy) <= 0 && edge(1, cx, cy) <= 0 && edge(2, cx, cy) <= 0) {
            covered[y * W + x] = 1;
            if (isContent(crop, x, y)) {
              content++;
              zlo = Math.min(zlo, zAt(crop, x, y));
              zhi = Math.max(zhi, zAt(crop, x, y));
            }
          }
          const sx = x + 0.25;
          const sy = y + 0.625;
          if (edge(0, sx, sy) < 0 && edge(1, sx, sy) < 0 && edge(2, sx, sy) < 0) sampled[y * W + x]++;
        }
      }
      // No triangle covers only transparent texels, nor texels on two sides of a depth jump (no rubber
      // sheet under a coarse triangle either).
      expect(content).toBeGreaterThan(0);
      expect(zhi).toBeLessThanOrEqual(J * zlo);
    }
    const sqrtJ = Math.sqrt(J) * (1 - 1e-6);
    for (let y = 0; y < H; y++) {
      for (let x = 0; x < W; x++) {
        expect(sampled[y * W + x]).toBeLessThanOrEqual(1); // no overlap
        if (!isContent(crop, x, y)) {
          expect(covered[y * W + x]).toBe(0);
          expect(sampled[y * W + x]).toBe(0);
          continue;
        }
        if (covered[y * W + x]) continue;
        // A content texel may be left uncovered only when both triangles of its 1-px quad were dropped.
        // Its corners' depths are averages of content pixels among its 8 neighbours (and itself) linked to
        // it; if all those were within ratio r of it, every corner would be within r and the quad's ratio
        // ≤ r², so a drop (ratio > J) needs a content 8-neighbour with ratio > √J.
        uncovered++;
        let jump = false;
        for (let dy = -1; dy <= 1; dy++) {
          for (let dx = -1; dx <= 1; dx++) {
            if (isContent(crop, x + dx, y + dy) && ratio(zAt(crop, x, y), zAt(crop, x + dx, y + dy)) > sqrtJ) jump = true;
          }
        }
        expect(jump).toBe(true);
      }
    }
  }
  return { nV, nT, uncovered };
}

const K0: Intrinsics = { fx: 1500, fy: 1500, cx: 960, cy: 540 };

describe('buildLayerMesh: geometry', () => {
  it('meshes a flat fronto-parallel layer with 64-px cells only (63 vertices instead of 197 505)', () => {
    const crop = makeCrop(512, 384, 100, 50, () => 3, () => 255);
    const res = buildLayerMeshDetailed(crop, K0);
    const { nV, nT } = checkMesh(crop, K0, res, { J: MESH_DEFAULTS.jumpRatio, maxV: MESH_DEFAULTS.maxVertices });
    // A plane at constant depth: zero bilinear error, zero texture swim → every 64-px root is a leaf.
    expect(nV).toBe((512 / 64 + 1) * (384 / 64 + 1));
    expect(nT).toBe(2 * (512 / 64) * (384 / 64));
    expect(res.toleranceScale).toBe(1);
    expect(res.gridStep).toBe(1);
  });

  it('puts 1-px cells along a sharp silhouette and stays coarse inside', () => {
    const R = 40;
    const crop = makeCrop(128, 128, 700, 300, () => 2, (x, y) => ((x + 0.5 - 64) ** 2 + (y + 0.5 - 64) ** 2 <= R * R ? 255 : 0));
    const res = buildLayerMeshDetailed(crop, K0);
    const { nV, uncovered } = checkMesh(crop, K0, res, { J: 1.05, maxV: MESH_DEFAULTS.maxVertices });
    expect(uncovered).toBe(0);
    const corners = new Set<string>();
    for (let v = 0; v < nV; v++) corners.add(`${res.mesh.pixels[2 * v] - 700},${res.mesh.pixels[2 * v + 1] - 300}`);
    let boundary = 0;
    for (let y = 0; y < 128; y++) {
      for (let x = 0; x < 128; x++) {
        if (!isContent(crop, x, y)) continue;
        if (isContent(crop, x - 1, y) && isContent(crop, x + 1, y) && isContent(crop, x, y - 1) && isContent(crop, x, y + 1)) continue;
        // A silhouette pixel is a 1-px cell (all four of its corners are vertices) when its aligned 2×2
        // block mixes content and transparency; otherwise the silhouette runs along a cell edge.
        const x0 = x & ~1;
        const y0 = y & ~1;
        const mixed = !(isContent(crop, x0, y0) && isContent(crop, x0 + 1, y0) && isContent(crop, x0, y0 + 1) && isContent(crop, x0 + 1, y0 + 1));
        if (!mixed) continue;
        boundary++;
        for (const [cx, cy] of [
          [x, y],
          [x + 1, y],
          [x, y + 1],
          [x + 1, y + 1],
        ]) {
          expect(corners.has(`${cx},${cy}`)).toBe(true);
        }
      }
    }
    expect(boundary).toBeGreaterThan(100);
    // Silhouette ring + balancing, far below the 129² corners of full density.
    expect(nV).toBeLessThan(0.25 * 129 * 129);
  });

  it('tears a depth step into two sheets: duplicated seam vertices, no spanning triangle, full coverage', () => {
    // Left half at 2 m, right half at 3 m: ratio 1.5 > J at the seam x = 32.
    const crop = makeCrop(64, 64, 0, 0, (x) => (x < 32 ? 2 : 3), () => 255);
    const res = buildLayerMeshDetailed(crop, K0);
    const { nV, uncovered } = checkMesh(crop, K0, res, { J: 1.05, maxV: MESH_DEFAULTS.maxVertices });
    // Corners on the seam are clustered per side, so every quad is flat and kept.
    expect(uncovered).toBe(0);
    const seam = [];
    for (let v = 0; v < nV; v++) if (res.mesh.pixels[2 * v] === 32) seam.push(res.mesh.positions[3 * v + 2]);
    const near = seam.filter((z) => Math.abs(z - 2) < 1e-6).length;
    const far = seam.filter((z) => Math.abs(z - 3) < 1e-6).length;
    expect(near).toBe(far);
    expect(near + far).toBe(seam.length);
    expect(near).toBeGreaterThanOrEqual(2);
  });

  it('never tears with jumpRatio = Infinity (closed backdrop): shared vertices across the step', () => {
    const crop = makeCrop(32, 16, 5, 5, (x) => (x < 16 ? 2 : 30), () => 255);
    const res = buildLayerMeshDetailed(crop, K0, { jumpRatio: Infinity });
    const { nV, uncovered } = checkMesh(crop, K0, res, { J: Infinity, maxV: MESH_DEFAULTS.maxVertices });
    expect(uncovered).toBe(0);
    const seen = new Set<string>();
    for (let v = 0; v < nV; v++) {
      const key = `${res.mesh.pixels[2 * v]},${res.mesh.pixels[2 * v + 1]}`;
      expect(seen.has(key)).toBe(false); // one vertex per corner: no tear anywhere
      seen.add(key);
    }
  });

  it('places interior vertices exactly on a slanted plane (inverse depth affine in u, v)', () => {
    // 1/Z = a + b·u + c·v over full-image coordinates, sampled at pixel centres.
    const bx = 400;
    const by = 200;
    const a = 0.3;
    const b = 2e-5;
    const c = -4e-5;
    const crop = makeCrop(96, 80, bx, by, (x, y) => 1 / (a + b * (bx + x + 0.5) + c * (by + y + 0.5)), () => 255);
    const res = buildLayerMeshDetailed(crop, K0);
    const { nV } = checkMesh(crop, K0, res, { J: 1.05, maxV: MESH_DEFAULTS.maxVertices });
    let interior = 0;
    for (let v = 0; v < nV; v++) {
      const u = res.mesh.pixels[2 * v];
      const vv = res.mesh.pixels[2 * v + 1];
      if (u === bx || u === bx + 96 || vv === by || vv === by + 80) continue; // border corners: 1–2 pixels only
      interior++;
      const want = a + b * u + c * vv;
      const got = 1 / res.mesh.positions[3 * v + 2];
      // Mean of four float32 inverse depths, then float32 Z: a few 2^-24 relative errors.
      expect(Math.abs(got - want) / want).toBeLessThan(1e-6);
    }
    expect(interior).toBeGreaterThan(0);
  });

  it('refines where depth curves: a dome needs more vertices than a plane, far fewer than full density', () => {
    const dome = makeCrop(256, 256, 0, 0, (x, y) => 2 - 0.4 * Math.exp(-((x - 128) ** 2 + (y - 128) ** 2) / (2 * 40 ** 2)), () => 255);
    const flat = makeCrop(256, 256, 0, 0, () => 2, () => 255);
    const rd = buildLayerMeshDetailed(dome, K0);
    const rf = buildLayerMeshDetailed(flat, K0);
    const d = checkMesh(dome, K0, rd, { J: 1.05, maxV: MESH_DEFAULTS.maxVertices });
    const f = checkMesh(flat, K0, rf, { J: 1.05, maxV: MESH_DEFAULTS.maxVertices });
    expect(d.nV).toBeGreaterThan(4 * f.nV);
    expect(d.nV).toBeLessThan(0.5 * 257 * 257);
  });

  it('ignores zero-mean per-pixel noise (block-mean error) but still refines a noisy dome', () => {
    // ±0.5 % i.i.d. uniform relative noise (σ = 0.5 %/√3 ≈ 0.29 %) with depthTolerance 0.005, as in the
    // pipeline. A per-pixel maximum would fire everywhere (noise peaks ≈ the tolerance, plus corner noise).
    // The error is a mean over ≥ 16 pixels (4-px cells and larger) against corners that average 4 pixels:
    // σ ≈ 0.29 %/4 for the block, ≲ 0.29 %/2·(10/16) for the interpolated corners, ≈ 0.12 % together, so
    // 0.5 % is > 4σ and the noisy plane stays (almost) as coarse as the clean one (25 vertices).
    const noise = rng(7);
    const n1 = new Float32Array(256 * 256).map(() => 1 + 0.01 * (noise() - 0.5));
    const tol = { depthTolerance: 0.005 };
    const flat = makeCrop(256, 256, 0, 0, (x, y) => 2 * n1[y * 256 + x], () => 255);
    const dome = makeCrop(256, 256, 0, 0, (x, y) => (2 - 0.4 * Math.exp(-((x - 128) ** 2 + (y - 128) ** 2) / (2 * 40 ** 2))) * n1[y * 256 + x], () => 255);
    const rf = buildLayerMeshDetailed(flat, K0, tol);
    const rd = buildLayerMeshDetailed(dome, K0, tol);
    const f = checkMesh(flat, K0, rf, { J: 1.05, maxV: MESH_DEFAULTS.maxVertices });
    const d = checkMesh(dome, K0, rd, { J: 1.05, maxV: MESH_DEFAULTS.maxVertices });
    expect(rf.toleranceScale).toBe(1);
    expect(f.nV).toBeLessThan(0.02 * 257 * 257);
    expect(d.nV).toBeGreaterThan(4 * f.nV);
    expect(d.nV).toBeLessThan(0.5 * 257 * 257);
  });

  it('keeps small homogeneous cells whole: a flat 6×6 crop is one 4-px fan cell and five 2-px cells', () => {
    // Roots of 8 px stick out of the crop → split; the 4-px cell at (0, 0) is inside and flat → leaf, fanned
    // towards its finer right and bottom neighbours (mid-edge vertices (4, 2), (2, 4) + centre (2, 2));
    // the rest are 2-px leaves. Vertices: (0,0), (2,2) and the 12 corners of the 2-px cells.
    const crop = makeCrop(6, 6, 10, 20, () => 4, () => 255);
    const res = buildLayerMeshDetailed(crop, K0);
    const { nV, nT } = checkMesh(crop, K0, res, { J: 1.05, maxV: MESH_DEFAULTS.maxVertices });
    expect(nV).toBe(14);
    expect(nT).toBe(6 + 5 * 2);
  });

  it('full density when maxCellSize = 1: one vertex per corner, two triangles per pixel', () => {
    const crop = makeCrop(7, 5, 3, 4, (x, y) => 1 + 0.01 * x + 0.02 * y, () => 200);
    const res = buildLayerMeshDetailed(crop, K0, { maxCellSize: 1 });
    const { nV, nT } = checkMesh(crop, K0, res, { J: 1.05, maxV: MESH_DEFAULTS.maxVertices });
    expect(nV).toBe(8 * 6);
    expect(nT).toBe(2 * 7 * 5);
  });
});

/** Standard normal samples (Box–Muller on a seeded uniform generator). */
function gaussian(seed: number): () => number {
  const u = rng(seed);
  return () => Math.sqrt(-2 * Math.log(1 - u())) * Math.cos(2 * Math.PI * u());
}

describe('buildLayerMesh: noise floor (noiseFactor)', () => {
  // A slanted plane: inverse depth affine in (x, y), so every second difference of block means is noise.
  const plane = (x: number, y: number): number => 1 / (0.4 + 0.0004 * x + 0.0002 * y);
  // jumpRatio 1.5: 1–4 % noise never tears (a neighbour ratio of 1.5 is > 8σ away), so the grid stays at 1 px
  // (a torn grid can exceed the budget and be coarsened, and a coarse grid's blocks hold nearest depths).
  const J = 1.5;
  const noisyPlane = (size: number, sigma: number, seed: number): MeshCrop => {
    const g = gaussian(seed);
    return makeCrop(size, size, 100, 50, (x, y) => plane(x, y) * (1 + sigma * g()), () => 255);
  };

  it('estimates the noise of 4×4-block means: σ_px/4 for i.i.d. relative noise, within 10 %', () => {
    // 128 × 128 blocks, 2 · 128 · 42 = 10 752 disjoint runs of three: the median's relative standard error
    // is ≈ 1.17/√10 752 ≈ 1.1 %, the histogram reads it within half a bin (≤ 3.1 %); 10 % is > 6 s.e. beyond.
    for (const [sigma, seed] of [[0.01, 1], [0.02, 2], [0.04, 3]] as const) {
      const res = buildLayerMeshDetailed(noisyPlane(512, sigma, seed), K0, { depthTolerance: 0.005, noiseFactor: 3, jumpRatio: J });
      expect(res.gridStep).toBe(1);
      expect(Math.abs(res.blockNoise / (sigma / 4) - 1)).toBeLessThan(0.1);
      expect(res.depthTolerance).toBe(Math.min(0.02, Math.max(0.005, 3 * res.blockNoise)));
    }
  });

  it('leaves noise-free depth alone: same tolerance and the identical mesh as without it', () => {
    const dome = makeCrop(256, 256, 0, 0, (x, y) => 2 - 0.4 * Math.exp(-((x - 128) ** 2 + (y - 128) ** 2) / (2 * 40 ** 2)), () => 255);
    const off = buildLayerMeshDetailed(dome, K0, { depthTolerance: 0.005, jumpRatio: J });
    const on = buildLayerMeshDetailed(dome, K0, { depthTolerance: 0.005, noiseFactor: 3, jumpRatio: J });
    expect(on.blockNoise).toBeGreaterThan(0);
    expect(3 * on.blockNoise).toBeLessThan(0.005);
    expect(on.depthTolerance).toBe(0.005);
    expect(off.blockNoise).toBe(0);
    expect(on.mesh.positions).toEqual(off.mesh.positions);
    expect(on.mesh.indices).toEqual(off.mesh.indices);
  });

  it('stops refining on noise: a 2 % noisy plane gets a 3σ̂ tolerance and fewer vertices, invariants intact', () => {
    const crop = noisyPlane(128, 0.02, 4);
    const off = buildLayerMeshDetailed(crop, K0, { depthTolerance: 0.005, jumpRatio: J });
    const on = buildLayerMeshDetailed(crop, K0, { depthTolerance: 0.005, noiseFactor: 3, jumpRatio: J });
    expect(on.depthTolerance).toBeGreaterThan(0.01); // 3 · 0.5 % (block noise of 2 %/4), within the estimate's 10 %
    const a = checkMesh(crop, K0, off, { J, maxV: MESH_DEFAULTS.maxVertices });
    const b = checkMesh(crop, K0, on, { J, maxV: MESH_DEFAULTS.maxVertices });
    expect(b.nV).toBeLessThan(0.5 * a.nV);
  });

  it('caps the raise at 4× and ignores crops too small to tell noise from shape', () => {
    const loud = buildLayerMeshDetailed(noisyPlane(256, 0.2, 5), K0, { depthTolerance: 0.005, noiseFactor: 3, jumpRatio: J });
    expect(3 * loud.blockNoise).toBeGreaterThan(0.02);
    expect(loud.depthTolerance).toBe(0.02);
    // 40 × 40 px: 10 × 10 blocks, 2 · 10 · 3 = 60 disjoint runs of three < 128.
    const small = buildLayerMeshDetailed(noisyPlane(40, 0.05, 6), K0, { depthTolerance: 0.005, noiseFactor: 3, jumpRatio: J });
    expect(small.blockNoise).toBe(0);
    expect(small.depthTolerance).toBe(0.005);
  });
});

describe('buildLayerMesh: budget', () => {
  it('relaxes tolerances to fit a small budget', () => {
    // Smooth but bumpy depth (no jumps): only optional splits.
    const crop = makeCrop(128, 128, 0, 0, (x, y) => 2 + 0.05 * Math.sin(x / 3) * Math.cos(y / 4), () => 255);
    const full = buildLayerMeshDetailed(crop, K0);
    const res = buildLayerMeshDetailed(crop, K0, { maxVertices: 300 });
    expect(full.mesh.positions.length / 3).toBeGreaterThan(300);
    checkMesh(crop, K0, res, { J: 1.05, maxV: 300 });
    expect(res.toleranceScale).toBeGreaterThan(1);
    expect(res.gridStep).toBe(1);
  });

  it('never relaxes a jump: under budget pressure a nearer island still gets its own cells', () => {
    // Smooth bumps (optional splits) plus a 3×3 island 30 % nearer inside a flat area.
    const crop = makeCrop(64, 64, 0, 0, (x, y) => (x >= 40 && x < 43 && y >= 20 && y < 23 ? 1.4 : 2 + 0.05 * Math.sin(x / 2) * Math.cos(y / 3)), () => 255);
    const res = buildLayerMeshDetailed(crop, K0, { maxVertices: 120 });
    checkMesh(crop, K0, res, { J: 1.05, maxV: 120 });
    expect(res.toleranceScale).toBeGreaterThan(1);
  });

  it('coarsens the grid when even the mandatory splits exceed the budget', () => {
    const crop = makeCrop(32, 32, 10, 10, () => 2, (x, y) => ((x + y) % 2 === 0 ? 255 : 0));
    const res = buildLayerMeshDetailed(crop, K0, { maxVertices: 64 });
    checkMesh(crop, K0, res, { J: 1.05, maxV: 64 });
    expect(res.gridStep).toBeGreaterThan(1);
    expect(res.mesh.indices.length).toBeGreaterThan(0);
  });

  it('fits the minimum budget of 4 vertices', () => {
    const crop = makeCrop(33, 17, 0, 0, (x, y) => 1 + ((x * 7 + y * 13) % 5), (x, y) => ((x * y) % 3 === 0 ? 255 : 0));
    const res = buildLayerMeshDetailed(crop, K0, { maxVertices: 4 });
    checkMesh(crop, K0, res, { J: 1.05, maxV: 4 });
    expect(res.mesh.indices.length).toBeGreaterThan(0);
  });
});

describe('buildLayerMesh: input handling', () => {
  const ok = (): MeshCrop => makeCrop(4, 3, 0, 0, () => 1, () => 255);
  const code = (f: () => unknown): string | undefined => {
    try {
      f();
    } catch (e) {
      expect(e).toBeInstanceOf(DioramaError);
      return (e as DioramaError).code;
    }
    return undefined;
  };

  it('returns an empty mesh for an empty crop', () => {
    for (const crop of [
      makeCrop(5, 4, 0, 0, () => 1, () => 0),
      makeCrop(5, 4, 0, 0, () => 0, () => 255), // alpha but no depth
      makeCrop(0, 0, 0, 0, () => 1, () => 255),
    ]) {
      const m = buildLayerMesh(crop, K0);
      expect([m.positions.length, m.uvs.length, m.indices.length, m.pixels.length]).toEqual([0, 0, 0, 0]);
      expect(m.indices).toBeInstanceOf(Uint32Array);
    }
  });

  it('rejects mismatched sizes with SIZE_MISMATCH', () => {
    expect(code(() => buildLayerMesh({ ...ok(), depth: new Float32Array(11) }, K0))).toBe('SIZE_MISMATCH');
    expect(code(() => buildLayerMesh({ ...ok(), alpha: new Uint8Array(13) }, K0))).toBe('SIZE_MISMATCH');
    expect(code(() => buildLayerMesh({ ...ok(), bbox: { x: 0, y: 0, width: 3, height: 4 } }, K0))).toBe('SIZE_MISMATCH');
  });

  it('rejects non-finite or non-positive intrinsics with INVALID_INTRINSICS', () => {
    for (const K of [
      { ...K0, fx: Number.NaN },
      { ...K0, cy: Number.POSITIVE_INFINITY },
      { ...K0, fy: 0 },
    ]) {
      expect(code(() => buildLayerMesh(ok(), K))).toBe('INVALID_INTRINSICS');
    }
  });

  it('rejects bad options with INVALID_OPTION', () => {
    for (const o of [{ jumpRatio: 1 }, { jumpRatio: Number.NaN }, { maxVertices: 3 }, { maxVertices: 10.5 }, { maxCellSize: 48 }, { depthTolerance: 0 }, { noiseFactor: -1 }, { noiseFactor: Number.NaN }, { noiseFactor: Infinity }] as MeshOptions[]) {
      expect(code(() => buildLayerMesh(ok(), K0, o))).toBe('INVALID_OPTION');
    }
  });

  it('honours an aborted signal', () => {
    const ac = new AbortController();
    ac.abort();
    expect(code(() => buildLayerMesh(ok(), K0, { signal: ac.signal }))).toBe('ABORTED');
  });
});

const sceneArb = fc.record({
  w: fc.integer({ min: 1, max: 28 }),
  h: fc.integer({ min: 1, max: 28 }),
  bx: fc.integer({ min: 0, max: 3000 }),
  by: fc.integer({ min: 0, max: 3000 }),
  f: fc.double({ min: 100, max: 4000, noNaN: true }),
  aspect: fc.double({ min: 0.8, max: 1.25, noNaN: true }),
  cx: fc.double({ min: -500, max: 3500, noNaN: true }),
  cy: fc.double({ min: -500, max: 3500, noNaN: true }),
  alphaKind: fc.constantFrom('full', 'rects', 'noise', 'disc'),
  depthKind: fc.constantFrom('const', 'plane', 'bumps', 'steps', 'noise', 'holes'),
  seed: fc.integer(),
  J: fc.constantFrom(1.01, 1.05, 1.2, 2),
  maxCellSize: fc.constantFrom(1, 2, 4, 8, 16, 64),
  maxVertices: fc.option(fc.integer({ min: 4, max: 400 }), { nil: undefined }),
  depthTolerance: fc.constantFrom(1e-4, 0.002, 0.05),
});

type Scene = typeof sceneArb extends fc.Arbitrary<infer T> ? T : never;

function sceneCrop(s: Scene): MeshCrop {
  const r = rng(s.seed);
  const { w, h } = s;
  const rects = Array.from({ length: 3 }, () => [r() * w, r() * h, r() * w, r() * h]);
  const disc = [r() * w, r() * h, 2 + r() * Math.max(w, h) * 0.6];
  const alpha = (x: number, y: number): number => {
    switch (s.alphaKind) {
      case 'full':
        return 255;
      case 'rects':
        return rects.some(([x0, y0, x1, y1]) => x >= Math.min(x0, x1) && x <= Math.max(x0, x1) && y >= Math.min(y0, y1) && y <= Math.max(y0, y1)) ? 255 : 0;
      case 'noise':
        return r() < 0.6 ? 1 + Math.floor(r() * 255) : 0;
      default:
        return (x - disc[0]) ** 2 + (y - disc[1]) ** 2 <= disc[2] ** 2 ? 255 : 0;
    }
  };
  const base = 0.5 + r() * 20;
  const gx = (r() - 0.5) * 0.02;
  const gy = (r() - 0.5) * 0.02;
  const line = [r() * w, r() * h, r() - 0.5, r() - 0.5];
  const stepFactor = 1 + r();
  const depth = (x: number, y: number): number => {
    const plane = base / Math.max(0.2, 1 + gx * x + gy * y); // inverse depth affine in (x, y)
    switch (s.depthKind) {
      case 'const':
        return base;
      case 'plane':
        return plane;
      case 'bumps':
        return plane * (1 + 0.03 * Math.sin(x * 0.7) * Math.cos(y * 0.5));
      case 'steps':
        return plane * ((x - line[0]) * line[2] + (y - line[1]) * line[3] > 0 ? stepFactor : 1) * (((x >> 3) + (y >> 3)) % 3 === 0 ? 1.3 : 1);
      case 'noise':
        return base * (1 + 0.08 * (r() - 0.5));
      default:
        return r() < 0.15 ? [0, Number.NaN, -1, Number.POSITIVE_INFINITY][Math.floor(r() * 4)] : plane;
    }
  };
  return makeCrop(w, h, s.bx, s.by, depth, alpha);
}

describe('buildLayerMesh: properties', () => {
  it('keeps every invariant on random crops (coverage, jumps, winding, cracks, T-junctions, budget)', () => {
    fc.assert(
      fc.property(sceneArb, (s) => {
        const crop = sceneCrop(s);
        const K: Intrinsics = { fx: s.f, fy: s.f * s.aspect, cx: s.cx, cy: s.cy };
        const opts: MeshOptions = { jumpRatio: s.J, maxCellSize: s.maxCellSize, maxVertices: s.maxVertices, depthTolerance: s.depthTolerance };
        const res = buildLayerMeshDetailed(crop, K, opts);
        let anyContent = false;
        for (let y = 0; y < s.h; y++) for (let x = 0; x < s.w; x++) anyContent ||= isContent(crop, x, y);
        if (!anyContent) expect(res.mesh.positions.length).toBe(0);
        checkMesh(crop, K, res, { J: s.J, maxV: s.maxVertices ?? MESH_DEFAULTS.maxVertices });
      }),
      {
        numRuns: 400,
        examples: [
          // Regression: a 2-px cell exposed by a forced (balancing) split, whose corner ratio exceeds J.
          [{ w: 27, h: 23, bx: 0, by: 0, f: 100, aspect: 0.8, cx: 0, cy: 0, alphaKind: 'rects', depthKind: 'steps', seed: -1329365060, J: 2, maxCellSize: 64, maxVertices: 211, depthTolerance: 0.0001 }],
          ...(process.env.MESH_EXAMPLE ? [[JSON.parse(process.env.MESH_EXAMPLE) as Scene] as [Scene]] : []),
        ],
      },
    );
  });
});
