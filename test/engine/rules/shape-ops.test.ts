import { test } from 'node:test';
import assert from 'node:assert/strict';
import { UnsupportedOperatorError } from '../../../src/errors.js';
import type { Attribute, TensorData } from '../../../src/engine/graph/types.js';
import { gradCheck, randomArray, rng, type CaseInput } from '../../helpers/grad-check.js';
import { backward, buildGraph, checkGraph, tensor } from './graph-grad.js';

const i = (value: number): Attribute => ({ type: 'int', value });
const ints = (value: number[]): Attribute => ({ type: 'ints', value });
const int64 = (data: number[], shape = [data.length]): CaseInput => ({ shape, data, constant: true, dataType: 'int64' });
const i64 = (data: number[], dims = [data.length]): TensorData => ({ dataType: 'int64', dims, data: BigInt64Array.from(data.map(BigInt)) });
/** Stands in for ONNX's "to the end" INT64_MAX (2^53 keeps the number exact). */
const INT_MAX = 2 ** 53;

async function check(op: string, inputs: (CaseInput | null)[], attrs?: Record<string, Attribute>, extra: { outputs?: number; seededOutputs?: number[] } = {}) {
  const r = await gradCheck({ op, inputs, attrs, ...extra });
  assert.ok(r.maxError < 1e-3, `${op}: error ${r.maxError} fd=${r.fd} analytic=${r.analytic}`);
  assert.deepEqual(r.grads.get(0)!.dims, inputs[0]!.shape);
  // Guards against a vacuous pass (an empty output has an all-zero gradient).
  assert.ok(r.grads.get(0)!.data.some((v) => v !== 0), `${op}: the gradient is all zero`);
  return r;
}

test('Flatten (axis 2 and default) matches finite differences', async () => {
  await check('Flatten', [{ shape: [2, 3, 2, 2] }], { axis: i(2) });
  await check('Flatten', [{ shape: [2, 3, 2, 2] }]);
});

test('Reshape with a constant shape (0 and -1 entries) matches finite differences', async () => {
  await check('Reshape', [{ shape: [2, 3, 4] }, int64([0, -1, 2])]);
});

test('Squeeze and Unsqueeze with axes inputs match finite differences', async () => {
  await check('Squeeze', [{ shape: [2, 1, 3, 1] }, int64([1, -1])]);
  await check('Unsqueeze', [{ shape: [2, 3] }, int64([0, 3])]);
});

test('Transpose (explicit and default permutation) matches finite differences', async () => {
  await check('Transpose', [{ shape: [2, 3, 4, 5] }], { perm: ints([0, 2, 3, 1]) });
  await check('Transpose', [{ shape: [2, 3, 4] }]);
});

test('Transpose gradient is the inverse permutation of the seed', async () => {
  const graph = buildGraph({ inputs: { x: [2, 3] }, nodes: [{ op: 'Transpose', inputs: ['x'], outputs: ['y'], attrs: { perm: ints([1, 0]) } }], outputs: ['y'] });
  const seed = [1, 2, 3, 4, 5, 6]; // [3, 2]
  const [g] = await backward(graph, { x: tensor([0, 0, 0, 0, 0, 0], [2, 3]) }, { y: tensor(seed, [3, 2]) }, ['x']);
  assert.deepEqual(Array.from(g!), [1, 3, 5, 2, 4, 6]);
});

test('Concat of three inputs (axis 1 and axis -1) matches finite differences', async () => {
  const r = await check('Concat', [{ shape: [2, 1, 3] }, { shape: [2, 4, 3] }, { shape: [2, 2, 3] }], { axis: i(1) });
  assert.deepEqual(r.grads.get(1)!.dims, [2, 4, 3]);
  await check('Concat', [{ shape: [2, 3] }, { shape: [2, 1] }], { axis: i(-1) });
});

test('Concat along a symbolic batch axis slices the gradient at run-time offsets', async () => {
  const graph = buildGraph({
    inputs: { a: ['N', 3], b: ['M', 3] },
    nodes: [
      { op: 'Concat', inputs: ['a', 'b', 'a'], outputs: ['c'], attrs: { axis: i(0) } },
      { op: 'Tanh', inputs: ['c'], outputs: ['y'] },
    ],
    outputs: ['y'],
  });
  const rand = rng(2);
  const feeds = { a: tensor(randomArray(6, rand), [2, 3]), b: tensor(randomArray(3, rand), [1, 3]) };
  const r = await checkGraph(graph, feeds, { y: tensor(randomArray(15, rand), [5, 3]) });
  assert.ok(r.maxError < 1e-3, `error ${r.maxError}`);
});

test('Split with split sizes matches finite differences', async () => {
  await check('Split', [{ shape: [2, 6] }, int64([1, 3, 2])], { axis: i(1) }, { outputs: 3 });
  await check('Split', [{ shape: [4, 3] }], {}, { outputs: 2 });
});

test('Split with only one output used gives zeros for the others', async () => {
  const r = await check('Split', [{ shape: [2, 5] }, int64([2, 3])], { axis: i(1) }, { outputs: 2, seededOutputs: [1] });
  const g = r.grads.get(0)!.data;
  for (const row of [0, 1]) for (const col of [0, 1]) assert.equal(g[row * 5 + col], 0);
  assert.ok([2, 3, 4].some((col) => g[col] !== 0));
});

test('Slice with constant starts / ends / axes (negative start, INT_MAX end) matches finite differences', async () => {
  await check('Slice', [{ shape: [3, 4, 5] }, int64([1, -3]), int64([3, INT_MAX]), int64([1, 2])]);
  await check('Slice', [{ shape: [4, 6] }, int64([1]), int64([-1]), null, int64([1])]);
});

test('Slice gradient is the seed padded with zeros', async () => {
  const graph = buildGraph({
    inputs: { x: [5] },
    consts: { s: i64([1]), e: i64([3]) },
    nodes: [{ op: 'Slice', inputs: ['x', 's', 'e'], outputs: ['y'] }],
    outputs: ['y'],
  });
  const [g] = await backward(graph, { x: tensor([1, 2, 3, 4, 5], [5]) }, { y: tensor([7, 8], [2]) }, ['x']);
  assert.deepEqual(Array.from(g!), [0, 7, 8, 0, 0]);
});

test('Slice with a negative step fails clearly', async () => {
  await assert.rejects(
    gradCheck({ op: 'Slice', inputs: [{ shape: [6] }, int64([5]), int64([-INT_MAX]), int64([0]), int64([-2])] }),
    (e: Error) => e instanceof UnsupportedOperatorError && /step -2/.test(e.message),
  );
});

test("Slice with steps (Swin's patch merging x[..., 0::2, 1::2, :], odd sizes, crops) matches finite differences", async () => {
  for (const [h0, w0] of [[0, 0], [1, 0], [0, 1], [1, 1]]) {
    await check('Slice', [{ shape: [2, 5, 6, 3] }, int64([h0, w0]), int64([INT_MAX, INT_MAX]), int64([1, 2]), int64([2, 2])]);
  }
  await check('Slice', [{ shape: [7, 4] }, int64([1]), int64([6]), int64([0]), int64([3])]);
  await check('Slice', [{ shape: [2, 9] }, int64([-8, 0]), int64([8, 1]), int64([1, 0]), int64([4, 1])]);
});

test('Slice with step 2 gives the seed at every other position, zeros between', async () => {
  const graph = buildGraph({
    inputs: { x: [2, 5] },
    consts: { s: i64([1]), e: i64([5]), a: i64([1]), k: i64([2]) },
    nodes: [{ op: 'Slice', inputs: ['x', 's', 'e', 'a', 'k'], outputs: ['y'] }],
    outputs: ['y'],
  });
  const [g] = await backward(graph, { x: tensor(new Array(10).fill(1), [2, 5]) }, { y: tensor([7, 8, 9, 10], [2, 2]) }, ['x']);
  assert.deepEqual(Array.from(g!), [0, 7, 0, 8, 0, 0, 9, 0, 10, 0]);
});

test('Slice with a step on a symbolic batch-first tensor (the batch copied through the reshape)', async () => {
  const graph = buildGraph({
    inputs: { x: ['N', 4, 3] },
    consts: { s: i64([1]), e: i64([INT_MAX]), a: i64([1]), k: i64([2]) },
    nodes: [{ op: 'Slice', inputs: ['x', 's', 'e', 'a', 'k'], outputs: ['y'] }],
    outputs: ['y'],
  });
  const rand = rng(9);
  const r = await checkGraph(graph, { x: tensor(randomArray(24, rand), [2, 4, 3]) }, { y: tensor(randomArray(12, rand), [2, 2, 3]) });
  assert.ok(r.maxError < 1e-3, `error ${r.maxError}`);
});

test('Expand matches finite differences and sums over the broadcast axes', async () => {
  await check('Expand', [{ shape: [3, 1] }, int64([2, 3, 4])]);
  const graph = buildGraph({ inputs: { x: [2, 1] }, consts: { s: i64([3, 2, 2]) }, nodes: [{ op: 'Expand', inputs: ['x', 's'], outputs: ['y'] }], outputs: ['y'] });
  const seed = Array.from({ length: 12 }, (_, k) => k);
  const [g] = await backward(graph, { x: tensor([1, 2], [2, 1]) }, { y: tensor(seed, [3, 2, 2]) }, ['x']);
  // y[a][b][c] = x[b][0]: x[b] gets sum over a and c.
  const expected = [0, 1].map((b) => [0, 1, 2].reduce((s, a) => s + seed[a * 4 + b * 2]! + seed[a * 4 + b * 2 + 1]!, 0));
  assert.deepEqual(Array.from(g!), expected);
});

test('Gather with constant indices (scalar, 1-D, 2-D with repeats, negative) matches finite differences', async () => {
  await check('Gather', [{ shape: [2, 4, 3] }, int64([2], [])], { axis: i(1) });
  await check('Gather', [{ shape: [5, 3] }, int64([4, 0, 4])]);
  await check('Gather', [{ shape: [2, 3, 4] }, int64([1, -1, 0, 1], [2, 2])], { axis: i(2) });
  await check('Gather', [{ shape: [2, 3, 4] }, int64([2, 0, 2, 2, 1, 0], [3, 2])], { axis: i(1) });
});

test('Gather with a repeated index adds the gradients', async () => {
  const graph = buildGraph({ inputs: { x: [3] }, consts: { idx: i64([2, 0, 2]) }, nodes: [{ op: 'Gather', inputs: ['x', 'idx'], outputs: ['y'] }], outputs: ['y'] });
  const [g] = await backward(graph, { x: tensor([1, 2, 3], [3]) }, { y: tensor([10, 20, 30], [3]) }, ['x']);
  assert.deepEqual(Array.from(g!), [20, 0, 40]);
});

test('Reshape whose target comes from Shape -> Gather -> Unsqueeze -> Concat differentiates through the data only', async () => {
  // PyTorch's x.view(x.size(0), -1) with a symbolic batch.
  const graph = buildGraph({
    inputs: { x: ['N', 2, 3] },
    consts: { zero: i64([0], []), minus1: i64([-1]), w: { dataType: 'float32', dims: [6, 2], data: randomArray(12, rng(9)) } },
    nodes: [
      { op: 'Relu', inputs: ['x'], outputs: ['r'] },
      { op: 'Shape', inputs: ['r'], outputs: ['shape'] },
      { op: 'Gather', inputs: ['shape', 'zero'], outputs: ['n'], attrs: { axis: i(0) } },
      { op: 'Unsqueeze', inputs: ['n', 'zero'], outputs: ['n1'] },
      { op: 'Concat', inputs: ['n1', 'minus1'], outputs: ['target'], attrs: { axis: i(0) } },
      { op: 'Reshape', inputs: ['r', 'target'], outputs: ['flat'] },
      { op: 'MatMul', inputs: ['flat', 'w'], outputs: ['y'] },
    ],
    outputs: ['y'],
  });
  assert.deepEqual(graph.outputs[0]!.shape, ['N', 2]);
  const rand = rng(12);
  const x = Array.from(randomArray(18, rand)).map((v) => (Math.abs(v) < 0.1 ? v + 0.3 : v));
  const r = await checkGraph(graph, { x: tensor(x, [3, 2, 3]) }, { y: tensor(randomArray(6, rand), [3, 2]) });
  assert.ok(r.maxError < 1e-3, `error ${r.maxError}`);
  assert.equal(r.grads[0]!.length, 18);
});
