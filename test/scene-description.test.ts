/**
 * The engine-neutral scene description (src/scene/description.ts) in Node: what both adapters are built from.
 * Layer order and depth slices, texture data, material parameters per mode, the photo camera (checked by
 * projecting points with three.js's PerspectiveCamera, which runs in Node), orbit and typed errors.
 */
import { describe, expect, it } from 'vitest';
import { PerspectiveCamera, Vector3 } from 'three';
import { describeDiorama, computeLayerNormals, dioramaLayerName, layerIndexFromName } from '../src/scene/description';
import { premultiplyRGBA } from '../src/scene/textures';
import { DioramaError } from '../src/core/errors';
import { applyPhotoIntrinsics } from '../src/three/diorama';
import type { Decomposition, Intrinsics, Layer } from '../src/core/types';

/** A layer of one quad over pixels [0, 8)² at depth z, 2×1 texels (one half transparent). */
function layer(index: number, z: number, k: Intrinsics): Layer {
  const p = (u: number, v: number) => [((u - k.cx) * z) / k.fx, (-(v - k.cy) * z) / k.fy, z];
  return {
    index,
    depthRange: [z, z + 0.5],
    planeDepth: z,
    bbox: { x: 0, y: 0, width: 2, height: 1 },
    rgba: { width: 2, height: 1, data: new Uint8ClampedArray([200, 100, 50, 255, 90, 60, 30, 51]) },
    depth: new Float32Array(2).fill(z),
    role: new Uint8Array(2).fill(1),
    maskIds: [index],
    concepts: [`c${index}`],
    mesh: {
      positions: new Float32Array([...p(0, 0), ...p(8, 0), ...p(8, 8), ...p(0, 8)]),
      uvs: new Float32Array([0, 0, 1, 0, 1, 1, 0, 1]),
      indices: new Uint32Array([0, 3, 1, 1, 3, 2]),
      pixels: new Float32Array(8),
    },
  };
}

const K: Intrinsics = { fx: 50, fy: 40, cx: 12, cy: 20 };
function decomposition(n = 3): Decomposition {
  const W = 32;
  const H = 24;
  const harmonizedDepth = new Float32Array(W * H);
  for (let i = 0; i < harmonizedDepth.length; i++) harmonizedDepth[i] = 2 + (6 * i) / harmonizedDepth.length;
  const layers = [...Array(n).keys()].map((i) => layer(i, 8 - 2 * i, K));
  return { width: W, height: H, intrinsics: K, intrinsicsKnown: true, harmonizedDepth, labels: new Int32Array(W * H), layers, stats: {} as Decomposition['stats'] };
}

describe('describeDiorama', () => {
  it("layered mode: back to front, slice counted from the front, depth writes on, premultiplied textures", () => {
    const d = describeDiorama(decomposition(), { name: 'photo' });
    expect(d.layers.map((l) => l.name)).toEqual(['photo.layer_00', 'photo.layer_01', 'photo.layer_02']);
    expect(d.layers.map((l) => [l.material.slice, l.material.sliceCount, l.material.order])).toEqual([[2, 3, 0], [1, 3, 1], [0, 3, 2]]);
    for (const l of d.layers) {
      expect(l.material).toMatchObject({ kind: 'mpi', blend: 'premultiplied', depthWrite: true, doubleSided: true });
      expect(l.texture).toMatchObject({ alpha: 'premultiplied', width: 2, height: 1, mipmaps: false });
      // 90·51/255 = 18, 60·51/255 = 12, 30·51/255 = 6 exactly; the opaque texel is unchanged.
      expect(Array.from(l.texture.data)).toEqual([200, 100, 50, 255, 18, 12, 6, 51]);
      expect(l.normals).toBeNull();
      expect(l.metadata).toMatchObject({ layer: l.index, layerCount: 3, planeDepth: l.positions[2], concepts: [`c${l.index}`] });
    }
    expect(Array.from(d.layers[1]!.texture.data)).toEqual(Array.from(premultiplyRGBA(decomposition().layers[1]!.rgba)));
  });

  it("scene mode and lighting: one slice (no remap), depth writes off; lit layers get bled straight textures and camera-facing normals", () => {
    const scene = describeDiorama(decomposition(), { depthMode: 'scene' });
    for (const l of scene.layers) expect(l.material).toMatchObject({ slice: 0, sliceCount: 1, depthWrite: false, kind: 'mpi' });
    const lit = describeDiorama(decomposition(), { lighting: true });
    expect(lit.depthMode).toBe('scene');
    for (const l of lit.layers) {
      expect(l.material).toMatchObject({ kind: 'lit', blend: 'straight', depthWrite: false });
      expect(l.texture.alpha).toBe('straight');
      // A plane at constant depth facing the camera: every normal is (0, 0, −1).
      for (let i = 0; i < l.normals!.length; i += 3) expect([l.normals![i]! + 0, l.normals![i + 1]! + 0, l.normals![i + 2]!]).toEqual([0, 0, -1]);
    }
  });

  it('normals face the camera whatever the winding', () => {
    const pos = new Float32Array([0, 0, 5, 1, 0, 5, 0, 1, 5]);
    const plain = (a: Float32Array) => Array.from(a, (x) => x + 0); // −0 → 0
    expect(plain(computeLayerNormals(pos, new Uint32Array([0, 1, 2])))).toEqual([0, 0, -1, 0, 0, -1, 0, 0, -1]);
    expect(plain(computeLayerNormals(pos, new Uint32Array([0, 2, 1])))).toEqual([0, 0, -1, 0, 0, -1, 0, 0, -1]);
  });

  it('the layer filter keeps the slices of the whole stack', () => {
    const d = describeDiorama(decomposition(), { layerFilter: (l) => l.index !== 1 });
    expect(d.layers.map((l) => [l.index, l.material.slice, l.material.sliceCount])).toEqual([[0, 2, 3], [2, 0, 3]]);
    expect(d.layerCount).toBe(3);
  });

  it('photo camera: fov, offsets and clip planes from the intrinsics; three.js projection puts known points on their pixels', () => {
    const d = describeDiorama(decomposition());
    const c = d.camera;
    expect(c.fovY).toBeCloseTo(2 * Math.atan(24 / 80), 15);
    expect(c.pixelAspect).toBe(50 / 40);
    expect(c.offsetX).toBeCloseTo((2 * 12 - 32) / 32, 15);
    expect(c.offsetY).toBeCloseTo((24 - 40) / 24, 15);
    // near = 0.25 · min(2nd percentile of the harmonized depth, nearest layer depth): the 2nd percentile of the
    // 768 values 2 + 6i/768 is value i = ⌊0.02·767⌋ = 15, i.e. 2 + 90/768; far = 8 · max(98th percentile, 8.5 of layer 0).
    expect(c.near).toBeCloseTo(0.25 * (2 + 90 / 768), 12);
    expect(c.far).toBeCloseTo(68, 6);
    const cam = new PerspectiveCamera();
    applyPhotoIntrinsics(cam, c);
    cam.updateMatrixWorld();
    for (const [u, v, z] of [[0, 0, 3], [32, 24, 7], [12, 20, 1], [5.5, 17.25, 2]] as const) {
      const p = new Vector3(((u - K.cx) * z) / K.fx, (-(v - K.cy) * z) / K.fy, -z).project(cam);
      // Float32 projection matrix: 1e-4 px at these sizes.
      expect(((p.x + 1) / 2) * 32).toBeCloseTo(u, 4);
      expect(((1 - p.y) / 2) * 24).toBeCloseTo(v, 4);
    }
  });

  it('orbit around the median depth with the configured angle and sideways travel', () => {
    const d = describeDiorama(decomposition(), { orbitAngle: 20, orbitSideways: 0.1 });
    const median = d.orbit.radius;
    expect(median).toBeGreaterThan(4.9);
    expect(median).toBeLessThan(5.1);
    expect(d.orbit.target).toEqual([0, 0, median]);
    expect(d.orbit.maxAngle).toBeCloseTo((20 * Math.PI) / 180, 15);
    expect(d.orbit.maxSideways).toBeCloseTo(0.1 * median, 12);
  });

  it('names and typed errors', () => {
    expect(dioramaLayerName('room', 7)).toBe('room.layer_07');
    expect(layerIndexFromName('room.layer_07')).toBe(7);
    expect(layerIndexFromName('room')).toBeUndefined();
    const empty = { ...decomposition(), layers: [] };
    expect(() => describeDiorama(empty)).toThrow(DioramaError);
    const bad = decomposition();
    bad.layers[0]!.mesh.uvs = new Float32Array(3);
    try {
      describeDiorama(bad);
      expect.unreachable();
    } catch (e) {
      expect((e as DioramaError).code).toBe('INVALID_OPTION');
      expect((e as Error).message).toMatch(/layer 0: mesh arrays are inconsistent/);
    }
  });
});
