import { test } from 'node:test';
import assert from 'node:assert/strict';
import { meanCi, studentTQuantile } from '../../src/metrics/stats.js';

const close = (a: number, b: number, tol: number) => assert.ok(Math.abs(a - b) <= tol, `${a} vs ${b}`);

test('t quantiles match the printed table (two-sided 95%: t_0.975)', () => {
  // Values from standard t tables.
  for (const [df, t] of [[1, 12.7062], [2, 4.3027], [5, 2.5706], [9, 2.2622], [29, 2.0452], [120, 1.9799]] as const) {
    close(studentTQuantile(0.975, df), t, 1e-4);
  }
  close(studentTQuantile(0.995, 10), 3.1693, 1e-4);
  close(studentTQuantile(0.025, 9), -2.2622, 1e-4);
  // Large df tends to the normal quantile.
  close(studentTQuantile(0.975, 1e6), 1.95996, 1e-4);
});

test('the confidence interval of a constant sample has zero width', () => {
  const ci = meanCi([0.3, 0.3, 0.3, 0.3]);
  close(ci.mean, 0.3, 1e-12);
  assert.equal(ci.high - ci.low, 0);
  assert.equal(ci.n, 4);
});

test('mean and t-interval of 1, 2, 3 by hand: 2 +- 4.3027 / sqrt(3)', () => {
  const ci = meanCi([1, 2, 3]);
  close(ci.mean, 2, 1e-12);
  close(ci.sd, 1, 1e-12);
  close(ci.high - 2, 4.302653 / Math.sqrt(3), 1e-5);
  close(2 - ci.low, 4.302653 / Math.sqrt(3), 1e-5);
});

test('non-finite values are left out; one value has no interval', () => {
  const ci = meanCi([NaN, 5, Infinity]);
  assert.equal(ci.n, 1);
  assert.equal(ci.mean, 5);
  assert.ok(Number.isNaN(ci.low) && Number.isNaN(ci.high));
  assert.equal(meanCi([]).n, 0);
});
