import { readFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { PIPELINE_MESH_DEPTH_TOLERANCE, PIPELINE_MESH_JUMP_RATIO, smoothForMesh } from './src/core/build-layers';
import { buildLayerMeshDetailed } from './src/math/mesh';
const buf = readFileSync('/tmp/meshcache.bin');
const nl = buf.indexOf(10);
const { intrinsics, bboxes } = JSON.parse(buf.subarray(0, nl).toString());
let at = nl + 1;
const crops = bboxes.map((bbox: any) => { const n = bbox.width * bbox.height; const depth = new Float32Array(buf.buffer.slice(buf.byteOffset + at, buf.byteOffset + at + 4 * n)); at += 4 * n; const alpha = new Uint8Array(buf.buffer.slice(buf.byteOffset + at, buf.byteOffset + at + n)); at += n; return { bbox, width: bbox.width, height: bbox.height, depth, alpha }; });
const tol = Number(process.env.TOL ?? PIPELINE_MESH_DEPTH_TOLERANCE);
const NF = Number(process.env.NF ?? 0);
let scratch = new Float32Array(0);
const ts: number[] = [];
const hash = createHash('sha256');
for (let r = 0; r < Number(process.env.N ?? 10); r++) {
  const t = performance.now();
  crops.forEach((c: any, i: number) => {
    let d = c.depth;
    if (i > 0) { if (scratch.length < c.width * c.height) scratch = new Float32Array(c.width * c.height); d = smoothForMesh(c.depth, c.alpha, c.width, c.height, PIPELINE_MESH_JUMP_RATIO, scratch); }
    const res = buildLayerMeshDetailed({ ...c, depth: d }, intrinsics, i === 0 ? { depthTolerance: tol, noiseFactor: NF, jumpRatio: Number.MAX_VALUE } : { depthTolerance: tol, noiseFactor: NF, jumpRatio: PIPELINE_MESH_JUMP_RATIO });
    if (r === 0 && process.env.V) console.log(i, res.mesh.positions.length / 3, res.blockNoise.toExponential(2), res.depthTolerance.toFixed(4));
    if (r === 0) { const m = res.mesh; for (const a of [m.positions, m.uvs, m.indices, m.pixels]) hash.update(new Uint8Array(a.buffer, a.byteOffset, a.byteLength)); }
  });
  ts.push(performance.now() - t);
}
console.log('hash', hash.digest('hex').slice(0, 16));
ts.sort((a, b) => a - b); console.log('median', ts[ts.length >> 1].toFixed(2), 'min', ts[0].toFixed(2));
