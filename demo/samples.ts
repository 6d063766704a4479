/**
 * The demo's bundled sample photos: our own ray-traced RGB-D scenes (test/fixtures/scene.ts), so they are
 * free to redistribute. Written on first start into out/demo/samples/ as the files a user would bring:
 * photo PNG, depth PFM (metres), label PNG (0 = none, k = mask k−1) and a JSON sidecar with intrinsics and
 * concept names.
 */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { encodePFM } from '../src/io/pfm';
import { makeScene, type SceneOptions } from '../test/fixtures/scene';

export interface SampleInfo {
  id: string;
  title: string;
  photo: string;
  depth: string;
  masks?: string;
  intrinsics: { fx: number; fy: number; cx: number; cy: number };
  concepts: string[];
}

const SAMPLES: { id: string; title: string; scene: SceneOptions; masks: boolean }[] = [
  { id: 'room', title: 'Room with box, sphere and cylinder (RGB-D + masks)', scene: { width: 960, height: 640, objects: 3, depthNoise: 0.01, seed: 7 }, masks: true },
  { id: 'room-depth-only', title: 'Room, depth only (segments from depth edges)', scene: { width: 960, height: 640, objects: 3, depthNoise: 0.01, seed: 11 }, masks: false },
  { id: 'sphere', title: 'Sphere and box (RGB-D + masks)', scene: { width: 800, height: 600, objects: 2, depthNoise: 0.005, seed: 3 }, masks: true },
];

/** Writes the samples (if missing) into `dir` and returns their descriptions (also written as index.json). */
export async function writeSamples(dir: string): Promise<SampleInfo[]> {
  mkdirSync(dir, { recursive: true });
  const out: SampleInfo[] = [];
  for (const s of SAMPLES) {
    const scene = makeScene(s.scene);
    const info: SampleInfo = {
      id: s.id,
      title: s.title,
      photo: `${s.id}.png`,
      depth: `${s.id}.depth.pfm`,
      ...(s.masks ? { masks: `${s.id}.masks.png` } : {}),
      intrinsics: { ...scene.intrinsics },
      concepts: s.masks ? [...scene.concepts] : [],
    };
    const { width, height } = scene;
    if (!existsSync(join(dir, info.photo))) {
      const d = scene.image.data;
      await sharp(Buffer.from(d.buffer, d.byteOffset, d.byteLength), { raw: { width, height, channels: 4 } }).png().toFile(join(dir, info.photo));
    }
    if (!existsSync(join(dir, info.depth))) writeFileSync(join(dir, info.depth), encodePFM({ width, height, data: scene.depth }));
    if (info.masks && !existsSync(join(dir, info.masks))) {
      const bytes = new Uint8Array(width * height);
      for (let i = 0; i < bytes.length; i++) bytes[i] = scene.labels[i]! + 1;
      await sharp(Buffer.from(bytes), { raw: { width, height, channels: 1 } }).toColourspace('b-w').png().toFile(join(dir, info.masks));
    }
    out.push(info);
  }
  writeFileSync(join(dir, 'index.json'), JSON.stringify(out, null, 2));
  return out;
}
