import { test } from 'node:test';
import assert from 'node:assert/strict';
import { A } from '../../../src/engine/graph/attributes.js';
import { UnsupportedOperatorError } from '../../../src/errors.js';
import type { Attribute } from '../../../src/engine/graph/types.js';
import { differentiate } from '../../../src/engine/autodiff/differentiate.js';
import { inferShapes } from '../../../src/engine/graph/shape-inference.js';
import { caseGraph, gradCheck, randomArray, rng, runGraph, type GradCheckResult } from '../../helpers/grad-check.js';

function assertClose(r: GradCheckResult, inputShape: number[]): void {
  // A wrong output_padding shows up as a gradient of the wrong size.
  assert.deepEqual(r.grads.get(0)!.dims, inputShape);
  assert.ok(r.maxError < 1e-3, `error ${r.maxError} fd=${r.fd} analytic=${r.analytic}`);
}

async function checkConv(x: number[], w: number[], attrs: Record<string, Attribute>, bias = false, seed = 1) {
  const r = await gradCheck({
    op: 'Conv',
    attrs,
    inputs: [{ shape: x }, { shape: w, constant: true }, bias ? { shape: [w[0]!], constant: true } : null].filter((i) => i !== null),
    seed,
  });
  assertClose(r, x);
}

test('Conv input gradient: stride 1, no padding, with bias', async () => {
  await checkConv([2, 3, 6, 5], [4, 3, 3, 3], {}, true);
});

test('Conv input gradient: stride 2 with symmetric pads (odd and even input sizes)', async () => {
  await checkConv([1, 2, 7, 8], [3, 2, 3, 3], { strides: A.ints([2, 2]), pads: A.ints([1, 1, 1, 1]) });
});

test('Conv input gradient: stride 2 where floor division drops the last rows (output_padding)', async () => {
  // (8 - 3) / 2 leaves one row and column that no window reaches.
  await checkConv([1, 2, 8, 8], [2, 2, 3, 3], { strides: A.ints([2, 2]) });
});

test('Conv input gradient: asymmetric pads and unequal strides', async () => {
  await checkConv([1, 2, 7, 6], [3, 2, 3, 2], { strides: A.ints([2, 1]), pads: A.ints([0, 1, 2, 0]) });
});

for (const autoPad of ['SAME_UPPER', 'SAME_LOWER', 'VALID']) {
  test(`Conv input gradient: auto_pad ${autoPad}, stride 2, even kernel`, async () => {
    await checkConv([1, 2, 7, 6], [3, 2, 4, 3], { auto_pad: A.string(autoPad), strides: A.ints([2, 2]) }, true);
  });
}

test('Conv input gradient: dilations', async () => {
  await checkConv([1, 2, 9, 8], [2, 2, 3, 3], { dilations: A.ints([2, 3]), pads: A.ints([1, 2, 2, 1]), strides: A.ints([1, 2]) });
});

test('Conv input gradient: groups', async () => {
  await checkConv([2, 4, 6, 6], [6, 2, 3, 3], { group: A.int(2), pads: A.ints([1, 1, 1, 1]) });
});

test('Conv input gradient: depthwise (group = C), stride 2', async () => {
  await checkConv([1, 4, 7, 7], [4, 1, 3, 3], { group: A.int(4), strides: A.ints([2, 2]), pads: A.ints([1, 1, 1, 1]) });
});

test('Conv input gradient: 1-D convolution', async () => {
  await checkConv([2, 3, 11], [2, 3, 3], { strides: A.ints([2]), pads: A.ints([1, 0]) });
});

test('Conv with the input and bias both differentiated', async () => {
  const r = await gradCheck({
    op: 'Conv',
    attrs: { strides: A.ints([2, 2]), pads: A.ints([1, 1, 1, 1]) },
    inputs: [{ shape: [2, 2, 5, 5] }, { shape: [3, 2, 3, 3], constant: true }, { shape: [3] }],
  });
  assertClose(r, [2, 2, 5, 5]);
  assert.deepEqual(r.grads.get(2)!.dims, [3]);
});

test('Conv refuses to differentiate its weights', async () => {
  await assert.rejects(
    gradCheck({ op: 'Conv', inputs: [{ shape: [1, 2, 4, 4] }, { shape: [3, 2, 3, 3] }] }),
    (e: unknown) => e instanceof UnsupportedOperatorError && /weights/.test((e as Error).message),
  );
});

test('Conv input gradient with a symbolic batch dimension equals the fixed-batch one', async () => {
  const shape = [3, 2, 6, 5];
  const gradient = async (symbolic: boolean) => {
    const { graph, feeds } = caseGraph({
      op: 'Conv',
      attrs: { strides: A.ints([2, 2]), pads: A.ints([1, 0, 1, 1]) },
      inputs: [{ shape }, { shape: [4, 2, 3, 3], constant: true }],
    });
    const outDims = graph.outputs[0]!.shape as number[];
    if (symbolic) graph.inputs[0]!.shape = ['N', ...shape.slice(1)];
    const shapes = inferShapes(graph, 'case');
    graph.inputs.push({ name: 'seed', dataType: 'float32', shape: outDims });
    const [g] = differentiate(graph, [{ tensor: 'y0', grad: 'seed' }], ['x0'], { shapes, source: 'case' });
    graph.outputs = [{ name: g!, dataType: 'float32', shape }];
    const seed = randomArray(outDims.reduce((a, b) => a * b, 1), rng(3));
    return Array.from((await runGraph(graph, { ...feeds, seed: { data: seed, dims: outDims } }))[g!]!.data);
  };
  const fixed = await gradient(false);
  assert.equal(fixed.length, 3 * 2 * 6 * 5);
  assert.deepEqual(await gradient(true), fixed);
});
