import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Model } from '../../src/engine/model.js';
import { readOnnxFile } from '../../src/node/load-onnx.js';
import { serializeOnnx } from '../../src/engine/graph/onnx-io.js';
import { BatchingError, ModelFormatError, UnknownLayerError, UnsupportedOperatorError } from '../../src/errors.js';
import { int64Tensor, float32Tensor } from '../../src/engine/graph/tensor-data.js';
import type { Graph } from '../../src/engine/graph/types.js';
import { loadFixture, relError } from '../helpers/fixtures.js';
import { runGraph } from '../helpers/grad-check.js';

function tinyGraph(nodes: Graph['nodes'], initializers: [string, ReturnType<typeof float32Tensor>][], inputShape: (number | string)[], output = 'y'): Graph {
  return {
    name: 'tiny',
    nodes,
    initializers: new Map(initializers),
    inputs: [{ name: 'x', dataType: 'float32', shape: inputShape }],
    outputs: [{ name: output, dataType: 'float32' }],
    valueInfo: new Map(),
    opset: 17,
    otherOpsets: [],
    irVersion: 8,
    producerName: 'test',
  };
}
const n = (opType: string, inputs: string[], outputs: string[], attributes: Graph['nodes'][number]['attributes'] = {}, domain = '') => ({ name: `${opType}_${outputs[0]}`, opType, domain, inputs, outputs, attributes });

test('a model exported with batch 1 and Reshape to [1, -1] runs at batch 3 after preparation', async () => {
  const fx = loadFixture('variety_opset11_static');
  const model = Model.prepare(await readOnnxFile(fx.onnxPath), { source: fx.name });
  assert.equal(model.inputShape[0], 'N');
  const { graph, outputs } = model.build({});
  const x0 = fx.read(fx.meta.samples[0]!.input);
  const x1 = fx.read(fx.meta.samples[1]!.input);
  const x = new Float32Array(x0.length * 3);
  x.set(x0, 0);
  x.set(x1, x0.length);
  x.set(x0, 2 * x0.length);
  const r = await runGraph(graph, { [model.inputName]: { data: x, dims: [3, 3, 32, 32] } });
  const logits = r[outputs.logits]!;
  assert.deepEqual(logits.dims, [3, 10]);
  assert.ok(relError(logits.data.slice(0, 10), fx.read(fx.meta.samples[0]!.logits)) < 1e-4);
  assert.ok(relError(logits.data.slice(10, 20), fx.read(fx.meta.samples[1]!.logits)) < 1e-4);
});

test('a graph that folds the batch into another axis is refused with the node named', () => {
  const g = tinyGraph(
    [n('Relu', ['x'], ['r']), n('Reshape', ['r', 'shape'], ['flat']), n('MatMul', ['flat', 'w'], ['y'])],
    [['shape', int64Tensor([-1]) as never], ['w', float32Tensor(new Array(2 * 4 * 4 * 2 * 3).fill(0.1), [2 * 4 * 4 * 2, 3])]],
    [2, 2, 4, 4],
  );
  // Reshape to [-1] over a batch of 2 hard-codes it: nothing to rewrite safely.
  assert.throws(() => Model.prepare(g, { source: 'tiny.onnx' }), (e: Error) => (e instanceof BatchingError || e instanceof ModelFormatError) && /tiny\.onnx/.test(e.message));
});

test('an unsupported operator on the gradient path names the op, the node and the supported ops', () => {
  const g = tinyGraph(
    [n('Conv', ['x', 'w'], ['c']), n('Relu', ['c'], ['r']), n('Acos', ['r'], ['a']), n('GlobalAveragePool', ['a'], ['p']), n('Flatten', ['p'], ['y'])],
    [['w', float32Tensor(new Array(4 * 3 * 3 * 3).fill(0.01), [4, 3, 3, 3])]],
    ['N', 3, 8, 8],
  );
  // Acos has no shape rule either; give its output a recorded shape as a file would.
  g.valueInfo.set('a', { name: 'a', dataType: 'float32', shape: ['N', 4, 6, 6] });
  const model = Model.prepare(g, { source: 'acos.onnx' });
  assert.throws(
    () => model.build({ score: 'logit', wrt: ['c'] }),
    (e: Error) => e instanceof UnsupportedOperatorError && /'Acos_a' \(Acos\)/.test(e.message) && /supported: .*Conv.*Relu/.test(e.message),
  );
  // Layers after the unsupported op still differentiate: it is not on their path.
  assert.doesNotThrow(() => model.build({ score: 'logit', wrt: ['a'] }));
});

test('a model with no 4-D layer has no default layer', () => {
  const g = tinyGraph([n('Flatten', ['x'], ['f']), n('MatMul', ['f', 'w'], ['y'])], [['w', float32Tensor(new Array(12 * 2).fill(0.1), [12, 2])]], ['N', 3, 2, 2]);
  const model = Model.prepare(g, { source: 'mlp.onnx' });
  assert.throws(() => model.layer(), (e: Error) => e instanceof UnknownLayerError && /mlp\.onnx: the model has no 4-D layer/.test(e.message));
});

test('backward nodes are written only between the layer and the output', async () => {
  const fx = loadFixture('vgg');
  const model = Model.prepare(await readOnnxFile(fx.onnxPath), { source: 'vgg' });
  const last = model.layer('features.10');
  const { graph } = model.build({ expose: [last.tensor], score: 'logit', wrt: [last.tensor] });
  const added = graph.nodes.filter((x) => x.name.startsWith('grad/'));
  // Only the MaxPool and head after features.10 are differentiated: no ConvTranspose at all.
  assert.ok(added.length > 0);
  assert.equal(added.filter((x) => x.opType === 'ConvTranspose').length, 0);
  const early = model.build({ expose: [], score: 'logit', wrt: [model.layer('features.3').tensor] }).graph;
  assert.ok(early.nodes.filter((x) => x.opType === 'ConvTranspose').length >= 2);
});

test('activations fed from outside: same logits when fed the computed ones, different when perturbed', async () => {
  const fx = loadFixture('resnet');
  const model = Model.prepare(await readOnnxFile(fx.onnxPath), { source: 'resnet' });
  const layer = model.layer('layer1');
  const x = fx.read(fx.meta.samples[0]!.input);
  const plain = model.build({ expose: [layer.tensor] });
  const r = await runGraph(plain.graph, { [model.inputName]: { data: x, dims: [1, 3, 32, 32] } });
  const act = r[plain.outputs.activations[0]!]!;
  const fed = model.build({ feed: layer.tensor });
  const feeds = (a: Float32Array) => {
    const f: Record<string, { data: Float32Array; dims: number[] }> = { [layer.tensor]: { data: a, dims: act.dims } };
    if (fed.graph.inputs.some((i) => i.name === model.inputName)) f[model.inputName] = { data: x, dims: [1, 3, 32, 32] };
    return f;
  };
  const same = await runGraph(fed.graph, feeds(act.data));
  assert.ok(relError(same[fed.outputs.logits]!.data, r[plain.outputs.logits]!.data) < 1e-5);
  const zeroed = await runGraph(fed.graph, feeds(new Float32Array(act.data.length)));
  assert.ok(relError(zeroed[fed.outputs.logits]!.data, r[plain.outputs.logits]!.data) > 1e-2);
  // The fed graph differentiates too (layer-space paths need that).
  const fedGrad = model.build({ feed: layer.tensor, score: 'logit', wrt: [layer.tensor] });
  assert.ok(serializeOnnx(fedGrad.graph).length > 0);
});
