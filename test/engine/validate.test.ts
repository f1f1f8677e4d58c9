/**
 * Load-time validation (src/engine/graph/validate.ts, node-checks.ts): each malformed graph
 * is refused by Model.prepare with one line naming the file, the node and what is wrong,
 * before onnxruntime sees it; a graph whose nodes are merely out of order is sorted and runs.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';
import { A } from '../../src/engine/graph/attributes.js';
import { parseOnnx, serializeOnnx } from '../../src/engine/graph/onnx-io.js';
import { float32Tensor, int64Tensor } from '../../src/engine/graph/tensor-data.js';
import type { Graph, Node, TensorData } from '../../src/engine/graph/types.js';
import { MAX_INPUT_SIDE, MAX_OPSET, MAX_TENSOR_ELEMENTS, checkSignatures } from '../../src/engine/graph/validate.js';
import { Model } from '../../src/engine/model.js';
import { ModelFormatError } from '../../src/errors.js';
import { REPO_ROOT } from '../helpers/fixtures.js';
import { graphOf, node } from '../helpers/graphs.js';
import { runGraph } from '../helpers/grad-check.js';

const SRC = 'bad.onnx';


function ramp(dims: number[], scale = 0.01): TensorData {
  const n = dims.reduce((a, b) => a * b, 1);
  return float32Tensor(Array.from({ length: n }, (_, i) => Math.sin(i) * scale), dims);
}

/** x [N, 3, 8, 8] -> Conv 4x3x3x3 -> Relu -> GlobalAveragePool -> Flatten -> Gemm 5 classes. */
function classifier(): Graph {
  return graphOf(
    [
      node('conv', 'Conv', ['x', 'w', 'b'], ['c'], { kernel_shape: A.ints([3, 3]), pads: A.ints([1, 1, 1, 1]), strides: A.ints([1, 1]) }),
      node('relu', 'Relu', ['c'], ['r']),
      node('gap', 'GlobalAveragePool', ['r'], ['p']),
      node('flat', 'Flatten', ['p'], ['f'], { axis: A.int(1) }),
      node('fc', 'Gemm', ['f', 'fw', 'fb'], ['y'], { transB: A.int(1) }),
    ],
    { w: ramp([4, 3, 3, 3], 0.3), b: ramp([4]), fw: ramp([5, 4], 0.5), fb: ramp([5]) },
    ['x', ['N', 3, 8, 8]],
    ['y'],
  );
}

function find(g: Graph, name: string): Node {
  return g.nodes.find((n) => n.name === name)!;
}

/** Model.prepare refuses `g` with a ModelFormatError matching `pattern`, one line, naming the file. */
function refused(g: Graph, pattern: RegExp): void {
  assert.throws(
    () => Model.prepare(g, { source: SRC }),
    (e: Error) => {
      assert.ok(e instanceof ModelFormatError, `${e.constructor.name}: ${e.message}`);
      assert.ok(e.message.startsWith(`${SRC}: `), e.message);
      assert.ok(!e.message.includes('\n'), e.message);
      assert.match(e.message, pattern);
      return true;
    },
  );
}

test('the sound graph loads; nodes out of order are sorted and compute the same logits', async () => {
  const sorted = Model.prepare(classifier(), { source: SRC });
  const g = classifier();
  g.nodes.reverse();
  const model = Model.prepare(g, { source: SRC });
  assert.deepEqual(model.graph.nodes.map((n) => n.name).slice(0, 5), ['conv', 'relu', 'gap', 'flat', 'fc']);
  const x = { data: Float32Array.from({ length: 2 * 3 * 8 * 8 }, (_, i) => Math.cos(i)), dims: [2, 3, 8, 8] };
  const a = await runGraph(sorted.build({}).graph, { x });
  const b = await runGraph(model.build({}).graph, { x });
  const la = a[sorted.build({}).outputs.logits]!.data;
  assert.deepEqual(b[model.build({}).outputs.logits]!.data, la);
  assert.ok(la.some((v) => v !== 0));
});

test('structure: dangling inputs, cycles, tensors written twice, undefined outputs', () => {
  let g = classifier();
  find(g, 'relu').inputs = ['nope'];
  refused(g, /node 'relu' \(Relu\): reads 'nope', which no node, initializer or graph input defines/);

  g = classifier();
  find(g, 'conv').inputs[0] = 'r'; // conv <- relu <- conv
  refused(g, /node '(conv|relu)' \((Conv|Relu)\) is on a cycle \('(conv|relu)' -> '(conv|relu)' -> '(conv|relu)'\); a model graph must be acyclic/);

  g = classifier();
  find(g, 'gap').outputs = ['r'];
  refused(g, /node '(gap|relu)' \((GlobalAveragePool|Relu)\): writes 'r', which node '(gap|relu)' also writes/);

  g = classifier();
  find(g, 'relu').outputs = ['w'];
  refused(g, /node 'relu' \(Relu\): writes 'w', which is an initializer/);

  g = classifier();
  g.outputs = [{ name: 'logits', dataType: 'float32' }];
  refused(g, /the graph output 'logits' is not computed by any node/);

  g = classifier();
  g.initializers.delete('fw');
  refused(g, /node 'fc' \(Gemm\): reads 'fw', which no node/);
});

test('initializers: data length, dims and NaN values', () => {
  let g = classifier();
  g.initializers.set('b', { ...ramp([4]), dims: [5] });
  refused(g, /initializer 'b' holds 4 values but its dims \[5\] need 5/);
  g = classifier();
  g.initializers.set('b', { ...ramp([4]), dims: [-4] });
  refused(g, /initializer 'b' has dims \[-4\]/);
  g = classifier();
  const w = ramp([4, 3, 3, 3]);
  (w.data as Float32Array)[7] = NaN;
  g.initializers.set('w', w);
  refused(g, /initializer 'w' holds NaN values/);
});

test('ops: unknown ops and domains are named, not reported as a logits shape problem', () => {
  let g = classifier();
  find(g, 'relu').opType = 'Foo';
  refused(g, /^bad\.onnx: node 'relu' has op 'Foo' which rsi-grad-cam does not support$/);
  g = classifier();
  find(g, 'relu').domain = 'com.example';
  refused(g, /node 'relu' has op 'com\.example\.Relu' which rsi-grad-cam does not support/);
  g = classifier();
  g.opset = MAX_OPSET + 1;
  refused(g, new RegExp(`declares ONNX opset ${MAX_OPSET + 1}; onnxruntime supports up to ${MAX_OPSET}`));
  // An omitted required input leaves a shape unknown: the node is named, not the logits.
  g = classifier();
  g.nodes.splice(4, 0, node('lost', 'Relu', [''], ['z']), node('add', 'Add', ['z', 'f'], ['f2']));
  find(g, 'fc').inputs[0] = 'f2';
  refused(g, /node 'lost' \(Relu\): its input 0 is missing/);
  // A model whose output does not depend on its input.
  g = classifier();
  find(g, 'conv').inputs[0] = 'b';
  refused(g, /the output 'y' does not depend on the input 'x'/);
});

test('Conv: weight rank and channels against the input and group, kernel_shape, strides, pads, bias', () => {
  const cases: [(g: Graph) => void, RegExp][] = [
    [(g) => g.initializers.set('w', ramp([4, 2, 3, 3])), /node 'conv' \(Conv\): the input \[N, 3, 8, 8\] has 3 channels but the weight \[4, 2, 3, 3\] with group 1 takes 2/],
    [(g) => (find(g, 'conv').attributes['group'] = A.int(3)), /the weight \[4, 3, 3, 3\] has 4 output channels, which do not split into 3 groups/],
    [
      (g) => {
        find(g, 'conv').attributes['group'] = A.int(2);
        g.initializers.set('w', ramp([4, 3, 3, 3]));
      },
      /the input \[N, 3, 8, 8\] has 3 channels but the weight \[4, 3, 3, 3\] with group 2 takes 6/,
    ],
    [(g) => (find(g, 'conv').attributes['group'] = A.int(0)), /group 0 must be a positive integer/],
    [(g) => g.initializers.set('w', ramp([4, 3, 3])), /weight \('w'\) has shape \[4, 3, 3\], rank 3, but the input \[N, 3, 8, 8\] has rank 4/],
    [(g) => (find(g, 'conv').attributes['kernel_shape'] = A.ints([5, 5])), /kernel_shape \[5,5\] does not match the weight \[4, 3, 3, 3\]/],
    [(g) => (find(g, 'conv').attributes['strides'] = A.ints([0, 1])), /strides \[0,1\] must be 2 positive integers/],
    [(g) => (find(g, 'conv').attributes['dilations'] = A.ints([1])), /dilations \[1\] must be 2 positive integers/],
    [(g) => (find(g, 'conv').attributes['pads'] = A.ints([1, 1])), /pads \[1,1\] must be 4 non-negative integers/],
    [(g) => (find(g, 'conv').attributes['auto_pad'] = A.string('SAME')), /auto_pad 'SAME' is not one of/],
    [(g) => g.initializers.set('b', ramp([5])), /bias \('b'\) has shape \[5\]; \[4\] is needed/],
  ];
  for (const [mutate, pattern] of cases) {
    const g = classifier();
    mutate(g);
    refused(g, pattern);
  }
});

/** Insert `n` after node `after`, reading its output and taking its place for the next node. */
function insertAfter(g: Graph, after: string, n: (from: string, to: string) => Node): void {
  const prev = find(g, after);
  const from = `${prev.outputs[0]}/pre`;
  const to = prev.outputs[0]!;
  prev.outputs[0] = from;
  g.nodes.splice(g.nodes.indexOf(prev) + 1, 0, n(from, to));
}

test('other ops: attribute values and weight shapes against the shapes that reach them', () => {
  const bn = (scale: number[]) => (g: Graph) => {
    for (const k of ['s', 'bb', 'm', 'v']) g.initializers.set(k, ramp(k === 's' ? scale : [4], 0.1));
    g.initializers.set('v', float32Tensor([1, 1, 1, 1], [4]));
    insertAfter(g, 'conv', (x, y) => node('bn', 'BatchNormalization', [x, 's', 'bb', 'm', 'v'], [y]));
  };
  const cases: [(g: Graph) => void, RegExp][] = [
    // BatchNormalization statistics for 3 channels on a 4-channel map.
    [bn([3]), /node 'bn' \(BatchNormalization\): scale \('s'\) has shape \[3\]; \[4\] is needed/],
    // The classifier's weight for 3 features after a 4-channel pool.
    [(g) => g.initializers.set('fw', ramp([5, 3])), /node 'fc' \(Gemm\): inputs \[N, 4\] and \[5, 3\] cannot be multiplied \(4 != 3\)/],
    // Pooling whose pads are as large as its window (onnxruntime's kernels need them smaller).
    [
      (g) => insertAfter(g, 'relu', (x, y) => node('mp', 'MaxPool', [x], [y], { kernel_shape: A.ints([2, 2]), pads: A.ints([2, 2, 2, 2]) })),
      /node 'mp' \(MaxPool\): pads \[2,2,2,2\] must be smaller than kernel_shape \[2,2\]/,
    ],
    [(g) => insertAfter(g, 'relu', (x, y) => node('mp', 'MaxPool', [x], [y], { kernel_shape: A.ints([0, 2]) })), /node 'mp' \(MaxPool\): kernel_shape \[0,2\] must be 2 positive integers/],
    [(g) => insertAfter(g, 'relu', (x, y) => node('mp', 'MaxPool', [x], [y])), /node 'mp' \(MaxPool\): kernel_shape is missing/],
    // A window larger than the map.
    [(g) => insertAfter(g, 'relu', (x, y) => node('mp', 'MaxPool', [x], [y], { kernel_shape: A.ints([9, 9]) })), /node 'mp' \(MaxPool\): input \[N, 4, 8, 8\] is too small for kernel \[9,9\] \(output size 0\)/],
    [(g) => insertAfter(g, 'relu', (x, y) => node('tr', 'Transpose', [x], [y], { perm: A.ints([0, 0, 1, 2]) })), /node 'tr' \(Transpose\): perm \[0,0,1,2\] is not a permutation of the 4 axes of \[N, 4, 8, 8\]/],
    [
      (g) => {
        g.initializers.set('to', int64Tensor([0, 7, -1], [3]));
        insertAfter(g, 'relu', (x, y) => node('rs', 'Reshape', [x, 'to'], [y]));
      },
      /node 'rs' \(Reshape\): cannot reshape \[N, 4, 8, 8\] to \[0, 7, -1\]/,
    ],
    [
      (g) => {
        g.initializers.set('to', int64Tensor([0, -1, -1], [3]));
        insertAfter(g, 'relu', (x, y) => node('rs', 'Reshape', [x, 'to'], [y]));
      },
      /node 'rs' \(Reshape\): target shape \[0,-1,-1\] has more than one -1/,
    ],
    [(g) => insertAfter(g, 'relu', (x, y) => node('cat', 'Concat', [x, 'x'], [y], { axis: A.int(2) })), /node 'cat' \(Concat\): inputs \[N, 4, 8, 8\], \[N, 3, 8, 8\] do not fit together along axis 2/],
    [(g) => insertAfter(g, 'relu', (x, y) => node('cat', 'Concat', [x, x], [y], { axis: A.int(4) })), /node 'cat' \(Concat\): axis 4 is out of range for rank 4/],
    [(g) => (find(g, 'flat').attributes['axis'] = A.int(7)), /node 'flat' \(Flatten\): axis 7 is out of range for rank 4/],
    [
      (g) => {
        g.initializers.set('scales', float32Tensor([1, 1, 0, 2], [4]));
        insertAfter(g, 'relu', (x, y) => node('up', 'Resize', [x, '', 'scales'], [y], { mode: A.string('nearest') }));
      },
      /node 'up' \(Resize\): scales \[1,1,0,2\] must be 4 positive numbers/,
    ],
  ];
  for (const [mutate, pattern] of cases) {
    const g = classifier();
    mutate(g);
    refused(g, pattern);
  }
});

test('signatures: attribute names and types, input counts, element types', () => {
  const cases: [(g: Graph) => void, RegExp][] = [
    [(g) => (find(g, 'conv').attributes['fuzz'] = A.int(1)), /node 'conv' \(Conv\): has an attribute 'fuzz', which Conv does not take/],
    [(g) => (find(g, 'conv').attributes['strides'] = A.int(1)), /node 'conv' \(Conv\): attribute 'strides' is an int; Conv takes an ints/],
    [(g) => find(g, 'relu').inputs.push('x'), /node 'relu' \(Relu\): has 2 inputs; Relu takes 1/],
    [(g) => g.initializers.set('b', { dataType: 'int8', dims: [4], data: new Int8Array(4) }), /node 'conv' \(Conv\): input 2 \('b'\) is int8; Conv takes float16, float32, float64 there/],
    [(g) => g.initializers.set('fw', int64Tensor(new Array(20).fill(1), [5, 4])), /node 'fc' \(Gemm\): input 1 \('fw'\) is int64 but an earlier input of the same type is float32/],
  ];
  for (const [mutate, pattern] of cases) {
    const g = classifier();
    mutate(g);
    refused(g, pattern);
  }
});

test('newer opsets: attributes, inputs and element types added after the opset-17 table are accepted', async () => {
  // Opset 18: ReduceMean takes its axes as an input and has noop_with_empty_axes.
  const g = classifier();
  g.opset = 18;
  g.initializers.set('axes', int64Tensor([2, 3], [2]));
  Object.assign(find(g, 'gap'), { opType: 'ReduceMean', inputs: ['r', 'axes'], attributes: { keepdims: A.int(1), noop_with_empty_axes: A.int(0) } });
  const model = Model.prepare(g, { source: SRC });
  const x = { data: Float32Array.from({ length: 3 * 8 * 8 }, (_, i) => Math.cos(i)), dims: [1, 3, 8, 8] };
  const built = model.build({});
  const ref = Model.prepare(classifier(), { source: SRC }).build({});
  const got = (await runGraph(built.graph, { x }))[built.outputs.logits]!.data;
  const want = (await runGraph(ref.graph, { x }))[ref.outputs.logits]!.data;
  assert.equal(got.length, 5);
  got.forEach((v, i) => assert.ok(Math.abs(v - want[i]!) < 1e-5, `logit ${i}: ${v} vs ${want[i]} (GlobalAveragePool)`));
  // The axes attribute those opsets took away (found by the fuzzer: onnxruntime's 'Unrecognized attribute', exit 2).
  const old = classifier();
  old.opset = 18;
  Object.assign(find(old, 'gap'), { opType: 'ReduceMean', inputs: ['r'], attributes: { axes: A.ints([2, 3]), keepdims: A.int(1) } });
  refused(old, /node 'gap' \(ReduceMean\): has an attribute 'axes', which ReduceMean takes as an input since opset 18 \(the model declares opset 18\)$/);
  old.opset = 17;
  assert.ok(Model.prepare(old, { source: SRC }));
  // Opset 21: int16 and blocked dequantization (block_size); at opset 17 both are refused.
  const dq = (opset: number) => {
    const q = classifier();
    q.opset = opset;
    q.initializers.set('wq', { dataType: 'int16', dims: [4, 3, 3, 3], data: Int16Array.from({ length: 108 }, (_, i) => (i % 7) - 3) });
    q.initializers.set('ws', float32Tensor([0.1], []));
    q.initializers.delete('w');
    q.nodes.unshift(node('dq', 'DequantizeLinear', ['wq', 'ws'], ['w'], opset > 17 ? { block_size: A.int(0) } : {}));
    return q;
  };
  refused(dq(17), /node 'dq' \(DequantizeLinear\): input 0 \('wq'\) is int16; DequantizeLinear takes int32, int8, uint8 there/);
  const q = dq(17);
  find(q, 'dq').attributes['block_size'] = A.int(0);
  refused(q, /node 'dq' \(DequantizeLinear\): has an attribute 'block_size', which DequantizeLinear does not take/);
  assert.doesNotThrow(() => checkSignatures(dq(21), new Map([['wq', { dataType: 'int16', shape: [4, 3, 3, 3] }]]), SRC));
});

test('sizes: absurd inputs and intermediate tensors are refused before anything allocates', () => {
  let g = classifier();
  g.inputs[0]!.shape = ['N', 3, 100_000, 100_000];
  refused(g, new RegExp(`the input 'x' has shape \\[N, 3, 100000, 100000\\]; rsi-grad-cam accepts images of at most ${MAX_INPUT_SIDE} pixels a side`));
  g = classifier();
  g.inputs[0]!.shape = ['N', 3, 4100, 4100];
  refused(g, /accepts images of at most .* and 50331648 values/);
  // A Resize scaling the map a million times.
  g = classifier();
  g.initializers.set('scales', float32Tensor([1, 1, 1e6, 1e6], [4]));
  find(g, 'relu').outputs = ['r0'];
  g.nodes.splice(2, 0, node('up', 'Resize', ['r0', '', 'scales'], ['r'], { mode: A.string('nearest') }));
  refused(g, new RegExp(`node 'up' \\(Resize\\): its output would have shape \\[N, 4, 8000000, 8000000\\], over ${MAX_TENSOR_ELEMENTS} values an item`));
});

test('the ONNX parser refuses raw data of the wrong length and absurd dims before allocating', () => {
  const bytes = serializeOnnx(classifier());
  const g = parseOnnx(bytes, SRC);
  assert.equal(g.initializers.get('w')!.data.length, 108);
  // Dims that disagree with the raw bytes, and dims that would allocate 2^40 floats.
  for (const [dims, pattern] of [
    [[4, 3, 3, 4], /tensor 'w' holds 432 bytes but its shape \[4,3,3,4\] of float32 needs 576/],
    [[2 ** 20, 2 ** 20], /tensor 'w' has dims \[1048576,1048576\], 1099511627776 values, over the limit/],
  ] as const) {
    const bad = classifier();
    bad.initializers.set('w', { ...bad.initializers.get('w')!, dims: [...dims] });
    assert.throws(() => parseOnnx(serializeOnnx(bad), SRC), (e: Error) => e instanceof ModelFormatError && pattern.test(e.message) && e.message.startsWith(SRC));
  }
});

test("onnxruntime's own log stays off stderr when a session fails", () => {
  // A Conv whose weight does not fit its input, sent to onnxruntime directly (validation skipped).
  const script = `
    import { createNodeRuntime } from './src/node/runtime.ts';
    import { serializeOnnx } from './src/engine/graph/onnx-io.ts';
    import { float32Tensor } from './src/engine/graph/tensor-data.ts';
    const g = { name: 'g', nodes: [{ name: 'c', opType: 'Conv', domain: '', inputs: ['x', 'w'], outputs: ['y'], attributes: {} }],
      initializers: new Map([['w', float32Tensor(new Array(2 * 5 * 3 * 3).fill(0.1), [2, 5, 3, 3])]]),
      inputs: [{ name: 'x', dataType: 'float32', shape: [1, 3, 8, 8] }], outputs: [{ name: 'y', dataType: 'float32' }],
      valueInfo: new Map(), opset: 17, otherOpsets: [], irVersion: 8, producerName: 't' };
    const s = await createNodeRuntime({ threads: 1 }).create(serializeOnnx(g));
    await s.run({ x: { data: new Float32Array(3 * 64), dims: [1, 3, 8, 8] } }).then(() => console.log('ran'), (e) => console.log('failed:', e.message.split('\\n')[0]));
  `;
  const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { cwd: REPO_ROOT, encoding: 'utf8' });
  assert.match(r.stdout, /failed: .*Input channels C is not equal to kernel channels \* group/, r.stderr);
  assert.doesNotMatch(r.stderr, /onnxruntime/, 'no onnxruntime log line');
});
