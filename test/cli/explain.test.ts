/**
 * End to end: the real binary on real ImageNet photos with the real MobileNet v1 0.75
 * (from ../shared; skipped with a message when it is absent).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { runCli } from '../helpers/cli.js';
import { SHARED } from '../helpers/fixtures.js';

const MODEL = path.join(SHARED, 'models/mobilenet_v1_0.75_224/model.json');
const IMAGES = path.join(SHARED, 'data/imagenet-val-200/images');
const skip = existsSync(MODEL) ? false : `needs ${MODEL} (the shared data folder beside the repo)`;
const photo = (name: string) => path.join(IMAGES, name);
const P1 = 'ILSVRC2012_val_00000347.JPEG';
const P2 = 'ILSVRC2012_val_00000890.JPEG';

test('explain writes a heatmap PNG at the photo size and consistent raw JSON, for both methods', { skip }, async () => {
  const out = mkdtempSync(path.join(tmpdir(), 'rsi-cli-'));
  // A portrait crop of a real photo, so "photo size" is not the model's square.
  const tall = path.join(out, 'tall.png');
  await sharp(photo(P2)).extract({ left: 40, top: 0, width: 120, height: 227 }).png().toFile(tall);
  for (const method of ['rsi-grad-cam', 'gradcam']) {
    const r = await runCli(['explain', photo(P1), tall, '--model', MODEL, '--method', method, '--steps', '10', '--out', out, '--raw']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /2 images explained/);
    for (const [file, stem] of [[photo(P1), path.parse(P1).name], [tall, 'tall']] as const) {
      const meta = await sharp(file).metadata();
      const png = await sharp(path.join(out, `${stem}.${method}.png`)).metadata();
      assert.deepEqual([png.width, png.height], [meta.width, meta.height]);
      const j = JSON.parse(readFileSync(path.join(out, `${stem}.${method}.json`), 'utf8'));
      for (const k of ['method', 'layer', 'score', 'target', 'probability', 'topk', 'camShape', 'cam', 'weights', 'timings']) assert.ok(k in j, `${k} missing`);
      assert.equal(j.method, method);
      assert.equal(j.layer, 'conv_pw_13_relu');
      assert.deepEqual(j.camShape, [7, 7]);
      assert.equal(j.cam.length, j.camShape[0] * j.camShape[1]);
      assert.equal(j.weights.length, 768);
      assert.ok(j.cam.every((v: number) => v >= 0));
      assert.equal(j.topk.length, 5);
      assert.equal(j.target.index, j.topk[0].index, 'top1 target is the argmax');
      assert.ok(j.topk.every((t: { probability: number }, i: number) => i === 0 || t.probability <= j.topk[i - 1].probability));
      assert.ok(Math.abs(j.probability - j.topk[0].probability) < 1e-6);
      assert.equal(typeof j.target.label, 'string');
      assert.ok(j.timings.load > 0 && j.timings.explain > 0);
      if (method === 'rsi-grad-cam') {
        assert.equal(j.steps, 10);
        assert.equal(typeof j.completenessError, 'number');
        assert.equal(j.score, 'softmax');
      } else assert.equal(j.score, 'logit');
    }
  }
  // The canoe photo is a canoe.
  const j = JSON.parse(readFileSync(path.join(out, `${path.parse(P1).name}.gradcam.json`), 'utf8'));
  assert.equal(j.target.label, 'canoe');
});

test('targets by label and index; layers lists the default', { skip }, async () => {
  const out = mkdtempSync(path.join(tmpdir(), 'rsi-cli-'));
  const r = await runCli(['explain', photo(P1), '--model', MODEL, '--method', 'gradcam', '--target', 'paddle', '--out', out, '--raw', '--layer', 'conv_pw_11_relu']);
  assert.equal(r.code, 0, r.stderr);
  const j = JSON.parse(readFileSync(path.join(out, `${path.parse(P1).name}.gradcam.json`), 'utf8'));
  assert.equal(j.target.label, 'paddle, boat paddle');
  assert.deepEqual(j.camShape, [14, 14]);
  const l = await runCli(['layers', '--model', MODEL]);
  assert.equal(l.code, 0, l.stderr);
  assert.match(l.stdout, /^\*\s+conv_pw_13_relu\s+Clip\s+\[N, 768, 7, 7\]/m);
});

test('bad input: one-line errors naming the culprit, exit code 1', { skip }, async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'rsi-bad-'));
  const jpeg = readFileSync(photo(P1));
  writeFileSync(path.join(dir, 'truncated.jpg'), jpeg.subarray(0, Math.floor(jpeg.length / 3)));
  writeFileSync(path.join(dir, 'text.jpg'), 'not an image');
  await sharp({ create: { width: 1, height: 1, channels: 3, background: '#fff' } }).png().toFile(path.join(dir, 'one.png'));
  // A real 20000x20000 PNG (1.2 MB on disk, 1.2 GB decoded): refused from its header.
  await sharp({ create: { width: 20000, height: 20000, channels: 3, background: '#000' }, limitInputPixels: false }).png({ compressionLevel: 9 }).toFile(path.join(dir, 'huge.png'));
  const base = ['--model', MODEL, '--out', path.join(dir, 'out'), '--method', 'gradcam'];
  const cases: [string[], RegExp][] = [
    [['explain', path.join(dir, 'missing.jpg'), ...base], /missing\.jpg.*not found/],
    [['explain', path.join(dir, 'truncated.jpg'), ...base], /truncated\.jpg/],
    [['explain', path.join(dir, 'text.jpg'), ...base], /text\.jpg/],
    [['explain', path.join(dir, 'one.png'), ...base], /one\.png.*too small/],
    [['explain', path.join(dir, 'huge.png'), ...base], /huge\.png.*20000x20000.*limit/],
    [['explain', photo(P1), ...base, '--method', 'nope'], /--method|nope/],
    [['explain', photo(P1), ...base, '--layer', 'conv_pw_99'], /no layer named 'conv_pw_99'.*did you mean/],
    [['explain', photo(P1), ...base, '--target', 'unicorn'], /no class named 'unicorn'/],
    [['explain', photo(P1), ...base, '--target', '1000'], /class index 1000 is out of range/],
    [['explain', photo(P1), '--model', path.join(dir, 'nomodel.onnx')], /nomodel\.onnx: model file not found/],
    [['explain', photo(P1), ...base, '--steps', '0'], /--steps must be an integer >= 1/],
  ];
  for (const [args, re] of cases) {
    const r = await runCli(args);
    assert.equal(r.code, 1, `${args.join(' ')}\n${r.stderr}`);
    const lines = r.stderr.trim().split('\n').filter((l) => !l.startsWith('(add --help'));
    assert.equal(lines.length, 1, `one line expected, got:\n${r.stderr}`);
    assert.match(lines[0]!, re);
    assert.doesNotMatch(r.stderr, /    at /, 'no stack trace');
  }
});

test('an interrupted run leaves no half-written PNG or JSON', { skip }, async () => {
  const out = mkdtempSync(path.join(tmpdir(), 'rsi-kill-'));
  const files = readdirSync(IMAGES).slice(0, 12).map((f) => path.join(IMAGES, f));
  let pid = 0;
  const run = runCli(['explain', ...files, '--model', MODEL, '--out', out, '--raw', '--steps', '20'], { onSpawn: (p) => (pid = p) });
  // Kill it once it has written something, mid-way through the batch.
  for (let i = 0; i < 600 && readdirSync(out).filter((f) => f.endsWith('.png')).length < 2; i++) await new Promise((r) => setTimeout(r, 50));
  process.kill(pid, 'SIGKILL');
  await run;
  const written = readdirSync(out).filter((f) => !f.startsWith('.'));
  assert.ok(written.length >= 2 && written.length < 24, `${written.length} files`);
  for (const f of written) {
    if (f.endsWith('.png')) await sharp(path.join(out, f)).raw().toBuffer(); // decodes fully
    else JSON.parse(readFileSync(path.join(out, f), 'utf8'));
  }
});
