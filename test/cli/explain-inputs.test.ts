/**
 * End to end, the real binary on models that are not NCHW RGB in [-1, 1]: a 1-channel model,
 * tf2onnx-style NHWC graphs, a TF.js model that rescales inside; refusals when no gradient
 * reaches the layer; warnings for all-zero cams and inaccurate RSI-Grad-CAM sums.
 * Photos are generated here, so nothing from ../shared is needed.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import onnxProto from 'onnx-proto';
import sharp from 'sharp';
import { runCli } from '../helpers/cli.js';
import { FIXTURES } from '../helpers/fixtures.js';
import { predict, tf } from '../helpers/tfjs-oracle.js';
import { rescalingTfjsModel, writeTfjsModel } from '../helpers/tfjs-files.js';
import { serializeOnnx } from '../../src/engine/graph/onnx-io.js';
import { float32Tensor, int64Tensor } from '../../src/engine/graph/tensor-data.js';
import { A } from '../../src/engine/graph/attributes.js';
import type { Graph, Node, TensorData } from '../../src/engine/graph/types.js';
import { Model } from '../../src/engine/model.js';
import { readOnnxFile } from '../../src/node/load-onnx.js';
import { runGraph } from '../helpers/grad-check.js';

tf.setBackend('cpu');
const { onnx } = onnxProto;

const dir = mkdtempSync(path.join(tmpdir(), 'rsi-inputs-'));

/** A w x h RGB photo: a gradient with a bright disc, as raw pixels and as a PNG file. */
async function photo(name: string, w: number, h: number): Promise<{ file: string; rgb: Uint8Array }> {
  const rgb = new Uint8Array(w * h * 3);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const disc = (x - w * 0.6) ** 2 + (y - h * 0.4) ** 2 < (Math.min(w, h) * 0.25) ** 2;
      const i = (y * w + x) * 3;
      rgb[i] = disc ? 240 : Math.round((255 * x) / w);
      rgb[i + 1] = disc ? 200 : Math.round((255 * y) / h);
      rgb[i + 2] = disc ? 30 : 128;
    }
  }
  const file = path.join(dir, `${name}.png`);
  await sharp(rgb, { raw: { width: w, height: h, channels: 3 } }).png().toFile(file);
  return { file, rgb };
}

const json = (out: string, file: string, method: string) => JSON.parse(readFileSync(path.join(out, `${path.parse(file).name}.${method}.json`), 'utf8'));
const lines = (s: string) => s.trim().split('\n').filter((l) => l && !l.startsWith('(add --help'));

test('a 1-channel (MNIST-style) ONNX model explains photos: luminance input, one-value mean/std sidecar, [7, 7] cam', async () => {
  const model = path.join(dir, 'gray.onnx');
  copyFileSync(path.join(FIXTURES, 'variety_gray.onnx'), model);
  writeFileSync(path.join(dir, 'gray.preprocess.json'), JSON.stringify({ mean: [0.1307], std: [0.3081], scale: 1 / 255 }));
  const { file, rgb } = await photo('digit', 28, 28);
  const out = path.join(dir, 'out-gray');
  for (const method of ['rsi-grad-cam', 'gradcam']) {
    const r = await runCli(['explain', file, '--model', model, '--method', method, '--steps', '20', '--out', out, '--raw']);
    assert.equal(r.code, 0, r.stderr);
    const j = json(out, file, method);
    assert.equal(j.layer, '/features/features.4/features.4.2/Relu_output_0');
    assert.deepEqual(j.camShape, [7, 7]);
    assert.equal(j.cam.length, 49);
    const png = await sharp(path.join(out, `digit.${method}.png`)).metadata();
    assert.deepEqual([png.width, png.height], [28, 28]);
    // The CLI's prediction is the model's on the photo's luminance, normalised by the sidecar.
    const m = Model.prepare(await readOnnxFile(model), { source: 'gray' });
    const x = new Float32Array(28 * 28);
    for (let i = 0; i < x.length; i++) x[i] = ((0.299 * rgb[3 * i]! + 0.587 * rgb[3 * i + 1]! + 0.114 * rgb[3 * i + 2]!) / 255 - 0.1307) / 0.3081;
    const { graph, outputs } = m.build({});
    const probs = (await runGraph(graph, { [m.inputName]: { data: x, dims: [1, 1, 28, 28] } }))[outputs.probs]!.data;
    assert.ok(Math.abs(j.probability - probs[j.target.index]!) < 2e-3, `${j.probability} vs ${probs[j.target.index]}`);
  }
});

test('tf2onnx NHWC graphs: the default layer is the last Keras map, cams are [H, W], Keras layer names work, layers shows the layout', async () => {
  const { file } = await photo('scene', 64, 48);
  const out = path.join(dir, 'out-nhwc');
  const cases: [string, string[], string, number[]][] = [
    ['tf2onnx_transposes', [], 'model/activation/Relu:0', [8, 8]],
    ['tf2onnx_transposes', ['--layer', 'conv2d'], 'model/conv2d/Relu:0', [32, 32]],
    ['tf2onnx_flatten', [], 'sequential/max_pooling2d_1/MaxPool:0', [8, 8]],
  ];
  for (const [name, extra, layer, camShape] of cases) {
    const r = await runCli(['explain', file, '--model', path.join(FIXTURES, `${name}.onnx`), '--preprocess', 'tf', '--method', 'gradcam', '--out', out, '--raw', ...extra]);
    assert.equal(r.code, 0, r.stderr);
    const j = json(out, file, 'gradcam');
    assert.equal(j.layer, layer, name);
    assert.deepEqual(j.camShape, camShape, `${name} ${extra.join(' ')}`);
    assert.ok(j.cam.some((v: number) => v > 0), 'a real map, not a blank one');
    const png = await sharp(path.join(out, 'scene.gradcam.png')).metadata();
    assert.deepEqual([png.width, png.height], [64, 48]);
  }
  const l = await runCli(['layers', '--model', path.join(FIXTURES, 'tf2onnx_transposes.onnx'), '--json']);
  assert.equal(l.code, 0, l.stderr);
  const def = (JSON.parse(l.stdout) as { name: string; layout: string; spatial: number[]; shape: unknown[]; default: boolean }[]).find((x) => x.default)!;
  assert.deepEqual([def.name, def.layout, def.spatial, def.shape], ['model/activation/Relu:0', 'NHWC', [8, 8], ['N', 16, 8, 8]]);
});

test('a TF.js model with Rescaling at its input gets raw pixels by default: the CLI predicts what TF.js predicts on 0-255 values', async () => {
  const model = rescalingTfjsModel();
  const file = await writeTfjsModel(model, path.join(dir, 'rescaling-model'));
  const { file: img, rgb } = await photo('small', 16, 16);
  const [want] = await predict(model, Float32Array.from(rgb), [1, 16, 16, 3]);
  const top = want!.data.indexOf(Math.max(...want!.data));
  const out = path.join(dir, 'out-raw');
  const r = await runCli(['explain', img, '--model', file, '--method', 'gradcam', '--out', out, '--raw']);
  assert.equal(r.code, 0, r.stderr);
  const j = json(out, img, 'gradcam');
  assert.equal(j.target.index, top);
  assert.ok(Math.abs(j.probability - want!.data[top]!) < 1e-3, `${j.probability} vs ${want!.data[top]}`);
  // Through the Flatten's to_nhwc Transpose, the default is the Keras layer conv2: an 8x8 map.
  assert.equal(j.layer, 'conv2');
  assert.deepEqual(j.camShape, [8, 8]);
  // [-1, 1] input (the old default) gives this model other probabilities.
  const t = await runCli(['explain', img, '--model', file, '--method', 'gradcam', '--out', out, '--raw', '--preprocess', 'tf', '--target', String(top)]);
  assert.equal(t.code, 0, t.stderr);
  assert.ok(Math.abs(json(out, img, 'gradcam').probability - want!.data[top]!) > 1e-3);
});

test('a tf2onnx model that starts with Keras Rescaling gets raw pixels without --preprocess (NHWC input)', async () => {
  const model = path.join(FIXTURES, 'tf2onnx_rescaling.onnx');
  const { file, rgb } = await photo('rescaled', 32, 32);
  const out = path.join(dir, 'out-rescaling');
  const r = await runCli(['explain', file, '--model', model, '--method', 'gradcam', '--out', out, '--raw']);
  assert.equal(r.code, 0, r.stderr);
  const j = json(out, file, 'gradcam');
  assert.equal(j.layer, 'sequential/conv2d_1/Relu:0');
  assert.deepEqual(j.camShape, [16, 16]);
  // The model on the photo's 0-255 pixels, NHWC as they lie in the PNG.
  const m = Model.prepare(await readOnnxFile(model), { source: 'rescaling' });
  const { graph, outputs } = m.build({});
  const probs = (await runGraph(graph, { [m.inputName]: { data: Float32Array.from(rgb), dims: [1, 32, 32, 3] } }))[outputs.probs]!.data;
  assert.ok(Math.abs(j.probability - probs[j.target.index]!) < 1e-3, `${j.probability} vs ${probs[j.target.index]}`);
});

const n = (opType: string, inputs: string[], outputs: string[], attributes: Node['attributes'] = {}): Node => ({ name: `${opType}_${outputs[0]}`, opType, domain: '', inputs, outputs, attributes });

/** x [N, 3, 16, 16] -> Conv -> Add `shift` -> Relu 'r' -> `middle` -> 'm' -> GAP -> Flatten -> MatMul -> y. */
function tinyOnnx(name: string, middle: Node[], shift: number, extra: [string, TensorData][] = []): string {
  const g: Graph = {
    name,
    nodes: [n('Conv', ['x', 'w'], ['c'], { pads: A.ints([1, 1, 1, 1]) }), n('Add', ['c', 'shift'], ['cs']), n('Relu', ['cs'], ['r']), ...middle, n('GlobalAveragePool', ['m'], ['p']), n('Flatten', ['p'], ['f']), n('MatMul', ['f', 'fc'], ['y'])],
    initializers: new Map([
      ['w', float32Tensor(Array.from({ length: 4 * 3 * 3 * 3 }, (_, i) => Math.sin(i)), [4, 3, 3, 3])],
      ['shift', float32Tensor([shift], [])],
      ['fc', float32Tensor(Array.from({ length: 4 * 5 }, (_, i) => Math.cos(i)), [4, 5])],
      ...extra,
    ]),
    inputs: [{ name: 'x', dataType: 'float32', shape: ['N', 3, 16, 16] }],
    outputs: [{ name: 'y', dataType: 'float32' }],
    valueInfo: new Map([
      ['am', { name: 'am', dataType: 'int64', shape: ['N', 1, 16, 16] }],
      ['m', { name: 'm', dataType: 'float32', shape: ['N', 4, 16, 16] }],
    ]),
    opset: 17,
    otherOpsets: [],
    irVersion: 8,
    producerName: 'test',
  };
  // Shapes of ops without a shape rule are recorded in the file, as exporters do.
  const proto = onnx.ModelProto.decode(serializeOnnx(g));
  for (const v of g.valueInfo.values()) {
    const dim = v.shape!.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d }));
    proto.graph!.valueInfo!.push(onnx.ValueInfoProto.create({ name: v.name, type: { tensorType: { elemType: v.dataType === 'int64' ? 7 : 1, shape: { dim } } } }));
  }
  const file = path.join(dir, `${name}.onnx`);
  writeFileSync(file, onnx.ModelProto.encode(proto).finish());
  return file;
}

test('no gradient path to the layer: exit 1 with one line naming the file, layer and op (never a blank map with exit 0)', async () => {
  // The layer reaches the score only through ArgMax (its int64 output, cast and broadcast).
  const only = tinyOnnx('argmax-only', [
    n('ArgMax', ['r'], ['am'], { axis: A.int(1), keepdims: A.int(1) }),
    n('Cast', ['am'], ['amf'], { to: A.int(1) }),
    n('Expand', ['amf', 'shape4'], ['m']),
  ], 0, [['shape4', int64Tensor([1, 4, 1, 1])]]);
  const { file } = await photo('p', 20, 20);
  for (const method of ['gradcam', 'rsi-grad-cam']) {
    const r = await runCli(['explain', file, '--model', only, '--preprocess', 'unit', '--layer', 'r', '--method', method, '--out', path.join(dir, 'out-argmax')]);
    assert.equal(r.code, 1, r.stderr);
    const ls = lines(r.stderr);
    assert.equal(ls.length, 1, r.stderr);
    assert.match(ls[0]!, /argmax-only\.onnx: the score depends on layer 'r' only through node 'ArgMax_am' \(ArgMax\)/);
  }
});

test('warnings, one line per image: an all-zero cam says to try another layer; an inaccurate RSI sum says to raise --steps', async () => {
  // A bias of -1000 before the ReLU: the layer is all zero for every photo.
  const dead = tinyOnnx('dead', [n('Identity', ['r'], ['m'])], -1000);
  const { file: a } = await photo('a', 20, 20);
  const { file: b } = await photo('b', 30, 20);
  const out = path.join(dir, 'out-warn');
  const r = await runCli(['explain', a, b, '--model', dead, '--preprocess', 'unit', '--method', 'gradcam', '--out', out]);
  assert.equal(r.code, 0, r.stderr);
  const w = lines(r.stderr).filter((l) => l.startsWith('warning:'));
  assert.equal(w.length, 2, r.stderr);
  assert.match(w[0]!, new RegExp(`^warning: ${a.replace(/[.]/g, '\\.')}: the gradcam cam at layer '.*' is all zero .*try another layer \\(--layer`));
  assert.match(w[1]!, /b\.png: the gradcam cam .* is all zero/);

  // RSI-Grad-CAM with 1 step on a real network: the sum misses the score change.
  const model = path.join(FIXTURES, 'tf2onnx_transposes.onnx');
  for (const steps of ['1', '64']) {
    const s = await runCli(['explain', a, '--model', model, '--preprocess', 'tf', '--steps', steps, '--out', out, '--raw', '--layer', 'conv2d']);
    assert.equal(s.code, 0, s.stderr);
    const rel = json(out, a, 'rsi-grad-cam').relativeCompletenessError as number;
    const warned = lines(s.stderr).filter((l) => l.startsWith('warning:'));
    if (rel > 0.1) {
      assert.equal(warned.length, 1, `steps ${steps}: rel ${rel}\n${s.stderr}`);
      assert.match(warned[0]!, new RegExp(`completeness error is .* of the score change \\(above 0\\.1\\).*try more --steps \\(now ${steps}\\)`));
    } else assert.equal(warned.length, 0, `steps ${steps}: rel ${rel}\n${s.stderr}`);
    if (steps === '1') assert.ok(rel > 0.1, `one step should be inaccurate here (rel ${rel})`);
    if (steps === '64') assert.ok(rel < 0.1, `64 steps should be accurate here (rel ${rel})`);
  }
});

test("compare prints explain's warnings, one per map: the all-zero cam and the inaccurate RSI sum", async () => {
  const dead = tinyOnnx('dead-compare', [n('Identity', ['r'], ['m'])], -1000);
  const { file: a } = await photo('cmp', 20, 20);
  const out = path.join(dir, 'out-compare-warn');
  const r = await runCli(['compare', a, '--model', dead, '--preprocess', 'unit', '--methods', 'gradcam', '--tile', '48', '--out', out]);
  assert.equal(r.code, 0, r.stderr);
  const w = lines(r.stderr).filter((l) => l.startsWith('warning:'));
  assert.equal(w.length, 1, r.stderr);
  assert.match(w[0]!, new RegExp(`^warning: ${a.replace(/[.]/g, '\\.')}: the gradcam cam at layer '.*' is all zero .*try another layer \\(--layer`));

  // One step: RSI-Grad-CAM's sum misses the score change; compare prints explain's line for it,
  // and nothing for Grad-CAM (no completeness, a non-zero cam).
  const model = path.join(FIXTURES, 'tf2onnx_transposes.onnx');
  const ex = await runCli(['explain', a, '--model', model, '--preprocess', 'tf', '--steps', '1', '--layer', 'conv2d', '--out', out]);
  assert.equal(ex.code, 0, ex.stderr);
  const want = lines(ex.stderr).filter((l) => l.startsWith('warning:'));
  assert.equal(want.length, 1, ex.stderr);
  const c = await runCli(['compare', a, '--model', model, '--preprocess', 'tf', '--steps', '1', '--layers', 'conv2d', '--methods', 'gradcam,rsi-grad-cam', '--tile', '48', '--out', out]);
  assert.equal(c.code, 0, c.stderr);
  assert.deepEqual(lines(c.stderr).filter((l) => l.startsWith('warning:')), want);
});
