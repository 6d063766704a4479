/** decompose() with Stage 1 on WebGPU (the `gpu` option) beside the CPU path, on the synthetic scene. */
import { expose, requestTestDevice } from './boot';
import { decompose } from '../../../src/core/decompose';
import { makeScene } from '../../fixtures/scene';

expose({
  async compare() {
    const device = await requestTestDevice();
    if (!device) return { available: false };
    const s = makeScene({ width: 320, height: 240, depthNoise: 0.01, seed: 5 });
    const input = { image: s.image, depth: s.depth, masks: { kind: 'labels' as const, labels: s.labels }, intrinsics: s.intrinsics };
    const cpu = await decompose(input);
    device.pushErrorScope('validation');
    const gpu = await decompose(input, { gpu: { device } });
    const validation = await device.popErrorScope();
    let maxRel = 0;
    for (let i = 0; i < cpu.harmonizedDepth.length; i++) {
      const a = cpu.harmonizedDepth[i]!;
      maxRel = Math.max(maxRel, Math.abs(gpu.harmonizedDepth[i]! - a) / a);
    }
    device.destroy();
    return {
      available: true,
      backend: gpu.stats.solverBackend,
      cpuBackend: cpu.stats.solverBackend,
      validation: validation?.message ?? null,
      maxRel,
      layers: [cpu.layers.length, gpu.layers.length],
      iterations: [cpu.stats.solverIterations, gpu.stats.solverIterations],
    };
  },
});
