/**
 * The demo's worker: decodes the inputs and runs the whole pipeline (models when configured, then the core
 * stages) off the main thread, posting stage progress; the result's typed arrays are transferred, not copied.
 * After a model run it keeps that photo's prompt session (models-bridge.ts) and answers SAM3 prompts on it.
 *
 * Requests run one at a time, in arrival order (they share the loaded models and the prompt session); a
 * cancel message aborts its request at once, whether it is running or still waiting.
 */
import { decompose, DioramaError, DEFAULT_MAX_PIXELS, type Decomposition, type MasksInput } from '../src/index';
import { decodeNPY } from '../src/io/npy';
import { decodeGreyPNG } from '../src/io/png16';
import { decodeDepthBytes, decodeImageInBrowser } from '../src/io/browser-decode';
import type { Progress, PromptSession } from './models-bridge';
import type { DoneMessage, NoticeMessage, PromptRequest, RunRequest, WorkerMessage, WorkerRequest } from './protocol';

const running = new Map<number, AbortController>();
const post = (m: WorkerMessage, transfer: Transferable[] = []): void => (self as unknown as Worker).postMessage(m, transfer);
/** The photo of the last model run, for prompts. */
let session: PromptSession | undefined;
let queue: Promise<void> = Promise.resolve();

self.onmessage = (ev: MessageEvent<WorkerRequest>) => {
  const req = ev.data;
  if (req.type === 'cancel') {
    running.get(req.id)?.abort();
    return;
  }
  const ctrl = new AbortController();
  running.set(req.id, ctrl);
  queue = queue.then(async () => {
    try {
      if (ctrl.signal.aborted) throw new DioramaError('ABORTED', 'cancelled before it started');
      const out = req.type === 'run' ? await run(req, ctrl.signal) : await prompt(req, ctrl.signal);
      post(out, out.type === 'done' ? transferables(out) : []);
    } catch (e) {
      const code = e instanceof DioramaError ? e.code : (e as Error)?.name === 'AbortError' ? 'ABORTED' : 'INTERNAL';
      post({ type: 'error', id: req.id, code, message: e instanceof Error ? e.message : String(e) });
    } finally {
      running.delete(req.id);
    }
  });
};

/** The photo through the library's own browser decoder (header check, size limit, then createImageBitmap). */
async function decodePhoto(blob: Blob): Promise<{ width: number; height: number; data: Uint8ClampedArray }> {
  const img = await decodeImageInBrowser(new Uint8Array(await blob.arrayBuffer()), { name: 'photo', maxPixels: DEFAULT_MAX_PIXELS });
  const data = img.data instanceof Uint8ClampedArray ? img.data : new Uint8ClampedArray(img.data.buffer, img.data.byteOffset, img.data.byteLength);
  return { width: img.width, height: img.height, data };
}

/** A label map file: integer NPY (k = mask k, -1 = none) or 8/16-bit PNG (0 = none, k = mask k−1). */
async function decodeLabels(file: Blob, name: string, concepts?: string[]): Promise<{ width: number; height: number; masks: MasksInput }> {
  const bytes = new Uint8Array(await file.arrayBuffer());
  const npy = name.toLowerCase().endsWith('.npy');
  const { width, height, data } = npy ? decodeNPY(bytes) : await decodeGreyPNG(bytes);
  const labels = new Int32Array(data.length);
  if (npy) for (let i = 0; i < labels.length; i++) labels[i] = Math.round(data[i]!);
  else for (let i = 0; i < labels.length; i++) labels[i] = data[i]! - 1;
  return { width, height, masks: { kind: 'labels', labels, ...(concepts ? { concepts } : {}) } };
}

/** The progress poster of request `id`. */
function progressOf(id: number): Progress {
  return (stage, fraction, detail, bytes) => post({ type: 'progress', id, stage, fraction, ...(detail ? { detail } : {}), ...(bytes ? { bytes } : {}) });
}

async function run(req: RunRequest, signal: AbortSignal): Promise<DoneMessage> {
  const progress = progressOf(req.id);
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
    const out = await runWithModels(req.id, photo, settings, { masks, intrinsics: req.intrinsics, photoBytes: req.photo }, signal, progress);
    // A new photo: the previous one's prompt session (and its image embeddings) goes. A failed or cancelled
    // run leaves it in place, with the previous scene on the page.
    replaceSession(out.session);
    return { type: 'done', id: req.id, result: out.result, inputDepth: out.inputDepth, photo, depthSource: 'model', promptSession: out.session.id };
  }
  const d = await decodeDepthBytes(new Uint8Array(await req.depth.file.arrayBuffer()), `depth '${req.depth.name}'`);
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
  replaceSession(undefined);
  return { type: 'done', id: req.id, result, inputDepth, photo, depthSource: 'file' };
}

function replaceSession(next: PromptSession | undefined): void {
  if (session !== next) session?.dispose();
  session = next;
}

/** A SAM3 prompt on the current session's photo: a rebuilt decomposition, or a notice when nothing changes. */
async function prompt(req: PromptRequest, signal: AbortSignal): Promise<DoneMessage | NoticeMessage> {
  const progress = progressOf(req.id);
  const s = session;
  if (!s || s.id !== req.session) {
    throw new DioramaError('INVALID_OPTION', `prompt for the photo of run ${req.session}, but the worker ${s ? `holds the photo of run ${s.id}` : 'holds no model run'}: make the 3D scene again`);
  }
  const { result, outcome } = await s.apply(req.prompt, req.models, { signal, progress });
  if (!result) return { type: 'notice', id: req.id, message: outcome.message, prompt: outcome };
  const photo = { width: s.width, height: s.height, data: new Uint8ClampedArray(s.photo.data) };
  return { type: 'done', id: req.id, result, inputDepth: s.overlayDepth.slice(), photo, depthSource: 'model', promptSession: s.id, prompt: outcome };
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
