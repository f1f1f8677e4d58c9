/**
 * Vision transformers exported by torch (tools/export_transformer_fixtures.py: torchvision's
 * ViT and Swin structures at small sizes, seeded): token layers are seen as maps the way
 * pytorch-grad-cam's reshape_transform sees them, and Grad-CAM and RSI-Grad-CAM there equal
 * the torch references computed with that transform.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { Model } from '../../src/engine/model.js';
import { readOnnxFile } from '../../src/node/load-onnx.js';
import { serializeOnnx } from '../../src/engine/graph/onnx-io.js';
import { Pipeline } from '../../src/methods/pipeline.js';
import { GradCam } from '../../src/methods/gradcam.js';
import { RsiGradCam } from '../../src/methods/rsi-grad-cam.js';
import { AblationCam } from '../../src/methods/ablation-cam.js';
import { OptionError } from '../../src/errors.js';
import type { TokenOptions } from '../../src/engine/tokens.js';
import { loadFixture, relError, type Fixture } from '../helpers/fixtures.js';
import { runtime } from '../helpers/methods.js';
import { randomArray, rng } from '../helpers/grad-check.js';
import { buildGraph } from './rules/graph-grad.js';

const DIR = fileURLToPath(new URL('../fixtures/transformers/', import.meta.url));

interface Layer {
  modulePath: string;
  kind: 'tokens' | 'nhwc';
  grid: [number, number];
  drop: number;
  shape: number[];
}

async function load(name: string, tokens?: TokenOptions) {
  const fx = loadFixture(name, DIR);
  const model = Model.prepare(await readOnnxFile(fx.onnxPath), { source: name, tokens });
  const images = fx.meta.samples.map((s) => fx.read(s.input));
  return { fx, model, images, layers: fx.meta.layers as unknown as Layer[], pipeline: new Pipeline(model, runtime) };
}

/** A stored layer tensor (one item) as the map [D, H, W]: pytorch-grad-cam's reshape transform. */
function toMap(data: Float32Array, l: Layer): Float32Array {
  const [h, w] = l.grid;
  const d = l.shape[l.shape.length - 1]!;
  const out = new Float32Array(d * h * w);
  for (let p = 0; p < h * w; p++) for (let c = 0; c < d; c++) out[c * h * w + p] = data[(l.drop + p) * d + c]!;
  return out;
}

const targets = (fx: Fixture) => fx.meta.samples.map((s) => s.target);

for (const name of ['vit', 'vit_opset14', 'swin']) {
  test(`${name}: layers are maps on the token grid; activations and gradients equal torch's through the reshape transform`, async () => {
    const { fx, model, layers, images } = await load(name);
    for (const l of layers) {
      const info = model.layer(l.modulePath);
      assert.deepEqual(info.shape, ['N', l.shape[l.shape.length - 1], ...l.grid], `${l.modulePath} shape`);
      assert.deepEqual(info.spatial, l.grid);
      if (l.kind === 'tokens') assert.deepEqual(info.tokens, { grid: l.grid, drop: l.drop, count: l.shape[1] });
      else assert.equal(info.layout, 'NHWC');
    }
    const tensors = layers.map((l) => model.layer(l.modulePath).tensor);
    for (const score of ['logit', 'softmax'] as const) {
      const { graph, outputs } = model.build({ expose: tensors, score, wrt: tensors });
      const session = await runtime.create(serializeOnnx(graph));
      const k = fx.meta.numClasses;
      const x = new Float32Array(images.length * images[0]!.length);
      images.forEach((im, i) => x.set(im, i * im.length));
      const t = new Float32Array(k * images.length);
      targets(fx).forEach((c, i) => (t[i * k + c] = 1));
      const r = await session.run({
        [model.inputName]: { data: x, dims: [images.length, ...(model.inputShape.slice(1) as number[])] },
        'rsi/targets': { data: t, dims: [images.length, k] },
      });
      fx.meta.samples.forEach((s, i) => {
        assert.ok(relError(r[outputs.logits]!.data.slice(i * k, (i + 1) * k), fx.read(s.logits)) < 1e-4, 'logits');
        layers.forEach((l, j) => {
          const ref = s.layers[l.modulePath]!;
          const n = l.shape[l.shape.length - 1]! * l.grid[0] * l.grid[1];
          const a = r[outputs.activations[j]!]!.data.slice(i * n, (i + 1) * n);
          const g = r[outputs.gradients[j]!]!.data.slice(i * n, (i + 1) * n);
          const asMap = (d: Float32Array) => (l.kind === 'tokens' ? toMap(d, l) : nhwcToMap(d, l));
          assert.ok(relError(a, asMap(fx.read(ref.activation))) < 1e-4, `${l.modulePath} activation`);
          const e = relError(g, asMap(fx.read(score === 'logit' ? ref.gradLogit : ref.gradProb)));
          assert.ok(e < 1e-4, `${name} ${l.modulePath} ${score} gradient: relative error ${e}`);
        });
      });
      await session.release();
    }
  });

  test(`${name}: Grad-CAM and RSI-Grad-CAM (m = 50) equal pytorch-grad-cam's definition with its reshape transform`, async () => {
    const { fx, layers, images, pipeline } = await load(name);
    for (const l of layers) {
      const res = await new GradCam(pipeline).explain(images, { layer: l.modulePath, targets: targets(fx) });
      res.forEach((r, i) => {
        const ref = fx.meta.samples[i]!.layers[l.modulePath]!;
        assert.deepEqual(r.camShape, l.grid);
        const e = relError(r.cam, fx.read(ref.gradcam!));
        assert.ok(e < 1e-4, `${name} ${l.modulePath} sample ${i}: Grad-CAM error ${e}`);
      });
    }
    const first = layers[0]!;
    const zero = new Float32Array(images[0]!.length);
    for (const [weighting, key] of [['guided', 'rsi'], ['relu-grad', 'rsiReluGrad']] as const) {
      const res = await new RsiGradCam(pipeline).explain(images, { layer: first.modulePath, targets: targets(fx), baseline: zero, steps: (fx.meta as unknown as { steps: number }).steps, weighting });
      res.forEach((r, i) => {
        const ref = (fx.meta.samples[i]!.layers[first.modulePath] as unknown as Record<string, Parameters<Fixture['read']>[0]>)[key]!;
        const e = relError(r.cam, fx.read(ref));
        assert.ok(e < 1e-4, `${name} ${first.modulePath} sample ${i}: RSI-Grad-CAM (${weighting}) error ${e}`);
        assert.ok(r.cam.some((v) => v > 0), `the RSI-Grad-CAM (${weighting}) map is not blank`);
      });
    }
  });
}

function nhwcToMap(data: Float32Array, l: Layer): Float32Array {
  const [h, w] = l.grid;
  const c = l.shape[3]!;
  const out = new Float32Array(data.length);
  for (let p = 0; p < h * w; p++) for (let k = 0; k < c; k++) out[k * h * w + p] = data[p * c + k]!;
  return out;
}

test("the default layer of a class-token ViT is its last block's ln_1 (pytorch-grad-cam's choice); of a Swin, the last map before the pooling", async () => {
  for (const name of ['vit', 'vit_opset14']) {
    const { model } = await load(name);
    assert.deepEqual(model.layer().modules, ['encoder.layers.encoder_layer_1.ln_1'], name);
  }
  const { model } = await load('swin');
  assert.deepEqual(model.layer().modules, ['norm']);
});

test('every 4-D layer of the Swin knows where its channels lie (no map is read in a guessed layout)', async () => {
  const { model } = await load('swin');
  const maps = model.layers.filter((l) => l.shape.length === 4);
  assert.ok(maps.length > 50);
  for (const l of maps) assert.ok(l.layout, `${l.tensor} [${l.shape.join(', ')}] has no layout`);
});

test('tokens options reproduce the inferred grid; a grid that fits no layer leaves the token layers refused with one line naming the options', async () => {
  const inferred = await load('vit');
  const given = await load('vit', { grid: [4, 6], drop: 1 });
  const layer = 'encoder.layers.encoder_layer_1.ln_1';
  assert.deepEqual(given.model.layer(layer).tokens, inferred.model.layer(layer).tokens);
  const [a] = await new GradCam(inferred.pipeline).explain([inferred.images[0]!], { layer });
  const [b] = await new GradCam(given.pipeline).explain([given.images[0]!], { layer });
  assert.deepEqual(b!.cam, a!.cam);
  // A 6x4 grid (height and width swapped) is a different map.
  const swapped = await load('vit', { grid: [6, 4] });
  const [c] = await new GradCam(swapped.pipeline).explain([swapped.images[0]!], { layer });
  assert.deepEqual(c!.camShape, [6, 4]);
  // 7x7 tokens: no layer has 49 (+ K) tokens, so none is a map and the refusal names the options.
  const wrong = await load('vit', { grid: [7, 7] });
  await assert.rejects(
    new GradCam(wrong.pipeline).explain([wrong.images[0]!], { layer }),
    (e: Error) => e instanceof OptionError && /--tokens-grid HxW and --drop-tokens K/.test(e.message) && e.message.includes('ln_1') && !e.message.includes('\n'),
  );
  await assert.rejects(load('vit', { grid: [0, 4] }), (e: Error) => e instanceof OptionError && /tokens.grid/.test(e.message));
  await assert.rejects(load('vit', { drop: -1 }), (e: Error) => e instanceof OptionError && /tokens.drop/.test(e.message));
});

test('a fed token layer keeps its class token computed from the image: feeding the map unchanged reproduces the score; Ablation-CAM runs', async () => {
  const { fx, model, images, pipeline } = await load('vit');
  const layer = model.layer('encoder.layers.encoder_layer_1.ln_1');
  const expose = model.build({ expose: [layer.tensor], score: 'logit' });
  const fed = model.build({ feed: layer.tensor, score: 'logit' });
  const s1 = await runtime.create(serializeOnnx(expose.graph));
  const s2 = await runtime.create(serializeOnnx(fed.graph));
  const k = fx.meta.numClasses;
  const t = new Float32Array(k);
  t[3] = 1;
  const feeds = { [model.inputName]: { data: images[0]!, dims: [1, ...(model.inputShape.slice(1) as number[])] }, 'rsi/targets': { data: t, dims: [1, k] } };
  const r1 = await s1.run(feeds);
  const map = r1[expose.outputs.activations[0]!]!;
  assert.deepEqual(map.dims, [1, 40, 4, 6]);
  const r2 = await s2.run({ ...feeds, [layer.tensor]: map });
  assert.ok(Math.abs(r2[fed.outputs.score!]!.data[0]! - r1[expose.outputs.score!]!.data[0]!) < 1e-5);
  // Zeroing the grid tokens changes the score; the class token still comes from the image.
  const r3 = await s2.run({ ...feeds, [layer.tensor]: { data: new Float32Array(map.data.length), dims: map.dims } });
  assert.notEqual(r3[fed.outputs.score!]!.data[0], r1[expose.outputs.score!]!.data[0]);
  await s1.release();
  await s2.release();
  const [e] = await new AblationCam(pipeline).explain([images[0]!], { layer: layer.tensor, targets: 3 });
  assert.deepEqual(e!.camShape, [4, 6]);
  assert.equal(e!.weights.length, 40);
});

test("a model with opset 20's Gelu explains as its Erf form does (same weights, opset 17)", async () => {
  const rand = rng(4);
  const f32 = (dims: number[]) => ({ dataType: 'float32' as const, dims, data: randomArray(dims.reduce((a, b) => a * b, 1), rand) });
  const c = (v: number) => ({ dataType: 'float32' as const, dims: [], data: Float32Array.of(v) });
  const consts = { W: f32([4, 3, 3, 3]), B: f32([4]), G: f32([5, 4]), s: c(Math.SQRT1_2), one: c(1), half: c(0.5) };
  const conv = { op: 'Conv', inputs: ['x', 'W', 'B'], outputs: ['conv'], attrs: { pads: { type: 'ints' as const, value: [1, 1, 1, 1] } } };
  const head = [
    { op: 'GlobalAveragePool', inputs: ['act'], outputs: ['pool'] },
    { op: 'Flatten', inputs: ['pool'], outputs: ['flat'] },
    { op: 'Gemm', inputs: ['flat', 'G'], outputs: ['y'], attrs: { transB: { type: 'int' as const, value: 1 } } },
  ];
  const gelu = buildGraph({ inputs: { x: ['N', 3, 8, 8] }, consts, nodes: [conv, { op: 'Gelu', inputs: ['conv'], outputs: ['act'] }, ...head], outputs: ['y'], opset: 20 });
  const erf = buildGraph({
    inputs: { x: ['N', 3, 8, 8] },
    consts,
    nodes: [
      conv,
      { op: 'Mul', inputs: ['conv', 's'], outputs: ['a'] },
      { op: 'Erf', inputs: ['a'], outputs: ['e'] },
      { op: 'Add', inputs: ['e', 'one'], outputs: ['b'] },
      { op: 'Mul', inputs: ['conv', 'b'], outputs: ['p'] },
      { op: 'Mul', inputs: ['p', 'half'], outputs: ['act'] },
      ...head,
    ],
    outputs: ['y'],
  });
  const image = randomArray(3 * 8 * 8, rand, -2, 2);
  const cams = [];
  for (const graph of [gelu, erf]) {
    const model = Model.prepare(graph, { source: `opset ${graph.opset}` });
    const [r] = await new GradCam(new Pipeline(model, runtime)).explain([image], { layer: 'act', targets: 2 });
    assert.deepEqual(r!.camShape, [8, 8]);
    cams.push(r!.cam);
  }
  assert.ok(cams[0]!.some((v) => v > 0));
  assert.ok(relError(cams[0]!, cams[1]!) < 1e-5, `Gelu vs Erf form: ${relError(cams[0]!, cams[1]!)}`);
});
