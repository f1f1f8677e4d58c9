/**
 * Real weights: Google's MobileNet v1 0.75/224 (Keras 2.1.4 topology, TF.js Layers format)
 * imported and run on onnxruntime over 200 ImageNet validation photos; the labels are the
 * oracle. Needs ../shared (models/ and data/); skipped with a message when it is absent.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import sharp from 'sharp';
import { serializeOnnx } from '../../src/engine/graph/onnx-io.js';
import { inferShapes } from '../../src/engine/graph/shape-inference.js';
import { loadTfjsModelFromFile } from '../../src/node/load-tfjs.js';
import { createNodeRuntime } from '../../src/node/runtime.js';
import { assertClose, predict, runImported, tf } from '../helpers/tfjs-oracle.js';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const shared = path.resolve(repoRoot, '..', 'shared');
const modelJson = path.join(shared, 'models', 'mobilenet_v1_0.75_224', 'model.json');
const dataDir = path.join(shared, 'data', 'imagenet-val-200');
const missing = [modelJson, path.join(dataDir, 'annotations.json')].filter((p) => !existsSync(p));
const skip = missing.length ? `needs the shared data (${missing.join(', ')} not found)` : false;

test('MobileNet v1 0.75 (real weights): conv_pw_13_relu is [N, 768, 7, 7]; logits; top-1 on 200 ImageNet photos', { skip }, async () => {
  const imp = await loadTfjsModelFromFile(modelJson);
  assert.deepEqual(imp.inputSize, [224, 224, 3]);
  assert.equal(imp.outputName, 'reshape_2');
  assert.equal(imp.logitsName, 'conv_preds');
  const feat = imp.layerNames.get('conv_pw_13_relu');
  assert.equal(feat, 'conv_pw_13_relu');
  const shapes = inferShapes(imp.graph, 'mobilenet');
  assert.deepEqual(shapes.get(feat!)?.shape, ['N', 768, 7, 7]);
  assert.deepEqual(shapes.get(imp.outputName)?.shape, ['N', 1000]);

  const ann = JSON.parse(readFileSync(path.join(dataDir, 'annotations.json'), 'utf8')) as { images: { file: string; label: number }[] };
  const runtime = createNodeRuntime({ threads: 2 });
  const session = await runtime.create(serializeOnnx(imp.graph));
  const size = 224;
  const batch = 20;
  let correct = 0;
  try {
    for (let start = 0; start < ann.images.length; start += batch) {
      const items = ann.images.slice(start, start + batch);
      const x = new Float32Array(items.length * 3 * size * size);
      await Promise.all(
        items.map(async (it, b) => {
          const rgb = await sharp(path.join(dataDir, 'images', it.file)).removeAlpha().resize(size, size).raw().toBuffer();
          // HWC bytes -> CHW in [-1, 1], the model's preprocessing.
          const off = b * 3 * size * size;
          for (let i = 0; i < size * size; i++) for (let c = 0; c < 3; c++) x[off + c * size * size + i] = rgb[i * 3 + c]! / 127.5 - 1;
        }),
      );
      const out = await session.run({ input: { data: x, dims: [items.length, 3, size, size] } });
      const probs = out[imp.outputName]!.data;
      items.forEach((it, b) => {
        let best = 0;
        for (let k = 1; k < 1000; k++) if (probs[b * 1000 + k]! > probs[b * 1000 + best]!) best = k;
        if (best === it.label) correct++;
      });
    }
  } finally {
    await session.release();
  }
  const accuracy = correct / ann.images.length;

  // TF.js running the same files on two of the photos must agree with the imported graph.
  const weights = readFileSync(path.join(path.dirname(modelJson), 'model.json'), 'utf8');
  const json = JSON.parse(weights) as { modelTopology: object; weightsManifest: { paths: string[]; weights: tf.io.WeightsManifestEntry[] }[] };
  const buffers = json.weightsManifest.flatMap((g) => g.paths.map((p) => readFileSync(path.join(path.dirname(modelJson), p))));
  const oracle = await tf.loadLayersModel(
    tf.io.fromMemory({ modelTopology: json.modelTopology, weightSpecs: json.weightsManifest.flatMap((g) => g.weights), weightData: new Uint8Array(Buffer.concat(buffers)).buffer }),
  );
  const two = ann.images.slice(0, 2);
  const nhwc = new Float32Array(2 * size * size * 3);
  for (const [b, it] of two.entries()) {
    const rgb = await sharp(path.join(dataDir, 'images', it.file)).removeAlpha().resize(size, size).raw().toBuffer();
    for (let i = 0; i < rgb.length; i++) nhwc[b * rgb.length + i] = rgb[i]! / 127.5 - 1;
  }
  const [want] = await predict(oracle, nhwc, [2, size, size, 3]);
  const got = await runImported(imp, nhwc, [2, size, size, 3]);
  assertClose(got.get(imp.outputName)!, want!, 'MobileNet vs TF.js');

  console.log(`MobileNet v1 0.75/224 (TF.js import) top-1 on ${ann.images.length} ImageNet val photos: ${accuracy.toFixed(3)}`);
  assert.ok(accuracy >= 0.7, `top-1 ${accuracy} < 0.70`);
});
