/**
 * Smoothing modifiers: NoiseTunnel (smoothgrad, smoothgrad_sq, vargrad) against Captum's
 * formula with the same noise (tools/method_references.py), eigen smoothing against
 * pytorch-grad-cam's projection, aug smoothing as the mean of the flipped-back augmented maps.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { OptionError } from '../../src/errors.js';
import { createMethod } from '../../src/methods/registry.js';
import { flipWidth } from '../../src/methods/smoothing.js';
import { normalizeMinMax } from '../../src/image/float-map.js';
import { relError } from '../helpers/fixtures.js';
import { fixturePipeline } from '../helpers/methods.js';

const REFS = JSON.parse(readFileSync(fileURLToPath(new URL('../fixtures/method-refs.json', import.meta.url)), 'utf8'));

test("noise smoothing of saliency equals Captum's NoiseTunnel with the same noise, for each noise type", async () => {
  const { fx, pipeline, images } = await fixturePipeline('resnet');
  const ref = REFS.resnet.noise;
  const targets = fx.meta.samples.map((s) => s.target);
  for (const noiseType of ['smoothgrad', 'smoothgrad_sq', 'vargrad'] as const) {
    const seen: number[] = [];
    const res = await createMethod('saliency', pipeline).explain(images, {
      targets, smooth: 'noise', noiseSamples: ref.samples, noiseStdev: ref.stdev, seed: ref.seed, noiseType, onProgress: (d: number) => seen.push(d),
    });
    res.forEach((e, i) => {
      const err = relError(e.attributions!, ref[noiseType][i]);
      assert.ok(err < 1e-4, `${noiseType} sample ${i}: error ${err}`);
      assert.deepEqual(e.smoothing, { mode: 'noise', copies: ref.samples, noiseType });
      assert.equal(e.target, targets[i]);
      assert.ok(Math.abs(e.score - fx.read(fx.meta.samples[i]!.logits)[targets[i]!]!) < 1e-4, 'the score at the clean image');
    });
    assert.equal(seen.at(-1), ref.samples * 2 * images.length, 'progress over all copies');
  }
});

test("eigen smoothing of Grad-CAM is pytorch-grad-cam's projection of w_k A_k", async () => {
  for (const name of ['resnet', 'vgg']) {
    const { fx, pipeline, images } = await fixturePipeline(name);
    const ref = REFS[name];
    const res = await createMethod('gradcam', pipeline).explain(images, { layer: ref.layer, targets: fx.meta.samples.map((s) => s.target), smooth: 'eigen' });
    res.forEach((e, i) => assert.ok(relError(e.cam, ref['eigen-gradcam'][i]) < 1e-4, `${name} ${i}: ${relError(e.cam, ref['eigen-gradcam'][i])}`));
  }
  const { pipeline, images } = await fixturePipeline('resnet');
  await assert.rejects(createMethod('eigencam', pipeline).explain(images, { smooth: 'eigen' }), (e: Error) => e instanceof OptionError && /eigen smoothing does not apply to eigencam/.test(e.message));
});

test('aug smoothing: the mean of the heatmaps of the flipped and brightened inputs, each flipped back', async () => {
  const { pipeline, images } = await fixturePipeline('vgg');
  const gc = createMethod('gradcam', pipeline);
  const [s] = await gc.explain([images[0]!], { smooth: 'aug', targets: 4 });
  const maps: Float32Array[] = [];
  for (const flip of [false, true]) {
    for (const factor of [1, 1.1]) {
      const x = (flip ? flipWidth(images[0]!, 32, 32, 3, true) : images[0]!).map((v) => v * factor);
      const [e] = await gc.explain([x], { targets: 4 });
      maps.push(flip ? flipWidth(e!.heatmap, 32, 32) : e!.heatmap);
    }
  }
  const mean = maps[0]!.map((_, i) => maps.reduce((a, m) => a + m[i]!, 0) / maps.length);
  assert.ok(relError(s!.cam, mean) < 1e-5);
  assert.ok(relError(s!.heatmap, normalizeMinMax({ width: 32, height: 32, data: mean }).data) < 1e-5);
  assert.deepEqual(s!.smoothing, { mode: 'aug', copies: 4 });
  // Smoothing options are checked.
  await assert.rejects(gc.explain(images, { smooth: 'blur' as never }), /smooth must be one of noise, aug, eigen/);
  await assert.rejects(gc.explain(images, { noiseSamples: 3 }), /noiseSamples applies to smooth: 'noise' only/);
  await assert.rejects(gc.explain(images, { smooth: 'noise', noiseStdev: -1 }), /noiseStdev must be a non-negative number/);
});
