/** Harness smoke page: reports what the browser offers (WebGPU adapter, WebGL2, cross-origin isolation). */
import { expose } from './boot';

expose({
  async environment() {
    const gpu = navigator.gpu as GPU | undefined;
    const adapter = gpu ? await gpu.requestAdapter() : null;
    const info = adapter?.info;
    const gl = document.createElement('canvas').getContext('webgl2');
    return {
      webgpu: !!adapter,
      vendor: info?.vendor ?? null,
      architecture: info?.architecture ?? null,
      webgl2: !!gl,
      crossOriginIsolated: self.crossOriginIsolated,
    };
  },
});
