/**
 * Layouts: NHWC maps between tf2onnx's Transposes, the TF.js importer's to_nhwc Transpose
 * before a Flatten. The engine finds every 4-D tensor's layout, exposes maps as NCHW, picks
 * the default layer in the model's own terms, and cams come out [H, W] and equal to
 * references computed by torch (tools/export_layout_fixtures.py) and by TF.js autograd.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Model } from '../../src/engine/model.js';
import { inferLayouts } from '../../src/engine/layout.js';
import { readOnnxFile } from '../../src/node/load-onnx.js';
import { Pipeline } from '../../src/methods/pipeline.js';
import { createMethod, methodNames } from '../../src/methods/registry.js';
import { optionsFor } from '../../src/methods/method.js';
import { OptionError } from '../../src/errors.js';
import { importTfjsLayers } from '../../src/importers/tfjs/import.js';
import { loadFixture, relError } from '../helpers/fixtures.js';
import { runtime } from '../helpers/methods.js';
import { runGraph } from '../helpers/grad-check.js';
import { modelJsonOf, nhwcToNchw, randomData, randomizeWeights, saveArtifacts, tf } from '../helpers/tfjs-oracle.js';

tf.setBackend('cpu');

async function prepared(name: string) {
  const fx = loadFixture(name);
  return { fx, model: Model.prepare(await readOnnxFile(fx.onnxPath), { source: name }) };
}

test('tf2onnx graphs: the input is NHWC, maps between the Transposes are NHWC, conv outputs NCHW', async () => {
  const { model } = await prepared('tf2onnx_transposes');
  assert.equal(model.inputLayout, 'NHWC');
  assert.deepEqual(model.imageSize, [32, 32]);
  assert.equal(model.channels, 3);
  const layouts = inferLayouts(model.graph, model.shapes);
  assert.equal(layouts.get('input_1'), 'NHWC');
  assert.equal(layouts.get('model/conv2d/Conv2D:0'), 'NCHW');
  assert.equal(layouts.get('model/conv2d/BiasAdd:0'), 'NHWC');
  assert.equal(layouts.get('model/add/add:0'), 'NHWC');
  assert.equal(layouts.get('model/batch_normalization/FusedBatchNormV3:0'), 'NCHW');
  const relu = model.layer('activation');
  assert.equal(relu.tensor, 'model/activation/Relu:0');
  assert.equal(relu.layout, 'NHWC');
  // The graph holds [N, 8, 8, 16]; methods see [N, C, H, W].
  assert.deepEqual(model.shapes.get(relu.tensor)!.shape, ['N', 8, 8, 16]);
  assert.deepEqual(relu.shape, ['N', 16, 8, 8]);
  assert.deepEqual(relu.spatial, [8, 8]);
  // A Keras layer whose scope ends in a Transpose resolves to the map before it.
  assert.equal(model.layer('max_pooling2d').tensor, 'model/max_pooling2d/MaxPool:0');
  assert.equal(model.layer('max_pooling2d').layout, 'NCHW');
});

test('the default layer is the last map before the head as the model names it, never a layout Transpose', async () => {
  const expect: Record<string, string> = {
    // Before: the Transpose feeding the Flatten, [N, 8, 8, 16] read as C=8, H=8, W=16.
    tf2onnx_flatten: 'sequential/max_pooling2d_1/MaxPool:0',
    tf2onnx_transposes: 'model/activation/Relu:0',
    variety_nhwc: '/conv3/conv3.2/Relu_output_0',
    variety_gray: '/features/features.4/features.4.2/Relu_output_0',
  };
  for (const [name, tensor] of Object.entries(expect)) {
    const { model } = await prepared(name);
    assert.equal(model.layer().tensor, tensor, name);
  }
});

test('Grad-CAM on tf2onnx graphs matches torch at every recorded layer, NHWC or NCHW, and camShape is [H, W]', async () => {
  for (const name of ['tf2onnx_flatten', 'tf2onnx_transposes']) {
    const { fx, model } = await prepared(name);
    const pipeline = new Pipeline(model, runtime);
    const images = fx.meta.samples.map((s) => fx.read(s.input));
    const targets = fx.meta.samples.map((s) => s.target);
    for (const l of fx.meta.layers) {
      const out = await createMethod('gradcam', pipeline).explain(images, { layer: l.modulePath, targets });
      out.forEach((e, i) => {
        assert.deepEqual(e.camShape, l.shape.slice(2), `${name} ${l.modulePath} camShape`);
        const want = fx.read(fx.meta.samples[i]!.layers[l.modulePath]!.gradcam!);
        const err = relError(e.cam, want);
        assert.ok(err < 1e-4, `${name} ${l.modulePath} sample ${i}: cam relative error ${err}`);
      });
    }
  }
});

test('an NHWC layer fed from outside takes NCHW values and gives the model its own logits back', async () => {
  const { fx, model } = await prepared('tf2onnx_transposes');
  const layer = model.layer('conv2d');
  assert.equal(layer.layout, 'NHWC');
  const x = fx.read(fx.meta.samples[0]!.input);
  const dims = [1, 32, 32, 3];
  const plain = model.build({ expose: [layer.tensor] });
  const r = await runGraph(plain.graph, { [model.inputName]: { data: x, dims } });
  const act = r[plain.outputs.activations[0]!]!;
  assert.deepEqual(act.dims, [1, 8, 32, 32]);
  assert.ok(relError(act.data, fx.read(fx.meta.samples[0]!.layers['conv2d']!.activation)) < 1e-5);
  const fed = model.build({ feed: layer.tensor, expose: [layer.tensor], score: 'logit', wrt: [layer.tensor] });
  const input = fed.graph.inputs.find((i) => i.name === layer.tensor)!;
  assert.deepEqual(input.shape, ['N', 8, 32, 32]);
  const k = model.numClasses;
  const targets = new Float32Array(k);
  targets[fx.meta.samples[0]!.target] = 1;
  const same = await runGraph(fed.graph, { [layer.tensor]: act, 'rsi/targets': { data: targets, dims: [1, k] } });
  assert.ok(relError(same[fed.outputs.logits]!.data, r[plain.outputs.logits]!.data) < 1e-5);
  // The gradient at the fed layer is NCHW too, and equals torch's.
  const g = same[fed.outputs.gradients[0]!]!;
  assert.deepEqual(g.dims, [1, 8, 32, 32]);
  assert.ok(relError(g.data, fx.read(fx.meta.samples[0]!.layers['conv2d']!.gradLogit)) < 1e-4);
});

test('the channels-last image input itself is not a layer to explain at', async () => {
  const { model } = await prepared('tf2onnx_flatten');
  assert.throws(() => model.layer('input_1'), (e: Error) => e instanceof OptionError && /tf2onnx_flatten: layer 'input_1' is the model's channels-last image input/.test(e.message));
});

test('TF.js Flatten head: the default is the last conv, not the to_nhwc Transpose; Grad-CAM equals TF.js autograd on a 10x7 input', async () => {
  const h = 10;
  const w = 7;
  const model = tf.sequential({
    layers: [
      tf.layers.conv2d({ inputShape: [h, w, 3], filters: 4, kernelSize: 3, padding: 'same', activation: 'relu', name: 'c1' }),
      tf.layers.conv2d({ filters: 5, kernelSize: 3, padding: 'same', activation: 'relu', name: 'c2' }),
      tf.layers.flatten({ name: 'flat' }),
      tf.layers.dense({ units: 6, name: 'logits' }),
      tf.layers.activation({ activation: 'softmax', name: 'probs' }),
    ],
  });
  randomizeWeights(model, 31);
  const art = await saveArtifacts(model);
  const imp = importTfjsLayers(modelJsonOf(art), art.weightData, 'flat.json');
  const m = Model.prepare(imp.graph, { source: 'flat.json', logits: imp.logitsName, aliases: imp.layerNames });
  const transposed = m.layers.find((l) => l.op === 'Transpose')!;
  assert.match(transposed.tensor, /to_nhwc/);
  assert.equal(transposed.layout, 'NHWC');
  assert.equal(m.layer().tensor, 'c2');

  const nhwc = randomData(h * w * 3, 37, 0, 1);
  // TF.js oracle: Grad-CAM of logit `t` at c2, from tf.grad through the head layers.
  const c2 = tf.model({ inputs: model.inputs, outputs: model.getLayer('c2').output as tf.SymbolicTensor });
  const a = c2.predict(tf.tensor(nhwc, [1, h, w, 3])) as tf.Tensor4D;
  const logits = model.getLayer('logits');
  const flat = model.getLayer('flat');
  const scores = (logits.apply(flat.apply(a)) as tf.Tensor).dataSync();
  const t = scores.indexOf(Math.max(...scores));
  const grad = tf.grad((x: tf.Tensor) => (logits.apply(flat.apply(x)) as tf.Tensor).gather([t], 1).sum())(a);
  const weights = grad.mean([1, 2]);
  const want = tf.relu(a.mul(weights.reshape([1, 1, 1, 5])).sum(-1)).dataSync() as Float32Array;

  const pipeline = new Pipeline(m, runtime);
  const input = nhwcToNchw(nhwc, [1, h, w, 3]);
  for (const layer of ['c2', transposed.tensor]) {
    const [e] = await createMethod('gradcam', pipeline).explain([input], { layer, targets: t });
    assert.deepEqual(e!.camShape, [h, w], layer);
    const err = relError(e!.cam, want);
    assert.ok(err < 1e-4, `${layer}: cam relative error ${err}`);
  }
});

test("every method explains at an NHWC layer: [H, W] cams; HiResCAM's element-wise map equals torch's NCHW tensors", async () => {
  const { fx, model } = await prepared('tf2onnx_transposes');
  const pipeline = new Pipeline(model, runtime);
  const image = fx.read(fx.meta.samples[0]!.input);
  const target = fx.meta.samples[0]!.target;
  const ref = fx.meta.samples[0]!.layers['activation']!;
  const act = fx.read(ref.activation);
  const grad = fx.read(ref.gradLogit);
  const hw = 64;
  for (const method of methodNames()) {
    const m = createMethod(method, pipeline);
    const [e] = await m.explain([image], optionsFor(m, { layer: 'activation', targets: target, steps: 8, baseline: new Float32Array(image.length), window: 8, masks: 8 }));
    if (m.capabilities.mapAt === 'input') {
      // Input attributions (and Guided Grad-CAM) map the NHWC input's pixels, not the layer.
      assert.deepEqual(e!.camShape, [...model.imageSize], method);
      assert.ok(e!.cam.every(Number.isFinite), method);
      continue;
    }
    assert.deepEqual(e!.camShape, [8, 8], method);
    assert.equal(e!.weights.length, 16, method);
    assert.ok(e!.cam.every(Number.isFinite), method);
    if (method === 'hirescam') {
      // HiResCAM: ReLU(sum_k grad_k * A_k) element-wise, from torch's NCHW tensors.
      const want = new Float32Array(hw);
      for (let k = 0; k < 16; k++) for (let j = 0; j < hw; j++) want[j]! += grad[k * hw + j]! * act[k * hw + j]!;
      assert.ok(relError(e!.cam, want.map((v) => Math.max(v, 0))) < 1e-4, method);
    }
  }
});
