import { readFileSync } from 'node:fs';
import { PIPELINE_MESH_DEPTH_TOLERANCE, PIPELINE_MESH_JUMP_RATIO, smoothForMesh } from '/work/main/src/core/build-layers';
import { buildLayerMeshDetailed } from '/work/main/src/math/mesh';
const buf = readFileSync('/tmp/meshcache.bin');
const nl = buf.indexOf(10);
const { intrinsics, bboxes } = JSON.parse(buf.subarray(0, nl).toString());
let at = nl + 1;
const crops = bboxes.map((bbox: any) => { const n = bbox.width * bbox.height; const depth = new Float32Array(buf.buffer.slice(buf.byteOffset + at, buf.byteOffset + at + 4 * n)); at += 4 * n; const alpha = new Uint8Array(buf.buffer.slice(buf.byteOffset + at, buf.byteOffset + at + n)); at += n; return { bbox, width: bbox.width, height: bbox.height, depth, alpha }; });
const L = Number(process.env.L ?? 3);
const c = crops[L];
const sm = smoothForMesh(c.depth, c.alpha, c.width, c.height, PIPELINE_MESH_JUMP_RATIO, new Float32Array(c.width * c.height));
const ts: number[] = [];
for (let r = 0; r < Number(process.env.N ?? 20); r++) {
  const t = performance.now();
  const res = buildLayerMeshDetailed({ ...c, depth: sm }, intrinsics, { depthTolerance: Number(process.env.TOL ?? PIPELINE_MESH_DEPTH_TOLERANCE), jumpRatio: PIPELINE_MESH_JUMP_RATIO });
  ts.push(performance.now() - t);
  if (r === 0) console.log(res.mesh.positions.length / 3, res.mesh.indices.length / 3);
}
ts.sort((a, b) => a - b); console.log('median', ts[ts.length >> 1].toFixed(2));
