/**
 * Reading a TF.js Layers `model.json` into one normalised shape: every model (Sequential or
 * functional, at any nesting depth) becomes a list of layers with explicit inbound nodes,
 * so the graph builder only ever walks functional graphs.
 */
import { ModelFormatError } from '../../errors.js';

/** A Keras shape with the batch first; `null` where the size is open. */
export type KerasShape = (number | null)[];

/** One input of a layer call: output `tensor` of call `node` of layer `layer`. */
export interface TensorRef {
  layer: string;
  node: number;
  tensor: number;
}

export interface LayerSpec {
  className: string;
  name: string;
  /** The layer's Keras config (snake_case keys, as stored). */
  config: Record<string, unknown>;
  /** One entry per call of the layer; each lists the call's inputs. */
  inbound: TensorRef[][];
  /** For a model used as a layer. */
  inner?: ModelSpec;
  /** For an InputLayer: its declared shape (batch first). */
  inputShape?: KerasShape;
}

export interface ModelSpec {
  name: string;
  layers: LayerSpec[];
  inputs: TensorRef[];
  outputs: TensorRef[];
}

/** One weight as listed in a `weightsManifest` group. */
export interface WeightSpec {
  name: string;
  shape: number[];
  dtype: string;
  quantization?: { dtype: string; scale?: number; min?: number };
}

export interface ManifestGroup {
  paths: string[];
  weights: WeightSpec[];
}

export interface ParsedModelJson {
  model: ModelSpec;
  manifest: ManifestGroup[];
  kerasVersion?: string;
}

type Json = Record<string, unknown>;

const MODEL_CLASSES = new Set(['Model', 'Functional', 'Sequential']);

function isObject(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Parse the whole `model.json` object (topology and weights manifest). */
export function parseModelJson(json: unknown, source: string): ParsedModelJson {
  if (!isObject(json)) throw new ModelFormatError(`${source}: model.json is not a JSON object`);
  if (json['format'] === 'graph-model') {
    throw new ModelFormatError(`${source}: this is a TF.js graph model; only TF.js Layers models (format 'layers-model') are supported`);
  }
  const topology = json['modelTopology'];
  if (!isObject(topology)) throw new ModelFormatError(`${source}: model.json has no 'modelTopology' object`);
  // Older converters wrap the model as { model_config, keras_version, backend }.
  const top = isObject(topology['model_config']) ? (topology['model_config'] as Json) : topology;
  if (typeof top['class_name'] !== 'string') throw new ModelFormatError(`${source}: 'modelTopology' names no model class`);
  if (!MODEL_CLASSES.has(top['class_name'])) {
    throw new ModelFormatError(`${source}: the top-level class is '${top['class_name']}'; expected Sequential or Model`);
  }
  const model = parseModel(top['class_name'], top['config'], undefined, source);
  const manifest = parseManifest(json['weightsManifest'], source);
  const kerasVersion = typeof topology['keras_version'] === 'string' ? topology['keras_version'] : undefined;
  return { model, manifest, kerasVersion };
}

/** The `weightsManifest` list of a model.json (Layers and graph models write it alike). */
export function parseManifest(m: unknown, source: string): ManifestGroup[] {
  if (m === undefined) return [];
  if (!Array.isArray(m)) throw new ModelFormatError(`${source}: 'weightsManifest' is not a list`);
  return m.map((g, gi) => {
    if (!isObject(g) || !Array.isArray(g['paths']) || !Array.isArray(g['weights'])) {
      throw new ModelFormatError(`${source}: weightsManifest group ${gi} needs 'paths' and 'weights' lists`);
    }
    const weights = g['weights'].map((w, wi) => {
      if (!isObject(w) || typeof w['name'] !== 'string' || !Array.isArray(w['shape'])) {
        throw new ModelFormatError(`${source}: weightsManifest group ${gi} weight ${wi} needs 'name' and 'shape'`);
      }
      const shape = w['shape'] as unknown[];
      if (!shape.every((d) => (typeof d === 'number' || (typeof d === 'string' && d !== '')) && Number.isSafeInteger(Number(d)) && Number(d) >= 0)) {
        throw new ModelFormatError(`${source}: weight '${w['name']}' has shape ${JSON.stringify(shape)} in the weights manifest; its sizes must be non-negative integers`);
      }
      const q = w['quantization'];
      const spec: WeightSpec = { name: w['name'], shape: (w['shape'] as unknown[]).map(Number), dtype: String(w['dtype'] ?? 'float32') };
      if (isObject(q)) {
        spec.quantization = {
          dtype: String(q['dtype']),
          scale: q['scale'] === undefined ? undefined : Number(q['scale']),
          min: q['min'] === undefined ? undefined : Number(q['min']),
        };
      }
      return spec;
    });
    return { paths: (g['paths'] as unknown[]).map(String), weights };
  });
}

/** A model config (Sequential or functional) as a functional ModelSpec. */
function parseModel(className: string, config: unknown, fallbackName: string | undefined, source: string): ModelSpec {
  if (className === 'Sequential') return parseSequential(config, fallbackName, source);
  if (!isObject(config) || !Array.isArray(config['layers'])) {
    throw new ModelFormatError(`${source}: model '${fallbackName ?? '?'}' (${className}) has no 'layers' list`);
  }
  const name = typeof config['name'] === 'string' ? config['name'] : (fallbackName ?? 'model');
  const layers = config['layers'].map((l) => parseLayer(l, name, source, true));
  return { name, layers, inputs: parseRefList(config['input_layers'], name, source), outputs: parseRefList(config['output_layers'], name, source) };
}

function parseSequential(config: unknown, fallbackName: string | undefined, source: string): ModelSpec {
  // Keras 1 / early 2 stored a Sequential's config as the bare layer list.
  const list = Array.isArray(config) ? config : isObject(config) ? config['layers'] : undefined;
  if (!Array.isArray(list) || list.length === 0) throw new ModelFormatError(`${source}: Sequential model '${fallbackName ?? '?'}' has no layers`);
  const name = isObject(config) && typeof config['name'] === 'string' ? config['name'] : (fallbackName ?? 'sequential');
  const parsed = list.map((l) => parseLayer(l, name, source, false));
  const layers: LayerSpec[] = [];
  let first = parsed[0]!;
  if (first.className !== 'InputLayer') {
    // Keras and TF.js give such a model an implicit input layer named after the first layer.
    // A Sequential that starts with a nested model takes that model's input shape.
    const shape = declaredShape(first.config) ?? (first.inner ? modelInputShape(first.inner) : undefined);
    const input: LayerSpec = { className: 'InputLayer', name: `${first.name}_input`, config: {}, inbound: [], inputShape: shape };
    while (parsed.some((l) => l.name === input.name)) input.name += '_';
    layers.push(input);
    first = input;
  } else {
    parsed.shift();
    layers.push(first);
  }
  let prev = first.name;
  for (const l of parsed) {
    l.inbound = [[{ layer: prev, node: 0, tensor: 0 }]];
    layers.push(l);
    prev = l.name;
  }
  return { name, layers, inputs: [{ layer: first.name, node: 0, tensor: 0 }], outputs: [{ layer: prev, node: 0, tensor: 0 }] };
}

function parseLayer(l: unknown, modelName: string, source: string, functional: boolean): LayerSpec {
  if (!isObject(l) || typeof l['class_name'] !== 'string') throw new ModelFormatError(`${source}: model '${modelName}' lists a layer without 'class_name'`);
  const className = l['class_name'];
  const config = isObject(l['config']) ? l['config'] : {};
  const name = typeof l['name'] === 'string' ? l['name'] : typeof config['name'] === 'string' ? config['name'] : undefined;
  if (!name && !MODEL_CLASSES.has(className)) throw new ModelFormatError(`${source}: a ${className} layer in model '${modelName}' has no name`);
  const spec: LayerSpec = { className, name: name ?? 'model', config, inbound: functional ? parseInbound(l['inbound_nodes'], name ?? '?', source) : [] };
  if (MODEL_CLASSES.has(className)) {
    spec.inner = parseModel(className, l['config'], name, source);
    spec.name = name ?? spec.inner.name;
  }
  if (className === 'InputLayer') spec.inputShape = declaredShape(config);
  return spec;
}

/** The input shape a layer config declares (batch_input_shape, batch_shape or input_shape), if any. */
export function declaredShape(config: Json): KerasShape | undefined {
  const b = config['batch_input_shape'] ?? config['batch_shape'];
  if (Array.isArray(b)) return b.map((d) => (typeof d === 'number' ? d : null));
  const s = config['input_shape'];
  if (Array.isArray(s)) return [null, ...s.map((d) => (typeof d === 'number' ? d : null))];
  return undefined;
}

function parseInbound(nodes: unknown, layer: string, source: string): TensorRef[][] {
  if (nodes === undefined || nodes === null) return [];
  if (!Array.isArray(nodes)) throw new ModelFormatError(`${source}: layer '${layer}' has malformed 'inbound_nodes'`);
  return nodes.map((n) => {
    const refs: TensorRef[] = [];
    if (Array.isArray(n)) {
      // Keras 2 / TF.js: [[layer, node, tensor, kwargs], ...]
      for (const r of n) refs.push(refFromArray(r, layer, source));
    } else if (isObject(n)) {
      // Keras 3: { args: [...], kwargs } with keras tensors carrying keras_history.
      collectHistories(n['args'], refs);
    } else throw new ModelFormatError(`${source}: layer '${layer}' has a malformed inbound node`);
    return refs;
  });
}

function collectHistories(v: unknown, out: TensorRef[]): void {
  if (Array.isArray(v)) for (const x of v) collectHistories(x, out);
  else if (isObject(v)) {
    const cfg = v['config'];
    if (v['class_name'] === '__keras_tensor__' && isObject(cfg) && Array.isArray(cfg['keras_history'])) {
      const [l, n, t] = cfg['keras_history'] as unknown[];
      out.push({ layer: String(l), node: Number(n ?? 0), tensor: Number(t ?? 0) });
    }
  }
}

function refFromArray(r: unknown, layer: string, source: string): TensorRef {
  if (!Array.isArray(r) || typeof r[0] !== 'string') throw new ModelFormatError(`${source}: layer '${layer}' has a malformed inbound reference`);
  return { layer: r[0], node: Number(r[1] ?? 0), tensor: Number(r[2] ?? 0) };
}

function parseRefList(v: unknown, model: string, source: string): TensorRef[] {
  if (!Array.isArray(v) || v.length === 0) throw new ModelFormatError(`${source}: model '${model}' lists no input or output layers`);
  // Keras 3 writes a single reference flat: [name, node, tensor].
  if (typeof v[0] === 'string') return [refFromArray(v, model, source)];
  return v.map((r) => refFromArray(r, model, source));
}

/** The declared shape of a model's first input, if any. */
export function modelInputShape(model: ModelSpec): KerasShape | undefined {
  const ref = model.inputs[0];
  return model.layers.find((l) => l.name === ref?.layer)?.inputShape;
}

/** Every layer name in the tree of models, with how often it occurs. */
export function countLayerNames(model: ModelSpec, counts = new Map<string, number>()): Map<string, number> {
  for (const l of model.layers) {
    counts.set(l.name, (counts.get(l.name) ?? 0) + 1);
    if (l.inner) countLayerNames(l.inner, counts);
  }
  return counts;
}
