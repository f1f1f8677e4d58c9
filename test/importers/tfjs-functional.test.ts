/**
 * TF.js Layers importer on functional graphs: merge layers, shared layers, nested models
 * (Teachable Machine style), both topology wrappers and Keras 3 inbound nodes, plus layers
 * TF.js lacks (Subtract, Normalization, SpatialDropout2D) checked against TF.js ops.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { importTfjsLayers } from '../../src/importers/tfjs/import.js';
import { assertClose, checkModel, layerOutputs, modelJsonOf, predict, randomData, randomizeWeights, runImported, saveArtifacts, tf } from '../helpers/tfjs-oracle.js';

tf.setBackend('cpu');

function conv(name: string, filters: number, extra: Partial<Parameters<typeof tf.layers.conv2d>[0]> = {}) {
  return tf.layers.conv2d({ filters, kernelSize: 3, padding: 'same', name, ...extra });
}

function mergeModel(): tf.LayersModel {
  const x = tf.input({ shape: [8, 6, 3], name: 'img' });
  const a = conv('a', 4).apply(x) as tf.SymbolicTensor;
  const b = conv('b', 4, { activation: 'tanh' }).apply(x) as tf.SymbolicTensor;
  const add = tf.layers.add({ name: 'add' }).apply([a, b]) as tf.SymbolicTensor;
  const mul = tf.layers.multiply({ name: 'mul3' }).apply([a, b, add]) as tf.SymbolicTensor;
  const avg = tf.layers.average({ name: 'avg' }).apply([a, b, mul]) as tf.SymbolicTensor;
  const max = tf.layers.maximum({ name: 'max' }).apply([a, b]) as tf.SymbolicTensor;
  const min = tf.layers.minimum({ name: 'min' }).apply([a, b]) as tf.SymbolicTensor;
  const cat = tf.layers.concatenate({ name: 'cat_c' }).apply([add, mul, avg, max, min]) as tf.SymbolicTensor;
  const catH = tf.layers.concatenate({ axis: 1, name: 'cat_h' }).apply([a, b]) as tf.SymbolicTensor;
  const catW = tf.layers.concatenate({ axis: 2, name: 'cat_w' }).apply([a, b]) as tf.SymbolicTensor;
  const c2 = conv('c2', 3, { strides: 2 }).apply(cat) as tf.SymbolicTensor;
  const c3 = conv('c3', 3, { strides: [4, 2] }).apply(catH) as tf.SymbolicTensor;
  const c4 = conv('c4', 3, { strides: [2, 4] }).apply(catW) as tf.SymbolicTensor;
  const sum = tf.layers.add({ name: 'sum' }).apply([c2, c3, c4]) as tf.SymbolicTensor;
  const f1 = tf.layers.flatten({ name: 'f1' }).apply(sum) as tf.SymbolicTensor;
  const g1 = tf.layers.globalAveragePooling2d({ name: 'gap' }).apply(max) as tf.SymbolicTensor;
  const flatCat = tf.layers.concatenate({ name: 'flat_cat' }).apply([f1, g1]) as tf.SymbolicTensor;
  const out = tf.layers.dense({ units: 5, name: 'logits' }).apply(flatCat) as tf.SymbolicTensor;
  const probs = tf.layers.activation({ activation: 'softmax', name: 'probs' }).apply(out) as tf.SymbolicTensor;
  const model = tf.model({ inputs: x, outputs: probs, name: 'merge_model' });
  randomizeWeights(model, 41);
  return model;
}

test('merge layers: Add, Multiply (3 inputs), Average, Maximum, Minimum, Concatenate on C, H, W and flat', async () => {
  const { imp } = await checkModel(mergeModel(), { label: 'merge' });
  assert.equal(imp.logitsName, 'logits');
  assert.equal(imp.layerNames.get('img'), 'input');
});

function kerasRelu(x: tf.Tensor, max: number, slope: number, threshold: number): tf.Tensor {
  return tf.where(tf.greaterEqual(x, max), tf.fill(x.shape, max), tf.where(tf.greaterEqual(x, threshold), x, tf.mul(slope, tf.sub(x, threshold))));
}

function groupedConv(x: tf.Tensor, kernel: tf.Tensor4D, bias: tf.Tensor1D): tf.Tensor {
  const xs = tf.split(x as tf.Tensor4D, 2, 3);
  const ks = tf.split(kernel, 2, 3);
  return tf.add(tf.concat(xs.map((xg, g) => tf.conv2d(xg as tf.Tensor4D, ks[g] as tf.Tensor4D, 1, 'same')), 3), bias);
}

/** Keras 3 spelling of a functional topology: dict inbound nodes, flat single refs, class 'Functional'. */
function toKeras3(topology: Record<string, unknown>): Record<string, unknown> {
  const t = structuredClone(topology) as { class_name: string; config: { layers: { inbound_nodes: unknown[][][] }[]; input_layers: unknown[][]; output_layers: unknown[][] } };
  const kt = (r: unknown[]) => ({ class_name: '__keras_tensor__', config: { shape: [], dtype: 'float32', keras_history: [r[0], r[1], r[2]] } });
  t.class_name = 'Functional';
  for (const l of t.config.layers) {
    (l as { inbound_nodes: unknown }).inbound_nodes = l.inbound_nodes.map((node) => ({ args: [node.length === 1 ? kt(node[0]!) : node.map(kt)], kwargs: {} }));
  }
  (t.config as { input_layers: unknown }).input_layers = t.config.input_layers[0];
  (t.config as { output_layers: unknown }).output_layers = t.config.output_layers[0];
  return t;
}

test('topology forms: model_config wrapper (old converter) and Keras 3 inbound nodes give the same outputs', async () => {
  const model = mergeModel();
  const art = await saveArtifacts(model);
  const shape = [2, 8, 6, 3];
  const x = randomData(2 * 8 * 6 * 3, 5);
  const [want] = await predict(model, x, shape);
  const forms = {
    old: { modelTopology: { keras_version: '2.1.4', backend: 'tensorflow', model_config: art.modelTopology }, weightsManifest: [{ paths: ['w'], weights: art.weightSpecs }] },
    keras3: { ...modelJsonOf(art), modelTopology: toKeras3(art.modelTopology) },
  };
  for (const [label, json] of Object.entries(forms)) {
    const imp = importTfjsLayers(json, art.weightData, label);
    const got = await runImported(imp, x, shape);
    assertClose(got.get(imp.outputName)!, want!, label);
  }
});

test('Teachable-Machine-style nested model: truncated functional base inside a Sequential with a Sequential head', async () => {
  const inp = tf.input({ shape: [24, 24, 3], name: 'input_1' });
  let y = conv('conv1', 8, { strides: 2, useBias: false }).apply(inp) as tf.SymbolicTensor;
  y = tf.layers.batchNormalization({ name: 'conv1_bn' }).apply(y) as tf.SymbolicTensor;
  y = tf.layers.reLU({ maxValue: 6, name: 'conv1_relu' }).apply(y) as tf.SymbolicTensor;
  y = tf.layers.depthwiseConv2d({ kernelSize: 3, padding: 'same', useBias: false, name: 'conv_dw_1' }).apply(y) as tf.SymbolicTensor;
  y = tf.layers.batchNormalization({ name: 'conv_dw_1_bn' }).apply(y) as tf.SymbolicTensor;
  y = tf.layers.reLU({ maxValue: 6, name: 'conv_dw_1_relu' }).apply(y) as tf.SymbolicTensor;
  y = tf.layers.conv2d({ filters: 12, kernelSize: 1, useBias: false, name: 'conv_pw_1' }).apply(y) as tf.SymbolicTensor;
  y = tf.layers.batchNormalization({ name: 'conv_pw_1_bn' }).apply(y) as tf.SymbolicTensor;
  y = tf.layers.reLU({ maxValue: 6, name: 'conv_pw_1_relu' }).apply(y) as tf.SymbolicTensor;
  y = tf.layers.zeroPadding2d({ padding: [[0, 1], [0, 1]], name: 'conv_pad_2' }).apply(y) as tf.SymbolicTensor;
  y = tf.layers.depthwiseConv2d({ kernelSize: 3, strides: 2, padding: 'valid', useBias: false, name: 'conv_dw_2' }).apply(y) as tf.SymbolicTensor;
  y = tf.layers.reLU({ maxValue: 6, name: 'conv_dw_2_relu' }).apply(y) as tf.SymbolicTensor;
  const cut = y;
  y = tf.layers.globalAveragePooling2d({ name: 'gap_unused' }).apply(y) as tf.SymbolicTensor;
  const full = tf.model({ inputs: inp, outputs: y, name: 'mobilenet_full' });
  randomizeWeights(full, 53);
  const truncated = tf.model({ inputs: inp, outputs: cut, name: 'model1' });
  const head = tf.sequential({
    name: 'sequential_head',
    layers: [
      tf.layers.flatten({ inputShape: [6, 6, 12], name: 'head_flatten' }),
      tf.layers.dense({ units: 10, activation: 'relu', name: 'dense_Dense1' }),
      tf.layers.dense({ units: 3, activation: 'softmax', name: 'dense_Dense2' }),
    ],
  });
  randomizeWeights(head, 59);
  const tm = tf.sequential({ layers: [truncated, head], name: 'tm' });
  const { imp } = await checkModel(tm, { label: 'teachable', layers: [] });

  // Inner layers stay reachable by their own names and by path.
  const inner = ['conv1_relu', 'conv_pw_1_relu', 'conv_dw_2_relu'];
  for (const n of inner) {
    assert.ok(imp.layerNames.get(n), `layer '${n}'`);
    assert.equal(imp.layerNames.get(`model1/${n}`), imp.layerNames.get(n));
  }
  assert.ok(imp.layerNames.get('sequential_head/dense_Dense1'));
  const shape = [2, 24, 24, 3];
  const x = randomData(2 * 24 * 24 * 3, 61);
  const want = await layerOutputs(full, inner, x, shape);
  const got = await runImported(imp, x, shape, [...inner.map((n) => imp.layerNames.get(n)!), imp.logitsName!]);
  for (const n of inner) assertClose(got.get(imp.layerNames.get(n)!)!, want.get(n)!, `inner layer ${n}`);

  // The logits are the input of the final softmax: softmax(logits) is the output.
  const logits = got.get(imp.logitsName!)!;
  const [probs] = await predict(tm, x, shape);
  const soft = tf.softmax(tf.tensor(logits.data, logits.dims));
  assertClose({ data: soft.dataSync() as Float32Array, dims: soft.shape }, probs!, 'softmax(logits)');
  soft.dispose();
});

test('shared layers and a shared nested model: each call gets its own tensor', async () => {
  const x = tf.input({ shape: [7, 7, 4], name: 'x' });
  const shared = conv('shared_conv', 4, { activation: 'relu' });
  const y1 = shared.apply(x) as tf.SymbolicTensor;
  const y2 = shared.apply(y1) as tf.SymbolicTensor;
  const block = tf.sequential({ name: 'block', layers: [conv('block_conv', 4, { inputShape: [7, 7, 4] }), tf.layers.activation({ activation: 'sigmoid', name: 'block_act' })] });
  const z1 = block.apply(y2) as tf.SymbolicTensor;
  const z2 = block.apply(z1) as tf.SymbolicTensor;
  const sum = tf.layers.add({ name: 'sum' }).apply([y1, y2, z1, z2]) as tf.SymbolicTensor;
  const model = tf.model({ inputs: x, outputs: sum, name: 'shared_model' });
  randomizeWeights(model, 67);
  const { imp } = await checkModel(model, { label: 'shared', layers: ['sum'] });

  const probe = tf.model({ inputs: x, outputs: [y1, y2, z1, z2] });
  const shape = [2, 7, 7, 4];
  const data = randomData(2 * 7 * 7 * 4, 71);
  const want = await predict(probe, data, shape);
  const names = ['shared_conv', 'shared_conv:1', 'block', 'block:1'].map((n) => {
    const t = imp.layerNames.get(n);
    assert.ok(t, `layerNames has '${n}'`);
    return t;
  });
  assert.equal(new Set(names).size, 4);
  assert.ok(imp.layerNames.get('block_conv:1'), 'inner layers of the second call are reachable');
  const got = await runImported(imp, data, shape, names);
  names.forEach((t, i) => assertClose(got.get(t)!, want[i]!, `call ${t}`));
  // One set of weights serves both calls.
  const convs = imp.graph.nodes.filter((n) => n.opType === 'Conv');
  assert.equal(convs.length, 4);
  assert.equal(new Set(convs.map((n) => n.inputs[1])).size, 2);
});

test('layers and options TF.js lacks: Subtract, Normalization, SpatialDropout2D, ReLU threshold / slope, GAP keepdims', async () => {
  const x = tf.input({ shape: [5, 4, 3], name: 'x' });
  const a = conv('a', 4).apply(x) as tf.SymbolicTensor;
  const b = conv('b', 4).apply(x) as tf.SymbolicTensor;
  const model = tf.model({ inputs: x, outputs: [a, b] });
  randomizeWeights(model, 73);
  const art = await saveArtifacts(model);
  const cfg = (art.modelTopology as { config: { layers: unknown[]; output_layers: unknown[] } }).config;
  const mean = [0.5, -0.25, 0.125, 1];
  const variance = [2, 0.5, 1.5, 0.25];
  const wMean = [0.1, 0.2, -0.3, 0.4];
  const wVar = [1.1, 0.9, 0.4, 3];
  cfg.layers.push(
    { class_name: 'Subtract', name: 'sub', config: { name: 'sub' }, inbound_nodes: [[['a', 0, 0, {}], ['b', 0, 0, {}]]] },
    { class_name: 'Normalization', name: 'norm_cfg', config: { name: 'norm_cfg', axis: -1, mean, variance }, inbound_nodes: [[['sub', 0, 0, {}]]] },
    { class_name: 'Normalization', name: 'norm_w', config: { name: 'norm_w', axis: [-1] }, inbound_nodes: [[['a', 0, 0, {}]]] },
    { class_name: 'SpatialDropout2D', name: 'sdrop', config: { name: 'sdrop', rate: 0.5 }, inbound_nodes: [[['b', 0, 0, {}]]] },
    { class_name: 'ReLU', name: 'relu_t', config: { name: 'relu_t', max_value: 0.6, negative_slope: 0.1, threshold: 0.2 }, inbound_nodes: [[['a', 0, 0, {}]]] },
    { class_name: 'ReLU', name: 'relu_s', config: { name: 'relu_s', max_value: 0.5, negative_slope: 0.3, threshold: 0 }, inbound_nodes: [[['b', 0, 0, {}]]] },
    { class_name: 'GlobalAveragePooling2D', name: 'gap_keep', config: { name: 'gap_keep', keepdims: true }, inbound_nodes: [[['a', 0, 0, {}]]] },
    {
      class_name: 'Conv2D',
      name: 'gconv',
      config: { name: 'gconv', filters: 4, kernel_size: [3, 3], groups: 2, strides: [1, 1], padding: 'same', use_bias: true, activation: 'linear' },
      inbound_nodes: [[['a', 0, 0, {}]]],
    },
  );
  cfg.output_layers = [['norm_cfg', 0, 0], ['norm_w', 0, 0], ['sdrop', 0, 0], ['relu_t', 0, 0], ['relu_s', 0, 0], ['gap_keep', 0, 0], ['gconv', 0, 0]];
  // Keras >= 2.7 saves the adapted statistics as weights (mean, variance, count).
  const gKernel = randomData(3 * 3 * 2 * 4, 83);
  const gBias = randomData(4, 89);
  const extra = new Float32Array([...wMean, ...wVar]);
  const count = new Int32Array([100]);
  const weightData = new Uint8Array([
    ...art.weightData,
    ...new Uint8Array(extra.buffer),
    ...new Uint8Array(count.buffer),
    ...new Uint8Array(gKernel.buffer),
    ...new Uint8Array(gBias.buffer),
  ]);
  const specs = [
    ...art.weightSpecs,
    { name: 'norm_w/mean', shape: [4], dtype: 'float32' as const },
    { name: 'norm_w/variance', shape: [4], dtype: 'float32' as const },
    { name: 'norm_w/count', shape: [], dtype: 'int32' as const },
    { name: 'gconv/kernel', shape: [3, 3, 2, 4], dtype: 'float32' as const },
    { name: 'gconv/bias', shape: [4], dtype: 'float32' as const },
  ];
  const imp = importTfjsLayers({ modelTopology: art.modelTopology, weightsManifest: [{ paths: ['w'], weights: specs }] }, weightData, 'lacking');
  const shape = [2, 5, 4, 3];
  const data = randomData(2 * 5 * 4 * 3, 79);
  const [pa, pb] = await predict(model, data, shape);
  const ta = tf.tensor(pa!.data, pa!.dims);
  const tb = tf.tensor(pb!.data, pb!.dims);
  const oracle = {
    norm_cfg: tf.div(tf.sub(tf.sub(ta, tb), mean), tf.sqrt(variance)),
    norm_w: tf.div(tf.sub(ta, wMean), tf.sqrt(wVar)),
    sdrop: tb,
    // Keras docs: max_value above it, x on [threshold, max_value), negative_slope * (x - threshold) below.
    relu_t: kerasRelu(ta, 0.6, 0.1, 0.2),
    relu_s: kerasRelu(tb, 0.5, 0.3, 0),
    gap_keep: tf.mean(ta, [1, 2], true),
    // Grouped conv: group g maps input channels [2g, 2g+2) to output channels [2g, 2g+2).
    gconv: groupedConv(ta, tf.tensor4d(gKernel, [3, 3, 2, 4]), tf.tensor1d(gBias)),
  };
  const names = Object.keys(oracle).map((n) => imp.layerNames.get(n)!);
  const got = await runImported(imp, data, shape, names);
  for (const [n, t] of Object.entries(oracle)) assertClose(got.get(imp.layerNames.get(n)!)!, { data: t.dataSync() as Float32Array, dims: t.shape }, n);
  assert.deepEqual(imp.graph.outputs.map((o) => o.name), names);
});
