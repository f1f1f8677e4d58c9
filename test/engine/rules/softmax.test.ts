import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Attribute } from '../../../src/engine/graph/types.js';
import { gradCheck, randomArray, rng } from '../../helpers/grad-check.js';
import { backward, buildGraph, tensor } from './graph-grad.js';

const i = (value: number): Attribute => ({ type: 'int', value });

for (const op of ['Softmax', 'LogSoftmax']) {
  for (const axis of [undefined, -1, 1, 0, 2]) {
    test(`${op} axis=${axis ?? 'default'} matches finite differences`, async () => {
      const r = await gradCheck({
        op,
        attrs: axis === undefined ? {} : { axis: i(axis) },
        inputs: [{ shape: [2, 3, 4], data: randomArray(24, rng(axis ?? 7), -2, 2) }],
      });
      assert.ok(r.maxError < 1e-3, `error ${r.maxError} fd=${r.fd} analytic=${r.analytic}`);
    });
  }
}

test('Softmax gradient equals the Jacobian product y_i (g_i - sum_j g_j y_j) computed by hand', async () => {
  const x = [0.5, -1, 2, 0.1, 0.3, -0.7];
  const seed = [1, 0, -2, 0.5, 3, 1];
  const graph = buildGraph({ inputs: { x: [2, 3] }, nodes: [{ op: 'Softmax', inputs: ['x'], outputs: ['y'], attrs: { axis: i(0) } }], outputs: ['y'] });
  const [g] = await backward(graph, { x: tensor(x, [2, 3]) }, { y: tensor(seed, [2, 3]) }, ['x']);
  for (let col = 0; col < 3; col++) {
    const e = [0, 1].map((row) => Math.exp(x[row * 3 + col]!));
    const y = e.map((v) => v / (e[0]! + e[1]!));
    const dot = y[0]! * seed[col]! + y[1]! * seed[3 + col]!;
    for (const row of [0, 1]) {
      const want = y[row]! * (seed[row * 3 + col]! - dot);
      assert.ok(Math.abs(g![row * 3 + col]! - want) < 1e-6, `(${row}, ${col}): ${g![row * 3 + col]} vs ${want}`);
    }
  }
});
