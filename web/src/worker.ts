/**
 * The engine worker: onnxruntime-web, the model and the photo live here, so the page stays
 * responsive while methods run. It uses the library's own core (no copy of the engine).
 */
import {
  Classifier, Model, Runtime, explanationJson, methodNames, optionsFor, fitGeometry, fitImage, heatmapToPhoto, importModelFile,
  modelDefaultSpec, namedBaseline, presetSpec, readSidecars, RsiGradCamError, takesAlpha, type BaselineName, type FitMode, type InputSpec, type OrtModule, type PresetName, type ExplainOptions, type RgbImage,
} from '../../src/core.js';
import type { Backend, BackendSummary, OrtUrls, ExplainRequest, MethodResult, ModelSummary, NamedBytes, PhotoData, PhotoPredictions, Reply, Request } from './protocol.js';

/**
 * Memory budget of one batch in the page (the library's default is 512 MiB). The wasm heap
 * holds 4 GB and the budget counts every activation twice (forward and backward), 2-4 times
 * what onnxruntime really holds; onnxruntime-web's wasm kernels gain from larger batches where
 * native ones do not (npm run bench:web: 51 MobileNet forwards 21% faster at batch 51 than at
 * 17), so RSI-Grad-CAM's whole path (m = 50) goes in one batch on models of that size.
 */
const PAGE_MEMORY_BUDGET_MB = 2048;
/** At most this many items per batch, so progress and cancel come at least that often. */
const PAGE_MAX_BATCH = 64;

/** Items per batch in the page: what fits its budget, at most PAGE_MAX_BATCH, at least one. */
function pageBatch(c: Classifier): number {
  const budget = Math.max(PAGE_MEMORY_BUDGET_MB, c.pipeline.bytesPerItem() / 2 ** 20);
  return c.pipeline.batchSize({ memoryBudgetMB: budget }, PAGE_MAX_BATCH);
}

/** Backward graphs for onnxruntime-web's WebGPU kernels (see RuleVariants). */
const WEBGPU_VARIANTS = { maxPoolGradient: 'mask', depthwiseGradient: 'split' } as const;

type OrtWeb = OrtModule & { env: { wasm: { numThreads?: number; wasmPaths?: unknown; proxy?: boolean }; logLevel?: string } };

interface Loaded {
  model: Model;
  classifier: Classifier;
  source: string;
  format: 'onnx' | 'tfjs';
  /** What the model's files say (sidecars, importer), before any user override. */
  carried: { spec?: InputSpec; fit?: FitMode; labels?: string[] };
  /** The user's choice of preprocessing and fit ('model': what the model's files say). */
  preset: PresetName | 'model';
  loadMs: number;
}

const post = (m: Reply, transfer: Transferable[] = []) => (self as unknown as { postMessage(m: unknown, t: Transferable[]): void }).postMessage(m, transfer);

let ort: OrtWeb | undefined;
let backend: Backend = 'wasm';
let runtime: Runtime | undefined;
let wasmRuntime: Runtime | undefined;
let cancelFlag: Int32Array | undefined;
let loaded: Loaded | undefined;
let photo: PhotoData | undefined;
let input: Float32Array | undefined;
/** What the engine is doing, for error messages ("while loading x.onnx"). */
let activity = '';

class Cancelled extends Error {
  constructor() {
    super('cancelled');
    this.name = 'Cancelled';
  }
}

self.onmessage = async (ev: MessageEvent<Request & { id: number }>) => {
  const { id, ...req } = ev.data;
  try {
    const value = await handle(id, req as Request);
    post({ id, ok: true, value });
  } catch (e) {
    post({ id, ok: false, error: describe(e) });
  }
};

async function handle(id: number, req: Request): Promise<unknown> {
  switch (req.type) {
    case 'init':
      return init(req.backend, req.urls, req.cancelFlag);
    case 'load-model':
      return loadModel(req.main, req.files, req.source, req.labels, req.preset, req.fit);
    case 'set-preprocess':
      return setPreprocess(req.preset, req.fit);
    case 'set-photo':
      photo = req.photo;
      input = undefined;
      return predictPhoto();
    case 'explain':
      return explain(id, req.request);
    case 'bench-forwards':
      return benchForwards(req.count, req.batch);
  }
}

async function init(wanted: Backend, urls: OrtUrls, flag?: SharedArrayBuffer): Promise<BackendSummary> {
  cancelFlag = flag ? new Int32Array(flag) : undefined;
  const isolated = (self as unknown as { crossOriginIsolated?: boolean }).crossOriginIsolated === true;
  let note: string | undefined;
  backend = wanted;
  if (wanted === 'webgpu') {
    const gpu = (navigator as Navigator & { gpu?: { requestAdapter(): Promise<unknown> } }).gpu;
    const adapter = gpu ? await gpu.requestAdapter().catch(() => null) : null;
    if (!adapter) {
      backend = 'wasm';
      note = 'WebGPU is not available in this browser; using wasm.';
    }
  }
  ort = (backend === 'webgpu' ? await import('onnxruntime-web/webgpu') : await import('onnxruntime-web/wasm')) as unknown as OrtWeb;
  const threads = isolated ? Math.max(1, Math.min(navigator.hardwareConcurrency || 1, 8)) : 1;
  ort.env.wasm.numThreads = threads;
  ort.env.wasm.wasmPaths = urls;
  ort.env.logLevel = 'error';
  wasmRuntime = new Runtime(ort, { maxSessions: 3 });
  // onnxruntime-web's WebGPU kernels do not return MaxPool's Indices, and their grouped
  // ConvTranspose is wrong with one output and an even number of input channels per group
  // (a depthwise conv's gradient with channel multiplier 2, 4, ...): build both gradients
  // from operators WebGPU computes right.
  runtime = backend === 'webgpu' ? new Runtime(ort, { maxSessions: 3, executionProviders: ['webgpu'], variants: WEBGPU_VARIANTS }) : wasmRuntime;
  return { backend, threads, isolated, note } satisfies BackendSummary;
}

async function loadModel(main: string, files: NamedBytes[], source: string, labels?: string[], preset?: PresetName, fit?: FitMode): Promise<ModelSummary> {
  if (!runtime) throw new Error('the engine is not initialised');
  const t0 = performance.now();
  activity = `while loading ${source}`;
  const byName = new Map<string, Uint8Array>();
  for (const f of files) {
    byName.set(f.name, new Uint8Array(f.bytes));
    byName.set(f.name.replace(/^.*\//, ''), new Uint8Array(f.bytes));
  }
  const dir = main.includes('/') ? main.replace(/[^/]*$/, '') : '';
  const read = async (rel: string) => byName.get(dir + rel) ?? byName.get(rel) ?? byName.get(rel.replace(/^.*\//, ''));
  const bytes = byName.get(main);
  if (!bytes) throw new Error(`${main}: not among the files given`);
  const imported = await importModelFile(main, bytes, read);
  const model = Model.prepare(imported.graph, { source, logits: imported.logits, aliases: imported.aliases });
  if (!model.layers.some((l) => l.shape.length === 4 && typeof l.shape[2] === 'number' && (l.shape[2] as number) * (l.shape[3] as number) > 1)) {
    throw new RsiGradCamError('no-spatial-layer', `${source}: the model has no layer with a spatial size (no 4-D [N, C, H, W] tensor larger than 1x1), so there is nothing for a CAM to show`);
  }
  const side = await readSidecars(main, read, { size: model.imageSize, layout: model.inputLayout, channels: model.channels });
  // The CLI's rule: the sidecar's, else raw when the model rescales inside, tf for TF.js models.
  const spec = modelDefaultSpec(side.spec, imported.format, imported.inputScaling !== undefined, model.imageSize);
  loaded?.classifier.dispose().catch(() => {});
  loaded = {
    model,
    source,
    format: imported.format,
    carried: { spec, fit: side.fit, labels: labels ?? side.labels },
    classifier: undefined as unknown as Classifier,
    preset: preset ?? 'model',
    loadMs: 0,
  };
  loaded.classifier = makeClassifier(runtime, preset ?? 'model', fit ?? 'model');
  // Open the forward session now, so the first photo answers quickly.
  await loaded.classifier.pipeline.session({});
  loaded.loadMs = performance.now() - t0;
  return summary();
}

function makeClassifier(rt: Runtime, preset: PresetName | 'model', fit: FitMode | 'model'): Classifier {
  const l = loaded!;
  const m = l.model;
  const spec = preset === 'model' ? l.carried.spec : presetSpec(preset, m.imageSize, m.inputLayout);
  return new Classifier(m, rt, {
    source: l.source,
    labels: l.carried.labels,
    inputSpec: spec ? { ...spec, size: m.imageSize, layout: m.inputLayout } : undefined,
    fit: fit === 'model' ? (l.carried.fit ?? 'stretch') : fit,
  });
}

function summary(): ModelSummary {
  const l = loaded!;
  const c = l.classifier;
  return {
    source: l.source,
    format: l.format,
    inputSize: c.inputSize,
    numClasses: l.model.numClasses,
    hasLabels: !!c.labels,
    layers: c.layers().filter((x) => x.shape.length === 4),
    spec: c.inputSpec,
    specOrigin: !c.inputSpec ? 'none' : l.preset === 'model' ? 'model' : 'preset',
    fit: c.info.fit ?? 'stretch',
    loadMs: l.loadMs,
    methods: methodNames().map((name) => {
      const caps = c.method(name).capabilities;
      // Plain data for postMessage (choices may be a registry's live array).
      const optionInfo = Object.fromEntries(Object.entries(caps.optionInfo ?? {}).map(([k, v]) => [k, { ...v, choices: v.choices && [...v.choices] }]));
      return {
        name,
        label: caps.label,
        usesLayer: caps.usesLayer !== false,
        mapAt: caps.mapAt ?? 'layer',
        options: [...caps.options],
        optionInfo,
        hasCompleteness: caps.hasCompleteness,
        defaultScore: caps.defaultScore,
      };
    }),
  };
}

async function setPreprocess(preset: PresetName | 'model', fit: FitMode | 'model'): Promise<{ model: ModelSummary; predictions?: PhotoPredictions }> {
  if (!loaded) throw new Error('no model loaded');
  const old = loaded.classifier;
  // The same model on the same runtime: sessions stay cached, nothing to release.
  loaded.classifier = makeClassifier(old.runtime, preset, fit);
  loaded.preset = preset;
  input = undefined;
  return { model: summary(), predictions: photo ? await predictPhoto() : undefined };
}

function requireSpec(c: Classifier): void {
  if (!c.inputSpec) {
    throw new RsiGradCamError('bad-option', `${c.info.source}: the model's preprocessing is unknown (no preprocess.json beside it); choose one under Preprocessing`);
  }
}

async function predictPhoto(): Promise<PhotoPredictions | undefined> {
  if (!loaded || !photo) return undefined;
  const c = loaded.classifier;
  requireSpec(c);
  activity = `while ${loaded.source} classified the photo`;
  input = c.toTensor(fittedPhoto(c));
  const [p] = await c.pipeline.predict([input], 1);
  const conversion = photoConversion(c);
  return { top: p!.topk.map((t) => ({ ...t, label: c.label(t.index) })), ...(conversion ? { conversion } : {}) };
}

/** Whether the model sees the photo's transparency: it takes alpha and the photo has some (as the CLI's preparePhoto). */
function seesAlpha(c: Classifier): boolean {
  return photo!.transparency !== undefined && c.inputSpec !== undefined && takesAlpha(c.inputSpec);
}

/** The photo fitted to the model's input size (what its input tensor is made from). */
function fittedPhoto(c: Classifier): RgbImage {
  const p = photo!;
  const source = seesAlpha(c) ? { width: p.width, height: p.height, ...p.transparency! } : p;
  return fitImage(source, c.inputSize, c.info.fit ?? 'stretch').image;
}

/** The CLI's note on how the photo became the model's channels (undefined for RGB models). */
function photoConversion(c: Classifier): string | undefined {
  return c.photoConversion(seesAlpha(c));
}

async function explain(id: number, r: ExplainRequest): Promise<{ done: number }> {
  if (!loaded) throw new Error('no model loaded');
  if (!photo) throw new Error('no photo chosen');
  if (!input) await predictPhoto();
  if (cancelFlag) Atomics.store(cancelFlag, 0, 0);
  let done = 0;
  for (const method of r.methods) {
    checkCancel();
    let result: MethodResult;
    try {
      result = await runMethod(id, method, r);
    } catch (e) {
      if (e instanceof Cancelled || backend !== 'webgpu' || e instanceof RsiGradCamError) throw e;
      // An operator WebGPU cannot run: say so, and run on wasm from now on.
      post({ type: 'notice', id, message: `WebGPU could not run ${method} (${firstLine(e)}); falling back to wasm.` });
      backend = 'wasm';
      runtime = wasmRuntime!;
      const c = loaded.classifier;
      loaded.classifier = new Classifier(loaded.model, runtime, c.info);
      result = await runMethod(id, method, r);
    }
    post({ type: 'result', id, result }, [result.heat.buffer as ArrayBuffer]);
    done++;
  }
  return { done };
}

async function runMethod(id: number, method: string, r: ExplainRequest): Promise<MethodResult> {
  const c = loaded!.classifier;
  requireSpec(c);
  activity = `while running ${method} on ${loaded!.source}`;
  let evaluations = 0;
  // The page's cancel flag aborts the method before its next batch.
  const abort = new AbortController();
  const options: ExplainOptions = {
    method: method as ExplainOptions['method'],
    targets: r.target ?? { topK: 1 },
    internalBatchSize: pageBatch(c),
    signal: abort.signal,
    onProgress: (done, total) => {
      evaluations = total;
      post({ type: 'progress', id, method, done, total });
      if (cancelFlag && Atomics.load(cancelFlag, 0) === 1) abort.abort();
    },
  };
  // Only what this method declares (the form holds every method's settings).
  // The layer too: a method that takes none (input attributions) is left without it.
  Object.assign(options, optionsFor(c.method(method), { layer: r.layer, ...r.commonOptions, ...(r.methodOptions[method] ?? {}) }));
  // A baseline chosen by name becomes the image, made from this photo as the CLI makes it; the
  // default (black) is left to the method, which takes the pipeline's own black image.
  const set = options as Record<string, unknown>;
  for (const [name, info] of Object.entries(c.method(method).capabilities.optionInfo ?? {})) {
    const v = set[name];
    if (info.type !== 'baseline' || typeof v !== 'string') continue;
    if (v === info.default) delete set[name];
    else set[name] = namedBaseline(v as BaselineName, fittedPhoto(c), c.inputSpec!);
  }
  const t0 = performance.now();
  const [e] = await c.explain([input!], options);
  const ms = performance.now() - t0;
  const fit = c.info.fit ?? 'stretch';
  const [dw, dh] = r.displaySize;
  const geometry = fitGeometry(dw, dh, c.inputSize, fit);
  const [h, w] = e!.heatmapShape;
  const heat = heatmapToPhoto({ width: w, height: h, data: e!.heatmap }, geometry);
  const json = explanationJson(c, e!, { image: photo!.name, imageSize: [photo!.width, photo!.height], fit, conversion: photoConversion(c), timings: { load: loaded!.loadMs, explain: ms } });
  return {
    method,
    heat: heat.data,
    heatSize: [dw, dh],
    json: json as unknown as Record<string, unknown>,
    ms,
    evaluations,
    completenessError: e!.completenessError,
    relativeCompletenessError: e!.relativeCompletenessError,
    pathTrace: e!.pathTrace,
    backend,
    usesLayer: c.method(method).capabilities.usesLayer !== false,
  };
}

/**
 * `count` plain forward passes over the photo's path points, batched as RSI-Grad-CAM batches
 * them (or `batch` at a time): the page's yardstick for its method overhead (npm run
 * bench:web). Milliseconds.
 */
async function benchForwards(count: number, batchSize?: number): Promise<number> {
  if (!loaded || !photo) throw new Error('no model or photo');
  if (!input) await predictPhoto();
  const c = loaded.classifier;
  const base = c.blackBaseline();
  const points = Array.from({ length: count }, (_, i) => input!.map((v, j) => base[j]! + (i / (count - 1)) * (v - base[j]!)));
  const batch = batchSize ?? Math.min(count, pageBatch(c));
  await c.pipeline.predict(points.slice(0, batch), batch);
  const t0 = performance.now();
  await c.pipeline.predict(points, batch);
  return performance.now() - t0;
}

function checkCancel(): void {
  if (cancelFlag && Atomics.load(cancelFlag, 0) === 1) throw new Cancelled();
}

function firstLine(e: unknown): string {
  return (e instanceof Error ? e.message : String(e)).split('\n')[0]!.slice(0, 300);
}

/**
 * How onnxruntime-web and the browser say memory ran out: a C++ allocation failing in the wasm
 * heap (std::bad_alloc, when the heap cannot grow past its 4 GB), Emscripten's abort, V8's
 * failed ArrayBuffer or Memory.grow.
 */
/** onnxruntime's size arithmetic overflowing wasm's 32-bit sizes: one tensor of 4 GB or more. */
const TOO_LARGE = /SafeIntOnOverflow|Integer overflow/;
const OUT_OF_MEMORY = /bad_alloc|out of memory|allocation failed|failed to allocate|memory access out of bounds|Aborted\(OOM\)|Maximum memory size exceeded|could not allocate memory/i;

/** Errors as the page shows them: one readable line. */
function describe(e: unknown): { name: string; message: string } {
  if (e instanceof Cancelled || (e instanceof RsiGradCamError && e.code === 'aborted')) return { name: 'Cancelled', message: 'Cancelled.' };
  if (e instanceof RsiGradCamError) return { name: e.name, message: e.message };
  const msg = firstLine(e);
  if (e instanceof RangeError || OUT_OF_MEMORY.test(msg) || TOO_LARGE.test(msg)) {
    const what = activity ? ` ${activity}` : '';
    const cause = TOO_LARGE.test(msg) ? 'a tensor larger than the 4 GB a wasm engine can address' : msg.replace(/^.*ERROR_MESSAGE: /, '');
    return {
      name: 'OutOfMemory',
      message:
        `The page ran out of memory${what} (${cause}). ` +
        `onnxruntime-web's wasm engine has at most 4 GB: try a smaller model or input size, fewer methods or steps, or the CLI (rsi-grad-cam explain), which uses the machine's memory.`,
    };
  }
  return { name: e instanceof Error ? e.name : 'Error', message: msg };
}
