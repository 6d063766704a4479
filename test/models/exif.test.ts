/**
 * Intrinsics from EXIF (src/io/exif.ts), on tags and on real JPEG bytes written by sharp (libexif).
 *
 * Proves: FocalLength + focal-plane resolution gives f·res/unit per axis, rescaled when the photo was resized;
 * a transposing Orientation swaps the axes; FocalLength + a known sensor width works; the 35 mm equivalent is
 * matched on the diagonal; nothing usable gives undefined; exifr reads the tags from bytes.
 */
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { exifIntrinsics, intrinsicsFromExif, readExifFocalTags } from '../../src/io/exif';

describe('intrinsicsFromExif', () => {
  it('focal plane resolution: f_px = f_mm · pixels per mm, per axis, rescaled to the photo', () => {
    // 4.2 mm lens, 1000 px/mm (unit 4 = mm) on a 4000×3000 capture, photo downscaled to 2000×1500.
    const r = intrinsicsFromExif(
      { FocalLength: 4.2, FocalPlaneXResolution: 1000, FocalPlaneYResolution: 1000, FocalPlaneResolutionUnit: 4, ExifImageWidth: 4000, ExifImageHeight: 3000 },
      2000,
      1500,
    )!;
    expect(r.source).toBe('exif-focal-plane');
    expect(r.intrinsics).toEqual({ fx: 2100, fy: 2100, cx: 1000, cy: 750 });
    // Inches (unit 2): 25400 px/inch = 1000 px/mm.
    const inch = intrinsicsFromExif({ FocalLength: 4.2, FocalPlaneXResolution: 25400, FocalPlaneYResolution: 12700, FocalPlaneResolutionUnit: 2 }, 4000, 3000)!;
    expect(inch.intrinsics.fx).toBeCloseTo(4200, 9);
    expect(inch.intrinsics.fy).toBeCloseTo(2100, 9);
  });

  it('a transposing orientation (6 = rotate 90°) swaps the sensor axes', () => {
    const r = intrinsicsFromExif(
      { FocalLength: 4, FocalPlaneXResolution: 1000, FocalPlaneYResolution: 500, FocalPlaneResolutionUnit: 4, ExifImageWidth: 4000, ExifImageHeight: 3000, Orientation: 6 },
      3000,
      4000,
    )!;
    // The photo's x is the sensor's y: fx = 4·500, fy = 4·1000.
    expect(r.intrinsics).toEqual({ fx: 2000, fy: 4000, cx: 1500, cy: 2000 });
  });

  it('focal length with a known sensor width, and the 35 mm equivalent on the diagonal', () => {
    const s = intrinsicsFromExif({ FocalLength: 6 }, 4000, 3000, { sensorWidthMm: 8 })!;
    expect(s.source).toBe('exif-sensor-width');
    expect(s.intrinsics.fx).toBeCloseTo(3000, 9);
    const e = intrinsicsFromExif({ FocalLength: 6, FocalLengthIn35mmFormat: 26 }, 4000, 3000)!;
    expect(e.source).toBe('exif-35mm');
    expect(e.intrinsics.fx).toBeCloseTo((26 * 5000) / Math.hypot(36, 24), 9);
    // On a 3:2 photo the diagonal rule equals the width rule f35/36·W.
    const w = intrinsicsFromExif({ FocalLengthIn35mmFormat: 50 }, 3000, 2000)!;
    expect(w.intrinsics.fx).toBeCloseTo((50 / 36) * 3000, 9);
    expect(w.fovXDegrees).toBeCloseTo((2 * Math.atan(18 / 50) * 180) / Math.PI, 9);
  });

  it('returns undefined when no focal length is usable', () => {
    expect(intrinsicsFromExif(undefined, 10, 10)).toBeUndefined();
    expect(intrinsicsFromExif({ FocalLength: 0, FocalLengthIn35mmFormat: 0 }, 10, 10)).toBeUndefined();
    expect(intrinsicsFromExif({ FocalLength: 5 }, 10, 10)).toBeUndefined();
  });
});

describe('reading EXIF from bytes', () => {
  it('reads focal-plane tags from a JPEG', async () => {
    const jpeg = await sharp({ create: { width: 64, height: 48, channels: 3, background: '#808080' } })
      .jpeg()
      .withExif({ IFD2: { FocalLength: '42/10', FocalPlaneXResolution: '1000/1', FocalPlaneYResolution: '1000/1', FocalPlaneResolutionUnit: '4' } })
      .toBuffer();
    const tags = await readExifFocalTags(new Uint8Array(jpeg));
    expect(tags).toMatchObject({ FocalLength: 4.2, FocalPlaneXResolution: 1000, FocalPlaneResolutionUnit: 4, ExifImageWidth: 64 });
    const r = await exifIntrinsics(new Uint8Array(jpeg), 64, 48);
    expect(r?.intrinsics.fx).toBeCloseTo(4200, 6);
    // Also from an ArrayBuffer slice.
    const ab = jpeg.buffer.slice(jpeg.byteOffset, jpeg.byteOffset + jpeg.byteLength);
    expect((await exifIntrinsics(ab, 32, 24))?.intrinsics.fx).toBeCloseTo(2100, 6);
  });

  it('non-image bytes give undefined, not an error', async () => {
    expect(await readExifFocalTags(new Uint8Array([1, 2, 3, 4]))).toBeUndefined();
  });
});
