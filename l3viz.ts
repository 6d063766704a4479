import { readFileSync } from 'node:fs';
import sharp from 'sharp';
import { PIPELINE_MESH_DEPTH_TOLERANCE, PIPELINE_MESH_JUMP_RATIO, smoothForMesh } from './src/core/build-layers';
import { buildLayerMeshDetailed } from './src/math/mesh';
const buf = readFileSync('/tmp/meshcache.bin');
const nl = buf.indexOf(10);
const { intrinsics, bboxes } = JSON.parse(buf.subarray(0, nl).toString());
let at = nl + 1;
const crops = bboxes.map((bbox: any) => { const n = bbox.width * bbox.height; const depth = new Float32Array(buf.buffer.slice(buf.byteOffset + at, buf.byteOffset + at + 4 * n)); at += 4 * n; const alpha = new Uint8Array(buf.buffer.slice(buf.byteOffset + at, buf.byteOffset + at + n)); at += n; return { bbox, width: bbox.width, height: bbox.height, depth, alpha }; });
const L = Number(process.env.L ?? 3);
const c = crops[L];
const sm = smoothForMesh(c.depth, c.alpha, c.width, c.height, PIPELINE_MESH_JUMP_RATIO, new Float32Array(c.width * c.height));
const res = buildLayerMeshDetailed({ ...c, depth: sm }, intrinsics, { depthTolerance: PIPELINE_MESH_DEPTH_TOLERANCE, jumpRatio: PIPELINE_MESH_JUMP_RATIO });
const W = c.width, H = c.height;
const img = new Uint8Array(W * H * 3);
let lo = Infinity, hi = 0;
for (let k = 0; k < W * H; k++) if (c.alpha[k] && sm[k] > 0) { lo = Math.min(lo, 1 / sm[k]); hi = Math.max(hi, 1 / sm[k]); }
for (let k = 0; k < W * H; k++) { const g = c.alpha[k] && sm[k] > 0 ? Math.round(40 + 180 * (1 / sm[k] - lo) / (hi - lo)) : 0; img[3 * k] = img[3 * k + 1] = img[3 * k + 2] = g; }
const p = res.mesh.pixels;
for (let i = 0; i < p.length / 2; i++) { const x = Math.min(W - 1, Math.round(p[2 * i] - c.bbox.x)); const y = Math.min(H - 1, Math.round(p[2 * i + 1] - c.bbox.y)); img[3 * (y * W + x)] = 255; img[3 * (y * W + x) + 1] = 0; img[3 * (y * W + x) + 2] = 0; }
let content = 0; for (let k = 0; k < W * H; k++) if (c.alpha[k]) content++;
console.log('content px', content, 'alpha<255', [...c.alpha].filter((a) => a > 0 && a < 255).length, 'depth range', 1 / hi, 1 / lo);
await sharp(Buffer.from(img), { raw: { width: W, height: H, channels: 3 } }).resize(960).png().toFile('/tmp/prof/l3.png');
{
  const X0 = Number(process.env.X0 ?? 800), Y0 = Number(process.env.Y0 ?? 100), CW = 240, CH = 160;
  const z = new Float32Array(CW * CH); let lo2 = Infinity, hi2 = -Infinity;
  for (let y = 0; y < CH; y++) for (let x = 0; x < CW; x++) { const v = 1 / sm[(Y0 + y) * W + X0 + x]; z[y * CW + x] = v; }
  // detrend with a plane fit? just local min/max
  for (const v of z) { if (v < lo2) lo2 = v; if (v > hi2) hi2 = v; }
  const out = new Uint8Array(CW * CH * 3);
  for (let k = 0; k < CW * CH; k++) { const g = Math.round(255 * (z[k] - lo2) / (hi2 - lo2)); out[3 * k] = out[3 * k + 1] = out[3 * k + 2] = g; }
  for (let i = 0; i < p.length / 2; i++) { const x = Math.round(p[2 * i] - c.bbox.x) - X0, y = Math.round(p[2 * i + 1] - c.bbox.y) - Y0; if (x >= 0 && y >= 0 && x < CW && y < CH) { out[3 * (y * CW + x)] = 255; out[3 * (y * CW + x) + 1] = 0; out[3 * (y * CW + x) + 2] = 0; } }
  console.log('zoom inv depth range', lo2, hi2);
  await sharp(Buffer.from(out), { raw: { width: CW, height: CH, channels: 3 } }).resize(960, 640, { kernel: 'nearest' }).png().toFile('/tmp/prof/l3zoom.png');
}
