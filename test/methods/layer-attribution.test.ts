/**
 * Element-wise layer methods against Captum's formulas in torch (tools/method_references.py):
 * Layer Integrated Gradients and Layer Conductance, attributions at the layer's shape.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { createMethod } from '../../src/methods/registry.js';
import { relError } from '../helpers/fixtures.js';
import { fixturePipeline } from '../helpers/methods.js';

const REFS = JSON.parse(readFileSync(fileURLToPath(new URL('../fixtures/method-refs.json', import.meta.url)), 'utf8'));
type Ref = { steps: number; attributions: number[][]; delta: number[] };

for (const name of ['resnet', 'vgg']) {
  test(`layer-ig and conductance on ${name} equal Captum's LayerIntegratedGradients and LayerConductance`, async () => {
    const { fx, pipeline, images } = await fixturePipeline(name);
    const ref = REFS[name];
    const base = new Float32Array(images[0]!.length).fill(ref.baseline);
    const targets = fx.meta.samples.map((s) => s.target);
    const shape = pipeline.model.layer(ref.layer).shape.slice(1);
    const check = (what: string, res: Awaited<ReturnType<ReturnType<typeof createMethod>['explain']>>, r: Ref) =>
      res.forEach((e, i) => {
        assert.deepEqual(e.attributionShape, shape);
        const err = relError(e.attributions!, r.attributions[i]!);
        assert.ok(err < 1e-4, `${name} ${what} sample ${i}: error ${err}`);
        assert.ok(Math.abs(e.completenessError! - r.delta[i]!) < 1e-4 * Math.max(1, Math.abs(r.delta[i]!)), `${what} delta ${e.completenessError} vs ${r.delta[i]}`);
        // cam: ReLU of the attributions' channel sum.
        const [c, h, w] = shape as number[];
        const sum = Array.from({ length: h! * w! }, (_, p) => Math.max(0, Array.from({ length: c! }, (_, k) => r.attributions[i]![k * h! * w! + p]!).reduce((a, b) => a + b, 0)));
        assert.ok(relError(e.cam, sum) < 1e-4, `${what} cam`);
      });
    for (const [rule, r] of Object.entries(ref['layer-ig']) as [string, Ref][]) {
      check(`layer-ig ${rule}`, await createMethod('layer-ig', pipeline).explain(images, { layer: ref.layer, targets, baseline: base, steps: r.steps, rule, internalBatchSize: 4 }), r);
    }
    const r: Ref = ref.conductance;
    check('conductance', await createMethod('conductance', pipeline).explain(images, { layer: ref.layer, targets, baseline: base, steps: r.steps, internalBatchSize: 3 }), r);
  });
}

test('Layer IG is complete at a layer every path passes through; conductance too as steps grow', async () => {
  const { pipeline, images } = await fixturePipeline('resnet');
  const base = new Float32Array(images[0]!.length);
  // layer2's output feeds only the linear head: the integrand is constant, so Layer IG is exact with any rule.
  const [lig] = await createMethod('layer-ig', pipeline).explain([images[0]!], { layer: 'layer2', baseline: base, steps: 3, rule: 'gauss-legendre' });
  assert.ok(lig!.relativeCompletenessError! < 1e-4, `${lig!.relativeCompletenessError}`);
  const errs = [];
  for (const steps of [4, 64]) errs.push((await createMethod('conductance', pipeline).explain([images[0]!], { layer: 'layer1', baseline: base, steps }))[0]!.relativeCompletenessError!);
  assert.ok(errs[1]! < errs[0]!, `${errs}`);
});
