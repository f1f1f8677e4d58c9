import { test } from 'node:test';
import assert from 'node:assert/strict';
import { A } from '../../../src/engine/graph/attributes.js';
import type { Attribute } from '../../../src/engine/graph/types.js';
import { UnsupportedOperatorError } from '../../../src/errors.js';
import { gradCheck, type CaseInput } from '../../helpers/grad-check.js';

const ints = (data: number[]): CaseInput => ({ shape: [data.length], data, constant: true, dataType: 'int64' });

async function checkPad(shape: number[], inputs: (CaseInput | null)[], attrs: Record<string, Attribute> = {}, opset = 17) {
  const r = await gradCheck({ op: 'Pad', attrs, opset, inputs: [{ shape }, ...inputs] });
  assert.deepEqual(r.grads.get(0)!.dims, shape);
  assert.ok(r.maxError < 1e-3, `error ${r.maxError} fd=${r.fd} analytic=${r.analytic}`);
  return r;
}

test('Pad gradient: spatial zero padding, asymmetric', async () => {
  await checkPad([2, 3, 4, 5], [ints([0, 0, 1, 2, 0, 0, 3, 1])]);
});

test('Pad gradient: every axis padded, non-zero constant value', async () => {
  await checkPad([2, 3, 4], [ints([1, 2, 0, 0, 1, 3]), { shape: [], data: [0.7], constant: true }]);
});

test('Pad gradient: axes input (opset 18), negative axis', async () => {
  await checkPad([2, 3, 4, 5], [ints([2, 1, 0, 2]), null, ints([1, -1])], {}, 18);
});

test('Pad gradient: negative pads crop, mixed with positive ones', async () => {
  const r = await checkPad([1, 2, 5, 6], [ints([0, 0, -1, 2, 0, 0, 1, -2])]);
  // Cropped elements do not reach the output: their gradient is exactly zero.
  const g = r.grads.get(0)!.data;
  for (let c = 0; c < 2; c++) {
    for (let w = 0; w < 6; w++) assert.equal(g[c * 30 + w], 0, 'first row was cropped');
    for (let h = 0; h < 5; h++) for (const w of [4, 5]) assert.equal(g[c * 30 + h * 6 + w], 0, 'last columns were cropped');
  }
});

test('Pad gradient: pads attribute (Pad-2, opset 10)', async () => {
  await checkPad([1, 2, 3, 4], [], { pads: A.ints([0, 0, 2, 1, 0, 0, 1, 2]) }, 10);
});

test('Pad reflect and edge modes are refused', async () => {
  for (const mode of ['reflect', 'edge']) {
    await assert.rejects(
      gradCheck({ op: 'Pad', attrs: { mode: A.string(mode) }, inputs: [{ shape: [1, 1, 4, 4] }, ints([0, 0, 1, 1, 0, 0, 1, 1])] }),
      (e: unknown) => e instanceof UnsupportedOperatorError && new RegExp(mode).test((e as Error).message),
    );
  }
});
