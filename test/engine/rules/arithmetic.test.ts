import { test } from 'node:test';
import assert from 'node:assert/strict';
import { UnsupportedOperatorError } from '../../../src/errors.js';
import { gradCheck, randomArray, rng } from '../../helpers/grad-check.js';
import { backward, buildGraph, checkGraph, tensor } from './graph-grad.js';

const positive = (n: number, seed: number) => randomArray(n, rng(seed), 0.5, 1.5);
const count = (shape: number[]) => shape.reduce((a, b) => a * b, 1);

// Broadcasting in one direction, in both directions at once, and the same shape.
const pairs: [number[], number[]][] = [
  [[2, 3, 4], [3, 1]],
  [[1, 3, 1], [2, 1, 4]],
  [[4], [2, 3, 4]],
  [[2, 3], [2, 3]],
];

for (const op of ['Add', 'Sub', 'Mul', 'Div']) {
  for (const [sa, sb] of pairs) {
    test(`${op} of [${sa}] and [${sb}] matches finite differences for both inputs`, async () => {
      const r = await gradCheck({
        op,
        inputs: [{ shape: sa }, { shape: sb, data: op === 'Div' ? positive(count(sb), 9) : undefined }],
      });
      assert.ok(r.maxError < 1e-3, `error ${r.maxError} fd=${r.fd} analytic=${r.analytic}`);
      assert.deepEqual(r.grads.get(0)!.dims, sa);
      assert.deepEqual(r.grads.get(1)!.dims, sb);
    });
  }
}

test('Add of [2,3,4,5] and a [3,1,1] bias: the bias gradient is the seed summed over N, H, W', async () => {
  const rand = rng(11);
  const graph = buildGraph({ inputs: { x: [2, 3, 4, 5], b: [3, 1, 1] }, nodes: [{ op: 'Add', inputs: ['x', 'b'], outputs: ['y'] }], outputs: ['y'] });
  const seed = randomArray(120, rand);
  const [gx, gb] = await backward(
    graph,
    { x: tensor(randomArray(120, rand), [2, 3, 4, 5]), b: tensor([1, 2, 3], [3, 1, 1]) },
    { y: tensor(seed, [2, 3, 4, 5]) },
    ['x', 'b'],
  );
  assert.deepEqual(Array.from(gx!), Array.from(seed));
  const expected = [0, 0, 0];
  for (let n = 0; n < 2; n++) for (let c = 0; c < 3; c++) for (let k = 0; k < 20; k++) expected[c]! += seed[n * 60 + c * 20 + k]!;
  assert.equal(gb!.length, 3);
  gb!.forEach((v, c) => assert.ok(Math.abs(v - expected[c]!) < 1e-4, `channel ${c}: ${v} vs ${expected[c]}`));
});

test('Mul of a tensor by itself (x * x) gives 2 x g', async () => {
  const graph = buildGraph({ inputs: { x: [6] }, nodes: [{ op: 'Mul', inputs: ['x', 'x'], outputs: ['y'] }], outputs: ['y'] });
  const x = [0.5, -1, 2, 3, -0.25, 0];
  const seed = [1, -2, 0.5, 1, 4, 3];
  const [g] = await backward(graph, { x: tensor(x, [6]) }, { y: tensor(seed, [6]) }, ['x']);
  assert.deepEqual(Array.from(g!), x.map((v, k) => 2 * v * seed[k]!));
});

test('SiLU x * sigmoid(x) (both Mul inputs on the path) matches finite differences', async () => {
  const graph = buildGraph({
    inputs: { x: [2, 5] },
    nodes: [
      { op: 'Sigmoid', inputs: ['x'], outputs: ['s'] },
      { op: 'Mul', inputs: ['x', 's'], outputs: ['y'] },
    ],
    outputs: ['y'],
  });
  const rand = rng(4);
  const x = randomArray(10, rand, -3, 3);
  const seed = randomArray(10, rand);
  const r = await checkGraph(graph, { x: tensor(x, [2, 5]) }, { y: tensor(seed, [2, 5]) });
  assert.ok(r.maxError < 1e-3, `error ${r.maxError}`);
  // Independent closed form: d/dx x s(x) = s + x s (1 - s).
  r.grads[0]!.forEach((g, k) => {
    const s = 1 / (1 + Math.exp(-x[k]!));
    assert.ok(Math.abs(g - seed[k]! * (s + x[k]! * s * (1 - s))) < 1e-5);
  });
});

test('residual Add (x + relu(x)) sums both paths', async () => {
  const graph = buildGraph({
    inputs: { x: [8] },
    nodes: [
      { op: 'Relu', inputs: ['x'], outputs: ['r'] },
      { op: 'Add', inputs: ['r', 'x'], outputs: ['y'] },
    ],
    outputs: ['y'],
  });
  const x = [-1, 2, -0.5, 0.3, 1, -2, 4, 0.1];
  const seed = [1, 2, 3, 4, 5, 6, 7, 8];
  const [g] = await backward(graph, { x: tensor(x, [8]) }, { y: tensor(seed, [8]) }, ['x']);
  assert.deepEqual(Array.from(g!), x.map((v, k) => (v > 0 ? 2 : 1) * seed[k]!));
});

test('n-ary Sum and Mean with broadcasting match finite differences', async () => {
  for (const op of ['Sum', 'Mean']) {
    const r = await gradCheck({ op, inputs: [{ shape: [2, 3, 4] }, { shape: [3, 1] }, { shape: [4] }] });
    assert.ok(r.maxError < 1e-3, `${op}: error ${r.maxError}`);
  }
});

test('Mean of three inputs gives each g / 3', async () => {
  const graph = buildGraph({ inputs: { a: [2], b: [2], c: [2] }, nodes: [{ op: 'Mean', inputs: ['a', 'b', 'c'], outputs: ['y'] }], outputs: ['y'] });
  const grads = await backward(graph, { a: tensor([1, 2], [2]), b: tensor([3, 4], [2]), c: tensor([5, 6], [2]) }, { y: tensor([3, 6], [2]) }, ['a', 'b', 'c']);
  for (const g of grads) assert.deepEqual(Array.from(g), [1, 2]);
});

test('Pow with constant exponents matches finite differences', async () => {
  for (const [p, shape] of [[[2], []], [[3], [1]], [[0.5], []], [[1, 2, 3, -1], [4]]] as [number[], number[]][]) {
    const r = await gradCheck({ op: 'Pow', inputs: [{ shape: [2, 3, 4], data: positive(24, 2) }, { shape, data: p, constant: true }] });
    assert.ok(r.maxError < 1e-3, `p=${p}: error ${r.maxError}`);
  }
});

test('Pow with a fed (not differentiated) exponent matches finite differences', async () => {
  const r = await gradCheck({ op: 'Pow', inputs: [{ shape: [3, 4], data: positive(12, 3) }, { shape: [4], data: [2, 1.5, 3, 0.5], noGrad: true }] });
  assert.ok(r.maxError < 1e-3, `error ${r.maxError}`);
});

test('Pow refuses a gradient for the exponent', async () => {
  await assert.rejects(
    gradCheck({ op: 'Pow', inputs: [{ shape: [3], data: positive(3, 1) }, { shape: [3] }] }),
    (e: Error) => e instanceof UnsupportedOperatorError && /exponent/.test(e.message),
  );
});

test('element-wise Max and Min (2 and 3 inputs, broadcast) match finite differences', async () => {
  for (const op of ['Max', 'Min']) {
    const r2 = await gradCheck({ op, inputs: [{ shape: [2, 3, 4] }, { shape: [3, 1] }] });
    assert.ok(r2.maxError < 1e-3, `${op} 2 inputs: error ${r2.maxError}`);
    const r3 = await gradCheck({ op, inputs: [{ shape: [3, 4] }, { shape: [4] }, { shape: [3, 4] }], seed: 5 });
    assert.ok(r3.maxError < 1e-3, `${op} 3 inputs: error ${r3.maxError}`);
  }
});

test('Max sends the gradient to the chosen input only, and ties share it (max(x, x) has gradient g)', async () => {
  const graph = buildGraph({ inputs: { a: [4], b: [4] }, nodes: [{ op: 'Max', inputs: ['a', 'b'], outputs: ['y'] }], outputs: ['y'] });
  const [ga, gb] = await backward(graph, { a: tensor([1, 5, 2, 3], [4]), b: tensor([2, 4, 2, 0], [4]) }, { y: tensor([10, 20, 30, 40], [4]) }, ['a', 'b']);
  assert.deepEqual(Array.from(ga!), [0, 20, 15, 40]);
  assert.deepEqual(Array.from(gb!), [10, 0, 15, 0]);
  const same = buildGraph({ inputs: { x: [3] }, nodes: [{ op: 'Max', inputs: ['x', 'x'], outputs: ['y'] }], outputs: ['y'] });
  const [g] = await backward(same, { x: tensor([1, -2, 3], [3]) }, { y: tensor([4, 5, 6], [3]) }, ['x']);
  assert.deepEqual(Array.from(g!), [4, 5, 6]);
});

test('Where routes the gradient to X and Y through a broadcast condition', async () => {
  const graph = buildGraph({
    inputs: { c: [3, 1], x: [2, 3, 4], y: [4] },
    consts: { zero: { dataType: 'float32', dims: [], data: Float32Array.of(0) } },
    nodes: [
      { op: 'Greater', inputs: ['c', 'zero'], outputs: ['cond'] },
      { op: 'Where', inputs: ['cond', 'x', 'y'], outputs: ['out'] },
    ],
    outputs: ['out'],
  });
  const rand = rng(8);
  const c = [1, -1, 1];
  const feeds = { c: tensor(c, [3, 1]), x: tensor(randomArray(24, rand), [2, 3, 4]), y: tensor(randomArray(4, rand), [4]) };
  const seed = randomArray(24, rand);
  const r = await checkGraph(graph, feeds, { out: tensor(seed, [2, 3, 4]) }, ['x', 'y']);
  assert.ok(r.maxError < 1e-3, `error ${r.maxError}`);
  // Independent oracle: Y gets the seed summed over the rows where the condition is false.
  const gy = [0, 0, 0, 0];
  for (let n = 0; n < 2; n++) for (let k = 0; k < 4; k++) gy[k]! += seed[n * 12 + 4 + k]!;
  r.grads[1]!.forEach((v, k) => assert.ok(Math.abs(v - gy[k]!) < 1e-5));
});
