/** Messages between the demo page and its worker (demo/worker.ts), which runs every heavy stage off the main thread. */
import type { Decomposition, Intrinsics, MasksInput } from '../src/index';

export interface RunRequest {
  type: 'run';
  id: number;
  /** Encoded photo bytes (PNG/JPEG/…); decoded in the worker with createImageBitmap. */
  photo: Blob;
  /** RGB-D: a depth file (PFM, NPY or 16-bit PNG in millimetres) and whether it holds inverse depth. */
  depth?: { file: Blob; name: string; inverse: boolean };
  /** A label map file (8/16-bit PNG: 0 = none, k = mask k−1; or integer NPY) with concept names per mask. */
  masks?: { file: Blob; name: string; concepts?: string[] };
  intrinsics?: Intrinsics;
  /** Model sources when the photo has no depth (URLs or bytes), passed to diorama/models. */
  models?: ModelSettings;
}

export interface ModelSettings {
  depth?: { url?: string; bytes?: ArrayBuffer };
  samEncoder?: { url?: string; bytes?: ArrayBuffer };
  samDecoder?: { url?: string; bytes?: ArrayBuffer };
  segment: boolean;
  /** 'auto' = WebGPU when the worker has an adapter, else wasm. */
  executionProvider?: 'auto' | 'webgpu' | 'wasm';
}

export interface CancelRequest {
  type: 'cancel';
  id: number;
}

export type WorkerRequest = RunRequest | CancelRequest;

export interface ProgressMessage {
  type: 'progress';
  id: number;
  stage: string;
  fraction: number;
  /** Bytes for download stages. */
  detail?: string;
}

export interface DoneMessage {
  type: 'done';
  id: number;
  result: Decomposition;
  /** Input depth at photo resolution (metres; 0 = unknown), for the overlay. */
  inputDepth: Float32Array;
  /** The photo, decoded (RGBA8), for the overlays. */
  photo: { width: number; height: number; data: Uint8ClampedArray };
  /** Where the depth came from. */
  depthSource: 'file' | 'model';
}

export interface ErrorMessage {
  type: 'error';
  id: number;
  code: string;
  message: string;
}

export type WorkerMessage = ProgressMessage | DoneMessage | ErrorMessage;

export type { MasksInput };
