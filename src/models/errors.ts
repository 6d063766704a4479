/**
 * Error codes of the models layer (members of the core's DioramaErrorCode union):
 *
 *   MODEL_CONTRACT   the model's input/output names, dtypes or shapes differ from the declared contract
 *   MODEL_LOAD       the bytes are not a loadable ONNX model (corrupt, truncated, unsupported operator)
 *   MODEL_FETCH      a download or file read failed (HTTP status, network, missing file)
 *   MODEL_INTEGRITY  the SHA-256 of the bytes differs from the expected one
 *   MODEL_RUN        inference failed inside the runtime
 *   MODEL_DISPOSED   a session or runtime was used after dispose()
 */
import { DioramaError, type DioramaErrorCode } from '../core/errors';
import type { DecomposeInput, RGBAImage } from '../core/types';
import { validateImage } from '../core/validate';

export type ModelErrorCode = Extract<DioramaErrorCode, `MODEL_${string}`>;

/** Creates a DioramaError with an optional cause. */
export function modelError(code: DioramaErrorCode, message: string, cause?: unknown): DioramaError {
  return new DioramaError(code, message, cause === undefined ? undefined : { cause });
}

/** The message of an unknown thrown value. */
export function messageOf(e: unknown): string {
  if (e instanceof Error) return e.message;
  return String(e);
}

/** Throws INVALID_IMAGE unless `image` is an RGBA8 image: the core's check (without its pixel limit). */
export function validatePhoto(image: RGBAImage): void {
  validateImage({ image } as DecomposeInput, Infinity);
}
