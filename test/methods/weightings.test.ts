import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RsiGradCam } from '../../src/methods/rsi-grad-cam.js';
import { spatialMean } from '../../src/methods/cam.js';
import { DEFAULT_WEIGHTING, WEIGHTINGS, registerWeighting, weightingSpec } from '../../src/methods/weightings.js';
import { OptionError } from '../../src/errors.js';
import { relError } from '../helpers/fixtures.js';
import { fixturePipeline } from '../helpers/methods.js';

test('a registered weighting runs by name with its own integrand: relu-grad minus the negative part is plain', async () => {
  // IG = int g dA = int ReLU(g) dA - int ReLU(-g) dA per unit, so mean(P) - mean(N) must equal plain's weights.
  registerWeighting('test-negative-part', {
    description: 'spatial mean of int ReLU(-g) dA',
    integrands: { neg: (g) => (g < 0 ? -g : 0) },
    weights: (p) => spatialMean(p.integrals.neg!, p.channels, p.hw),
  });
  assert.ok(WEIGHTINGS.includes('test-negative-part'));
  assert.throws(() => registerWeighting('relu-grad', weightingSpec('plain')), (e: Error) => e instanceof OptionError && /exists already/.test(e.message));

  const { fx, pipeline, images } = await fixturePipeline('mobilenetv2');
  const layer = fx.meta.layers[1]!.modulePath;
  const base = new Float32Array(images[0]!.length);
  const o = { layer, steps: 6, baseline: base, targets: fx.meta.samples[0]!.target };
  const rsi = new RsiGradCam(pipeline);
  const [pos] = await rsi.explain([images[0]!], { ...o, weighting: 'relu-grad' });
  const [neg] = await rsi.explain([images[0]!], { ...o, weighting: 'test-negative-part' });
  const [plain] = await rsi.explain([images[0]!], { ...o, weighting: 'plain' });
  const diff = pos!.weights.map((v, k) => v - neg!.weights[k]!);
  assert.ok(relError(diff, plain!.weights) < 1e-4, `error ${relError(diff, plain!.weights)}`);
  // The negative part is not negligible here, so the check has teeth.
  assert.ok(relError(pos!.weights, plain!.weights) > 1e-2);
  // Completeness does not depend on the weighting.
  assert.ok(Math.abs(neg!.completenessError! - plain!.completenessError!) < 1e-6);
});

test('pos-neg-0.5 is relu-grad minus half the negative part: the midpoint of relu-grad and plain', async () => {
  // P - N/2 with IG = P - N is (P + IG) / 2 per unit, so its weights are the mean of relu-grad's and plain's.
  const { fx, pipeline, images } = await fixturePipeline('resnet');
  const layer = fx.meta.layers[1]!.modulePath;
  const o = { layer, steps: 6, baseline: new Float32Array(images[0]!.length), targets: fx.meta.samples[0]!.target };
  const rsi = new RsiGradCam(pipeline);
  const [pn] = await rsi.explain([images[0]!], { ...o, weighting: 'pos-neg-0.5' });
  const [pos] = await rsi.explain([images[0]!], { ...o, weighting: 'relu-grad' });
  const [plain] = await rsi.explain([images[0]!], { ...o, weighting: 'plain' });
  const mid = pos!.weights.map((v, k) => (v + plain!.weights[k]!) / 2);
  assert.ok(relError(pn!.weights, mid) < 1e-4, `error ${relError(pn!.weights, mid)}`);
  // It differs from both ends, so the check has teeth.
  assert.ok(relError(pn!.weights, pos!.weights) > 1e-2 && relError(pn!.weights, plain!.weights) > 1e-2);
  assert.ok(WEIGHTINGS.includes('pos-neg-0.5'));
});

test('unknown weightings are refused with the list; the default is a built-in', async () => {
  assert.ok(WEIGHTINGS.slice(0, 3).join() === 'guided,relu-grad,plain');
  assert.ok(WEIGHTINGS.includes(DEFAULT_WEIGHTING));
  assert.throws(() => weightingSpec('toString'), /weighting must be one of guided, relu-grad, plain/);
  const { pipeline, images } = await fixturePipeline('vgg');
  await assert.rejects(new RsiGradCam(pipeline).explain([images[0]!], { weighting: 'nope' }), (e: Error) => e instanceof OptionError && /got 'nope'/.test(e.message));
});
