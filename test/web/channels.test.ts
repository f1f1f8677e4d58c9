/**
 * 2- and 4-channel models in the page (issue 12): a photo with transparency keeps its alpha for
 * models that take one (luminance + alpha, RGB + alpha), as the CLI decodes it, and the page
 * shows the CLI's conversion note. The page's numbers against the CLI's --raw output on the same
 * files; the photos are at the models' input sizes, so neither side resamples. Fixtures:
 * tools/export_layout_fixtures.py.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import type { Page } from 'playwright-core';
import { FIXTURES } from '../helpers/fixtures.js';
import { assertSameCam, browserMissing, cliRaw, dropFiles, pageRaw, runs, setMethods, useServedBrowser, waitForRuns, type RawJson } from '../helpers/web.js';

const missing = browserMissing();
const dir = mkdtempSync(path.join(tmpdir(), 'rsi-web-channels-'));

type Converted = RawJson & { conversion?: string };

/** The fixture copied beside its preprocess.json sidecar (the page gets both, the CLI finds the sidecar). */
function fixtureModel(name: string, preset: string): string[] {
  const file = path.join(dir, `${name}.onnx`);
  copyFileSync(path.join(FIXTURES, `${name}.onnx`), file);
  const sidecar = path.join(dir, `${name}.preprocess.json`);
  writeFileSync(sidecar, JSON.stringify({ preset }));
  return [file, sidecar];
}

/**
 * A w x h PNG: a disc on a gradient, transparent towards the corners (alpha 0 to 255, so the
 * low alphas a premultiplying decoder would round are there), or opaque.
 */
async function cutout(name: string, w: number, h: number, transparent: boolean): Promise<string> {
  const px = new Uint8Array(w * h * 4);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const d = Math.hypot(x - 0.6 * w, y - 0.4 * h);
      const a = transparent ? Math.max(0, 255 - Math.round((12 * 32 * Math.hypot(x - w / 2, y - h / 2)) / w)) : 255;
      px.set([d < 0.2 * w ? 240 : Math.round((255 * x) / w), d < 0.2 * w ? 200 : Math.round((255 * y) / h), d < 0.2 * w ? 30 : 128, a], (y * w + x) * 4);
    }
  }
  const file = path.join(dir, `${name}.png`);
  await sharp(px, { raw: { width: w, height: h, channels: 4 } }).png().toFile(file);
  return file;
}

/** Drop `photo` then the model's files (or the model, then the photo); the page's Grad-CAM and its notice. */
async function pageRun(page: Page, files: string[], photo: string, photoFirst: boolean): Promise<{ raw: Converted; notice: string }> {
  let n = await runs(page);
  const dropPhoto = () => dropFiles(page, [{ name: path.basename(photo), bytes: readFileSync(photo), type: 'image/png' }]);
  const dropModel = async () => {
    await dropFiles(page, files.map((f) => ({ name: path.basename(f), bytes: readFileSync(f) })));
    await page.waitForFunction((m) => document.body.dataset.model === m, path.basename(files[0]!));
  };
  for (const step of photoFirst ? [dropPhoto, dropModel] : [dropModel, dropPhoto]) {
    await step();
    await waitForRuns(page, ++n);
  }
  const notice = page.locator('#notice');
  return { raw: await pageRaw<Converted>(page, 'gradcam'), notice: (await notice.isVisible()) ? ((await notice.textContent()) ?? '') : '' };
}

describe('web page: models with an alpha channel', { skip: missing }, () => {
  const web = useServedBrowser();

  test('2 (luminance, alpha) and 4 (RGB, alpha) channels: the photo’s alpha, the CLI’s probability, map and note', async () => {
    const { page, errors } = await web.open();
    await setMethods(page, ['gradcam']);
    const worst: Record<string, { cam: number; probability: number }> = {};
    for (const [name, preset, size, transparent, photoFirst] of [
      ['variety_la', 'tf', 28, true, true],
      ['variety_rgba', 'imagenet', 32, true, false],
      ['variety_rgba', 'imagenet', 32, false, true],
    ] as const) {
      const label = `${name}, ${transparent ? 'transparent' : 'opaque'} PNG`;
      const files = fixtureModel(name, preset);
      const photo = await cutout(`${name}-${transparent ? 'cutout' : 'opaque'}`, size, size, transparent);
      const { raw, notice } = await pageRun(page, files, photo, photoFirst);
      const cli = cliRaw(photo, files[0]!, 'gradcam') as Converted;
      assert.match(cli.conversion ?? '', transparent ? /alpha from the photo's transparency$/ : /alpha 255 \(opaque/, label);
      assert.equal(raw.conversion, cli.conversion, label);
      assert.ok(notice.includes(`${path.basename(photo)}: photo ${cli.conversion}`), `${label}: the note is shown (notice: '${notice}')`);
      const cam = assertSameCam(raw, cli, 1e-4, label);
      const probability = Math.abs(raw.probability - cli.probability);
      assert.ok(probability < 1e-5, `${label}: probability ${raw.probability} vs the CLI's ${cli.probability}`);
      worst[label] = { cam, probability };
      if (transparent) {
        // The same photo flattened onto white (what the page gave these models before): another
        // input, another probability, so the match above is the alpha's.
        const flat = path.join(dir, `${name}-flat.png`);
        await sharp(photo).flatten({ background: '#ffffff' }).png().toFile(flat);
        const opaque = cliRaw(flat, files[0]!, 'gradcam', ['--target', String(cli.target.index)]);
        assert.ok(Math.abs(opaque.probability - cli.probability) > 1e-3, `${label}: flattening changes the probability (${opaque.probability} vs ${cli.probability})`);
      }
    }
    await errors.check();
    await page.close();
    process.stdout.write(`# page vs CLI, alpha-channel models: |cam difference| max and |probability difference| ${JSON.stringify(worst)}\n`);
  });
});
