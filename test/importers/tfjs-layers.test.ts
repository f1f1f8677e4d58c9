/**
 * TF.js Layers importer, layer by layer: convolutions, pooling, padding, resizing, reshaping
 * and every activation, each checked against TF.js's own predict (layer outputs too).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { checkModel, randomizeWeights, tf } from '../helpers/tfjs-oracle.js';

tf.setBackend('cpu');

test('conv / pool / padding / resize stack on an odd-sized input', async () => {
  const model = tf.sequential({
    layers: [
      tf.layers.conv2d({ inputShape: [13, 11, 3], filters: 5, kernelSize: 3, strides: 2, padding: 'same', activation: 'relu', name: 'c1' }),
      tf.layers.batchNormalization({ name: 'bn1' }),
      tf.layers.batchNormalization({ center: false, scale: false, epsilon: 0.01, name: 'bn_plain' }),
      tf.layers.depthwiseConv2d({ kernelSize: 3, strides: 2, padding: 'same', depthMultiplier: 2, activation: 'relu6', name: 'dw1' }),
      tf.layers.zeroPadding2d({ padding: [[1, 2], [0, 1]], name: 'pad1' }),
      tf.layers.separableConv2d({ filters: 6, kernelSize: 3, padding: 'valid', name: 'sep1' }),
      tf.layers.upSampling2d({ size: [2, 3], name: 'up_nearest' }),
      tf.layers.maxPooling2d({ poolSize: 3, strides: 2, padding: 'same', name: 'mp1' }),
      tf.layers.cropping2D({ cropping: [[1, 0], [0, 2]], name: 'crop1' }),
      tf.layers.upSampling2d({ size: [2, 2], interpolation: 'bilinear', name: 'up_bilinear' }),
      tf.layers.averagePooling2d({ poolSize: 3, strides: 2, padding: 'same', name: 'ap1' }),
      tf.layers.conv2d({ filters: 4, kernelSize: [2, 3], dilationRate: 1, padding: 'same', useBias: false, name: 'c2' }),
      tf.layers.averagePooling2d({ poolSize: [2, 1], padding: 'valid', name: 'ap2' }),
      tf.layers.flatten({ name: 'flat' }),
      tf.layers.dense({ units: 7, activation: 'softmax', name: 'probs' }),
    ],
  });
  randomizeWeights(model, 3);
  const { imp } = await checkModel(model, { label: 'conv-stack' });
  assert.deepEqual(imp.inputSize, [13, 11, 3]);
  assert.equal(imp.outputName, 'probs');
  assert.ok(imp.logitsName, 'a Dense with softmax activation exposes its logits');
});

test("stride-2 'same' convolutions and pooling on even sizes, dilation, global max pooling", async () => {
  const model = tf.sequential({
    layers: [
      tf.layers.conv2d({ inputShape: [16, 16, 4], filters: 6, kernelSize: 4, strides: 2, padding: 'same', name: 'even_k' }),
      tf.layers.depthwiseConv2d({ kernelSize: 5, strides: 2, padding: 'same', name: 'dw5' }),
      tf.layers.separableConv2d({ filters: 5, kernelSize: 3, strides: 2, padding: 'same', depthMultiplier: 3, activation: 'tanh', name: 'sep_s2' }),
      tf.layers.conv2d({ filters: 4, kernelSize: 3, dilationRate: 2, padding: 'same', name: 'dilated' }),
      tf.layers.maxPooling2d({ poolSize: 2, strides: 2, padding: 'same', name: 'mp_even' }),
      tf.layers.globalMaxPooling2d({ name: 'gmp' }),
      tf.layers.dense({ units: 3, name: 'out' }),
    ],
  });
  randomizeWeights(model, 5);
  const { imp } = await checkModel(model, { label: 'stride2' });
  assert.equal(imp.logitsName, undefined, 'no softmax, no logits');
});

test('odd sizes with stride 2 same: depthwise, separable, average pooling', async () => {
  const model = tf.sequential({
    layers: [
      tf.layers.depthwiseConv2d({ inputShape: [9, 7, 3], kernelSize: 3, strides: 2, padding: 'same', depthMultiplier: 2, name: 'dw_odd' }),
      tf.layers.separableConv2d({ filters: 4, kernelSize: [3, 2], strides: 2, padding: 'same', name: 'sep_odd' }),
      tf.layers.averagePooling2d({ poolSize: 2, strides: 2, padding: 'same', name: 'ap_odd' }),
      tf.layers.globalAveragePooling2d({ name: 'gap' }),
    ],
  });
  randomizeWeights(model, 11);
  await checkModel(model, { label: 'odd-same' });
});

const ACTIVATIONS = ['linear', 'relu', 'relu6', 'elu', 'selu', 'sigmoid', 'hardSigmoid', 'tanh', 'softmax', 'swish', 'softplus', 'softsign', 'mish', 'gelu', 'gelu_new'] as const;

test('every activation, as a conv activation and as an Activation layer', async () => {
  for (const act of ACTIVATIONS) {
    const model = tf.sequential({
      layers: [
        tf.layers.conv2d({ inputShape: [5, 4, 3], filters: 4, kernelSize: 3, padding: 'same', activation: act, name: 'conv' }),
        tf.layers.dense({ units: 5, name: 'dense_on_image' }),
        tf.layers.activation({ activation: act, name: 'act' }),
        tf.layers.flatten({ name: 'flat' }),
        tf.layers.dense({ units: 3, activation: act, name: 'head' }),
      ],
    });
    randomizeWeights(model, 17, 1.5);
    await checkModel(model, { label: `activation ${act}` });
  }
});

test('activation layers: ReLU, LeakyReLU, PReLU, ELU, ThresholdedReLU, Softmax', async () => {
  const model = tf.sequential({
    layers: [
      tf.layers.conv2d({ inputShape: [6, 5, 3], filters: 4, kernelSize: 1, name: 'c' }),
      tf.layers.reLU({ maxValue: 0.4, name: 'relu_max' }),
      tf.layers.conv2d({ filters: 4, kernelSize: 1, name: 'c2' }),
      tf.layers.leakyReLU({ alpha: 0.2, name: 'leaky' }),
      tf.layers.prelu({ sharedAxes: [1, 2], name: 'prelu_shared' }),
      tf.layers.prelu({ name: 'prelu_full' }),
      tf.layers.elu({ name: 'elu' }),
      tf.layers.thresholdedReLU({ theta: 0.1, name: 'thresh' }),
      tf.layers.reLU({ name: 'relu_plain' }),
      tf.layers.softmax({ axis: -1, name: 'softmax_channels' }),
      tf.layers.flatten({ name: 'flat' }),
      // TF.js's Softmax layer defaults to axis 1.
      tf.layers.softmax({ name: 'softmax_default_axis' }),
    ],
  });
  randomizeWeights(model, 23, 1);
  await checkModel(model, { label: 'activation layers' });
});

test('reshaping: Flatten, Reshape, Permute, Dense on 3-D, identity layers, Rescaling', async () => {
  const model = tf.sequential({
    layers: [
      tf.layers.rescaling({ inputShape: [4, 6, 3], scale: 1 / 127.5, offset: -1, name: 'rescale' }),
      tf.layers.conv2d({ filters: 5, kernelSize: 1, name: 'c' }),
      tf.layers.permute({ dims: [2, 1, 3], name: 'permute_hw' }),
      tf.layers.permute({ dims: [3, 1, 2], name: 'permute_c_first' }),
      tf.layers.reshape({ targetShape: [6, 20], name: 'to_3d' }),
      tf.layers.dense({ units: 4, name: 'dense_3d' }),
      tf.layers.permute({ dims: [2, 1], name: 'permute_3d' }),
      tf.layers.dropout({ rate: 0.5, name: 'drop' }),
      tf.layers.gaussianNoise({ stddev: 1, name: 'noise' }),
      tf.layers.gaussianDropout({ rate: 0.3, name: 'gdrop' }),
      tf.layers.alphaDropout({ rate: 0.3, name: 'adrop' }),
      tf.layers.reshape({ targetShape: [2, 3, 4], name: 'to_4d' }),
      tf.layers.flatten({ name: 'flat' }),
      tf.layers.reshape({ targetShape: [1, 1, 24], name: 'to_1x1' }),
      tf.layers.flatten({ name: 'flat2' }),
      tf.layers.batchNormalization({ name: 'bn_flat' }),
      // TF.js cannot infer shapes after a -1, so it comes last.
      tf.layers.reshape({ targetShape: [-1, 3], name: 'minus_one' }),
    ],
  });
  randomizeWeights(model, 29);
  await checkModel(model, { label: 'reshaping' });
});
