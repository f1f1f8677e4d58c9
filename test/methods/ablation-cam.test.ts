import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AblationCam } from '../../src/methods/ablation-cam.js';
import { relError } from '../helpers/fixtures.js';
import { fixturePipeline } from '../helpers/methods.js';

test('Ablation-CAM on a GAP + linear head has the closed form w_k = W[c, k] * mean(A_k) / y', async () => {
  const { fx, model, pipeline, images } = await fixturePipeline('resnet');
  // resnet's head: layer2 -> GlobalAveragePool -> Flatten -> Gemm(W, b, transB=1).
  const gemm = model.graph.nodes.find((n) => n.opType === 'Gemm')!;
  const W = model.graph.initializers.get(gemm.inputs[1]!)!.data as Float32Array;
  const layer = fx.meta.layers[1]!;
  const targets = fx.meta.samples.map((s) => s.target);
  const res = await new AblationCam(pipeline).explain(images, { layer: layer.modulePath, targets, internalBatchSize: 5 });
  res.forEach((r, i) => {
    const rec = fx.meta.samples[i]!.layers[layer.modulePath]!;
    const a = fx.read(rec.activation);
    const [c, h, w] = rec.activation.shape.slice(1) as [number, number, number];
    const y = fx.read(fx.meta.samples[i]!.logits)[targets[i]!]!;
    const expected = Array.from({ length: c }, (_, k) => {
      const mean = a.subarray(k * h * w, (k + 1) * h * w).reduce((s, v) => s + v, 0) / (h * w);
      return (W[targets[i]! * c + k]! * mean) / (y + 1e-7);
    });
    const e = relError(r.weights, expected);
    assert.ok(e < 1e-3, `sample ${i}: weights error ${e}`);
    assert.ok(Math.abs(r.score - y) < 1e-4);
  });
});
