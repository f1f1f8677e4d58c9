import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Attribute } from '../../../src/engine/graph/types.js';
import { gradCheck, randomArray, rng } from '../../helpers/grad-check.js';
import { backward, buildGraph, checkGraph, tensor } from './graph-grad.js';

const i = (value: number): Attribute => ({ type: 'int', value });
const f = (value: number): Attribute => ({ type: 'float', value });

// M = 3, K = 4, N = 5.
for (const tA of [0, 1]) {
  for (const tB of [0, 1]) {
    for (const cShape of [[5], [3, 1], [], [3, 5]]) {
      test(`Gemm transA=${tA} transB=${tB} with C [${cShape}] matches finite differences for A, B and C`, async () => {
        const r = await gradCheck({
          op: 'Gemm',
          attrs: { transA: i(tA), transB: i(tB), alpha: f(0.7), beta: f(1.5) },
          inputs: [{ shape: tA ? [4, 3] : [3, 4] }, { shape: tB ? [5, 4] : [4, 5] }, { shape: cShape }],
        });
        assert.ok(r.maxError < 1e-3, `error ${r.maxError} fd=${r.fd} analytic=${r.analytic}`);
        assert.deepEqual(r.grads.get(2)!.dims, cShape);
      });
    }
  }
}

test('Gemm without C and with a constant weight differentiates A only', async () => {
  const r = await gradCheck({ op: 'Gemm', attrs: { transB: i(1) }, inputs: [{ shape: [2, 4] }, { shape: [3, 4], constant: true }] });
  assert.ok(r.maxError < 1e-3, `error ${r.maxError}`);
  assert.deepEqual([...r.grads.keys()], [0]);
});

test('Gemm gradient of A equals G @ B^T computed by hand', async () => {
  const graph = buildGraph({ inputs: { a: [2, 3], b: [3, 2] }, nodes: [{ op: 'Gemm', inputs: ['a', 'b'], outputs: ['y'] }], outputs: ['y'] });
  const b = [1, 2, 3, 4, 5, 6];
  const seed = [1, -1, 2, 0.5];
  const [ga] = await backward(graph, { a: tensor([0, 0, 0, 0, 0, 0], [2, 3]), b: tensor(b, [3, 2]) }, { y: tensor(seed, [2, 2]) }, ['a']);
  // (G @ B^T)[m][k] = sum_n G[m][n] B[k][n]
  const expected: number[] = [];
  for (let m = 0; m < 2; m++) for (let k = 0; k < 3; k++) expected.push(seed[m * 2]! * b[k * 2]! + seed[m * 2 + 1]! * b[k * 2 + 1]!);
  assert.deepEqual(Array.from(ga!), expected);
});

const matmuls: [number[], number[]][] = [
  [[3, 4], [4, 5]],
  [[2, 3, 4], [2, 4, 5]],
  [[2, 1, 3, 4], [3, 4, 2]],
  [[2, 3, 4], [4, 5]],
  [[4, 5], [2, 5, 3]],
  [[4], [4, 5]],
  [[2, 3, 4], [4]],
  [[4], [2, 4, 3]],
  [[4], [4]],
];
for (const [sa, sb] of matmuls) {
  test(`MatMul [${sa}] @ [${sb}] matches finite differences for both inputs`, async () => {
    const r = await gradCheck({ op: 'MatMul', inputs: [{ shape: sa }, { shape: sb }] });
    assert.ok(r.maxError < 1e-3, `error ${r.maxError} fd=${r.fd} analytic=${r.analytic}`);
    assert.deepEqual(r.grads.get(0)!.dims, sa);
    assert.deepEqual(r.grads.get(1)!.dims, sb);
  });
}

test('MatMul of a symbolic-batch activation [N, S, K] by a weight [K, M]', async () => {
  const graph = buildGraph({ inputs: { x: ['N', 3, 4], w: [4, 2] }, nodes: [{ op: 'MatMul', inputs: ['x', 'w'], outputs: ['y'] }], outputs: ['y'] });
  const rand = rng(6);
  const feeds = { x: tensor(randomArray(24, rand), [2, 3, 4]), w: tensor(randomArray(8, rand), [4, 2]) };
  const r = await checkGraph(graph, feeds, { y: tensor(randomArray(12, rand), [2, 3, 2]) });
  assert.ok(r.maxError < 1e-3, `error ${r.maxError}`);
  assert.equal(r.grads[1]!.length, 8);
});

test('self-attention as exporters write it (Split of qkv, heads by Reshape + Transpose, batched MatMuls, Softmax on the last axis) matches finite differences', async () => {
  // x [N, S=4, 3 * D] with D = 6, 2 heads of 3.
  const i64 = (data: number[]) => ({ dataType: 'int64' as const, dims: [data.length], data: BigInt64Array.from(data.map(BigInt)) });
  const graph = buildGraph({
    inputs: { x: ['N', 4, 18] },
    consts: { split: i64([6, 6, 6]), heads: i64([0, 4, 2, 3]), merged: i64([0, 4, 6]) },
    nodes: [
      { op: 'Split', inputs: ['x', 'split'], outputs: ['q', 'k', 'v'], attrs: { axis: { type: 'int', value: -1 } } },
      { op: 'Reshape', inputs: ['q', 'heads'], outputs: ['qh'] },
      { op: 'Reshape', inputs: ['k', 'heads'], outputs: ['kh'] },
      { op: 'Reshape', inputs: ['v', 'heads'], outputs: ['vh'] },
      { op: 'Transpose', inputs: ['qh'], outputs: ['qt'], attrs: { perm: { type: 'ints', value: [0, 2, 1, 3] } } },
      { op: 'Transpose', inputs: ['kh'], outputs: ['kt'], attrs: { perm: { type: 'ints', value: [0, 2, 3, 1] } } },
      { op: 'Transpose', inputs: ['vh'], outputs: ['vt'], attrs: { perm: { type: 'ints', value: [0, 2, 1, 3] } } },
      { op: 'MatMul', inputs: ['qt', 'kt'], outputs: ['scores'] },
      { op: 'Softmax', inputs: ['scores'], outputs: ['attn'], attrs: { axis: { type: 'int', value: -1 } } },
      { op: 'MatMul', inputs: ['attn', 'vt'], outputs: ['o'] },
      { op: 'Transpose', inputs: ['o'], outputs: ['ot'], attrs: { perm: { type: 'ints', value: [0, 2, 1, 3] } } },
      { op: 'Reshape', inputs: ['ot', 'merged'], outputs: ['y'] },
    ],
    outputs: ['y'],
  });
  const rand = rng(12);
  const r = await checkGraph(graph, { x: tensor(randomArray(2 * 4 * 18, rand), [2, 4, 18]) }, { y: tensor(randomArray(2 * 4 * 6, rand), [2, 4, 6]) });
  assert.ok(r.maxError < 1e-3, `error ${r.maxError}`);
});
