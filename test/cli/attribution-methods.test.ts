/**
 * The attribution methods through the CLI: raw JSON with Captum-shaped attributions, input
 * methods beside layer methods in `compare` and `eval` (they take no layer), and a clear
 * refusal of a layer for an input method.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { writeDataset } from '../../src/node/demo-io.js';
import { runCli } from '../helpers/cli.js';
import { FIXTURES } from '../helpers/fixtures.js';

const MODEL = ['--model', path.join(FIXTURES, 'resnet.onnx'), '--preprocess', 'imagenet'];
const LAYER1 = '/layer1/layer1.0/relu2/Relu_output_0';
const LAYER2 = '/layer2/layer2.1/relu2/Relu_output_0';

test('explain --raw: ig writes attributions [C, H, W] and their channel sum as the cam; layer-ig at the layer; a layer for ig is refused', async () => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'rsi-attr-'));
  try {
    await writeDataset(dir, { count: 1, seed: 5, size: 40 });
    const img = path.join(dir, 'demo-00000.png');
    const ig = await runCli(['explain', img, ...MODEL, '--method', 'ig', '--steps', '8', '--rule', 'gauss-legendre', '--raw', '--out', dir]);
    assert.equal(ig.code, 0, ig.stderr);
    const j = JSON.parse(await readFile(path.join(dir, 'demo-00000.ig.json'), 'utf8'));
    assert.equal(j.method, 'ig');
    assert.equal(j.layer, 'input');
    assert.deepEqual(j.layerModules, []);
    assert.deepEqual(j.attributionShape, [3, 32, 32]);
    assert.equal(j.attributions.length, 3 * 32 * 32);
    assert.deepEqual(j.camShape, [32, 32]);
    const cam = Array.from({ length: 1024 }, (_, p) => Math.max(0, j.attributions[p] + j.attributions[1024 + p] + j.attributions[2048 + p]));
    assert.ok(cam.every((v, p) => Math.abs(v - j.cam[p]) <= 1e-6 * Math.max(1, Math.abs(v))));
    assert.equal(j.steps, 8);
    // Captum's delta: sum of attributions - (F(x) - F(x')).
    const total = j.attributions.reduce((a: number, b: number) => a + b, 0);
    assert.ok(Math.abs(j.completenessError - (total - (j.scoreValue - j.baselineScore))) < 1e-4);

    const lig = await runCli(['explain', img, ...MODEL, '--method', 'layer-ig', '--layer', LAYER2, '--steps', '4', '--raw', '--out', dir]);
    assert.equal(lig.code, 0, lig.stderr);
    const l = JSON.parse(await readFile(path.join(dir, 'demo-00000.layer-ig.json'), 'utf8'));
    assert.deepEqual(l.attributionShape, [16, 8, 8]);
    assert.equal(l.attributions.length, 16 * 8 * 8);
    assert.deepEqual(l.layerModules, ['layer2', 'layer2.1', 'layer2.1.relu2']);

    const bad = await runCli(['explain', img, ...MODEL, '--method', 'ig', '--layer', LAYER2, '--out', dir]);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /ig attributes to the input pixels; it takes no layer/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('compare and eval run input methods beside layer methods: one map at the input, the layer methods at each layer', async () => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'rsi-attr-'));
  try {
    await writeDataset(dir, { count: 2, seed: 6, size: 32 });
    const img = path.join(dir, 'demo-00000.png');
    const cmp = await runCli(['compare', img, ...MODEL, '--methods', 'gradcam,saliency,ig,conductance', '--layers', `${LAYER1},${LAYER2}`, '--steps', '4', '--tile', '64', '--out', dir]);
    assert.equal(cmp.code, 0, cmp.stderr);
    assert.match(cmp.stdout, /4 methods x 2 layers/);

    const out = path.join(dir, 'eval');
    const ev = await runCli([
      'eval', ...MODEL, '--annotations', path.join(dir, 'annotations.json'), '--methods', 'gradcam,ig', '--layers', `${LAYER1},${LAYER2}`,
      '--steps', '4', '--metrics', 'pointing,energy', '--out', out,
    ]);
    assert.equal(ev.code, 0, ev.stderr);
    // gradcam at each layer, ig once at the input.
    const lines = (await readFile(path.join(out, 'results.jsonl'), 'utf8')).trim().split('\n').map((x) => JSON.parse(x));
    assert.equal(lines.length, 2);
    for (const line of lines) assert.deepEqual(Object.keys(line.combos).sort(), [`gradcam|${LAYER1}`, `gradcam|${LAYER2}`, 'ig|input']);
    assert.match(ev.stdout, /ig @ input/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
