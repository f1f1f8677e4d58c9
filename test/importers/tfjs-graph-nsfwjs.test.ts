/**
 * Real converter-made weights: the `nsfwjs` package (MIT, a dev dependency) ships
 * `mobilenet_v2_mid`, a TF.js graph model (TensorFlow.js Converter v1.7.4r1: a TF Hub
 * MobileNetV2 1.0/224 feature vector with a 5-class Dense head, uint8-quantised weights) as
 * JS-wrapped base64 shards. The test unwraps it into a model.json folder, imports it through
 * the Node loader and checks the outputs against TF.js's graph-model executor on real photos
 * (to 1e-4), and Grad-CAM at the default layer against tf.grad. Needs ../shared (photos);
 * skipped with a message when it is absent.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import sharp from 'sharp';
import { loadModel } from '../../src/node/load-model.js';
import { loadTfjsModelFromFile } from '../../src/node/load-tfjs.js';
import { checkGradCam, loadOracle, readGraphModel, tf } from '../helpers/tfjs-graph-oracle.js';
import { assertClose, runImported } from '../helpers/tfjs-oracle.js';

tf.setBackend('cpu');

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const photos = path.resolve(repoRoot, '..', 'shared', 'data', 'imagenet-val-200');
const skip = existsSync(path.join(photos, 'annotations.json')) ? false : `needs the shared photos (${photos} not found)`;

/** nsfwjs's class order (its nsfw_classes.js). */
const CLASSES = ['Drawing', 'Hentai', 'Neutral', 'Porn', 'Sexy'];
const LAYER = 'StatefulPartitionedCall/sequential/keras_layer/StatefulPartitionedCall/StatefulPartitionedCall/StatefulPartitionedCall/predict/MobilenetV2/Conv_1/Relu6';
const LOGITS = 'StatefulPartitionedCall/sequential/dense/BiasAdd';

/** The package's bundled model as files: model.json plus its shards, decoded from base64. */
async function unpackMobilenetV2Mid(dir: string): Promise<string> {
  const { MobileNetV2MidModel } = (await import('nsfwjs/models/mobilenet_v2_mid')) as {
    MobileNetV2MidModel: { modelJson: () => Promise<{ default: unknown }>; weightBundles: (() => Promise<{ default: unknown }>)[] };
  };
  const json = (await MobileNetV2MidModel.modelJson()).default as { format: string; weightsManifest: { paths: string[] }[] };
  assert.equal(json.format, 'graph-model');
  const paths = json.weightsManifest.flatMap((g) => g.paths);
  assert.equal(paths.length, MobileNetV2MidModel.weightBundles.length);
  for (const [i, p] of paths.entries()) {
    const b64 = (await MobileNetV2MidModel.weightBundles[i]!()).default;
    assert.equal(typeof b64, 'string', `shard ${p} is a base64 string`);
    writeFileSync(path.join(dir, p), Buffer.from(b64 as string, 'base64'));
  }
  const file = path.join(dir, 'model.json');
  writeFileSync(file, JSON.stringify(json));
  return file;
}

/** A photo as the model wants it (nsfwjs: 224x224, RGB / 255), NHWC. */
async function photo(file: string): Promise<Float32Array> {
  const rgb = await sharp(path.join(photos, 'images', file)).removeAlpha().resize(224, 224, { fit: 'fill' }).raw().toBuffer();
  return Float32Array.from(rgb, (v) => v / 255);
}

test('nsfwjs mobilenet_v2_mid (real graph model): outputs and Grad-CAM agree with TF.js on real photos', { skip }, async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'nsfwjs-'));
  try {
    const modelJson = await unpackMobilenetV2Mid(dir);
    const imp = await loadTfjsModelFromFile(modelJson);
    assert.deepEqual(imp.inputSize, [224, 224, 3]);
    // Tensors are named inside the innermost inlined call (the TF Hub module's `predict`).
    assert.equal(imp.logitsName, 'sequential/dense/BiasAdd');
    assert.equal(imp.layerNames.get(LAYER), 'predict/MobilenetV2/Conv_1/Relu6');
    assert.equal(imp.layerNames.get('MobilenetV2/Conv_1/Relu6'), 'predict/MobilenetV2/Conv_1/Relu6');

    const oracle = await loadOracle(readGraphModel(dir));
    const ann = JSON.parse(readFileSync(path.join(photos, 'annotations.json'), 'utf8')) as { images: { file: string }[] };
    const files = ann.images.slice(0, 3).map((i) => i.file);
    const images = await Promise.all(files.map(photo));
    const batch = new Float32Array(images.length * 224 * 224 * 3);
    images.forEach((im, i) => batch.set(im, i * im.length));
    const shape = [images.length, 224, 224, 3];
    const y = oracle.predict(tf.tensor(batch, shape)) as tf.Tensor;
    const want = { data: (await y.data()) as Float32Array, dims: y.shape };
    const got = await runImported(imp, batch, shape);
    assertClose(got.get(imp.outputName)!, want, 'nsfwjs mobilenet_v2_mid vs TF.js');

    // The Node loader's full path: the classifier, its default layer (the last map, 7x7).
    const classifier = await loadModel(modelJson, { preprocess: 'unit', labels: CLASSES });
    const def = classifier.layers().find((l) => l.isDefault)!;
    assert.equal(def.tensor, 'predict/MobilenetV2/Conv_1/Relu6');
    assert.deepEqual(def.shape, ['N', 1792, 7, 7]);
    await classifier.dispose();

    const nonZero = await checkGradCam(imp, oracle, images[0]!, [1, 224, 224, 3], { label: files[0]!, oracleLayer: LAYER, oracleLogits: LOGITS });
    assert.ok(nonZero >= 1, 'some class has a non-zero cam');
    oracle.dispose();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
