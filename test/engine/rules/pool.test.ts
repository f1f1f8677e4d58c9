import { test } from 'node:test';
import assert from 'node:assert/strict';
import { differentiate } from '../../../src/engine/autodiff/differentiate.js';
import { A } from '../../../src/engine/graph/attributes.js';
import { inferShapes } from '../../../src/engine/graph/shape-inference.js';
import type { Attribute } from '../../../src/engine/graph/types.js';
import { UnsupportedOperatorError } from '../../../src/errors.js';
import { caseGraph, gradCheck, rng, runGraph, type GradCheckResult } from '../../helpers/grad-check.js';

function assertClose(r: GradCheckResult, inputShape: number[]): void {
  assert.deepEqual(r.grads.get(0)!.dims, inputShape);
  assert.ok(r.maxError < 1e-3, `error ${r.maxError} fd=${r.fd} analytic=${r.analytic}`);
}

/** Distinct values 0.05 apart in random order, so no max changes under a 1e-2 perturbation. */
function distinct(shape: number[], seed: number): number[] {
  const n = shape.reduce((a, b) => a * b, 1);
  const rand = rng(seed);
  const v = Array.from({ length: n }, (_, i) => i * 0.05 - n * 0.025);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(rand(0, 1) * (i + 1));
    [v[i], v[j]] = [v[j]!, v[i]!];
  }
  return v;
}

async function checkPool(op: string, x: number[], attrs: Record<string, Attribute>, opset = 17) {
  const data = op.includes('Max') ? distinct(x, 3) : undefined;
  const r = await gradCheck({ op, attrs, opset, inputs: [{ shape: x, data }] });
  assertClose(r, x);
}

/** The gradient of input 0 for a given output gradient (seed). */
async function gradientFor(op: string, attrs: Record<string, Attribute>, shape: number[], x: number[], seed: number[], symbolicBatch = false) {
  const { graph, feeds } = caseGraph({ op, attrs, inputs: [{ shape, data: x }] });
  const outDims = graph.outputs[0]!.shape as number[];
  if (symbolicBatch) graph.inputs[0]!.shape = ['N', ...shape.slice(1)];
  const shapes = inferShapes(graph, 'case');
  graph.inputs.push({ name: 'seed', dataType: 'float32', shape: outDims });
  const [g] = differentiate(graph, [{ tensor: 'y0', grad: 'seed' }], ['x0'], { shapes, source: 'case' });
  graph.outputs = [{ name: g!, dataType: 'float32', shape }];
  const out = await runGraph(graph, { ...feeds, seed: { data: Float32Array.from(seed), dims: outDims } });
  return Array.from(out[g!]!.data);
}

const k3s2 = { kernel_shape: A.ints([3, 3]), strides: A.ints([2, 2]) };

test('MaxPool: one element that is the max of two overlapping windows gets both gradients', async () => {
  // 3x5 input, windows over columns 0-2 and 2-4; x[1][2] = 9 is the max of both.
  const x = [1, 2, 3, 4, 5, 6, 7, 9, 8, 0, 0.5, 1.5, 2.5, 3.5, 4.5];
  const g = await gradientFor('MaxPool', k3s2, [1, 1, 3, 5], x, [10, 100]);
  const expected = new Array(15).fill(0);
  expected[7] = 110;
  assert.deepEqual(g, expected);
});

test('MaxPool: the centre of a 5x5 input is the max of all four windows; others get theirs', async () => {
  const x = Array.from({ length: 25 }, (_, i) => i / 10);
  x[12] = 100; // centre, in all four 3x3 windows
  const g = await gradientFor('MaxPool', k3s2, [1, 1, 5, 5], x, [1, 2, 3, 4]);
  const expected = new Array(25).fill(0);
  expected[12] = 10;
  assert.deepEqual(g, expected);
  // Without the shared maximum each window's max is its bottom-right corner.
  const y = Array.from({ length: 25 }, (_, i) => i / 10);
  const h = await gradientFor('MaxPool', k3s2, [1, 1, 5, 5], y, [1, 2, 3, 4]);
  const e2 = new Array(25).fill(0);
  [e2[12], e2[14], e2[22], e2[24]] = [1, 2, 3, 4];
  assert.deepEqual(h, e2);
});

test('MaxPool indices include the batch and channel offsets (N=2, C=3)', async () => {
  const shape = [2, 3, 4, 4];
  const x = distinct(shape, 5);
  const attrs = { kernel_shape: A.ints([2, 2]), strides: A.ints([2, 2]) };
  const seed = Array.from({ length: 2 * 3 * 4 }, (_, i) => i + 1);
  const g = await gradientFor('MaxPool', attrs, shape, x, seed);
  // Oracle: the arg-max of each window, found here in plain JS.
  const expected = new Array(x.length).fill(0);
  let o = 0;
  for (let nc = 0; nc < 6; nc++) {
    for (let oh = 0; oh < 2; oh++) {
      for (let ow = 0; ow < 2; ow++) {
        let best = -1;
        for (let i = 0; i < 2; i++) for (let j = 0; j < 2; j++) {
          const idx = nc * 16 + (oh * 2 + i) * 4 + ow * 2 + j;
          if (best < 0 || x[idx]! > x[best]!) best = idx;
        }
        expected[best] += seed[o++]!;
      }
    }
  }
  assert.deepEqual(g, expected);
});

test('MaxPool gradient: kernel 3 stride 2 with pads', async () => {
  await checkPool('MaxPool', [2, 3, 7, 6], { ...k3s2, pads: A.ints([1, 1, 1, 1]) });
});

test('MaxPool gradient: ceil_mode, asymmetric pads', async () => {
  await checkPool('MaxPool', [1, 2, 6, 7], { ...k3s2, ceil_mode: A.int(1), pads: A.ints([0, 1, 1, 0]) });
});

test('MaxPool gradient: dilations', async () => {
  await checkPool('MaxPool', [1, 2, 8, 7], { kernel_shape: A.ints([2, 3]), dilations: A.ints([2, 1]), pads: A.ints([1, 0, 0, 1]), strides: A.ints([2, 2]) });
});

// (onnxruntime sizes SAME padding of dilated pools from the undilated kernel, unlike the
// ONNX spec and our shape inference, so auto_pad is tested without dilations.)
test('MaxPool gradient: auto_pad SAME_UPPER and SAME_LOWER', async () => {
  for (const autoPad of ['SAME_UPPER', 'SAME_LOWER']) {
    await checkPool('MaxPool', [1, 2, 8, 7], { kernel_shape: A.ints([2, 3]), auto_pad: A.string(autoPad), strides: A.ints([2, 2]) });
  }
});

test('MaxPool gradient when the model already outputs Indices', async () => {
  const shape = [2, 2, 4, 5];
  const r = await gradCheck({ op: 'MaxPool', attrs: k3s2, outputs: 2, inputs: [{ shape, data: distinct(shape, 9) }] });
  assertClose(r, shape);
});

test('MaxPool with storage_order=1 is refused', async () => {
  await assert.rejects(
    gradCheck({ op: 'MaxPool', attrs: { ...k3s2, storage_order: A.int(1) }, inputs: [{ shape: [1, 1, 5, 5] }] }),
    UnsupportedOperatorError,
  );
});

test('AveragePool gradient: 2x2 stride 2', async () => {
  await checkPool('AveragePool', [2, 3, 6, 6], { kernel_shape: A.ints([2, 2]), strides: A.ints([2, 2]) });
});

for (const includePad of [0, 1]) {
  test(`AveragePool gradient: kernel 3 stride 2, pads, count_include_pad=${includePad}`, async () => {
    await checkPool('AveragePool', [1, 2, 7, 8], { ...k3s2, pads: A.ints([1, 1, 1, 1]), count_include_pad: A.int(includePad) });
  });
  test(`AveragePool gradient: ceil_mode, asymmetric pads, count_include_pad=${includePad}`, async () => {
    await checkPool('AveragePool', [1, 2, 6, 7], { ...k3s2, ceil_mode: A.int(1), pads: A.ints([1, 0, 0, 1]), count_include_pad: A.int(includePad) });
  });
  test(`AveragePool gradient: dilations (opset 19), count_include_pad=${includePad}`, async () => {
    const attrs = { kernel_shape: A.ints([2, 3]), dilations: A.ints([2, 2]), pads: A.ints([1, 2, 1, 1]), count_include_pad: A.int(includePad) };
    await checkPool('AveragePool', [1, 2, 7, 8], attrs, 19);
  });
}

for (const autoPad of ['SAME_UPPER', 'SAME_LOWER']) {
  test(`AveragePool gradient: auto_pad ${autoPad}`, async () => {
    await checkPool('AveragePool', [1, 3, 7, 6], { kernel_shape: A.ints([2, 3]), strides: A.ints([2, 2]), auto_pad: A.string(autoPad) });
  });
}

test('AveragePool gradient: 1-D', async () => {
  await checkPool('AveragePool', [2, 2, 9], { kernel_shape: A.ints([3]), strides: A.ints([2]), pads: A.ints([1, 0]) });
});

test('GlobalAveragePool gradient', async () => {
  await checkPool('GlobalAveragePool', [2, 3, 4, 5], {});
});

test('GlobalMaxPool gradient', async () => {
  await checkPool('GlobalMaxPool', [2, 3, 4, 5], {});
});

test('Pools with auto_pad SAME and dilations are refused (onnxruntime departs from the spec there)', async () => {
  const attrs = { kernel_shape: A.ints([2, 2]), auto_pad: A.string('SAME_UPPER'), dilations: A.ints([2, 2]) };
  await assert.rejects(gradCheck({ op: 'AveragePool', opset: 19, attrs, inputs: [{ shape: [1, 1, 6, 6] }] }), UnsupportedOperatorError);
});

test('MaxPool and AveragePool gradients work with a symbolic batch dimension', async () => {
  const shape = [3, 2, 5, 6];
  const x = distinct(shape, 13);
  const seed = Array.from({ length: 3 * 2 * 2 * 3 }, (_, i) => (i % 7) - 3);
  for (const op of ['MaxPool', 'AveragePool']) {
    const attrs = { ...k3s2, pads: A.ints([1, 1, 0, 1]) };
    assert.deepEqual(await gradientFor(op, attrs, shape, x, seed, true), await gradientFor(op, attrs, shape, x, seed));
  }
});
