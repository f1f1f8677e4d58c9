/** RSI-Grad-CAM with steps 'auto' on real onnxruntime sessions (fixture models and the demo CNN). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { RsiGradCam } from '../../src/methods/rsi-grad-cam.js';
import { relativeHeatmapChanges } from '../../src/methods/adaptive.js';
import { OptionError } from '../../src/errors.js';
import { loadModel } from '../../src/node/load-model.js';
import { preparePhoto } from '../../src/node/explain-files.js';
import { DEMO_DIR } from '../../src/node/demo-run.js';
import { relError } from '../helpers/fixtures.js';
import { fixturePipeline } from '../helpers/methods.js';
import type { Explanation } from '../../src/methods/types.js';
import { pathPoint, StieltjesAccumulator } from '../../src/methods/quadrature.js';
import { weightingSpec } from '../../src/methods/weightings.js';
import { weightedCam } from '../../src/methods/cam.js';

/** The score's total variation along the evaluated points: what completeness is measured against. */
function variation(e: Explanation): number {
  const s = e.pathTrace!.scores;
  return s.slice(1).reduce((v, x, i) => v + Math.abs(x - s[i]!), 0);
}

test("steps 'auto' meets its tolerance against dense uniform steps, with more evaluations the tighter it is", async () => {
  const { fx, pipeline, images } = await fixturePipeline('vgg');
  const rsi = new RsiGradCam(pipeline);
  const x = images[0]!;
  const base = new Float32Array(x.length);
  const layer = fx.meta.layers[1]!.modulePath;
  const [ref] = await rsi.explain([x], { layer, steps: 1000, baseline: base });
  const used: number[] = [];
  for (const tolerance of [0.05, 0.01, 0.002]) {
    const [a] = await rsi.explain([x], { layer, steps: 'auto', tolerance, baseline: base });
    assert.equal(a!.evaluationCapReached, false);
    assert.equal(a!.tolerance, tolerance);
    assert.ok(a!.estimatedError! <= tolerance, `estimated ${a!.estimatedError}`);
    assert.equal(a!.evaluations, a!.pathTrace!.alphas.length);
    assert.equal(a!.steps, a!.evaluations! - 1);
    const [heat] = relativeHeatmapChanges(ref!.cam, [ref!.cam.map((v, j) => v - a!.cam[j]!)]);
    assert.ok(heat! <= tolerance, `tolerance ${tolerance}: heatmap error ${heat} against m = 1000 (${a!.evaluations} evaluations)`);
    const completeness = Math.abs(a!.completenessError!) / variation(a!);
    assert.ok(completeness <= tolerance, `tolerance ${tolerance}: completeness error ${completeness}`);
    used.push(a!.evaluations!);
  }
  assert.ok(used[0]! < used[2]!, `evaluations ${used.join(', ')}`);
});

test("steps 'auto' gives the same results with internal batch sizes 1 and 17", async () => {
  const { fx, pipeline, images } = await fixturePipeline('mobilenetv2');
  const rsi = new RsiGradCam(pipeline);
  const base = new Float32Array(images[0]!.length);
  const o = { layer: fx.meta.layers[1]!.modulePath, steps: 'auto' as const, tolerance: 0.003, baseline: base, targets: [1, 2] };
  const [one, seventeen] = [await rsi.explain(images, { ...o, internalBatchSize: 1 }), await rsi.explain(images, { ...o, internalBatchSize: 17 })];
  one!.forEach((r, i) => {
    const s = seventeen![i]!;
    assert.ok(r.evaluations! > 5, 'the path was refined');
    assert.deepEqual(s.pathTrace!.alphas, r.pathTrace!.alphas);
    assert.equal(s.evaluations, r.evaluations);
    assert.ok(relError(s.weights, r.weights) < 1e-5, `weights differ by ${relError(s.weights, r.weights)}`);
    assert.ok(Math.abs(s.completenessError! - r.completenessError!) < 1e-6);
    assert.ok(Math.abs(s.estimatedError! - r.estimatedError!) < 1e-4 * r.estimatedError!);
  });
});

test('the evaluation cap is honoured and reported; progress counts evaluations with a total that grows', async () => {
  const { fx, pipeline, images } = await fixturePipeline('vgg');
  const rsi = new RsiGradCam(pipeline);
  const base = new Float32Array(images[0]!.length);
  const reports: [number, number][] = [];
  const res = await rsi.explain(images, {
    layer: fx.meta.layers[1]!.modulePath, steps: 'auto', tolerance: 1e-5, maxEvaluations: 9, baseline: base, onProgress: (d, t) => reports.push([d, t]),
  });
  for (const r of res) {
    assert.ok(r.evaluations! <= 9, `${r.evaluations} evaluations`);
    assert.equal(r.evaluationCapReached, true);
    assert.ok(r.estimatedError! > 1e-5);
  }
  const n = images.length;
  // Predictions and the first grid (5 points per image) are announced first; refinement rounds add theirs.
  assert.equal(reports[0]![1], n + 5 * n);
  const last = reports.at(-1)!;
  assert.deepEqual(last, [n + res.reduce((s, r) => s + r.evaluations!, 0), last[1]]);
  assert.equal(last[0], last[1]);
  for (let i = 1; i < reports.length; i++) {
    assert.ok(reports[i]![0] >= reports[i - 1]![0] && reports[i]![1] >= reports[i - 1]![1]);
    assert.ok(reports[i]![0] <= reports[i]![1]);
  }
  assert.ok(reports.some(([, t]) => t > reports[0]![1]), 'the total grew');
});

test("steps 'auto' with several layers: one path, refined until the worst layer meets the tolerance", async () => {
  const { fx, pipeline, images } = await fixturePipeline('resnet');
  const rsi = new RsiGradCam(pipeline);
  const base = new Float32Array(images[0]!.length);
  const layers = fx.meta.layers.map((l) => l.modulePath);
  const [both] = await rsi.explain([images[0]!], { layers, steps: 'auto', tolerance: 0.002, baseline: base });
  assert.equal(both!.layers.length, 2);
  assert.deepEqual(both!.layers[0]!.pathTrace!.alphas, both!.layers[1]!.pathTrace!.alphas);
  const each = both!.layers.map((l) => l.estimatedError!);
  each.forEach((e) => assert.ok(e <= 0.002, `layer estimate ${e}`));
  assert.equal(both!.estimatedError, Math.max(...each));
  // Alone, each layer needs no more points than together.
  for (const [i, layer] of layers.entries()) {
    const [alone] = await rsi.explain([images[0]!], { layer, steps: 'auto', tolerance: 0.002, baseline: base });
    assert.ok(alone!.evaluations! <= both!.evaluations!);
    assert.ok(relError(alone!.weights, both!.layers[i]!.weights) < 0.01);
  }
});

test("on the demo CNN (saturated softmax) the points gather where the score turns", async () => {
  const c = await loadModel(path.join(DEMO_DIR, 'demo-cnn.onnx'));
  try {
    const { input } = await preparePhoto(c, path.join(DEMO_DIR, 'images', 'demo-00001.png'));
    const [e] = await c.explain([input], { method: 'rsi-grad-cam', steps: 'auto' });
    const { alphas, scores } = e!.pathTrace!;
    const [s0, s1] = [scores[0]!, scores.at(-1)!];
    const share = (a: number) => (a - s0) / (s1 - s0);
    // The stretch where the score makes 98% of its change (by linear interpolation between points).
    const first = alphas[scores.findIndex((s) => share(s) >= 0.01) - 1]!;
    const last = alphas[scores.findIndex((s) => share(s) >= 0.99)]!;
    assert.ok(s1 - s0 > 0.9 && last - first < 0.2, `score ${s0} -> ${s1} turning over [${first}, ${last}]`);
    const inside = alphas.filter((a) => a >= first && a <= last).length;
    assert.ok(inside > alphas.length / 2, `${inside} of ${alphas.length} points in [${first}, ${last}]`);
    assert.ok(e!.estimatedError! <= 0.01 && Math.abs(e!.completenessError!) <= 0.01 * variation(e!));
  } finally {
    await c.dispose();
  }
});

test('fixed steps report their evaluations and an estimate from m against m/2', async () => {
  const { fx, pipeline, images } = await fixturePipeline('vgg');
  const rsi = new RsiGradCam(pipeline);
  const base = new Float32Array(images[0]!.length);
  const layer = fx.meta.layers[1]!.modulePath;
  const estimates: number[] = [];
  for (const steps of [4, 16, 64]) {
    const [r] = await rsi.explain([images[0]!], { layer, steps, baseline: base });
    assert.equal(r!.evaluations, steps + 1);
    assert.equal(r!.estimatedError, Math.max(r!.estimatedHeatmapError!, r!.estimatedCompletenessError!));
    estimates.push(r!.estimatedError!);
  }
  assert.ok(estimates[0]! > estimates[1]! && estimates[1]! > estimates[2]!, `estimates ${estimates.join(', ')}`);
  const [one] = await rsi.explain([images[0]!], { layer, steps: 1, baseline: base });
  assert.equal(one!.estimatedError, undefined, 'one step has nothing to compare with');
});

test("steps 'auto' options are checked before any work", async () => {
  const { pipeline, images } = await fixturePipeline('vgg');
  const rsi = new RsiGradCam(pipeline);
  const x = [images[0]!];
  const refuses = async (o: object, pattern: RegExp) => assert.rejects(rsi.explain(x, o), (e: Error) => e instanceof OptionError && pattern.test(e.message));
  await refuses({ tolerance: 0.01 }, /tolerance applies only with steps 'auto'/);
  await refuses({ steps: 20, maxEvaluations: 50 }, /maxEvaluations applies only with steps 'auto'/);
  await refuses({ steps: 'auto', tolerance: 0 }, /tolerance must be a number in \(0, 1\], got 0/);
  await refuses({ steps: 'auto', tolerance: Number.NaN }, /tolerance must be a number/);
  await refuses({ steps: 'auto', maxEvaluations: 4 }, /maxEvaluations must be an integer from 5 to 10001, got 4/);
  await refuses({ steps: 'auto', maxEvaluations: 20.5 }, /maxEvaluations must be an integer/);
  await refuses({ steps: 'auto', paths: [[x[0]!, x[0]!]] }, /cannot be combined with custom paths/);
  await refuses({ steps: 'fast' }, /steps must be an integer from 1 to 10000, got fast/);
});

test('fixed steps are unchanged bit for bit: the streamed trapezoid over the uniform points, whatever else is reported', async () => {
  const { fx, pipeline, images } = await fixturePipeline('resnet');
  const layers = fx.meta.layers.map((l) => pipeline.model.layer(l.modulePath));
  const base = new Float32Array(images[0]!.length).fill(-0.5);
  const m = 12;
  const target = fx.meta.samples[0]!.target;
  const x = images[0]!;
  // The points in one batch, as the method runs them with internalBatchSize m + 1.
  const tensors = layers.map((l) => l.tensor);
  const { session, outputs } = await pipeline.session({ expose: tensors, score: 'softmax', wrt: tensors });
  const per = x.length;
  const input = new Float32Array((m + 1) * per);
  for (let i = 0; i <= m; i++) pathPoint(base, x, i / m, input, i * per);
  const out = await session.run(pipeline.feeds(pipeline.batchTensor(input, m + 1), new Array<number>(m + 1).fill(target), pipeline.model.scoreWidth('softmax')));
  const scores = out[outputs.score!]!.data;
  for (const weighting of ['guided', 'relu-grad', 'plain'] as const) {
    const spec = weightingSpec(weighting);
    const [r] = await new RsiGradCam(pipeline).explain([x], { layers: layers.map((l) => l.tensor), steps: m, baseline: base, weighting, targets: target, internalBatchSize: m + 1 });
    layers.forEach((l, li) => {
      const [, c, h, w] = l.shape as number[];
      const size = c! * h! * w!;
      const a = out[outputs.activations[li]!]!.data;
      const g = out[outputs.gradients[li]!]!.data;
      const integrands = Object.entries(spec.integrands ?? {});
      const acc = [new StieltjesAccumulator(size, 'trapezoid'), ...integrands.map(([, f]) => new StieltjesAccumulator(size, 'trapezoid', f))];
      for (let i = 0; i <= m; i++) for (const s of acc) s.add(a, g, i * size);
      const aX = a.slice(m * size, (m + 1) * size);
      const weights = spec.weights({
        ig: Float32Array.from(acc[0]!.sum),
        integrals: Object.fromEntries(integrands.map(([name], t) => [name, Float32Array.from(acc[t + 1]!.sum)])),
        activations: aX,
        baselineActivations: a.slice(0, size),
        channels: c!,
        hw: h! * w!,
      });
      const got = r!.layers[li]!;
      assert.deepEqual(got.weights, weights, `${weighting} ${l.tensor}: weights`);
      assert.deepEqual(got.cam, weightedCam(aX, weights, c!, h! * w!), `${weighting} ${l.tensor}: cam`);
      assert.equal(got.completenessError, acc[0]!.sum.reduce((t, v) => t + v, 0) - (scores[m]! - scores[0]!));
      assert.deepEqual(got.pathTrace!.alphas, Array.from({ length: m + 1 }, (_, i) => i / m));
    });
    assert.equal(r!.score, scores[m]);
    assert.equal(r!.baselineScore, scores[0]);
    assert.equal(r!.evaluations, m + 1);
  }
});
