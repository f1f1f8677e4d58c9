/**
 * Opening a model from its files through an injected reader, so the same rules serve files on
 * disk (Node) and files dropped in a web page: `.onnx` (with external data) or TF.js
 * `model.json` with its weight files, and the sidecars that travel with a model
 * (`<stem>.preprocess.json` / `preprocess.json`, `<stem>.labels.json` / `labels.json`, and for
 * TF.js models Teachable Machine's `metadata.json`).
 */
import { ModelFormatError, OptionError } from './errors.js';
import { parseOnnx } from './engine/graph/onnx-io.js';
import type { Graph } from './engine/graph/types.js';
import { kerasInputScaling } from './engine/input-scaling.js';
import type { FitMode } from './image/fit.js';
import { parseInputSpec, type InputSpec } from './image/preprocess.js';
import { importTfjs, tfjsManifest, type TfjsImportOptions } from './importers/tfjs-model.js';
import type { ManifestGroup } from './importers/tfjs/model-json.js';
import { modelRelativePath, weightFileNames } from './model-paths.js';

/** Bytes of a file given by a path relative to the model's folder; undefined when it is absent. */
export type ModelFileReader = (relativePath: string) => Promise<Uint8Array | undefined>;

/** A model file turned into a graph, with what its importer knows about it. */
export interface ImportedModelFile {
  graph: Graph;
  format: 'onnx' | 'tfjs';
  /** Logits tensor, when the importer knows it. */
  logits?: string;
  /** Layer names of the original framework -> tensor names. */
  aliases?: Map<string, string>;
  /** The Keras layer that scales the input inside the model (the model takes raw 0-255 pixels; see defaultPreset). */
  inputScaling?: string;
}

/** What sidecar files say about a model. */
export interface ModelSidecars {
  spec?: InputSpec;
  labels?: string[];
  fit?: FitMode;
}

const BYTES: Record<string, number> = { float32: 4, int32: 4, float16: 2, uint16: 2, int16: 2, uint8: 1, int8: 1, bool: 1 };

/** Base name of a path without its folder and `.onnx` / `.json` extension. */
export function modelStem(name: string): string {
  return name.replace(/^.*[\\/]/, '').replace(/\.(onnx|json)$/i, '');
}

/**
 * Import `name` (a `.onnx` or TF.js `model.json`, as a path the reader understands) and the
 * files it refers to (ONNX external data, TF.js weight files), relative to its folder. TF.js
 * Layers and graph models are both accepted; `options.inputSize` sizes a graph model whose
 * input leaves it open.
 */
export async function importModelFile(name: string, bytes: Uint8Array, read: ModelFileReader, options: TfjsImportOptions = {}): Promise<ImportedModelFile> {
  if (/\.json$/i.test(name)) {
    let json: unknown;
    try {
      json = JSON.parse(new TextDecoder().decode(bytes));
    } catch (e) {
      throw new ModelFormatError(`${name}: not valid JSON (${(e as Error).message})`);
    }
    const weights = await assembleWeights(tfjsManifest(json, name), read, name);
    const imported = importTfjs(json as object, weights, name, options);
    return { graph: imported.graph, format: 'tfjs', logits: imported.logitsName, aliases: imported.layerNames, inputScaling: imported.inputScaling?.layer };
  }
  // The parser reads external data synchronously: parse, and whenever it asks for a file not
  // read yet, read that file and parse again (each pass reads one more file, so this ends).
  const external = new Map<string, Uint8Array>();
  for (;;) {
    let missing: string | undefined;
    try {
      const graph = parseOnnx(bytes, name, (location, offset, length, tensor) => {
        const where = `${name}: tensor '${tensor}': external data`;
        const file = modelRelativePath(location, `tensor '${tensor}': external data location '${location}'`, name);
        const data = external.get(file);
        if (!data) {
          missing = file;
          throw new ModelFormatError(`${where} '${location}' not read yet`);
        }
        const [start, n] = externalDataRange(offset, length, data.length, `${where} file '${location}'`);
        return data.subarray(start, start + n);
      });
      return { graph, format: 'onnx', inputScaling: kerasInputScaling(graph) };
    } catch (e) {
      if (missing === undefined) throw e;
    }
    const data = await read(missing);
    if (!data) throw new ModelFormatError(`${name}: external data file '${missing}' is missing (give it together with the model)`);
    external.set(missing, data);
  }
}

/**
 * The byte range [start, start + length) of an ONNX external-data entry in a file of `size`
 * bytes (`length` undefined: to the end), checked; `where` names the tensor and file.
 */
export function externalDataRange(offset: number, length: number | undefined, size: number, where: string): [number, number] {
  for (const [k, v] of [['offset', offset], ['length', length ?? 0]] as const) {
    if (!Number.isSafeInteger(v) || v < 0) throw new ModelFormatError(`${where}: ${k} '${v}' is not a byte count`);
  }
  const n = length ?? size - offset;
  if (offset + n > size) throw new ModelFormatError(`${where} is ${size} bytes, too short for ${n} bytes at offset ${offset}`);
  return [offset, n];
}

/**
 * The TF.js weight files of a manifest, concatenated in manifest order. Errors name a missing
 * or short file, or one whose size does not match the manifest; paths leading out of the model's
 * folder are refused.
 */
export async function assembleWeights(manifest: ManifestGroup[], read: ModelFileReader, source: string): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  for (const group of manifest) {
    const need = group.weights.reduce((sum, w) => sum + (BYTES[w.quantization?.dtype ?? w.dtype] ?? 4) * w.shape.reduce((a, b) => a * b, 1), 0);
    let have = 0;
    for (const p of group.paths) {
      const bytes = await readWeightFile(p, read, source);
      parts.push(bytes);
      have += bytes.byteLength;
    }
    // Exact sizes: extra bytes would shift every later weight of the model.
    if (have !== need) {
      const files = group.paths.map((p) => `'${p}'`).join(', ');
      const what = group.paths.length === 1 ? `weight file ${files} holds` : `weight files ${files} hold`;
      throw new ModelFormatError(
        `${source}: ${what} ${have} bytes but the weights manifest needs ${need}; ${have < need ? 'the file is truncated' : 'the file does not match the manifest'}`,
      );
    }
  }
  const data = new Uint8Array(parts.reduce((a, p) => a + p.byteLength, 0));
  let off = 0;
  for (const p of parts) {
    data.set(p, off);
    off += p.byteLength;
  }
  return data;
}

async function readWeightFile(rel: string, read: ModelFileReader, source: string): Promise<Uint8Array> {
  // Paths are relative URLs; converters may percent-encode them. Both forms stay in the folder.
  for (const name of weightFileNames(rel, source)) {
    const bytes = await read(name);
    if (bytes) return bytes;
  }
  throw new ModelFormatError(`${source}: weight file '${rel}' is missing`);
}

/**
 * The sidecars of the model file `name`, read through `read` (paths relative to the model's
 * folder). `defaults` fill what a preprocess.json leaves out (size, layout).
 */
export async function readSidecars(name: string, read: ModelFileReader, defaults: Partial<InputSpec> = {}): Promise<ModelSidecars> {
  const stem = modelStem(name);
  const tfjs = /\.json$/i.test(name);
  const out: ModelSidecars = {};
  for (const p of [`${stem}.preprocess.json`, 'preprocess.json']) {
    const json = await readJson(p, read);
    if (json === undefined) continue;
    const { fit, ...rest } = json as Record<string, unknown>;
    out.spec = parseInputSpec(rest, p, defaults);
    if (typeof fit === 'string') out.fit = fit as FitMode;
    break;
  }
  for (const p of [`${stem}.labels.json`, 'labels.json', ...(tfjs ? ['metadata.json'] : [])]) {
    const json = await readJson(p, read);
    if (json === undefined) continue;
    out.labels = parseLabels(json, p);
    break;
  }
  return out;
}

/** Class names from a labels file: an array of strings, or `{ "labels": [...] }`. */
export function parseLabels(json: unknown, source: string): string[] {
  const labels = Array.isArray(json) ? json : (json as { labels?: unknown } | null)?.labels;
  if (!Array.isArray(labels) || labels.some((l) => typeof l !== 'string')) throw new OptionError(`${source}: expected an array of class names (or { "labels": [...] })`);
  return labels as string[];
}

async function readJson(p: string, read: ModelFileReader): Promise<unknown | undefined> {
  const bytes = await read(p);
  if (!bytes) return undefined;
  try {
    return JSON.parse(new TextDecoder().decode(bytes));
  } catch (e) {
    throw new OptionError(`${p}: not valid JSON (${(e as Error).message})`);
  }
}
