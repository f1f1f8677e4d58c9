import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RsiGradCam } from '../../src/methods/rsi-grad-cam.js';
import { OptionError, UnknownLayerError } from '../../src/errors.js';
import { relError } from '../helpers/fixtures.js';
import { fixturePipeline } from '../helpers/methods.js';

/** Activations and gradients at every path point, straight from the engine, one point per run. */
async function pathValues(pipeline: Awaited<ReturnType<typeof fixturePipeline>>['pipeline'], layer: string, x: Float32Array, base: Float32Array, m: number, target: number, score: 'softmax' | 'logit') {
  const { session, outputs } = await pipeline.session({ expose: [layer], score, wrt: [layer] });
  const points: { a: Float64Array; g: Float64Array; s: number }[] = [];
  for (let i = 0; i <= m; i++) {
    const xi = x.map((v, j) => base[j]! + (i / m) * (v - base[j]!));
    const r = await session.run(pipeline.feeds({ data: xi, dims: [1, ...pipeline.model.inputShape.slice(1) as number[]] }, [target]));
    points.push({ a: Float64Array.from(r[outputs.activations[0]!]!.data), g: Float64Array.from(r[outputs.gradients[0]!]!.data), s: r[outputs.score!]!.data[0]! });
  }
  return points;
}

test('RSI-Grad-CAM with plain weighting equals a direct trapezoid computation from the engine gradients', async () => {
  const { fx, pipeline, images } = await fixturePipeline('resnet');
  const layerName = fx.meta.layers[1]!.modulePath;
  const layer = pipeline.model.layer(layerName);
  const base = new Float32Array(images[0]!.length).fill(-1);
  const m = 10;
  const target = fx.meta.samples[0]!.target;
  const pts = await pathValues(pipeline, layer.tensor, images[0]!, base, m, target, 'softmax');
  const [, c, h, w] = layer.shape as number[];
  const ig = new Float64Array(c! * h! * w!);
  for (let i = 0; i < m; i++) {
    for (let e = 0; e < ig.length; e++) ig[e]! += 0.5 * (pts[i]!.g[e]! + pts[i + 1]!.g[e]!) * (pts[i + 1]!.a[e]! - pts[i]!.a[e]!);
  }
  const weights = Array.from({ length: c! }, (_, k) => ig.slice(k * h! * w!, (k + 1) * h! * w!).reduce((a, b) => a + b, 0) / (h! * w!));
  const [r] = await new RsiGradCam(pipeline).explain([images[0]!], { layer: layerName, steps: m, baseline: base, weighting: 'plain', targets: target });
  assert.ok(relError(r!.weights, weights) < 1e-4, `weights error ${relError(r!.weights, weights)}`);
  // Left and right Riemann-Stieltjes sums use g_i and g_(i+1) alone.
  for (const rule of ['left', 'right'] as const) {
    const sum = new Float64Array(ig.length);
    for (let i = 0; i < m; i++) {
      const g = rule === 'left' ? pts[i]!.g : pts[i + 1]!.g;
      for (let e = 0; e < sum.length; e++) sum[e]! += g[e]! * (pts[i + 1]!.a[e]! - pts[i]!.a[e]!);
    }
    const expected = Array.from({ length: c! }, (_, k) => sum.slice(k * h! * w!, (k + 1) * h! * w!).reduce((a, b) => a + b, 0) / (h! * w!));
    const [rr] = await new RsiGradCam(pipeline).explain([images[0]!], { layer: layerName, steps: m, baseline: base, weighting: 'plain', targets: target, rule });
    assert.ok(relError(rr!.weights, expected) < 1e-4, `${rule} rule error ${relError(rr!.weights, expected)}`);
    assert.ok(relError(rr!.weights, weights) > 1e-4, `${rule} differs from the trapezoid`);
  }
  const total = ig.reduce((a, b) => a + b, 0);
  const delta = pts[m]!.s - pts[0]!.s;
  assert.ok(Math.abs(r!.completenessError! - (total - delta)) < 1e-5);
  assert.ok(Math.abs(r!.score - pts[m]!.s) < 1e-6 && Math.abs(r!.baselineScore! - pts[0]!.s) < 1e-6);
  // The cam uses A(x), the activations at the image itself.
  const cam = new Float64Array(h! * w!);
  for (let k = 0; k < c!; k++) for (let j = 0; j < h! * w!; j++) cam[j]! += weights[k]! * pts[m]!.a[k * h! * w! + j]!;
  assert.ok(relError(r!.cam, cam.map((v) => Math.max(0, v))) < 1e-4);
});

test('guided weighting keeps only units with A(x) > 0, IG > 0 and A(x) - A(x\') > 0; relu-grad integrates ReLU(g)', async () => {
  const { fx, pipeline, images } = await fixturePipeline('mobilenetv2');
  const layerName = fx.meta.layers[1]!.modulePath;
  const layer = pipeline.model.layer(layerName);
  const base = new Float32Array(images[0]!.length);
  const m = 6;
  const target = fx.meta.samples[0]!.target;
  const pts = await pathValues(pipeline, layer.tensor, images[0]!, base, m, target, 'softmax');
  const [, c, h, w] = layer.shape as number[];
  const hw = h! * w!;
  const n = c! * hw;
  const ig = new Float64Array(n);
  const igRelu = new Float64Array(n);
  for (let i = 0; i < m; i++) {
    for (let e = 0; e < n; e++) {
      const dA = pts[i + 1]!.a[e]! - pts[i]!.a[e]!;
      ig[e]! += 0.5 * (pts[i]!.g[e]! + pts[i + 1]!.g[e]!) * dA;
      igRelu[e]! += 0.5 * (Math.max(0, pts[i]!.g[e]!) + Math.max(0, pts[i + 1]!.g[e]!)) * dA;
    }
  }
  const aX = pts[m]!.a;
  const a0 = pts[0]!.a;
  const guided = Array.from({ length: c! }, (_, k) => {
    let s = 0;
    for (let j = 0; j < hw; j++) {
      const e = k * hw + j;
      if (aX[e]! > 0 && ig[e]! > 0 && aX[e]! - a0[e]! > 0) s += ig[e]!;
    }
    return s / hw;
  });
  const reluW = Array.from({ length: c! }, (_, k) => igRelu.slice(k * hw, (k + 1) * hw).reduce((a, b) => a + b, 0) / hw);
  const rsi = new RsiGradCam(pipeline);
  const [g] = await rsi.explain([images[0]!], { layer: layerName, steps: m, baseline: base, targets: target, weighting: 'guided' });
  const [rg] = await rsi.explain([images[0]!], { layer: layerName, steps: m, baseline: base, targets: target, weighting: 'relu-grad' });
  assert.ok(relError(g!.weights, guided) < 1e-4, `guided error ${relError(g!.weights, guided)}`);
  assert.ok(relError(rg!.weights, reluW) < 1e-4, `relu-grad error ${relError(rg!.weights, reluW)}`);
  // The masks matter on this input: guided differs from plain.
  const plain = Array.from({ length: c! }, (_, k) => ig.slice(k * hw, (k + 1) * hw).reduce((a, b) => a + b, 0) / hw);
  assert.ok(relError(guided, plain) > 1e-3);
});

test('completeness error shrinks as the number of steps grows (m = 8, 32, 128)', async () => {
  const { fx, pipeline, images } = await fixturePipeline('vgg');
  const rsi = new RsiGradCam(pipeline);
  const base = new Float32Array(images[0]!.length);
  const errors: number[] = [];
  for (const steps of [8, 32, 128]) {
    const [r] = await rsi.explain([images[0]!], { layer: fx.meta.layers[1]!.modulePath, steps, baseline: base });
    errors.push(Math.abs(r!.completenessError!));
    assert.ok(Number.isFinite(r!.relativeCompletenessError!));
  }
  assert.ok(errors[1]! < errors[0]! && errors[2]! < errors[1]!, `errors ${errors}`);
  assert.ok(errors[2]! < 0.05 * Math.abs(errors[0]!) + 1e-6, `errors ${errors}`);
});

test('at the input layer the element-wise IG equals trapezoid Integrated Gradients', async () => {
  const { pipeline, images, model } = await fixturePipeline('densenet');
  const x = images[1]!;
  const base = new Float32Array(x.length).fill(0.25);
  const m = 12;
  const pts = await pathValues(pipeline, model.inputName, x, base, m, 3, 'logit');
  // Integrated Gradients with the trapezoid rule: (x - x') * (1/m) * sum_i (g_i + g_{i+1}) / 2.
  const ref = new Float64Array(x.length);
  for (let e = 0; e < x.length; e++) {
    let s = 0;
    for (let i = 0; i < m; i++) s += 0.5 * (pts[i]!.g[e]! + pts[i + 1]!.g[e]!);
    ref[e] = ((x[e]! - base[e]!) * s) / m;
  }
  const [r] = await new RsiGradCam(pipeline).explain([x], { layer: model.inputName, steps: m, baseline: base, targets: 3, score: 'logit', returnAttributions: true });
  assert.ok(relError(r!.integratedGradients!, ref) < 1e-4, `error ${relError(r!.integratedGradients!, ref)}`);
});

test('results do not depend on internalBatchSize (1, 7, 51)', async () => {
  const { fx, pipeline, images } = await fixturePipeline('resnet');
  const rsi = new RsiGradCam(pipeline);
  const base = new Float32Array(images[0]!.length);
  const runs: Awaited<ReturnType<typeof rsi.explain>>[] = [];
  for (const internalBatchSize of [1, 7, 51]) {
    runs.push(await rsi.explain(images, { layer: fx.meta.layers[0]!.modulePath, baseline: base, internalBatchSize, targets: [1, 2] }));
  }
  for (const run of runs.slice(1)) {
    run.forEach((r, i) => {
      assert.ok(relError(r.weights, runs[0]![i]!.weights) < 1e-5);
      assert.ok(Math.abs(r.completenessError! - runs[0]![i]!.completenessError!) < 1e-6);
      assert.equal(r.target, [1, 2][i]);
    });
  }
});

test('custom paths: the straight path given point by point equals the default path', async () => {
  const { pipeline, images } = await fixturePipeline('vgg');
  const rsi = new RsiGradCam(pipeline);
  const x = images[0]!;
  const base = new Float32Array(x.length);
  const m = 5;
  const path = Array.from({ length: m + 1 }, (_, i) => x.map((v) => (i / m) * v));
  const [a] = await rsi.explain([x], { steps: m, baseline: base });
  const [b] = await rsi.explain([x], { paths: [path] });
  assert.ok(relError(b!.weights, a!.weights) < 1e-5);
  assert.equal(b!.steps, m);
});

test('bad input gives clear errors', async () => {
  const { pipeline, images, model } = await fixturePipeline('vgg');
  const rsi = new RsiGradCam(pipeline);
  const base = new Float32Array(images[0]!.length);
  await assert.rejects(rsi.explain(images, { steps: 0, baseline: base }), (e: Error) => e instanceof OptionError && /steps/.test(e.message));
  await assert.rejects(rsi.explain(images, { targets: 10, baseline: base }), (e: Error) => e instanceof OptionError && /target class 10 is out of range.*10 classes/.test(e.message));
  await assert.rejects(rsi.explain(images, { baseline: new Float32Array(5) }), (e: Error) => e instanceof OptionError && /baseline has 5 values/.test(e.message));
  await assert.rejects(rsi.explain(images), (e: Error) => e instanceof OptionError && /baseline/.test(e.message));
  const weight = [...model.graph.initializers.keys()][0]!;
  await assert.rejects(rsi.explain(images, { layer: weight, baseline: base }), (e: Error) => e instanceof OptionError && /does not depend on the input/.test(e.message));
  await assert.rejects(rsi.explain(images, { layer: 'featurs.10', baseline: base }), (e: Error) => e instanceof UnknownLayerError && /did you mean 'features.10'/.test(e.message));
  await assert.rejects(rsi.explain(images, { baseline: base, weighting: 'x' as never }), /weighting must be one of guided, relu-grad, plain/);
});
