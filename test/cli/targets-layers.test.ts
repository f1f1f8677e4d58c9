/** The CLI's --target syntax and --layer a,b,c, end to end on a fixture model and a generated image. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { writeDataset } from '../../src/node/demo-io.js';
import { runCli } from '../helpers/cli.js';
import { existsSync } from 'node:fs';
import { FIXTURES, SHARED } from '../helpers/fixtures.js';

test('explain --target 3-5 --layer a,b writes the aggregate and each layer; compare --layers runs them together', async () => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'rsi-tl-'));
  try {
    await writeDataset(dir, { count: 1, seed: 8, size: 40 });
    const img = path.join(dir, 'demo-00000.png');
    const model = ['--model', path.join(FIXTURES, 'resnet.onnx'), '--preprocess', 'imagenet'];
    const layers = '/layer1/layer1.0/relu2/Relu_output_0,/layer2/layer2.1/relu2/Relu_output_0';
    const r = await runCli(['explain', img, ...model, '--method', 'gradcam', '--target', '3-5', '--layer', layers, '--raw', '--out', dir]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /class 3 - class 5 \(score=/);
    const j = JSON.parse(await readFile(path.join(dir, 'demo-00000.gradcam.json'), 'utf8'));
    assert.equal(j.layer, layers);
    assert.deepEqual(j.objective, { kind: 'contrast', classes: [3, 5], weights: [1, -1], description: 'class 3 - class 5' });
    assert.deepEqual(j.layers.map((l: { camShape: number[] }) => l.camShape), [[16, 16], [8, 8]]);
    assert.deepEqual(j.camShape, [32, 32]);
    const png = await sharp(path.join(dir, 'demo-00000.gradcam.png')).metadata();
    assert.deepEqual([png.width, png.height], [40, 40]);
    const sum = await runCli(['explain', img, ...model, '--method', 'gradcam', '--target', '0.5*3+0.5*5', '--raw', '--out', dir]);
    assert.equal(sum.code, 0, sum.stderr);
    assert.deepEqual(JSON.parse(await readFile(path.join(dir, 'demo-00000.gradcam.json'), 'utf8')).objective.weights, [0.5, 0.5]);
    const cmp = await runCli(['compare', img, ...model, '--methods', 'gradcam,rsi-grad-cam', '--layers', layers, '--steps', '4', '--tile', '64', '--out', dir]);
    assert.equal(cmp.code, 0, cmp.stderr);
    assert.match(cmp.stdout, /2 methods x 2 layers/);
    const help = await runCli(['explain', '--help']);
    assert.match(help.stdout, /3-5 +the margin y_3 - y_5/);
    const bad = await runCli(['explain', img, ...model, '--target', '3-zebra', '--out', dir]);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /zebra/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

const MOBILENET = path.join(SHARED, 'models/mobilenet_v1_0.75_224/model.json');
test('--steps beyond 10,000 and an --internal-batch-size the memory cannot hold are refused before any work', { skip: existsSync(MOBILENET) ? false : `needs ${MOBILENET}` }, async () => {
  const img = path.join(SHARED, 'data/imagenet-val-200/images/ILSVRC2012_val_00000347.JPEG');
  const out = await mkdtemp(path.join(os.tmpdir(), 'rsi-steps-'));
  try {
    for (const steps of ['1e9', '1e20', '10001']) {
      const r = await runCli(['explain', img, '--model', MOBILENET, '--steps', steps, '--out', out]);
      assert.equal(r.code, 1, r.stderr);
      assert.match(r.stderr, new RegExp(`--steps must be an integer >= 1 and <= 10000, got '${steps}'`));
    }
    // The case: 2001 path points of MobileNet at once (it peaked at 17 GB).
    const big = await runCli(['explain', img, '--model', MOBILENET, '--steps', '2000', '--internal-batch-size', '2001', '--out', out]);
    assert.equal(big.code, 1, big.stderr);
    assert.match(big.stderr, /internalBatchSize 2001 needs about \d+ MiB per batch, more than the \d+ MiB of free memory; use at most \d+/);
  } finally {
    await rm(out, { recursive: true, force: true });
  }
});
