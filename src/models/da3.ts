/**
 * Depth Anything 3 adapter (and Depth Anything V2 as a non-metric fallback family).
 *
 * Pre-processing (official DA3 InputProcessor, "upper_bound_resize" at 504):
 *   1. scale so the longest side is 504: w₁ = round(W·504/max(W,H)), h₁ likewise (Python's round, half to even);
 *   2. each side to the NEAREST multiple of 14 (ties upwards), at least 14;
 *   3. RGB/255, ImageNet mean (0.485, 0.456, 0.406) and std (0.229, 0.224, 0.225), NCHW float32.
 *   The official code resizes twice (steps 1 and 2); we resample once from the photo to the final size (the
 *   composition of two resizes is one per-axis scale; one pass avoids blurring twice). Area averaging when an
 *   axis shrinks, cubic when it grows (OpenCV INTER_AREA / INTER_CUBIC, as the official code chooses).
 *   A model whose input H, W are fixed numbers (e.g. 504×504 exports) gets exactly that size (aspect not kept).
 *   DA2 (HF DPT processor): target 518 "keep aspect ratio": the scale closer to 1 of 518/H and 518/W is used for
 *   both axes, then each side is rounded to a multiple of 14; fixed-size exports get their fixed size.
 *   uint8 NHWC exports (DA3_NHWC_CONTRACT, normalisation inside the graph): the photo is letterboxed into the S×S
 *   canvas (letterboxBox: uniform scale min(S/W, S/H), centred, zeros around), fed as RGB bytes; the photo's part of
 *   the output is cropped before the resize back, so the padding never reaches the depth.
 * Which contract a file follows is read from the session's inputs (runtime.createSession with DA3_CONTRACTS).
 * Post-processing: the output map (any h×w) is resized to the photo with bilinear interpolation in inverse depth
 *   (resample.ts); confidence and sky bilinearly. Intrinsics K of the processed image map to the photo by
 *   fx·W/w, cx·W/w, fy·H/h, cy·H/h (pixel-edge convention: the centre w/2 maps to W/2).
 * Metric depth by model kind (registry.ts DepthModelKind):
 *   da3-metric  metres = focal·output/300 with focal = mean(fx, fy) in PROCESSED-image pixels, fx, fy from the
 *               caller's intrinsics, else EXIF, else the FOV default (validate.ts DEFAULT_FOV_DEGREES);
 *   da3-nested  output is metres;
 *   da3-main / da3-mono  relative depth (metric: false); a main-series export's `intrinsics` output is used as the
 *               camera when the caller gives none;
 *   da2         relative disparity (quantity 'disparity', metric: false).
 * Intrinsics precedence: caller > model output > EXIF focal length > field-of-view default.
 */
import { DioramaError, throwIfAborted } from '../core/errors';
import type { Intrinsics, RGBAImage } from '../core/types';
import { DEFAULT_FOV_DEGREES } from '../core/validate';
import { type ExifFocalTags, type ExifIntrinsicsSource, type ExifOptions, intrinsicsFromExif, readExifFocalTags } from '../io/exif';
import { modelError, validatePhoto } from './errors';
import { type DepthLayout, type DepthModelKind, type LoadModelOptions, type ModelSource, loadModelBytes } from './registry';
import { resizeMap, resizeToNCHW } from './resample';
import { type CpuTensor, type ExecutionProvider, type ModelContract, type ModelRuntime, type ModelSession, defineContract } from './runtime';

export const IMAGENET_MEAN = [0.485, 0.456, 0.406] as const;
export const IMAGENET_STD = [0.229, 0.224, 0.225] as const;
/** DA3's default working resolution (longest side) and patch size. */
export const DA3_PROCESS_RES = 504;
export const DA2_PROCESS_RES = 518;
export const PATCH_SIZE = 14;

/**
 * DA3 exports with float input (NCHW, or DA3's own [batch, views, 3, H, W] with one view for a photo) → depth.
 * - onnx-community/depth-anything-v3-{small,base} (the registry default): `pixel_values` float32
 *   [batch, views, 3, H, W] → `predicted_depth` per view. DA3's forward takes x (B, N, 3, H, W)
 *   (ByteDance-Seed/Depth-Anything-3 src/depth_anything_3/model/da3.py) and its DualDPT head returns
 *   [B, S, C, H, W] (src/depth_anything_3/model/dualdpt.py), so the per-view depth is [B, N, H, W]; exports that
 *   keep or drop the channel/view axis ([B, N, 1, H, W], [B, 1, H, W], [B, H, W]) are accepted too.
 * - Depth-branch exports with `image` [B, 3, H, W] → `depth` [B, 1, H, W].
 * Optional camera outputs (conf, intrinsics, sky) are read when an export has them.
 */
export const DA3_CONTRACT: ModelContract = defineContract({
  id: 'depth-anything-3',
  inputs: [{ name: 'image', aliases: ['pixel_values', 'images', 'input'], types: ['float32'], shapes: [['B', 3, 'H', 'W'], ['B', 'N', 3, 'H', 'W']] }],
  outputs: [
    {
      name: 'depth',
      aliases: ['predicted_depth', 'depths', 'output'],
      types: ['float32'],
      shapes: [['B', 1, 'h', 'w'], ['B', 'h', 'w'], ['B', 'N', 'h', 'w'], ['B', 'N', 1, 'h', 'w']],
    },
    { name: 'conf', aliases: ['confidence', 'depth_conf'], types: ['float32'], shapes: [['B', 1, 'h', 'w'], ['B', 'h', 'w'], ['B', 'N', 'h', 'w']], optional: true },
    { name: 'intrinsics', aliases: ['K', 'intrinsic'], types: ['float32'], shapes: [['B', 1, 3, 3], ['B', 3, 3], ['B', 'N', 3, 3]], optional: true },
    { name: 'sky', aliases: ['sky_mask'], types: ['float32'], shapes: [['B', 1, 'h', 'w'], ['B', 'h', 'w'], ['B', 'N', 'h', 'w']], optional: true },
  ],
});

/**
 * The second DA3 contract: channels-last uint8 exports with the normalisation folded into the graph
 * (zerochocobo/DepthAnything3_ONNX da3_small.onnx / da3_base.onnx): uint8 RGB [B, S, S, 3] (S = 518, or 1036 for the
 * "_1036" files), the photo letterboxed into the square (scale = min(S/W, S/H), centred, black padding) → one
 * S×S depth map per image. Source of the layout: a public consumer of these files (offline/da3_depth.py,
 * "Folded-preprocess models take a uint8 (B,size,size,3) canvas and do the ImageNet normalize on-device").
 */
export const DA3_NHWC_CONTRACT: ModelContract = defineContract({
  id: 'depth-anything-3-nhwc-uint8',
  inputs: [{ name: 'image', aliases: ['pixel_values', 'images', 'input'], types: ['uint8'], shapes: [['B', 'H', 'W', 3]] }],
  outputs: [{ name: 'depth', aliases: ['predicted_depth', 'depths', 'output'], types: ['float32'], shapes: [['B', 'h', 'w'], ['B', 1, 'h', 'w']] }],
});

/** The DA3 contracts, in the order a session is matched against them (the adapter follows the one that fits). */
export const DA3_CONTRACTS: readonly ModelContract[] = Object.freeze([DA3_CONTRACT, DA3_NHWC_CONTRACT]);

/** Depth Anything V2 exports: `pixel_values` [B,3,H,W] → `predicted_depth` [B,h,w] (disparity). */
export const DA2_CONTRACT: ModelContract = defineContract({
  id: 'depth-anything-v2',
  inputs: [{ name: 'pixel_values', aliases: ['image', 'input'], types: ['float32'], shapes: [['B', 3, 'H', 'W']] }],
  outputs: [{ name: 'predicted_depth', aliases: ['depth', 'output'], types: ['float32'], shapes: [['B', 'h', 'w'], ['B', 1, 'h', 'w']] }],
});

/** Python's round(): half to even. */
function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/** Nearest multiple of p, ties upwards (DA3 `_make_divisible_by_resize`), at least p. */
function nearestMultiple(x: number, p: number): number {
  const down = Math.floor(x / p) * p;
  const up = down + p;
  return Math.max(p, up - x <= x - down ? up : down);
}

/** DA3's processing size for a W×H photo (upper_bound_resize at `res`, then multiples of 14). */
export function da3ProcessingSize(W: number, H: number, res = DA3_PROCESS_RES): { width: number; height: number } {
  const longest = Math.max(W, H);
  const s = res / longest;
  const w1 = longest === res ? W : Math.max(1, roundHalfEven(W * s));
  const h1 = longest === res ? H : Math.max(1, roundHalfEven(H * s));
  return { width: nearestMultiple(w1, PATCH_SIZE), height: nearestMultiple(h1, PATCH_SIZE) };
}

/** DA2's processing size (HF DPT processor, keep_aspect_ratio, ensure_multiple_of 14). */
export function da2ProcessingSize(W: number, H: number, res = DA2_PROCESS_RES): { width: number; height: number } {
  let sw = res / W;
  let sh = res / H;
  if (Math.abs(1 - sw) < Math.abs(1 - sh)) sh = sw;
  else sw = sh;
  const m = (v: number) => Math.max(PATCH_SIZE, Math.round(v / PATCH_SIZE) * PATCH_SIZE);
  return { width: m(W * sw), height: m(H * sh) };
}

export type IntrinsicsSource = 'caller' | 'model' | ExifIntrinsicsSource | 'fov-default';

export interface DepthResult {
  width: number;
  height: number;
  /** width·height values at the photo's resolution: depth (metres when `metric`) or, for DA2, disparity. */
  depth: Float32Array;
  /** 'depth' = Z along the optical axis; 'disparity' = relative inverse depth (up to scale and shift). */
  quantity: 'depth' | 'disparity';
  /** True when `depth` is in metres. */
  metric: boolean;
  kind: DepthModelKind;
  /** Intrinsics in photo pixels and where they came from. */
  intrinsics: Intrinsics;
  intrinsicsSource: IntrinsicsSource;
  /** Per-pixel confidence (≥ 1 for DA3) when the export has it. */
  confidence?: Float32Array;
  /** Per-pixel sky score when the export has it. */
  sky?: Float32Array;
  /** Input layout of the export that ran (float NCHW / [B,N,3,H,W], or uint8 NHWC letterboxed). */
  layout: DepthLayout;
  /** The size the model ran at. */
  processedWidth: number;
  processedHeight: number;
  provider: ExecutionProvider;
  timings: { preprocessMs: number; inferenceMs: number; postprocessMs: number };
}

export interface EstimateOptions {
  signal?: AbortSignal;
  /** Known intrinsics of the photo (pixels): used as is, and for the metric conversion. */
  intrinsics?: Intrinsics;
  /** The photo's encoded bytes (read for EXIF focal length) or already-read EXIF tags. */
  exif?: Uint8Array | ArrayBuffer | Blob | ExifFocalTags;
  /** EXIF options (sensor width). */
  exifOptions?: ExifOptions;
  /** Horizontal FOV (degrees, over the longer side) when nothing better is known. Default DEFAULT_FOV_DEGREES. */
  fieldOfView?: number;
}

export interface DepthModelOptions extends LoadModelOptions {
  /** What the output means. Default: the registry entry's kind, else 'da3-main'. */
  kind?: DepthModelKind;
  /** Working resolution (DA3 longest side, DA2 target). Defaults 504 / 518. */
  processRes?: number;
}

/** Side of the square canvas of a uint8 NHWC export whose input size is symbolic (the public files are 518). */
export const DA3_NHWC_SIDE = 518;

/**
 * Where the photo sits in a letterboxed S×S canvas (the NHWC export's preprocessing): scale = min(S/W, S/H),
 * size round(W·scale) × round(H·scale) (at least 1), centred with floor((S − size)/2) — as the public consumer of
 * those files does (offline/da3_depth.py `_letterbox`).
 */
export function letterboxBox(W: number, H: number, S: number): { x0: number; y0: number; width: number; height: number } {
  const scale = Math.min(S / W, S / H);
  const width = Math.min(S, Math.max(1, Math.round(W * scale)));
  const height = Math.min(S, Math.max(1, Math.round(H * scale)));
  return { x0: Math.floor((S - width) / 2), y0: Math.floor((S - height) / 2), width, height };
}

/** A loaded depth model. Create with loadDepthModel(); reuse across photos; dispose() when done. */
export class DepthModel {
  /** The input layout of the export, from the contract the session matched. */
  readonly layout: DepthLayout;

  constructor(
    readonly session: ModelSession,
    readonly kind: DepthModelKind,
    readonly processRes: number,
  ) {
    this.layout = session.contract.id === DA3_NHWC_CONTRACT.id ? 'nhwc-uint8' : 'nchw-float';
  }

  /** The fixed [H, W] of the model input, or undefined when dynamic. */
  get fixedInputSize(): [number, number] | undefined {
    const b = this.session.inputs.get(this.kind === 'da2' ? 'pixel_values' : 'image');
    const s = b?.shape;
    if (!s) return undefined;
    const nhwc = this.layout === 'nhwc-uint8';
    const h = nhwc ? s[1] : s[s.length - 2];
    const w = nhwc ? s[2] : s[s.length - 1];
    return typeof h === 'number' && typeof w === 'number' && h > 0 && w > 0 ? [h, w] : undefined;
  }

  /** The size a W×H photo is processed at (for NHWC exports: the square canvas). */
  processingSize(W: number, H: number): { width: number; height: number } {
    const fixed = this.fixedInputSize;
    if (fixed) return { width: fixed[1], height: fixed[0] };
    if (this.layout === 'nhwc-uint8') return { width: DA3_NHWC_SIDE, height: DA3_NHWC_SIDE };
    return this.kind === 'da2' ? da2ProcessingSize(W, H, this.processRes) : da3ProcessingSize(W, H, this.processRes);
  }

  /**
   * The uint8 NHWC canvas of a photo: RGB bytes of the photo resized (area when shrinking, cubic when growing,
   * like the float path; rounded to the nearest byte) into its letterbox box, zeros around it.
   */
  private _letterbox(image: RGBAImage, w: number, h: number): { data: Uint8Array; box: { x0: number; y0: number; width: number; height: number } } {
    const box = letterboxBox(image.width, image.height, Math.min(w, h));
    // resizeToNCHW computes (v/255 − mean)/std; mean 0 and std 1/255 give the resampled byte value itself.
    const inv = 1 / 255;
    const planes = resizeToNCHW(image, box.width, box.height, [0, 0, 0], [inv, inv, inv]);
    const data = new Uint8Array(w * h * 3);
    const n = box.width * box.height;
    for (let y = 0; y < box.height; y++) {
      for (let x = 0; x < box.width; x++) {
        const src = y * box.width + x;
        const dst = ((box.y0 + y) * w + box.x0 + x) * 3;
        for (let c = 0; c < 3; c++) {
          const v = Math.round(planes[c * n + src]!);
          data[dst + c] = v < 0 ? 0 : v > 255 ? 255 : v;
        }
      }
    }
    return { data, box };
  }

  /** Runs the model on a photo and returns depth at the photo's resolution. */
  async estimate(image: RGBAImage, options: EstimateOptions = {}): Promise<DepthResult> {
    const { signal } = options;
    throwIfAborted(signal);
    validatePhoto(image);
    const W = image.width;
    const H = image.height;
    const da2 = this.kind === 'da2';
    const t0 = performance.now();
    const { width: w, height: h } = this.processingSize(W, H);
    const inName = da2 ? 'pixel_values' : 'image';
    const nhwc = this.layout === 'nhwc-uint8';
    let feed: CpuTensor;
    let box: { x0: number; y0: number; width: number; height: number } | undefined;
    if (nhwc) {
      const lb = this._letterbox(image, w, h);
      box = lb.box;
      feed = { type: 'uint8', dims: [1, h, w, 3], data: lb.data };
    } else {
      const pixels = resizeToNCHW(image, w, h, IMAGENET_MEAN, IMAGENET_STD);
      const rank = this.session.inputs.get(inName)?.shape?.length ?? 4;
      // DA3's own layout: [batch, views, 3, H, W] with one view for a photo.
      feed = { type: 'float32', dims: rank === 5 ? [1, 1, 3, h, w] : [1, 3, h, w], data: pixels };
    }
    const t1 = performance.now();
    const out = await this.session.run({ [inName]: feed }, { signal });
    const t2 = performance.now();
    throwIfAborted(signal);

    const raw = out[da2 ? 'predicted_depth' : 'depth']!;
    let [oh, ow] = [raw.dims[raw.dims.length - 2]!, raw.dims[raw.dims.length - 1]!];
    if (raw.dims[0] !== 1 || raw.data.length !== oh * ow) {
      throw modelError('MODEL_CONTRACT', `depth output has shape [${raw.dims.join(',')}]; expected one map for one image (and one view)`);
    }
    let mainData = raw.data as Float32Array;
    if (box) {
      // Crop the photo's part of the letterboxed map (scaled when the output grid differs from the input's).
      const sx = ow / w;
      const sy = oh / h;
      const cx0 = Math.max(0, Math.round(box.x0 * sx));
      const cy0 = Math.max(0, Math.round(box.y0 * sy));
      const cw = Math.max(1, Math.min(ow - cx0, Math.round(box.width * sx)));
      const ch = Math.max(1, Math.min(oh - cy0, Math.round(box.height * sy)));
      const crop = new Float32Array(cw * ch);
      for (let y = 0; y < ch; y++) crop.set(mainData.subarray((cy0 + y) * ow + cx0, (cy0 + y) * ow + cx0 + cw), y * cw);
      mainData = crop;
      ow = cw;
      oh = ch;
    }

    // Intrinsics: caller > model output > EXIF > FOV default.
    let intrinsics: Intrinsics | undefined;
    let source: IntrinsicsSource = 'fov-default';
    if (options.intrinsics) {
      intrinsics = { ...options.intrinsics };
      source = 'caller';
    } else if (out.intrinsics && !box) {
      const k = out.intrinsics.data as Float32Array;
      // Row-major 3×3 in processed pixels: fx = K[0], cx = K[2], fy = K[4], cy = K[5].
      intrinsics = { fx: (k[0]! * W) / w, fy: (k[4]! * H) / h, cx: (k[2]! * W) / w, cy: (k[5]! * H) / h };
      source = 'model';
    } else if (options.exif) {
      const tags = isTags(options.exif) ? options.exif : await readExifFocalTags(options.exif);
      const e = intrinsicsFromExif(tags, W, H, options.exifOptions);
      if (e) {
        intrinsics = e.intrinsics;
        source = e.source;
      }
    }
    if (!intrinsics) {
      const fov = options.fieldOfView ?? DEFAULT_FOV_DEGREES;
      if (!(fov > 0 && fov < 180)) throw new DioramaError('INVALID_OPTION', `fieldOfView must be in (0, 180) degrees; found ${fov}`);
      const f = Math.max(W, H) / 2 / Math.tan((fov * Math.PI) / 360);
      intrinsics = { fx: f, fy: f, cx: W / 2, cy: H / 2 };
    }

    // Metric scale: DA3Metric's canonical focal is 300 px in the processed image.
    let scale = 1;
    let metric = false;
    if (this.kind === 'da3-metric') {
      // Focal in processed-image pixels: per-axis scales w/W, h/H, or the letterbox's one uniform scale.
      const sx = box ? box.width / W : w / W;
      const sy = box ? box.height / H : h / H;
      const focal = (intrinsics.fx * sx + intrinsics.fy * sy) / 2;
      scale = focal / 300;
      metric = true;
    } else if (this.kind === 'da3-nested') {
      metric = true;
    }
    const depth = resizeMap(mainData, ow, oh, W, H, { inverse: true, scale });
    const result: DepthResult = {
      width: W,
      height: H,
      depth,
      quantity: da2 ? 'disparity' : 'depth',
      metric,
      kind: this.kind,
      intrinsics,
      intrinsicsSource: source,
      processedWidth: w,
      processedHeight: h,
      layout: this.layout,
      provider: this.session.provider,
      timings: { preprocessMs: t1 - t0, inferenceMs: t2 - t1, postprocessMs: 0 },
    };
    for (const [key, field] of [
      ['conf', 'confidence'],
      ['sky', 'sky'],
    ] as const) {
      const t = out[key];
      if (!t) continue;
      const th = t.dims[t.dims.length - 2]!;
      const tw = t.dims[t.dims.length - 1]!;
      result[field] = resizeMap(t.data as Float32Array, tw, th, W, H);
    }
    result.timings.postprocessMs = performance.now() - t2;
    return result;
  }

  dispose(): Promise<void> {
    return this.session.dispose();
  }
}

function isTags(v: unknown): v is ExifFocalTags {
  return !!v && typeof v === 'object' && !(v instanceof Uint8Array) && !(v instanceof ArrayBuffer) && !(typeof Blob !== 'undefined' && v instanceof Blob);
}

/**
 * Loads a depth model (DA3 by default; `kind: 'da2'` or a DA2 registry id for the V2 fallback) onto `runtime`.
 * @throws MODEL_FETCH / MODEL_INTEGRITY / MODEL_LOAD / MODEL_CONTRACT
 */
export async function loadDepthModel(runtime: ModelRuntime, source: ModelSource, options: DepthModelOptions = {}): Promise<DepthModel> {
  const loaded = await loadModelBytes(source, {
    ...options,
    onWarning: options.onWarning ?? ((m) => runtime.warn(m)),
    choosePrecision: options.choosePrecision ?? ((r, a) => runtime.choosePrecision(r, a)),
  });
  const kind: DepthModelKind = options.kind ?? loaded.entry?.kind ?? 'da3-main';
  // DA3: the session's inputs pick the contract (float NCHW/5-D, or uint8 NHWC).
  const session = await runtime.createSession(loaded, kind === 'da2' ? [DA2_CONTRACT] : DA3_CONTRACTS);
  return new DepthModel(session, kind, options.processRes ?? (kind === 'da2' ? DA2_PROCESS_RES : DA3_PROCESS_RES));
}
