/**
 * Every registered method in the page: listed with its options (from the registry's
 * capabilities), and an input-space method (saliency) and a perturbation method (occlusion,
 * with its window and stride set in the page's form) run in the page equal the CLI's --raw
 * output for the same photo: maps and attributions.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { REPO_ROOT } from '../helpers/fixtures.js';
import { methodNames } from '../../src/core.js';
import { assertSameCam, browserMissing, cliRaw, pageRaw, runs, setMethods, useServedBrowser, waitForRuns, type RawJson } from '../helpers/web.js';

const missing = browserMissing();
const DEMO = path.join(REPO_ROOT, 'assets/demo');

type Attributed = RawJson & { attributions?: number[]; attributionShape?: number[] };

describe('web page: the library’s methods', { skip: missing }, () => {
  const web = useServedBrowser();

  /** A fresh page that has explained the demo photo `photo`; its files for the CLI, and the runs so far. */
  async function onDemoPhoto(photo: string) {
    const { page, errors } = await web.open();
    const runsBefore = await runs(page);
    await page.locator(`[data-photo="${photo}"]`).click();
    await waitForRuns(page, runsBefore + 1);
    return { page, errors, image: path.join(DEMO, 'images', photo), model: path.join(DEMO, 'demo-cnn.onnx'), runs: runsBefore + 1 };
  }

  test('every registered method is offered, with a control for each option it describes', async () => {
    const { page, errors } = await web.open();
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
    const { page, errors, image, model, runs: done } = await onDemoPhoto('demo-00004.png');
    let n = done;
    await setMethods(page, ['saliency', 'occlusion']);
    await page.fill('#o-occlusion-window', '12');
    await page.fill('#o-occlusion-stride', '6');
    await page.click('#run');
    await waitForRuns(page, ++n, 300_000);
    assert.equal(await page.locator('.tile[data-state="done"]').count(), 2);
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

  test('a blur baseline, noise and aug smoothing and steps auto set in the form equal the CLI --raw output', async () => {
    const { page, errors, image, model, runs: done } = await onDemoPhoto('demo-00008.png');
    let n = done;
    type Smoothed = RawJson & { baseline?: unknown; smoothing?: { mode: string; copies: number; noiseType?: string }; evaluations?: number };
    const worst: Record<string, number> = {};
    const check = async (label: string, method: string, extra: string[]) => {
      const cli = cliRaw(image, model, method, extra) as Smoothed;
      const mine = await pageRaw<Smoothed>(page, method);
      worst[label] = assertSameCam(mine, cli, 1e-4, label);
      assert.deepEqual(mine.smoothing, cli.smoothing, label);
      assert.equal(mine.steps, cli.steps, label);
      assert.equal(mine.evaluations, cli.evaluations, label);
      return { mine, cli };
    };

    // Auto steps' tolerance and the noise settings show only when they apply.
    assert.equal(await page.locator('#o-rsi-grad-cam-tolerance').isVisible(), false);
    assert.equal(await page.locator('#s-noiseSamples').isVisible(), false);
    assert.deepEqual(await page.locator('#o-rsi-grad-cam-baseline option').evaluateAll((os) => os.map((o) => (o as HTMLOptionElement).value)), ['black', 'blur']);
    assert.deepEqual(await page.locator('#s-smooth option').evaluateAll((os) => os.map((o) => (o as HTMLOptionElement).value)), ['', 'noise', 'aug', 'eigen']);

    // RSI-Grad-CAM from the blurred photo, 16 steps.
    await setMethods(page, ['rsi-grad-cam']);
    await page.selectOption('#o-rsi-grad-cam-baseline', 'blur');
    await page.fill('#o-rsi-grad-cam-steps', '16');
    await page.click('#run');
    await waitForRuns(page, ++n, 300_000);
    const blur = await check('rsi-grad-cam, baseline blur', 'rsi-grad-cam', ['--baseline', 'blur', '--steps', '16']);
    const black = cliRaw(image, model, 'rsi-grad-cam', ['--steps', '16']);
    const change = Math.max(...black.cam.map((v, i) => Math.abs(v - blur.cli.cam[i]!)));
    assert.ok(change > 1e-2, `the blur baseline changes the map (by ${change}), so the page's match means it used it`);

    // Steps auto with its tolerance (black baseline again).
    await page.selectOption('#o-rsi-grad-cam-baseline', 'black');
    await page.fill('#o-rsi-grad-cam-steps', 'auto');
    assert.equal(await page.locator('#o-rsi-grad-cam-tolerance').isVisible(), true);
    await page.fill('#o-rsi-grad-cam-tolerance', '0.05');
    await page.click('#run');
    await waitForRuns(page, ++n, 300_000);
    const auto = await check('rsi-grad-cam, steps auto', 'rsi-grad-cam', ['--steps', 'auto', '--tolerance', '0.05']);
    assert.ok(auto.cli.evaluations! > 0, 'auto steps report their evaluations');

    // Grad-CAM with noise smoothing (3 copies, std 0.5, smoothgrad_sq, seed 7), then aug.
    await setMethods(page, ['gradcam']);
    await page.selectOption('#s-smooth', 'noise');
    assert.equal(await page.locator('#s-noiseSamples').isVisible(), true);
    await page.fill('#s-noiseSamples', '3');
    await page.fill('#s-noiseStdev', '0.5');
    await page.selectOption('#s-noiseType', 'smoothgrad_sq');
    await page.fill('#s-seed', '7');
    await page.click('#run');
    await waitForRuns(page, ++n, 300_000);
    const noise = await check('gradcam, smooth noise', 'gradcam', ['--smooth', 'noise', '--noise-samples', '3', '--noise-stdev', '0.5', '--noise-type', 'smoothgrad_sq', '--seed', '7']);
    assert.deepEqual(noise.mine.smoothing, { mode: 'noise', copies: 3, noiseType: 'smoothgrad_sq' });
    await page.selectOption('#s-smooth', 'aug');
    await page.click('#run');
    await waitForRuns(page, ++n, 300_000);
    await check('gradcam, smooth aug', 'gradcam', ['--smooth', 'aug']);
    await errors.check();
    await page.close();
    process.stdout.write(`# page vs CLI, baselines and smoothing: max |map difference| ${JSON.stringify(worst)}\n`);
  });
});
