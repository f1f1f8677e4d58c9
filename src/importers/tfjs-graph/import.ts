/**
 * TF.js graph model -> engine graph. Walks the TensorFlow GraphDef from its outputs back to
 * the image placeholder, converts each node with the op table, and names each node's output
 * tensor after the node (`MobilenetV2/Conv_1/Relu6`), so users pick layers by the names
 * TensorFlow shows. The graph is presented as the Layers importer presents NHWC models: it
 * takes `input` [N, C, H, W] and keeps 4-D maps NCHW.
 */
import { ModelFormatError } from '../../errors.js';
import { BATCH } from '../../engine/graph/types.js';
import { checkInputSize } from '../../engine/graph/validate.js';
import { checkTrackedShapes, GraphBuilder, ktensor, storageShape, type KTensor } from '../tfjs/builder.js';
import { findLogits, TFJS_INPUT_NAME, type TfjsImport } from '../tfjs/import.js';
import { WeightStore } from '../tfjs/weights.js';
import type { OpContext } from './context.js';
import { Attrs, parseGraphModelJson, type ParsedGraphModel, type SignatureTensor, type TfNode } from './graph-json.js';
import { opConverters } from './ops/index.js';
import { floatConst, intConst, type Value } from './values.js';

export interface GraphImportOptions {
  /** [height, width] for a model whose placeholder leaves the image size open. */
  inputSize?: [number, number];
}

const INT_DTYPES = new Set(['DT_INT32', 'DT_INT64', 'DT_INT16', 'DT_INT8', 'DT_UINT8', 'DT_UINT16', 'DT_BOOL']);

/**
 * Import a TF.js graph model: `modelJson` is the parsed model.json, `weightData` all weight
 * files concatenated in manifest order, `source` names the model in error messages.
 */
export function importTfjsGraph(modelJson: object, weightData: ArrayBuffer | Uint8Array, source: string, options: GraphImportOptions = {}): TfjsImport {
  const parsed = parseGraphModelJson(modelJson, source);
  const store = new WeightStore(parsed.manifest, weightData, source);
  return new GraphImporter(parsed, store, source, options).run();
}

class GraphImporter {
  private readonly b = new GraphBuilder('tfjs_graph_model');
  private readonly byName: Map<string, TfNode>;
  private readonly values = new Map<string, (Value | undefined)[]>();
  private readonly names = new Map<string, string>();
  private readonly cache = new Map<string, string>();
  private readonly layerNames = new Map<string, string>();
  private readonly tracked: KTensor[] = [];

  constructor(
    private readonly model: ParsedGraphModel,
    private readonly store: WeightStore,
    private readonly source: string,
    private readonly options: GraphImportOptions,
  ) {
    this.byName = new Map(model.nodes.map((n) => [n.name, n]));
    this.b.reserve(TFJS_INPUT_NAME);
  }

  run(): TfjsImport {
    const { source } = this;
    const outputs = this.outputRefs();
    const order = this.topologicalOrder(outputs.map((o) => o.node));
    const placeholders = order.filter((n) => n.op === 'Placeholder');
    if (placeholders.length !== 1) {
      throw new ModelFormatError(
        `${source}: the model's outputs depend on ${placeholders.length} inputs (${placeholders.map((p) => p.name).join(', ') || 'none'}); only single-image models are supported`,
      );
    }
    // Node outputs take their TensorFlow names, reserved before any intermediate is named.
    const short = innerNames(this.model.nodes);
    for (const n of order) if (n.op !== 'Placeholder' && n.op !== 'Const') this.names.set(n.name, this.b.fresh(short.get(n.name)!));
    const inputSize = this.addInput(placeholders[0]!);
    for (const n of order) if (n.op !== 'Placeholder') this.convert(n);

    const graph = this.b.graph;
    for (const o of outputs) {
      const v = this.values.get(o.node)?.[o.index];
      if (!v) throw new ModelFormatError(`${source}: output '${o.node}:${o.index}' is not computed`);
      if (v.kind !== 'tensor') throw new ModelFormatError(`${source}: output '${o.node}' is a constant; it does not depend on the image`);
      if (v.t.name === TFJS_INPUT_NAME) throw new ModelFormatError(`${source}: the model output is its input; there is nothing to import`);
      if (!graph.outputs.some((g) => g.name === v.t.name)) graph.outputs.push({ name: v.t.name, dataType: 'float32', shape: storageShape(v.t) });
    }
    checkTrackedShapes(graph, this.tracked, source);
    this.addSuffixAliases(order);
    const outputName = graph.outputs[0]!.name;
    return { graph, inputLayout: 'NHWC', inputSize, outputName, logitsName: findLogits(graph, outputName), layerNames: this.layerNames };
  }

  /** The signature's outputs, or else every node nothing reads (as TF.js does), NoOps aside. */
  private outputRefs(): SignatureTensor[] {
    const refs = this.model.outputs.filter((o) => this.byName.has(o.node));
    if (refs.length) return refs;
    const read = new Set(this.model.nodes.flatMap((n) => n.inputs.map(([s]) => s)));
    const sinks = this.model.nodes.filter((n) => !read.has(n.name) && !['NoOp', 'Const', 'Placeholder'].includes(n.op));
    if (!sinks.length) throw new ModelFormatError(`${this.source}: the graph has no output node`);
    return sinks.map((n) => ({ node: n.name, index: 0 }));
  }

  /** The nodes the outputs depend on, inputs before the nodes that read them. */
  private topologicalOrder(roots: string[]): TfNode[] {
    const order: TfNode[] = [];
    const state = new Map<string, 'open' | 'done'>();
    for (const root of roots) {
      const stack: { node: TfNode; next: number }[] = [];
      const push = (name: string, from?: string) => {
        const node = this.byName.get(name);
        if (!node) throw new ModelFormatError(`${this.source}: node '${from ?? name}' reads '${name}', which is not in the graph`);
        if (state.get(name) === 'done') return;
        if (state.get(name) === 'open') throw new ModelFormatError(`${this.source}: the graph has a cycle through '${name}' (control flow is not supported)`);
        state.set(name, 'open');
        stack.push({ node, next: 0 });
      };
      push(root);
      while (stack.length) {
        const top = stack[stack.length - 1]!;
        const input = top.node.inputs[top.next++];
        if (input) push(input[0], top.node.name);
        else {
          stack.pop();
          state.set(top.node.name, 'done');
          order.push(top.node);
        }
      }
    }
    return order;
  }

  /** The image placeholder becomes the graph input `input` [N, C, H, W]. */
  private addInput(p: TfNode): [number, number, number] {
    const fail = (m: string): never => {
      throw new ModelFormatError(`${this.source}: input '${p.name}': ${m}`);
    };
    const attrs = new Attrs(p, fail);
    const dtype = attrs.type('dtype', 'DT_FLOAT');
    if (dtype !== 'DT_FLOAT') fail(`the input is ${dtype}; a float32 image input is required`);
    const shape = attrs.shape('shape') ?? this.model.inputs.find((i) => i.node === p.name)?.shape;
    if (!shape || shape.length !== 4) fail(`the input has shape [${shape?.join(', ') ?? 'unknown'}]; an image [batch, height, width, channels] is required`);
    let [, h, w, c] = shape as [number, number, number, number];
    if (h < 0 || w < 0) {
      if (!this.options.inputSize) fail(`the input leaves its size open ([${shape!.join(', ')}]); give the size to load it at (the inputSize option, [height, width])`);
      [h, w] = this.options.inputSize!;
    }
    if (c < 0) fail(`the input leaves its channel count open ([${shape!.join(', ')}])`);
    this.b.graph.inputs.push({ name: TFJS_INPUT_NAME, dataType: 'float32', shape: [BATCH, c, h, w] });
    checkInputSize(TFJS_INPUT_NAME, this.b.graph.inputs[0]!.shape!, this.source);
    this.values.set(p.name, [{ kind: 'tensor', t: ktensor(TFJS_INPUT_NAME, [null, h, w, c]) }]);
    this.layerNames.set(p.name, TFJS_INPUT_NAME);
    return [h, w, c];
  }

  private convert(node: TfNode): void {
    const fail = (m: string): never => {
      throw new ModelFormatError(`${this.source}: node '${node.name}' (${node.op}): ${m}`);
    };
    if (node.op === 'Const') {
      this.values.set(node.name, [this.constant(node, fail)]);
      return;
    }
    if (node.op === 'NoOp') {
      this.values.set(node.name, []);
      return;
    }
    const convert = opConverters[node.op];
    if (!convert) throw new ModelFormatError(`${this.source}: node '${node.name}' uses the TensorFlow op '${node.op}', which is not supported`);
    const inputs = node.inputs.map(([name, index]) => {
      const v = this.values.get(name)?.[index];
      if (!v) fail(`its input '${name}:${index}' is not available (node '${name}' makes no such output)`);
      return v!;
    });
    const base = this.names.get(node.name)!;
    const mark = this.b.graph.nodes.length;
    const ctx: OpContext = {
      b: this.b,
      node,
      attrs: new Attrs(node, fail),
      inputs,
      base,
      cached: (key, make) => {
        let v = this.cache.get(key);
        if (v === undefined) this.cache.set(key, (v = make()));
        return v;
      },
      fail,
    };
    const result = convert(ctx);
    const outs = Array.isArray(result) ? result : [result];
    const first = outs[0];
    if (first?.kind === 'tensor') {
      const named = this.b.renameResult(first.t, base, mark);
      if (named) {
        outs[0] = { kind: 'tensor', t: named };
        this.tracked.push(named);
      }
      this.layerNames.set(node.name, (outs[0] as { t: KTensor }).t.name);
    }
    this.values.set(node.name, outs);
  }

  /** A Const node's value, from the weights manifest entry of the same name. */
  private constant(node: TfNode, fail: (m: string) => never): Value {
    const entry = this.store.get(node.name);
    if (!entry) return fail('the weights manifest has no entry for this constant');
    const declared = new Attrs(node, fail).tensor('value');
    const shape = entry.spec.shape;
    if (declared?.shape && (declared.shape.length !== shape.length || declared.shape.some((d, i) => d !== shape[i]))) {
      fail(`the node declares shape [${declared.shape.join(', ')}] but the weights manifest gives [${shape.join(', ')}]`);
    }
    const values = this.store.decode(entry).values;
    const dtype = declared?.dtype ?? new Attrs(node, fail).type('dtype', 'DT_FLOAT');
    return INT_DTYPES.has(dtype) ? intConst(Array.from(values), shape, node.name) : floatConst(values, shape, node.name);
  }

  /**
   * Every '/'-suffix of a node name that no other node shares names the node's tensor too, so
   * `MobilenetV2/Conv_1/Relu6` finds `StatefulPartitionedCall/.../MobilenetV2/Conv_1/Relu6`.
   */
  private addSuffixAliases(order: TfNode[]): void {
    const counts = new Map<string, number>();
    const suffixes = (name: string) => name.split('/').map((_, i, parts) => parts.slice(i).join('/'));
    for (const n of this.model.nodes) for (const s of suffixes(n.name)) counts.set(s, (counts.get(s) ?? 0) + 1);
    const tensors = new Set(this.b.graph.nodes.flatMap((n) => n.outputs));
    for (const n of order) {
      const tensor = this.layerNames.get(n.name);
      if (tensor === undefined) continue;
      for (const s of suffixes(n.name).slice(1)) {
        if (counts.get(s) === 1 && !this.layerNames.has(s) && !tensors.has(s)) this.layerNames.set(s, tensor);
      }
    }
  }
}

/** Segments naming an inlined function call: TensorFlow prefixes the called function's nodes with them. */
const CALL_SCOPE = /^(Stateful)?PartitionedCall(_\d+)?$/;

/**
 * Each node's name inside the innermost function it was inlined from: TF 2 exports prefix a
 * Keras model's nodes with the call nodes (`StatefulPartitionedCall/sequential/dense/BiasAdd`,
 * `.../StatefulPartitionedCall/predict/MobilenetV2/Conv_1/Relu6` for a TF Hub layer), and
 * the part after the last call is the name the model's author gave. Names that would clash
 * keep their full form.
 */
function innerNames(nodes: TfNode[]): Map<string, string> {
  const inner = (name: string) => {
    const parts = name.split('/');
    let last = -1;
    parts.forEach((p, i) => {
      if (CALL_SCOPE.test(p) && i < parts.length - 1) last = i;
    });
    return parts.slice(last + 1).join('/');
  };
  const counts = new Map<string, number>();
  for (const n of nodes) {
    counts.set(n.name, (counts.get(n.name) ?? 0) + 1);
    const s = inner(n.name);
    if (s !== n.name) counts.set(s, (counts.get(s) ?? 0) + 1);
  }
  return new Map(nodes.map((n) => {
    const s = inner(n.name);
    return [n.name, counts.get(s) === 1 ? s : n.name];
  }));
}
