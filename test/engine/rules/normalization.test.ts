import { test } from 'node:test';
import assert from 'node:assert/strict';
import { A } from '../../../src/engine/graph/attributes.js';
import { UnsupportedOperatorError } from '../../../src/errors.js';
import { gradCheck, type GradCheckResult } from '../../helpers/grad-check.js';

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
