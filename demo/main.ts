/**
 * The Diorama demo page: pick or drop a photo (with its depth map for RGB-D, or with models configured),
 * watch the stages run in a worker, orbit the layered result from the photo's own viewpoint, inspect layers
 * and overlays, export GLB. After a model run, SAM3 prompts refine the masks: click the view to select an
 * object (shift-click removes a region from the last selection) or type text concepts; the worker answers
 * with a rebuilt scene and the camera stays where it was.
 *
 * Query parameters: `?engine=webgl|webgpu` forces an engine (default: WebGPU when available, else WebGL2);
 * `?sample=<id>` loads a bundled sample at start.
 */
import { Engine } from '@babylonjs/core/Engines/engine';
import { WebGPUEngine } from '@babylonjs/core/Engines/webgpuEngine';
import { Scene } from '@babylonjs/core/scene';
import { Color4 } from '@babylonjs/core/Maths/math.color';
import { Vector3 } from '@babylonjs/core/Maths/math.vector';
import { FreeCamera } from '@babylonjs/core/Cameras/freeCamera';
import type { AbstractEngine } from '@babylonjs/core/Engines/abstractEngine';
import type { Decomposition } from '../src/index';
import { encodePFM } from '../src/io/pfm';
import { DioramaView } from './view';
import { layerColour } from './colours';
import type { SampleInfo } from './samples';
import type { DoneMessage, ModelFileSetting, ModelSettings, Prompt, PromptOutcome, ProgressMessage, PromptRequest, RunRequest, WorkerMessage } from './protocol';

const $ = <T extends HTMLElement>(id: string): T => {
  const el = document.getElementById(id);
  if (!el) throw new Error(`demo page: missing #${id}`);
  return el as T;
};

/** What the page currently holds as input. */
interface InputState {
  photo?: File | Blob;
  photoName?: string;
  depth?: { file: Blob; name: string };
  masks?: { file: Blob; name: string; concepts?: string[] };
  intrinsics?: { fx: number; fy: number; cx: number; cy: number };
}

/** Stage names shown in the progress list, in pipeline order (model stages appear only when they run). */
const STAGE_LABELS: Record<string, string> = {
  download: 'download',
  decode: 'decode',
  load: 'load models',
  depth: 'depth (DA3)',
  segment: 'masks (SAM3)',
  embed: 'image embedding (SAM3)',
  select: 'select (SAM3)',
  concepts: 'concepts (SAM3)',
  validate: 'validate',
  masks: 'masks',
  harmonize: 'harmonize',
  layers: 'layers',
  inpaint: 'inpaint',
  mesh: 'mesh',
  scene: 'scene',
};

export class DemoApp {
  readonly input: InputState = {};
  private worker = new Worker(new URL('/app/worker.js', location.href), { type: 'module' });
  private runId = 0;
  private stageStart = new Map<string, number>();
  private _result?: DoneMessage;
  /** Prompt session of the shown result (a model run's photo kept by the worker), when SAM3 prompts can run. */
  private promptSession?: number;
  /** What the last prompt did (tests read it). */
  lastPrompt?: PromptOutcome;
  /** Incremented each time the 3D scene is (re)built. */
  sceneVersion = 0;
  private busy = false;
  view!: DioramaView;
  engine!: AbstractEngine;
  /** Resolves when a run finishes (tests and the screenshot script wait on it via window.dioramaDemo). */
  lastRun: Promise<void> = Promise.resolve();
  private resolveRun?: () => void;

  /** True once the engine, the scene and the sample list are ready (scripts and tests wait for it). */
  ready = false;

  async start(): Promise<void> {
    const canvas = $<HTMLCanvasElement>('render-canvas');
    this.engine = await createEngine(canvas);
    $('engine-badge').textContent = this.engine.isWebGPU ? 'WebGPU' : 'WebGL2';
    const scene = new Scene(this.engine);
    scene.clearColor = new Color4(0.08, 0.086, 0.1, 1);
    this.view = new DioramaView(scene, $<HTMLCanvasElement>('overlay-canvas'));
    // Until a result exists there is nothing to look at: a placeholder camera keeps the render loop valid.
    new FreeCamera('demo.placeholder', Vector3.Zero(), scene);
    this.engine.runRenderLoop(() => scene.render());
    window.addEventListener('resize', () => {
      this.engine.resize();
      this.view.drawOverlay();
    });
    this.worker.onmessage = (ev: MessageEvent<WorkerMessage>) => this.onWorkerMessage(ev.data);
    this.wireInputs();
    await this.loadSampleList();
    this.ready = true;
    const sample = new URLSearchParams(location.search).get('sample');
    if (sample) await this.useSample(sample, true);
  }

  private wireInputs(): void {
    const photoInput = $<HTMLInputElement>('photo-input');
    photoInput.addEventListener('change', () => {
      const f = photoInput.files?.[0];
      if (f) this.setPhoto(f, f.name);
    });
    $<HTMLInputElement>('depth-input').addEventListener('change', (e) => {
      const f = (e.target as HTMLInputElement).files?.[0];
      this.input.depth = f ? { file: f, name: f.name } : undefined;
      this.summarise();
    });
    $<HTMLInputElement>('masks-input').addEventListener('change', (e) => {
      const f = (e.target as HTMLInputElement).files?.[0];
      this.input.masks = f ? { file: f, name: f.name } : undefined;
      this.summarise();
    });
    const drop = $('drop-zone');
    drop.addEventListener('dragover', (e) => {
      e.preventDefault();
      drop.classList.add('over');
    });
    drop.addEventListener('dragleave', () => drop.classList.remove('over'));
    drop.addEventListener('drop', (e) => {
      e.preventDefault();
      drop.classList.remove('over');
      for (const f of Array.from(e.dataTransfer?.files ?? [])) {
        const n = f.name.toLowerCase();
        if (n.endsWith('.pfm') || n.endsWith('.npy') || /depth/.test(n)) this.input.depth = { file: f, name: f.name };
        else if (/mask|label/.test(n)) this.input.masks = { file: f, name: f.name };
        else this.setPhoto(f, f.name);
      }
      this.summarise();
    });
    $<HTMLSelectElement>('sample-select').addEventListener('change', (e) => {
      const id = (e.target as HTMLSelectElement).value;
      if (id) void this.useSample(id, true);
    });
    $('run-button').addEventListener('click', () => void this.run());
    $('cancel-button').addEventListener('click', () => this.worker.postMessage({ type: 'cancel', id: this.runId }));
    $('reset-view').addEventListener('click', () => this.view.resetCamera());
    $<HTMLSelectElement>('overlay-select').addEventListener('change', (e) => {
      this.view.setOverlay((e.target as HTMLSelectElement).value as Parameters<DioramaView['setOverlay']>[0]);
    });
    $<HTMLInputElement>('overlay-opacity').addEventListener('input', (e) => {
      this.view.overlayOpacity = Number((e.target as HTMLInputElement).value);
      this.view.drawOverlay();
    });
    $('export-glb').addEventListener('click', () => void this.exportGLB());
    $('download-depth').addEventListener('click', () => this.downloadDepth());
    this.wirePrompts();
  }

  /** Concept form, reset button and click selection on the 3D view (a click is a press without a drag). */
  private wirePrompts(): void {
    $<HTMLFormElement>('concept-form').addEventListener('submit', (e) => {
      e.preventDefault();
      const phrases = $<HTMLInputElement>('concept-input')
        .value.split(',')
        .map((p) => p.trim())
        .filter((p) => p !== '');
      if (phrases.length === 0) this.message('type one or more concepts, separated by commas (e.g. "chair, lamp")');
      else void this.prompt({ kind: 'concepts', phrases });
    });
    $('prompt-reset').addEventListener('click', () => void this.prompt({ kind: 'reset' }));
    const clickMode = $<HTMLInputElement>('click-mode');
    clickMode.addEventListener('change', () => $('view').classList.toggle('click-mode', clickMode.checked));
    const canvas = $<HTMLCanvasElement>('render-canvas');
    // The canvas position is taken at pointerdown: focusing the canvas may scroll it afterwards.
    let down: { clientX: number; clientY: number; x: number; y: number } | undefined;
    canvas.addEventListener('pointerdown', (e) => {
      const rect = canvas.getBoundingClientRect();
      down = e.button === 0 ? { clientX: e.clientX, clientY: e.clientY, x: e.clientX - rect.left, y: e.clientY - rect.top } : undefined;
    });
    canvas.addEventListener('pointerup', (e) => {
      const start = down;
      down = undefined;
      // More than a few pixels of travel is an orbit drag, not a click.
      if (!start || Math.hypot(e.clientX - start.clientX, e.clientY - start.clientY) > 4) return;
      if (!clickMode.checked || this.promptSession === undefined) return;
      void this.clickAt(start.x, start.y, e.shiftKey);
    });
  }

  /**
   * Selects the object under view point (x, y) (CSS pixels of the render canvas) with a SAM3 point prompt;
   * `negative` removes the region around the point from the last selection instead.
   */
  async clickAt(x: number, y: number, negative: boolean): Promise<void> {
    if (this.busy) return;
    const hit = this.view.pickPhotoPoint(x, y);
    if (!hit) {
      this.message('no part of the scene under the pointer: click on the photo');
      return;
    }
    await this.prompt({ kind: 'click', x: hit.x, y: hit.y, negative });
  }

  private setPhoto(blob: Blob, name: string): void {
    this.input.photo = blob;
    this.input.photoName = name;
    this.input.intrinsics = undefined;
    this.summarise();
  }

  private summarise(): void {
    const i = this.input;
    const parts = [i.photoName ? `photo: ${i.photoName}` : 'no photo yet'];
    if (i.depth) parts.push(`depth: ${i.depth.name}`);
    if (i.masks) parts.push(`masks: ${i.masks.name}`);
    if (i.photo && !i.depth) parts.push('no depth map: the depth model will run (configure it under Models)');
    $('input-summary').textContent = parts.join(' · ');
    $<HTMLButtonElement>('run-button').disabled = this.busy || !i.photo;
  }

  private async loadSampleList(): Promise<void> {
    const res = await fetch('/samples/index.json');
    const list = (await res.json()) as SampleInfo[];
    this.samples = list;
    const sel = $<HTMLSelectElement>('sample-select');
    for (const s of list) sel.add(new Option(s.title, s.id));
  }

  private samples: SampleInfo[] = [];

  /** Loads a bundled RGB-D sample; with `run`, decomposes it at once. */
  async useSample(id: string, run: boolean): Promise<void> {
    const s = this.samples.find((x) => x.id === id);
    if (!s) throw new Error(`no sample '${id}'`);
    $<HTMLSelectElement>('sample-select').value = id;
    const get = async (f: string): Promise<Blob> => (await fetch(`/samples/${f}`)).blob();
    this.setPhoto(await get(s.photo), s.photo);
    this.input.depth = { file: await get(s.depth), name: s.depth };
    this.input.masks = s.masks ? { file: await get(s.masks), name: s.masks, concepts: s.concepts } : undefined;
    this.input.intrinsics = s.intrinsics;
    this.summarise();
    if (run) await this.run();
  }

  /** The Models section: each model from its local file when one is chosen, else its URL (empty = registry default). */
  private modelSettings(): ModelSettings {
    const setting = (name: string): ModelFileSetting => {
      const file = $<HTMLInputElement>(`${name}-file`).files?.[0];
      if (file) return { file };
      const url = $<HTMLInputElement>(`${name}-url`).value.trim();
      return url ? { url } : {};
    };
    return {
      depth: setting('depth-model'),
      samEncoder: setting('sam-encoder'),
      samDecoder: setting('sam-decoder'),
      conceptVision: setting('concept-vision'),
      conceptText: setting('concept-text'),
      conceptDecoder: setting('concept-decoder'),
      conceptTokenizer: setting('concept-tokenizer'),
      segment: $<HTMLInputElement>('use-sam').checked,
      modelBaseUrl: $<HTMLInputElement>('model-base-url').value.trim() || undefined,
      executionProvider: $<HTMLSelectElement>('model-ep').value as ModelSettings['executionProvider'],
    };
  }

  /** The result on screen (the worker's last answer), for tests and scripts. */
  get result(): DoneMessage | undefined {
    return this._result;
  }

  /** Starts a worker request: new id, cleared stage list, buttons disabled until {@link finishRun}. */
  private beginRequest(): number {
    const id = ++this.runId;
    this.lastRun = new Promise((ok) => (this.resolveRun = ok));
    this.stageStart.clear();
    $('stages').replaceChildren();
    this.message('');
    this.setBusy(true);
    return id;
  }

  private setBusy(busy: boolean): void {
    this.busy = busy;
    $<HTMLButtonElement>('run-button').disabled = busy || !this.input.photo;
    $<HTMLButtonElement>('cancel-button').disabled = !busy;
    $('prompt-section').querySelectorAll<HTMLButtonElement | HTMLInputElement>('button, input').forEach((el) => (el.disabled = busy));
  }

  /**
   * Sends a SAM3 prompt on the shown model run's photo and waits for the answer (a rebuilt scene, or a
   * message when nothing changes). Ignored while another request runs or when the result has no session.
   */
  async prompt(prompt: Prompt): Promise<void> {
    if (this.busy || this.promptSession === undefined) return;
    const id = this.beginRequest();
    const req: PromptRequest = { type: 'prompt', id, session: this.promptSession, prompt, models: this.modelSettings() };
    this.worker.postMessage(req);
    await this.lastRun;
  }

  async run(): Promise<void> {
    const i = this.input;
    if (!i.photo) return;
    const models = i.depth ? undefined : this.modelSettings();
    const id = this.beginRequest();
    const req: RunRequest = {
      type: 'run',
      id,
      photo: i.photo,
      ...(i.depth ? { depth: { ...i.depth, inverse: $<HTMLInputElement>('depth-inverse').checked } } : { models }),
      ...(i.masks ? { masks: i.masks } : {}),
      ...(i.intrinsics ? { intrinsics: i.intrinsics } : {}),
    };
    this.worker.postMessage(req);
    await this.lastRun;
  }

  private onWorkerMessage(m: WorkerMessage): void {
    if (m.id !== this.runId) return;
    if (m.type === 'progress') this.progress(m.stage, m.fraction, m.detail, undefined, m.bytes);
    else if (m.type === 'error') {
      // Cancel is the user's own doing, not a failure; the scene on screen stays.
      if (m.code === 'ABORTED') this.message('cancelled');
      else this.message(`${m.code}: ${m.message}`, true);
      this.finishRun();
    } else if (m.type === 'notice') {
      // A prompt that changes nothing (e.g. a concept the presence head rejects): the scene stays.
      this.lastPrompt = m.prompt;
      this.markAllDone();
      this.message(m.message);
      this.finishRun();
    } else {
      try {
        this.showResult(m);
      } catch (e) {
        this.message(`scene: ${(e as Error).message}`, true);
      }
      this.finishRun();
    }
  }

  /** Builds the scene of a worker result (a prompt's result keeps the camera pose) and fills the panels. */
  private showResult(m: DoneMessage): void {
    const t0 = performance.now();
    this.progress('scene', 0);
    this._result = m;
    this.view.show(m, baseName(this.input.photoName), { keepCamera: !!m.prompt });
    this.sceneVersion++;
    this.progress('scene', 1, undefined, performance.now() - t0);
    // The core's own stage timings are exact (its stages interleave per layer, which the events blur).
    for (const t of m.result.stats.timings) {
      const li = $('stages').querySelector<HTMLLIElement>(`li[data-stage="${t.stage}"]`);
      if (li) li.querySelector('.time')!.textContent = `${Math.round(t.ms)} ms`;
    }
    this.renderLayerPanel(m.result);
    this.renderStats(m.result);
    const r = m.result;
    const summary = `${r.layers.length} layers from ${r.width}×${r.height} in ${Math.round(r.stats.totalMs)} ms`;
    if (m.prompt) {
      this.lastPrompt = m.prompt;
      this.message(`${m.prompt.message} · ${summary}`);
      // Point the user at the layer their selection became.
      const sel = m.prompt.selection;
      const lop = r.layerOfPixel;
      if (sel && lop) this.highlightPanelLayer(lop[Math.floor(sel.y) * r.width + Math.floor(sel.x)] ?? -1);
    } else {
      this.message(`${summary} (depth from ${m.depthSource === 'file' ? 'the file' : 'the model'})`);
    }
    this.promptSession = m.promptSession;
    $('prompt-section').hidden = m.promptSession === undefined;
    if (m.promptSession === undefined) {
      $<HTMLInputElement>('click-mode').checked = false;
      $('view').classList.remove('click-mode');
    }
    $<HTMLButtonElement>('export-glb').disabled = false;
    $<HTMLButtonElement>('download-depth').disabled = false;
  }

  private finishRun(): void {
    this.setBusy(false);
    this.resolveRun?.();
  }

  private markAllDone(): void {
    for (const li of Array.from($('stages').children) as HTMLLIElement[]) if (!li.classList.contains('done')) this.markDone(li);
  }

  private progress(stage: string, fraction: number, detail?: string, ms?: number, bytes?: ProgressMessage['bytes']): void {
    const list = $('stages');
    let li = Array.from(list.children as HTMLCollectionOf<HTMLLIElement>).find((e) => e.dataset.stage === stage);
    if (!li) {
      // A new stage means the previous ones are over.
      this.markAllDone();
      li = document.createElement('li');
      li.dataset.stage = stage;
      li.innerHTML = `<span class="name"></span><progress max="1" value="0"></progress><span class="bytes"></span><span class="time"></span>`;
      // Downloads: one bar per file ('download:<url>'), named by the file.
      const label = stage.startsWith('download:') ? `download ${stage.slice(9).split('/').pop()}` : (STAGE_LABELS[stage] ?? stage);
      li.querySelector('.name')!.textContent = label;
      list.append(li);
      this.stageStart.set(stage, performance.now());
    }
    li.querySelector('progress')!.value = fraction;
    if (detail) li.title = detail;
    if (bytes) {
      const mb = (n: number) => (n / 1e6).toFixed(n < 1e5 ? 3 : 1);
      li.dataset.loaded = String(bytes.loaded);
      if (bytes.total !== undefined) li.dataset.total = String(bytes.total);
      li.querySelector('.bytes')!.textContent = bytes.cached ? 'cached' : `${mb(bytes.loaded)} / ${bytes.total !== undefined ? mb(bytes.total) : '?'} MB`;
    }
    if (fraction >= 1) this.markDone(li, ms);
  }

  private markDone(li: HTMLLIElement, ms?: number): void {
    li.classList.add('done');
    li.querySelector('progress')!.value = 1;
    const t = ms ?? performance.now() - (this.stageStart.get(li.dataset.stage ?? '') ?? performance.now());
    li.querySelector('.time')!.textContent = `${Math.round(t)} ms`;
  }

  private message(text: string, error = false): void {
    const el = $('message');
    el.textContent = text;
    el.classList.toggle('error', error);
  }

  private renderLayerPanel(d: Decomposition): void {
    const list = $('layer-list');
    list.replaceChildren();
    $('layer-count').textContent = `(${d.layers.length})`;
    // Front layer first in the panel: it is what the eye sees first.
    for (const layer of [...d.layers].reverse()) {
      const li = document.createElement('li');
      li.dataset.layer = String(layer.index);
      const [r, g, b] = layerColour(layer.index, d.layers.length);
      const concepts = layer.concepts.length ? layer.concepts.join(', ') : '';
      li.innerHTML =
        `<input type="checkbox" checked title="show / hide">` +
        `<span><span class="swatch" style="display:inline-block;vertical-align:middle;background:rgb(${r},${g},${b})"></span> ` +
        `Layer ${layer.index}<br><span class="meta"></span></span>` +
        `<button type="button" class="solo" title="show only this layer">solo</button>` +
        `<button type="button" class="highlight" title="highlight this layer">hl</button>`;
      li.querySelector('.meta')!.textContent =
        `${layer.depthRange[0].toFixed(2)}–${layer.depthRange[1].toFixed(2)} m${concepts ? ` · ${concepts}` : ''}`;
      const box = li.querySelector('input')!;
      box.addEventListener('change', () => this.view.setLayerVisible(layer.index, box.checked));
      li.querySelector('.solo')!.addEventListener('click', () => {
        const solo = !li.classList.contains('solo-on');
        for (const other of Array.from(list.children) as HTMLLIElement[]) {
          other.classList.remove('solo-on');
          const cb = other.querySelector('input')!;
          cb.checked = !solo || other === li;
          this.view.setLayerVisible(Number(other.dataset.layer), cb.checked);
        }
        li.classList.toggle('solo-on', solo);
      });
      li.querySelector('.highlight')!.addEventListener('click', () => {
        this.highlightPanelLayer(li.classList.contains('highlight') ? -1 : layer.index);
      });
      list.append(li);
    }
  }

  /** Highlights one layer (−1: none) in the panel and the view. */
  private highlightPanelLayer(index: number): void {
    for (const li of Array.from($('layer-list').children) as HTMLLIElement[]) li.classList.toggle('highlight', Number(li.dataset.layer) === index);
    this.view.highlightLayer(index);
  }

  private renderStats(d: Decomposition): void {
    const s = d.stats;
    const lines = [
      `${s.width}×${s.height}, ${s.maskCount} masks → ${s.layerCount} layers`,
      `${s.vertexCount} vertices, ${s.triangleCount} triangles`,
      `solver: ${s.solverIterations} iterations, residual ${s.solverResidual.toExponential(1)}`,
      ...s.timings.map((t) => `${t.stage.padEnd(10)} ${Math.round(t.ms)} ms`),
      `total      ${Math.round(s.totalMs)} ms`,
      `intrinsics: fx ${d.intrinsics.fx.toFixed(1)} ${d.intrinsicsKnown ? '(given)' : '(field-of-view guess)'}`,
    ];
    $('stats').textContent = lines.join('\n');
  }

  async exportGLB(): Promise<Uint8Array> {
    const bytes = await this.view.exportGLB();
    download(new Blob([bytes as BlobPart], { type: 'model/gltf-binary' }), `${baseName(this.input.photoName)}.glb`);
    return bytes;
  }

  downloadDepth(): void {
    const r = this._result?.result;
    if (!r) return;
    const pfm = encodePFM({ width: r.width, height: r.height, data: r.harmonizedDepth });
    download(new Blob([pfm as BlobPart], { type: 'application/octet-stream' }), `${baseName(this.input.photoName)}.depth.pfm`);
  }
}

function baseName(name?: string): string {
  return (name ?? 'photo').replace(/\.[^.]+$/, '') || 'photo';
}

function download(blob: Blob, name: string): void {
  const a = document.createElement('a');
  a.href = URL.createObjectURL(blob);
  a.download = name;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(a.href), 10_000);
}

async function createEngine(canvas: HTMLCanvasElement): Promise<AbstractEngine> {
  const forced = new URLSearchParams(location.search).get('engine');
  if (forced !== 'webgl' && (await WebGPUEngine.IsSupportedAsync)) {
    try {
      const engine = new WebGPUEngine(canvas, { antialias: true, preserveDrawingBuffer: true } as ConstructorParameters<typeof WebGPUEngine>[1]);
      await engine.initAsync();
      return engine;
    } catch (e) {
      console.warn(`diorama demo: WebGPU engine failed to start (${(e as Error).message}); falling back to WebGL2`);
    }
  }
  return new Engine(canvas, true, { preserveDrawingBuffer: true, stencil: true });
}

const app = new DemoApp();
window.dioramaDemo = app;
app.start().catch((e: unknown) => {
  const el = document.getElementById('message');
  if (el) {
    el.textContent = `The demo could not start: ${(e as Error).message}`;
    el.classList.add('error');
  }
  console.error(e);
});
