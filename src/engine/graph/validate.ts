/**
 * Load-time checks of a graph, in one place, so that a malformed model is refused with one
 * line naming the file, the node and what is wrong - before anything allocates and before
 * onnxruntime sees it (onnxruntime's own messages name neither the file nor, often, the node).
 *
 * - `validateGraph`: structure. Names defined, acyclic (nodes are put in topological order),
 *   each tensor written once, initializers consistent with their dims, opset in range.
 * - node-checks.ts: run by shape inference around each node's shape rule (attribute values
 *   and weight shapes against the input shapes, output sizes).
 * - `checkLogits`: the logits depend on the input, and every op they depend on is supported.
 * - `checkSignatures`: every node against its ONNX signature (input/output counts,
 *   attribute names and types, element types), with the inferred element types.
 * - `checkInputSize`: the image input's size, against the caps below.
 */
import { ModelFormatError } from '../../errors.js';
import { MAX_TENSOR_ELEMENTS } from './node-checks.js';
import { dimProduct, formatShape } from './dims.js';
import { upstream } from './graph-utils.js';
import { OP_SCHEMAS, type OpSchema } from './op-schemas.js';
import { hasShapeRule, type Known } from './shape-inference.js';
import { elementCount } from './tensor-data.js';
import type { Attribute, DataType, Graph, Node, Shape, TensorData } from './types.js';

export { MAX_TENSOR_ELEMENTS };

/** Newest default-domain opset onnxruntime-node (1.30) runs. */
export const MAX_OPSET = 26;
/** Largest size of any input axis (image side or channels). */
export const MAX_INPUT_SIDE = 16384;
/** Largest input image, in values (channels x height x width): 3 x 4096 x 4096. */
export const MAX_INPUT_VALUES = 3 * 4096 * 4096;

const fmt = formatShape;

function nodeError(source: string, node: Node, message: string): ModelFormatError {
  return new ModelFormatError(`${source}: node '${node.name}' (${node.opType}): ${message}`);
}

// ---------------------------------------------------------------------------------------
// Structure

/**
 * Check the graph's structure and put its nodes in topological order (in place). Every
 * node input must be a graph input, an initializer or a node output; every tensor is
 * written once; the graph is acyclic; initializers hold as many values as their dims say.
 */
export function validateGraph(graph: Graph, source: string): void {
  if (graph.nodes.length === 0) throw new ModelFormatError(`${source}: the graph has no nodes`);
  if (graph.outputs.length === 0) throw new ModelFormatError(`${source}: the graph declares no outputs`);
  if (graph.opset > MAX_OPSET) {
    throw new ModelFormatError(`${source}: the model declares ONNX opset ${graph.opset}; onnxruntime supports up to ${MAX_OPSET}`);
  }
  const defined = new Map<string, string>();
  for (const v of graph.inputs) {
    if (!v.name) throw new ModelFormatError(`${source}: a graph input has no name`);
    if (defined.has(v.name)) throw new ModelFormatError(`${source}: the graph input '${v.name}' is declared twice`);
    defined.set(v.name, 'a graph input');
  }
  for (const [name, t] of graph.initializers) {
    if (!name) throw new ModelFormatError(`${source}: an initializer has no name`);
    if (defined.has(name)) throw new ModelFormatError(`${source}: initializer '${name}' has the name of a graph input`);
    checkTensor(t, `${source}: initializer '${name}'`);
    defined.set(name, 'an initializer');
  }
  const producer = new Map<string, Node>();
  for (const node of graph.nodes) {
    if (!node.opType) throw new ModelFormatError(`${source}: node '${node.name}' has no op type`);
    if (node.outputs.every((o) => !o)) throw nodeError(source, node, 'the node has no outputs');
    for (const a of Object.values(node.attributes)) if (a.type === 'tensor') checkTensor(a.value, `${source}: node '${node.name}' (${node.opType}): its tensor attribute`);
    for (const o of node.outputs) {
      if (!o) continue;
      const other = producer.get(o);
      if (other) throw nodeError(source, node, `writes '${o}', which node '${other.name}' also writes`);
      const what = defined.get(o);
      if (what) throw nodeError(source, node, `writes '${o}', which is ${what}`);
      producer.set(o, node);
    }
  }
  for (const node of graph.nodes) {
    for (const i of node.inputs) {
      if (i && !defined.has(i) && !producer.has(i)) {
        throw nodeError(source, node, `reads '${i}', which no node, initializer or graph input defines`);
      }
    }
  }
  for (const o of graph.outputs) {
    if (!o.name || (!producer.has(o.name) && !defined.has(o.name))) {
      throw new ModelFormatError(`${source}: the graph output '${o.name}' is not computed by any node`);
    }
  }
  graph.nodes = topologicalOrder(graph.nodes, producer, source);
  const out = graph.outputs[0]!.name;
  const image = graph.inputs[0]?.name;
  if (image !== undefined && out !== image && !cone(graph, [out]).some((n) => n.inputs.includes(image))) {
    throw new ModelFormatError(`${source}: the output '${out}' does not depend on the input '${image}'`);
  }
  // Opset imports of domains no node uses are leftovers; an odd version there could stop onnxruntime.
  graph.otherOpsets = graph.otherOpsets.filter((o) => graph.nodes.some((n) => n.domain === o.domain));
}

function checkTensor(t: TensorData, where: string): void {
  if (!t.dims.every((d) => Number.isSafeInteger(d) && d >= 0)) throw new ModelFormatError(`${where} has dims [${t.dims.join(', ')}]`);
  const count = elementCount(t.dims);
  if (count > MAX_TENSOR_ELEMENTS) throw new ModelFormatError(`${where} has ${count} elements (dims [${t.dims.join(', ')}]), over the limit of ${MAX_TENSOR_ELEMENTS}`);
  if (t.data.length !== count) throw new ModelFormatError(`${where} holds ${t.data.length} values but its dims [${t.dims.join(', ')}] need ${count}`);
  if (hasNaN(t)) throw new ModelFormatError(`${where} holds NaN values`);
}

function hasNaN(t: TensorData): boolean {
  if (t.dataType === 'float32' || t.dataType === 'float64') {
    const d = t.data as Float32Array;
    for (let i = 0; i < d.length; i++) if (d[i] !== d[i]) return true;
  } else if (t.dataType === 'float16') {
    const d = t.data as Uint16Array;
    for (let i = 0; i < d.length; i++) if ((d[i]! & 0x7c00) === 0x7c00 && (d[i]! & 0x3ff) !== 0) return true;
  }
  return false;
}

/** Nodes in an order where each comes after the producers of its inputs (the given order when it already is one). */
function topologicalOrder(nodes: Node[], producer: Map<string, Node>, source: string): Node[] {
  const state = new Map<Node, 1 | 2>(); // 1: on the current path, 2: placed
  const out: Node[] = [];
  for (const start of nodes) {
    if (state.has(start)) continue;
    // Iterative depth-first search: deep networks would overflow the call stack.
    const stack: { node: Node; next: number }[] = [{ node: start, next: 0 }];
    state.set(start, 1);
    while (stack.length) {
      const top = stack[stack.length - 1]!;
      const input = top.node.inputs[top.next++];
      if (input === undefined) {
        stack.pop();
        state.set(top.node, 2);
        out.push(top.node);
        continue;
      }
      const p = input ? producer.get(input) : undefined;
      if (!p) continue;
      const s = state.get(p);
      if (s === 2) continue;
      if (s === 1) {
        const from = stack.findIndex((f) => f.node === p);
        const path = stack.slice(from).map((f) => `'${f.node.name}'`);
        const shown = path.length > 4 ? [...path.slice(0, 2), `... ${path.length - 3} more`, path[path.length - 1]!] : path;
        throw new ModelFormatError(`${source}: node '${p.name}' (${p.opType}) is on a cycle (${[...shown, `'${p.name}'`].join(' -> ')}); a model graph must be acyclic`);
      }
      state.set(p, 1);
      stack.push({ node: p, next: 0 });
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------
// The image input

/** The input's sizes must be positive, whole and under the caps (checked before anything allocates). */
export function checkInputSize(name: string, shape: Shape, source: string): void {
  const sizes = shape.slice(1);
  if (sizes.some((d) => typeof d === 'number' && !(Number.isSafeInteger(d) && d >= 1))) {
    throw new ModelFormatError(`${source}: the input '${name}' has shape ${fmt(shape)}; its sizes must be positive integers`);
  }
  const values = dimProduct(sizes);
  if (sizes.some((d) => typeof d === 'number' && d > MAX_INPUT_SIDE) || (typeof values === 'number' && values > MAX_INPUT_VALUES)) {
    throw new ModelFormatError(
      `${source}: the input '${name}' has shape ${fmt(shape)}; rsi-grad-cam accepts images of at most ${MAX_INPUT_SIDE} pixels a side and ${MAX_INPUT_VALUES} values (3 x 4096 x 4096)`,
    );
  }
}

// ---------------------------------------------------------------------------------------
// Supported ops and unknown shapes

/** The nodes `roots` depend on, in graph order. */
function cone(graph: Graph, roots: string[]): Node[] {
  return upstream(graph, roots).nodes;
}

/**
 * The logits must depend on the image input, and every node they depend on must have an op
 * rsi-grad-cam knows: one with a shape rule (standard ONNX, or onnxruntime's com.microsoft
 * quantized ops), or a standard ONNX op whose output shapes the file records (onnxruntime
 * runs it; the gradient rules say later whether it can be differentiated).
 */
export function checkLogits(graph: Graph, shapes: Map<string, Known>, logits: string, source: string): void {
  const nodes = cone(graph, [logits]);
  for (const n of nodes) {
    const standard = n.domain === '' || n.domain === 'ai.onnx';
    const recorded = standard && n.opType in OP_SCHEMAS && n.outputs.every((o) => !o || shapes.get(o)?.shape);
    if (!hasShapeRule(n.opType, n.domain) && !recorded) {
      const op = standard ? n.opType : `${n.domain}.${n.opType}`;
      throw new ModelFormatError(`${source}: node '${n.name}' has op '${op}' which rsi-grad-cam does not support`);
    }
  }
  const image = graph.inputs[0]?.name;
  if (image !== undefined && logits !== image && !nodes.some((n) => n.inputs.includes(image))) {
    throw new ModelFormatError(`${source}: the logits '${logits}' do not depend on the input '${image}'`);
  }
}

/** An error saying why `tensor`'s shape is unknown: the first node on its path whose output shape could not be found. */
export function unknownShapeError(graph: Graph, shapes: Map<string, Known>, tensor: string, what: string, source: string): ModelFormatError {
  const nodes = cone(graph, [tensor]);
  if (nodes.length === 0 && !shapes.has(tensor)) {
    return new ModelFormatError(`${source}: ${what} '${tensor}' is not a tensor of the model`);
  }
  for (const n of nodes) {
    if (n.outputs.every((o) => !o || shapes.get(o)?.shape)) continue;
    const missing = n.inputs.findIndex((i, k) => (k === 0 && !i) || (i && !shapes.get(i)?.shape));
    if (missing >= 0 && !n.inputs[missing]) return nodeError(source, n, `its input ${missing} is missing`);
    if (missing >= 0) return nodeError(source, n, `the shape of its input ${missing} ('${n.inputs[missing]}') is unknown`);
    return nodeError(source, n, 'the shape of its output cannot be inferred');
  }
  return new ModelFormatError(`${source}: the shape of ${what} '${tensor}' is unknown`);
}

// ---------------------------------------------------------------------------------------
// Signatures: counts, attributes, element types

/**
 * Whether each input ONNX requires of the node at `opset` is given. The constant folder
 * evaluates only such nodes; the others are left to shape inference and `checkSignatures`,
 * which name what is missing.
 */
export function hasRequiredInputs(node: Node, opset: number): boolean {
  const s = OP_SCHEMAS[node.opType];
  if (!s) return true;
  let min = s.in[0];
  for (const [since, m] of s.minIn ?? []) if (since <= opset) min = m;
  for (let i = 0; i < min; i++) if (!node.inputs[i]) return false;
  return true;
}

/**
 * Attributes added after opset 17 (the generated table's version), for newer graphs, from the
 * ONNX changelog: opset 18 (Reduce*, LpPool, Resize, Split), 19 (AveragePool, Cast, CastLike,
 * QuantizeLinear), 21 and 23 (blocked quantization, output types).
 */
const REDUCE_18 = ['ReduceL1', 'ReduceL2', 'ReduceLogSum', 'ReduceLogSumExp', 'ReduceMax', 'ReduceMean', 'ReduceMin', 'ReduceProd', 'ReduceSumSquare'];
const NEWER_ATTRS: Record<string, Record<string, string>> = {
  ...Object.fromEntries(REDUCE_18.map((op) => [op, { noop_with_empty_axes: 'int' }])),
  Resize: { antialias: 'int', axes: 'ints', keep_aspect_ratio_policy: 'string' },
  Split: { num_outputs: 'int' },
  LpPool: { ceil_mode: 'int', dilations: 'ints' },
  AveragePool: { dilations: 'ints' },
  Cast: { saturate: 'int', round_mode: 'string' },
  CastLike: { saturate: 'int', round_mode: 'string' },
  QuantizeLinear: { saturate: 'int', block_size: 'int', output_dtype: 'int', precision: 'int' },
  DequantizeLinear: { block_size: 'int', output_dtype: 'int' },
};
/** Inputs added after opset 17 (axes of the Reduce ops and Pad): the new maximum count. */
const NEWER_MAX_INPUTS: Record<string, number> = { ...Object.fromEntries(REDUCE_18.map((op) => [op, 2])), Pad: 4 };
/** Attributes that became inputs after opset 17 (onnxruntime refuses them there): since which opset. */
const MOVED_ATTRS: Record<string, [string, number]> = Object.fromEntries(REDUCE_18.map((op) => [op, ['axes', 18]]));

/**
 * onnxruntime's com.microsoft quantized operators that have shape rules: input/output counts
 * and attributes (element types are not checked). From onnxruntime's ContribOperators.md,
 * attribute names checked against onnxruntime-node.
 */
const microsoft = (inputs: [number, number], attrs: Record<string, string> = {}): OpSchema => ({ in: inputs, out: [1, 1], inTypes: [], outTypes: [], variadic: false, attrs, types: {} });
const MICROSOFT_SCHEMAS: Record<string, OpSchema> = {
  QLinearAdd: microsoft([7, 8]),
  QLinearMul: microsoft([7, 8]),
  QLinearGlobalAveragePool: microsoft([5, 5], { channels_last: 'int' }),
  QLinearAveragePool: microsoft([4, 5], { auto_pad: 'string', ceil_mode: 'int', channels_last: 'int', count_include_pad: 'int', kernel_shape: 'ints!', pads: 'ints', strides: 'ints' }),
  QLinearLeakyRelu: microsoft([4, 5], { alpha: 'float' }),
  QLinearSigmoid: microsoft([4, 5]),
  QLinearConcat: microsoft([5, -1], { axis: 'int!' }),
  QGemm: microsoft([6, 9], { alpha: 'float', transA: 'int', transB: 'int' }),
};

/** Nodes against their ONNX signatures, with element types from `shapes`. */
export function checkSignatures(graph: Graph, shapes: Map<string, Known>, source: string): void {
  for (const node of graph.nodes) {
    const d = node.domain;
    const schema = d === '' || d === 'ai.onnx' ? OP_SCHEMAS[node.opType] : d === 'com.microsoft' ? MICROSOFT_SCHEMAS[node.opType] : undefined;
    if (!schema) continue;
    checkSignature(node, schema, graph.opset, shapes, source);
  }
}

function checkSignature(node: Node, s: OpSchema, opset: number, shapes: Map<string, Known>, source: string): void {
  const fail = (m: string): never => {
    throw nodeError(source, node, m);
  };
  const newer = opset > 17;
  const count = (list: string[]) => {
    let n = list.length;
    while (n > 0 && !list[n - 1]) n--;
    return n;
  };
  const nIn = count(node.inputs);
  const maxIn = newer && NEWER_MAX_INPUTS[node.opType] ? NEWER_MAX_INPUTS[node.opType]! : s.in[1];
  if (nIn < s.in[0] || (maxIn >= 0 && nIn > maxIn)) fail(`has ${nIn} inputs; ${node.opType} takes ${range(s.in[0], maxIn)}`);
  const nOut = count(node.outputs);
  if (nOut < s.out[0] || (s.out[1] >= 0 && nOut > s.out[1])) fail(`has ${nOut} outputs; ${node.opType} gives ${range(s.out[0], s.out[1])}`);
  const attrs = { ...s.attrs, ...(newer ? NEWER_ATTRS[node.opType] : undefined) };
  const moved = MOVED_ATTRS[node.opType];
  if (moved && opset >= moved[1] && moved[0] in node.attributes) {
    fail(`has an attribute '${moved[0]}', which ${node.opType} takes as an input since opset ${moved[1]} (the model declares opset ${opset})`);
  }
  for (const [name, a] of Object.entries(node.attributes)) {
    const want = attrs[name];
    if (want === undefined) fail(`has an attribute '${name}', which ${node.opType} does not take`);
    const type = want!.replace('!', '');
    if (type !== 'other' && type !== a.type) fail(`attribute '${name}' is ${article(a.type)} ${a.type}; ${node.opType} takes ${article(type)} ${type}`);
    checkAttributeValue(name, a, fail);
  }
  for (const [name, want] of Object.entries(attrs)) {
    if (want.endsWith('!') && !(name in node.attributes)) fail(`the required attribute '${name}' is missing`);
  }
  // Element types: each input's type is allowed for its parameter, and inputs sharing a parameter
  // agree. Newer opsets widen the table's (opset 17) type lists (int16 and 4-bit quantization,
  // bfloat16, ...), so there only the agreement is checked.
  const bound = new Map<string, DataType>();
  node.inputs.forEach((t, i) => {
    // Inputs past the table's (a newer opset's, such as the Reduce ops' axes) have no type there.
    if (!t || s.inTypes.length === 0 || (i >= s.inTypes.length && !s.variadic)) return;
    const dt = shapes.get(t)?.dataType;
    if (!dt) return;
    const param = s.inTypes[Math.min(i, s.inTypes.length - 1)]!;
    const allowed = s.types[param];
    if (allowed && !newer && !allowed.includes(dt)) fail(`input ${i} ('${t}') is ${dt}; ${node.opType} takes ${allowed.join(', ')} there`);
    const prev = bound.get(param);
    if (prev && prev !== dt) fail(`input ${i} ('${t}') is ${dt} but an earlier input of the same type is ${prev}`);
    bound.set(param, dt);
  });
}

function checkAttributeValue(name: string, a: Attribute, fail: (m: string) => never): void {
  if (a.type === 'int' && !Number.isSafeInteger(a.value)) fail(`attribute '${name}' is ${a.value}`);
  if (a.type === 'ints' && !a.value.every((v) => Number.isSafeInteger(v))) fail(`attribute '${name}' is [${a.value.join(', ')}]`);
  if (a.type === 'float' && !Number.isFinite(a.value) && !/^(min|max|value)$/.test(name)) fail(`attribute '${name}' is ${a.value}`);
  if (a.type === 'floats' && !a.value.every((v) => Number.isFinite(v))) fail(`attribute '${name}' is [${a.value.join(', ')}]`);
}

function range(min: number, max: number): string {
  return max === min ? String(min) : max < 0 ? `${min} or more` : `${min} to ${max}`;
}

function article(t: string): string {
  return /^[aeiou]/.test(t) ? 'an' : 'a';
}
