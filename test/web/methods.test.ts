/**
 * Every registered method in the page: listed with its options (from the registry's
 * capabilities), and an input-space method (saliency) and a perturbation method (occlusion,
 * with its window and stride set in the page's form) run in the page equal the CLI's --raw
 * output for the same photo: maps and attributions.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import type { Browser } from 'playwright-core';
import { REPO_ROOT } from '../helpers/fixtures.js';
import { methodNames } from '../../src/core.js';
import { assertSameCam, browserMissing, cliRaw, ensurePageBuilt, launch, openPage, pageRaw, runs, serve, setMethods, waitForRuns, type RawJson, type Served } from '../helpers/web.js';

const missing = browserMissing();
const DEMO = path.join(REPO_ROOT, 'assets/demo');

type Attributed = RawJson & { attributions?: number[]; attributionShape?: number[] };

describe('web page: the library’s methods', { skip: missing }, () => {
  let served: Served;
  let browser: Browser;
  before(async () => {
    ensurePageBuilt();
    served = await serve();
    browser = await launch();
  });
  after(async () => {
    await browser?.close();
    await served?.stop();
  });

  test('every registered method is offered, with a control for each option it describes', async () => {
    const { page, errors } = await openPage(browser, served.url);
    const offered = await page.locator('#methods input[type=checkbox]').evaluateAll((bs) => bs.map((b) => (b as HTMLInputElement).value));
    assert.deepEqual(offered, methodNames());
    for (const id of ['#o-occlusion-window', '#o-occlusion-stride', '#o-occlusion-occlusionValue', '#o-rsi-grad-cam-steps', '#o-rsi-grad-cam-weighting', '#o-ig-rule', '#o-rise-masks']) {
      assert.equal(await page.locator(id).count(), 1, `${id} is missing`);
    }
    // Occlusion's window depends on the model: empty means the method's default.
    assert.equal(await page.inputValue('#o-occlusion-window'), '');
    await errors.check();
    await page.close();
  });

  test('saliency (input pixels) and occlusion (window 12, stride 6 set in the form) equal the CLI --raw output', async () => {
    const { page, errors } = await openPage(browser, served.url);
    const photo = 'demo-00004.png';
    let n = await runs(page);
    await page.locator(`[data-photo="${photo}"]`).click();
    await waitForRuns(page, ++n);
    await setMethods(page, ['saliency', 'occlusion']);
    await page.fill('#o-occlusion-window', '12');
    await page.fill('#o-occlusion-stride', '6');
    await page.click('#run');
    await waitForRuns(page, ++n, 300_000);
    assert.equal(await page.locator('.tile[data-state="done"]').count(), 2);
    const image = path.join(DEMO, 'images', photo);
    const model = path.join(DEMO, 'demo-cnn.onnx');
    const worst: Record<string, number> = {};
    for (const [method, extra] of [['saliency', []], ['occlusion', ['--window', '12', '--stride', '6']]] as const) {
      const cli = cliRaw(image, model, method, [...extra]) as Attributed;
      const mine = await pageRaw<Attributed>(page, method);
      worst[method] = assertSameCam(mine, cli, 1e-4, method);
      assert.deepEqual(mine.camShape, [96, 96], `${method}: a map at the input's pixels`);
      assert.ok(cli.attributions && cli.attributions.length === 3 * 96 * 96, `${method}: the CLI writes [C, H, W] attributions`);
      assert.deepEqual(mine.attributionShape, cli.attributionShape);
      const scale = Math.max(...cli.attributions!.map(Math.abs));
      let diff = 0;
      for (let i = 0; i < cli.attributions!.length; i++) diff = Math.max(diff, Math.abs(mine.attributions![i]! - cli.attributions![i]!));
      assert.ok(scale > 0 && diff <= 1e-4 * Math.max(1, scale), `${method}: attributions differ by ${diff} (max ${scale})`);
      assert.match(await page.locator(`.tile[data-method="${method}"] .body`).textContent() ?? '', /input pixels/);
    }
    await errors.check();
    await page.close();
    process.stdout.write(`# page vs CLI, demo: max |map difference| ${JSON.stringify(worst)}\n`);
  });
});
