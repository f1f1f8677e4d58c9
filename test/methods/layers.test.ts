/**
 * Several layers in one explanation: each layer's cam as when asked alone (same session
 * runs), combined as pytorch-grad-cam's aggregate_multi_layers (reference: the fixtures'
 * torch Grad-CAM maps aggregated by tools/multilayer_reference.py).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { OptionError } from '../../src/errors.js';
import { createMethod } from '../../src/methods/registry.js';
import { GradCam } from '../../src/methods/gradcam.js';
import { relError } from '../helpers/fixtures.js';
import { fixturePipeline } from '../helpers/methods.js';

const REF = JSON.parse(readFileSync(fileURLToPath(new URL('../fixtures/multilayer.json', import.meta.url)), 'utf8')) as Record<string, { layers: string[]; samples: { target: number; heatmap: number[] }[] }>;

for (const name of ['resnet', 'mobilenetv2']) {
  test(`Grad-CAM at two layers of ${name} equals aggregate_multi_layers of torch's per-layer maps`, async () => {
    const { pipeline, images } = await fixturePipeline(name);
    const ref = REF[name]!;
    const targets = ref.samples.map((s) => s.target);
    const res = await new GradCam(pipeline).explain(images, { layers: ref.layers, targets });
    res.forEach((r, i) => {
      const e = relError(r.heatmap, ref.samples[i]!.heatmap);
      assert.ok(e < 1e-4, `${name} sample ${i}: heatmap error ${e}`);
      assert.equal(r.layers.length, 2);
      assert.equal(r.layer, r.layers.map((l) => l.layer).join(','));
      assert.deepEqual(r.camShape, [32, 32]);
      assert.equal(r.weights.length, 0);
    });
  });
}

test('each layer of a several-layer run equals that layer explained alone, for every CAM method', async () => {
  const { fx, pipeline, images } = await fixturePipeline('resnet');
  const layers = fx.meta.layers.map((l) => l.modulePath);
  const base = new Float32Array(images[0]!.length);
  for (const method of ['gradcam', 'gradcam++', 'xgradcam', 'layercam', 'hirescam', 'ablationcam', 'rsi-grad-cam']) {
    const m = createMethod(method, pipeline);
    const extra = m.capabilities.usesBaseline ? { baseline: base, steps: 6 } : {};
    const evaluations: number[] = [];
    const both = await m.explain(images, { layers, targets: [1, 2], ...extra, onProgress: (_d: number, t: number) => evaluations.push(t) });
    for (const [li, layer] of layers.entries()) {
      const alone = await m.explain(images, { layer, targets: [1, 2], ...extra });
      both.forEach((r, i) => {
        const l = r.layers[li]!;
        assert.ok(relError(l.cam, alone[i]!.cam) < 1e-5, `${method} ${layer} cam`);
        assert.ok(relError(l.weights, alone[i]!.weights) < 1e-5, `${method} ${layer} weights`);
        assert.equal(l.layer, alone[i]!.layer);
        if (m.capabilities.hasCompleteness) assert.ok(Math.abs(l.completenessError! - alone[i]!.completenessError!) < 1e-6);
      });
    }
    // Gradient methods: both layers from the same runs (one evaluation per image, plus predictions).
    if (method === 'gradcam') assert.equal(evaluations[0], 2 * images.length);
    if (method === 'rsi-grad-cam') assert.equal(evaluations[0], images.length + images.length * 7);
  }
});

test('several layers: bad lists are refused', async () => {
  const { pipeline, images } = await fixturePipeline('resnet');
  const gc = new GradCam(pipeline);
  await assert.rejects(gc.explain(images, { layer: 'layer1', layers: ['layer2'] }), /'layer' or 'layers', not both/);
  await assert.rejects(gc.explain(images, { layers: [] }), /non-empty list/);
  await assert.rejects(gc.explain(images, { layers: ['layer2', '/layer2/layer2.1/relu2/Relu_output_0'] }), (e: Error) => e instanceof OptionError && /asked for twice/.test(e.message));
  await assert.rejects(gc.explain(images, { layers: ['layer2', 'avgpool'] }), /1x1 spatial map/);
});
