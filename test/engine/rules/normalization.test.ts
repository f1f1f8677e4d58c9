import { test } from 'node:test';
import assert from 'node:assert/strict';
import { A } from '../../../src/engine/graph/attributes.js';
import { UnsupportedOperatorError } from '../../../src/errors.js';
import { gradCheck, randomArray, rng, type GradCheckResult } from '../../helpers/grad-check.js';
import { backward, buildGraph, checkGraph, tensor } from './graph-grad.js';

function assertClose(r: GradCheckResult, inputShape: number[]): void {
  assert.deepEqual(r.grads.get(0)!.dims, inputShape);
  assert.ok(r.maxError < 1e-3, `error ${r.maxError} fd=${r.fd} analytic=${r.analytic}`);
}

const C = 3;
const params = (extra: object = {}) => [
  { shape: [C], data: [0.5, -1.5, 2], ...extra },
  { shape: [C], data: [0.1, 0.2, -0.3], ...extra },
  { shape: [C], data: [0.3, -0.2, 0.05], ...extra },
  // Small variances make the per-channel factor large, so a wrong factor cannot hide.
  { shape: [C], data: [0.04, 1.5, 0.2], ...extra },
];

test('BatchNormalization gradient (constant statistics, 4-D and 2-D inputs)', async () => {
  for (const shape of [[2, C, 4, 3], [5, C]]) {
    const r = await gradCheck({ op: 'BatchNormalization', attrs: { epsilon: A.float(1e-3) }, inputs: [{ shape }, ...params({ constant: true })] });
    assertClose(r, shape);
  }
});

test('BatchNormalization gradient with statistics fed at run time', async () => {
  const shape = [2, C, 3, 3];
  const r = await gradCheck({ op: 'BatchNormalization', inputs: [{ shape }, ...params({ noGrad: true })] });
  assertClose(r, shape);
});

test('BatchNormalization refuses training mode and parameter gradients', async () => {
  await assert.rejects(
    gradCheck({ op: 'BatchNormalization', attrs: { training_mode: A.int(1) }, inputs: [{ shape: [2, C, 2, 2] }, ...params({ constant: true })] }),
    UnsupportedOperatorError,
  );
  const [scale, ...rest] = params({ constant: true });
  await assert.rejects(
    gradCheck({ op: 'BatchNormalization', inputs: [{ shape: [2, C, 2, 2] }, { shape: scale!.shape, data: scale!.data }, ...rest] }),
    UnsupportedOperatorError,
  );
});

test('InstanceNormalization gradient', async () => {
  const shape = [2, C, 4, 5];
  const r = await gradCheck({
    op: 'InstanceNormalization',
    attrs: { epsilon: A.float(1e-3) },
    inputs: [{ shape }, { shape: [C], data: [0.5, -1.5, 2], constant: true }, { shape: [C], data: [0.1, 0.2, -0.3], constant: true }],
  });
  assertClose(r, shape);
});

test('InstanceNormalization gradient at opset 18 (ReduceMean axes as an input)', async () => {
  const shape = [1, C, 6];
  const r = await gradCheck({
    op: 'InstanceNormalization',
    opset: 18,
    inputs: [{ shape }, { shape: [C], data: [1.2, -0.7, 0.4], constant: true }, { shape: [C], data: [0, 0, 1], constant: true }],
  });
  assertClose(r, shape);
});

test('LayerNormalization gradient over the last axis and over the last two axes (ConvNeXt, transformers)', async () => {
  const shape = [2, 3, 4, 5];
  const last = await gradCheck({
    op: 'LayerNormalization',
    attrs: { epsilon: A.float(1e-3) },
    inputs: [{ shape }, { shape: [5], data: [0.5, -1.5, 2, 1, 0.3], constant: true }, { shape: [5], data: [0.1, 0.2, -0.3, 0, 1], constant: true }],
  }, { eps: 2e-3 }); // rows of 5 values have small variances: a smaller step keeps the difference quotient accurate
  assertClose(last, shape);
  const two = await gradCheck({
    op: 'LayerNormalization',
    attrs: { axis: A.int(-2) },
    inputs: [{ shape }, { shape: [4, 5], constant: true }, null],
  });
  assertClose(two, shape);
});

test("LayerNorm in torch's decomposed form (ReduceMean, Sub, Pow, ReduceMean, Add, Sqrt, Div, Mul, Add: opset < 17) matches finite differences", async () => {
  const rand = rng(21);
  const f32 = (data: ArrayLike<number>, dims: number[]) => ({ dataType: 'float32' as const, dims, data: Float32Array.from(data) });
  const graph = buildGraph({
    inputs: { x: ['N', 5, 6] },
    consts: {
      two: f32([2], []),
      eps: f32([1e-6], []),
      gamma: f32(randomArray(6, rand, 0.5, 1.5), [6]),
      beta: f32(randomArray(6, rand), [6]),
    },
    nodes: [
      { op: 'ReduceMean', inputs: ['x'], outputs: ['mean'], attrs: { axes: { type: 'ints', value: [-1] } } },
      { op: 'Sub', inputs: ['x', 'mean'], outputs: ['d'] },
      { op: 'Pow', inputs: ['d', 'two'], outputs: ['d2'] },
      { op: 'ReduceMean', inputs: ['d2'], outputs: ['var'], attrs: { axes: { type: 'ints', value: [-1] } } },
      { op: 'Add', inputs: ['var', 'eps'], outputs: ['ve'] },
      { op: 'Sqrt', inputs: ['ve'], outputs: ['std'] },
      { op: 'Div', inputs: ['d', 'std'], outputs: ['xhat'] },
      { op: 'Mul', inputs: ['xhat', 'gamma'], outputs: ['s'] },
      { op: 'Add', inputs: ['s', 'beta'], outputs: ['y'] },
    ],
    outputs: ['y'],
    opset: 14,
  });
  const x = randomArray(60, rand, -2, 2);
  const seed = randomArray(60, rand);
  const r = await checkGraph(graph, { x: tensor(x, [2, 5, 6]) }, { y: tensor(seed, [2, 5, 6]) });
  assert.ok(r.maxError < 1e-3, `error ${r.maxError}`);
  // The same gradient as the fused LayerNormalization node.
  const fused = buildGraph({
    inputs: { x: ['N', 5, 6] },
    consts: { gamma: graph.initializers.get('gamma')!, beta: graph.initializers.get('beta')! },
    nodes: [{ op: 'LayerNormalization', inputs: ['x', 'gamma', 'beta'], outputs: ['y'], attrs: { axis: { type: 'int', value: -1 }, epsilon: { type: 'float', value: 1e-6 } } }],
    outputs: ['y'],
  });
  const [g] = await backward(fused, { x: tensor(x, [2, 5, 6]) }, { y: tensor(seed, [2, 5, 6]) }, ['x']);
  g!.forEach((v, k) => assert.ok(Math.abs(v - r.grads[0]![k]!) < 1e-4, `element ${k}: ${v} vs ${r.grads[0]![k]}`));
});
