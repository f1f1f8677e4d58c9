/**
 * A classifier prepared for explanation: opset 17, any batch size, logits and softmax
 * probabilities as outputs, shapes inferred and layers listed. From it the engine builds
 * the graphs the methods run: plain forward with exposed tensors, forward + backward to
 * chosen layers, and graphs whose layer activations are fed from outside.
 */
import { ModelFormatError, OptionError } from '../errors.js';
import { A } from './graph/attributes.js';
import { NameScope, cloneGraph, producers, pruneUnused } from './graph/graph-utils.js';
import { inferShapes, type Known } from './graph/shape-inference.js';
import { int64Tensor } from './graph/tensor-data.js';
import { BATCH, type Graph, type Node, type Shape } from './graph/types.js';
import { upgradeOpset } from './graph/opset.js';
import { makeBatchable, symbolicBatch } from './batching.js';
import { floatTwin, quantizedOps } from './quantized.js';
import { foldConstants } from './graph/fold.js';
import { differentiate, type RuleVariants } from './autodiff/differentiate.js';
import { checkGradientPath } from './autodiff/gradient-path.js';
import { defaultLayer, infinitePadding, listLayers, resolveLayer, type LayerInfo } from './layers.js';
import { NCHW, NHWC, inferLayouts, inputLayoutOf, permutation, toNchwShape } from './layout.js';
import { dimProduct } from './graph/dims.js';
import { applyTokenGrids, checkTokenOptions, patchGrid, type TokenGrid, type TokenOptions } from './tokens.js';
import { checkInputSize, checkLogits, checkSignatures, unknownShapeError, validateGraph } from './graph/validate.js';

/** Which class score is differentiated: the post-softmax probability or the logit. */
export type ScoreMode = 'softmax' | 'logit';

/** The activation an output goes through before it is scored (multi-label: sigmoid; regression: none). */
export type OutputActivation = 'none' | 'sigmoid' | 'softmax';

/** What the score reads: the class output (probabilities or logits), or any [N, K] tensor through an activation. */
export type ScoreSpec = ScoreMode | { output: string; activation: OutputActivation };

export interface PrepareOptions {
  /** Path or URL, for messages. */
  source?: string;
  /** [height, width] to use when the file leaves the input's spatial size open. */
  inputSize?: [number, number];
  /** Tensor holding the logits, when it is not the output (or the input of a final Softmax). */
  logits?: string;
  /** Extra layer names (e.g. Keras names of nested layers) -> tensor names. */
  aliases?: Map<string, string>;
  /** Where transformer tokens lie (default: inferred from the patch embedding; see tokens.ts). */
  tokens?: TokenOptions;
}

/** What a built graph's outputs are called. */
export interface GraphOutputs {
  logits: string;
  probs: string;
  /** Per item: sum_c targets[b, c] * y[b, c] (y: the scored output). Present when a score is given. */
  score?: string;
  /**
   * y itself, [N, scoreWidth]: the output the score reads, after its activation. Present when a
   * score is given. The score is linear in it, so one forward scores any number of targets.
   */
  scored?: string;
  /** Exposed activations, in the order asked. */
  activations: string[];
  /** Gradients of the score w.r.t. each `wrt` tensor, in order. */
  gradients: string[];
}

export interface BuildOptions {
  /** Tensors whose values are returned. */
  expose?: string[];
  /** Differentiate this score (needs the `targets` input, [N, scoreWidth(score)]). */
  score?: ScoreSpec;
  /** Tensors to differentiate with respect to (layer tensors and/or the input name). */
  wrt?: string[];
  /** A layer tensor fed from outside instead of computed (its producer is cut off). */
  feed?: string;
  /** Backward-graph variants for backends that lack an operator feature (see RuleVariants). */
  variants?: RuleVariants;
}

export const TARGETS_INPUT = 'rsi/targets';

export class Model {
  /** The prepared forward graph. Do not modify: build variants with `build`. */
  readonly graph: Graph;
  readonly shapes: Map<string, Known>;
  readonly layers: LayerInfo[];
  readonly inputName: string;
  /** The input's shape as the graph takes it: [N, C, H, W], or [N, H, W, C] for NHWC models. */
  readonly inputShape: [string, number, number, number];
  /** NHWC for models that take channels last (tf2onnx exports), as the graph's ops show it. */
  readonly inputLayout: 'NCHW' | 'NHWC';
  /** [height, width] of the input image. */
  readonly imageSize: [number, number];
  readonly channels: number;
  readonly logits: string;
  readonly probs: string;
  readonly numClasses: number;
  readonly source: string;

  /** One-line facts about how the model is explained (e.g. through a float twin); the CLI prints them. */
  readonly notes: string[] = [];

  private aliases = new Map<string, string>();
  /** For a quantized model: the model as it is, which gives the predictions (`graph` is its float twin). */
  private predictor?: { graph: Graph; logits: string; probs: string };
  private readonly byTensor: Map<string, LayerInfo>;

  private constructor(graph: Graph, shapes: Map<string, Known>, logits: string, probs: string, source: string, tokens?: TokenOptions) {
    this.graph = graph;
    this.shapes = shapes;
    this.source = source;
    this.logits = logits;
    this.probs = probs;
    const input = graph.inputs[0]!;
    this.inputName = input.name;
    const s = input.shape!;
    if (s.length !== 4 || s.slice(1).some((d) => typeof d !== 'number')) {
      throw new ModelFormatError(`${source}: the input '${input.name}' must be an image [N, C, H, W] with a fixed size, got [${s.join(', ')}]`);
    }
    this.inputShape = [BATCH, s[1] as number, s[2] as number, s[3] as number];
    this.inputLayout = inputLayoutOf(graph, shapes) === NHWC ? 'NHWC' : 'NCHW';
    this.imageSize = this.inputLayout === 'NCHW' ? [s[2] as number, s[3] as number] : [s[1] as number, s[2] as number];
    this.channels = (this.inputLayout === 'NCHW' ? s[1] : s[3]) as number;
    this.numClasses = shapes.get(logits)!.shape![1] as number;
    // The probabilities the engine appends are the model's output, not a layer: the logit
    // score does not depend on them at all.
    this.layers = listLayers(graph, shapes, inferLayouts(graph, shapes, this.inputLayout)).filter((l) => l.tensor !== probs);
    applyTokenGrids(this.layers, patchGrid(graph, shapes), tokens);
    this.byTensor = new Map(this.layers.map((l) => [l.tensor, l]));
  }

  /** Prepare an imported graph (the graph passed in is not changed). */
  static prepare(original: Graph, options: PrepareOptions = {}): Model {
    const source = options.source ?? 'model';
    checkTokenOptions(options.tokens, source);
    if (original.inputs.length !== 1) {
      throw new ModelFormatError(`${source}: expected one image input, found ${original.inputs.length} (${original.inputs.map((i) => i.name).join(', ')})`);
    }
    const graph = cloneGraph(original);
    validateGraph(graph, source);
    const input = graph.inputs[0]!;
    if (!input.shape || input.shape.length !== 4) {
      throw new ModelFormatError(`${source}: the input '${input.name}' has shape [${input.shape?.join(', ') ?? '?'}]; an image classifier takes [N, C, H, W]`);
    }
    if (input.dataType !== 'float32') throw new ModelFormatError(`${source}: the input '${input.name}' is ${input.dataType}; float32 is required`);
    // A quantized model is explained through its float twin; its predictions stay its own.
    const quantized = quantizedOps(graph);
    const main = prepareGraph(quantized.length ? floatTwin(graph, source) : graph, options, source);
    const model = new Model(main.graph, main.shapes, main.logits, main.probs, source, options.tokens);
    if (quantized.length) {
      // Weights stay behind their DequantizeLinear: onnxruntime fuses that into integer kernels.
      const predictor = prepareGraph(graph, options, source, new Set(['QuantizeLinear', 'DequantizeLinear']));
      model.predictor = { graph: predictor.graph, logits: predictor.logits, probs: predictor.probs };
      model.notes.push(
        `${source} is quantized (${quantized.join(', ')}): predictions come from the model as it is, gradients and activations from a float twin (weights dequantized, activation quantization passed straight through)`,
      );
    }
    for (const [k, v] of options.aliases ?? []) model.aliases.set(k, v);
    return model;
  }

  /** A layer by tensor name, node name or module path; the default layer when `name` is undefined. */
  layer(name?: string): LayerInfo {
    if (name === undefined || name === '') return defaultLayer(this.graph, this.layers, this.source, new Set(this.aliases.values()));
    const alias = this.aliases.get(name);
    if (alias !== undefined && alias !== name) return this.layer(alias);
    if (name === this.inputName) {
      if (this.inputLayout === 'NHWC') {
        throw new OptionError(`${this.source}: layer '${name}' is the model's channels-last image input; explain at a layer after it`);
      }
      return { tensor: this.inputName, node: '', op: 'Input', shape: [...this.inputShape], layout: NCHW, spatial: [...this.imageSize], modules: [], index: -1 };
    }
    const pad = producers(this.graph).get(name);
    if (pad && infinitePadding(this.graph, pad)) {
      throw new OptionError(`${this.source}: layer '${name}' is padding with an infinite value (before a max pooling), which no cam can use; explain at the pooling output`);
    }
    if (name === this.probs) throw new OptionError(`${this.source}: '${name}' holds the model's output probabilities, not a layer to explain at`);
    if (this.graph.initializers.has(name) || (this.shapes.has(name) && !this.layers.some((l) => l.tensor === name))) {
      throw new OptionError(`${this.source}: layer '${name}' does not depend on the input image, so it cannot explain a prediction`);
    }
    return resolveLayer(this.layers, name, this.source);
  }

  /** Shape of a tensor, with `N` for the batch. */
  shapeOf(tensor: string): Shape {
    if (tensor === this.inputName) return [...this.inputShape];
    const s = this.shapes.get(tensor)?.shape;
    if (!s) throw new ModelFormatError(`${this.source}: the shape of '${tensor}' is unknown`);
    return s;
  }

  /**
   * Build a graph variant: exposed tensors, an optional differentiated score, an optional fed
   * layer. A 4-D layer stored in another layout (NHWC) is exposed, differentiated and fed as
   * NCHW, the shape its LayerInfo gives; the image input keeps the model's own layout.
   */
  build(options: BuildOptions): { graph: Graph; outputs: GraphOutputs } {
    const graph = cloneGraph(this.graph);
    const names = new NameScope(graph);
    const shapes = new Map(this.shapes);
    /** Tensors whose values leave or enter the graph transposed to NCHW, with their layout. */
    const views = new Map<string, string>();
    /** Token layers, which leave and enter the graph as maps [N, D, H, W]. */
    const tokens = new Map<string, TokenGrid>();
    for (const t of [...(options.expose ?? []), ...(options.wrt ?? []), ...(options.feed ? [options.feed] : [])]) {
      const info = this.byTensor.get(t);
      if (info?.tokens) tokens.set(t, info.tokens);
      else if (info?.layout && info.layout !== NCHW && t !== this.inputName) views.set(t, info.layout);
    }
    if (options.feed) {
      const feed = options.feed;
      const layout = views.get(feed);
      const grid = tokens.get(feed);
      if (grid) feedTokens(graph, feed, this.shapeOf(feed), grid, names);
      else if (layout) {
        // Fed as NCHW: a Transpose back to the stored layout takes the tensor's place.
        const stored = names.fresh(`${feed}/stored`);
        for (const n of graph.nodes) n.inputs = n.inputs.map((i) => (i === feed ? stored : i));
        const nchw = toNchwShape(this.shapeOf(feed), layout);
        cutAt(graph, feed, nchw, names);
        graph.nodes.unshift(node(names, 'Transpose', [feed], [stored], { perm: A.ints(permutation(NCHW, layout)) }));
        shapes.set(stored, this.shapes.get(feed)!);
        shapes.set(feed, { ...this.shapes.get(feed)!, shape: nchw });
        views.delete(feed);
      } else cutAt(graph, feed, this.shapeOf(feed), names);
    }

    // A graph output is the tensor itself. An Identity from a node's output to a graph output
    // is not safe in onnxruntime: its basic optimizer fuses Pad into the next Conv without
    // an edge from the Pad's input producer to the Conv, then removes such an Identity by
    // renaming that producer's output, which leaves the Conv reading a tensor that no longer
    // exists ("... is not a graph input, initializer, or output of a previous node").
    // Graph inputs (the image, a fed layer, the targets seed) still need an Identity; a layer
    // stored in another layout than NCHW leaves through a Transpose to NCHW.
    const inputs = new Set(graph.inputs.map((v) => v.name));
    const alias = (t: string, base: string, layer = t) => {
      const grid = tokens.get(layer);
      if (grid) return tokensToMap(graph, t, this.shapeOf(layer), grid, names, base);
      const layout = views.get(layer);
      if (!layout && !inputs.has(t) && t !== TARGETS_INPUT) return t;
      const n = names.fresh(base);
      graph.nodes.push(layout ? node(names, 'Transpose', [t], [n], { perm: A.ints(permutation(layout, NCHW)) }) : node(names, 'Identity', [t], [n]));
      return n;
    };
    // A quantized model's predictions come from the model as it is, run beside the twin
    // (a fed layer exists only in the twin, so fed graphs predict with the twin).
    const predicted = this.predictor && !options.feed ? addPredictor(graph, this.predictor, this.inputName) : undefined;
    const outputs: GraphOutputs = {
      logits: predicted?.logits ?? alias(this.logits, 'rsi/out/logits'),
      probs: predicted?.probs ?? alias(this.probs, 'rsi/out/probs'),
      activations: (options.expose ?? []).map((t, i) => alias(t, `rsi/out/act${i}`)),
      gradients: [],
    };
    if (options.score) {
      const spec = options.score;
      const k = this.scoreWidth(spec);
      let y = spec === 'softmax' ? this.probs : spec === 'logit' ? this.logits : spec.output;
      if (typeof spec === 'object' && spec.activation !== 'none') {
        const act = names.fresh(`rsi/${spec.activation}`);
        graph.nodes.push(node(names, spec.activation === 'sigmoid' ? 'Sigmoid' : 'Softmax', [y], [act], spec.activation === 'softmax' ? { axis: A.int(-1) } : {}));
        shapes.set(act, { dataType: 'float32', shape: [BATCH, k] });
        y = act;
      }
      graph.inputs.push({ name: TARGETS_INPUT, dataType: 'float32', shape: [BATCH, k] });
      shapes.set(TARGETS_INPUT, { dataType: 'float32', shape: [BATCH, k] });
      const prod = names.fresh('rsi/weighted');
      const score = names.fresh('rsi/score');
      const axes = names.fresh('rsi/axes');
      graph.initializers.set(axes, int64Tensor([1]));
      graph.nodes.push(node(names, 'Mul', [TARGETS_INPUT, y], [prod]));
      graph.nodes.push(node(names, 'ReduceSum', [prod, axes], [score], { keepdims: A.int(0) }));
      outputs.score = score;
      outputs.scored = alias(y, 'rsi/out/scored');
      const wrt = options.wrt ?? [];
      // d score / d y = targets: the seed of the backward pass.
      checkGradientPath(graph, y, wrt, shapes, this.source);
      const grads = differentiate(graph, [{ tensor: y, grad: TARGETS_INPUT }], wrt, { shapes, source: this.source, variants: options.variants });
      outputs.gradients = grads.map((g, i) => alias(g, `rsi/out/grad${i}`, wrt[i]));
    }
    const unique = new Set([outputs.logits, outputs.probs, ...(outputs.score ? [outputs.score, outputs.scored!] : []), ...outputs.activations, ...outputs.gradients]);
    graph.outputs = [...unique].map((name) => ({ name, dataType: 'float32' as const }));
    pruneUnused(graph);
    return { graph, outputs };
  }

  /** Units of the output a score reads: the classes, or K of an [N, K] output tensor that depends on the image. */
  scoreWidth(spec: ScoreSpec): number {
    if (typeof spec === 'string') return this.numClasses;
    const s = this.shapes.get(spec.output)?.shape;
    if (!s || !this.layers.some((l) => l.tensor === spec.output)) {
      throw new OptionError(`${this.source}: target output '${spec.output}' is not a tensor computed from the image (give a tensor name, e.g. the logits '${this.logits}')`);
    }
    if (s.length !== 2 || typeof s[1] !== 'number') throw new OptionError(`${this.source}: target output '${spec.output}' has shape [${s.join(', ')}]; a unit target needs an output [N, K]`);
    return s[1];
  }

  /** Check a layer depends on the image; methods need that to explain at it. */
  assertDependsOnInput(tensor: string): void {
    if (tensor === this.inputName) return;
    if (!this.layers.some((l) => l.tensor === tensor)) {
      throw new OptionError(`${this.source}: layer '${tensor}' does not depend on the input image, so it cannot explain a prediction`);
    }
  }
}

/**
 * The steps every prepared graph goes through (in place): fixed spatial size, symbolic batch,
 * constants folded, opset 17, any batch size, logits [N, classes] and softmax probabilities
 * as the outputs.
 */
function prepareGraph(graph: Graph, options: PrepareOptions, source: string, keep?: ReadonlySet<string>): { graph: Graph; shapes: Map<string, Known>; logits: string; probs: string } {
  const input = graph.inputs[0]!;
  const size = options.inputSize;
  const fix = (i: number) => (size && i >= 2 ? size[i - 2] : undefined);
  input.shape = input.shape!.map((d, i) => (typeof d === 'number' || i === 0 ? d : fix(i) ?? d));
  checkInputSize(input.name, input.shape, source);
  // Shape arithmetic (F.pad chains, 'same' padding from x.shape) becomes constants first:
  // shape inference needs pads and targets as constants. The batch stays symbolic.
  symbolicBatch(graph, source, fix);
  foldConstants(graph, source, keep);
  const pre = inferShapes(graph, source);
  upgradeOpset(graph, source, (t) => pre.get(t)?.shape);
  let logits = options.logits ?? findLogits(graph);
  checkLogits(graph, pre, logits, source);
  makeBatchable(graph, source, fix);
  let shapes = inferShapes(graph, source);

  const names = new NameScope(graph);
  const ls = shapes.get(logits)?.shape;
  if (!ls) throw unknownShapeError(graph, shapes, logits, 'the logits', source);
  if (ls.length !== 2) {
    const k = dimProduct(ls.slice(1));
    if (typeof k !== 'number' || ls[0] !== BATCH) throw new ModelFormatError(`${source}: the output '${logits}' has shape [${ls.join(', ')}]; expected [N, classes]`);
    const flat = names.fresh('rsi/logits');
    graph.nodes.push(node(names, 'Flatten', [logits], [flat], { axis: A.int(1) }));
    logits = flat;
  }
  const probs = names.fresh('rsi/probs');
  graph.nodes.push(node(names, 'Softmax', [logits], [probs], { axis: A.int(-1) }));
  graph.outputs = [
    { name: logits, dataType: 'float32' },
    { name: probs, dataType: 'float32' },
  ];
  pruneUnused(graph);
  shapes = inferShapes(graph, source);
  checkSignatures(graph, shapes, source);
  for (const o of graph.outputs) o.shape = shapes.get(o.name)?.shape;
  return { graph, shapes, logits, probs };
}

function node(names: NameScope, opType: string, inputs: string[], outputs: string[], attributes: Node['attributes'] = {}): Node {
  return { name: names.fresh(`rsi/${opType}`), opType, domain: '', inputs, outputs, attributes };
}

/** The model's logits: its output, or the input of a final Softmax (seen through reshapes). */
function findLogits(graph: Graph): string {
  const prod = producers(graph);
  const out = graph.outputs[0]!.name;
  let t = out;
  for (let i = 0; i < 8; i++) {
    const p = prod.get(t);
    if (!p) break;
    if (p.opType === 'Softmax') return p.inputs[0]!;
    if (!['Identity', 'Reshape', 'Flatten', 'Squeeze', 'Dropout'].includes(p.opType)) break;
    t = p.inputs[0]!;
  }
  return out;
}

/** Append a copy of `predictor` (the quantized model) reading the same input; its tensors get a prefix. */
function addPredictor(graph: Graph, predictor: { graph: Graph; logits: string; probs: string }, input: string): { logits: string; probs: string } {
  const rename = (t: string) => (t && t !== input ? `rsi/quantized/${t}` : t);
  for (const n of predictor.graph.nodes) {
    graph.nodes.push({ ...n, name: rename(n.name), inputs: n.inputs.map(rename), outputs: n.outputs.map(rename) });
  }
  for (const [k, v] of predictor.graph.initializers) graph.initializers.set(rename(k), v);
  for (const o of predictor.graph.otherOpsets) if (!graph.otherOpsets.some((x) => x.domain === o.domain)) graph.otherOpsets.push(o);
  return { logits: rename(predictor.logits), probs: rename(predictor.probs) };
}

/** A token tensor [N, K + H*W, D] as the map [N, D, H, W] (pytorch-grad-cam's reshape_transform), named `base`. */
function tokensToMap(graph: Graph, t: string, stored: Shape, g: TokenGrid, names: NameScope, base: string): string {
  const ints = (values: number[]) => {
    const n = names.fresh(`${base}/ints`);
    graph.initializers.set(n, int64Tensor(values));
    return n;
  };
  const d = stored[2] as number;
  let x = t;
  if (g.drop > 0) {
    x = names.fresh(`${base}/grid_tokens`);
    graph.nodes.push(node(names, 'Slice', [t, ints([g.drop]), ints([g.count]), ints([1])], [x]));
  }
  const hwc = names.fresh(`${base}/hwc`);
  graph.nodes.push(node(names, 'Reshape', [x, ints([0, g.grid[0], g.grid[1], d])], [hwc]));
  const out = names.fresh(base);
  graph.nodes.push(node(names, 'Transpose', [hwc], [out], { perm: A.ints([0, 3, 1, 2]) }));
  return out;
}

/**
 * Feed a token layer as a map [N, D, H, W]: its grid tokens come from the fed map; the
 * dropped leading tokens (the class token) are still computed from the image, as
 * pytorch-grad-cam's AblationLayerVit leaves the class token alone.
 */
function feedTokens(graph: Graph, feed: string, stored: Shape, g: TokenGrid, names: NameScope): void {
  const d = stored[2] as number;
  const tokens = names.fresh(`${feed}/tokens`);
  for (const n of graph.nodes) n.inputs = n.inputs.map((i) => (i === feed ? tokens : i));
  const ints = (values: number[]) => {
    const n = names.fresh(`${feed}/ints`);
    graph.initializers.set(n, int64Tensor(values));
    return n;
  };
  const hwc = names.fresh(`${feed}/hwc`);
  const grid = g.drop > 0 ? names.fresh(`${feed}/grid_tokens`) : tokens;
  const added = [
    node(names, 'Transpose', [feed], [hwc], { perm: A.ints([0, 2, 3, 1]) }),
    node(names, 'Reshape', [hwc, ints([0, g.grid[0] * g.grid[1], d])], [grid]),
  ];
  if (g.drop === 0) {
    cutAt(graph, feed, [BATCH, d, g.grid[0], g.grid[1]], names);
    graph.nodes.unshift(...added);
    return;
  }
  // The producer keeps computing the whole tensor under another name; its leading tokens are kept.
  const computed = names.fresh(`${feed}/computed`);
  const at = graph.nodes.findIndex((n) => n.outputs.includes(feed));
  graph.nodes[at]!.outputs = graph.nodes[at]!.outputs.map((o) => (o === feed ? computed : o));
  const lead = names.fresh(`${feed}/leading_tokens`);
  added.push(node(names, 'Slice', [computed, ints([0]), ints([g.drop]), ints([1])], [lead]));
  added.push(node(names, 'Concat', [lead, grid], [tokens], { axis: A.int(1) }));
  graph.inputs.push({ name: feed, dataType: 'float32', shape: [BATCH, d, g.grid[0], g.grid[1]] });
  graph.nodes.splice(at + 1, 0, ...added);
}

/** Cut the graph at `tensor`: its producer no longer writes it; it becomes a graph input. */
function cutAt(graph: Graph, tensor: string, shape: Shape, names: NameScope): void {
  for (const n of graph.nodes) {
    const i = n.outputs.indexOf(tensor);
    if (i >= 0) n.outputs[i] = names.fresh(`${tensor}/cut`);
  }
  graph.inputs.push({ name: tensor, dataType: 'float32', shape });
}
