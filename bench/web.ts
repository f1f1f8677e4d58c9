/**
 * `npm run bench:web`: RSI-Grad-CAM (m = 50) on MobileNet v1 0.75 (the shared TF.js model) and
 * one shared photo, in the page (onnxruntime-web wasm, threads, headless Chromium) and in Node
 * (onnxruntime-node, same thread count). Both also time m + 1 plain forward passes batched
 * the same way, so each side's method overhead is a ratio measured within one process: wasm
 * itself is several times slower than onnxruntime-node on the same CPU. The two sides run
 * alternately, round by round, so a machine shared with other work loads both alike. Medians
 * of 3 rounds after a warm-up. Needs ../shared and /usr/bin/chromium.
 */
import { existsSync, readdirSync } from 'node:fs';
import * as ort from 'onnxruntime-node';
import os from 'node:os';
import path from 'node:path';
import type { Page } from 'playwright-core';
import { loadModel } from '../src/node/load-model.js';
import { preparePhoto } from '../src/node/explain-files.js';
import { serializeOnnx } from '../src/engine/graph/onnx-io.js';
import { browserMissing, ensurePageBuilt, launch, pageRaw, serve, waitForRuns } from '../test/helpers/web.js';
import { SHARED } from '../test/helpers/fixtures.js';

const MOBILENET = path.join(SHARED, 'models/mobilenet_v1_0.75_224');
const PHOTO = path.join(SHARED, 'data/imagenet-val-200/images/ILSVRC2012_val_00003743.JPEG');
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const STEPS = 50;
/** Batch sizes of the plain-forward sweep (the page's one lever on wasm speed it controls). */
const SWEEP = [1, 4, 17, 51];

const median = (v: number[]) => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)]!;

/** One side of the comparison, ready to time. */
interface Side {
  /** RSI-Grad-CAM m = 50 on the photo, ms. */
  rsi(): Promise<number>;
  /** The m + 1 path points as plain forwards, `batch` at a time (default: as the methods batch), ms. */
  forwards(batch?: number): Promise<number>;
  close(): Promise<void>;
}

/**
 * Node, and plain onnxruntime-node sessions of the forward graph optimised at level 'all'
 * (with the NCHWc layout transformer, whose blocked convolution kernels onnxruntime builds for
 * x86 only, not for wasm) and at 'extended' (the same graph without it: the kernels
 * onnxruntime-web has, compiled natively): where Node's lead over the page comes from.
 */
async function nodeSide(threads: number): Promise<Side & { batch: number; level(level: 'all' | 'extended'): Promise<number> }> {
  const c = await loadModel(path.join(MOBILENET, 'model.json'), { runtimeOptions: { threads } });
  const { input } = await preparePhoto(c, PHOTO);
  const base = c.blackBaseline();
  const points = Array.from({ length: STEPS + 1 }, (_, i) => input.map((v, j) => base[j]! + (i / STEPS) * (v - base[j]!)));
  const batch = c.pipeline.batchSize({}, STEPS + 1);
  const bytes = serializeOnnx(c.model.build({}).graph);
  const dims = c.model.inputShape.slice(1) as number[];
  const sessions = {
    all: await ort.InferenceSession.create(bytes, { graphOptimizationLevel: 'all', intraOpNumThreads: threads, executionMode: 'sequential' }),
    extended: await ort.InferenceSession.create(bytes, { graphOptimizationLevel: 'extended', intraOpNumThreads: threads, executionMode: 'sequential' }),
  };
  const timed = async (f: () => Promise<unknown>) => {
    const t0 = performance.now();
    await f();
    return performance.now() - t0;
  };
  const side = {
    batch,
    rsi: () => timed(() => c.explain([input], { method: 'rsi-grad-cam', steps: STEPS })),
    forwards: (b = batch) => timed(() => c.pipeline.predict(points, b)),
    level: (level: 'all' | 'extended') =>
      timed(async () => {
        for (let i = 0; i < points.length; i += batch) {
          const part = points.slice(i, i + batch);
          const data = new Float32Array(part.length * part[0]!.length);
          part.forEach((p, k) => data.set(p, k * p.length));
          await sessions[level].run({ [c.model.inputName]: new ort.Tensor('float32', data, [part.length, ...dims]) });
        }
      }),
    close: async () => {
      await Promise.all(Object.values(sessions).map((s) => s.release()));
      await c.dispose();
    },
  };
  // Warm-up: every session built and run once.
  await side.rsi();
  await side.forwards();
  await side.level('all');
  await side.level('extended');
  return side;
}

/** The page with MobileNet and the photo loaded, RSI-Grad-CAM alone checked. */
async function pageSide(): Promise<Side & { threads: number }> {
  ensurePageBuilt();
  const served = await serve();
  const browser = await launch();
  try {
    const page: Page = await browser.newPage();
    page.on('pageerror', (e) => console.error(`page error: ${e.message}`));
    await page.goto(served.url);
    await waitForRuns(page, 1, 300_000);
    for (const box of await page.locator('#methods input[type=checkbox]').all()) await box.setChecked((await box.getAttribute('value')) === 'rsi-grad-cam');
    let n = Number(await page.evaluate(() => document.body.dataset.runs));
    await page.setInputFiles('#photo-file', PHOTO);
    await waitForRuns(page, ++n, 300_000);
    await page.setInputFiles('#model-files', readdirSync(MOBILENET).map((f) => path.join(MOBILENET, f)));
    await waitForRuns(page, ++n, 900_000); // the warm-up run
    const forwards = (batch?: number) =>
      page.evaluate(([k, b]) => (window as unknown as { rsiGradCamBench: { forwards(k: number, b?: number): Promise<number> } }).rsiGradCamBench.forwards(k, b), [STEPS + 1, batch] as const);
    await forwards();
    const status = (await page.locator('#engine-status').textContent()) ?? '?';
    return {
      threads: Number(/(\d+) thread/.exec(status)?.[1] ?? 1),
      rsi: async () => {
        await page.click('#run');
        await waitForRuns(page, ++n, 900_000);
        const err = await page.locator('#error').evaluate((el) => ((el as HTMLElement).hidden ? '' : el.textContent));
        if (err) throw new Error(`the page shows an error: ${err}`);
        return (await pageRaw<{ timings: { explain: number } }>(page, 'rsi-grad-cam')).timings.explain;
      },
      forwards,
      close: async () => {
        await browser.close();
        await served.stop();
      },
    };
  } catch (e) {
    await browser.close();
    await served.stop();
    throw e;
  }
}

/** Medians over ROUNDS rounds, each round running every task once, in order. */
async function alternate<K extends string>(tasks: Record<K, () => Promise<number>>): Promise<Record<K, number>> {
  const times = Object.fromEntries(Object.keys(tasks).map((k) => [k, [] as number[]])) as unknown as Record<K, number[]>;
  for (let r = 0; r < ROUNDS; r++) for (const k of Object.keys(tasks) as K[]) times[k].push(await tasks[k]());
  return Object.fromEntries(Object.entries(times).map(([k, v]) => [k, median(v as number[])])) as Record<K, number>;
}

async function main(): Promise<void> {
  const why = browserMissing() ?? (existsSync(MOBILENET) && existsSync(PHOTO) ? undefined : `../shared is missing (${MOBILENET})`);
  if (why) {
    console.log(`bench:web skipped: ${why}`);
    return;
  }
  const page = await pageSide();
  const threads = page.threads;
  const node = await nodeSide(threads);
  try {
    const headline = await alternate({ pageRsi: page.rsi, nodeRsi: node.rsi, pageFwd: () => page.forwards(), nodeFwd: () => node.forwards() });
    const sweep = new Map<number, { page: number; node: number }>();
    for (const b of SWEEP) sweep.set(b, await alternate({ page: () => page.forwards(b), node: () => node.forwards(b) }));
    const levels = await alternate({ page: () => page.forwards(node.batch), all: () => node.level('all'), extended: () => node.level('extended') });

    const cpu = os.cpus();
    console.log(`bench:web — MobileNet v1 0.75 (224x224), RSI-Grad-CAM m = ${STEPS}, photo ${path.basename(PHOTO)}; ${cpu.length} cores (${cpu[0]?.model ?? '?'}), load ${os.loadavg()[0]!.toFixed(1)}; medians of ${ROUNDS}, page and Node alternating\n`);
    console.log('| where | threads | RSI-Grad-CAM ms | 51 plain forwards ms | RSI / forwards |');
    console.log('|---|---:|---:|---:|---:|');
    console.log(`| page (onnxruntime-web wasm, Chromium) | ${threads} | ${headline.pageRsi.toFixed(0)} | ${headline.pageFwd.toFixed(0)} | ${(headline.pageRsi / headline.pageFwd).toFixed(2)} |`);
    console.log(`| Node (onnxruntime-node) | ${threads} | ${headline.nodeRsi.toFixed(0)} | ${headline.nodeFwd.toFixed(0)} | ${(headline.nodeRsi / headline.nodeFwd).toFixed(2)} |`);
    console.log(`\npage / Node, RSI-Grad-CAM: ${(headline.pageRsi / headline.nodeRsi).toFixed(2)}x; plain forwards: ${(headline.pageFwd / headline.nodeFwd).toFixed(2)}x (the wasm-vs-native gap the page cannot change)`);
    console.log(`\n${STEPS + 1} plain forwards by batch size (the methods batch ${node.batch} at a time in Node, up to 64 in the page):\n`);
    console.log('| batch | page ms | Node ms | page / Node |');
    console.log('|---:|---:|---:|---:|');
    for (const [b, t] of sweep) console.log(`| ${b} | ${t.page.toFixed(0)} | ${t.node.toFixed(0)} | ${(t.page / t.node).toFixed(2)} |`);
    console.log(`\nWhere Node's lead comes from: ${STEPS + 1} forwards, batch ${node.batch}, in the page and on plain onnxruntime-node sessions of the forward graph:\n`);
    console.log('| where | ms | page / this |');
    console.log('|---|---:|---:|');
    console.log(`| page (onnxruntime-web wasm) | ${levels.page.toFixed(0)} | 1.00 |`);
    console.log(`| Node, graphOptimizationLevel 'all' (NCHWc blocked conv kernels, x86 only) | ${levels.all.toFixed(0)} | ${(levels.page / levels.all).toFixed(2)} |`);
    console.log(`| Node, 'extended' (no NCHWc: the kernels wasm has, native) | ${levels.extended.toFixed(0)} | ${(levels.page / levels.extended).toFixed(2)} |`);
    console.log(
      `\nNCHWc kernels: ${(levels.extended / levels.all).toFixed(2)}x; the same kernels in wasm (128-bit SIMD, separate mul and add: the shipped wasm has no relaxed-SIMD FMA) against native AVX2/FMA: ${(levels.page / levels.extended).toFixed(2)}x.`,
    );
  } finally {
    await node.close();
    await page.close();
  }
}

await main();
