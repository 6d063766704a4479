/**
 * The demo worker's model path: photo → Depth Anything 3 → SAM3 automatic masks → core stages, through
 * diorama's models module (onnxruntime-web; WebGPU when the worker has it, else wasm). Loaded models are kept
 * for the next photo as long as the settings do not change.
 */
import { PhotoPipeline, type PhotoModels } from '../src/models/decompose-photo';
import type { ModelSource } from '../src/models/registry';
import type { MasksInput, RGBAImage } from '../src/core/types';
import type { ModelSettings } from './protocol';

let cached: { key: string; pipeline: PhotoPipeline } | undefined;

function source(s: { url?: string; bytes?: ArrayBuffer } | undefined, name: string): ModelSource | undefined {
  if (s?.bytes) return { bytes: new Uint8Array(s.bytes), name };
  if (s?.url) return s.url;
  return undefined;
}

function keyOf(m: ModelSettings): string {
  const k = (s?: { url?: string; bytes?: ArrayBuffer }): string => (s?.bytes ? `bytes:${s.bytes.byteLength}` : (s?.url ?? 'default'));
  return [k(m.depth), k(m.samEncoder), k(m.samDecoder), m.segment, m.executionProvider ?? 'auto'].join('|');
}

export async function runWithModels(
  photo: RGBAImage,
  settings: ModelSettings,
  options: { masks?: MasksInput; intrinsics?: { fx: number; fy: number; cx: number; cy: number }; photoBytes?: Blob },
  signal: AbortSignal,
  progress: (stage: string, fraction: number, detail?: string) => void,
): Promise<{ result: Awaited<ReturnType<PhotoPipeline['run']>>; inputDepth: Float32Array }> {
  const key = keyOf(settings);
  if (cached?.key !== key) {
    await cached?.pipeline.dispose();
    cached = undefined;
    const models: PhotoModels = {
      runtime: {
        wasmPaths: '/node_modules/onnxruntime-web/dist/',
        ...(settings.executionProvider && settings.executionProvider !== 'auto' ? { executionProviders: [settings.executionProvider] } : {}),
      },
      depth: source(settings.depth, 'depth model') ?? 'da3-small',
      masks: settings.segment
        ? {
            ...(source(settings.samEncoder, 'SAM3 vision encoder') ? { visionEncoder: source(settings.samEncoder, 'SAM3 vision encoder')! } : {}),
            ...(source(settings.samDecoder, 'SAM3 decoder') ? { decoder: source(settings.samDecoder, 'SAM3 decoder')! } : {}),
          }
        : false,
      onDownloadProgress: (p) => progress('download', p.total ? p.loaded / p.total : 0, `${p.file}: ${p.loaded} bytes${p.cached ? ' (cached)' : ''}`),
    };
    const pipeline = await PhotoPipeline.load(models, { signal, onProgress: (s, f) => progress(s, f) });
    cached = { key, pipeline };
  }
  const result = await cached.pipeline.run(photo, {
    signal,
    onProgress: (s, f) => progress(s, f),
    ...(options.masks ? { masks: options.masks } : {}),
    ...(options.intrinsics ? { intrinsics: options.intrinsics } : {}),
    ...(options.photoBytes ? { exif: options.photoBytes } : {}),
  });
  const d = result.depth;
  let inputDepth = d.depth;
  if (d.quantity === 'disparity') {
    inputDepth = new Float32Array(d.depth.length);
    for (let i = 0; i < inputDepth.length; i++) inputDepth[i] = d.depth[i]! > 0 ? 1 / d.depth[i]! : 0;
  }
  return { result, inputDepth };
}
