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
  /** Model sources when the photo has no depth (URLs or local files), passed to diorama/models. */
  models?: ModelSettings;
}

/**
 * A model file: a URL (neither = the registry default) or a local file. The File itself is posted (a cheap
 * handle): the worker reads its bytes only when it loads the model, not on every run or prompt.
 */
export interface ModelFileSetting {
  url?: string;
  file?: File;
}

export interface ModelSettings {
  depth?: ModelFileSetting;
  samEncoder?: ModelFileSetting;
  samDecoder?: ModelFileSetting;
  /** SAM3 text-concept graphs (detector export) and the model's tokenizer.json, for concept prompts. */
  conceptVision?: ModelFileSetting;
  conceptText?: ModelFileSetting;
  conceptDecoder?: ModelFileSetting;
  conceptTokenizer?: ModelFileSetting;
  segment: boolean;
  /** Mirror of the public model hosts in their layout (diorama/models `modelBaseUrl`); empty = the public hosts. */
  modelBaseUrl?: string;
  /** 'auto' = WebGPU when the worker has an adapter, else wasm. */
  executionProvider?: 'auto' | 'webgpu' | 'wasm';
}

/** A click on the photo: a SAM3 point prompt in continuous photo coordinates (pixel centres at x + 0.5). */
export interface ClickPrompt {
  kind: 'click';
  x: number;
  y: number;
  /** false = a new selection; true = a negative point that refines the last selection. */
  negative: boolean;
}

/** Text concepts ("cat", "chair"): every instance the SAM3 detector finds becomes a mask named after it. */
export interface ConceptPrompt {
  kind: 'concepts';
  phrases: string[];
}

/** Back to the label map of the model run (drops every selection and concept mask). */
export interface ResetPrompt {
  kind: 'reset';
}

export type Prompt = ClickPrompt | ConceptPrompt | ResetPrompt;

/**
 * A prompt on the photo of a finished model run (`session` = the DoneMessage's `promptSession`): the worker
 * updates that run's label map and decomposes again with the same depth.
 */
export interface PromptRequest {
  type: 'prompt';
  id: number;
  session: number;
  prompt: Prompt;
  /** Current model settings (the SAM3 graphs are loaded on first use when the run did not load them). */
  models: ModelSettings;
}

export interface CancelRequest {
  type: 'cancel';
  id: number;
}

export type WorkerRequest = RunRequest | PromptRequest | CancelRequest;

export interface ProgressMessage {
  type: 'progress';
  id: number;
  stage: string;
  fraction: number;
  /** Bytes for download stages. */
  detail?: string;
  /** Download stages (`download:<url>`): the file's byte progress. */
  bytes?: { loaded: number; total?: number; cached: boolean };
}

/** What a prompt did, for the page's message line and tests. */
export interface PromptOutcome {
  kind: Prompt['kind'];
  /** One line for the user. */
  message: string;
  /**
   * Click prompts: the clicked point (photo coordinates), the chosen mask's area in pixels and predicted IoU,
   * and whether it refined the previous selection (negative point) rather than starting a new one.
   */
  selection?: { x: number; y: number; area: number; predictedIoU: number; refined: boolean };
  /** Concept prompts: what the presence head said about each phrase. */
  concepts?: { name: string; presence: number; accepted: boolean; maskCount: number }[];
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
  /** Set when the worker keeps this photo for SAM3 prompts (model runs): the id to send prompts to. */
  promptSession?: number;
  /** Set when this result answers a prompt. */
  prompt?: PromptOutcome;
}

/** A prompt that leaves the scene as it is (e.g. a concept the presence head rejects): a message, no error. */
export interface NoticeMessage {
  type: 'notice';
  id: number;
  message: string;
  prompt?: PromptOutcome;
}

export interface ErrorMessage {
  type: 'error';
  id: number;
  code: string;
  message: string;
}

export type WorkerMessage = ProgressMessage | DoneMessage | NoticeMessage | ErrorMessage;

export type { MasksInput };
