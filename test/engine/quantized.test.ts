/**
 * Quantized models in onnxruntime's three formats (tools/quantize_fixtures.py writes them from
 * the quant_float torch fixture): predictions are the quantized model's own, the float twin
 * predicts close to it, and Grad-CAM through the twin is non-zero and matches the float
 * model's Grad-CAM from torch. Quantized patterns the twin cannot follow are refused.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import * as ort from 'onnxruntime-node';
import { Model } from '../../src/engine/model.js';
import { readOnnxFile } from '../../src/node/load-onnx.js';
import { createNodeRuntime } from '../../src/node/runtime.js';
import { Classifier } from '../../src/classifier.js';
import { UnsupportedOperatorError } from '../../src/errors.js';
import { float32Tensor } from '../../src/engine/graph/tensor-data.js';
import type { Graph, Node, TensorData } from '../../src/engine/graph/types.js';
import { FIXTURES, loadFixture, relError } from '../helpers/fixtures.js';
import { runGraph } from '../helpers/grad-check.js';

const fx = loadFixture('quant_float');
/** Each format, and the tensor holding the float model's `block` output (the Grad-CAM layer). */
const FORMATS = [
  { name: 'dynamic', ops: ['ConvInteger', 'DynamicQuantizeLinear', 'MatMulInteger'], block: '/block/Add_output_0' },
  { name: 'qdq', ops: ['DequantizeLinear', 'QuantizeLinear'], block: '/block/Add_output_0' },
  {
    name: 'qoperator',
    ops: ['DequantizeLinear', 'QLinearConv', 'QLinearMatMul', 'QuantizeLinear', 'com.microsoft.QLinearAdd', 'com.microsoft.QLinearGlobalAveragePool'],
    block: '/block/Add_output_0_quantized',
  },
];
const file = (name: string) => path.join(FIXTURES, 'quantized', `${name}.onnx`);

for (const f of FORMATS) {
  test(`quantized (${f.name}): predictions are the model's own, the float twin's are close, a note says so`, async () => {
    const model = Model.prepare(await readOnnxFile(file(f.name)), { source: `${f.name}.onnx` });
    assert.equal(model.notes.length, 1);
    assert.match(model.notes[0]!, new RegExp(`^${f.name}\\.onnx is quantized \\(${f.ops.join(', ')}\\): predictions come from the model as it is, gradients and activations from a float twin`));
    const integerOps = model.graph.nodes.filter((n) => /Quantize|Integer|QLinear|QGemm/.test(n.opType));
    assert.deepEqual(integerOps.map((n) => n.opType), [], 'the twin is float');
    const session = await ort.InferenceSession.create(file(f.name));
    const { graph, outputs } = model.build({ expose: [model.logits] });
    for (const s of fx.meta.samples) {
      const x = fx.read(s.input);
      const raw = (await session.run({ input: new ort.Tensor('float32', x, [1, 3, 32, 32]) }))['logits']!.data as Float32Array;
      const r = await runGraph(graph, { [model.inputName]: { data: x, dims: [1, 3, 32, 32] } });
      assert.ok(relError(r[outputs.logits]!.data, raw) < 1e-6, 'predictions: the quantized model as onnxruntime runs it');
      const twin = r[outputs.activations[0]!]!.data;
      const quantized = relError(twin, raw);
      const float = relError(twin, fx.read(s.logits));
      assert.ok(quantized < 0.06, `twin vs quantized logits: ${quantized}`);
      assert.ok(float < 0.02, `twin vs float logits: ${float}`);
    }
    await session.release();
  });

  test(`quantized (${f.name}): Grad-CAM through the twin is non-zero and matches the float model's (torch)`, async () => {
    const model = Model.prepare(await readOnnxFile(file(f.name)), { source: f.name });
    const classifier = new Classifier(model, createNodeRuntime({ threads: 1 }), { source: f.name });
    try {
      for (const s of fx.meta.samples) {
        const x = fx.read(s.input);
        const [e] = await classifier.explain([x], { method: 'gradcam', layer: f.block, targets: s.target });
        const ref = fx.read(s.layers['block']!.gradcam!);
        assert.ok(Math.max(...e!.cam) > 0.05 * Math.max(...ref), 'the cam is not blank');
        const err = relError(e!.cam, ref);
        assert.ok(err < 0.05, `cam vs the float model's: relative error ${err}`);
        // The logit gradient at the layer, against torch's for the float model.
        const { session, outputs } = await classifier.pipeline.session({ expose: [f.block], score: 'logit', wrt: [f.block] });
        const r = await session.run(classifier.pipeline.feeds(classifier.pipeline.stack([x], [0]), [s.target]));
        const g = relError(r[outputs.gradients[0]!]!.data, fx.read(s.layers['block']!.gradLogit));
        assert.ok(g < 0.05, `gradient vs the float model's: relative error ${g}`);
        const [rsi] = await classifier.explain([x], { method: 'rsi-grad-cam', layer: f.block, targets: s.target, steps: 8, baseline: new Float32Array(x.length) });
        assert.ok(Math.max(...rsi!.cam) > 0, 'RSI-Grad-CAM is not blank');
      }
    } finally {
      await classifier.dispose();
    }
  });
}

// --- refusals ---------------------------------------------------------------------------

const n = (opType: string, inputs: string[], outputs: string[], domain = ''): Node => ({ name: `${opType}_${outputs[0]}`, opType, domain, inputs, outputs, attributes: {} });
const u8 = (v: number): TensorData => ({ dataType: 'uint8', dims: [], data: Uint8Array.of(v) });

function quantizedGraph(middle: Node[], last: string): Graph {
  return {
    name: 'q',
    nodes: [
      n('Conv', ['x', 'w'], ['c']),
      n('QuantizeLinear', ['c', 's', 'z'], ['cq']),
      ...middle,
      n('DequantizeLinear', [last, 's', 'z'], ['d']),
      n('GlobalAveragePool', ['d'], ['p']),
      n('Flatten', ['p'], ['y']),
    ],
    initializers: new Map<string, TensorData>([
      ['w', float32Tensor(new Array(4 * 3 * 9).fill(0.1), [4, 3, 3, 3])],
      ['s', float32Tensor([0.05], [])],
      ['z', u8(10)],
    ]),
    inputs: [{ name: 'x', dataType: 'float32', shape: ['N', 3, 8, 8] }],
    outputs: [{ name: 'y', dataType: 'float32' }],
    valueInfo: new Map([['e', { name: 'e', dataType: 'uint8', shape: ['N', 4, 6, 6] }]]),
    opset: 13,
    otherOpsets: [],
    irVersion: 7,
    producerName: 'test',
  };
}

test('quantized: an op on a quantized tensor the twin has no rule for is refused, naming the node (never a blank cam)', () => {
  const g = quantizedGraph([n('Erf', ['cq'], ['e'])], 'e');
  assert.throws(
    () => Model.prepare(g, { source: 'q.onnx' }),
    (e: Error) => e instanceof UnsupportedOperatorError && /q\.onnx: node 'Erf_e' \(Erf\) of a quantized model: it takes the quantized tensor 'cq'/.test(e.message),
  );
});

test('quantized: a ConvInteger without the Cast and scale Mul onnxruntime writes is refused', () => {
  const g = quantizedGraph([], 'cq');
  g.nodes.splice(2, 0, n('ConvInteger', ['cq', 'wq'], ['acc']), n('Cast', ['acc'], ['accf']));
  g.nodes[3]!.attributes = { to: { type: 'int', value: 1 } };
  g.nodes.push(n('Identity', ['accf'], ['unused']));
  g.initializers.set('wq', { dataType: 'uint8', dims: [4, 4, 1, 1], data: new Uint8Array(16).fill(3) });
  assert.throws(
    () => Model.prepare(g, { source: 'q.onnx' }),
    (e: Error) => e instanceof UnsupportedOperatorError && /node 'ConvInteger_acc' \(ConvInteger\).*Cast and the Mul/.test(e.message),
  );
});

test('quantized: a Pad on quantized values pads with the real value of its quantized constant', async () => {
  // Pad in the quantized domain with 0 (the default) is the real value (0 - 10) * 0.05 = -0.5.
  const g = quantizedGraph([n('Pad', ['cq', 'pads'], ['e'])], 'e');
  g.initializers.set('pads', { dataType: 'int64', dims: [8], data: BigInt64Array.from([0, 0, 1, 1, 0, 0, 1, 1].map(BigInt)) });
  g.valueInfo.clear();
  const model = Model.prepare(g, { source: 'q.onnx' });
  const { graph, outputs } = model.build({ expose: ['e'] });
  const r = await runGraph(graph, { x: { data: new Float32Array(3 * 64).fill(1), dims: [1, 3, 8, 8] } });
  const e = r[outputs.activations[0]!]!.data;
  assert.equal(e.length, 4 * 8 * 8);
  assert.ok(Math.abs(e[0]! - -0.5) < 1e-6, `corner ${e[0]}`);
  // Inside: conv of ones with 0.1 weights over 27 taps = 2.7, within the range (10..255 - 10) * 0.05.
  assert.ok(Math.abs(e[9]! - 2.7) < 1e-5, `inside ${e[9]}`);
});
