import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Attribute, TensorData } from '../../../src/engine/graph/types.js';
import { gradCheck, randomArray, rng, type CaseInput } from '../../helpers/grad-check.js';
import { backward, buildGraph, checkGraph, tensor } from './graph-grad.js';

const i = (value: number): Attribute => ({ type: 'int', value });
const ints = (value: number[]): Attribute => ({ type: 'ints', value });
const int64 = (data: number[]): CaseInput => ({ shape: [data.length], data, constant: true, dataType: 'int64' });
const i64 = (data: number[]): TensorData => ({ dataType: 'int64', dims: [data.length], data: BigInt64Array.from(data.map(BigInt)) });
const X = { shape: [2, 3, 4] };
/** Distinct values 0.1 apart in shuffled order, so a central difference never changes the arg max. */
const spaced = (() => {
  const r = rng(21);
  const v = Array.from({ length: 24 }, (_, k) => k * 0.1 - 1.2);
  for (let k = v.length - 1; k > 0; k--) {
    const j = Math.floor(r(0, 1) * (k + 1));
    [v[k], v[j]] = [v[j]!, v[k]!];
  }
  return v;
})();
const XS = { shape: [2, 3, 4], data: spaced };

async function check(op: string, inputs: (CaseInput | null)[], attrs: Record<string, Attribute> = {}) {
  const r = await gradCheck({ op, inputs, attrs });
  assert.ok(r.maxError < 1e-3, `${op} ${JSON.stringify(attrs)}: error ${r.maxError} fd=${r.fd} analytic=${r.analytic}`);
  assert.deepEqual(r.grads.get(0)!.dims, inputs[0]!.shape);
}

test('ReduceSum (axes input, keepdims 0/1, negative axes, all axes, noop) matches finite differences', async () => {
  for (const keepdims of [0, 1]) {
    await check('ReduceSum', [X, int64([1])], { keepdims: i(keepdims) });
    await check('ReduceSum', [X, int64([-1, 0])], { keepdims: i(keepdims) });
    await check('ReduceSum', [X], { keepdims: i(keepdims) });
  }
  await check('ReduceSum', [X, int64([])], { noop_with_empty_axes: i(1) });
});

test('ReduceMean (axes attribute at opset 17, keepdims 0/1, negative axes, all axes) matches finite differences', async () => {
  for (const keepdims of [0, 1]) {
    await check('ReduceMean', [X], { axes: ints([2]), keepdims: i(keepdims) });
    await check('ReduceMean', [X], { axes: ints([-3, -1]), keepdims: i(keepdims) });
    await check('ReduceMean', [X], { keepdims: i(keepdims) });
  }
});

test('ReduceMean with axes as an input (opset 18) matches finite differences', async () => {
  const r = await gradCheck({ op: 'ReduceMean', opset: 18, inputs: [X, int64([0, 2])], attrs: { keepdims: i(0) } });
  assert.ok(r.maxError < 1e-3, `error ${r.maxError}`);
});

test('ReduceMax and ReduceMin (distinct values) match finite differences', async () => {
  for (const op of ['ReduceMax', 'ReduceMin']) {
    for (const keepdims of [0, 1]) {
      await check(op, [XS], { axes: ints([1]), keepdims: i(keepdims) });
      await check(op, [XS], { axes: ints([-1, 0]), keepdims: i(keepdims) });
      await check(op, [XS], { keepdims: i(keepdims) });
    }
  }
});

test('ReduceMax sends the gradient to the maximum, shared evenly between ties', async () => {
  const graph = buildGraph({
    inputs: { x: [2, 4] },
    nodes: [{ op: 'ReduceMax', inputs: ['x'], outputs: ['y'], attrs: { axes: ints([1]), keepdims: i(0) } }],
    outputs: ['y'],
  });
  const [g] = await backward(graph, { x: tensor([1, 5, 2, 5, 0, -1, 3, -2], [2, 4]) }, { y: tensor([4, 6], [2]) }, ['x']);
  assert.deepEqual(Array.from(g!), [0, 2, 0, 2, 0, 0, 6, 0]);
});

test('ReduceMean over a symbolic batch axis divides by the run-time count', async () => {
  const graph = buildGraph({
    inputs: { x: ['N', 3] },
    nodes: [{ op: 'ReduceMean', inputs: ['x'], outputs: ['y'], attrs: { axes: ints([0]), keepdims: i(1) } }],
    outputs: ['y'],
  });
  const rand = rng(3);
  const seed = randomArray(3, rand);
  const r = await checkGraph(graph, { x: tensor(randomArray(12, rand), [4, 3]) }, { y: tensor(seed, [1, 3]) });
  assert.ok(r.maxError < 1e-3, `error ${r.maxError}`);
  r.grads[0]!.forEach((v, k) => assert.ok(Math.abs(v - seed[k % 3]! / 4) < 1e-6));
});

test('ReduceSum with keepdims 0 over all axes of a symbolic-batch tensor gives the seed everywhere', async () => {
  const graph = buildGraph({
    inputs: { x: ['N', 2] },
    consts: { axes: i64([0, 1]) },
    nodes: [{ op: 'ReduceSum', inputs: ['x', 'axes'], outputs: ['y'], attrs: { keepdims: i(0) } }],
    outputs: ['y'],
  });
  const [g] = await backward(graph, { x: tensor([1, 2, 3, 4, 5, 6], [3, 2]) }, { y: tensor([2.5], []) }, ['x']);
  assert.deepEqual(Array.from(g!), [2.5, 2.5, 2.5, 2.5, 2.5, 2.5]);
});
