/**
 * The web page end to end, in Debian's Chromium: served by `rsi-grad-cam serve`, the page's
 * own numbers (downloaded as the JSON the CLI writes with --raw) against the Node CLI's, real
 * models and photos chosen through the page's file inputs and drop zone, readable errors,
 * cancel, and screenshots at desktop and phone sizes.
 */
import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { REPO_ROOT, SHARED } from '../helpers/fixtures.js';
import { buildGraph } from '../engine/rules/graph-grad.js';
import { serializeOnnx } from '../../src/engine/graph/onnx-io.js';
import { float32Tensor } from '../../src/engine/graph/tensor-data.js';
import { A } from '../../src/engine/graph/attributes.js';
import { pearson } from '../../src/metrics/spearman.js';
import { assertSameCam, browserMissing, cliRaw, dropFiles, pageRaw, runs, setMethods, useServedBrowser, waitForRuns, WEB_OUT, type RawJson } from '../helpers/web.js';

const missing = browserMissing();
const MOBILENET = path.join(SHARED, 'models/mobilenet_v1_0.75_224');
const PHOTO = path.join(SHARED, 'data/imagenet-val-200/images/ILSVRC2012_val_00003743.JPEG');
const DEMO = path.join(REPO_ROOT, 'assets/demo');

describe('web page', { skip: missing }, () => {
  const web = useServedBrowser();
  before(() => mkdirSync(WEB_OUT, { recursive: true }));

  test('served by `serve`: cross-origin isolated, onnxruntime-web multi-threaded, right MIME types', async () => {
    const index = await fetch(web.url);
    assert.equal(index.headers.get('cross-origin-opener-policy'), 'same-origin');
    assert.equal(index.headers.get('cross-origin-embedder-policy'), 'require-corp');
    const html = await index.text();
    const assets = readdirSync(path.join(REPO_ROOT, 'dist/web/assets'));
    for (const [pattern, mime] of [[/^ort-wasm-simd-threaded-.*\.wasm$/, 'application/wasm'], [/^ort-wasm-simd-threaded-.*\.mjs$/, 'text/javascript']] as const) {
      const file = assets.find((f) => pattern.test(f));
      assert.ok(file, `no ${pattern} in the build: onnxruntime-web's files must be emitted by Vite, not fetched from a CDN`);
      const r = await fetch(new URL(`assets/${file}`, web.url));
      assert.equal(r.status, 200);
      assert.ok(r.headers.get('content-type')!.startsWith(mime), `${file}: ${r.headers.get('content-type')}`);
      assert.equal(r.headers.get('cross-origin-resource-policy'), 'same-origin');
      await r.arrayBuffer();
    }
    assert.ok(!/https?:\/\/(?!www\.w3\.org)/.test(html.replace(/<meta[^>]*>/g, '')), 'the page loads nothing from other hosts');
    assert.equal((await fetch(new URL('../../package.json', web.url))).status, 404);

    const { page, errors } = await web.open();
    assert.equal(await page.evaluate(() => crossOriginIsolated), true);
    const status = await page.locator('#engine-status').textContent();
    assert.match(status!, /^wasm · \d+ threads?$/);
    const cores = await page.evaluate(() => navigator.hardwareConcurrency);
    if (cores > 1) assert.match(status!, /· [2-8] threads/);
    await errors.check();
    await page.close();
  });

  test('demo model and a demo photo: Grad-CAM and RSI-Grad-CAM equal the CLI --raw output to 1e-4', async () => {
    const { page, errors } = await web.open('', { viewport: { width: 1280, height: 800 } });
    const photo = 'demo-00003.png';
    const before = await runs(page);
    await page.locator(`[data-photo="${photo}"]`).click();
    await waitForRuns(page, before + 1);
    const worst: Record<string, number> = {};
    for (const method of ['rsi-grad-cam', 'gradcam']) {
      const cli = cliRaw(path.join(DEMO, 'images', photo), path.join(DEMO, 'demo-cnn.onnx'), method);
      const mine = await pageRaw<RawJson>(page, method);
      worst[method] = assertSameCam(mine, cli, 1e-4, method);
      for (let i = 0; i < cli.weights.length; i++) assert.ok(Math.abs(mine.weights[i]! - cli.weights[i]!) <= 1e-4 * Math.max(1, Math.abs(cli.weights[i]!)), `${method} weight ${i}`);
      if (method === 'rsi-grad-cam') {
        assert.equal(mine.steps, 50);
        assert.ok(Math.abs(mine.completenessError! - cli.completenessError!) < 1e-4);
      }
    }
    // The completeness line and the path plot are shown for RSI-Grad-CAM.
    assert.match(await page.locator('.tile[data-method="rsi-grad-cam"] .completeness').textContent() ?? '', /completeness error/);
    assert.equal(await page.locator('.tile[data-method="rsi-grad-cam"] svg.plot path').count(), 2);
    await errors.check();
    await page.evaluate(() => window.scrollTo(0, 0));
    await page.screenshot({ path: path.join(WEB_OUT, 'page-1280x800.png') });
    await page.close();
    process.stdout.write(`# page vs CLI, demo: max |cam difference| ${JSON.stringify(worst)}\n`);
  });

  test('a target from the top-5, another layer and the PNG download', async () => {
    const { page, errors } = await web.open();
    const second = page.locator('.target').nth(1);
    const cls = Number(await second.getAttribute('data-class'));
    let n = await runs(page);
    await second.click();
    await waitForRuns(page, n + 1);
    assert.equal((await pageRaw<RawJson>(page, 'gradcam')).target.index, cls);
    const layers = await page.locator('#layer option').evaluateAll((os) => os.map((o) => (o as HTMLOptionElement).value));
    assert.ok(layers.length > 1);
    await page.selectOption('#layer', layers[0]!);
    n = await runs(page);
    await page.click('#run');
    await waitForRuns(page, n + 1);
    const raw = await pageRaw<RawJson>(page, 'gradcam');
    assert.equal(raw.layer, layers[0]);
    assert.equal(raw.target.index, cls);
    const [download] = await Promise.all([page.waitForEvent('download'), page.locator('.tile[data-method="gradcam"] [data-download="png"]').click()]);
    const meta = await sharp(await download.path()).metadata();
    assert.deepEqual([meta.format, meta.width, meta.height], ['png', 96, 96]);
    await errors.check();
    await page.close();
  });

  test('a corrupt model file and a corrupt photo, dropped on the page, give readable messages; the page keeps working', async () => {
    const { page, errors } = await web.open();
    await dropFiles(page, [{ name: 'broken.onnx', bytes: Buffer.from('this is not an onnx model at all, just text'.repeat(20)) }]);
    await page.locator('#error').waitFor({ state: 'visible' });
    assert.match(await page.locator('#error .message').textContent() ?? '', /^broken\.onnx: not a readable ONNX file/);
    const png = readFileSync(path.join(DEMO, 'images/demo-00001.png'));
    await dropFiles(page, [{ name: 'cut.png', bytes: png.subarray(0, 300), type: 'image/png' }]);
    await page.waitForFunction(() => /cut\.png/.test(document.querySelector('#error')?.textContent ?? ''));
    assert.match(await page.locator('#error .message').textContent() ?? '', /cannot read image cut\.png/);
    assert.deepEqual(errors.pageErrors, []);
    // A phone photo stored sideways (EXIF orientation 6): shown and explained upright, as the CLI decodes it.
    const w = 40, h = 24;
    const px = Buffer.alloc(w * h * 3);
    for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) px.set(x < w / 2 ? [255, 0, 0] : [0, 0, 255], (y * w + x) * 3);
    const rotated = await sharp(px, { raw: { width: w, height: h, channels: 3 } }).jpeg({ quality: 95 }).withMetadata({ orientation: 6 }).toBuffer();
    let n = await runs(page);
    await dropFiles(page, [{ name: 'sideways.jpg', bytes: rotated, type: 'image/jpeg' }]);
    await waitForRuns(page, n + 1);
    assert.equal(await page.locator('#photo-name').textContent(), 'sideways.jpg · 24×40');
    assert.equal((await pageRaw<{ imageSize: number[] }>(page, 'gradcam')).imageSize.join('x'), '24x40');
    // Still usable: the demo model is loaded and another photo explains.
    n = await runs(page);
    await page.locator('[data-photo="demo-00004.png"]').click();
    await waitForRuns(page, n + 1);
    assert.equal(await page.locator('.tile[data-state="done"]').count(), 2);
    await errors.check();
    await page.close();
  });

  test('a model without a spatial layer, and one with an operator that has no gradient rule, give readable messages', async () => {
    const { page, errors } = await web.open();
    const w = (n: number) => float32Tensor(Array.from({ length: n }, (_, i) => ((i * 37) % 11) / 11 - 0.5), [n]);
    // Flatten straight away: nothing spatial to show.
    const mlp = buildGraph({
      inputs: { x: [1, 3, 8, 8] },
      consts: { w: { ...w(192 * 4), dims: [192, 4] } },
      nodes: [{ op: 'Flatten', inputs: ['x'], outputs: ['f'] }, { op: 'Gemm', inputs: ['f', 'w'], outputs: ['y'] }],
      outputs: ['y'],
    });
    await dropFiles(page, [{ name: 'mlp.onnx', bytes: Buffer.from(serializeOnnx(mlp)) }]);
    await page.waitForFunction(() => /mlp\.onnx/.test(document.querySelector('#error')?.textContent ?? ''));
    assert.match(await page.locator('#error .message').textContent() ?? '', /no layer with a spatial size/);
    // LRN (AlexNet's) after the conv: explaining at the conv needs its gradient, which has no rule.
    const lrn = buildGraph({
      inputs: { x: [1, 3, 8, 8] },
      consts: { w: { ...w(4 * 3 * 9), dims: [4, 3, 3, 3] }, d: { ...w(4 * 2), dims: [4, 2] } },
      nodes: [
        { op: 'Conv', inputs: ['x', 'w'], outputs: ['c'], attrs: { kernel_shape: A.ints([3, 3]), pads: A.ints([1, 1, 1, 1]) } },
        { op: 'LRN', inputs: ['c'], outputs: ['s'], attrs: { size: A.int(3) } },
        { op: 'GlobalAveragePool', inputs: ['s'], outputs: ['p'] },
        { op: 'Flatten', inputs: ['p'], outputs: ['f'] },
        { op: 'Gemm', inputs: ['f', 'd'], outputs: ['y'] },
      ],
      outputs: ['y'],
    });
    const n = await runs(page);
    await dropFiles(page, [
      { name: 'lrn.onnx', bytes: Buffer.from(serializeOnnx(lrn)) },
      { name: 'lrn.preprocess.json', bytes: Buffer.from(JSON.stringify({ preset: 'unit' })) },
    ]);
    await waitForRuns(page, n + 1);
    assert.equal(await page.locator('#error').isHidden(), true, 'at the default layer (after the LRN) it explains');
    await page.selectOption('#layer', 'c');
    await page.click('#run');
    await waitForRuns(page, n + 2);
    assert.match(await page.locator('#error .message').textContent() ?? '', /\(LRN\)/);
    assert.match(await page.locator('#error .message').textContent() ?? '', /no gradient rule/);
    assert.deepEqual(errors.pageErrors, []);
    await page.close();
  });

  test('cancel stops a long RSI-Grad-CAM run', async () => {
    const { page, errors } = await web.open();
    await setMethods(page, ['rsi-grad-cam']);
    await page.fill('#o-rsi-grad-cam-steps', '1000');
    const n = await runs(page);
    await page.click('#run');
    await page.waitForFunction(() => /model evaluations/.test(document.getElementById('progress-text')!.textContent ?? ''));
    await page.click('#cancel');
    await waitForRuns(page, n + 1);
    assert.equal(await page.locator('#progress-text').textContent(), 'Cancelled.');
    assert.equal(await page.locator('.tile[data-method="rsi-grad-cam"]').count(), 0);
    await errors.check();
    await page.close();
  });

  test('phone width (390x844): the results come first and fit the screen', async () => {
    const { page, errors } = await web.open('', { viewport: { width: 390, height: 844 }, deviceScaleFactor: 1 });
    const width = await page.evaluate(() => document.documentElement.scrollWidth);
    assert.ok(width <= 390, `the page is ${width} px wide: it scrolls sideways on a phone`);
    const tile = await page.locator('.tile').first().boundingBox();
    const panel = await page.locator('.panel').boundingBox();
    assert.ok(tile && panel && tile.y < panel.y, 'results are above the settings on a phone');
    await errors.check();
    await page.screenshot({ path: path.join(WEB_OUT, 'page-390x844.png') });
    await page.close();
  });

  describe('shared MobileNet v1 0.75 (TF.js model.json + weight files)', { skip: existsSync(MOBILENET) && existsSync(PHOTO) ? false : `../shared is missing (${MOBILENET}, ${PHOTO})` }, () => {
    test('picked as files with a shared photo: Grad-CAM and RSI-Grad-CAM equal the CLI to 1e-4', async () => {
      const dir = mkdtempSync(path.join(tmpdir(), 'rsi-web-mn-'));
      // The same pixels for both sides: a 224x224 PNG (no JPEG decoder or resize differences).
      const png = path.join(dir, 'macaw.png');
      writeFileSync(png, await sharp(PHOTO).resize(224, 224, { fit: 'fill', kernel: 'linear' }).png().toBuffer());
      const { page, errors } = await web.open('', { viewport: { width: 1280, height: 800 } });
      // Photo first (explained by the demo model), then the model: one MobileNet run.
      let n = await runs(page);
      await page.setInputFiles('#photo-file', png);
      await waitForRuns(page, n + 1);
      n = await runs(page);
      await page.setInputFiles('#model-files', readdirSync(MOBILENET).map((f) => path.join(MOBILENET, f)));
      await page.waitForFunction(() => document.body.dataset.model === 'model.json', null, { timeout: 120_000 });
      await waitForRuns(page, n + 1, 300_000);
      assert.match(await page.locator('#model-info').textContent() ?? '', /TF\.js · 224×224 input · 1000 classes/);
      const worst: Record<string, number> = {};
      for (const method of ['rsi-grad-cam', 'gradcam']) {
        const cli = cliRaw(png, path.join(MOBILENET, 'model.json'), method);
        const mine = await pageRaw<RawJson>(page, method);
        assert.equal(mine.target.label, cli.target.label);
        worst[method] = assertSameCam(mine, cli, 1e-4, `MobileNet ${method}`);
      }
      await errors.check();
      await page.screenshot({ path: path.join(WEB_OUT, 'page-mobilenet-1280x800.png') });

      // The original JPEG, decoded by the browser and fitted by the page: the same class, and
      // (different JPEG decoder and resampler from sharp's) nearly the same map.
      await setMethods(page, ['rsi-grad-cam']);
      n = await runs(page);
      await page.setInputFiles('#photo-file', PHOTO);
      await waitForRuns(page, n + 1, 300_000);
      const cli = cliRaw(PHOTO, path.join(MOBILENET, 'model.json'), 'rsi-grad-cam');
      const mine = await pageRaw<RawJson>(page, 'rsi-grad-cam');
      assert.equal(mine.topk[0]!.index, cli.topk[0]!.index);
      const corr = pearson(mine.cam, cli.cam);
      assert.ok(corr > 0.99, `JPEG: page vs CLI cam correlation ${corr}`);
      await errors.check();
      await page.close();
      process.stdout.write(`# page vs CLI, MobileNet PNG: max |cam difference| ${JSON.stringify(worst)}; JPEG cam correlation ${corr.toFixed(5)}\n`);
    });
  });
});
