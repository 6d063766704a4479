import { readFileSync } from 'node:fs';
import { PIPELINE_MESH_JUMP_RATIO, smoothForMesh } from './src/core/build-layers';
const buf = readFileSync('/tmp/meshcache.bin');
const nl = buf.indexOf(10);
const { bboxes } = JSON.parse(buf.subarray(0, nl).toString());
let at = nl + 1;
const crops = bboxes.map((bbox: any) => { const n = bbox.width * bbox.height; const depth = new Float32Array(buf.buffer.slice(buf.byteOffset + at, buf.byteOffset + at + 4 * n)); at += 4 * n; const alpha = new Uint8Array(buf.buffer.slice(buf.byteOffset + at, buf.byteOffset + at + n)); at += n; return { bbox, width: bbox.width, height: bbox.height, depth, alpha }; });
const c = crops[3]; const W = c.width, H = c.height;
const sm = smoothForMesh(c.depth, c.alpha, W, H, PIPELINE_MESH_JUMP_RATIO, new Float32Array(W * H));
// residual of 4x4 block-mean iz against a plane fitted to the surrounding 16x16 (bilinear-ish): use 16x16 block: fit plane by least squares, residual of its 4x4 sub-blocks
const res: number[] = [];
for (let by = 0; by + 16 <= H; by += 16) for (let bx = 0; bx + 16 <= W; bx += 16) {
  let ok = true; const iz: number[] = [];
  for (let y = 0; y < 16 && ok; y++) for (let x = 0; x < 16; x++) { const k = (by + y) * W + bx + x; if (!c.alpha[k] || !(sm[k] > 0)) { ok = false; break; } iz.push(1 / sm[k]); }
  if (!ok) continue;
  // LS plane fit a + b x + c y
  let sx = 0, sy = 0, s1 = 0, sxx = 0, syy = 0, sz = 0, sxz = 0, syz = 0;
  for (let y = 0; y < 16; y++) for (let x = 0; x < 16; x++) { const z = iz[y * 16 + x]; s1++; sx += x; sy += y; sxx += x * x; syy += y * y; sz += z; sxz += x * z; syz += y * z; }
  const mx = sx / s1, my = sy / s1, mz = sz / s1; const b = (sxz / s1 - mx * mz) / (sxx / s1 - mx * mx), cc = (syz / s1 - my * mz) / (syy / s1 - my * my);
  for (let qy = 0; qy < 16; qy += 4) for (let qx = 0; qx < 16; qx += 4) { let s = 0; for (let y = qy; y < qy + 4; y++) for (let x = qx; x < qx + 4; x++) { const p = mz + b * (x - mx) + cc * (y - my); s += iz[y * 16 + x] / p - 1; } res.push(s / 16); }
}
res.sort((a, b) => Math.abs(a) - Math.abs(b));
const q = (f: number) => Math.abs(res[Math.floor(f * (res.length - 1))]);
console.log('blocks', res.length, 'median|r|', q(0.5).toExponential(2), 'p90', q(0.9).toExponential(2), 'p99', q(0.99).toExponential(2), 'frac>0.005', res.filter((r) => Math.abs(r) > 0.005).length / res.length, 'frac>0.0075', res.filter((r) => Math.abs(r) > 0.0075).length / res.length);
