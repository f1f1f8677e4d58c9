import { test } from 'node:test';
import assert from 'node:assert/strict';
import { UnsupportedOperatorError } from '../../../src/errors.js';
import type { Attribute } from '../../../src/engine/graph/types.js';
import { gradCheck, rng } from '../../helpers/grad-check.js';
import { backward, buildGraph, checkGraph, tensor } from './graph-grad.js';

const f = (value: number): Attribute => ({ type: 'float', value });
const i = (value: number): Attribute => ({ type: 'int', value });

/** n values in [lo, hi) that stay at least `gap` away from every point in `kinks`. */
function awayFrom(n: number, lo: number, hi: number, kinks: number[], gap = 0.1, seed = 3): number[] {
  const r = rng(seed);
  const out: number[] = [];
  while (out.length < n) {
    const v = r(lo, hi);
    if (kinks.every((k) => Math.abs(v - k) >= gap)) out.push(v);
  }
  return out;
}

const SHAPE = [2, 3, 2, 2];
const N = 24;

test('Relu gradient matches finite differences', async () => {
  // Values kept away from the kink at 0 so the central difference is valid.
  const data = Array.from({ length: 24 }, (_, i) => (i % 2 ? 1 : -1) * (0.2 + (i % 5) * 0.1));
  const r = await gradCheck({ op: 'Relu', inputs: [{ shape: [2, 3, 2, 2], data }] });
  assert.ok(r.maxError < 1e-3, `error ${r.maxError} fd=${r.fd} analytic=${r.analytic}`);
  const g = r.grads.get(0)!.data;
  data.forEach((x, i) => x < 0 && assert.equal(g[i], 0));
});

// Each case: op, attributes, input range and kinks to avoid.
const cases: { op: string; label?: string; attrs?: Record<string, Attribute>; lo: number; hi: number; kinks?: number[] }[] = [
  { op: 'LeakyRelu', label: 'LeakyRelu alpha=0.2', attrs: { alpha: f(0.2) }, lo: -2, hi: 2, kinks: [0] },
  { op: 'LeakyRelu', lo: -2, hi: 2, kinks: [0] },
  { op: 'Sigmoid', lo: -3, hi: 3 },
  { op: 'Tanh', lo: -2, hi: 2 },
  { op: 'HardSigmoid', lo: -4, hi: 4, kinks: [-2.5, 2.5] },
  { op: 'HardSigmoid', label: 'HardSigmoid alpha=1/6', attrs: { alpha: f(1 / 6), beta: f(0.5) }, lo: -4, hi: 4, kinks: [-3, 3] },
  { op: 'HardSwish', lo: -5, hi: 5, kinks: [-3, 3] },
  { op: 'Elu', lo: -2, hi: 2, kinks: [0] },
  { op: 'Elu', label: 'Elu alpha=0.5', attrs: { alpha: f(0.5) }, lo: -2, hi: 2, kinks: [0] },
  { op: 'Selu', lo: -2, hi: 2, kinks: [0] },
  { op: 'Softplus', lo: -3, hi: 3 },
  { op: 'Exp', lo: -1, hi: 1 },
  { op: 'Log', lo: 0.5, hi: 2 },
  { op: 'Sqrt', lo: 0.5, hi: 2 },
  { op: 'Neg', lo: -1, hi: 1 },
  { op: 'Abs', lo: -1, hi: 1, kinks: [0] },
  { op: 'Reciprocal', lo: 0.5, hi: 2 },
  { op: 'Erf', lo: -2, hi: 2 },
  { op: 'Identity', lo: -1, hi: 1 },
  { op: 'Dropout', lo: -1, hi: 1 },
  { op: 'Cast', label: 'Cast float32 -> float32', attrs: { to: i(1) }, lo: -1, hi: 1 },
];

for (const c of cases) {
  test(`${c.label ?? c.op} gradient matches finite differences`, async () => {
    const data = awayFrom(N, c.lo, c.hi, c.kinks ?? []);
    const r = await gradCheck({ op: c.op, attrs: c.attrs, inputs: [{ shape: SHAPE, data }] });
    assert.ok(r.maxError < 1e-3, `error ${r.maxError} fd=${r.fd} analytic=${r.analytic}`);
  });
}

test('PRelu gradient with a per-channel slope matches finite differences', async () => {
  const data = awayFrom(N, -2, 2, [0]);
  const r = await gradCheck({
    op: 'PRelu',
    inputs: [{ shape: SHAPE, data }, { shape: [3, 1, 1], data: [0.1, 0.25, 0.5], constant: true }],
  });
  assert.ok(r.maxError < 1e-3, `error ${r.maxError}`);
});

test('PRelu refuses a gradient for the slope', async () => {
  await assert.rejects(
    gradCheck({ op: 'PRelu', inputs: [{ shape: SHAPE }, { shape: [3, 1, 1] }] }),
    (e: Error) => e instanceof UnsupportedOperatorError && /slope/.test(e.message),
  );
});

test('Clip with input bounds (relu6) matches finite differences', async () => {
  const data = awayFrom(N, -2, 8, [0, 6]);
  const r = await gradCheck({
    op: 'Clip',
    inputs: [{ shape: SHAPE, data }, { shape: [], data: [0], constant: true }, { shape: [], data: [6], constant: true }],
  });
  assert.ok(r.maxError < 1e-3, `error ${r.maxError}`);
});

test('Clip with only a max, and the old attribute form, match finite differences', async () => {
  const data = awayFrom(N, -2, 2, [0.5, -0.5]);
  const r1 = await gradCheck({ op: 'Clip', inputs: [{ shape: SHAPE, data }, null, { shape: [], data: [0.5], constant: true }] });
  assert.ok(r1.maxError < 1e-3, `max only: error ${r1.maxError}`);
  const r2 = await gradCheck({ op: 'Clip', opset: 10, attrs: { min: f(-0.5), max: f(0.5) }, inputs: [{ shape: SHAPE, data }] });
  assert.ok(r2.maxError < 1e-3, `attributes: error ${r2.maxError}`);
});

test('Clip passes no gradient at the bounds themselves (as PyTorch hardtanh)', async () => {
  const x = [-1, 0, 0.5, 3, 5.99, 6, 7, 2];
  const graph = buildGraph({
    inputs: { x: [8] },
    consts: { lo: { dataType: 'float32', dims: [], data: Float32Array.of(0) }, hi: { dataType: 'float32', dims: [], data: Float32Array.of(6) } },
    nodes: [{ op: 'Clip', inputs: ['x', 'lo', 'hi'], outputs: ['y'] }],
    outputs: ['y'],
  });
  const seed = [1, 2, 3, 4, 5, 6, 7, 8];
  const [g] = await backward(graph, { x: tensor(x, [8]) }, { y: tensor(seed, [8]) }, ['x']);
  const expected = x.map((v, k) => (v > 0 && v < 6 ? seed[k]! : 0));
  assert.deepEqual(Array.from(g!), expected);
});

test('Dropout with constant training_mode = true is refused; false passes through', async () => {
  const graph = (mode: number) =>
    buildGraph({
      inputs: { x: [4] },
      consts: {
        ratio: { dataType: 'float32', dims: [], data: Float32Array.of(0.5) },
        mode: { dataType: 'bool', dims: [], data: Uint8Array.of(mode) },
      },
      nodes: [{ op: 'Dropout', inputs: ['x', 'ratio', 'mode'], outputs: ['y', 'mask'] }],
      outputs: ['y'],
    });
  const feeds = { x: tensor([1, -2, 3, 4], [4]) };
  const seed = { y: tensor([0.5, 1, -1, 2], [4]) };
  await assert.rejects(backward(graph(1), feeds, seed, ['x']), (e: Error) => e instanceof UnsupportedOperatorError && /training/.test(e.message));
  const [g] = await backward(graph(0), feeds, seed, ['x']);
  assert.deepEqual(Array.from(g!), [0.5, 1, -1, 2]);
});

test('Cast float32 -> float64 -> float32 around x*x gives 2x', async () => {
  const graph = buildGraph({
    inputs: { x: [5] },
    nodes: [
      { op: 'Cast', inputs: ['x'], outputs: ['x64'], attrs: { to: i(11) } },
      { op: 'Mul', inputs: ['x64', 'x64'], outputs: ['sq'] },
      { op: 'Cast', inputs: ['sq'], outputs: ['y'], attrs: { to: i(1) } },
    ],
    outputs: ['y'],
  });
  const x = [0.5, -1, 2, 0.25, -3];
  const seed = [1, 2, 3, 4, 5];
  const r = await checkGraph(graph, { x: tensor(x, [5]) }, { y: tensor(seed, [5]) });
  assert.ok(r.maxError < 1e-3, `error ${r.maxError}`);
  r.grads[0]!.forEach((g, k) => assert.ok(Math.abs(g - 2 * x[k]! * seed[k]!) < 1e-5, `element ${k}: ${g}`));
});

/** GELU as torch exports it before opset 20: x * 0.5 * (1 + erf(x / sqrt 2)), on x [2, 6]. */
function erfGelu() {
  const c = (v: number) => ({ dataType: 'float32' as const, dims: [], data: Float32Array.of(v) });
  return buildGraph({
    inputs: { x: [2, 6] },
    consts: { s: c(Math.SQRT1_2), one: c(1), half: c(0.5) },
    nodes: [
      { op: 'Mul', inputs: ['x', 's'], outputs: ['a'] },
      { op: 'Erf', inputs: ['a'], outputs: ['e'] },
      { op: 'Add', inputs: ['e', 'one'], outputs: ['b'] },
      { op: 'Mul', inputs: ['x', 'b'], outputs: ['p'] },
      { op: 'Mul', inputs: ['p', 'half'], outputs: ['y'] },
    ],
    outputs: ['y'],
  });
}

test('GELU written with Erf (x * 0.5 * (1 + erf(x / sqrt 2))) matches finite differences', async () => {
  const graph = erfGelu();
  const r = rng(5);
  const x = Array.from({ length: 12 }, () => r(-3, 3));
  const seed = Array.from({ length: 12 }, () => r());
  const out = await checkGraph(graph, { x: tensor(x, [2, 6]) }, { y: tensor(seed, [2, 6]) });
  assert.ok(out.maxError < 1e-3, `error ${out.maxError}`);
});

for (const approximate of ['none', 'tanh']) {
  test(`Gelu (opset 20, approximate=${approximate}) matches finite differences`, async () => {
    const r = await gradCheck({
      op: 'Gelu',
      opset: 20,
      attrs: approximate === 'none' ? {} : { approximate: { type: 'string', value: approximate } },
      inputs: [{ shape: [3, 8], data: awayFrom(24, -4, 4, []) }],
    });
    assert.ok(r.maxError < 1e-3, `error ${r.maxError} fd=${r.fd} analytic=${r.analytic}`);
  });
}

test('Gelu equals its Erf form (x * 0.5 * (1 + erf(x / sqrt 2))) forward and backward', async () => {
  const x = awayFrom(12, -3, 3, [], 0.1, 8);
  const seed = awayFrom(12, -1, 1, [], 0.1, 9);
  const gelu = buildGraph({ inputs: { x: [2, 6] }, nodes: [{ op: 'Gelu', inputs: ['x'], outputs: ['y'] }], outputs: ['y'], opset: 20 });
  const erf = erfGelu();
  const [g1] = await backward(gelu, { x: tensor(x, [2, 6]) }, { y: tensor(seed, [2, 6]) }, ['x']);
  const [g2] = await backward(erf, { x: tensor(x, [2, 6]) }, { y: tensor(seed, [2, 6]) }, ['x']);
  g1!.forEach((v, k) => assert.ok(Math.abs(v - g2![k]!) < 1e-5, `element ${k}: ${v} vs ${g2![k]}`));
});

test('Gelu with an unknown approximate mode is refused naming it', async () => {
  await assert.rejects(
    gradCheck({ op: 'Gelu', opset: 20, attrs: { approximate: { type: 'string', value: 'fast' } }, inputs: [{ shape: [4] }] }),
    (e: Error) => e instanceof UnsupportedOperatorError && /approximate='fast'/.test(e.message),
  );
});
