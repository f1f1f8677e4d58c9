import { test } from 'node:test';
import assert from 'node:assert/strict';
import { GradCam } from '../../src/methods/gradcam.js';
import { relError } from '../helpers/fixtures.js';
import { fixturePipeline } from '../helpers/methods.js';

// References: pytorch-grad-cam's GradCAM definition evaluated with torch autograd
// (tools/export_fixtures.py): w_k = mean_hw d logit / d A_k; cam = ReLU(sum_k w_k A_k).
for (const name of ['vgg', 'resnet', 'mobilenetv2', 'densenet']) {
  test(`Grad-CAM on ${name} equals the torch reference at both recorded layers`, async () => {
    const { fx, pipeline, images } = await fixturePipeline(name);
    const gc = new GradCam(pipeline);
    for (const layer of fx.meta.layers) {
      const targets = fx.meta.samples.map((s) => s.target);
      const res = await gc.explain(images, { layer: layer.modulePath, targets });
      res.forEach((r, i) => {
        const ref = fx.meta.samples[i]!.layers[layer.modulePath]!;
        assert.deepEqual(r.camShape, ref.gradcam!.shape.slice(1));
        const e = relError(r.cam, fx.read(ref.gradcam!));
        assert.ok(e < 1e-4, `${name} ${layer.modulePath} sample ${i}: cam error ${e}`);
        // Weights from the recorded gradient, computed here independently.
        const g = fx.read(ref.gradLogit);
        const [c, h, w] = ref.gradLogit.shape.slice(1) as [number, number, number];
        const weights = Array.from({ length: c }, (_, k) => g.slice(k * h * w, (k + 1) * h * w).reduce((a, b) => a + b, 0) / (h * w));
        assert.ok(relError(r.weights, weights) < 1e-4, 'weights');
        assert.equal(r.scoreMode, 'logit');
        assert.equal(r.target, targets[i]);
        assert.ok(Math.abs(r.score - fx.read(fx.meta.samples[i]!.logits)[targets[i]!]!) < 1e-4, 'score is the target logit');
        // Heatmap: model input size, in [0, 1], max 1 unless the cam is all zero.
        assert.deepEqual(r.heatmapShape, [32, 32]);
        const max = Math.max(...r.heatmap);
        assert.ok(Math.min(...r.heatmap) >= 0 && (max === 1 || r.cam.every((v) => v === 0)));
      });
    }
  });
}

test('Grad-CAM with the softmax score uses d p / d A', async () => {
  const { fx, pipeline, images } = await fixturePipeline('resnet');
  const layer = fx.meta.layers[1]!;
  const r = await new GradCam(pipeline).explain(images, { layer: layer.modulePath, targets: fx.meta.samples.map((s) => s.target), score: 'softmax' });
  const ref = fx.meta.samples[0]!.layers[layer.modulePath]!;
  const g = fx.read(ref.gradProb);
  const [c, h, w] = ref.gradProb.shape.slice(1) as [number, number, number];
  const weights = Array.from({ length: c }, (_, k) => g.slice(k * h * w, (k + 1) * h * w).reduce((a, b) => a + b, 0) / (h * w));
  assert.ok(relError(r[0]!.weights, weights) < 1e-4);
  assert.ok(Math.abs(r[0]!.score - r[0]!.probability) < 1e-6);
});

test('top-k targets pick the k-th most probable class', async () => {
  const { pipeline, images } = await fixturePipeline('vgg');
  const gc = new GradCam(pipeline);
  const [top1] = await gc.explain([images[0]!]);
  const [top2] = await gc.explain([images[0]!], { targets: { topK: 2 } });
  const order = Array.from(top1!.probabilities.keys()).sort((a, b) => top1!.probabilities[b]! - top1!.probabilities[a]!);
  assert.equal(top1!.target, order[0]);
  assert.equal(top2!.target, order[1]);
  assert.equal(top1!.topk[0]!.index, order[0]);
});
