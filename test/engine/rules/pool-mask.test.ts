/**
 * The MaxPool gradient without the Indices output (variant 'mask', for onnxruntime-web's
 * WebGPU kernels): finite differences, and exact equality with the Indices rule on inputs
 * full of ties (as after a ReLU), where the first maximum of each window must win.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { differentiate, type RuleVariants } from '../../../src/engine/autodiff/differentiate.js';
import { A } from '../../../src/engine/graph/attributes.js';
import { inferShapes } from '../../../src/engine/graph/shape-inference.js';
import type { Attribute } from '../../../src/engine/graph/types.js';
import { Model } from '../../../src/engine/model.js';
import { readOnnxFile } from '../../../src/node/load-onnx.js';
import { createNodeRuntime } from '../../../src/node/runtime.js';
import { serializeOnnx } from '../../../src/engine/graph/onnx-io.js';
import { caseGraph, gradCheck, rng, runGraph } from '../../helpers/grad-check.js';
import { REPO_ROOT } from '../../helpers/fixtures.js';
import path from 'node:path';

const mask: RuleVariants = { maxPoolGradient: 'mask' };
const k3s2 = { kernel_shape: A.ints([3, 3]), strides: A.ints([2, 2]) };

/** Distinct values in random order, 0.05 apart, so no window's max changes under the FD step. */
function distinct(n: number, seed: number): number[] {
  const rand = rng(seed);
  const v = Array.from({ length: n }, (_, i) => i * 0.05 - n * 0.025);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(rand(0, 1) * (i + 1));
    [v[i], v[j]] = [v[j]!, v[i]!];
  }
  return v;
}

/** Values from {0, 0, 0, 1, 2}: most windows hold several equal maxima. */
function tied(n: number, seed: number): number[] {
  const rand = rng(seed);
  return Array.from({ length: n }, () => [0, 0, 0, 1, 2][Math.floor(rand(0, 5))]!);
}

const GEOMETRIES: [string, number[], Record<string, Attribute>][] = [
  ['2x2 stride 2', [2, 3, 6, 8], { kernel_shape: A.ints([2, 2]), strides: A.ints([2, 2]) }],
  ['3x3 stride 2 (overlapping windows)', [1, 2, 7, 7], k3s2],
  ['3x3 stride 2, pads', [2, 3, 7, 6], { ...k3s2, pads: A.ints([1, 1, 1, 1]) }],
  ['ceil_mode, asymmetric pads', [1, 2, 6, 7], { ...k3s2, ceil_mode: A.int(1), pads: A.ints([0, 1, 1, 0]) }],
  ['dilations', [1, 2, 8, 7], { kernel_shape: A.ints([2, 3]), dilations: A.ints([2, 1]), pads: A.ints([1, 0, 0, 1]), strides: A.ints([2, 2]) }],
  ['auto_pad SAME_UPPER', [1, 2, 8, 7], { kernel_shape: A.ints([2, 3]), auto_pad: A.string('SAME_UPPER'), strides: A.ints([2, 2]) }],
  ['auto_pad SAME_LOWER', [1, 2, 8, 7], { kernel_shape: A.ints([2, 3]), auto_pad: A.string('SAME_LOWER'), strides: A.ints([2, 2]) }],
  ['stride 1', [1, 2, 5, 5], { kernel_shape: A.ints([2, 2]) }],
  ['1-D', [2, 2, 9], { kernel_shape: A.ints([3]), strides: A.ints([2]), pads: A.ints([1, 0]) }],
];

for (const [name, shape, attrs] of GEOMETRIES) {
  const n = shape.reduce((a, b) => a * b, 1);
  test(`MaxPool mask gradient matches finite differences: ${name}`, async () => {
    const r = await gradCheck({ op: 'MaxPool', attrs, variants: mask, inputs: [{ shape, data: distinct(n, 3) }] });
    assert.deepEqual(r.grads.get(0)!.dims, shape);
    assert.ok(r.maxError < 1e-3, `error ${r.maxError} fd=${r.fd} analytic=${r.analytic}`);
  });

  test(`MaxPool mask gradient equals the Indices gradient with tied maxima: ${name}`, async () => {
    const x = tied(n, 11);
    const [withIndices, withMask] = [await gradientFor(attrs, shape, x, {}), await gradientFor(attrs, shape, x, mask)];
    assert.deepEqual(withMask.graphOps.includes('ScatterElements'), false);
    assert.deepEqual(withIndices.graphOps.includes('ScatterElements'), true);
    assert.deepEqual(withMask.grad, withIndices.grad);
    assert.ok(withMask.grad.some((v) => v !== 0));
  });
}

/** d(sum seed * MaxPool(x))/dx with integer seeds (sums are exact in float32). */
async function gradientFor(attrs: Record<string, Attribute>, shape: number[], x: number[], variants: RuleVariants) {
  const { graph, feeds } = caseGraph({ op: 'MaxPool', attrs, inputs: [{ shape, data: x }] });
  const outDims = graph.outputs[0]!.shape as number[];
  const shapes = inferShapes(graph, 'case');
  graph.inputs.push({ name: 'seed', dataType: 'float32', shape: outDims });
  const [g] = differentiate(graph, [{ tensor: 'y0', grad: 'seed' }], ['x0'], { shapes, source: 'case', variants });
  graph.outputs = [{ name: g!, dataType: 'float32', shape }];
  const seedData = Float32Array.from({ length: outDims.reduce((a, b) => a * b, 1) }, (_, i) => (i % 7) + 1);
  const out = await runGraph(graph, { ...feeds, seed: { data: seedData, dims: outDims } });
  return { grad: Array.from(out[g!]!.data), graphOps: graph.nodes.map((nd) => nd.opType) };
}

test('demo CNN: the layer gradient through its MaxPools is the same with either variant', async () => {
  const graph = await readOnnxFile(path.join(REPO_ROOT, 'assets/demo/demo-cnn.onnx'));
  const model = Model.prepare(graph, { source: 'demo' });
  assert.ok(model.graph.nodes.some((nd) => nd.opType === 'MaxPool'), 'the demo CNN has MaxPool layers');
  const layer = model.layers[0]!.tensor; // the first conv: every MaxPool lies between it and the score
  const runtime = createNodeRuntime({ threads: 1 });
  const [, c, h, w] = model.inputShape;
  const rand = rng(5);
  // ReLU outputs of a real image are full of zeros: ties in most pooling windows.
  const input = Float32Array.from({ length: 2 * c * h * w }, () => rand(0, 1));
  const targets = Float32Array.from({ length: 2 * model.numClasses }, (_, i) => (i % model.numClasses === 1 ? 1 : 0));
  const grads: Float32Array[] = [];
  for (const variants of [{}, mask]) {
    const built = model.build({ score: 'softmax', wrt: [layer], variants });
    assert.equal(built.graph.nodes.some((nd) => nd.opType === 'ScatterElements'), variants === mask ? false : true);
    const s = await runtime.create(serializeOnnx(built.graph));
    const r = await s.run({ [model.inputName]: { data: input, dims: [2, c, h, w] }, 'rsi/targets': { data: targets, dims: [2, model.numClasses] } }, [built.outputs.gradients[0]!]);
    grads.push(r[built.outputs.gradients[0]!]!.data);
    await s.release();
  }
  let worst = 0, scale = 0;
  for (let i = 0; i < grads[0]!.length; i++) {
    worst = Math.max(worst, Math.abs(grads[0]![i]! - grads[1]![i]!));
    scale = Math.max(scale, Math.abs(grads[0]![i]!));
  }
  assert.ok(scale > 0);
  assert.ok(worst <= 1e-6 * scale, `max difference ${worst} (scale ${scale})`);
});

test('a runtime with variants { maxPoolGradient: mask } gives the classifier the same RSI-Grad-CAM as the default', async () => {
  const { Classifier } = await import('../../../src/classifier.js');
  const { Runtime } = await import('../../../src/engine/runtime/runtime.js');
  const ort = await import('onnxruntime-node');
  const graph = await readOnnxFile(path.join(REPO_ROOT, 'assets/demo/demo-cnn.onnx'));
  const model = Model.prepare(graph, { source: 'demo' });
  const [, c, h, w] = model.inputShape;
  const rand = rng(8);
  const input = Float32Array.from({ length: c * h * w }, () => rand(0, 1));
  const results = [];
  for (const variants of [undefined, mask]) {
    const classifier = new Classifier(model, new Runtime(ort, { threads: 1, variants }), { source: 'demo' });
    const [e] = await classifier.explain([input], { method: 'rsi-grad-cam', baseline: new Float32Array(input.length), steps: 8, layer: model.layers[0]!.tensor });
    results.push(e!);
    await classifier.dispose();
  }
  assert.ok(results[0]!.cam.some((v) => v > 0));
  for (let i = 0; i < results[0]!.cam.length; i++) assert.ok(Math.abs(results[0]!.cam[i]! - results[1]!.cam[i]!) <= 1e-6 * Math.max(...results[0]!.cam));
});
