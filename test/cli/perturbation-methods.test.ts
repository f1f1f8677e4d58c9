/**
 * scorecam, eigencam, eigengradcam, occlusion and rise through the CLI: their flags reach the
 * method (the raw JSON equals the API's result with the same options), and every one runs in
 * `compare` and `eval` beside a gradient method.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { writeDataset } from '../../src/node/demo-io.js';
import { explainFile } from '../../src/node/explain-files.js';
import { loadModel } from '../../src/node/load-model.js';
import sharp from 'sharp';
import { runCli } from '../helpers/cli.js';
import { FIXTURES, relError } from '../helpers/fixtures.js';

const ONNX = path.join(FIXTURES, 'resnet.onnx');
const MODEL = ['--model', ONNX, '--preprocess', 'imagenet'];
const LAYER = '/layer2/layer2.1/relu2/Relu_output_0';

test('explain --raw: occlusion and rise flags reach the method (the JSON equals the API with the same options)', async () => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'rsi-perturb-'));
  const classifier = await loadModel(ONNX, { preprocess: 'imagenet' });
  try {
    await writeDataset(dir, { count: 1, seed: 9, size: 40 });
    const img = path.join(dir, 'demo-00000.png');
    const cases = [
      { method: 'occlusion', flags: ['--window', '5', '--stride', '3', '--occlusion-value', '0.5'], options: { window: 5, stride: 3, occlusionValue: 0.5 } },
      { method: 'rise', flags: ['--masks', '40', '--cell', '6', '--keep', '0.4', '--seed', '12'], options: { masks: 40, cell: 6, keep: 0.4, seed: 12 } },
    ];
    for (const c of cases) {
      const r = await runCli(['explain', img, ...MODEL, '--method', c.method, ...c.flags, '--target', '3', '--raw', '--out', dir]);
      assert.equal(r.code, 0, r.stderr);
      const j = JSON.parse(await readFile(path.join(dir, `demo-00000.${c.method}.json`), 'utf8'));
      assert.equal(j.method, c.method);
      const api = (await explainFile(classifier, img, { method: c.method, targets: 3, ...c.options })).explanation;
      assert.deepEqual(j.attributionShape, api.attributionShape);
      assert.ok(relError(j.attributions, api.attributions!) < 1e-6, `${c.method}: CLI and API differ`);
      assert.ok(relError(j.cam, api.cam) < 1e-6);
      if (c.method === 'occlusion') assert.deepEqual(j.attributionShape, [3, 32, 32]);
    }
    // Another seed gives other masks.
    const other = (await explainFile(classifier, img, { method: 'rise', targets: 3, masks: 40, cell: 6, keep: 0.4, seed: 13 })).explanation;
    const j = JSON.parse(await readFile(path.join(dir, 'demo-00000.rise.json'), 'utf8'));
    assert.ok(relError(j.cam, other.cam) > 1e-3);
    const bad = await runCli(['explain', img, ...MODEL, '--method', 'occlusion', '--window', '40', '--out', dir]);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /window must be an integer from 1 to 32/);
  } finally {
    await classifier.dispose();
    await rm(dir, { recursive: true, force: true });
  }
});

test('compare and eval run scorecam, eigencam, eigengradcam, occlusion and rise beside gradcam', async () => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'rsi-perturb-'));
  try {
    await writeDataset(dir, { count: 2, seed: 4, size: 32 });
    const img = path.join(dir, 'demo-00000.png');
    const methods = 'gradcam,scorecam,eigencam,eigengradcam,occlusion,rise';
    const small = ['--window', '8', '--stride', '8', '--masks', '16'];
    const cmp = await runCli(['compare', img, ...MODEL, '--methods', methods, '--layers', LAYER, ...small, '--tile', '64', '--out', dir]);
    assert.equal(cmp.code, 0, cmp.stderr);
    assert.match(cmp.stdout, /6 methods x 1 layer/);
    const out = path.join(dir, 'eval');
    const ev = await runCli(['eval', ...MODEL, '--annotations', path.join(dir, 'annotations.json'), '--methods', methods, '--layers', LAYER, ...small, '--metrics', 'pointing,energy', '--out', out]);
    assert.equal(ev.code, 0, ev.stderr);
    const lines = (await readFile(path.join(out, 'results.jsonl'), 'utf8')).trim().split('\n').map((x) => JSON.parse(x));
    assert.equal(lines.length, 2);
    const expected = ['gradcam', 'scorecam', 'eigencam', 'eigengradcam'].map((m) => `${m}|${LAYER}`).concat(['occlusion|input', 'rise|input']);
    for (const line of lines) assert.deepEqual(Object.keys(line.combos).sort(), expected.sort());
    // run.json keeps the method options given, so a rerun with other masks or windows never mixes.
    assert.equal(JSON.parse(await readFile(path.join(out, 'run.json'), 'utf8')).masks, 16);
    const other = await runCli(['eval', ...MODEL, '--annotations', path.join(dir, 'annotations.json'), '--methods', 'occlusion', '--window', '4', '--stride', '8', '--masks', '16', '--metrics', 'pointing', '--out', out]);
    assert.equal(other.code, 1, other.stderr);
    assert.match(other.stderr, /--out holds results made with window = 8, not 4/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('compare --columns: one layer\'s tiles wrapped n to a row, the photo first; refused with several layers', async () => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'rsi-columns-'));
  try {
    await writeDataset(dir, { count: 1, seed: 5, size: 96 });
    const img = path.join(dir, 'demo-00000.png');
    const r = await runCli(['compare', img, ...MODEL, '--methods', 'gradcam,saliency,eigencam', '--layers', LAYER, '--columns', '2', '--tile', '64', '--out', dir]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /3 methods x 1 layer/);
    // Photo + 3 tiles, 2 to a row: 2 columns of 64 px and 2 rows of 64 px plus their captions.
    const meta = await sharp(path.join(dir, 'demo-00000.compare.png')).metadata();
    assert.ok(meta.width! >= 2 * 64 && meta.width! < 3 * 64, `width ${meta.width}`);
    assert.ok(meta.height! >= 2 * 64 && meta.height! < 4 * 64, `height ${meta.height}`);
    const two = await runCli(['compare', img, ...MODEL, '--methods', 'gradcam', '--layers', `${LAYER},/layer1/layer1.0/relu2/Relu_output_0`, '--columns', '2', '--out', dir]);
    assert.equal(two.code, 1, two.stderr);
    assert.match(two.stderr, /--columns lays out one layer's tiles; with 2 layers the columns are the layers/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
