/**
 * The graph under construction, plus the layout bookkeeping the converters share. Every
 * tensor carries its Keras (channels-last) shape; rank-4 tensors are stored NCHW, all
 * others in Keras order, so convolutions run in ONNX's layout and flat tensors keep Keras's
 * element order.
 */
import { A } from '../../engine/graph/attributes.js';
import { formatShape } from '../../engine/graph/dims.js';
import { inferShapes } from '../../engine/graph/shape-inference.js';
import { float32Tensor, int64Tensor } from '../../engine/graph/tensor-data.js';
import type { Attribute, Dim, Graph, TensorData } from '../../engine/graph/types.js';
import { BATCH } from '../../engine/graph/types.js';
import type { KerasShape } from './model-json.js';

/** How a tensor's elements are laid out in the graph. */
export type Layout = 'nchw' | 'keras';

/** A graph tensor with its Keras shape (batch first, `null` for the batch). */
export interface KTensor {
  name: string;
  shape: KerasShape;
  layout: Layout;
}

/** A tensor in the layout its rank implies (rank 4: NCHW, else Keras order). */
export function ktensor(name: string, shape: KerasShape): KTensor {
  return { name, shape, layout: shape.length === 4 ? 'nchw' : 'keras' };
}

/** Keras axis (may be negative, counts the batch) -> axis of the stored tensor. */
export function storageAxis(t: KTensor, kerasAxis: number): number {
  const rank = t.shape.length;
  const a = kerasAxis < 0 ? kerasAxis + rank : kerasAxis;
  if (t.layout === 'nchw') return [0, 2, 3, 1][a]!;
  return a;
}

/** The stored shape, with the batch as `N`. */
export function storageShape(t: KTensor): Dim[] {
  const s = t.shape.map((d, i): Dim => (i === 0 ? BATCH : (d ?? '?')));
  return t.layout === 'nchw' ? [s[0]!, s[3]!, s[1]!, s[2]!] : s;
}

export class GraphBuilder {
  readonly graph: Graph;
  private readonly used = new Set<string>();

  constructor(name: string) {
    this.graph = {
      name,
      nodes: [],
      initializers: new Map(),
      inputs: [],
      outputs: [],
      valueInfo: new Map(),
      opset: 17,
      otherOpsets: [],
      irVersion: 8,
      producerName: 'rsi-grad-cam tfjs importer',
    };
  }

  /** A name not yet used for any tensor or node, `base` itself when free. */
  fresh(base: string): string {
    let name = base;
    for (let i = 1; this.used.has(name); i++) name = `${base}:${i}`;
    this.used.add(name);
    return name;
  }

  reserve(name: string): void {
    this.used.add(name);
  }

  /** Append a node; returns its output tensor name (`out`, or a fresh one from `base`). */
  op(opType: string, inputs: string[], attrs: Record<string, Attribute> = {}, base = opType, out?: string): string {
    const output = out ?? this.fresh(base);
    this.graph.nodes.push({ name: this.fresh(`${output}/${opType}`), opType, domain: '', inputs, outputs: [output], attributes: attrs });
    return output;
  }

  /**
   * Give `result`, made by a node appended since node index `mark`, the name `base`: its
   * producer's output and later uses are renamed, and the producer takes the name too unless a
   * node has it. Undefined when no node since `mark` made `result` (it passes an input through).
   */
  renameResult(result: KTensor, base: string, mark: number): KTensor | undefined {
    const nodes = this.graph.nodes;
    const idx = nodes.findIndex((n, i) => i >= mark && n.outputs.includes(result.name));
    if (idx < 0) return undefined;
    for (let i = mark; i < nodes.length; i++) {
      const n = nodes[i]!;
      n.inputs = n.inputs.map((t) => (t === result.name ? base : t));
      n.outputs = n.outputs.map((t) => (t === result.name ? base : t));
    }
    // The node that makes a layer's output is named after the layer.
    if (!nodes.some((n) => n.name === base)) nodes[idx]!.name = base;
    return { ...result, name: base };
  }

  initializer(base: string, t: TensorData): string {
    const name = this.fresh(base);
    this.graph.initializers.set(name, t);
    return name;
  }

  floats(base: string, values: ArrayLike<number>, dims: number[]): string {
    return this.initializer(base, float32Tensor(values, dims));
  }

  scalar(base: string, v: number): string {
    return this.floats(base, [v], []);
  }

  ints(base: string, values: number[]): string {
    return this.initializer(base, int64Tensor(values));
  }

  /**
   * A per-channel constant shaped to broadcast along Keras axis `kerasAxis` of `t`
   * (e.g. [1, C, 1, 1] for the channels of an NCHW tensor).
   */
  channelConst(base: string, t: KTensor, kerasAxis: number, values: ArrayLike<number>): string {
    const rank = t.shape.length;
    const axis = storageAxis(t, kerasAxis);
    const dims = new Array(rank).fill(1);
    dims[axis] = values.length;
    return this.floats(base, values, values.length === 1 ? [] : dims);
  }

  /** `t` with its elements in Keras order: NCHW -> NHWC unless that order is already the same. */
  kerasOrder(t: KTensor, base: string): string {
    if (t.layout !== 'nchw' || sameOrder(t.shape)) return t.name;
    return this.op('Transpose', [t.name], { perm: A.ints([0, 2, 3, 1]) }, `${base}/to_nhwc`);
  }

  /** Reshape Keras-ordered data `name` to Keras shape `shape`, stored in the layout its rank implies. */
  fromKerasOrder(name: string, shape: KerasShape, base: string): string {
    const dims = shape.slice(1) as number[];
    if (shape.length !== 4) return this.op('Reshape', [name, this.ints(`${base}/shape`, [0, ...dims])], {}, base);
    const [h, w, c] = dims as [number, number, number];
    if (sameOrder(shape)) return this.op('Reshape', [name, this.ints(`${base}/shape`, [0, c, h, w])], {}, base);
    const nhwc = this.op('Reshape', [name, this.ints(`${base}/shape`, [0, h, w, c])], {}, `${base}/nhwc`);
    return this.op('Transpose', [nhwc], { perm: A.ints([0, 3, 1, 2]) }, base);
  }
}

/** Shape inference must agree with the shapes tracked while building (an internal check). */
export function checkTrackedShapes(graph: Graph, tensors: KTensor[], source: string): void {
  const known = inferShapes(graph, source);
  for (const t of tensors) {
    const want = storageShape(t);
    const got = known.get(t.name)?.shape;
    if (!got || formatShape(got) !== formatShape(want)) {
      throw new Error(`${source}: internal error: tensor '${t.name}' was built with shape ${formatShape(want)} but infers as ${got ? formatShape(got) : 'unknown'}`);
    }
  }
}

/** NHWC and NCHW hold the elements in the same order when H*W == 1 or C == 1. */
function sameOrder(shape: KerasShape): boolean {
  return shape.length === 4 && (shape[1] === 1 && shape[2] === 1 ? true : shape[3] === 1);
}
