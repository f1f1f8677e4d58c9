/**
 * The page's WebGPU path (onnxruntime-web/webgpu, MaxPool gradient without Indices, depthwise
 * gradients split per channel multiplier) against its wasm path, in headless Chromium with
 * WebGPU on SwiftShader (the CPU). SwiftShader is about 200x slower than wasm, so the runs are
 * short (m = 8) and the models small.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Page } from 'playwright-core';
import { buildGraph } from '../engine/rules/graph-grad.js';
import { serializeOnnx } from '../../src/engine/graph/onnx-io.js';
import { float32Tensor } from '../../src/engine/graph/tensor-data.js';
import { A } from '../../src/engine/graph/attributes.js';
import { browserMissing, dropFiles, pageRaw, runs, useServedBrowser, waitForRuns } from '../helpers/web.js';

const missing = browserMissing();

type Raw = { method: string; layer: string; target: { index: number }; cam: number[]; weights: number[] };

/**
 * Convolutions of every grouping between layer `c1` and the score, each with a ReLU: depthwise
 * with channel multiplier 2 (even 2x2 kernel, stride 2; odd 3x3 kernel, stride 1), multiplier
 * 4, grouped with 2 and 4 channels per group, plain depthwise. onnxruntime-web's WebGPU
 * ConvTranspose is wrong for the multiplier convs' one grouped transpose (one output and an
 * even number of input channels per group).
 */
function groupedConvModel(): Uint8Array {
  let seed = 0;
  const w = (dims: number[]) => float32Tensor(Array.from({ length: dims.reduce((a, b) => a * b, 1) }, () => Math.sin(++seed * 12.9898) * 0.6), dims);
  const convs: [string, number[], Record<string, ReturnType<typeof A.int>>][] = [
    ['c1', [8, 3, 3, 3], { pads: A.ints([1, 1, 1, 1]) }],
    ['dw2_even', [16, 1, 2, 2], { group: A.int(8), strides: A.ints([2, 2]) }],
    ['grouped4', [16, 4, 3, 3], { group: A.int(4), pads: A.ints([1, 1, 1, 1]) }],
    ['dw2_odd', [32, 1, 3, 3], { group: A.int(16), pads: A.ints([1, 1, 1, 1]) }],
    ['grouped2', [16, 2, 1, 1], { group: A.int(16) }],
    ['dw4', [64, 1, 3, 3], { group: A.int(16), pads: A.ints([1, 1, 1, 1]), strides: A.ints([2, 2]) }],
    ['dw1', [64, 1, 3, 3], { group: A.int(64), pads: A.ints([1, 1, 1, 1]) }],
  ];
  const consts: Record<string, ReturnType<typeof float32Tensor>> = { fc: w([64, 5]) };
  const nodes = [];
  let x = 'x';
  for (const [name, dims, attrs] of convs) {
    consts[`${name}_w`] = w(dims);
    nodes.push({ op: 'Conv', inputs: [x, `${name}_w`], outputs: [`${name}_conv`], attrs: { kernel_shape: A.ints(dims.slice(2)), ...attrs } });
    nodes.push({ op: 'Relu', inputs: [`${name}_conv`], outputs: [name] });
    x = name;
  }
  nodes.push({ op: 'GlobalAveragePool', inputs: [x], outputs: ['gap'] }, { op: 'Flatten', inputs: ['gap'], outputs: ['flat'] }, { op: 'MatMul', inputs: ['flat', 'fc'], outputs: ['logits'] });
  return serializeOnnx(buildGraph({ inputs: { x: [1, 3, 16, 16] }, consts, nodes, outputs: ['logits'] }));
}

function maxDifference(gpu: Raw, cpu: Raw): { worst: number; scale: number } {
  const scale = Math.max(...cpu.cam);
  let worst = 0;
  for (let i = 0; i < cpu.cam.length; i++) worst = Math.max(worst, Math.abs(gpu.cam[i]! - cpu.cam[i]!));
  return { worst, scale };
}

async function onWebGpu(page: Page): Promise<boolean> {
  return (await page.evaluate(() => document.body.dataset.backend)) === 'webgpu';
}

describe('web page on WebGPU', { skip: missing }, () => {
  const web = useServedBrowser(['--enable-unsafe-webgpu', '--use-webgpu-adapter=swiftshader', '--enable-features=Vulkan', '--use-angle=swiftshader']);

  test('demo CNN (with MaxPools): WebGPU gives the wasm numbers', async (t) => {
    // The URL presets the methods, a short path and a layer whose gradient passes a 2x2
    // stride-2 MaxPool and the global MaxPool (both without Indices on WebGPU).
    const { page, errors } = await web.open('?backend=webgpu&methods=rsi-grad-cam,gradcam&rsi-grad-cam.steps=8&layer=block4_relu2', { timeout: 600_000 });
    if (!(await onWebGpu(page))) {
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
      const { worst, scale } = maxDifference(gpu[k], cpu[k]);
      assert.ok(scale > 0);
      assert.ok(worst <= 1e-4 * Math.max(1, scale), `${k}: WebGPU vs wasm cam differ by ${worst} (max ${scale})`);
      process.stdout.write(`# WebGPU vs wasm ${k}: max |cam difference| ${worst.toExponential(2)} (cam max ${scale.toExponential(2)})\n`);
    }
    await errors.check();
    await page.close();
  });

  test('grouped and depthwise convolutions with channel multipliers: WebGPU gives the wasm numbers', async (t) => {
    const { page, errors } = await web.open('?backend=webgpu&methods=gradcam,rsi-grad-cam&rsi-grad-cam.steps=4&layer=c1', { timeout: 600_000 });
    if (!(await onWebGpu(page))) {
      t.skip(`no WebGPU adapter in this Chromium (${await page.locator('#notice').textContent()})`);
      await page.close();
      return;
    }
    let n = await runs(page);
    await dropFiles(page, [
      { name: 'grouped.onnx', bytes: Buffer.from(groupedConvModel()) },
      { name: 'grouped.preprocess.json', bytes: Buffer.from(JSON.stringify({ preset: 'unit' })) },
    ]);
    await waitForRuns(page, ++n, 600_000);
    assert.equal(await page.evaluate(() => document.body.dataset.model), 'grouped.onnx');
    assert.equal(await page.locator('#notice').isHidden(), true, `fell back: ${await page.locator('#notice').textContent()}`);
    const gpu = { gradcam: await pageRaw<Raw>(page, 'gradcam'), rsi: await pageRaw<Raw>(page, 'rsi-grad-cam') };
    await page.selectOption('#backend', 'wasm');
    await waitForRuns(page, ++n, 600_000);
    assert.equal(await page.evaluate(() => document.body.dataset.backend), 'wasm');
    const cpu = { gradcam: await pageRaw<Raw>(page, 'gradcam'), rsi: await pageRaw<Raw>(page, 'rsi-grad-cam') };
    for (const k of ['gradcam', 'rsi'] as const) {
      assert.equal(gpu[k].layer, 'c1');
      assert.equal(cpu[k].layer, 'c1');
      assert.equal(gpu[k].target.index, cpu[k].target.index);
      const { worst, scale } = maxDifference(gpu[k], cpu[k]);
      assert.ok(scale > 0, `${k}: the wasm cam is all zero`);
      assert.ok(worst <= 1e-4 * scale, `${k}: WebGPU vs wasm cam differ by ${worst} (max ${scale})`);
      process.stdout.write(`# grouped convs, WebGPU vs wasm ${k}: max |cam difference| ${worst.toExponential(2)} (cam max ${scale.toExponential(2)})\n`);
    }
    await errors.check();
    await page.close();
  });
});
