/**
 * TF.js Layers model -> engine graph. Walks the (possibly nested) functional graph of the
 * model, converts each layer call with the converter table, and names every layer's output
 * tensor after the Keras layer so users can pick layers by the names they know.
 */
import { ModelFormatError } from '../../errors.js';
import { BATCH, type Graph } from '../../engine/graph/types.js';
import { checkInputSize } from '../../engine/graph/validate.js';
import { checkTrackedShapes, GraphBuilder, ktensor, storageShape, type KTensor } from './builder.js';
import { formatError, type LayerContext, type WeightOptions } from './context.js';
import { layerConverters } from './layers/index.js';
import { countLayerNames, parseModelJson, type LayerSpec, type ModelSpec, type TensorRef } from './model-json.js';
import { WeightStore } from './weights.js';

/** The graph input's name: an NCHW float32 image batch [N, C, H, W]. */
export const TFJS_INPUT_NAME = 'input';

export interface TfjsImport {
  /** Opset-17 graph taking `input` [N, C, H, W]; 4-D tensors inside are NCHW. */
  graph: Graph;
  /** The layout the original model takes; the graph itself takes NCHW. */
  inputLayout: 'NHWC';
  /** The model's image size as Keras declares it: [height, width, channels]. */
  inputSize: [number, number, number];
  /** The tensor of the model's (first) output. */
  outputName: string;
  /** The tensor feeding a final softmax, when the model ends in one. */
  logitsName?: string;
  /**
   * The layer that scales the image inside the model (a Rescaling or Normalization applied
   * to the input, possibly after layers that do nothing at inference): such a model takes
   * raw 0-255 pixels.
   */
  inputScaling?: { layer: string; className: string };
  /**
   * Keras layer name -> tensor name. Nested layers appear as `outer/inner` and, when the
   * name is unique in the model, as `inner`; the k-th extra call of a shared layer as `name:k`.
   */
  layerNames: Map<string, string>;
}

/**
 * Import a TF.js Layers model: `modelJson` is the parsed model.json, `weightData` all weight
 * files concatenated in manifest order, `source` names the model in error messages.
 */
export function importTfjsLayers(modelJson: object, weightData: ArrayBuffer | Uint8Array, source: string): TfjsImport {
  const parsed = parseModelJson(modelJson, source);
  const store = new WeightStore(parsed.manifest, weightData, source);
  const imported = new Importer(parsed.model, store, source, parsed.kerasVersion).run();
  store.checkExactLength();
  return imported;
}

class Importer {
  private readonly b: GraphBuilder;
  private readonly counts: Map<string, number>;
  /** Display path -> tensor name of its first call. */
  private readonly reserved = new Map<string, string>();
  private readonly calls = new Map<string, number>();
  private readonly cache = new Map<string, string>();
  private readonly layerNames = new Map<string, string>();
  /** Layer output tensors with their Keras shapes, to check against shape inference. */
  private readonly layerTensors: KTensor[] = [];
  /** Tensors that still hold the input image unchanged (it went only through identities). */
  private readonly rawImage = new Set([TFJS_INPUT_NAME]);
  private inputScaling?: { layer: string; className: string };

  constructor(
    private readonly model: ModelSpec,
    private readonly store: WeightStore,
    private readonly source: string,
    private readonly kerasVersion?: string,
  ) {
    this.b = new GraphBuilder(model.name);
    this.b.reserve(TFJS_INPUT_NAME);
    this.counts = countLayerNames(model);
    this.reserveNames(model, []);
  }

  run(): TfjsImport {
    const { model, source } = this;
    if (model.inputs.length !== 1) {
      throw new ModelFormatError(`${source}: the model has ${model.inputs.length} inputs; only single-image models are supported`);
    }
    const inputLayer = model.layers.find((l) => l.name === model.inputs[0]!.layer);
    const shape = inputLayer?.inputShape;
    if (!shape) throw new ModelFormatError(`${source}: the model does not declare its input shape (no batch_input_shape on its input layer)`);
    const [, h, w, c] = shape;
    if (shape.length !== 4 || typeof h !== 'number' || typeof w !== 'number' || typeof c !== 'number') {
      throw new ModelFormatError(
        `${source}: the input has shape [${shape.map((d) => d ?? 'None').join(', ')}]; an image model with a fixed size [batch, height, width, channels] is required`,
      );
    }
    const graph = this.b.graph;
    graph.inputs.push({ name: TFJS_INPUT_NAME, dataType: 'float32', shape: [BATCH, c, h, w] });
    // Before any layer is built on it: an absurd size is named as the input's, not a layer's.
    checkInputSize(TFJS_INPUT_NAME, graph.inputs[0]!.shape!, source);

    const outputs = this.buildModel(model, [ktensor(TFJS_INPUT_NAME, [null, h, w, c])], []);
    const seen = new Set<string>();
    for (const o of outputs) {
      if (o.name === TFJS_INPUT_NAME) throw new ModelFormatError(`${source}: the model output is its input; there is nothing to import`);
      if (seen.has(o.name)) continue;
      seen.add(o.name);
      graph.outputs.push({ name: o.name, dataType: 'float32', shape: storageShape(o) });
    }
    this.checkShapes();
    const outputName = outputs[0]!.name;
    return {
      graph,
      inputLayout: 'NHWC',
      inputSize: [h, w, c],
      outputName,
      logitsName: findLogits(graph, outputName),
      inputScaling: this.inputScaling,
      layerNames: this.layerNames,
    };
  }

  /** Give every layer's first call its tensor name up front, so intermediates never take it. */
  private reserveNames(model: ModelSpec, prefix: string[]): void {
    for (const l of model.layers) {
      const path = [...prefix, l.name];
      if (l.inner) this.reserveNames(l.inner, path);
      else if (l.className !== 'InputLayer') this.reserved.set(path.join('/'), this.b.fresh(this.bareName(path)));
    }
  }

  /** The layer's own name when unique in the model tree, else its path. */
  private bareName(path: string[]): string {
    const name = path[path.length - 1]!;
    return (this.counts.get(name) ?? 0) <= 1 ? name : path.join('/');
  }

  /** Record the names a layer call is reachable by; returns the call number (0 for the first). */
  private register(path: string[], tensor: string): number {
    const display = path.join('/');
    const n = this.calls.get(display) ?? 0;
    this.calls.set(display, n + 1);
    const keys = new Set([display, this.bareName(path)]);
    for (const k of keys) {
      const key = n === 0 ? k : `${k}:${n}`;
      if (!this.layerNames.has(key)) this.layerNames.set(key, tensor);
    }
    return n;
  }

  /** Build one call of a model on `inputs`; returns its outputs. */
  private buildModel(model: ModelSpec, inputs: KTensor[], prefix: string[]): KTensor[] {
    const produced = new Map<string, KTensor[][]>();
    const set = (layer: string, node: number, ts: KTensor[]) => {
      let calls = produced.get(layer);
      if (!calls) produced.set(layer, (calls = []));
      calls[node] = ts;
    };
    const get = (r: TensorRef): KTensor | undefined => produced.get(r.layer)?.[r.node]?.[r.tensor];
    if (inputs.length !== model.inputs.length) {
      throw new ModelFormatError(`${this.source}: model '${[...prefix].join('/') || model.name}' takes ${model.inputs.length} inputs but is called with ${inputs.length}`);
    }
    model.inputs.forEach((r, i) => {
      set(r.layer, r.node, [inputs[i]!]);
      this.register([...prefix, r.layer], inputs[i]!.name);
    });

    const byName = new Map(model.layers.map((l) => [l.name, l]));
    // Keras and TF.js leave a nested model's own first node (input -> output, made when it was
    // built) out of the config but count it, so its calls are nodes 1, 2, ... - unless the
    // references show otherwise (a Sequential built without an input shape has no such node).
    const refs = [...model.layers.flatMap((l) => l.inbound.flat()), ...model.outputs];
    const offset = (l: LayerSpec) => (l.inner && !refs.some((r) => r.layer === l.name && r.node === 0) ? 1 : 0);
    let pending: { layer: LayerSpec; node: number; refs: TensorRef[] }[] = [];
    for (const l of model.layers) {
      const first = offset(l);
      l.inbound.forEach((refs, i) => pending.push({ layer: l, node: i + first, refs }));
    }
    while (pending.length) {
      const next: typeof pending = [];
      for (const p of pending) {
        const xs = p.refs.map(get);
        // A layer's calls are made in order, as Keras does, so call 0 keeps the plain name.
        if (xs.some((x) => !x) || next.some((q) => q.layer === p.layer)) {
          next.push(p);
          continue;
        }
        set(p.layer.name, p.node, this.callLayer(p.layer, xs as KTensor[], prefix));
      }
      if (next.length === pending.length) throw this.unconnectable(next, (r) => get(r) !== undefined, byName, prefix);
      pending = next;
    }
    return model.outputs.map((r) => {
      const t = get(r);
      if (!t) throw new ModelFormatError(`${this.source}: model output '${r.layer}' (call ${r.node}) is never computed`);
      return t;
    });
  }

  /**
   * Why none of the `stuck` layer calls can be made: following the first input each one
   * lacks ends at a layer that does not exist, a call that is never made, or back at a call
   * already on the way (a cycle).
   */
  private unconnectable(
    stuck: { layer: LayerSpec; node: number; refs: TensorRef[] }[],
    has: (r: TensorRef) => boolean,
    byName: Map<string, LayerSpec>,
    prefix: string[],
  ): ModelFormatError {
    const name = (layer: string) => [...prefix, layer].join('/');
    const key = (layer: string, node: number) => `${layer}#${node}`;
    const byCall = new Map(stuck.map((p) => [key(p.layer.name, p.node), p]));
    const path: typeof stuck = [];
    let p = stuck[0]!;
    for (;;) {
      path.push(p);
      const missing = p.refs.find((r) => !has(r));
      // A call whose inputs are all there waits for the layer's earlier calls.
      const q = missing ? byCall.get(key(missing.layer, missing.node)) : stuck.find((x) => x.layer === p.layer);
      if (!q) {
        const why = byName.has(missing!.layer) ? `call ${missing!.node} of layer '${missing!.layer}' is never computed` : `there is no layer '${missing!.layer}'`;
        return new ModelFormatError(`${this.source}: layer '${name(p.layer.name)}' cannot be connected: ${why}`);
      }
      const from = path.indexOf(q);
      if (from >= 0) {
        const cycle = [...path.slice(from), q].map((x) => `'${name(x.layer.name)}'`).join(' -> ');
        return new ModelFormatError(`${this.source}: layer '${name(q.layer.name)}' is on a cycle of inbound nodes (${cycle}, each reading the next); a model graph must be acyclic`);
      }
      p = q;
    }
  }

  private callLayer(layer: LayerSpec, inputs: KTensor[], prefix: string[]): KTensor[] {
    const path = [...prefix, layer.name];
    const display = path.join('/');
    if (layer.inner) {
      const outs = this.buildModel(layer.inner, inputs, path);
      this.register(path, outs[0]!.name);
      return outs;
    }
    if (layer.className === 'InputLayer') {
      throw new ModelFormatError(`${this.source}: input layer '${display}' is called like a layer`);
    }
    const convert = layerConverters[layer.className];
    if (!convert) {
      throw new ModelFormatError(`${this.source}: unsupported layer class '${layer.className}' (layer '${display}')`);
    }
    const first = !this.calls.has(display);
    const base = first ? this.reserved.get(display)! : this.b.fresh(this.reserved.get(display)!);
    const mark = this.b.graph.nodes.length;
    const ctx = this.context(layer, path, inputs, base);
    const result = convert(ctx);
    const out = this.finish(result, base, mark);
    this.register(path, out.name);
    this.layerTensors.push(out);
    if (inputs.length === 1 && this.rawImage.has(inputs[0]!.name)) {
      if (SCALING_LAYERS.has(layer.className)) this.inputScaling ??= { layer: display, className: layer.className };
      else if (identityAtInference(layer.className)) this.rawImage.add(out.name);
    }
    return [out];
  }

  private context(layer: LayerSpec, path: string[], inputs: KTensor[], base: string): LayerContext {
    const display = path.join('/');
    const fail = (message: string): never => {
      throw formatError(this.source, { display, layer }, message);
    };
    const load = (name: string, expected: number[], opts: WeightOptions | undefined): Float32Array => {
      const entry = this.store.find(path, name);
      if (!entry) {
        throw new ModelFormatError(
          `${this.source}: layer '${display}' (${layer.className}) needs weight '${layer.name}/${name}', which the weights manifest does not list`,
        );
      }
      const got = entry.spec.shape;
      const count = (s: number[]) => s.reduce((a, b) => a * b, 1);
      const ok = opts?.countOnly ? count(got) === count(expected) : got.length === expected.length && got.every((d, i) => d === expected[i]);
      if (!ok) {
        throw new ModelFormatError(
          `${this.source}: layer '${display}' (${layer.className}) weight '${entry.spec.name}' has shape [${got.join(', ')}] in the weights manifest, but the topology needs [${expected.join(', ')}]`,
        );
      }
      return this.store.decode(entry).values;
    };
    return {
      b: this.b,
      layer,
      display,
      inputs,
      base,
      kerasVersion: this.kerasVersion,
      weight: (name, expected, opts) => load(name, expected, opts),
      weightShape: (name) => this.store.find(path, name)?.spec.shape,
      cached: (key, make) => {
        const k = `${display}#${key}`;
        let v = this.cache.get(k);
        if (v === undefined) this.cache.set(k, (v = make()));
        return v;
      },
      fail,
    };
  }

  /** Give the layer's result the layer's tensor name: rename its last node's output, or alias an input. */
  private finish(result: KTensor, base: string, mark: number): KTensor {
    if (result.name === base) return result;
    const renamed = this.b.renameResult(result, base, mark);
    if (renamed) return renamed;
    this.b.op('Identity', [result.name], {}, base, base);
    this.b.graph.nodes[this.b.graph.nodes.length - 1]!.name = base;
    return { ...result, name: base };
  }

  /** Shape inference must agree with the Keras shapes tracked while building. */
  private checkShapes(): void {
    checkTrackedShapes(this.b.graph, this.layerTensors, this.source);
  }
}

/** Keras layers that scale pixels; at a model's input they mean it takes raw 0-255 values. */
const SCALING_LAYERS = new Set(['Rescaling', 'Normalization']);

/** Layers that pass the image through unchanged at inference (dropout, noise, augmentation). */
function identityAtInference(className: string): boolean {
  return /Dropout|Noise|^Random(Flip|Rotation|Zoom|Translation|Contrast|Brightness)$|^ActivityRegularization$/.test(className);
}

/** The tensor feeding a final Softmax, looking through reshapes and identities after it. */
export function findLogits(graph: Graph, output: string): string | undefined {
  const producer = new Map<string, Graph['nodes'][number]>();
  for (const n of graph.nodes) for (const o of n.outputs) producer.set(o, n);
  let t = output;
  for (let guard = 0; guard < graph.nodes.length + 1; guard++) {
    const n = producer.get(t);
    if (!n) return undefined;
    if (n.opType === 'Softmax') return n.inputs[0];
    if (!['Reshape', 'Flatten', 'Identity', 'Transpose', 'Squeeze', 'Unsqueeze'].includes(n.opType)) return undefined;
    t = n.inputs[0]!;
  }
  return undefined;
}
