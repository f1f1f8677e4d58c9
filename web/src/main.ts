/**
 * The page: model, photo and method choices on the left, heatmaps on the right. The engine
 * runs in a worker (client.ts / worker.ts); this file wires the controls to it.
 */
import { CATALOGUE, COLORMAP_NAMES, FIT_MODES, PRESET_NAMES, type ColormapName, type FitMode, type InputSpec, type PresetName } from '../../src/core.js';
import { EngineClient, EngineError } from './client.js';
import { applies, methodsUi, smoothingUi, type MethodUi, type OptionControl } from './methods-ui.js';
import { decodePhoto, displaySize, drawPhoto, PhotoError } from './photo.js';
import type { Backend, BackendSummary, ModelSummary, NamedBytes, PhotoData, PhotoPredictions } from './protocol.js';
import { createTile, fillTile, formatMs, h, type DisplayOptions, type Tile } from './tiles.js';
import demoModelUrl from '../../assets/demo/demo-cnn.onnx?url';
import demoLabelsUrl from '../../assets/demo/labels.json?url';
import demoPreprocessUrl from '../../assets/demo/preprocess.json?url';
import imagenetLabelsUrl from '../../assets/imagenet-labels.json?url';

const DEMO_PHOTOS = import.meta.glob<string>('../../assets/demo/images/demo-*[0-9].png', { eager: true, query: '?url', import: 'default' });

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const ui = {
  backend: $<HTMLSelectElement>('backend'),
  status: $<HTMLSpanElement>('engine-status'),
  modelSelect: $<HTMLSelectElement>('model-select'),
  modelFiles: $<HTMLInputElement>('model-files'),
  modelDrop: $<HTMLDivElement>('model-drop'),
  modelInfo: $<HTMLParagraphElement>('model-info'),
  preprocess: $<HTMLSelectElement>('preprocess'),
  fit: $<HTMLSelectElement>('fit'),
  demoPhotos: $<HTMLDivElement>('demo-photos'),
  photoFile: $<HTMLInputElement>('photo-file'),
  photoDrop: $<HTMLDivElement>('photo-drop'),
  layer: $<HTMLSelectElement>('layer'),
  methods: $<HTMLFieldSetElement>('methods'),
  smoothing: $<HTMLFieldSetElement>('smoothing'),
  error: $<HTMLDivElement>('error'),
  notice: $<HTMLDivElement>('notice'),
  preview: $<HTMLCanvasElement>('photo-preview'),
  photoName: $<HTMLParagraphElement>('photo-name'),
  targets: $<HTMLDivElement>('targets'),
  run: $<HTMLButtonElement>('run'),
  cancel: $<HTMLButtonElement>('cancel'),
  progress: $<HTMLProgressElement>('progress'),
  progressText: $<HTMLSpanElement>('progress-text'),
  opacity: $<HTMLInputElement>('opacity'),
  colormap: $<HTMLSelectElement>('colormap'),
  hover: $<HTMLSpanElement>('hover'),
  tiles: $<HTMLDivElement>('tiles'),
  footerEngine: $<HTMLSpanElement>('footer-engine'),
};

interface ModelChoice {
  main: string;
  files: NamedBytes[];
  source: string;
  labels?: string[];
  preset?: PresetName;
  fit?: FitMode;
}

const state = {
  client: undefined as EngineClient | undefined,
  backend: 'wasm' as Backend,
  engine: undefined as BackendSummary | undefined,
  model: undefined as ModelChoice | undefined,
  /** The model select's value for the loaded model. */
  modelKey: 'demo',
  summary: undefined as ModelSummary | undefined,
  photo: undefined as PhotoData | undefined,
  photoView: undefined as ImageData | undefined,
  viewSize: [1, 1] as [number, number],
  target: undefined as number | undefined,
  /** How the photo became the model's channels (1-, 2- and 4-channel models), as the engine said. */
  conversion: undefined as string | undefined,
  tiles: [] as Tile[],
  running: undefined as Promise<void> | undefined,
  runs: 0,
  methods: [] as MethodUi[],
  /** The smoothing modifier's controls (every chosen method gets them). */
  smoothing: smoothingUi(),
};

let urlLayer = new URLSearchParams(location.search).get('layer') ?? undefined;

// ---------- small helpers ----------

function showError(e: unknown): void {
  const msg = e instanceof Error ? e.message : String(e);
  const close = h('button', { type: 'button', 'aria-label': 'Dismiss' }, '×');
  close.addEventListener('click', () => (ui.error.hidden = true));
  ui.error.replaceChildren(h('span', { className: 'message' }, msg), close);
  ui.error.hidden = false;
  document.body.dataset.errors = String(Number(document.body.dataset.errors ?? 0) + 1);
}

function clearError(): void {
  ui.error.hidden = true;
}

function showNotice(msg: string): void {
  ui.notice.textContent = msg;
  ui.notice.hidden = !msg;
}

/** The notices that hold as long as their cause: the engine's, and the CLI's note on how the photo became the model's channels. */
function standingNotice(): string {
  const conversion = state.conversion && state.photo ? `${state.photo.name}: photo ${state.conversion}.` : '';
  return [state.engine?.note, conversion].filter(Boolean).join(' ');
}

function setBusy(busy: boolean): void {
  document.body.classList.toggle('busy', busy);
  document.body.dataset.busy = String(busy);
  ui.cancel.disabled = !busy;
}

function display(): DisplayOptions {
  return { alpha: Number(ui.opacity.value), colormap: ui.colormap.value as ColormapName };
}

function specText(s: InputSpec | undefined): string {
  if (!s) return 'unknown';
  const r = (v: number) => Number(v.toPrecision(4));
  const scale = s.scale === 1 ? 'x' : s.scale === 1 / 255 ? 'x/255' : s.scale === 1 / 127.5 ? 'x/127.5' : `x·${r(s.scale)}`;
  const mean = s.mean.every((m) => m === 0) ? '' : ` − [${s.mean.map(r).join(', ')}]`;
  const std = s.std.every((v) => v === 1) ? '' : ` ÷ [${s.std.map(r).join(', ')}]`;
  return `${s.channelOrder} ${scale}${mean}${std}`;
}

// ---------- engine ----------

async function startEngine(backend: Backend): Promise<void> {
  state.client?.terminate();
  state.client = new EngineClient();
  state.backend = backend;
  ui.status.textContent = 'starting…';
  ui.status.classList.remove('warn');
  const s = await state.client.init(backend);
  state.engine = s;
  const threads = `${s.threads} thread${s.threads === 1 ? '' : 's'}`;
  if (!s.isolated) {
    ui.status.textContent = `${s.backend} · single-threaded: this server does not send the COOP/COEP headers`;
    ui.status.classList.add('warn');
  } else ui.status.textContent = `${s.backend === 'webgpu' ? 'WebGPU' : 'wasm'} · ${threads}`;
  ui.status.title = s.isolated ? 'onnxruntime-web runs in a worker of this page' : 'Serve the page with Cross-Origin-Opener-Policy: same-origin and Cross-Origin-Embedder-Policy: require-corp (rsi-grad-cam serve does) to use all cores.';
  ui.footerEngine.textContent = `onnxruntime-web 1.30 · ${s.backend} · ${threads}`;
  ui.backend.value = s.backend;
  document.body.dataset.backend = s.backend;
  document.body.dataset.isolated = String(s.isolated);
  if (s.note) showNotice(s.note);
}

// ---------- model ----------

async function fetchBytes(url: string, name: string): Promise<NamedBytes> {
  const r = await fetch(url);
  if (!r.ok) throw new Error(`cannot download ${name}: HTTP ${r.status}`);
  return { name, bytes: await r.arrayBuffer() };
}

async function demoModel(): Promise<ModelChoice> {
  const files = await Promise.all([
    fetchBytes(demoModelUrl, 'demo-cnn.onnx'),
    fetchBytes(demoLabelsUrl, 'labels.json'),
    fetchBytes(demoPreprocessUrl, 'preprocess.json'),
  ]);
  return { main: 'demo-cnn.onnx', files, source: 'demo-cnn.onnx' };
}

async function catalogueModel(name: string): Promise<ModelChoice> {
  const entry = CATALOGUE.find((e) => e.name === name)!;
  showNotice(`Downloading ${entry.name} from ${new URL(entry.url).host}…`);
  const json = await fetchBytes(entry.url, 'model.json');
  const manifest = (JSON.parse(new TextDecoder().decode(json.bytes)) as { weightsManifest: { paths: string[] }[] }).weightsManifest;
  const weights = await Promise.all(manifest.flatMap((g) => g.paths).map((p) => fetchBytes(new URL(p, entry.url).href, decodeURIComponent(p))));
  const labels = (JSON.parse(new TextDecoder().decode((await fetchBytes(imagenetLabelsUrl, 'labels.json')).bytes)) as { labels: string[] }).labels;
  showNotice('');
  return { main: 'model.json', files: [json, ...weights], source: entry.name, labels, preset: entry.preprocess, fit: 'crop' };
}

async function loadModel(choice: ModelChoice): Promise<void> {
  clearError();
  const client = state.client!;
  ui.modelInfo.textContent = `loading ${choice.source}…`;
  document.body.dataset.model = '';
  const summary = await client.loadModel(choice.main, choice.files, choice.source, { labels: choice.labels, preset: choice.preset, fit: choice.fit });
  const previous = state.model;
  state.model = choice;
  state.summary = summary;
  state.target = undefined;
  state.conversion = undefined;
  if (summary.methods.map((m) => m.name).join() !== state.methods.map((m) => m.name).join()) buildMethodControls(summary);
  showModel(summary);
  document.body.dataset.model = summary.source;
  try {
    if (state.photo) await sendPhoto();
  } catch (e) {
    // A model that cannot classify one photo in the page's memory is not loaded: the engine
    // restarts (recoverEngine) with the model before it.
    if (e instanceof EngineError && e.name === 'OutOfMemory') state.model = previous;
    throw e;
  }
}

function showModel(s: ModelSummary): void {
  const [hh, ww] = s.inputSize;
  ui.modelInfo.textContent = `${s.source} · ${s.format === 'onnx' ? 'ONNX' : 'TF.js'} · ${ww}×${hh} input · ${s.numClasses} classes${s.hasLabels ? '' : ' (no labels)'} · ready in ${formatMs(s.loadMs)}`;
  ui.preprocess.replaceChildren(
    h('option', { value: 'model' }, s.specOrigin === 'none' ? 'Unknown — choose one' : `From the model: ${specText(s.specOrigin === 'model' ? s.spec : undefined)}`),
    ...PRESET_NAMES.map((p) => h('option', { value: p }, p)),
  );
  ui.preprocess.value = s.specOrigin === 'preset' ? (PRESET_NAMES.find((p) => ui.preprocess.dataset.preset === p) ?? 'model') : 'model';
  ui.preprocess.title = specText(s.spec);
  ui.fit.replaceChildren(h('option', { value: 'model' }, `From the model: ${s.fit}`), ...FIT_MODES.map((f) => h('option', { value: f }, f)));
  const previous = ui.layer.value;
  ui.layer.replaceChildren(
    ...s.layers.map((l) => {
      const [, c, lh, lw] = l.shape;
      const name = l.modules[l.modules.length - 1] ?? l.tensor;
      return h('option', { value: l.tensor, title: l.tensor }, `${name} · ${lh}×${lw}×${c}${l.isDefault ? ' (default)' : ''}`);
    }),
  );
  const def = s.layers.find((l) => l.isDefault);
  ui.layer.value = s.layers.some((l) => l.tensor === previous) ? previous : (def?.tensor ?? s.layers[s.layers.length - 1]?.tensor ?? '');
  // A layer named in the URL (`?layer=...`), for the first model that has it.
  if (urlLayer && s.layers.some((l) => l.tensor === urlLayer)) {
    ui.layer.value = urlLayer;
    urlLayer = undefined;
  }
}

/** The model files among dropped or picked files: the .onnx, or the model.json, with everything else beside it. */
function modelFromFiles(files: NamedBytes[]): ModelChoice | undefined {
  const sidecar = /(^|\.)(labels|preprocess|metadata)\.json$/i;
  const main =
    files.find((f) => /\.onnx$/i.test(f.name)) ??
    files.find((f) => /(^|\/)model\.json$/i.test(f.name)) ??
    files.find((f) => /\.json$/i.test(f.name) && !sidecar.test(f.name));
  if (!main) return undefined;
  return { main: main.name, files, source: main.name.replace(/^.*\//, '') };
}

// ---------- photo ----------

async function choosePhoto(blob: Blob, name: string): Promise<void> {
  clearError();
  const photo = await decodePhoto(blob, name);
  state.photo = photo;
  state.viewSize = displaySize(photo.width, photo.height);
  const view = document.createElement('canvas');
  drawPhoto(view, photo, state.viewSize);
  state.photoView = view.getContext('2d')!.getImageData(0, 0, state.viewSize[0], state.viewSize[1]);
  drawPhoto(ui.preview, photo, displaySize(photo.width, photo.height, 168));
  ui.photoName.textContent = `${name} · ${photo.width}×${photo.height}`;
  state.target = undefined;
  await sendPhoto();
}

async function sendPhoto(): Promise<void> {
  const preds = await state.client!.setPhoto(state.photo!);
  showPredictions(preds);
}

function showPredictions(p: PhotoPredictions | undefined): void {
  state.conversion = p?.conversion;
  showNotice(standingNotice());
  if (!p) return;
  const chosen = state.target ?? p.top[0]!.index;
  ui.targets.replaceChildren(
    ...p.top.map((t) => {
      const b = h(
        'button',
        { className: 'target', type: 'button', role: 'radio', 'aria-checked': String(t.index === chosen), 'data-class': String(t.index), title: `class ${t.index}` },
        h('span', { className: 'bar-p' }, h('i', { style: `width:${(t.probability * 100).toFixed(1)}%` } as Record<string, unknown>)),
        h('span', { className: 'lab' }, `${t.label} ${(t.probability * 100).toFixed(1)}%`),
      );
      b.addEventListener('click', () => {
        state.target = t.index;
        for (const o of ui.targets.children) o.setAttribute('aria-checked', String(o === b));
        void explain();
      });
      return b;
    }),
  );
}

// ---------- methods ----------

/**
 * Method checkboxes and option controls. The URL can preset them (a link that reproduces a
 * view): `?methods=gradcam,rsi-grad-cam&rsi-grad-cam.steps=20&smooth=noise`.
 */
function buildMethodControls(summary: ModelSummary): void {
  const url = new URLSearchParams(location.search);
  const listed = url.get('methods')?.split(',');
  const before = new Map(state.methods.map((m) => [m.name, m.checked]));
  state.methods = methodsUi(summary.methods);
  ui.methods.replaceChildren(h('legend', {}, 'Methods'));
  for (const m of state.methods) {
    m.checked = before.get(m.name) ?? m.checked;
    if (listed) m.checked = listed.includes(m.name);
    const box = h('input', { type: 'checkbox', checked: m.checked, value: m.name, id: `m-${m.name}` });
    const wrap = h('div', { className: `method${m.checked ? ' on' : ''}`, 'data-method': m.name });
    const label = h('label', { htmlFor: `m-${m.name}` }, box, h('span', {}, m.title));
    wrap.append(label);
    if (m.description) wrap.append(h('div', { className: 'desc' }, m.description));
    if (m.options.length) wrap.append(optionControls(`o-${m.name}-`, m.options, (o) => url.get(`${m.name}.${o}`)));
    box.addEventListener('change', () => {
      m.checked = box.checked;
      wrap.classList.toggle('on', box.checked);
      markStale();
    });
    ui.methods.append(wrap);
  }
}

/** The smoothing modifier's controls (built once: they come from the library, not the model). */
function buildSmoothingControls(): void {
  const url = new URLSearchParams(location.search);
  ui.smoothing.append(optionControls('s-', state.smoothing, (o) => url.get(o)));
}

/**
 * A grid of controls with ids `${prefix}${option}`: a select for a choice, a number field (text
 * where words such as 'auto' are taken too). Controls with `when` show only while it holds.
 */
function optionControls(prefix: string, controls: OptionControl[], preset: (option: string) => string | null): HTMLElement {
  const opts = h('div', { className: 'opts' });
  const labels: [OptionControl, HTMLElement][] = [];
  // The group's own fields (it may not be in the document yet).
  const sync = () => {
    for (const [o, label] of labels) label.hidden = !applies(o, (k) => opts.querySelector<HTMLInputElement | HTMLSelectElement>(`[data-option="${k}"]`)?.value);
  };
  for (const o of controls) {
    const id = `${prefix}${o.name}`;
    const value = preset(o.name) ?? String(o.default);
    const control =
      o.kind === 'choice'
        ? h('select', { id }, ...o.choices!.map((c) => h('option', { value: c.value, selected: c.value === value }, c.label)))
        : o.keywords
          ? withWords(h('input', { type: 'text', id, inputMode: 'decimal', value, placeholder: o.keywords.join(' / ') }), o.keywords)
          : h('input', {
              type: 'number',
              id,
              ...(o.min !== undefined ? { min: String(o.min) } : {}),
              ...(o.max !== undefined ? { max: String(o.max) } : {}),
              step: o.kind === 'int' ? '1' : 'any',
              value,
              // Empty: the method's own default, which may depend on the model (occlusion's window).
              placeholder: 'auto',
            });
    control.dataset.option = o.name;
    if (o.description) control.title = o.keywords ? `${o.description} (or ${o.keywords.join(', ')})` : o.description;
    control.addEventListener('input', sync);
    control.addEventListener('change', () => {
      sync();
      markStale();
    });
    const label = h('label', { htmlFor: id }, o.label, control);
    labels.push([o, label]);
    opts.append(label);
  }
  sync();
  return opts;
}

/** A text field offering `words` in a datalist (a number field that also takes 'auto'). */
function withWords(input: HTMLInputElement, words: string[]): HTMLInputElement {
  const list = h('datalist', { id: `${input.id}-words` }, ...words.map((w) => h('option', { value: w })));
  document.body.append(list);
  input.setAttribute('list', list.id);
  return input;
}

/** The text of control `${prefix}${name}` (undefined when there is none). */
function valueOf(prefix: string, name: string): string | undefined {
  return (document.getElementById(`${prefix}${name}`) as HTMLInputElement | HTMLSelectElement | null)?.value;
}

/** The options set in a group of controls: empty ones and those whose `when` does not hold are left to the library. */
function readOptions(prefix: string, controls: OptionControl[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const o of controls) {
    const text = valueOf(prefix, o.name) ?? '';
    if (text === '' || !applies(o, (k) => valueOf(prefix, k))) continue;
    out[o.name] = o.kind === 'choice' || o.keywords?.includes(text) ? text : Number(text);
  }
  return out;
}

/** Why a group's number fields cannot be used, or undefined. */
function invalidOption(title: string, prefix: string, controls: OptionControl[]): string | undefined {
  for (const o of controls) {
    if (o.kind === 'choice' || !applies(o, (k) => valueOf(prefix, k))) continue;
    const text = (valueOf(prefix, o.name) ?? '').trim();
    if (text === '' || o.keywords?.includes(text)) continue;
    const v = Number(text);
    const range = o.min !== undefined && o.max !== undefined ? ` from ${o.min} to ${o.max}` : o.min !== undefined ? ` of at least ${o.min}` : o.max !== undefined ? ` up to ${o.max}` : '';
    const words = o.keywords ? `, or ${o.keywords.join(' or ')}` : '';
    if (!Number.isFinite(v) || (o.kind === 'int' && !Number.isInteger(v)) || v < (o.min ?? -Infinity) || v > (o.max ?? Infinity)) {
      return `${title}: ${o.label} must be a ${o.kind === 'int' ? 'whole number' : 'number'}${range}${words}.`;
    }
  }
  return undefined;
}

function markStale(): void {
  if (state.tiles.length) ui.run.classList.add('stale');
}

// ---------- explaining ----------

async function explain(): Promise<void> {
  if (state.running) {
    await cancel();
    await state.running.catch(() => {});
  }
  const run = doExplain();
  state.running = run;
  try {
    await run;
  } finally {
    if (state.running === run) state.running = undefined;
  }
}

async function doExplain(): Promise<void> {
  if (!state.photo || !state.summary) return;
  clearError();
  showNotice(standingNotice());
  const chosen = state.methods.filter((m) => m.checked);
  if (!chosen.length) {
    showError('Choose at least one method.');
    return;
  }
  const invalid = [...chosen.map((m) => invalidOption(m.title, `o-${m.name}-`, m.options)), invalidOption('Smoothing', 's-', state.smoothing)].find(Boolean);
  if (invalid) {
    showError(invalid);
    return;
  }
  ui.run.classList.remove('stale');
  const photoName = state.photo.name;
  const tiles = chosen.map((m) => createTile(m.name, m.title, state.photoView!, (t) => (ui.hover.textContent = t)));
  state.tiles = tiles;
  ui.tiles.replaceChildren(...tiles.map((t) => t.el));
  setBusy(true);
  let finished = 0;
  ui.progress.value = 0;
  const t0 = performance.now();
  try {
    await state.client!.explain(
      {
        methods: chosen.map((m) => m.name),
        layer: ui.layer.value || undefined,
        target: state.target,
        methodOptions: Object.fromEntries(chosen.map((m) => [m.name, readOptions(`o-${m.name}-`, m.options)])),
        commonOptions: readOptions('s-', state.smoothing),
        displaySize: state.viewSize,
      },
      {
        progress: (method, done, total) => {
          const title = chosen.find((m) => m.name === method)?.title ?? method;
          ui.progress.value = (finished + done / total) / chosen.length;
          ui.progressText.textContent = `${title}: ${done} / ${total} model evaluations`;
        },
        result: (r) => {
          finished++;
          ui.progress.value = finished / chosen.length;
          const tile = tiles.find((t) => t.method === r.method);
          if (tile) fillTile(tile, r, display(), photoName);
        },
        notice: (m) => showNotice(m),
      },
    );
    ui.progressText.textContent = `${chosen.length} method${chosen.length === 1 ? '' : 's'} in ${formatMs(performance.now() - t0)}`;
  } catch (e) {
    for (const t of tiles) if (!t.result) t.el.remove();
    if (e instanceof EngineError && e.name === 'Cancelled') ui.progressText.textContent = 'Cancelled.';
    else {
      ui.progressText.textContent = '';
      showError(e);
      await recoverEngine(e);
    }
  } finally {
    setBusy(false);
    document.body.dataset.runs = String(++state.runs);
  }
}

async function cancel(): Promise<void> {
  const client = state.client;
  if (!client || !state.running) return;
  if (client.cancel() === 'restart') {
    // Without cross-origin isolation there is no shared flag: stop the worker, start another.
    await startEngine(state.backend);
    if (state.model) await loadModel(state.model);
  }
}

// ---------- input: drop, pick, paste ----------

const IMAGE = /\.(png|jpe?g|webp|gif|bmp|avif|tiff?)$/i;

async function filesFromDrop(dt: DataTransfer): Promise<File[]> {
  const entries = [...dt.items].map((i) => i.webkitGetAsEntry?.()).filter((e): e is FileSystemEntry => !!e);
  if (!entries.some((e) => e.isDirectory)) return [...dt.files];
  const out: File[] = [];
  const walk = async (e: FileSystemEntry, prefix: string): Promise<void> => {
    if (e.isFile) {
      const f = await new Promise<File>((res, rej) => (e as FileSystemFileEntry).file(res, rej));
      out.push(new File([f], prefix + f.name, { type: f.type }));
    } else if (e.isDirectory) {
      const reader = (e as FileSystemDirectoryEntry).createReader();
      for (;;) {
        const batch = await new Promise<FileSystemEntry[]>((res, rej) => reader.readEntries(res, rej));
        if (!batch.length) break;
        for (const c of batch) await walk(c, `${prefix}${e.name}/`);
      }
    }
  };
  for (const e of entries) await walk(e, '');
  return out;
}

async function takeFiles(files: File[]): Promise<void> {
  if (!files.length) return;
  clearError();
  const images = files.filter((f) => f.type.startsWith('image/') || IMAGE.test(f.name));
  const others = files.filter((f) => !images.includes(f));
  if (others.length) {
    const named = await Promise.all(others.map(async (f) => ({ name: f.webkitRelativePath || f.name, bytes: await f.arrayBuffer() })));
    const choice = modelFromFiles(named);
    if (!choice) throw new Error(`No model among ${others.map((f) => f.name).join(', ')}: drop a .onnx file, or a model.json with its weight files.`);
    await loadModel(choice);
    const own = ui.modelSelect.querySelector<HTMLOptionElement>('option[value=files]')!;
    own.textContent = `Your model: ${choice.source}`;
    ui.modelSelect.value = state.modelKey = 'files';
  }
  if (images.length) {
    for (const b of ui.demoPhotos.children) b.setAttribute('aria-pressed', 'false');
    await choosePhoto(images[0]!, images[0]!.name);
  }
  if (state.photo) await explain();
}

function guard(p: Promise<unknown>): void {
  p.catch((e) => {
    if (e instanceof EngineError && e.name === 'Cancelled') return;
    showError(e instanceof PhotoError || e instanceof EngineError || e instanceof Error ? e : String(e));
    return recoverEngine(e);
  });
}

let recovering = false;

/**
 * After the engine ran out of memory or its worker died, a fresh worker with the last model
 * that loaded, so the page keeps working (onnxruntime-web may have aborted, leaving its wasm
 * instance unusable). The error stays shown; a second failure while recovering is not retried.
 */
async function recoverEngine(e: unknown): Promise<void> {
  if (recovering || !(e instanceof EngineError && (e.name === 'OutOfMemory' || e.name === 'WorkerError'))) return;
  recovering = true;
  setBusy(true);
  try {
    await startEngine(state.backend);
    if (state.model) await loadModel(state.model);
  } catch {
    // The model itself may not fit: the page still has a live engine for another one.
  } finally {
    recovering = false;
    setBusy(false);
    showError(e); // loading cleared it
  }
}

function wireInput(): void {
  let depth = 0;
  document.addEventListener('dragenter', (e) => {
    e.preventDefault();
    if (depth++ === 0) document.body.classList.add('dragging');
  });
  document.addEventListener('dragleave', () => {
    if (--depth <= 0) (depth = 0), document.body.classList.remove('dragging');
  });
  document.addEventListener('dragover', (e) => e.preventDefault());
  document.addEventListener('drop', (e) => {
    e.preventDefault();
    depth = 0;
    document.body.classList.remove('dragging');
    if (e.dataTransfer) guard(filesFromDrop(e.dataTransfer).then(takeFiles));
  });
  document.addEventListener('paste', (e) => {
    const files = [...(e.clipboardData?.files ?? [])].filter((f) => f.type.startsWith('image/'));
    if (files.length) guard(takeFiles(files.map((f) => new File([f], f.name || 'pasted.png', { type: f.type }))));
  });
  ui.photoFile.addEventListener('change', () => {
    guard(takeFiles([...(ui.photoFile.files ?? [])]));
    ui.photoFile.value = '';
  });
  ui.modelFiles.addEventListener('change', () => {
    guard(takeFiles([...(ui.modelFiles.files ?? [])]));
    ui.modelFiles.value = '';
  });
}

// ---------- controls ----------

function wireControls(): void {
  ui.colormap.replaceChildren(...COLORMAP_NAMES.map((c) => h('option', { value: c }, c)));
  ui.opacity.addEventListener('input', () => state.tiles.forEach((t) => t.redraw(display())));
  ui.colormap.addEventListener('change', () => state.tiles.forEach((t) => t.redraw(display())));
  ui.run.addEventListener('click', () => guard(explain()));
  ui.cancel.addEventListener('click', () => guard(cancel()));
  $<HTMLButtonElement>('other-photo').addEventListener('click', () => ui.photoFile.click());
  ui.layer.addEventListener('change', markStale);
  const setPre = () =>
    guard(
      (async () => {
        ui.preprocess.dataset.preset = ui.preprocess.value;
        const r = await state.client!.setPreprocess(ui.preprocess.value as PresetName | 'model', ui.fit.value as FitMode | 'model');
        const [pre, fit] = [ui.preprocess.value, ui.fit.value];
        state.summary = r.model;
        showModel(r.model);
        ui.preprocess.value = pre;
        ui.fit.value = fit;
        showPredictions(r.predictions);
        if (state.photo) await explain();
      })(),
    );
  ui.preprocess.addEventListener('change', setPre);
  ui.fit.addEventListener('change', setPre);

  ui.modelSelect.replaceChildren(
    h('option', { value: 'demo' }, 'Demo CNN (shapes, 96×96)'),
    ...CATALOGUE.map((e) => h('option', { value: e.name }, `${e.description.replace(/ \(TF\.js Layers model\)/, '')} — download`)),
    h('option', { value: 'files' }, 'Your own model (files)…'),
  );
  ui.modelSelect.addEventListener('change', () => {
    const v = ui.modelSelect.value;
    if (v === 'files') {
      ui.modelFiles.click();
      // Until files are chosen, the select shows the model that is loaded.
      ui.modelSelect.value = state.modelKey;
      return;
    }
    guard((async () => {
      try {
        await loadModel(v === 'demo' ? await demoModel() : await catalogueModel(v));
      } catch (e) {
        ui.modelSelect.value = state.modelKey;
        showNotice('');
        throw e;
      }
      state.modelKey = v;
      if (state.photo) await explain();
    })());
  });

  const gpu = 'gpu' in navigator;
  ui.backend.querySelector<HTMLOptionElement>('option[value=webgpu]')!.disabled = !gpu;
  if (!gpu) ui.backend.title = 'This browser does not offer WebGPU';
  ui.backend.addEventListener('change', () =>
    guard(
      (async () => {
        if (state.running) await cancel();
        await startEngine(ui.backend.value as Backend);
        if (state.model) await loadModel(state.model);
        if (state.photo) await explain();
      })(),
    ),
  );

  Object.entries(DEMO_PHOTOS).forEach(([path, url], i) => {
    const name = path.replace(/^.*\//, '');
    const b = h('button', { type: 'button', title: name, 'aria-pressed': String(i === 0), 'data-photo': name, 'aria-label': `Demo photo ${name}` }, h('img', { src: url, alt: '' }));
    b.setAttribute('role', 'listitem');
    b.addEventListener('click', () =>
      guard(
        (async () => {
          for (const o of ui.demoPhotos.children) o.setAttribute('aria-pressed', String(o === b));
          await choosePhoto(await (await fetch(url)).blob(), name);
          await explain();
        })(),
      ),
    );
    ui.demoPhotos.append(b);
  });
}

async function main(): Promise<void> {
  wireControls();
  buildSmoothingControls();
  wireInput();
  setBusy(false);
  const wanted = new URLSearchParams(location.search).get('backend') === 'webgpu' ? 'webgpu' : 'wasm';
  await startEngine(wanted);
  await loadModel(await demoModel());
  const [name, url] = Object.entries(DEMO_PHOTOS)[0]!;
  await choosePhoto(await (await fetch(url)).blob(), name.replace(/^.*\//, ''));
  document.body.dataset.ready = 'true';
  await explain();
}

// For npm run bench:web: plain forwards in this page, next to the methods' own timings.
(window as unknown as { rsiGradCamBench: unknown }).rsiGradCamBench = { forwards: (count: number, batch?: number) => state.client!.benchForwards(count, batch) };

guard(main());
