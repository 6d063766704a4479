/**
 * One error class for the whole library. `code` is stable and meant for programs; `message` names what
 * was expected and what was found; `cause` carries the underlying error when there is one.
 */
export type DioramaErrorCode =
  | 'INVALID_IMAGE'
  | 'INVALID_DEPTH'
  | 'INVALID_MASKS'
  | 'INVALID_INTRINSICS'
  | 'INVALID_OPTION'
  | 'SIZE_MISMATCH'
  | 'IMAGE_TOO_LARGE'
  | 'NO_VALID_DEPTH'
  | 'UNSUPPORTED_FORMAT'
  | 'DECODE_FAILED'
  | 'ABORTED'
  | 'SOLVER_FAILED'
  /** Models (src/models): a file does not match the declared contract (names, dtypes, shapes). */
  | 'MODEL_CONTRACT'
  /** Models: onnxruntime could not create a session from the bytes (corrupt, truncated, empty). */
  | 'MODEL_LOAD'
  /** Models: a download failed (HTTP error, network, truncated body). */
  | 'MODEL_FETCH'
  /** Models: the SHA-256 of a file differs from the expected one. */
  | 'MODEL_INTEGRITY'
  /** Models: a run failed or was fed tensors it cannot take. */
  | 'MODEL_RUN'
  /** Models: a session or model was used after dispose(). */
  | 'MODEL_DISPOSED'
  | 'INTERNAL';

export class DioramaError extends Error {
  readonly code: DioramaErrorCode;

  constructor(code: DioramaErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'DioramaError';
    this.code = code;
  }
}

/** Throws an INTERNAL DioramaError when an internal assumption does not hold. */
export function invariant(condition: unknown, message: string): asserts condition {
  if (!condition) throw new DioramaError('INTERNAL', `internal invariant failed: ${message}`);
}

/** Throws an ABORTED DioramaError (with the signal's reason as cause) if the signal has fired. */
export function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) {
    throw new DioramaError('ABORTED', 'operation aborted', { cause: signal.reason });
  }
}
