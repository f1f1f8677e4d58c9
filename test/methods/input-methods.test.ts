/**
 * Input-space methods (Captum's Saliency, InputXGradient, IntegratedGradients) against torch:
 * the fixtures' input gradients (tools/export_fixtures.py) and Captum's IG formula evaluated in
 * float64 by tools/method_references.py.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { OptionError } from '../../src/errors.js';
import { createMethod } from '../../src/methods/registry.js';
import { relError } from '../helpers/fixtures.js';
import { fixturePipeline } from '../helpers/methods.js';

for (const name of ['resnet', 'vgg', 'mobilenetv2']) {
  test(`saliency and input-x-gradient on ${name} equal |g| and x * g from torch's input gradients`, async () => {
    const { fx, pipeline, images } = await fixturePipeline(name);
    const targets = fx.meta.samples.map((s) => s.target);
    const sal = await createMethod('saliency', pipeline).explain(images, { targets });
    const ixg = await createMethod('input-x-gradient', pipeline).explain(images, { targets });
    fx.meta.samples.forEach((s, i) => {
      const g = fx.read(s.inputGrad.logit);
      const x = images[i]!;
      assert.deepEqual(sal[i]!.attributionShape, [3, 32, 32]);
      assert.ok(relError(sal[i]!.attributions!, g.map(Math.abs)) < 1e-4, `saliency error ${relError(sal[i]!.attributions!, g.map(Math.abs))}`);
      assert.ok(relError(ixg[i]!.attributions!, g.map((v, e) => v * x[e]!)) < 1e-4, 'input x gradient');
      // cam: ReLU of the channel sum, at the input's size.
      const sum = Array.from({ length: 32 * 32 }, (_, p) => Math.max(0, x[p]! * g[p]! + x[1024 + p]! * g[1024 + p]! + x[2048 + p]! * g[2048 + p]!));
      assert.ok(relError(ixg[i]!.cam, sum) < 1e-4);
      assert.deepEqual(ixg[i]!.camShape, [32, 32]);
      assert.equal(sal[i]!.target, s.target);
    });
  });
}

const REFS = JSON.parse(readFileSync(fileURLToPath(new URL('../fixtures/method-refs.json', import.meta.url)), 'utf8'));

for (const name of ['resnet', 'vgg']) {
  test(`ig on ${name} equals Captum's IntegratedGradients (gauss-legendre and riemann_trapezoid) with its delta`, async () => {
    const { fx, pipeline, images } = await fixturePipeline(name);
    const ref = REFS[name];
    const base = new Float32Array(images[0]!.length).fill(ref.baseline);
    for (const [rule, r] of Object.entries(ref.ig) as [string, { steps: number; attributions: number[][]; delta: number[] }][]) {
      const res = await createMethod('ig', pipeline).explain(images, { targets: fx.meta.samples.map((s) => s.target), baseline: base, steps: r.steps, rule, internalBatchSize: 4 });
      res.forEach((e, i) => {
        const err = relError(e.attributions!, r.attributions[i]!);
        assert.ok(err < 1e-4, `${name} ${rule} sample ${i}: error ${err}`);
        assert.ok(Math.abs(e.completenessError! - r.delta[i]!) < 1e-4 * Math.max(1, Math.abs(r.delta[i]!)), `${rule} delta ${e.completenessError} vs ${r.delta[i]}`);
        assert.equal(e.steps, r.steps);
      });
    }
  });
}

test('ig: completeness improves with steps; no layer; bad rules refused', async () => {
  const { pipeline, images } = await fixturePipeline('densenet');
  const ig = createMethod('ig', pipeline);
  const base = new Float32Array(images[0]!.length);
  const errs: number[] = [];
  for (const steps of [4, 16, 64]) errs.push(Math.abs((await ig.explain([images[0]!], { baseline: base, steps }))[0]!.completenessError!));
  assert.ok(errs[2]! < errs[0]!, `${errs}`);
  await assert.rejects(ig.explain(images, { baseline: base, layer: 'features.relu5' }), (e: Error) => e instanceof OptionError && /ig attributes to the input pixels; it takes no layer/.test(e.message));
  await assert.rejects(ig.explain(images, { baseline: base, rule: 'simpson' }), /rule must be one of gauss-legendre, trapezoid, left, right, middle/);
  await assert.rejects(ig.explain(images, { baseline: base, weighting: 'plain' }), /ig does not take the option 'weighting'/);
});

for (const name of ['resnet', 'vgg']) {
  test(`guided-backprop and guided-gradcam on ${name} equal Captum's GuidedBackprop and GuidedGradCam`, async () => {
    const { fx, pipeline, images } = await fixturePipeline(name);
    const ref = REFS[name];
    const targets = fx.meta.samples.map((s) => s.target);
    const gb = await createMethod('guided-backprop', pipeline).explain(images, { targets });
    const ggc = await createMethod('guided-gradcam', pipeline).explain(images, { targets, layer: ref.layer });
    fx.meta.samples.forEach((s, i) => {
      assert.ok(relError(gb[i]!.attributions!, ref['guided-backprop'][i]) < 1e-4, `guided-backprop ${relError(gb[i]!.attributions!, ref['guided-backprop'][i])}`);
      assert.ok(relError(ggc[i]!.attributions!, ref['guided-gradcam'][i]) < 1e-4, `guided-gradcam ${relError(ggc[i]!.attributions!, ref['guided-gradcam'][i])}`);
      // The guided gradient is not the plain one on a network with ReLUs.
      assert.ok(relError(gb[i]!.attributions!, fx.read(s.inputGrad.logit)) > 1e-2);
    });
  });
}

test('Guided Backprop equals the plain gradient on a network without ReLUs (MobileNetV2: ReLU6 only)', async () => {
  const { fx, pipeline, images, model } = await fixturePipeline('mobilenetv2');
  assert.ok(!model.graph.nodes.some((n) => n.opType === 'Relu'));
  const targets = fx.meta.samples.map((s) => s.target);
  const gb = await createMethod('guided-backprop', pipeline).explain(images, { targets });
  fx.meta.samples.forEach((s, i) => assert.ok(relError(gb[i]!.attributions!, fx.read(s.inputGrad.logit)) < 1e-4));
});

test('input methods on an NHWC model return attributions as [C, H, W] (torch gradients of the NHWC input, transposed)', async () => {
  const { fx, pipeline, images, model } = await fixturePipeline('variety_nhwc');
  assert.equal(model.inputLayout, 'NHWC');
  const targets = fx.meta.samples.map((s) => s.target);
  const res = await createMethod('input-x-gradient', pipeline).explain(images, { targets });
  fx.meta.samples.forEach((s, i) => {
    const g = fx.read(s.inputGrad.logit); // [1, 32, 32, 3]
    const x = images[i]!;
    const chw = Array.from({ length: 3 * 32 * 32 }, (_, e) => {
      const [k, p] = [Math.floor(e / 1024), e % 1024];
      return x[p * 3 + k]! * g[p * 3 + k]!;
    });
    assert.deepEqual(res[i]!.attributionShape, [3, 32, 32]);
    assert.ok(relError(res[i]!.attributions!, chw) < 1e-4, `error ${relError(res[i]!.attributions!, chw)}`);
  });
});
