/**
 * Photos for models that do not take 3-channel RGB: one channel gets the BT.601 luminance,
 * presets apply per channel, the black baseline has the model's size, other channel counts
 * are refused; the `raw` preset passes pixels through.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { blackBaseline, parseInputSpec, presetSpec, tensorShape, toTensor, type InputSpec } from '../../src/image/preprocess.js';
import { Classifier } from '../../src/classifier.js';
import { Model } from '../../src/engine/model.js';
import { readOnnxFile } from '../../src/node/load-onnx.js';
import { OptionError } from '../../src/errors.js';
import { loadFixture } from '../helpers/fixtures.js';
import { runtime } from '../helpers/methods.js';

// Two pixels: pure red, and (10, 20, 30).
const two = { width: 2, height: 1, data: Uint8Array.from([255, 0, 0, 10, 20, 30]) };
const lum = (r: number, g: number, b: number) => 0.299 * r + 0.587 * g + 0.114 * b;

function close(got: ArrayLike<number>, want: number[], tol = 1e-5) {
  assert.equal(got.length, want.length);
  want.forEach((w, i) => assert.ok(Math.abs(got[i]! - w) <= tol, `[${i}] ${got[i]} != ${w}`));
}

test('one channel: the luminance 0.299 R + 0.587 G + 0.114 B through the preset', () => {
  const gray = (name: Parameters<typeof presetSpec>[0]): InputSpec => presetSpec(name, [1, 2], 'NCHW', 1);
  close(toTensor(two, gray('unit')), [lum(255, 0, 0) / 255, lum(10, 20, 30) / 255]);
  close(toTensor(two, gray('raw')), [lum(255, 0, 0), lum(10, 20, 30)], 1e-4);
  close(toTensor(two, gray('tf')), [lum(255, 0, 0) / 127.5 - 1, lum(10, 20, 30) / 127.5 - 1]);
  // imagenet: mean and std weighted like the pixel, so a grey pixel means what it means in RGB.
  const m = lum(0.485, 0.456, 0.406);
  const s = lum(0.229, 0.224, 0.225);
  close(toTensor(two, gray('imagenet')), [(lum(255, 0, 0) / 255 - m) / s, (lum(10, 20, 30) / 255 - m) / s]);
  // The same for NHWC (one channel lies the same either way).
  close(toTensor(two, presetSpec('unit', [1, 2], 'NHWC', 1)), [lum(255, 0, 0) / 255, lum(10, 20, 30) / 255]);
  assert.deepEqual(tensorShape(presetSpec('unit', [28, 28], 'NCHW', 1)), [1, 1, 28, 28]);
  assert.deepEqual(tensorShape(presetSpec('unit', [28, 28], 'NHWC', 1)), [1, 28, 28, 1]);
  const black = blackBaseline(gray('imagenet'));
  assert.equal(black.length, 2);
  close(black, [-m / s, -m / s]);
});

test('a one-channel JSON spec takes one mean and std (MNIST style); three are weighted; other lengths name the field', () => {
  const mnist = parseInputSpec({ mean: [0.1307], std: [0.3081], scale: 1 / 255 }, 'mnist.json', { channels: 1, size: [1, 2] });
  assert.equal(mnist.channels, 1);
  close(toTensor(two, mnist), [(lum(255, 0, 0) / 255 - 0.1307) / 0.3081, (lum(10, 20, 30) / 255 - 0.1307) / 0.3081]);
  const explicit = parseInputSpec({ channels: 1, preset: 'unit', size: [1, 2] }, 'g.json');
  close(toTensor(two, explicit), [lum(255, 0, 0) / 255, lum(10, 20, 30) / 255]);
  assert.throws(() => parseInputSpec({ mean: [0.5], std: [0.5], scale: 1 }, 'rgb.json'), (e: Error) => e instanceof OptionError && /rgb\.json: field 'mean' must be three numbers \[r, g, b\]/.test(e.message));
  assert.throws(() => parseInputSpec({ preset: 'unit', channels: 4 }, 'four.json'), (e: Error) => e instanceof OptionError && /four\.json: field 'channels' must be 1 \(luminance\) or 3 \(RGB\)/.test(e.message));
});

test('photos are refused for models with 2 or 4 channels, with what to do instead', () => {
  for (const c of [2, 4]) {
    assert.throws(() => toTensor(two, presetSpec('unit', [1, 2], 'NCHW', c)), (e: Error) => e instanceof OptionError && new RegExp(`takes ${c} input channels; photos convert only to 3 \\(RGB\\) or 1 \\(luminance\\)`).test(e.message));
  }
});

test('raw preset: the 0-255 pixel as it is, RGB', () => {
  close(toTensor(two, presetSpec('raw', [1, 2])), [255, 10, 0, 20, 0, 30]);
});

test('a 1-channel model: the classifier converts photos to its channel and its RSI baseline has its size', async () => {
  const fx = loadFixture('variety_gray');
  const model = Model.prepare(await readOnnxFile(fx.onnxPath), { source: 'gray.onnx' });
  assert.equal(model.channels, 1);
  // A spec made without saying the channels (as a library user would): the model decides.
  const c = new Classifier(model, runtime, { source: 'gray.onnx', inputSpec: presetSpec('unit', [28, 28]) });
  assert.equal(c.inputSpec?.channels, 1);
  const photo = { width: 28, height: 28, data: Uint8Array.from({ length: 28 * 28 * 3 }, (_, i) => (i * 37) % 256) };
  const x = c.toTensor(photo);
  assert.equal(x.length, 28 * 28);
  for (const i of [0, 100, 783]) assert.ok(Math.abs(x[i]! - lum(photo.data[3 * i]!, photo.data[3 * i + 1]!, photo.data[3 * i + 2]!) / 255) < 1e-6);
  const base = c.blackBaseline();
  assert.equal(base.length, 28 * 28);
  assert.ok(base.every((v) => v === 0));
  const [e] = await c.explain([x], { method: 'rsi-grad-cam', steps: 8 });
  assert.deepEqual(e!.camShape, [7, 7]);
  assert.ok(Number.isFinite(e!.completenessError!));
  const [g] = await c.explain([x], { method: 'gradcam' });
  assert.deepEqual(g!.heatmapShape, [28, 28]);
});
