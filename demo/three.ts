/**
 * The three.js example page of the demo (/three): a sample RGB-D scene loaded with `DioramaLoader`
 * (`diorama/three` on WebGLRenderer, `diorama/three/webgpu` on WebGPURenderer), the photo camera with
 * OrbitControls limited to the orbit range, and a GLB export. `?sample=<id>&renderer=webgl|webgpu` selects
 * the scene and renderer; `window.dioramaThree` exposes the state for tests.
 */
import { Scene, WebGLRenderer, type PerspectiveCamera } from 'three';
import { OrbitControls } from 'three/addons/controls/OrbitControls.js';
import { WebGPURenderer } from 'three/webgpu';
import { DioramaLoader, exportDioramaGLB, type Diorama } from '../src/three/index';
import { DioramaLoader as DioramaLoaderWebGPU } from '../src/three/webgpu';
import { decodeGreyPNG } from '../src/io/png16';
import type { MasksInput } from '../src/core/types';
import type { SampleInfo } from './samples';

declare global {
  interface Window {
    dioramaThree?: { ready: boolean; error?: string; renderer: string; layers: number; width: number; height: number; diorama?: Diorama };
  }
}

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const params = new URLSearchParams(location.search);
const kind = params.get('renderer') === 'webgpu' ? 'webgpu' : 'webgl';

/** The sample's label PNG (0 = none, k = mask k − 1) as a label map. */
async function loadMasks(url: string, concepts: string[]): Promise<MasksInput> {
  const grey = await decodeGreyPNG(new Uint8Array(await (await fetch(url)).arrayBuffer()));
  const labels = new Int32Array(grey.data.length);
  for (let i = 0; i < labels.length; i++) labels[i] = grey.data[i]! - 1;
  return { kind: 'labels', labels, concepts };
}

async function main(): Promise<void> {
  const samples = (await (await fetch('/samples/index.json')).json()) as SampleInfo[];
  const sample = samples.find((s) => s.id === params.get('sample')) ?? samples[0]!;
  const select = $<HTMLSelectElement>('sample');
  for (const s of samples) select.add(new Option(s.title, s.id, false, s.id === sample.id));
  $<HTMLSelectElement>('renderer').value = kind;
  const reload = () => (location.search = `?sample=${select.value}&renderer=${$<HTMLSelectElement>('renderer').value}`);
  select.onchange = reload;
  $<HTMLSelectElement>('renderer').onchange = reload;
  const status = $('status');

  let renderer: WebGLRenderer | WebGPURenderer;
  if (kind === 'webgpu') {
    const r = new WebGPURenderer({ antialias: true });
    await r.init();
    renderer = r;
  } else {
    renderer = new WebGLRenderer({ antialias: true });
  }
  $('view').appendChild(renderer.domElement);
  const scene = new Scene();

  const Loader = kind === 'webgpu' ? DioramaLoaderWebGPU : DioramaLoader;
  const loader = new Loader().setPath('/samples/').setOptions({
    depth: sample.depth,
    intrinsics: sample.intrinsics,
    ...(sample.masks ? { masks: await loadMasks(`/samples/${sample.masks}`, sample.concepts) } : {}),
    onStageChanged: (e) => (status.textContent = `${e.stage} ${Math.round(e.fraction * 100)} %`),
  });
  const diorama = await loader.loadAsync(sample.photo);
  scene.add(diorama.scene);
  // The photo's aspect, at most the window's width.
  const scale = Math.min(1, (innerWidth - 24) / diorama.width);
  renderer.setSize(Math.round(diorama.width * scale), Math.round(diorama.height * scale));
  const camera: PerspectiveCamera = diorama.camera;
  const controls = new OrbitControls(camera, renderer.domElement);
  diorama.applyOrbitLimits(controls);
  renderer.setAnimationLoop(() => {
    controls.update();
    renderer.render(scene, camera);
  });
  status.textContent = `${diorama.layers.length} layers · ${kind === 'webgpu' ? 'WebGPURenderer' : 'WebGLRenderer'} · drag to orbit`;
  $<HTMLButtonElement>('export').onclick = async () => {
    const blob = await exportDioramaGLB(diorama, { as: 'blob' });
    const a = document.createElement('a');
    a.href = URL.createObjectURL(blob);
    a.download = `${diorama.scene.name}.glb`;
    a.click();
    setTimeout(() => URL.revokeObjectURL(a.href), 10_000);
  };
  window.dioramaThree = { ready: true, renderer: kind, layers: diorama.layers.length, width: diorama.width, height: diorama.height, diorama };
}

main().catch((e: unknown) => {
  const msg = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
  $('status').textContent = msg;
  window.dioramaThree = { ready: false, error: msg, renderer: kind, layers: 0, width: 0, height: 0 };
  console.error(e);
});
