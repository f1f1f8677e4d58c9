/** RSI-Grad-CAM's path trace (the page plots it): scores and running sums per path point. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RsiGradCam } from '../../src/methods/rsi-grad-cam.js';
import { fixturePipeline } from '../helpers/methods.js';

test('the path trace has one entry per point; its last running sum is sum(IG) and meets the score change up to the completeness error', async () => {
  const { fx, pipeline, images } = await fixturePipeline('vgg');
  const rsi = new RsiGradCam(pipeline);
  const base = new Float32Array(images[0]!.length);
  const steps = 12;
  const [r] = await rsi.explain([images[0]!], { layer: fx.meta.layers[1]!.modulePath, steps, baseline: base, returnAttributions: true, internalBatchSize: 5 });
  const t = r!.pathTrace!;
  assert.deepEqual(t.alphas, Array.from({ length: steps + 1 }, (_, i) => i / steps));
  assert.equal(t.scores.length, steps + 1);
  assert.equal(t.runningSum[0], 0);
  let igSum = 0;
  for (const v of r!.integratedGradients!) igSum += v;
  const last = t.runningSum[steps]!;
  assert.ok(Math.abs(last - igSum) <= 1e-6 * Math.max(1, Math.abs(igSum)), `${last} vs ${igSum}`);
  assert.ok(Math.abs(t.scores[steps]! - r!.score) < 1e-6);
  assert.ok(Math.abs(t.scores[0]! - r!.baselineScore!) < 1e-6);
  const err = last - (t.scores[steps]! - t.scores[0]!);
  assert.ok(Math.abs(err - r!.completenessError!) <= 1e-6 * Math.max(1, Math.abs(err)), `${err} vs ${r!.completenessError}`);
  assert.ok(t.runningSum.some((v) => v !== 0));
});
