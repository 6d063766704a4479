/**
 * The demo's worker: decodes the inputs and runs the whole pipeline (models when configured, then the core
 * stages) off the main thread, posting stage progress; the result's typed arrays are transferred, not copied.
 */
import { decompose, DioramaError, type Decomposition, type MasksInput } from '../src/index';
import { decodePFM } from '../src/io/pfm';
import { decodeNPY } from '../src/io/npy';
import { decodeDepthPNG16, decodeGreyPNG, isPNG } from '../src/io/png16';
import type { DoneMessage, RunRequest, WorkerMessage, WorkerRequest } from './protocol';

const running = new Map<number, AbortController>();
const post = (m: WorkerMessage, transfer: Transferable[] = []): void => (self as unknown as Worker).postMessage(m, transfer);

self.onmessage = (ev: MessageEvent<WorkerRequest>) => {
  const req = ev.data;
  if (req.type === 'cancel') {
    running.get(req.id)?.abort();
    return;
  }
  const ctrl = new AbortController();
  running.set(req.id, ctrl);
  run(req, ctrl.signal)
    .then((done) => post(done, transferables(done)))
    .catch((e: unknown) => {
      const code = e instanceof DioramaError ? e.code : (e as Error)?.name === 'AbortError' ? 'ABORTED' : 'INTERNAL';
      post({ type: 'error', id: req.id, code, message: e instanceof Error ? e.message : String(e) });
    })
    .finally(() => running.delete(req.id));
};

async function decodePhoto(blob: Blob): Promise<{ width: number; height: number; data: Uint8ClampedArray }> {
  let bitmap: ImageBitmap;
  try {
    bitmap = await createImageBitmap(blob, { colorSpaceConversion: 'none', premultiplyAlpha: 'none' });
  } catch (e) {
    throw new DioramaError('DECODE_FAILED', `photo: expected an image the browser can decode (PNG, JPEG, WebP, …); decoding failed (${(e as Error).message})`, { cause: e });
  }
  const canvas = new OffscreenCanvas(bitmap.width, bitmap.height);
  const ctx = canvas.getContext('2d', { willReadFrequently: true })!;
  ctx.drawImage(bitmap, 0, 0);
  bitmap.close();
  const img = ctx.getImageData(0, 0, canvas.width, canvas.height, { colorSpace: 'srgb' });
  return { width: img.width, height: img.height, data: img.data };
}

async function decodeDepth(file: Blob, name: string): Promise<{ width: number; height: number; data: Float32Array }> {
  const bytes = new Uint8Array(await file.arrayBuffer());
  const lower = name.toLowerCase();
  if (lower.endsWith('.pfm')) return decodePFM(bytes);
  if (lower.endsWith('.npy')) return decodeNPY(bytes);
  if (lower.endsWith('.png') || isPNG(bytes)) return decodeDepthPNG16(bytes);
  throw new DioramaError('UNSUPPORTED_FORMAT', `depth '${name}': expected .pfm, .npy or a 16-bit .png in millimetres`);
}

async function decodeLabels(file: Blob, name: string, concepts?: string[]): Promise<{ width: number; height: number; masks: MasksInput }> {
  const bytes = new Uint8Array(await file.arrayBuffer());
  let width: number;
  let height: number;
  const labels = (n: number): Int32Array => new Int32Array(n);
  let out: Int32Array;
  if (name.toLowerCase().endsWith('.npy')) {
    const a = decodeNPY(bytes);
    ({ width, height } = a);
    out = labels(a.data.length);
    for (let i = 0; i < out.length; i++) out[i] = Math.round(a.data[i]!);
  } else {
    const g = await decodeGreyPNG(bytes);
    ({ width, height } = g);
    out = labels(g.data.length);
    for (let i = 0; i < out.length; i++) out[i] = g.data[i]! - 1;
  }
  return { width, height, masks: { kind: 'labels', labels: out, ...(concepts ? { concepts } : {}) } };
}

async function run(req: RunRequest, signal: AbortSignal): Promise<DoneMessage> {
  const progress = (stage: string, fraction: number, detail?: string): void =>
    post({ type: 'progress', id: req.id, stage, fraction, ...(detail ? { detail } : {}) });
  progress('decode', 0);
  const photo = await decodePhoto(req.photo);
  let masks: MasksInput | undefined;
  if (req.masks) {
    const m = await decodeLabels(req.masks.file, req.masks.name, req.masks.concepts);
    if (m.width !== photo.width || m.height !== photo.height) {
      throw new DioramaError('SIZE_MISMATCH', `label map is ${m.width}x${m.height}; expected the photo's ${photo.width}x${photo.height}`);
    }
    masks = m.masks;
  }
  if (!req.depth) {
    // No depth map: the models estimate depth (and masks, unless a label map was given).
    progress('decode', 1);
    const { runWithModels } = await import('./models-bridge');
    const settings = req.models ?? { segment: true };
    const { result, inputDepth } = await runWithModels(photo, settings, { masks, intrinsics: req.intrinsics, photoBytes: req.photo }, signal, progress);
    return { type: 'done', id: req.id, result, inputDepth, photo, depthSource: 'model' };
  }
  const d = await decodeDepth(req.depth.file, req.depth.name);
  if (d.width !== photo.width || d.height !== photo.height) {
    throw new DioramaError('SIZE_MISMATCH', `depth map is ${d.width}x${d.height}; expected the photo's ${photo.width}x${photo.height}`);
  }
  const depth = d.data;
  if (req.depth.inverse) {
    for (let i = 0; i < depth.length; i++) depth[i] = depth[i]! > 0 ? 1 / depth[i]! : 0;
  }
  progress('decode', 1);
  const inputDepth = depth.slice();
  const result: Decomposition = await decompose(
    { image: photo, depth, ...(masks ? { masks } : {}), ...(req.intrinsics ? { intrinsics: req.intrinsics } : {}) },
    { signal, onProgress: (stage, f) => progress(stage, f) },
  );
  return { type: 'done', id: req.id, result, inputDepth, photo, depthSource: 'file' };
}

/** Every distinct ArrayBuffer in the result, for a zero-copy postMessage. */
function transferables(m: DoneMessage): Transferable[] {
  const set = new Set<ArrayBuffer>();
  const add = (a: ArrayBufferView | undefined): void => {
    if (a && a.buffer instanceof ArrayBuffer) set.add(a.buffer);
  };
  const r = m.result;
  add(r.harmonizedDepth);
  add(r.labels);
  add(r.layerOfPixel);
  for (const l of r.layers) {
    add(l.rgba.data);
    add(l.depth);
    add(l.role);
    add(l.mesh.positions);
    add(l.mesh.uvs);
    add(l.mesh.indices);
    add(l.mesh.pixels);
  }
  add(m.inputDepth);
  add(m.photo.data);
  return [...set];
}
