/**
 * `loadModel(source)`: a local `.onnx` or TF.js `model.json`, an http(s) URL of either, or a
 * catalogue name; downloads are cached. Preprocessing and labels travel with the model:
 * from the catalogue, from sidecar files next to the model, or from options.
 */
import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { Classifier } from '../classifier.js';
import { findCatalogueEntry, CATALOGUE } from '../catalogue.js';
import { Model } from '../engine/model.js';
import type { TokenOptions } from '../engine/tokens.js';
import { kerasInputScaling } from '../engine/input-scaling.js';
import type { Graph } from '../engine/graph/types.js';
import type { Runtime } from '../engine/runtime/runtime.js';
import { seedWeightDigests } from '../engine/runtime/session-store.js';
import { ModelFormatError } from '../errors.js';
import { modelDefaultSpec, presetSpec, type InputSpec, type PresetName } from '../image/preprocess.js';
import { readSidecars, type ModelSidecars } from '../model-files.js';
import { modelRelativePath, weightFileNames } from '../model-paths.js';
import type { FitMode } from '../image/fit.js';
import { tfjsManifest } from '../importers/tfjs-model.js';
import { cacheFolderFor, defaultCacheDir, fetchToCache, type DownloadProgress } from './download.js';
import { resolveInputSpec } from './image-io.js';
import { readOnnxFileWhole } from './load-onnx.js';
import { loadTfjsModelFromFile } from './load-tfjs.js';
import { createNodeRuntime, type NodeRuntimeOptions } from './runtime.js';
import { ASSETS } from './package-root.js';

export interface LoadModelOptions {
  /** Preprocessing: a preset name, a JSON file path, or a spec. Overrides what the model carries. */
  preprocess?: PresetName | string | InputSpec;
  /** Class names, overriding sidecar labels. */
  labels?: string[];
  /** How photos are fitted to the input; default from the model (catalogue/sidecar) or 'stretch'. */
  fit?: FitMode;
  /** [height, width] when the model leaves its input size open. */
  inputSize?: [number, number];
  /** Transformers: where the tokens of token layers lie (default: inferred from the patch embedding). */
  tokens?: TokenOptions;
  /** Download cache folder (default: `$RSI_GRAD_CAM_CACHE` or `~/.cache/rsi-grad-cam`). */
  cacheDir?: string;
  /** Download progress. */
  onProgress?: DownloadProgress;
  /** An existing runtime, or options for a new onnxruntime-node one. */
  runtime?: Runtime;
  runtimeOptions?: NodeRuntimeOptions;
}

/** Load a classifier for explanation. */
export async function loadModel(source: string, options: LoadModelOptions = {}): Promise<Classifier> {
  const entry = /^[a-z0-9_.-]+$/i.test(source) && !/\.(onnx|json)$/i.test(source) ? findCatalogueEntry(source) : undefined;
  let file: string;
  let carried: { spec?: InputSpec; labels?: string[]; fit?: FitMode } = {};
  if (entry) {
    file = await download(entry.url, options);
    carried = { spec: presetSpec(entry.preprocess, entry.size), labels: await imagenetLabels(), fit: 'crop' };
  } else if (/^https?:\/\//i.test(source)) {
    file = await download(source, options);
  } else {
    file = source;
    try {
      await stat(file);
    } catch {
      const hint = CATALOGUE.map((c) => c.name).join(', ');
      throw new ModelFormatError(`${source}: model file not found (give a .onnx file, a TF.js model.json, a URL, or one of: ${hint})`);
    }
  }

  let made: Runtime | undefined;
  const runtime = () => (made ??= createNodeRuntime({ cacheDir: options.cacheDir, ...options.runtimeOptions }));
  let graph: Graph;
  let logits: string | undefined;
  let layerNames: Map<string, string> | undefined;
  let scalesInside = false;
  const isTfjs = /\.json$/i.test(file);
  if (isTfjs) {
    const imported = await loadTfjsModelFromFile(file, { inputSize: options.inputSize });
    graph = imported.graph;
    logits = imported.logitsName;
    layerNames = imported.layerNames;
    scalesInside = imported.inputScaling !== undefined;
  } else {
    const read = await readOnnxFileWhole(file);
    graph = read.graph;
    scalesInside = kerasInputScaling(graph) !== undefined;
    // A second process on the same file need not hash its weights again for the session store's keys.
    const store = (options.runtime ?? runtime()).options.sessionStore;
    const digest = read.whole && (await store?.fileDigest?.(file, read.whole.identity, read.whole.bytes));
    if (store && digest) seedWeightDigests(store, graph, digest);
  }
  const model = Model.prepare(graph, { source, logits, inputSize: options.inputSize, aliases: layerNames, tokens: options.tokens });

  const defaults: Partial<InputSpec> = { size: model.imageSize, layout: model.inputLayout, channels: model.channels };
  const side = entry ? {} : await sidecars(file);
  let spec = modelDefaultSpec(carried.spec ?? side.spec, isTfjs ? 'tfjs' : 'onnx', scalesInside, model.imageSize);
  if (options.preprocess !== undefined) {
    spec = typeof options.preprocess === 'string' ? await resolveInputSpec(options.preprocess, defaults) : options.preprocess;
  }
  if (spec) {
    spec = { ...spec, size: model.imageSize, layout: model.inputLayout, channels: model.channels };
  }
  return new Classifier(model, options.runtime ?? runtime(), {
    source,
    labels: options.labels ?? carried.labels ?? side.labels,
    inputSpec: spec,
    fit: options.fit ?? carried.fit ?? side.fit ?? 'stretch',
  });

  async function sidecars(f: string): Promise<ModelSidecars> {
    const dir = path.dirname(f);
    return readSidecars(path.basename(f), (rel) => readFile(path.join(dir, rel)).then((b) => new Uint8Array(b.buffer, b.byteOffset, b.byteLength), () => undefined), defaults);
  }
}

async function imagenetLabels(): Promise<string[]> {
  const json = JSON.parse(await readFile(path.join(ASSETS, 'imagenet-labels.json'), 'utf8')) as { labels: string[] };
  return json.labels;
}

/** Fetch a model (and, for model.json, its weight files) into the cache; returns the local path. */
async function download(url: string, options: LoadModelOptions): Promise<string> {
  const folder = cacheFolderFor(url, options.cacheDir ?? defaultCacheDir());
  const last = new URL(url).pathname.split('/').pop() || 'model.onnx';
  let name: string;
  try {
    name = decodeURIComponent(last);
  } catch {
    throw new ModelFormatError(`${url}: the file name '${last}' is not a valid URL path (bad percent-encoding)`);
  }
  const local = await fetchToCache(url, path.join(folder, modelRelativePath(name, `the file name '${last}'`, url)), options.onProgress);
  if (/\.json$/i.test(name)) {
    let json: unknown;
    try {
      json = JSON.parse(await readFile(local, 'utf8'));
    } catch (e) {
      throw new ModelFormatError(`${url}: not valid JSON (${(e as Error).message})`);
    }
    const manifest = tfjsManifest(json, url);
    // Every weight file's place in the cache is checked before anything is fetched.
    const files = manifest.flatMap((group) => group.paths.map((p) => ({ url: new URL(p, url).href, dest: path.join(folder, weightFileNames(p, url).pop()!) })));
    for (const f of files) await fetchToCache(f.url, f.dest, options.onProgress);
    // Labels travel with Teachable Machine models as metadata.json; optional.
    await fetchToCache(new URL('metadata.json', url).href, path.join(folder, 'metadata.json')).catch(() => undefined);
  }
  return local;
}
