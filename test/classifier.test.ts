import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Classifier } from '../src/classifier.js';
import { presetSpec } from '../src/image/preprocess.js';
import { RsiGradCam } from '../src/methods/rsi-grad-cam.js';
import { OptionError } from '../src/errors.js';
import { fixturePipeline, runtime } from './helpers/methods.js';
import { relError } from './helpers/fixtures.js';

test("RSI-Grad-CAM's default baseline is a black image through the model's preprocessing", async () => {
  const { model, pipeline, images } = await fixturePipeline('resnet');
  const c = new Classifier(model, runtime, { source: 'resnet', inputSpec: presetSpec('imagenet', [32, 32]), labels: Array.from({ length: 10 }, (_, i) => `c${i}`) });
  // Black pixels after torchvision's normalisation: (0 - mean) / std per channel.
  const mean = [0.485, 0.456, 0.406];
  const std = [0.229, 0.224, 0.225];
  const black = new Float32Array(3 * 32 * 32).map((_, i) => -mean[Math.floor(i / 1024)]! / std[Math.floor(i / 1024)]!);
  const [a] = await c.explain([images[0]!], { steps: 6 });
  const [b] = await new RsiGradCam(pipeline).explain([images[0]!], { steps: 6, baseline: black });
  assert.ok(relError(a!.weights, b!.weights) < 1e-6);
  assert.ok(Math.abs(a!.baselineScore! - b!.baselineScore!) < 1e-7);
  // Labels and class lookup.
  assert.equal(c.classIndex('c7'), 7);
  assert.throws(() => c.classIndex('c70'), OptionError);
  assert.equal(c.layers().filter((l) => l.isDefault).length, 1);
  assert.throws(() => new Classifier(model, runtime, { source: 'x', labels: ['a'] }), /1 labels for a model with 10 classes/);
});
