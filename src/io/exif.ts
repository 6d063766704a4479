/**
 * Camera intrinsics from a photo's EXIF focal length (read with `exifr`).
 *
 * A pinhole focal length in pixels is f_px = f_mm · (pixels per mm on the sensor). EXIF gives it three ways,
 * tried in this order:
 *   1. FocalLength (mm) + FocalPlaneX/YResolution (pixels per FocalPlaneResolutionUnit on the sensor, for an
 *      image of ExifImageWidth × ExifImageHeight): f_px = f_mm · res / unit_mm, scaled by photoWidth / ExifImageWidth
 *      when the photo was resized after capture. Gives fx and fy separately.
 *   2. FocalLength (mm) + a sensor width the caller knows (`sensorWidthMm`, measured along the image's longer
 *      side): f_px = f_mm · longSide_px / sensorWidth_mm.
 *   3. FocalLengthIn35mmFormat: the focal length giving the same field of view on a 36 × 24 mm frame. The
 *      match is made on the diagonal (the crop-factor convention): f_px = f35 · diag_px / diag_35,
 *      diag_35 = √(36² + 24²) ≈ 43.267 mm. Exact for 3:2 photos; for other aspects it preserves the diagonal FOV.
 * (1) is preferred because it is a measurement of this sensor; many phones write only (3).
 *
 * EXIF Orientation 5–8 (transposed) swaps the sensor's x and y relative to the displayed photo; the photo
 * passed here is the displayed (rotated) one, so the focal-plane resolutions are swapped accordingly.
 * The principal point is taken at the image centre (EXIF does not record it).
 */
import exifr from 'exifr';
import type { Intrinsics } from '../core/types';

/** The EXIF tags used (as exifr names them). */
export interface ExifFocalTags {
  FocalLength?: number;
  FocalLengthIn35mmFormat?: number;
  FocalPlaneXResolution?: number;
  FocalPlaneYResolution?: number;
  /** 1 none, 2 inch, 3 cm, 4 mm, 5 µm. */
  FocalPlaneResolutionUnit?: number;
  ExifImageWidth?: number;
  ExifImageHeight?: number;
  /** 1–8; 5–8 transpose the image. */
  Orientation?: number;
}

export type ExifIntrinsicsSource = 'exif-focal-plane' | 'exif-sensor-width' | 'exif-35mm';

export interface ExifIntrinsics {
  intrinsics: Intrinsics;
  source: ExifIntrinsicsSource;
  /** Horizontal field of view (degrees) over the photo's width. */
  fovXDegrees: number;
}

export interface ExifOptions {
  /** Sensor width in mm along the image's longer side (used when the focal-plane resolution is missing). */
  sensorWidthMm?: number;
}

const DIAG_35MM = Math.hypot(36, 24);
const UNIT_MM: Record<number, number> = { 2: 25.4, 3: 10, 4: 1, 5: 0.001 };

const TAGS: (keyof ExifFocalTags)[] = [
  'FocalLength',
  'FocalLengthIn35mmFormat',
  'FocalPlaneXResolution',
  'FocalPlaneYResolution',
  'FocalPlaneResolutionUnit',
  'ExifImageWidth',
  'ExifImageHeight',
  'Orientation',
];

/** Reads the focal-length tags from image bytes (JPEG, HEIC, TIFF, PNG eXIf…). Undefined when there is no EXIF. */
export async function readExifFocalTags(input: Uint8Array | ArrayBuffer | Blob): Promise<ExifFocalTags | undefined> {
  try {
    const src = input instanceof Uint8Array && typeof Buffer === 'undefined' ? input.buffer.slice(input.byteOffset, input.byteOffset + input.byteLength) : input;
    const tags = (await exifr.parse(src as ArrayBuffer, { pick: TAGS, translateValues: false, reviveValues: true })) as ExifFocalTags | undefined;
    return tags ?? undefined;
  } catch {
    // Not an image exifr understands, or no EXIF segment: no focal information.
    return undefined;
  }
}

function positive(v: unknown): v is number {
  return typeof v === 'number' && Number.isFinite(v) && v > 0;
}

/**
 * Intrinsics (pixels of a `width × height` displayed photo) from EXIF tags; undefined when the tags do not
 * determine a focal length. See the file header for the formulas.
 */
export function intrinsicsFromExif(tags: ExifFocalTags | undefined, width: number, height: number, options: ExifOptions = {}): ExifIntrinsics | undefined {
  if (!tags) return undefined;
  const transposed = positive(tags.Orientation) && tags.Orientation >= 5 && tags.Orientation <= 8;
  // Sensor-frame sizes of the photo (before the display rotation).
  const sensorW = transposed ? height : width;
  const sensorH = transposed ? width : height;
  const cx = width / 2;
  const cy = height / 2;
  const done = (fx: number, fy: number, source: ExifIntrinsicsSource): ExifIntrinsics => ({
    intrinsics: { fx, fy, cx, cy },
    source,
    fovXDegrees: (2 * Math.atan(width / 2 / fx) * 180) / Math.PI,
  });
  const f = tags.FocalLength;
  if (positive(f)) {
    const unit = UNIT_MM[tags.FocalPlaneResolutionUnit ?? 2];
    const rx = tags.FocalPlaneXResolution;
    const ry = tags.FocalPlaneYResolution ?? rx;
    if (unit && positive(rx) && positive(ry)) {
      // Pixels per mm at the EXIF image size, rescaled to the photo we have.
      const scaleX = positive(tags.ExifImageWidth) ? sensorW / tags.ExifImageWidth : 1;
      const scaleY = positive(tags.ExifImageHeight) ? sensorH / tags.ExifImageHeight : scaleX;
      const fxSensor = ((f * rx) / unit) * scaleX;
      const fySensor = ((f * ry) / unit) * scaleY;
      return transposed ? done(fySensor, fxSensor, 'exif-focal-plane') : done(fxSensor, fySensor, 'exif-focal-plane');
    }
    if (positive(options.sensorWidthMm)) {
      const fp = (f * Math.max(width, height)) / options.sensorWidthMm;
      return done(fp, fp, 'exif-sensor-width');
    }
  }
  const f35 = tags.FocalLengthIn35mmFormat;
  if (positive(f35)) {
    const fp = (f35 * Math.hypot(width, height)) / DIAG_35MM;
    return done(fp, fp, 'exif-35mm');
  }
  return undefined;
}

/** Reads EXIF from image bytes and returns intrinsics for the displayed photo size, or undefined. */
export async function exifIntrinsics(input: Uint8Array | ArrayBuffer | Blob, width: number, height: number, options: ExifOptions = {}): Promise<ExifIntrinsics | undefined> {
  return intrinsicsFromExif(await readExifFocalTags(input), width, height, options);
}
