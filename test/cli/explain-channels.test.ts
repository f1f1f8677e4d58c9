/**
 * Models with 2 (luminance, alpha) and 4 (RGB, alpha) input channels explain photos end to
 * end: a real photo from ../shared (a JPEG: alpha opaque) on the 2-channel fixture, a PNG with
 * transparency on the 4-channel one. The converted input is checked value by value against the
 * documented rule computed here from the fitted pixels, the CLI's prediction against the model
 * run on that input, and the map is finite and not blank. Fixtures: tools/export_layout_fixtures.py.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { runCli } from '../helpers/cli.js';
import { FIXTURES, SHARED } from '../helpers/fixtures.js';
import { runGraph } from '../helpers/grad-check.js';
import { loadModel } from '../../src/node/load-model.js';
import { explainFile, fittedImage, preparePhoto } from '../../src/node/explain-files.js';
import { blurBaseline } from '../../src/image/preprocess.js';
import { Model } from '../../src/engine/model.js';
import { readOnnxFile } from '../../src/node/load-onnx.js';

const dir = mkdtempSync(path.join(tmpdir(), 'rsi-channels-'));
const PHOTO = path.join(SHARED, 'data/imagenet-val-200/images/ILSVRC2012_val_00000347.JPEG');
const lum = (r: number, g: number, b: number) => 0.299 * r + 0.587 * g + 0.114 * b;

/** The fixture copied beside its preprocess.json sidecar. */
function fixtureModel(name: string, preprocess: object): string {
  const file = path.join(dir, `${name}.onnx`);
  copyFileSync(path.join(FIXTURES, `${name}.onnx`), file);
  writeFileSync(path.join(dir, `${name}.preprocess.json`), JSON.stringify(preprocess));
  return file;
}

/** Every value within float32 rounding of the expected one (the rule computed in doubles here). */
function sameValues(got: Float32Array, want: number[], what: string) {
  assert.equal(got.length, want.length, what);
  for (let i = 0; i < want.length; i++) assert.ok(Math.abs(got[i]! - want[i]!) <= 2.5e-7 * Math.max(1, Math.abs(want[i]!)), `${what} [${i}]: ${got[i]} != ${want[i]}`);
}

/** The model's probabilities on input x (NCHW), through a plain onnxruntime run of its graph. */
async function probabilities(modelFile: string, x: Float32Array, dims: number[]): Promise<Float32Array> {
  const m = Model.prepare(await readOnnxFile(modelFile), { source: modelFile });
  const { graph, outputs } = m.build({});
  return (await runGraph(graph, { [m.inputName]: { data: x, dims } }))[outputs.probs]!.data as Float32Array;
}

/** explain --raw: exit 0, the note line, a finite non-blank cam, and the prediction the model makes on `x`. */
async function explainCli(photo: string, model: string, x: Float32Array, dims: number[], note: string) {
  const out = path.join(dir, `out-${path.parse(model).name}`);
  for (const method of ['gradcam', 'rsi-grad-cam']) {
    const r = await runCli(['explain', photo, '--model', model, '--method', method, '--steps', '16', '--out', out, '--raw']);
    assert.equal(r.code, 0, r.stderr);
    assert.ok(r.stderr.split('\n').includes(`note: ${photo}: photo ${note}`), r.stderr);
    const j = JSON.parse(readFileSync(path.join(out, `${path.parse(photo).name}.${method}.json`), 'utf8'));
    assert.equal(j.conversion, note);
    assert.ok(j.cam.every(Number.isFinite), 'finite cam');
    assert.ok(Math.max(...j.cam) > 0 && Math.max(...j.cam) > Math.min(...j.cam), `${method}: a map that is not blank`);
    const probs = await probabilities(model, x, dims);
    assert.ok(Math.abs(j.probability - probs[j.target.index]!) < 1e-5, `${method}: ${j.probability} vs ${probs[j.target.index]}`);
    const png = await sharp(path.join(out, `${path.parse(photo).name}.${method}.png`)).metadata();
    const src = await sharp(photo).metadata();
    assert.deepEqual([png.width, png.height], [src.width, src.height]);
  }
}

test('a 2-channel (luminance, alpha) model explains a real photo: L from the fitted pixels, alpha opaque, a one-line note', { skip: existsSync(PHOTO) ? false : `needs ${PHOTO} (the shared data folder beside the repo)` }, async () => {
  const model = fixtureModel('variety_la', { preset: 'tf' });
  const c = await loadModel(model);
  try {
    assert.equal(c.inputSpec!.channels, 2);
    const p = await preparePhoto(c, PHOTO);
    assert.equal(p.fittedAlpha, undefined, 'a JPEG has no transparency');
    const n = 28 * 28;
    const want = new Array<number>(2 * n);
    for (let i = 0; i < n; i++) {
      want[i] = lum(p.fitted[3 * i]!, p.fitted[3 * i + 1]!, p.fitted[3 * i + 2]!) / 127.5 - 1;
      want[n + i] = 255 / 127.5 - 1;
    }
    sameValues(p.input, want, 'LA input');
    const note = "converted to the model's 2 input channels: luminance 0.299 R + 0.587 G + 0.114 B, and alpha 255 (opaque: the photo has no transparency)";
    assert.equal(p.conversion, note);
    const e = await explainFile(c, PHOTO, { method: 'gradcam' });
    assert.equal(e.conversion, note);
    assert.ok(e.photoHeatmap.data.every(Number.isFinite));
    await explainCli(PHOTO, model, p.input, [1, 2, 28, 28], note);
  } finally {
    await c.dispose();
  }
});

test('a 4-channel (RGB, alpha) model explains a PNG with transparency: its colours and alpha as they are, through the preset', async () => {
  const model = fixtureModel('variety_rgba', { preset: 'imagenet' });
  // 32x32 (the model's size, so no resampling): a disc on a gradient, transparent towards the corners.
  const [w, h] = [32, 32];
  const px = new Uint8Array(w * h * 4);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const d = Math.hypot(x - 20, y - 12);
      px.set([d < 7 ? 240 : 8 * x, d < 7 ? 200 : 8 * y, d < 7 ? 30 : 128, Math.max(0, 255 - Math.round(12 * Math.hypot(x - 16, y - 16)))], (y * w + x) * 4);
    }
  }
  const photo = path.join(dir, 'cutout.png');
  await sharp(px, { raw: { width: w, height: h, channels: 4 } }).png().toFile(photo);
  const c = await loadModel(model);
  try {
    const p = await preparePhoto(c, photo);
    const mean = [0.485, 0.456, 0.406, lum(0.485, 0.456, 0.406)];
    const std = [0.229, 0.224, 0.225, lum(0.229, 0.224, 0.225)];
    const n = w * h;
    const want = new Array<number>(4 * n);
    for (let k = 0; k < 4; k++) for (let i = 0; i < n; i++) want[k * n + i] = (px[4 * i + k]! / 255 - mean[k]!) / std[k]!;
    sameValues(p.input, want, 'RGBA input');
    assert.ok(p.fittedAlpha!.some((a) => a === 0) && p.fittedAlpha!.some((a) => a > 240));
    const note = "converted to the model's 4 input channels: R, G, B, and alpha from the photo's transparency";
    assert.equal(p.conversion, note);
    // The pictures show the photo flattened onto white, as for any model.
    assert.deepEqual([...p.photo.data.subarray(0, 3)], [255, 255, 255]);
    await explainCli(photo, model, p.input, [1, 4, 32, 32], note);
    // The blur baseline blurs the alpha too (not opaque), and RSI-Grad-CAM starts its path there.
    const base = blurBaseline(fittedImage(c, p), c.inputSpec!);
    const alpha = base.subarray(3 * n);
    assert.ok(Math.max(...alpha) > Math.min(...alpha) + 1, 'a blurred alpha, not a constant one');
    const b = (await explainFile(c, photo, { method: 'rsi-grad-cam', steps: 8, baseline: 'blur' })).explanation;
    const atBase = await probabilities(model, base, [1, 4, 32, 32]);
    assert.ok(Math.abs(b.baselineScore! - atBase[b.target]!) < 1e-5, `${b.baselineScore} vs ${atBase[b.target]}`);
  } finally {
    await c.dispose();
  }
});
