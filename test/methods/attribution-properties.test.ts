/**
 * Properties of the attribution methods (ig, layer-ig, conductance, saliency,
 * input-x-gradient) that hold whatever the reference: completeness as Captum states it
 * (sum of attributions = F(x) - F(x'), with F from plain predictions), where it holds (a
 * layer every path passes through) and where it does not (a layer a skip connection
 * bypasses), and attributions in [C, H, W] for a channels-last model.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { outlierScaled } from '../../src/methods/cam.js';
import { optionsFor } from '../../src/methods/method.js';
import { createMethod } from '../../src/methods/registry.js';
import type { Explanation } from '../../src/methods/types.js';
import { relError } from '../helpers/fixtures.js';
import { fixturePipeline } from '../helpers/methods.js';

const sum = (t: ArrayLike<number>) => Array.from(t).reduce((a, b) => a + b, 0);

/** The scores F(x) and F(x') from plain predictions (not from the method's own runs). */
async function scores(pipeline: Awaited<ReturnType<typeof fixturePipeline>>['pipeline'], x: Float32Array, base: Float32Array, target: number) {
  const [px, pb] = await pipeline.predict([x, base], 2);
  return { fx: px!.logits[target]!, fb: pb!.logits[target]! };
}

test("ig: the completeness error is Captum's convergence delta, sum(attributions) - (F(x) - F(x')), and it vanishes as steps grow", async () => {
  const { fx, pipeline, images } = await fixturePipeline('resnet');
  const x = images[0]!;
  const target = fx.meta.samples[0]!.target;
  const base = new Float32Array(x.length).fill(-0.25);
  const f = await scores(pipeline, x, base, target);
  const errors: number[] = [];
  for (const [steps, rule] of [[8, 'left'], [1000, 'left'], [1000, 'gauss-legendre']] as const) {
    const [e] = await createMethod('ig', pipeline).explain([x], { baseline: base, steps, rule, targets: target, score: 'logit' });
    assert.ok(Math.abs(e!.score - f.fx) < 1e-5 && Math.abs(e!.baselineScore! - f.fb) < 1e-5, 'F(x) and F(x\') as the model gives them');
    assert.ok(Math.abs(e!.completenessError! - (sum(e!.attributions!) - (f.fx - f.fb))) < 1e-5, 'delta = sum - (F(x) - F(x\'))');
    errors.push(e!.relativeCompletenessError!);
  }
  // The left Riemann sum's error falls like 1/m; Gauss-Legendre's is at float32's floor.
  assert.ok(errors[1]! < errors[0]! / 20 && errors[2]! < 1e-3, `relative completeness errors ${errors}`);
});

test("ig with Captum's riemann_trapezoid: step sizes sum to m/(m+1), and the sum of attributions follows", async () => {
  // Captum's riemann_trapezoid over n = m + 1 points weights them 1/n (ends halved): the
  // attributions are m/(m+1) times the exact trapezoid's.
  const { fx, pipeline, images } = await fixturePipeline('mobilenetv2');
  const x = images[1]!;
  const o = { baseline: new Float32Array(x.length), steps: 10, targets: fx.meta.samples[1]!.target };
  const ig = createMethod('ig', pipeline);
  const [trap] = await ig.explain([x], { ...o, rule: 'trapezoid' });
  // With m + 1 points the trapezoid's weights are (1/2, 1, ..., 1, 1/2) / (m + 1): recompute from the gradients.
  const { session, outputs } = await pipeline.session({ score: 'logit', wrt: [pipeline.model.inputName] });
  const grads: Float32Array[] = [];
  for (let i = 0; i <= o.steps; i++) {
    const xi = x.map((v) => (i / o.steps) * v);
    const r = await session.run(pipeline.feeds({ data: xi, dims: [1, 3, 32, 32] }, [o.targets]));
    grads.push(r[outputs.gradients[0]!]!.data);
  }
  const expected = x.map((v, e) => (v * grads.reduce((acc, g, i) => acc + (i === 0 || i === o.steps ? 0.5 : 1) * g[e]!, 0)) / (o.steps + 1));
  assert.ok(relError(trap!.attributions!, expected) < 1e-4, `trapezoid ${relError(trap!.attributions!, expected)}`);
  // Scaled by (m + 1) / m it is the exact trapezoid, which the completeness error then measures.
  const exact = sum(expected) * ((o.steps + 1) / o.steps);
  assert.ok(Math.abs(trap!.completenessError! - (sum(expected) - (trap!.score - trap!.baselineScore!))) < 1e-5);
  assert.ok(Math.abs(exact - sum(expected)) > 0.05 * Math.abs(sum(expected)), 'the factor m/(m+1) is visible at m = 10');
});

test('layer-ig is complete at a layer every path passes through, and not at one a skip connection bypasses', async () => {
  const { fx, pipeline, images, model } = await fixturePipeline('resnet');
  const x = images[1]!;
  const target = fx.meta.samples[1]!.target;
  const base = new Float32Array(x.length);
  const f = await scores(pipeline, x, base, target);
  const isCut = (layer: string) => !model.build({ feed: model.layer(layer).tensor }).graph.inputs.some((v) => v.name === model.inputName);
  const lig = createMethod('layer-ig', pipeline);
  // layer1 (the block's output after the residual Add): a cut of the graph.
  assert.ok(isCut('layer1'));
  const [cut] = await lig.explain([x], { layer: 'layer1', baseline: base, steps: 200, targets: target, score: 'logit' });
  assert.deepEqual(cut!.attributionShape, model.layer('layer1').shape.slice(1));
  assert.ok(Math.abs(cut!.completenessError! - (sum(cut!.attributions!) - (f.fx - f.fb))) < 1e-5);
  assert.ok(cut!.relativeCompletenessError! < 1e-3, `at layer1: ${cut!.relativeCompletenessError}`);
  // layer1.0.conv2: the skip connection carries the image around it, so the fed path misses part of F(x) - F(x').
  assert.ok(!isCut('layer1.0.conv2'));
  const [inner] = await lig.explain([x], { layer: 'layer1.0.conv2', baseline: base, steps: 200, targets: target, score: 'logit' });
  assert.ok(inner!.relativeCompletenessError! > 0.05, `at layer1.0.conv2: ${inner!.relativeCompletenessError}`);
});

test("conductance: the layer's conductances sum to F(x) - F(x') (Captum's delta) at a cut layer, closer as steps grow", async () => {
  const { fx, pipeline, images } = await fixturePipeline('resnet');
  const x = images[0]!;
  const target = fx.meta.samples[0]!.target;
  const base = new Float32Array(x.length);
  const f = await scores(pipeline, x, base, target);
  const cond = createMethod('conductance', pipeline);
  const errors: number[] = [];
  let last: Explanation | undefined;
  for (const steps of [10, 400]) {
    [last] = await cond.explain([x], { layer: 'layer1', baseline: base, steps, targets: target, score: 'logit' });
    assert.ok(Math.abs(last!.completenessError! - (sum(last!.attributions!) - (f.fx - f.fb))) < 1e-5);
    errors.push(last!.relativeCompletenessError!);
  }
  assert.ok(errors[1]! < 1e-3 && errors[1]! < errors[0]! / 4, `relative errors ${errors}`);
  // The cam is ReLU of the conductances' channel sum.
  const [c, h, w] = last!.attributionShape! as [number, number, number];
  const channelSum = Array.from({ length: h * w }, (_, p) => Math.max(0, Array.from({ length: c }, (_, k) => last!.attributions![k * h * w + p]!).reduce((a, b) => a + b, 0)));
  assert.ok(relError(last!.cam, channelSum) < 1e-6);
});

test('input methods on a channels-last model give attributions as [C, H, W]', async () => {
  const { fx, pipeline, images, model } = await fixturePipeline('variety_nhwc');
  assert.equal(model.inputLayout, 'NHWC');
  const [h, w, c] = model.inputShape.slice(1) as number[];
  const targets = fx.meta.samples.map((s) => s.target);
  const sal = await createMethod('saliency', pipeline).explain(images, { targets });
  const ixg = await createMethod('input-x-gradient', pipeline).explain(images, { targets });
  const toChw = (t: Float32Array) => Float32Array.from({ length: t.length }, (_, i) => t[(i % (h! * w!)) * c! + Math.floor(i / (h! * w!))]!);
  fx.meta.samples.forEach((s, i) => {
    const g = toChw(fx.read(s.inputGrad.logit));
    const xi = toChw(images[i]!);
    assert.deepEqual(sal[i]!.attributionShape, [c, h, w]);
    assert.ok(relError(sal[i]!.attributions!, g.map(Math.abs)) < 1e-4);
    assert.ok(relError(ixg[i]!.attributions!, g.map((v, e) => v * xi[e]!)) < 1e-4);
    assert.deepEqual(sal[i]!.camShape, [h, w]);
  });
});

test("outlierScaled is Captum's _normalize_attr (sign 'positive', outlier_perc 2)", () => {
  // Sorted [0, 1, 2, 3, 94]: cumulative sums 0, 1, 3, 6, 100 first reach 98 at 94.
  assert.deepEqual(Array.from(outlierScaled(Float32Array.from([3, 0, 94, 2, 1]))), Array.from(Float32Array.from([3 / 94, 0, 1, 2 / 94, 1 / 94])));
  // Equal values: the threshold is that value; negatives count as zero; all zero stays zero.
  assert.deepEqual(Array.from(outlierScaled(Float32Array.from([5, 5, -3, 5]))), [1, 1, 0, 1]);
  assert.deepEqual(Array.from(outlierScaled(new Float32Array(4))), [0, 0, 0, 0]);
  // outlier_perc 50: cumulative 1, 3, 6, 10 of 10 first reach 5 at 3.
  assert.deepEqual(Array.from(outlierScaled(Float32Array.from([1, 2, 3, 4]), 50)), Array.from(Float32Array.from([1 / 3, 2 / 3, 1, 1])));
});

test('pixel-gradient methods draw their heatmap as Captum does; layer methods and input methods without a layer option', async () => {
  const { fx, pipeline, images } = await fixturePipeline('vgg');
  const x = images[0]!;
  const target = fx.meta.samples[0]!.target;
  for (const name of ['saliency', 'input-x-gradient', 'ig', 'guided-backprop']) {
    const m = createMethod(name, pipeline);
    assert.equal(m.capabilities.usesLayer, false, name);
    // The layer a compare / eval line gives every method is left out for them.
    assert.deepEqual(optionsFor(m, { layer: 'features.10', layers: ['a'], steps: 4 }), m.capabilities.options.includes('steps') ? { steps: 4 } : {});
    const [e] = await m.explain([x], { targets: target, ...(m.capabilities.usesBaseline ? { baseline: new Float32Array(x.length) } : {}) });
    assert.deepEqual(Array.from(e!.heatmap), Array.from(outlierScaled(e!.cam)), name);
    assert.ok(e!.heatmap.some((v) => v === 1) && e!.heatmap.filter((v) => v > 0.5).length > 3, `${name}: more than one bright pixel`);
  }
  const cond = createMethod('conductance', pipeline);
  assert.notEqual(cond.capabilities.usesLayer, false);
  assert.deepEqual(optionsFor(cond, { layer: 'features.10', steps: 4 }), { layer: 'features.10', steps: 4 });
});
