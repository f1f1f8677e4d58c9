/**
 * Photos for models that do not take 3-channel RGB: one channel gets the BT.601 luminance,
 * two the luminance and alpha, four RGB and alpha (the photo's, or opaque); presets apply per
 * channel (alpha scaled as the luminance is), the black baseline has the model's size, 5 or
 * more channels are refused; the `raw` preset passes pixels through.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { blackBaseline, blurBaseline, parseInputSpec, photoConversion, presetSpec, tensorShape, toTensor, type InputSpec } from '../../src/image/preprocess.js';
import { gaussianBlurRgb } from '../../src/image/blur.js';
import { fitImage } from '../../src/image/fit.js';
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
  // 2 and 4 channels now take photos (below); 5 is refused, naming the counts that work.
  assert.throws(() => parseInputSpec({ preset: 'unit', channels: 5 }, 'five.json'), (e: Error) => e instanceof OptionError && /five\.json: field 'channels' must be 1 \(luminance\), 2 \(luminance, alpha\), 3 \(RGB\) or 4 \(RGB, alpha\), got 5/.test(e.message));
});

test('photos are refused for models with 5 or more channels, with how to give a tensor instead', () => {
  for (const c of [5, 6]) {
    assert.throws(
      () => toTensor(two, presetSpec('unit', [1, 2], 'NCHW', c)),
      (e: Error) => e instanceof OptionError && new RegExp(`takes ${c} input channels; photos convert only to 1 \\(luminance\\), 2 \\(luminance, alpha\\), 3 \\(RGB\\) or 4 \\(RGB, alpha\\), so give the input tensors yourself: Classifier\\.explain\\(\\[x\\]\\) with x a Float32Array of ${c} x H x W values`).test(e.message) && !e.message.includes('\n'),
    );
    assert.throws(() => photoConversion(presetSpec('unit', [1, 2], 'NCHW', c), false), OptionError);
  }
});

// The two pixels with alpha 128 and 0 (half and fully transparent).
const twoAlpha = { ...two, alpha: Uint8Array.from([128, 0]) };

test('two channels: luminance and alpha (the photo\'s, else opaque), alpha scaled as the luminance is', () => {
  const la = (name: Parameters<typeof presetSpec>[0], layout: 'NCHW' | 'NHWC' = 'NCHW') => presetSpec(name, [1, 2], layout, 2);
  // NCHW: [L0, L1, A0, A1].
  close(toTensor(twoAlpha, la('unit')), [lum(255, 0, 0) / 255, lum(10, 20, 30) / 255, 128 / 255, 0]);
  close(toTensor(two, la('unit')), [lum(255, 0, 0) / 255, lum(10, 20, 30) / 255, 1, 1]);
  close(toTensor(twoAlpha, la('tf')), [lum(255, 0, 0) / 127.5 - 1, lum(10, 20, 30) / 127.5 - 1, 128 / 127.5 - 1, -1]);
  close(toTensor(twoAlpha, la('raw')), [lum(255, 0, 0), lum(10, 20, 30), 128, 0], 1e-4);
  const m = lum(0.485, 0.456, 0.406);
  const s = lum(0.229, 0.224, 0.225);
  close(toTensor(twoAlpha, la('imagenet')), [(lum(255, 0, 0) / 255 - m) / s, (lum(10, 20, 30) / 255 - m) / s, (128 / 255 - m) / s, -m / s]);
  // NHWC interleaves them: [L0, A0, L1, A1].
  close(toTensor(twoAlpha, la('unit', 'NHWC')), [lum(255, 0, 0) / 255, 128 / 255, lum(10, 20, 30) / 255, 0]);
  assert.deepEqual(tensorShape(la('unit')), [1, 2, 1, 2]);
  // A JSON file may give [grey, alpha].
  const own = parseInputSpec({ mean: [0.5, 0.25], std: [0.5, 0.125], scale: 1 / 255 }, 'la.json', { channels: 2, size: [1, 2] });
  close(toTensor(twoAlpha, own), [(lum(255, 0, 0) / 255 - 0.5) / 0.5, (lum(10, 20, 30) / 255 - 0.5) / 0.5, (128 / 255 - 0.25) / 0.125, -0.25 / 0.125]);
  assert.throws(() => parseInputSpec({ mean: [0.5, 0.5, 0.5, 0.5], std: [1, 1, 1], scale: 1 }, 'la.json', { channels: 2 }), (e: Error) => /la\.json: field 'mean' must be three numbers \[r, g, b\] or two \[grey, alpha\]/.test(e.message));
  // The black baseline is opaque black.
  close(blackBaseline(la('tf')), [-1, -1, 1, 1]);
});

test('four channels: R, G, B in the preset\'s order and alpha; [r, g, b, alpha] from a JSON file', () => {
  const rgba = (name: Parameters<typeof presetSpec>[0], layout: 'NCHW' | 'NHWC' = 'NCHW') => presetSpec(name, [1, 2], layout, 4);
  close(toTensor(twoAlpha, rgba('unit')), [1, 10 / 255, 0, 20 / 255, 0, 30 / 255, 128 / 255, 0]);
  close(toTensor(two, rgba('unit')), [1, 10 / 255, 0, 20 / 255, 0, 30 / 255, 1, 1]);
  // caffe: B, G, R minus their means, then alpha minus the weighted mean (OpenCV's BGRA order).
  const mA = lum(123.68, 116.779, 103.939);
  close(toTensor(twoAlpha, rgba('caffe')), [0 - 103.939, 30 - 103.939, 0 - 116.779, 20 - 116.779, 255 - 123.68, 10 - 123.68, 128 - mA, 0 - mA], 1e-4);
  close(toTensor(twoAlpha, rgba('unit', 'NHWC')), [1, 0, 0, 128 / 255, 10 / 255, 20 / 255, 30 / 255, 0]);
  const own = parseInputSpec({ mean: [0, 0, 0, 0.5], std: [1, 1, 1, 0.5], scale: 1 / 255 }, 'rgba.json', { channels: 4, size: [1, 2] });
  close(toTensor(twoAlpha, own), [1, 10 / 255, 0, 20 / 255, 0, 30 / 255, (128 / 255 - 0.5) / 0.5, -1]);
  close(blackBaseline(rgba('unit')), [0, 0, 0, 0, 0, 0, 1, 1]);
  assert.deepEqual(tensorShape(rgba('unit', 'NHWC')), [1, 1, 2, 4]);
});

test('how the photo was converted, in one line; fitting and blurring carry the alpha along', () => {
  assert.equal(photoConversion(presetSpec('unit', [1, 2]), true), undefined);
  assert.equal(photoConversion(presetSpec('unit', [1, 2], 'NCHW', 1), false), "converted to the model's 1 input channel: luminance 0.299 R + 0.587 G + 0.114 B");
  assert.equal(photoConversion(presetSpec('unit', [1, 2], 'NCHW', 2), true), "converted to the model's 2 input channels: luminance 0.299 R + 0.587 G + 0.114 B, and alpha from the photo's transparency");
  assert.equal(photoConversion(presetSpec('caffe', [1, 2], 'NCHW', 4), false), "converted to the model's 4 input channels: B, G, R, and alpha 255 (opaque: the photo has no transparency)");
  // pad: a 2x1 photo into 2x2 gets one row of padding above or below, opaque; the photo's row keeps its alpha.
  const padded = fitImage(twoAlpha, [2, 2], 'pad').image;
  assert.deepEqual([...padded.alpha!].sort((a, b) => a - b), [0, 128, 255, 255]);
  const stretched = fitImage(twoAlpha, [1, 2], 'stretch').image;
  assert.deepEqual([...stretched.alpha!], [128, 0]);
  // A constant alpha stays constant under the blur, a varying one is blurred as a colour plane is.
  const wide = { width: 8, height: 1, data: new Uint8Array(24).fill(100), alpha: Uint8Array.from([0, 0, 0, 0, 255, 255, 255, 255]) };
  const blurred = gaussianBlurRgb(wide, 1.5);
  const asColour = gaussianBlurRgb({ width: 8, height: 1, data: Uint8Array.from([...wide.alpha].flatMap((a) => [a, a, a])) }, 1.5);
  assert.deepEqual([...blurred.alpha!], [...asColour.data].filter((_, i) => i % 3 === 0));
  assert.ok(blurred.alpha![3]! > 0 && blurred.alpha![4]! < 255);
  const base = blurBaseline(wide, presetSpec('unit', [1, 8], 'NCHW', 2), 1.5);
  close(base.subarray(8), [...blurred.alpha!].map((a) => a / 255));
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
