/**
 * Targets built into the graph: contrast, weighted sums, units of an output through an
 * activation. References by hand on the resnet fixture's head: layer2 -> GlobalAveragePool ->
 * Flatten -> Gemm(W, b), so d z_c / d A_k(i, j) = W[c, k] / (H W) at every position.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Classifier } from '../../src/classifier.js';
import { OptionError } from '../../src/errors.js';
import { AblationCam } from '../../src/methods/ablation-cam.js';
import { GradCam } from '../../src/methods/gradcam.js';
import { RsiGradCam } from '../../src/methods/rsi-grad-cam.js';
import { parseTarget } from '../../src/cli/options.js';
import { relError } from '../helpers/fixtures.js';
import { fixturePipeline, runtime } from '../helpers/methods.js';

async function resnetHead() {
  const f = await fixturePipeline('resnet');
  const gemm = f.model.graph.nodes.find((n) => n.opType === 'Gemm')!;
  const W = f.model.graph.initializers.get(gemm.inputs[1]!)!.data as Float32Array;
  const layer = f.fx.meta.layers[1]!;
  const [c, h, w] = layer.shape.slice(1) as [number, number, number];
  const acts = f.fx.meta.samples.map((s) => f.fx.read(s.layers[layer.modulePath]!.activation));
  const logits = f.fx.meta.samples.map((s) => f.fx.read(s.logits));
  /** Grad-CAM weights of the score sum_j coef_j z_(class_j): sum_j coef_j W[class_j, k] / (H W). */
  const weightsOf = (coefs: [number, number][], scale = 1) => Array.from({ length: c }, (_, k) => (scale * coefs.reduce((s, [cls, a]) => s + a * W[cls * c + k]!, 0)) / (h * w));
  const camOf = (weights: number[], a: Float32Array) => {
    const cam = new Float64Array(h * w);
    for (let k = 0; k < c; k++) for (let j = 0; j < h * w; j++) cam[j]! += weights[k]! * a[k * h * w + j]!;
    return cam.map((v) => Math.max(0, v));
  };
  return { ...f, W, layer: layer.modulePath, c, h, w, acts, logits, weightsOf, camOf };
}

test('the contrastive cam of (a, b) uses the gradient of z_a - z_b', async () => {
  const r = await resnetHead();
  const [a, b] = [r.fx.meta.samples[0]!.target, 4];
  const [e] = await new GradCam(r.pipeline).explain([r.images[0]!], { layer: r.layer, targets: { contrast: [a, b] } });
  const expected = r.weightsOf([[a, 1], [b, -1]]);
  assert.ok(relError(e!.weights, expected) < 1e-4, `weights error ${relError(e!.weights, expected)}`);
  assert.ok(relError(e!.cam, r.camOf(expected, r.acts[0]!)) < 1e-4);
  assert.ok(Math.abs(e!.score - (r.logits[0]![a]! - r.logits[0]![b]!)) < 1e-4, 'score is z_a - z_b');
  assert.equal(e!.target, a);
  assert.deepEqual(e!.objective, { kind: 'contrast', classes: [a, b], weights: [1, -1] });
  // Differs from the plain cam of a, and is the difference of the two class maps' weights.
  const [ea, eb] = await new GradCam(r.pipeline).explain([r.images[0]!, r.images[0]!], { layer: r.layer, targets: [a, b] });
  assert.ok(relError(e!.weights, Array.from(ea!.weights, (v, k) => v - eb!.weights[k]!)) < 1e-5);
  assert.ok(relError(e!.weights, ea!.weights) > 0.05);
});

test('a weighted sum of classes; RSI-Grad-CAM on a contrast is exact through a linear head', async () => {
  const r = await resnetHead();
  const [e] = await new GradCam(r.pipeline).explain([r.images[1]!], { layer: r.layer, targets: { classes: [3, 7], weights: [0.7, 0.3] } });
  assert.ok(relError(e!.weights, r.weightsOf([[3, 0.7], [7, 0.3]])) < 1e-4);
  assert.ok(Math.abs(e!.score - (0.7 * r.logits[1]![3]! + 0.3 * r.logits[1]![7]!)) < 1e-4);
  const [s] = await new GradCam(r.pipeline).explain([r.images[1]!], { layer: r.layer, targets: { classes: [3, 7] } });
  assert.ok(relError(s!.weights, r.weightsOf([[3, 1], [7, 1]])) < 1e-4, 'weights default to 1');
  // Above the layer the score z_a - z_b is linear in A, so IG sums to the score change exactly.
  const base = new Float32Array(r.images[0]!.length);
  const [p] = await new RsiGradCam(r.pipeline).explain([r.images[0]!], { layer: r.layer, targets: { contrast: [2, 5] }, score: 'logit', steps: 4, baseline: base, weighting: 'plain' });
  assert.ok(p!.relativeCompletenessError! < 1e-4, `relative completeness ${p!.relativeCompletenessError}`);
  assert.ok(Math.abs(p!.score - (r.logits[0]![2]! - r.logits[0]![5]!)) < 1e-4);
});

test('Ablation-CAM on a contrast: w_k = (W[a, k] - W[b, k]) mean(A_k) / (z_a - z_b)', async () => {
  const r = await resnetHead();
  const [a, b] = [1, 6];
  const [e] = await new AblationCam(r.pipeline).explain([r.images[0]!], { layer: r.layer, targets: { contrast: [a, b] }, internalBatchSize: 5 });
  const y = r.logits[0]![a]! - r.logits[0]![b]!;
  const hw = r.h * r.w;
  const expected = Array.from({ length: r.c }, (_, k) => ((r.W[a * r.c + k]! - r.W[b * r.c + k]!) * r.acts[0]!.subarray(k * hw, (k + 1) * hw).reduce((s, v) => s + v, 0)) / hw / (y + 1e-7));
  assert.ok(relError(e!.weights, expected) < 1e-3, `error ${relError(e!.weights, expected)}`);
  assert.ok(Math.abs(e!.score - y) < 1e-4);
});

test('unit targets: sigmoid of a logit (multi-label), a raw unit of another output (regression)', async () => {
  const r = await resnetHead();
  const u = 2;
  const z = r.logits[0]![u]!;
  const sig = 1 / (1 + Math.exp(-z));
  const [e] = await new GradCam(r.pipeline).explain([r.images[0]!], { layer: r.layer, targets: { unit: u, activation: 'sigmoid' } });
  assert.ok(Math.abs(e!.score - sig) < 1e-5, `score ${e!.score} vs sigmoid(z) ${sig}`);
  assert.ok(relError(e!.weights, r.weightsOf([[u, 1]], sig * (1 - sig))) < 1e-4, 'd sigmoid(z_u) / dA = s (1 - s) W[u] / HW');
  assert.equal(e!.scoreMode, 'output');
  assert.deepEqual(e!.objective, { kind: 'unit', classes: [u], weights: [1], output: r.model.logits, activation: 'sigmoid' });
  assert.ok(Math.abs(e!.probability - r.fx.read(r.fx.meta.samples[0]!.probs)[u]!) < 1e-5, 'a unit of the logits is a class');
  // The pooled features [N, 16]: unit 5 is mean(A_5), whose gradient is 1 / HW on channel 5 alone.
  const [f] = await new GradCam(r.pipeline).explain([r.images[0]!], { layer: r.layer, targets: { unit: 5, output: '/Flatten_output_0' } });
  const hw = r.h * r.w;
  assert.ok(relError(f!.weights, Array.from({ length: r.c }, (_, k) => (k === 5 ? 1 / hw : 0))) < 1e-5);
  assert.ok(Math.abs(f!.score - r.acts[0]!.subarray(5 * hw, 6 * hw).reduce((s, v) => s + v, 0) / hw) < 1e-5);
  assert.ok(Number.isNaN(f!.probability), 'no class probability for a unit of another output');
});

test('bad targets are refused with the reason', async () => {
  const r = await resnetHead();
  const gc = new GradCam(r.pipeline);
  const x = [r.images[0]!];
  const cases: [unknown, RegExp][] = [
    [{ contrast: [3, 3] }, /the two classes must differ/],
    [{ contrast: [3] }, /contrast must be two classes/],
    [{ classes: [] }, /at least one class/],
    [{ classes: [1, 1] }, /repeat a class/],
    [{ classes: [1, 2], weights: [1] }, /weights must be 2 finite numbers/],
    [{ classes: [1, 10] }, /target class 10 is out of range/],
    [{ unit: 10 }, /target unit 10 is out of range: the output has 10 units/],
    [{ unit: 0, output: 'nope' }, /target output 'nope' is not a tensor computed from the image/],
    [{ unit: 0, output: r.model.inputName }, /is not a tensor computed from the image/],
    [{ unit: 0, output: r.layer }, /not a tensor computed|has shape/],
    [{ unit: 0, activation: 'tanh' }, /activation must be none, sigmoid or softmax/],
    [{ bogus: 1 }, /is not one of/],
  ];
  for (const [targets, re] of cases) await assert.rejects(gc.explain(x, { layer: r.layer, targets: targets as never }), (e: Error) => e instanceof OptionError && re.test(e.message), JSON.stringify(targets));
  await assert.rejects(gc.explain([x[0]!, x[0]!], { layer: r.layer, targets: [{ unit: 0 }, 3] }), /cannot be mixed/);
  await assert.rejects(gc.explain(x, { layer: r.layer, targets: { unit: 0 }, score: 'softmax' }), /sets its own score/);
  await assert.rejects(gc.explain([x[0]!, x[0]!], { layer: r.layer, targets: [{ unit: 0 }, { unit: 0, activation: 'sigmoid' }] }), /same output and activation/);
});

test('--target syntax: top-k, index, label, contrast, sums, weighted sums, units', async () => {
  const { model } = await fixturePipeline('resnet');
  const labels = ['cat', 'tabby-cat', 'dog', 'golden retriever', 'c4', 'c5', 'c6', 'c7', 'c8', 'c9'];
  const c = new Classifier(model, runtime, { source: 'resnet', labels });
  const cases: [string, unknown][] = [
    ['top2', { topK: 2 }],
    ['3', 3],
    ['golden retriever', 3],
    ['tabby-cat', 1],
    ['3-5', { contrast: [3, 5] }],
    ['dog-cat', { contrast: [2, 0] }],
    ['tabby-cat-dog', { contrast: [1, 2] }],
    ['3+5', { classes: [3, 5] }],
    ['0.7*3+0.3*dog', { classes: [3, 2], weights: [0.7, 0.3] }],
    ['unit:4', { unit: 4, activation: 'none' }],
    ['sigmoid:0', { unit: 0, activation: 'sigmoid' }],
    ['softmax:1@logits', { unit: 1, activation: 'softmax', output: 'logits' }],
  ];
  for (const [text, expected] of cases) assert.deepEqual(parseTarget(text, c), expected, text);
  assert.equal(c.describeTarget({ kind: 'contrast', classes: [1, 2], weights: [1, -1] }), 'tabby-cat - dog');
  assert.equal(c.describeTarget({ kind: 'classes', classes: [3, 2], weights: [0.7, 0.3] }), '0.7 golden retriever + 0.3 dog');
  assert.equal(c.describeTarget({ kind: 'unit', classes: [0], weights: [1], output: 'logits', activation: 'sigmoid' }), 'sigmoid(unit 0 of logits)');
  assert.throws(() => parseTarget('3+zebra', c), /'zebra' in '3\+zebra' is not a class index or label/);
  assert.throws(() => parseTarget('12', c), /class index 12 is out of range/);
  assert.throws(() => parseTarget('zebra', c), /no class named 'zebra'/);
});
