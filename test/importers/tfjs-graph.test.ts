/**
 * TF.js graph-model importer on the fixtures of tools/tfjs-graph-fixtures.ts (converter-made
 * JSON written by hand): every node's output and the model output against TF.js's own
 * graph-model executor, Grad-CAM against tf.grad, quantised shards, and the refusals.
 */
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import sharp from 'sharp';
import { Model } from '../../src/engine/model.js';
import { ModelFormatError } from '../../src/errors.js';
import { importTfjsGraph } from '../../src/importers/tfjs-graph/import.js';
import type { TfjsImport } from '../../src/importers/tfjs/import.js';
import { importModelFile } from '../../src/model-files.js';
import { loadTfjsModelFromFile } from '../../src/node/load-tfjs.js';
import { runCli } from '../helpers/cli.js';
import { checkGradCam, GRAPH_FIXTURES, loadOracle, oracleOutputs, readGraphModel, tf } from '../helpers/tfjs-graph-oracle.js';
import { assertClose, randomData, runImported } from '../helpers/tfjs-oracle.js';

tf.setBackend('cpu');

interface Case {
  name: string;
  /** The TF node the default layer must be. */
  defaultLayer: string;
  logits: string;
  /** Where Grad-CAM is compared, when not the default layer. */
  camLayer?: string;
  /** Input range: the fixtures' weights expect roughly unit inputs. */
  lo?: number;
}

const CASES: Case[] = [
  { name: 'keras_fused', defaultLayer: 'StatefulPartitionedCall/model/pool/MaxPool', logits: 'StatefulPartitionedCall/model/logits/BiasAdd' },
  { name: 'keras_fused_uint8', defaultLayer: 'StatefulPartitionedCall/model/pool/MaxPool', logits: 'StatefulPartitionedCall/model/logits/BiasAdd' },
  { name: 'keras_fused_uint16', defaultLayer: 'StatefulPartitionedCall/model/pool/MaxPool', logits: 'StatefulPartitionedCall/model/logits/BiasAdd' },
  { name: 'keras_fused_float16', defaultLayer: 'StatefulPartitionedCall/model/pool/MaxPool', logits: 'StatefulPartitionedCall/model/logits/BiasAdd' },
  { name: 'tf1_frozen', defaultLayer: 'pool/AvgPool', logits: 'dense/BiasAdd' },
    // At the default layer every class's cam is all zero (positive maps, the head's Max passes
  // few gradients), so Grad-CAM is compared at the PadV2 before it (TF.js has no gradient for
  // the StridedSlice further up).
  {
    name: 'ops_mix',
    defaultLayer: 'StatefulPartitionedCall/mix/pool/MaxPool',
    logits: 'StatefulPartitionedCall/mix/logits/BiasAdd',
    camLayer: 'StatefulPartitionedCall/mix/pad/PadV2',
    lo: 0,
  },
];

/** Every non-Const node of the model that the import gives a tensor. */
function computedNodes(files: ReturnType<typeof readGraphModel>, imp: TfjsImport): string[] {
  const nodes = (files.json['modelTopology'] as { node: { name: string; op: string }[] }).node;
  return nodes.filter((n) => !['Const', 'Placeholder', 'NoOp'].includes(n.op) && imp.layerNames.has(n.name) && !/Shape|strided_slice|Reshape\/shape/.test(n.name)).map((n) => n.name);
}

for (const c of CASES) {
  test(`graph model '${c.name}': output and every node agree with TF.js; Grad-CAM with tf.grad`, async () => {
    const dir = path.join(GRAPH_FIXTURES, c.name);
    const files = readGraphModel(dir);
    const imp = await loadTfjsModelFromFile(files.modelJsonPath);
    const oracle = await loadOracle(files);
    const [h, w, ch] = imp.inputSize;
    const shape = [2, h, w, ch];
    const x = randomData(2 * h * w * ch, 17, c.lo ?? -1, 1);

    // The output, and each node's output where the import keeps it.
    const nodes = computedNodes(files, imp);
    assert.ok(nodes.length >= 8, `${c.name}: only ${nodes.length} nodes compared`);
    const want = await oracleOutputs(oracle, x, shape, nodes);
    const got = await runImported(imp, x, shape, [imp.outputName, ...nodes.map((n) => imp.layerNames.get(n)!)]);
    const [final] = [oracle.predict(tf.tensor(x, shape)) as tf.Tensor];
    assertClose(got.get(imp.outputName)!, { data: (await final!.data()) as Float32Array, dims: final!.shape }, `${c.name}: output`);
    for (const n of nodes) assertClose(got.get(imp.layerNames.get(n)!)!, want.get(n)!, `${c.name}: node '${n}'`);

    // Default layer: the last map before the head, named by its TF node.
    const model = Model.prepare(imp.graph, { source: c.name, logits: imp.logitsName, aliases: imp.layerNames });
    assert.equal(model.layer().tensor, imp.layerNames.get(c.defaultLayer));
    assert.equal(imp.logitsName, imp.layerNames.get(c.logits));

    // Grad-CAM on each of the two images, for every class.
    for (const b of [0, 1]) {
      const one = x.slice(b * h * w * ch, (b + 1) * h * w * ch);
      const nonZero = await checkGradCam(imp, oracle, one, [1, h, w, ch], { label: `${c.name}[${b}]`, layer: c.camLayer, oracleLayer: c.camLayer ?? c.defaultLayer, oracleLogits: c.logits });
      assert.ok(nonZero >= 1, `${c.name}[${b}]: every class has an all-zero cam`);
    }
    oracle.dispose();
  });
}

test('quantised shards decode as TF.js decodes them, and differ from the float32 weights', async () => {
  const float = await loadTfjsModelFromFile(path.join(GRAPH_FIXTURES, 'keras_fused', 'model.json'));
  const [h, w, ch] = float.inputSize;
  const x = randomData(h * w * ch, 5);
  const ref = (await runImported(float, x, [1, h, w, ch])).get(float.outputName)!.data;
  for (const q of ['uint8', 'uint16', 'float16']) {
    const imp = await loadTfjsModelFromFile(path.join(GRAPH_FIXTURES, `keras_fused_${q}`, 'model.json'));
    const got = (await runImported(imp, x, [1, h, w, ch])).get(imp.outputName)!.data;
    const diff = Math.max(...got.map((v, i) => Math.abs(v - ref[i]!)));
    // Quantisation moves the probabilities a little (here uint8 3e-3, float16 1e-4, uint16 1e-5).
    assert.ok(diff > 0 && diff < 0.05, `${q}: output moved by ${diff}`);
  }
});

test("_FusedConv2D with [FusedBatchNorm, Relu] equals the unfused Conv2D -> FusedBatchNormV3 -> Relu on TF.js", async () => {
  const fused = readGraphModel(path.join(GRAPH_FIXTURES, 'fused_bn'));
  const plain = readGraphModel(path.join(GRAPH_FIXTURES, 'fused_bn_unfused'));
  // TF.js itself refuses the fused form, so its unfused twin (same weights) is the oracle.
  const refused = await loadOracle(fused).then(
    (m) => {
      try {
        m.predict(tf.zeros([1, 9, 10, 3]));
        return false;
      } catch {
        return true;
      }
    },
    () => true,
  );
  assert.ok(refused, 'TF.js runs _FusedConv2D with FusedBatchNorm; compare with it directly');
  const oracle = await loadOracle(plain);
  const imp = importTfjsGraph(fused.json, fused.data, 'fused_bn');
  const shape = [2, 9, 10, 3];
  const x = randomData(2 * 9 * 10 * 3, 23);
  const node = 'StatefulPartitionedCall/bn_model/bn/relu/Relu';
  const want = await oracleOutputs(oracle, x, shape, [node, 'Identity']);
  const got = await runImported(imp, x, shape, [imp.layerNames.get(node)!, imp.outputName]);
  assertClose(got.get(imp.layerNames.get(node)!)!, want.get(node)!, 'fused conv + batch norm + relu');
  assertClose(got.get(imp.outputName)!, want.get('Identity')!, 'output');
  const one = x.slice(0, 9 * 10 * 3);
  const nonZero = await checkGradCam(imp, oracle, one, [1, 9, 10, 3], { label: 'fused_bn', oracleLayer: node, oracleLogits: 'StatefulPartitionedCall/bn_model/logits/BiasAdd' });
  assert.ok(nonZero >= 1);
});

test('layers are named by TF node names, inside the innermost inlined call, and by any suffix no other node shares', async () => {
  const imp = await loadTfjsModelFromFile(path.join(GRAPH_FIXTURES, 'keras_fused', 'model.json'));
  const model = Model.prepare(imp.graph, { logits: imp.logitsName, aliases: imp.layerNames });
  // The tensor: the name without TF 2's StatefulPartitionedCall/ call prefix.
  const full = 'StatefulPartitionedCall/model/conv2/Relu6';
  assert.equal(model.layer(full).tensor, 'model/conv2/Relu6');
  assert.deepEqual(model.layer(full).shape, ['N', 12, 3, 3]);
  assert.equal(model.layer('model/conv2/Relu6').tensor, 'model/conv2/Relu6');
  assert.equal(model.layer('conv2/Relu6').tensor, 'model/conv2/Relu6');
  // 'Relu6' alone is shared by two nodes: no alias, so an unknown-layer error.
  assert.throws(() => model.layer('Relu6'), /no layer named 'Relu6'/);
  // The Identity output node names the softmax tensor it passes through.
  assert.equal(imp.layerNames.get('Identity'), 'model/logits/Softmax');
  assert.equal(imp.outputName, 'model/logits/Softmax');
  assert.equal(imp.layerNames.get('input_1'), 'input');
  // A TF 1 graph has no call prefix: names stay as they are.
  const tf1 = await loadTfjsModelFromFile(path.join(GRAPH_FIXTURES, 'tf1_frozen', 'model.json'));
  assert.equal(tf1.layerNames.get('pool/AvgPool'), 'pool/AvgPool');
  assert.equal(tf1.logitsName, 'dense/BiasAdd');
});

/**
 * A small graph model in memory: input -> Conv2D (-> `extra` nodes) -> Mean -> Softmax;
 * `ints` adds int32 Const nodes with their values.
 */
function tinyModel(extra: (last: string) => object[] = () => [], placeholder: number[] = [-1, 6, 6, 3], ints: Record<string, number[]> = {}): { json: object; data: Uint8Array } {
  const dims = (d: number[]) => ({ dim: d.map((s) => ({ size: String(s) })) });
  const konst = (name: string, shape: number[], dtype = 'DT_FLOAT') => ({ name, op: 'Const', attr: { value: { tensor: { dtype, tensorShape: dims(shape) } }, dtype: { type: dtype } } });
  const T = { type: 'DT_FLOAT' };
  const b64 = (s: string) => Buffer.from(s).toString('base64');
  const conv = {
    name: 'conv/Conv2D',
    op: 'Conv2D',
    input: ['x', 'conv/kernel'],
    attr: { T, padding: { s: b64('SAME') }, strides: { list: { i: ['1', '1', '1', '1'] } }, dilations: { list: { i: ['1', '1', '1', '1'] } }, data_format: { s: b64('NHWC') } },
  };
  const tail = extra('conv/Conv2D') as { name: string }[];
  const last = tail.length ? tail[tail.length - 1]!.name : 'conv/Conv2D';
  const allInts: Record<string, number[]> = { 'gap/axes': [1, 2], ...ints };
  const nodes = [
    { name: 'x', op: 'Placeholder', attr: { shape: { shape: dims(placeholder) }, dtype: { type: 'DT_FLOAT' } } },
    konst('conv/kernel', [3, 3, 3, 2]),
    ...Object.entries(allInts).map(([name, v]) => konst(name, [v.length], 'DT_INT32')),
    conv,
    ...tail,
    { name: 'gap/Mean', op: 'Mean', input: [last, 'gap/axes'], attr: { T, keep_dims: { b: false } } },
    { name: 'out/Softmax', op: 'Softmax', input: ['gap/Mean'], attr: { T } },
  ];
  const kernel = new Float32Array(54).map((_, i) => Math.sin(i));
  const data = new Uint8Array(Buffer.concat([Buffer.from(kernel.buffer), ...Object.values(allInts).map((v) => Buffer.from(new Int32Array(v).buffer))]));
  const weights = [
    { name: 'conv/kernel', shape: [3, 3, 3, 2], dtype: 'float32' },
    ...Object.entries(allInts).map(([name, v]) => ({ name, shape: [v.length], dtype: 'int32' })),
  ];
  return { json: { format: 'graph-model', modelTopology: { node: nodes, versions: {} }, weightsManifest: [{ paths: ['w.bin'], weights }] }, data };
}

test('StridedSlice (steps, shrink, new axes, ellipsis) and Pack of image tensors agree with TF.js', async () => {
  const T = { type: 'DT_FLOAT' };
  const slice = (name: string, input: string, masks: Record<string, number>) => ({
    name,
    op: 'StridedSlice',
    input: [input, `${name}/begin`, `${name}/end`, `${name}/strides`],
    attr: { T, Index: { type: 'DT_INT32' }, ...Object.fromEntries(Object.entries(masks).map(([k, v]) => [k, { i: String(v) }])) },
  });
  const m = tinyModel(
    (x) => [
      // x[:, 1:5:2, ::-1, :] -> [N, 2, 6, 2]
      slice('s1', x, { begin_mask: 0b1101, end_mask: 0b1101 }),
      // s1[..., 1] -> [N, 2, 6] (ellipsis, shrink)
      slice('s2', 's1', { ellipsis_mask: 0b01, shrink_axis_mask: 0b10 }),
      // s2[:, :, tf.newaxis, 1:] -> [N, 2, 1, 5]
      slice('s3', 's2', { begin_mask: 0b0011, end_mask: 0b1011, new_axis_mask: 0b0100 }),
      // stack(s3, s3 * 2) on the channel axis -> [N, 2, 1, 5, 2] -> back to 4-D [N, 2, 5, 2]
      { name: 'twice', op: 'AddV2', input: ['s3', 's3'], attr: { T } },
      { name: 'pair', op: 'Pack', input: ['s3', 'twice'], attr: { T, N: { i: '2' }, axis: { i: '4' } } },
      { name: 'back', op: 'Reshape', input: ['pair', 'back/shape'], attr: { T } },
    ],
    [-1, 6, 6, 3],
    {
      's1/begin': [0, 1, 0, 0],
      's1/end': [0, 5, 0, 0],
      's1/strides': [1, 2, -1, 1],
      's2/begin': [0, 1],
      's2/end': [0, 2],
      's2/strides': [1, 1],
      's3/begin': [0, 0, 0, 1],
      's3/end': [0, 0, 0, 0],
      's3/strides': [1, 1, 1, 1],
      'back/shape': [-1, 2, 5, 2],
    },
  );
  const imp = importTfjsGraph(m.json, m.data, 'slices');
  const oracle = await loadOracle({ json: m.json as never, data: m.data, modelJsonPath: '' });
  const x = randomData(2 * 6 * 6 * 3, 29);
  const nodes = ['s1', 's2', 's3', 'pair', 'back'];
  const want = await oracleOutputs(oracle, x, [2, 6, 6, 3], nodes);
  assert.deepEqual(want.get('s3')!.dims, [2, 2, 1, 5]);
  const got = await runImported(imp, x, [2, 6, 6, 3], nodes.map((n) => imp.layerNames.get(n)!));
  for (const n of nodes) assertClose(got.get(imp.layerNames.get(n)!)!, want.get(n)!, `node '${n}'`);
});

test('refusals name the node and the op: unsupported ops, NCHW, open sizes, several inputs, missing constants', () => {
  const T = { type: 'DT_FLOAT' };
  const ok = tinyModel();
  assert.equal(importTfjsGraph(ok.json, ok.data, 'tiny').outputName, 'out/Softmax');

  const erf = tinyModel((x) => [{ name: 'act/Erf', op: 'Erf', input: [x], attr: { T } }]);
  assert.throws(() => importTfjsGraph(erf.json, erf.data, 'm.json'), (e: Error) => e instanceof ModelFormatError && e.message === "m.json: node 'act/Erf' uses the TensorFlow op 'Erf', which is not supported");

  const nchw = tinyModel();
  const conv = (nchw.json as { modelTopology: { node: { name: string; attr: Record<string, unknown> }[] } }).modelTopology.node.find((n) => n.name === 'conv/Conv2D')!;
  conv.attr['data_format'] = { s: Buffer.from('NCHW').toString('base64') };
  assert.throws(() => importTfjsGraph(nchw.json, nchw.data, 'm.json'), /node 'conv\/Conv2D' \(Conv2D\): data_format 'NCHW' is not supported/);

  const open = tinyModel(undefined, [-1, -1, -1, 3]);
  assert.throws(() => importTfjsGraph(open.json, open.data, 'm.json'), /input 'x': the input leaves its size open .*the inputSize option/);
  const sized = importTfjsGraph(open.json, open.data, 'm.json', { inputSize: [8, 5] });
  assert.deepEqual(sized.inputSize, [8, 5, 3]);
  assert.deepEqual(sized.graph.inputs[0]!.shape, ['N', 3, 8, 5]);

  const two = tinyModel((x) => [
    { name: 'y', op: 'Placeholder', attr: { shape: { shape: { dim: [{ size: '-1' }, { size: '6' }, { size: '6' }, { size: '2' }] } }, dtype: { type: 'DT_FLOAT' } } },
    { name: 'sum', op: 'AddV2', input: [x, 'y'], attr: { T } },
  ]);
  assert.throws(() => importTfjsGraph(two.json, two.data, 'm.json'), /depend on 2 inputs \(x, y\); only single-image models/);

  const missing = tinyModel();
  (missing.json as { weightsManifest: { weights: unknown[] }[] }).weightsManifest[0]!.weights.pop();
  assert.throws(() => importTfjsGraph(missing.json, missing.data, 'm.json'), /node 'gap\/axes' \(Const\): the weights manifest has no entry/);

});

test('importModelFile, the core loader the page uses, takes graph models through its file reader', async () => {
  const dir = path.join(GRAPH_FIXTURES, 'tf1_frozen');
  const read = async (rel: string) => new Uint8Array(await readFile(path.join(dir, rel)).catch(() => Buffer.alloc(0)));
  const imported = await importModelFile('model.json', await read('model.json'), async (rel) => {
    const b = await read(rel);
    return b.length ? b : undefined;
  });
  assert.equal(imported.format, 'tfjs');
  assert.equal(imported.logits, 'dense/BiasAdd');
  assert.equal(imported.aliases?.get('conv2_elu/Elu'), 'conv2_elu/Elu');
  const model = Model.prepare(imported.graph, { logits: imported.logits, aliases: imported.aliases });
  assert.equal(model.layer().tensor, 'pool/AvgPool');
});

test('a graph exported with batch size 1 (placeholder [1, ...], Reshape to [1, ...]) runs on batches', async () => {
  const T = { type: 'DT_FLOAT' };
  const m = tinyModel(
    (x) => [
      { name: 'flat', op: 'Reshape', input: [x, 'flat/shape'], attr: { T } },
      { name: 'back', op: 'Reshape', input: ['flat', 'back/shape'], attr: { T } },
    ],
    [1, 6, 6, 3],
    { 'flat/shape': [1, 6, 12], 'back/shape': [1, 6, 6, 2] },
  );
  const imp = importTfjsGraph(m.json, m.data, 'batch1');
  assert.deepEqual(imp.graph.inputs[0]!.shape, ['N', 3, 6, 6]);
  const oracle = await loadOracle({ json: m.json as never, data: m.data, modelJsonPath: '' });
  const x = randomData(2 * 6 * 6 * 3, 31);
  const nodes = ['flat', 'back', 'out/Softmax'];
  const got = await runImported(imp, x, [2, 6, 6, 3], nodes);
  for (const b of [0, 1]) {
    const one = x.slice(b * 108, (b + 1) * 108);
    const want = await oracleOutputs(oracle, one, [1, 6, 6, 3], nodes);
    for (const n of nodes) {
      const g = got.get(n)!;
      const per = g.data.length / 2;
      assertClose({ data: g.data.slice(b * per, (b + 1) * per), dims: [1, ...g.dims.slice(1)] }, want.get(n)!, `image ${b}, node '${n}'`);
    }
  }
  // A leading size other than 1 would fix the batch: refused.
  const fixed = tinyModel((x) => [{ name: 'flat', op: 'Reshape', input: [x, 'flat/shape'], attr: { T } }, { name: 'back', op: 'Reshape', input: ['flat', 'back/shape'], attr: { T } }], [-1, 6, 6, 3], {
    'flat/shape': [2, 6, 6],
    'back/shape': [-1, 6, 6, 2],
  });
  assert.throws(() => importTfjsGraph(fixed.json, fixed.data, 'm.json'), /node 'flat' \(Reshape\): the shape \[2, 6, 6\] fixes the batch size to 2/);
});

test('CLI: layers marks the graph model default; explain writes its picture; an unsupported op exits 1 with one line', async () => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'graph-cli-'));
  try {
    const model = path.join(GRAPH_FIXTURES, 'keras_fused', 'model.json');
    const layers = await runCli(['layers', '--model', model]);
    assert.equal(layers.code, 0, layers.stderr);
    assert.match(layers.stdout, /^\*\s+model\/pool\/MaxPool\s+MaxPool\s+\[N, 12, 3, 3\]/m);

    const photo = path.join(dir, 'photo.png');
    await sharp({ create: { width: 40, height: 30, channels: 3, background: { r: 200, g: 80, b: 40 } } }).png().toFile(photo);
    const r = await runCli(['explain', photo, '--model', model, '--method', 'gradcam', '--layer', 'conv2/Relu6', '--out', dir, '--raw']);
    assert.equal(r.code, 0, r.stderr);
    const raw = JSON.parse(await readFile(path.join(dir, 'photo.gradcam.json'), 'utf8')) as { layer: string; camShape: number[] };
    assert.equal(raw.layer, 'model/conv2/Relu6');
    assert.deepEqual(raw.camShape, [3, 3]);
    assert.deepEqual(await sharp(path.join(dir, 'photo.gradcam.png')).metadata().then((m) => [m.width, m.height]), [40, 30]);

    const bad = path.join(dir, 'bad');
    await mkdir(bad);
    const erf = tinyModel((x) => [{ name: 'act/Erf', op: 'Erf', input: [x], attr: { T: { type: 'DT_FLOAT' } } }]);
    await writeFile(path.join(bad, 'model.json'), JSON.stringify(erf.json));
    await writeFile(path.join(bad, 'w.bin'), erf.data);
    const e = await runCli(['layers', '--model', path.join(bad, 'model.json')]);
    assert.equal(e.code, 1);
    assert.equal(e.stderr.trim().split('\n').length, 1, e.stderr);
    assert.match(e.stderr, /node 'act\/Erf' uses the TensorFlow op 'Erf', which is not supported/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
