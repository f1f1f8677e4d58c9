import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { runCli } from '../helpers/cli.js';
import { FIXTURES, SHARED } from '../helpers/fixtures.js';

test('--help on every command, with examples; exit 0', async () => {
  for (const cmd of ['explain', 'layers', 'compare', 'demo', 'generate', 'eval']) {
    const r = await runCli([cmd, '--help']);
    assert.equal(r.code, 0, `${cmd}: ${r.stderr}`);
    assert.match(r.stdout, new RegExp(`Usage: rsi-grad-cam ${cmd}`));
    assert.match(r.stdout, /Examples:/, cmd);
  }
  const top = await runCli(['--help']);
  assert.equal(top.code, 0);
  assert.match(top.stdout, /explain/);
});

test('unknown commands and options are user errors (exit 1)', async () => {
  assert.equal((await runCli(['frobnicate'])).code, 1);
  const r = await runCli(['explain', 'x.jpg', '--model', 'm.onnx', '--colormap', 'rainbow']);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /--colormap.*rainbow|rainbow.*colormap/s);
});

test('generate writes the same bytes for the same seed', async () => {
  const a = mkdtempSync(path.join(tmpdir(), 'rsi-gen-'));
  const b = mkdtempSync(path.join(tmpdir(), 'rsi-gen-'));
  for (const out of [a, b]) assert.equal((await runCli(['generate', '--count', '3', '--seed', '11', '--out', out])).code, 0);
  const files = readdirSync(a).sort();
  assert.deepEqual(files, readdirSync(b).sort());
  assert.equal(files.filter((f) => /^demo-\d+\.png$/.test(f)).length, 3);
  for (const f of files) assert.deepEqual(readFileSync(path.join(a, f)), readFileSync(path.join(b, f)), f);
  const ann = JSON.parse(readFileSync(path.join(a, 'annotations.json'), 'utf8'));
  assert.equal(ann.images.length, 3);
  assert.equal(ann.images[0].boxes[0].length, 4);
});

const MODEL = path.join(SHARED, 'models/mobilenet_v1_0.75_224/model.json');
test('compare writes one grid: methods x layers plus the photo', { skip: existsSync(MODEL) ? false : `needs ${MODEL}` }, async () => {
  const out = mkdtempSync(path.join(tmpdir(), 'rsi-cmp-'));
  const img = path.join(SHARED, 'data/imagenet-val-200/images/ILSVRC2012_val_00000347.JPEG');
  const r = await runCli(['compare', img, '--model', MODEL, '--layers', 'conv_pw_13_relu,conv_pw_11_relu', '--steps', '8', '--tile', '128', '--out', out]);
  assert.equal(r.code, 0, r.stderr);
  const meta = await sharp(path.join(out, 'ILSVRC2012_val_00000347.compare.png')).metadata();
  // Two 128-px columns plus the header column; two rows plus captions and the header row.
  assert.ok(meta.width! > 2 * 128 && meta.width! < 5 * 128, `width ${meta.width}`);
  assert.ok(meta.height! > 2 * 128 && meta.height! < 5 * 128, `height ${meta.height}`);
});

test('an ONNX model with no known preprocessing asks for --preprocess; with it, explain works', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'rsi-onnx-cli-'));
  assert.equal((await runCli(['generate', '--count', '1', '--seed', '3', '--size', '64', '--out', dir])).code, 0);
  const img = path.join(dir, 'demo-00000.png');
  const model = path.join(FIXTURES, 'vgg.onnx');
  const bare = await runCli(['explain', img, '--model', model, '--out', dir]);
  assert.equal(bare.code, 1);
  assert.match(bare.stderr, /preprocessing is unknown.*--preprocess imagenet\|tf\|caffe\|unit\|FILE\.json/);
  for (const method of ['ablationcam', 'gradcam++', 'rsi-grad-cam']) {
    const ok = await runCli(['explain', img, '--model', model, '--preprocess', 'imagenet', '--method', method, '--steps', '4', '--out', dir, '--raw']);
    assert.equal(ok.code, 0, ok.stderr);
    const j = JSON.parse(readFileSync(path.join(dir, `demo-00000.${method}.json`), 'utf8'));
    assert.deepEqual(j.camShape, [3, 3]);
    assert.equal(j.target.label, `class ${j.target.index}`);
    const png = await sharp(path.join(dir, `demo-00000.${method}.png`)).metadata();
    assert.deepEqual([png.width, png.height], [64, 64]);
  }
});
