/**
 * Scaling inside the model: a Keras Rescaling or Normalization layer at the input (after
 * layers that do nothing at inference, such as Keras 3's RandomFlip) means the model takes
 * raw 0-255 pixels, so loadModel defaults to the `raw` preset instead of `tf` (TF.js) or
 * instead of asking (tf2onnx ONNX).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { loadModel } from '../../src/node/load-model.js';
import { loadTfjsModelFromFile } from '../../src/node/load-tfjs.js';
import { presetSpec } from '../../src/image/preprocess.js';
import { predict, randomData, randomizeWeights, runImported, assertClose, tf } from '../helpers/tfjs-oracle.js';
import { keras3Sequential, writeTfjsModel } from '../helpers/tfjs-files.js';
import { FIXTURES } from '../helpers/fixtures.js';
import { readOnnxFile } from '../../src/node/load-onnx.js';
import { kerasInputScaling } from '../../src/engine/input-scaling.js';

tf.setBackend('cpu');

const tmp = () => mkdtempSync(path.join(tmpdir(), 'rsi-scaling-'));

function body(first: tf.layers.Layer[], size = 12, channels = 3): tf.Sequential {
  const model = tf.sequential({
    layers: [
      ...first,
      tf.layers.conv2d({ ...(first.length ? {} : { inputShape: [size, size, channels] }), filters: 4, kernelSize: 3, padding: 'same', activation: 'relu', name: 'conv' }),
      tf.layers.globalAveragePooling2d({ name: 'gap' }),
      tf.layers.dense({ units: 3, activation: 'softmax', name: 'probs' }),
    ],
  });
  randomizeWeights(model, 7);
  return model;
}

const RAW = { scale: 1, mean: [0, 0, 0], std: [1, 1, 1] };
const TF = { scale: 1 / 127.5, mean: [1, 1, 1], std: [1, 1, 1] };
const numbers = (s: { scale: number; mean: number[]; std: number[] } | undefined) => s && { scale: s.scale, mean: s.mean, std: s.std };

test('Keras 2 / TF.js: Rescaling(1/255) at the input -> raw; the same model without it -> tf', async () => {
  const scaled = await writeTfjsModel(body([tf.layers.rescaling({ inputShape: [12, 12, 3], scale: 1 / 255, name: 'rescaling' })]), tmp());
  const imported = await loadTfjsModelFromFile(scaled);
  assert.deepEqual(imported.inputScaling, { layer: 'rescaling', className: 'Rescaling' });
  const c = await loadModel(scaled);
  assert.deepEqual(numbers(c.inputSpec), RAW);
  await c.dispose();
  const plain = await loadModel(await writeTfjsModel(body([]), tmp()));
  assert.deepEqual(numbers(plain.inputSpec), TF);
  await plain.dispose();
  // --preprocess still wins over the default.
  const forced = await loadModel(scaled, { preprocess: 'imagenet' });
  assert.deepEqual(numbers(forced.inputSpec), numbers(presetSpec('imagenet')));
  await forced.dispose();
});

test('Keras 3 JSON: RandomFlip then Rescaling(1/127.5, offset -1) -> raw; predictions on raw pixels match TF.js', async () => {
  const model = body([tf.layers.rescaling({ inputShape: [12, 12, 3], scale: 1 / 127.5, offset: -1, name: 'rescaling' })]);
  const flip = { module: 'keras.layers', class_name: 'RandomFlip', config: { name: 'random_flip', trainable: true, mode: 'horizontal', seed: null }, registered_name: null };
  const file = await writeTfjsModel(model, tmp(), (t) => keras3Sequential(t, [flip]));
  const imported = await loadTfjsModelFromFile(file);
  assert.deepEqual(imported.inputScaling, { layer: 'rescaling', className: 'Rescaling' });
  const c = await loadModel(file);
  assert.deepEqual(numbers(c.inputSpec), RAW);
  await c.dispose();
  // At inference RandomFlip is the identity: TF.js (without the layer) is the oracle.
  const x = randomData(2 * 12 * 12 * 3, 3, 0, 255);
  const [want] = await predict(model, x, [2, 12, 12, 3]);
  const got = await runImported(imported, x, [2, 12, 12, 3]);
  assertClose(got.get(imported.outputName)!, want!, 'keras3 rescaling');
});

test('a Normalization layer at the input -> raw; a Rescaling later in the model does not count', async () => {
  const norm = body([tf.layers.conv2d({ inputShape: [12, 12, 3], filters: 3, kernelSize: 1, name: 'first' })]);
  // Swap the first layer for a Normalization with statistics in its config (Keras >= 2.7 style).
  const file = await writeTfjsModel(norm, tmp(), (t) => {
    const top = structuredClone(t) as { config: { layers: { class_name: string; config: Record<string, unknown> }[] } };
    top.config.layers[0] = { class_name: 'Normalization', config: { name: 'normalization', batch_input_shape: [null, 12, 12, 3], axis: -1, mean: [120, 115, 100], variance: [3600, 3500, 3700] } };
    return top;
  });
  assert.deepEqual((await loadTfjsModelFromFile(file)).inputScaling, { layer: 'normalization', className: 'Normalization' });
  const c = await loadModel(file);
  assert.deepEqual(numbers(c.inputSpec), RAW);
  await c.dispose();

  const late = tf.sequential({
    layers: [
      tf.layers.conv2d({ inputShape: [12, 12, 3], filters: 3, kernelSize: 3, padding: 'same', name: 'c0' }),
      tf.layers.rescaling({ scale: 0.5, name: 'half' }),
      tf.layers.globalAveragePooling2d({ name: 'gap' }),
      tf.layers.dense({ units: 2, activation: 'softmax', name: 'probs' }),
    ],
  });
  randomizeWeights(late, 9);
  const lateFile = await writeTfjsModel(late, tmp());
  assert.equal((await loadTfjsModelFromFile(lateFile)).inputScaling, undefined);
  const l = await loadModel(lateFile);
  assert.deepEqual(numbers(l.inputSpec), TF);
  await l.dispose();
});

test('tf2onnx exports: a Keras rescaling layer at the input is found from its scope -> raw; none -> --preprocess still required', async () => {
  const scaled = await readOnnxFile(path.join(FIXTURES, 'tf2onnx_rescaling.onnx'));
  assert.equal(kerasInputScaling(scaled), 'sequential/rescaling');
  assert.equal(kerasInputScaling(await readOnnxFile(path.join(FIXTURES, 'tf2onnx_flatten.onnx'))), undefined);
  // A torch export is never read as Keras scopes.
  assert.equal(kerasInputScaling(await readOnnxFile(path.join(FIXTURES, 'variety_nhwc.onnx'))), undefined);
  const c = await loadModel(path.join(FIXTURES, 'tf2onnx_rescaling.onnx'));
  assert.deepEqual(numbers(c.inputSpec), RAW);
  assert.equal(c.inputSpec?.layout, 'NHWC');
  await c.dispose();
  const plain = await loadModel(path.join(FIXTURES, 'tf2onnx_flatten.onnx'));
  assert.equal(plain.inputSpec, undefined);
  await plain.dispose();
});
