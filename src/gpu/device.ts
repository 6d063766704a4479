/**
 * Device handling shared by the GPU drivers: where the GPUDevice comes from, what happens when it is lost,
 * how our buffers are counted, and how WebGPU errors become DioramaErrors.
 *
 * - A caller's device (Babylon's `WebGPUEngine._device`, the device shared with onnxruntime-web) is used
 *   as is; otherwise {@link acquireGpuDevice} requests one of our own through `navigator.gpu`, once per
 *   page, and requests a fresh one after a loss.
 * - Loss is watched through `device.lost`: a lost device is remembered (WeakSet, so it can still be
 *   collected) and every driver call on it takes the CPU path, with one warning per device.
 * - No WebGPU at all (Node, a browser without it, a WebGL engine): {@link acquireGpuDevice} returns null
 *   and logs one line per page; callers run the CPU path.
 * - Every buffer a driver creates goes through {@link createTrackedBuffer} / {@link destroyTrackedBuffer},
 *   so tests (and careful users) can check that repeated runs and dispose leave nothing behind.
 */
import { DioramaError } from '../core/errors';
import { MapMode, navigatorGpu, type GpuBuffer, type GpuBufferDescriptor, type GpuDevice, type GpuError } from './webgpu';

/**
 * Error code used for a lost or failing GPU device. DioramaErrorCode has no GPU-specific code yet; the
 * solver code is the nearest (the computation failed, the inputs were fine).
 */
const GPU_FAILURE_CODE = 'SOLVER_FAILED' as const;

const gpuFailures = new WeakSet<object>();

/**
 * A DioramaError for a failure of the GPU itself (device lost, out of memory, limits too small), after which
 * a call whose inputs are on the CPU can still finish on the CPU path. See {@link isGpuFailure}.
 */
export function gpuFailure(message: string, cause?: unknown): DioramaError {
  const e = new DioramaError(GPU_FAILURE_CODE, message, cause === undefined ? undefined : { cause });
  gpuFailures.add(e);
  return e;
}

/** True for errors made by {@link gpuFailure}: the GPU failed, not the inputs nor the code. */
export function isGpuFailure(e: unknown): boolean {
  return typeof e === 'object' && e !== null && gpuFailures.has(e);
}

interface DeviceState {
  lost: boolean;
  lostMessage: string;
  warned: boolean;
  /** Rejects with a GPU-failure DioramaError once the device is lost (never settles otherwise). */
  lostRejection: Promise<never>;
}

const states = new WeakMap<GpuDevice, DeviceState>();

/** Per-device state, watching `device.lost` from the first call on. */
function deviceState(device: GpuDevice): DeviceState {
  let s = states.get(device);
  if (!s) {
    const state: DeviceState = { lost: false, lostMessage: '', warned: false, lostRejection: undefined as unknown as Promise<never> };
    s = state;
    states.set(device, state);
    state.lostRejection = device.lost.then((info) => {
      state.lost = true;
      state.lostMessage = `${info.reason || 'unknown'}: ${info.message}`;
      throw gpuFailure(`the WebGPU device was lost (${state.lostMessage})`);
    });
    state.lostRejection.catch(() => undefined);
  }
  return s;
}

/** True once `device.lost` has resolved. */
export function isDeviceLost(device: GpuDevice): boolean {
  return deviceState(device).lost;
}

/**
 * Reports a GPU failure that makes the call fall back to the CPU: one console warning per device (the
 * first failure), so a lost device does not flood the log when many calls fall back.
 */
export function warnFallback(device: GpuDevice, what: string, err: unknown): void {
  const s = deviceState(device);
  if (s.warned) return;
  s.warned = true;
  const detail = err instanceof Error ? err.message : String(err);
  console.warn(`diorama: ${what} failed on the GPU (${detail}); using the CPU path for this call and later calls on this device`);
}

let loggedNoWebGpu = false;

/** Logs, once per page, that WebGPU is unavailable and the CPU path is used. */
function logNoWebGpu(reason: string): void {
  if (loggedNoWebGpu) return;
  loggedNoWebGpu = true;
  console.info(`diorama: WebGPU is not available (${reason}); using the CPU path`);
}

let ownDevice: Promise<GpuDevice | null> | undefined;

/**
 * The device to run on: `device` when given (as is, lost or not: callers check), else a device of our own
 * from `navigator.gpu` (requested once and shared by later calls; requested again after a loss). Resolves to
 * null, after one log line per page, when the environment has no WebGPU or no adapter.
 *
 * Our own device asks for the adapter's full storage-buffer binding and buffer sizes, so 4K grids fit.
 */
export async function acquireGpuDevice(device?: GpuDevice | null): Promise<GpuDevice | null> {
  if (device) return device;
  if (!ownDevice) {
    ownDevice = (async () => {
      const gpu = navigatorGpu();
      if (!gpu) {
        logNoWebGpu('navigator.gpu is undefined');
        return null;
      }
      const adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' }).catch(() => null);
      if (!adapter) {
        logNoWebGpu('requestAdapter() returned no adapter');
        return null;
      }
      const dev = await adapter.requestDevice({
        label: 'diorama',
        requiredLimits: {
          maxStorageBufferBindingSize: adapter.limits.maxStorageBufferBindingSize,
          maxBufferSize: adapter.limits.maxBufferSize,
        },
      }).catch((e: unknown) => {
        logNoWebGpu(`requestDevice() failed: ${e instanceof Error ? e.message : String(e)}`);
        return null;
      });
      if (dev) deviceState(dev); // watch for loss from now on
      return dev;
    })();
  }
  const pending = ownDevice;
  const dev = await pending;
  if (dev && isDeviceLost(dev)) {
    // Only the first caller to see the loss drops it; concurrent callers then share its new request.
    if (ownDevice === pending) ownDevice = undefined;
    return acquireGpuDevice();
  }
  return dev;
}

// ---------------------------------------------------------------------------------------------------------
// Buffer accounting

/** Buffers created and destroyed by the drivers on one device. */
export interface GpuBufferStats {
  /** Buffers created by the drivers and not yet destroyed (or handed to the caller). */
  live: number;
  /** Bytes of the live buffers. */
  liveBytes: number;
  created: number;
  destroyed: number;
  /** Buffers handed to the caller (e.g. a solution kept on the GPU); the caller destroys them. */
  handedOut: number;
}

interface Tracker {
  live: Set<GpuBuffer>;
  liveBytes: number;
  created: number;
  destroyed: number;
  handedOut: number;
}

const trackers = new WeakMap<GpuDevice, Tracker>();

function tracker(device: GpuDevice): Tracker {
  let t = trackers.get(device);
  if (!t) {
    t = { live: new Set(), liveBytes: 0, created: 0, destroyed: 0, handedOut: 0 };
    trackers.set(device, t);
  }
  return t;
}

/** createBuffer, counted. */
export function createTrackedBuffer(device: GpuDevice, desc: GpuBufferDescriptor): GpuBuffer {
  const buf = device.createBuffer(desc);
  const t = tracker(device);
  t.live.add(buf);
  t.liveBytes += desc.size;
  t.created++;
  return buf;
}

/** destroy, counted (a buffer not tracked, or already destroyed, is left alone). */
export function destroyTrackedBuffer(device: GpuDevice, buf: GpuBuffer | undefined): void {
  if (!buf) return;
  const t = tracker(device);
  if (!t.live.delete(buf)) return;
  t.liveBytes -= buf.size;
  t.destroyed++;
  buf.destroy();
}

/** Stops counting a buffer that is given to the caller, who now owns (and destroys) it. */
export function handOutTrackedBuffer(device: GpuDevice, buf: GpuBuffer): void {
  const t = tracker(device);
  if (!t.live.delete(buf)) return;
  t.liveBytes -= buf.size;
  t.handedOut++;
}

/** Buffer counts of the drivers on `device` (all zero before the first call). */
export function gpuBufferStats(device: GpuDevice): GpuBufferStats {
  const t = tracker(device);
  return { live: t.live.size, liveBytes: t.liveBytes, created: t.created, destroyed: t.destroyed, handedOut: t.handedOut };
}

// ---------------------------------------------------------------------------------------------------------
// Errors

/**
 * Runs synchronous WebGPU work (buffer creation, encoding, submission) inside validation and out-of-memory
 * error scopes. The scopes are pushed and popped around synchronous code only, so work that other code
 * (an engine sharing the device) issues in between our awaits is never attributed to us.
 * Returns the work's result and a promise that rejects with a DioramaError when a scope caught an error.
 */
export function scoped<T>(device: GpuDevice, what: string, work: () => T): { value: T; errors: Promise<void> } {
  device.pushErrorScope('out-of-memory');
  device.pushErrorScope('validation');
  let value: T;
  let thrown: unknown;
  let failed = false;
  try {
    value = work();
  } catch (e) {
    failed = true;
    thrown = e;
  }
  const validation = device.popErrorScope();
  const oom = device.popErrorScope();
  if (failed) {
    validation.catch(() => undefined);
    oom.catch(() => undefined);
    throw thrown;
  }
  const errors = Promise.all([validation, oom]).then(([v, o]: [GpuError | null, GpuError | null]) => {
    if (o) throw gpuFailure(`${what}: the GPU ran out of memory (${o.message})`);
    if (v) throw new DioramaError('INTERNAL', `${what}: WebGPU validation error: ${v.message}`);
  });
  errors.catch(() => undefined); // observed by the caller; avoid an unhandled rejection in between
  return { value: value!, errors };
}

/** Throws a GPU-failure DioramaError when the device is already lost. */
export function assertDeviceAlive(device: GpuDevice, what: string): void {
  const s = deviceState(device);
  if (s.lost) throw gpuFailure(`${what}: the WebGPU device was lost (${s.lostMessage})`);
}

/**
 * Maps a MAP_READ buffer and copies `bytes` bytes out of it; rejects with a DioramaError when the device is
 * lost meanwhile (a map on a lost device may reject or never settle, depending on the browser).
 */
export async function readBuffer(device: GpuDevice, buf: GpuBuffer, bytes: number, what: string): Promise<ArrayBuffer> {
  assertDeviceAlive(device, what);
  try {
    await Promise.race([buf.mapAsync(MapMode.READ, 0, bytes), deviceState(device).lostRejection]);
  } catch (e) {
    if (isGpuFailure(e)) throw gpuFailure(`${what}: ${(e as Error).message}`, e);
    throw gpuFailure(`${what}: reading back a GPU buffer failed (${e instanceof Error ? e.message : String(e)})`, e);
  }
  const out = buf.getMappedRange(0, bytes).slice(0);
  buf.unmap();
  return out;
}
