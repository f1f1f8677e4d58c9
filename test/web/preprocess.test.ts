/**
 * The page chooses a model's preprocessing by the CLI's rule (one core function,
 * modelDefaultSpec): models that rescale inside (Keras Rescaling at the input, as TF.js and
 * tf2onnx write it) get raw 0-255 pixels without any sidecar, and the page's numbers equal the
 * CLI's --raw output for the same photo.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { FIXTURES, SHARED } from '../helpers/fixtures.js';
import { tf } from '../helpers/tfjs-oracle.js';
import { rescalingTfjsModel, writeTfjsModel } from '../helpers/tfjs-files.js';
import { assertSameCam, browserMissing, cliRaw, dropFiles, pageRaw, runs, setMethods, useServedBrowser, waitForRuns, type RawJson } from '../helpers/web.js';

tf.setBackend('cpu');
const missing = browserMissing();
const dir = mkdtempSync(path.join(tmpdir(), 'rsi-web-pre-'));

/** A w x h PNG (at the model's input size: no resampling on either side): a gradient with a disc. */
async function photo(name: string, w: number, h: number): Promise<string> {
  const rgb = new Uint8Array(w * h * 3);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const disc = (x - w * 0.6) ** 2 + (y - h * 0.4) ** 2 < (Math.min(w, h) * 0.25) ** 2;
      rgb.set(disc ? [240, 200, 30] : [Math.round((255 * x) / w), Math.round((255 * y) / h), 128], (y * w + x) * 3);
    }
  }
  const file = path.join(dir, `${name}.png`);
  await sharp(rgb, { raw: { width: w, height: h, channels: 3 } }).png().toFile(file);
  return file;
}

describe('web page: preprocessing chosen as the CLI chooses it', { skip: missing }, () => {
  const web = useServedBrowser();

  /** Drop the photo, then the model files; the page's Grad-CAM against the CLI's (no --preprocess on either side). */
  async function compare(model: string, files: string[], img: string): Promise<{ page: RawJson; cli: RawJson; preprocess: string }> {
    const { page, errors } = await web.open();
    await setMethods(page, ['gradcam']);
    let n = await runs(page);
    await dropFiles(page, [{ name: path.basename(img), bytes: readFileSync(img), type: 'image/png' }]);
    await waitForRuns(page, ++n);
    await dropFiles(page, files.map((f) => ({ name: path.basename(f), bytes: readFileSync(f) })));
    await page.waitForFunction((m) => document.body.dataset.model === m, path.basename(model));
    await waitForRuns(page, ++n);
    const mine = await pageRaw<RawJson>(page, 'gradcam');
    const preprocess = (await page.locator('#preprocess option:checked').textContent()) ?? '';
    await errors.check();
    await page.close();
    return { page: mine, cli: cliRaw(img, model, 'gradcam'), preprocess };
  }

  test('tf2onnx graph starting with Keras Rescaling (NHWC, no sidecar): raw pixels, the CLI numbers', async () => {
    const model = path.join(FIXTURES, 'tf2onnx_rescaling.onnx');
    const img = await photo('tf2onnx-rescaling', 32, 32);
    const r = await compare(model, [model], img);
    assert.match(r.preprocess, /^From the model: RGB x$/, 'raw pixels: scale 1, no mean, no std');
    const worst = assertSameCam(r.page, r.cli, 1e-4, 'tf2onnx Rescaling');
    assert.ok(Math.abs(r.page.probability - r.cli.probability) < 1e-5, `${r.page.probability} vs ${r.cli.probability}`);
    process.stdout.write(`# tf2onnx Rescaling: page vs CLI max |cam difference| ${worst.toExponential(2)}\n`);
  });

  test('TF.js Layers model with Rescaling at its input (model.json + weights.bin): raw, not the tf preset, the CLI numbers', async () => {
    const m = rescalingTfjsModel();
    const model = await writeTfjsModel(m, path.join(dir, 'rescaling-tfjs'));
    const img = await photo('tfjs-rescaling', 16, 16);
    const r = await compare(model, [model, path.join(path.dirname(model), 'weights.bin')], img);
    assert.match(r.preprocess, /^From the model: RGB x$/);
    assert.equal(r.page.layer, 'conv2');
    const worst = assertSameCam(r.page, r.cli, 1e-4, 'TF.js Rescaling');
    assert.ok(Math.abs(r.page.probability - r.cli.probability) < 1e-5, `${r.page.probability} vs ${r.cli.probability}`);
    // The CLI's own check that tf would give other numbers is in test/cli/explain-inputs.test.ts.
    const tfPreset = cliRaw(img, model, 'gradcam', ['--preprocess', 'tf', '--target', String(r.cli.target.index)]);
    assert.ok(Math.abs(tfPreset.probability - r.page.probability) > 1e-3, 'the tf preset would have given other numbers');
    process.stdout.write(`# TF.js Rescaling: page vs CLI max |cam difference| ${worst.toExponential(2)}\n`);
  });

  test('a photo not at the model input size (300x200 down, 20x12 up, a shared photo): the page fits it as the CLI does, the CLI numbers', async () => {
    const model = path.join(FIXTURES, 'tf2onnx_rescaling.onnx');
    const photos = [await photo('fit-down-300x200', 300, 200), await photo('fit-up-20x12', 20, 12)];
    const shared = path.join(SHARED, 'data/imagenet-val-200/images/ILSVRC2012_val_00000347.JPEG');
    // The shared JPEG as a PNG at its own size: the page and the CLI then decode the same pixels (JPEG decoders differ).
    if (existsSync(shared)) {
      photos.push(path.join(dir, 'shared-photo.png'));
      await sharp(shared).png().toFile(photos[2]!);
    } else process.stdout.write(`# skipping the shared photo: ${shared} is missing\n`);
    const worst: Record<string, { cam: number; probability: number }> = {};
    for (const img of photos) {
      const r = await compare(model, [model], img);
      const label = path.basename(img);
      const cam = assertSameCam(r.page, r.cli, 1e-4, label);
      const probability = Math.abs(r.page.probability - r.cli.probability);
      assert.ok(probability < 1e-5, `${label}: ${r.page.probability} vs ${r.cli.probability}`);
      worst[label] = { cam, probability };
    }
    process.stdout.write(`# page vs CLI, photos resized to the 32x32 input: |cam difference| and |probability difference| ${JSON.stringify(worst)}\n`);
  });
});
