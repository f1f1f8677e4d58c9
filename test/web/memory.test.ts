/**
 * Models too big for the page's memory: a readable message naming the model and what to try,
 * and a page that keeps working. The wasm heap is capped at 512 MiB with V8's
 * --wasm-max-mem-pages (onnxruntime-web's heap then fails to grow as it does at its real 4 GB
 * ceiling, without taking gigabytes of this machine). A model whose one activation needs 4 GiB
 * (past wasm32 addressing) no longer reaches an engine: load-time validation refuses it, naming
 * the node.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { buildGraph } from '../engine/rules/graph-grad.js';
import { serializeOnnx } from '../../src/engine/graph/onnx-io.js';
import { float32Tensor } from '../../src/engine/graph/tensor-data.js';
import { A } from '../../src/engine/graph/attributes.js';
import { browserMissing, dropFiles, runs, setMethods, useServedBrowser, waitForRuns } from '../helpers/web.js';

const missing = browserMissing();
const HEAP_PAGES = 8192; // 64 KiB pages: 512 MiB

/** A small file whose Conv output at `size`x`size` with `channels` channels takes channels*size^2*4 bytes. */
function wideModel(size: number, channels: number): Buffer {
  const w = (dims: number[]) => float32Tensor(Array.from({ length: dims.reduce((a, b) => a * b, 1) }, (_, i) => Math.sin(i) * 0.3), dims);
  const graph = buildGraph({
    inputs: { x: [1, 3, size, size] },
    consts: { w: w([channels, 3, 1, 1]), fc: w([channels, 4]) },
    nodes: [
      { op: 'Conv', inputs: ['x', 'w'], outputs: ['c'], attrs: { kernel_shape: A.ints([1, 1]) } },
      { op: 'Relu', inputs: ['c'], outputs: ['r'] },
      { op: 'GlobalAveragePool', inputs: ['r'], outputs: ['p'] },
      { op: 'Flatten', inputs: ['p'], outputs: ['f'] },
      { op: 'MatMul', inputs: ['f', 'fc'], outputs: ['y'] },
    ],
    outputs: ['y'],
  });
  return Buffer.from(serializeOnnx(graph));
}

test('a 4 GiB activation (past wasm32 addressing) is refused at load, naming the node, before any engine allocates it', () => {
  assert.throws(() => wideModel(1024, 1024), /node 'Conv_0' \(Conv\): its output would have shape \[1, 1024, 1024, 1024\], over 268435456 values an item/);
});

describe('web page: out of memory', { skip: missing }, () => {
  const web = useServedBrowser([`--js-flags=--wasm-max-mem-pages=${HEAP_PAGES}`]);

  for (const [label, name, size, channels, cause] of [
    ['a 1 GiB activation in a 512 MiB heap', 'wide.onnx', 512, 1024, /\(std::bad_alloc\)/],
  ] as const) {
    test(`${label}: a readable message naming the model; the page keeps working`, async () => {
      let crashed = false;
      const { page, errors } = await web.open('', { setup: (p) => p.on('crash', () => (crashed = true)) });
      await setMethods(page, ['gradcam']);
      await dropFiles(page, [
        { name, bytes: wideModel(size, channels) },
        { name: name.replace('.onnx', '.preprocess.json'), bytes: Buffer.from(JSON.stringify({ preset: 'unit' })) },
      ]);
      await page.locator('#error').waitFor({ state: 'visible', timeout: 300_000 });
      const message = (await page.locator('#error .message').textContent()) ?? '';
      assert.match(message, new RegExp(`^The page ran out of memory while ${name.replace('.', '\\.')} classified the photo `));
      assert.match(message, cause);
      assert.match(message, /try a smaller model or input size, fewer methods or steps, or the CLI/);
      assert.deepEqual(errors.pageErrors, []);
      // The engine restarts with the model before (the big one is not kept), the message stays,
      // and the page explains again.
      await page.waitForFunction(() => document.body.dataset.model === 'demo-cnn.onnx' && document.body.dataset.busy === 'false', null, { timeout: 120_000 });
      assert.equal(await page.locator('#error .message').textContent(), message);
      assert.equal(await page.inputValue('#model-select'), 'demo');
      assert.match(await page.locator('#model-info').textContent() ?? '', /^demo-cnn\.onnx · ONNX · 96×96/);
      const n = await runs(page);
      await page.click('#run');
      await waitForRuns(page, n + 1);
      assert.equal(await page.locator('.tile[data-state="done"]').count(), 1);
      await errors.check();
      assert.equal(crashed, false);
      await page.close();
    });
  }
});
