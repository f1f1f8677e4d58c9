/**
 * The constant folder: each operator against hand-computed values (and onnxruntime running
 * the same node), the exporters' padding chains folded to the pads torch used, and the batch
 * dimension never folded.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { foldConstants } from '../../src/engine/graph/fold.js';
import { A } from '../../src/engine/graph/attributes.js';
import { tensorToNumbers } from '../../src/engine/graph/tensor-data.js';
import type { Attribute, DataType, Graph, Node, TensorData } from '../../src/engine/graph/types.js';
import { ModelFormatError } from '../../src/errors.js';
import { Model } from '../../src/engine/model.js';
import { readOnnxFile } from '../../src/node/load-onnx.js';
import { producers } from '../../src/engine/graph/graph-utils.js';
import { loadFixture, relError } from '../helpers/fixtures.js';
import { runGraph } from '../helpers/grad-check.js';

const ARRAYS: Partial<Record<DataType, (d: number[]) => TensorData['data']>> = {
  float32: (d) => Float32Array.from(d),
  // 2^63 - 1 is not a double: 9223372036854775807 reads as 2^63, saturate it.
  int64: (d) => BigInt64Array.from(d.map((v) => (v >= 2 ** 63 ? 2n ** 63n - 1n : BigInt(v)))),
  int32: (d) => Int32Array.from(d),
  bool: (d) => Uint8Array.from(d),
  uint8: (d) => Uint8Array.from(d),
  int8: (d) => Int8Array.from(d),
};
const t = (dataType: DataType, dims: number[], data: number[]): TensorData => ({ dataType, dims, data: ARRAYS[dataType]!(data) });
const i64 = (data: number[], dims = [data.length]) => t('int64', dims, data);
const f32 = (data: number[], dims = [data.length]) => t('float32', dims, data);

function graphOf(nodes: Node[], initializers: Record<string, TensorData>, opset = 17): Graph {
  // `Sink` (another domain) reads the result next to the image, so the result is not a graph output.
  const last = nodes[nodes.length - 1]!.outputs[0]!;
  return {
    name: 'fold',
    nodes: [...nodes, { name: 'sink', opType: 'Sink', domain: 'test', inputs: [last, 'x'], outputs: ['z'], attributes: {} }],
    initializers: new Map(Object.entries(initializers)),
    inputs: [{ name: 'x', dataType: 'float32', shape: ['N', 3, 5, 7] }],
    outputs: [{ name: 'z', dataType: 'float32' }],
    valueInfo: new Map(),
    opset,
    otherOpsets: [],
    irVersion: 8,
    producerName: 'test',
  };
}
const node = (opType: string, inputs: string[], attributes: Record<string, Attribute> = {}, output = 'y'): Node => ({
  name: `${opType}_node`,
  opType,
  domain: '',
  inputs,
  outputs: [output],
  attributes,
});

interface Case {
  name: string;
  op: string;
  inputs: TensorData[];
  attrs?: Record<string, Attribute>;
  opset?: number;
  expect: { dataType: DataType; dims: number[]; data: number[] };
  /** onnxruntime cannot run this node alone (integer ops it lacks kernels for). */
  noOrt?: boolean;
}

const INT64_MAX = 9223372036854775807;
const INT64_MIN = -9223372036854775808;

const cases: Case[] = [
  { name: 'Shape of a constant', op: 'Shape', inputs: [f32([0, 0, 0, 0, 0, 0], [1, 2, 3])], expect: { dataType: 'int64', dims: [3], data: [1, 2, 3] } },
  { name: 'Shape start/end', op: 'Shape', inputs: [f32(new Array(24).fill(0), [2, 3, 4])], attrs: { start: A.int(1), end: A.int(-1) }, expect: { dataType: 'int64', dims: [1], data: [3] } },
  { name: 'Size', op: 'Size', inputs: [f32(new Array(6).fill(0), [2, 3])], expect: { dataType: 'int64', dims: [], data: [6] } },
  {
    name: 'Gather axis 1, negative index',
    op: 'Gather',
    inputs: [f32([1, 2, 3, 4, 5, 6], [2, 3]), i64([-1, 0])],
    attrs: { axis: A.int(1) },
    expect: { dataType: 'float32', dims: [2, 2], data: [3, 1, 6, 4] },
  },
  { name: 'Gather scalar index', op: 'Gather', inputs: [i64([4, 5, 6]), i64([2], [])], expect: { dataType: 'int64', dims: [], data: [6] } },
  { name: 'Unsqueeze (axes input)', op: 'Unsqueeze', inputs: [i64([7], []), i64([0])], expect: { dataType: 'int64', dims: [1], data: [7] } },
  { name: 'Unsqueeze (axes attribute, opset 11)', op: 'Unsqueeze', inputs: [i64([1, 2])], attrs: { axes: A.ints([0, -1]) }, opset: 11, expect: { dataType: 'int64', dims: [1, 2, 1], data: [1, 2] } },
  { name: 'Squeeze', op: 'Squeeze', inputs: [i64([3], [1, 1]), i64([1])], expect: { dataType: 'int64', dims: [1], data: [3] } },
  {
    name: 'Concat axis 1',
    op: 'Concat',
    inputs: [i64([1, 2, 3, 4], [2, 2]), i64([5, 6], [2, 1])],
    attrs: { axis: A.int(1) },
    expect: { dataType: 'int64', dims: [2, 3], data: [1, 2, 5, 3, 4, 6] },
  },
  {
    // torch's F.pad chain: reverse the [begin, end] pairs with Slice(start -1, end INT64_MIN, step -1).
    name: 'Slice step -1 with clamped end',
    op: 'Slice',
    inputs: [i64([1, 2, 3, 4, 5, 6, 7, 8], [4, 2]), i64([-1]), i64([-INT64_MAX]), i64([0]), i64([-1])],
    expect: { dataType: 'int64', dims: [4, 2], data: [7, 8, 5, 6, 3, 4, 1, 2] },
  },
  {
    name: 'Slice step 2, end past the size',
    op: 'Slice',
    inputs: [i64([0, 1, 2, 3, 4, 5, 6]), i64([1]), i64([INT64_MAX]), i64([0]), i64([2])],
    expect: { dataType: 'int64', dims: [3], data: [1, 3, 5] },
  },
  {
    name: 'Slice step -2 from the end',
    op: 'Slice',
    inputs: [i64([0, 1, 2, 3, 4, 5, 6]), i64([100]), i64([INT64_MIN]), i64([0]), i64([-2])],
    expect: { dataType: 'int64', dims: [4], data: [6, 4, 2, 0] },
  },
  {
    name: 'Slice (attributes, opset 9)',
    op: 'Slice',
    inputs: [i64([1, 2, 3, 4, 5, 6], [2, 3])],
    attrs: { starts: A.ints([1]), ends: A.ints([3]), axes: A.ints([1]) },
    opset: 9,
    expect: { dataType: 'int64', dims: [2, 2], data: [2, 3, 5, 6] },
  },
  { name: 'Reshape with 0 and -1', op: 'Reshape', inputs: [i64([1, 2, 3, 4, 5, 6], [2, 3]), i64([0, -1, 1])], expect: { dataType: 'int64', dims: [2, 3, 1], data: [1, 2, 3, 4, 5, 6] } },
  { name: 'Transpose', op: 'Transpose', inputs: [i64([1, 2, 3, 4, 5, 6], [2, 3])], attrs: { perm: A.ints([1, 0]) }, expect: { dataType: 'int64', dims: [3, 2], data: [1, 4, 2, 5, 3, 6] } },
  { name: 'Cast float to int64 truncates', op: 'Cast', inputs: [f32([-1.7, 2.9, 0.5])], attrs: { to: A.int(7) }, expect: { dataType: 'int64', dims: [3], data: [-1, 2, 0] } },
  { name: 'Cast int64 to float', op: 'Cast', inputs: [i64([3, -4])], attrs: { to: A.int(1) }, expect: { dataType: 'float32', dims: [2], data: [3, -4] } },
  { name: 'Cast to bool', op: 'Cast', inputs: [f32([0, -2, 0.5])], attrs: { to: A.int(9) }, expect: { dataType: 'bool', dims: [3], data: [0, 1, 1] } },
  { name: 'Add broadcast', op: 'Add', inputs: [i64([1, 2, 3], [3, 1]), i64([10, 20])], expect: { dataType: 'int64', dims: [3, 2], data: [11, 21, 12, 22, 13, 23] } },
  { name: 'Sub', op: 'Sub', inputs: [i64([9], []), i64([2, 5])], expect: { dataType: 'int64', dims: [2], data: [7, 4] } },
  { name: 'Mul', op: 'Mul', inputs: [f32([1.5, -2]), f32([2], [])], expect: { dataType: 'float32', dims: [2], data: [3, -4] } },
  { name: 'Div int64 truncates toward zero', op: 'Div', inputs: [i64([7, -7, 6, -1]), i64([2, 2, -4, 3])], expect: { dataType: 'int64', dims: [4], data: [3, -3, -1, 0] } },
  { name: 'Div float', op: 'Div', inputs: [f32([7, -7]), f32([2], [])], expect: { dataType: 'float32', dims: [2], data: [3.5, -3.5] } },
  { name: 'Neg', op: 'Neg', inputs: [i64([3, -4])], expect: { dataType: 'int64', dims: [2], data: [-3, 4] } },
  { name: 'Floor', op: 'Floor', inputs: [f32([-1.5, 1.5, 2])], expect: { dataType: 'float32', dims: [3], data: [-2, 1, 2] } },
  { name: 'Ceil', op: 'Ceil', inputs: [f32([-1.5, 1.5, 2])], expect: { dataType: 'float32', dims: [3], data: [-1, 2, 2] } },
  { name: 'Max of three, broadcast', op: 'Max', inputs: [i64([1, 5]), i64([3], []), i64([0, 4])], expect: { dataType: 'int64', dims: [2], data: [3, 5] } },
  { name: 'Min', op: 'Min', inputs: [f32([1, 5]), f32([3], [])], expect: { dataType: 'float32', dims: [2], data: [1, 3] } },
  { name: 'Mod int (sign of the divisor)', op: 'Mod', inputs: [i64([-7, 7, 6]), i64([3, -3, 3])], expect: { dataType: 'int64', dims: [3], data: [2, -2, 0] } },
  { name: 'Mod fmod=1 (sign of the dividend)', op: 'Mod', inputs: [i64([-7, 7]), i64([3, -3])], attrs: { fmod: A.int(1) }, expect: { dataType: 'int64', dims: [2], data: [-1, 1] } },
  { name: 'Equal', op: 'Equal', inputs: [i64([1, 2, 3]), i64([2], [])], expect: { dataType: 'bool', dims: [3], data: [0, 1, 0] } },
  { name: 'Less', op: 'Less', inputs: [i64([1, 2, 3]), i64([2], [])], expect: { dataType: 'bool', dims: [3], data: [1, 0, 0] } },
  { name: 'Greater', op: 'Greater', inputs: [f32([1, 2, 3]), f32([2], [])], expect: { dataType: 'bool', dims: [3], data: [0, 0, 1] } },
  { name: 'Not', op: 'Not', inputs: [t('bool', [2], [1, 0])], expect: { dataType: 'bool', dims: [2], data: [0, 1] } },
  { name: 'Where', op: 'Where', inputs: [t('bool', [3], [1, 0, 1]), i64([1, 2, 3]), i64([-1], [])], expect: { dataType: 'int64', dims: [3], data: [1, -1, 3] } },
  { name: 'Range int64', op: 'Range', inputs: [i64([0], []), i64([10], []), i64([3], [])], expect: { dataType: 'int64', dims: [4], data: [0, 3, 6, 9] } },
  { name: 'Range float, negative step', op: 'Range', inputs: [f32([1], []), f32([0], []), f32([-0.25], [])], expect: { dataType: 'float32', dims: [4], data: [1, 0.75, 0.5, 0.25] } },
  {
    name: 'ConstantOfShape int64',
    op: 'ConstantOfShape',
    inputs: [i64([2, 3])],
    attrs: { value: A.tensor(i64([4], [1])) },
    expect: { dataType: 'int64', dims: [2, 3], data: [4, 4, 4, 4, 4, 4] },
  },
  { name: 'ConstantOfShape default float zeros', op: 'ConstantOfShape', inputs: [i64([3])], expect: { dataType: 'float32', dims: [3], data: [0, 0, 0] } },
  {
    name: 'Expand',
    op: 'Expand',
    inputs: [i64([1, 2, 3], [3, 1]), i64([2, 1, 2])],
    expect: { dataType: 'int64', dims: [2, 3, 2], data: [1, 1, 2, 2, 3, 3, 1, 1, 2, 2, 3, 3] },
  },
  { name: 'ReduceProd axis 1, keepdims 0', op: 'ReduceProd', inputs: [i64([1, 2, 3, 4], [2, 2])], attrs: { axes: A.ints([1]), keepdims: A.int(0) }, expect: { dataType: 'int64', dims: [2], data: [2, 12] } },
  { name: 'ReduceProd all', op: 'ReduceProd', inputs: [i64([2, 3, 4])], expect: { dataType: 'int64', dims: [1], data: [24] } },
  { name: 'Identity', op: 'Identity', inputs: [i64([5, 6])], expect: { dataType: 'int64', dims: [2], data: [5, 6] } },
  { name: 'Clip (inputs)', op: 'Clip', inputs: [f32([-2, 0.5, 9]), f32([0], []), f32([6], [])], expect: { dataType: 'float32', dims: [3], data: [0, 0.5, 6] } },
  {
    name: 'DequantizeLinear per axis',
    op: 'DequantizeLinear',
    inputs: [t('int8', [2, 2], [-2, 4, 10, 0]), f32([0.5, 2]), t('int8', [2], [0, 1])],
    attrs: { axis: A.int(0) },
    expect: { dataType: 'float32', dims: [2, 2], data: [-1, 2, 18, -2] },
  },
];

function caseGraph(c: Case): Graph {
  const names = c.inputs.map((_, i) => `c${i}`);
  return graphOf([node(c.op, names, c.attrs)], Object.fromEntries(c.inputs.map((v, i) => [`c${i}`, v])), c.opset);
}

for (const c of cases) {
  test(`fold ${c.op}: ${c.name}`, async () => {
    const g = caseGraph(c);
    assert.equal(foldConstants(g, 'case'), 1);
    assert.equal(g.nodes.length, 1, 'only the sink remains');
    const y = g.initializers.get('y')!;
    assert.equal(y.dataType, c.expect.dataType);
    assert.deepEqual(y.dims, c.expect.dims);
    assert.deepEqual(tensorToNumbers(y), c.expect.data);
    if (c.noOrt) return;
    // onnxruntime runs the same node and agrees.
    const ort = caseGraph(c);
    ort.nodes = ort.nodes.slice(0, 1);
    ort.inputs = [];
    ort.outputs = [{ name: 'y', dataType: c.expect.dataType }];
    const r = await runGraph(ort, {});
    assert.deepEqual(Array.from(r['y']!.data), c.expect.data.map((v) => Math.fround(v)));
    assert.deepEqual(r['y']!.dims, c.expect.dims);
  });
}

test('fold: integer division by zero is an error naming the node', () => {
  const g = graphOf([node('Div', ['a', 'b'])], { a: i64([1]), b: i64([0]) });
  assert.throws(() => foldConstants(g, 'm.onnx'), (e: Error) => e instanceof ModelFormatError && /m\.onnx: node 'Div_node' \(Div\).*division by zero/.test(e.message));
});

test('fold: static dimensions of a batched tensor fold, the batch never does', () => {
  const nodes: Node[] = [
    node('Shape', ['x'], {}, 's'),
    node('Gather', ['s', 'zero'], {}, 'batch'),
    node('Gather', ['s', 'two'], {}, 'h'),
    node('Shape', ['x'], { start: A.int(2) }, 'hw'),
    node('Shape', ['x'], { end: A.int(1) }, 'n'),
    node('Mul', ['h', 'two'], {}, 'h2'),
    node('Concat', ['batch', 'h2'], { axis: A.int(0) }, 'y'),
  ];
  // Unsqueezed scalars are 1-D here to keep the chain short.
  const g = graphOf(nodes, { zero: i64([0]), two: i64([2]) });
  g.nodes.splice(g.nodes.length - 1, 0, { name: 'use', opType: 'Sink', domain: 'test', inputs: ['hw', 'n'], outputs: ['w'], attributes: {} });
  foldConstants(g, 'case');
  const left = g.nodes.map((n) => n.outputs[0]);
  assert.deepEqual(tensorToNumbers(g.initializers.get('h')!), [5]);
  assert.deepEqual(tensorToNumbers(g.initializers.get('h2')!), [10]);
  assert.deepEqual(tensorToNumbers(g.initializers.get('hw')!), [5, 7]);
  for (const kept of ['s', 'batch', 'n', 'y']) assert.ok(left.includes(kept), `${kept} depends on the batch and stays a node`);
  assert.ok(!g.initializers.has('batch') && !g.initializers.has('n') && !g.initializers.has('y'));
});

test("fold: torch's F.pad / ZeroPad2d / ConstantPad2d chains become the pads torch used", async () => {
  const model = Model.prepare(await readOnnxFile(loadFixture('variety_pad').onnxPath), { source: 'variety_pad' });
  const pads = padsByNode(model.graph);
  // ONNX pads: [N, C, H, W begins, N, C, H, W ends]; torch (left, right, top, bottom).
  assert.deepEqual(pads.get('/features/features.1/features.1.0/Pad'), [0, 0, 1, 1, 0, 0, 1, 1]);
  assert.deepEqual(pads.get('/features/features.2/features.2.0/Pad'), [0, 0, 0, 0, 0, 0, 1, 1]);
  assert.deepEqual(pads.get('/features/features.3/features.3.0/Pad'), [0, 0, 1, 1, 0, 0, 1, 1]);
  assert.deepEqual(pads.get('/features/features.4/features.4.0/Pad'), [0, 0, 1, 1, 0, 0, 1, 1]);
  // No shape arithmetic is left: only the network's own ops.
  const ops = new Set(model.graph.nodes.map((n) => n.opType));
  for (const op of ['ConstantOfShape', 'Slice', 'Transpose', 'Cast', 'Constant', 'Concat']) assert.ok(!ops.has(op), `${op} folded`);
});

test("fold: timm's pad_same (from x.shape) becomes TF 'same' pads, asymmetric where TF's are", async () => {
  const model = Model.prepare(await readOnnxFile(loadFixture('variety_pad_same').onnxPath), { source: 'variety_pad_same' });
  const pads = [...padsByNode(model.graph).values()];
  // 30x30, k3 s2: total 1 -> (0, 1); MaxPool k3 s2 on 15: total 2 -> (1, 1);
  // k3 dilation 2 on 8: total 4 -> (2, 2); k5 s2 on 8: total 3 -> (1, 2).
  assert.deepEqual(pads, [
    [0, 0, 0, 0, 0, 0, 1, 1],
    [0, 0, 1, 1, 0, 0, 1, 1],
    [0, 0, 2, 2, 0, 0, 2, 2],
    [0, 0, 1, 1, 0, 0, 2, 2],
  ]);
  const ops = new Set(model.graph.nodes.map((n) => n.opType));
  for (const op of ['Shape', 'Gather', 'Ceil', 'Div', 'Unsqueeze', 'ConstantOfShape']) assert.ok(!ops.has(op), `${op} folded`);
});

test('fold: a view(x.size(0), -1) head keeps reading the batch at run time', async () => {
  const fx = loadFixture('variety_opset12');
  const model = Model.prepare(await readOnnxFile(fx.onnxPath), { source: fx.name });
  const prod = producers(model.graph);
  const reshape = model.graph.nodes.find((n) => n.opType === 'Reshape' && !model.graph.initializers.has(n.inputs[1]!));
  assert.ok(reshape, 'the Reshape target is still computed from Shape(x)');
  assert.ok(prod.get(reshape!.inputs[1]!), 'by a node');
  const { graph, outputs } = model.build({});
  for (const batch of [1, 3]) {
    const x0 = fx.read(fx.meta.samples[0]!.input);
    const x = new Float32Array(x0.length * batch);
    for (let b = 0; b < batch; b++) x.set(x0, b * x0.length);
    const r = await runGraph(graph, { [model.inputName]: { data: x, dims: [batch, 3, 32, 32] } });
    assert.deepEqual(r[outputs.logits]!.dims, [batch, 10]);
    assert.ok(relError(r[outputs.logits]!.data.slice((batch - 1) * 10), fx.read(fx.meta.samples[0]!.logits)) < 1e-4);
  }
});

function padsByNode(graph: Graph): Map<string, number[]> {
  const out = new Map<string, number[]>();
  for (const n of graph.nodes) {
    if (n.opType !== 'Pad') continue;
    const p = graph.initializers.get(n.inputs[1]!);
    assert.ok(p, `${n.name}: pads are an initializer`);
    out.set(n.name, tensorToNumbers(p!));
  }
  return out;
}
