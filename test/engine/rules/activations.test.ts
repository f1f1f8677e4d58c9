import { test } from 'node:test';
import assert from 'node:assert/strict';
import { gradCheck } from '../../helpers/grad-check.js';

test('Relu gradient matches finite differences', async () => {
  // Values kept away from the kink at 0 so the central difference is valid.
  const data = Array.from({ length: 24 }, (_, i) => (i % 2 ? 1 : -1) * (0.2 + (i % 5) * 0.1));
  const r = await gradCheck({ op: 'Relu', inputs: [{ shape: [2, 3, 2, 2], data }] });
  assert.ok(r.maxError < 1e-3, `error ${r.maxError} fd=${r.fd} analytic=${r.analytic}`);
  const g = r.grads.get(0)!.data;
  data.forEach((x, i) => x < 0 && assert.equal(g[i], 0));
});
