import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spearman } from '../../src/metrics/spearman.js';
import { averageRanks, salienceOrder } from '../../src/metrics/ranking.js';

test('Spearman of a map with itself is 1 and with its reverse -1', () => {
  const a = Float32Array.from({ length: 200 }, (_, i) => Math.sin(i * 0.37) + i * 0.01);
  assert.equal(spearman(a, a), 1);
  const rev = a.map((v) => -v);
  assert.equal(spearman(a, rev), -1);
  // Any increasing transform keeps the ranks.
  assert.ok(Math.abs(spearman(a, a.map((v) => Math.exp(3 * v))) - 1) < 1e-12);
});

test('ties take the average rank (hand-computed rho = 4.5 / sqrt(22.5))', () => {
  assert.deepEqual([...averageRanks([10, 20, 20, 30])], [1, 2.5, 2.5, 4]);
  const rho = spearman([1, 2, 2, 3], [1, 3, 2, 4]);
  assert.ok(Math.abs(rho - 4.5 / Math.sqrt(22.5)) < 1e-12, String(rho));
});

test('a constant map has no rank correlation (NaN)', () => {
  assert.ok(Number.isNaN(spearman([0, 0, 0], [1, 2, 3])));
});

test('salience order is by decreasing value; ties are shuffled by the seed, reproducibly', () => {
  const heat = [0.1, 0.9, 0, 0.5, 0, 0, 0, 0.7];
  const o = [...salienceOrder(heat, 3)];
  assert.deepEqual(o.slice(0, 4), [1, 7, 3, 0]);
  assert.deepEqual(new Set(o.slice(4)), new Set([2, 4, 5, 6]));
  assert.deepEqual([...salienceOrder(heat, 3)], o);
  const flat = new Float32Array(64);
  const a = [...salienceOrder(flat, 1)];
  const b = [...salienceOrder(flat, 2)];
  assert.notDeepEqual(a, b);
  assert.deepEqual([...a].sort((x, y) => x - y), Array.from({ length: 64 }, (_, i) => i));
});
