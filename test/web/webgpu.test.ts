/**
 * The page's WebGPU path (onnxruntime-web/webgpu, MaxPool gradient without Indices) against
 * its wasm path, in headless Chromium with WebGPU on SwiftShader (the CPU). SwiftShader is
 * about 200x slower than wasm, so the runs are short (m = 8).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Browser } from 'playwright-core';
import { browserMissing, ensurePageBuilt, launch, pageRaw, serve, waitForRuns, watchErrors, type Served } from '../helpers/web.js';

const missing = browserMissing();

type Raw = { method: string; layer: string; target: { index: number }; cam: number[]; weights: number[] };

describe('web page on WebGPU', { skip: missing }, () => {
  let served: Served;
  let browser: Browser;
  before(async () => {
    ensurePageBuilt();
    served = await serve();
    browser = await launch(['--enable-unsafe-webgpu', '--use-webgpu-adapter=swiftshader', '--enable-features=Vulkan', '--use-angle=swiftshader']);
  });
  after(async () => {
    await browser?.close();
    await served?.stop();
  });

  test('demo CNN (with MaxPools): WebGPU gives the wasm numbers', async (t) => {
    const page = await browser.newPage();
    const errors = watchErrors(page);
    // The URL presets the methods, a short path and a layer whose gradient passes a 2x2
    // stride-2 MaxPool and the global MaxPool (both without Indices on WebGPU).
    await page.goto(`${served.url}?backend=webgpu&methods=rsi-grad-cam,gradcam&rsi-grad-cam.steps=8&layer=block4_relu2`);
    await waitForRuns(page, 1, 600_000);
    if ((await page.evaluate(() => document.body.dataset.backend)) !== 'webgpu') {
      t.skip(`no WebGPU adapter in this Chromium (${await page.locator('#notice').textContent()})`);
      await page.close();
      return;
    }
    assert.equal(await page.inputValue('#o-rsi-grad-cam-steps'), '8');
    assert.equal(await page.locator('#notice').isHidden(), true, `fell back: ${await page.locator('#notice').textContent()}`);
    for (const time of await page.locator('.tile .time').allTextContents()) assert.match(time, /WebGPU/);
    const gpu = { rsi: await pageRaw<Raw>(page, 'rsi-grad-cam'), gradcam: await pageRaw<Raw>(page, 'gradcam') };

    const n = Number(await page.evaluate(() => document.body.dataset.runs));
    await page.selectOption('#backend', 'wasm');
    await waitForRuns(page, n + 1, 600_000);
    assert.equal(await page.evaluate(() => document.body.dataset.backend), 'wasm');
    const cpu = { rsi: await pageRaw<Raw>(page, 'rsi-grad-cam'), gradcam: await pageRaw<Raw>(page, 'gradcam') };
    for (const k of ['rsi', 'gradcam'] as const) {
      assert.equal(gpu[k].target.index, cpu[k].target.index);
      assert.equal(gpu[k].layer, 'block4_relu2');
      assert.equal(cpu[k].layer, 'block4_relu2');
      const scale = Math.max(...cpu[k].cam);
      assert.ok(scale > 0);
      let worst = 0;
      for (let i = 0; i < cpu[k].cam.length; i++) worst = Math.max(worst, Math.abs(gpu[k].cam[i]! - cpu[k].cam[i]!));
      assert.ok(worst <= 1e-4 * Math.max(1, scale), `${k}: WebGPU vs wasm cam differ by ${worst} (max ${scale})`);
      process.stdout.write(`# WebGPU vs wasm ${k}: max |cam difference| ${worst.toExponential(2)} (cam max ${scale.toExponential(2)})\n`);
    }
    await errors.check();
    await page.close();
  });
});
