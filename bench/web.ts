/**
 * `npm run bench:web`: RSI-Grad-CAM (m = 50) on MobileNet v1 0.75 (the shared TF.js model) and
 * one shared photo, in the page (onnxruntime-web wasm, threads, headless Chromium) and in Node
 * (onnxruntime-node, same thread count). Both also time m + 1 plain forward passes batched
 * the same way, so each side's method overhead is a ratio measured within one process: wasm
 * itself is several times slower than onnxruntime-node on the same CPU. Medians of 3 runs
 * after a warm-up. Needs ../shared and /usr/bin/chromium.
 */
import { existsSync, readdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadModel } from '../src/node/load-model.js';
import { preparePhoto } from '../src/node/explain-files.js';
import { browserMissing, ensurePageBuilt, launch, pageRaw, serve, waitForRuns } from '../test/helpers/web.js';
import { SHARED } from '../test/helpers/fixtures.js';

const MOBILENET = path.join(SHARED, 'models/mobilenet_v1_0.75_224');
const PHOTO = path.join(SHARED, 'data/imagenet-val-200/images/ILSVRC2012_val_00003743.JPEG');
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const STEPS = 50;
/** Batch sizes of the plain-forward sweep (the page's one lever on wasm speed it controls). */
const SWEEP = [1, 4, 17, 51];

const median = (v: number[]) => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)]!;

interface Side {
  rsi: number;
  forwards: number;
  /** Batch size -> ms for the m + 1 forwards. */
  sweep: Map<number, number>;
}

async function inNode(threads: number): Promise<Side & { batch: number }> {
  const c = await loadModel(path.join(MOBILENET, 'model.json'), { runtimeOptions: { threads } });
  const { input } = await preparePhoto(c, PHOTO);
  const base = c.blackBaseline();
  const points = Array.from({ length: STEPS + 1 }, (_, i) => input.map((v, j) => base[j]! + (i / STEPS) * (v - base[j]!)));
  const batch = c.pipeline.batchSize({}, STEPS + 1);
  await c.explain([input], { method: 'rsi-grad-cam', steps: STEPS });
  await c.pipeline.predict(points, batch);
  const rsi: number[] = [];
  const fwd: number[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    let t0 = performance.now();
    await c.explain([input], { method: 'rsi-grad-cam', steps: STEPS });
    rsi.push(performance.now() - t0);
    t0 = performance.now();
    await c.pipeline.predict(points, batch);
    fwd.push(performance.now() - t0);
  }
  const sweep = new Map<number, number>();
  for (const b of SWEEP) {
    const times: number[] = [];
    for (let r = 0; r < ROUNDS; r++) {
      const t0 = performance.now();
      await c.pipeline.predict(points, b);
      times.push(performance.now() - t0);
    }
    sweep.set(b, median(times));
  }
  await c.dispose();
  return { rsi: median(rsi), forwards: median(fwd), sweep, batch };
}

async function inPage(): Promise<Side & { threads: string }> {
  ensurePageBuilt();
  const served = await serve();
  const browser = await launch();
  try {
    const page = await browser.newPage();
    page.on('pageerror', (e) => console.error(`page error: ${e.message}`));
    await page.goto(served.url);
    await waitForRuns(page, 1, 300_000);
    for (const box of await page.locator('#methods input[type=checkbox]').all()) await box.setChecked((await box.getAttribute('value')) === 'rsi-grad-cam');
    let n = Number(await page.evaluate(() => document.body.dataset.runs));
    await page.setInputFiles('#photo-file', PHOTO);
    await waitForRuns(page, ++n, 300_000);
    await page.setInputFiles('#model-files', readdirSync(MOBILENET).map((f) => path.join(MOBILENET, f)));
    await waitForRuns(page, ++n, 900_000); // the warm-up run
    const forwards = (count: number, batch?: number) =>
      page.evaluate(([k, b]) => (window as unknown as { rsiGradCamBench: { forwards(k: number, b?: number): Promise<number> } }).rsiGradCamBench.forwards(k, b), [count, batch] as const);
    const rsi: number[] = [];
    const fwd: number[] = [];
    for (let r = 0; r < ROUNDS; r++) {
      await page.click('#run');
      await waitForRuns(page, ++n, 900_000);
      rsi.push((await pageRaw<{ timings: { explain: number } }>(page, 'rsi-grad-cam')).timings.explain);
      fwd.push(await forwards(STEPS + 1));
    }
    const sweep = new Map<number, number>();
    for (const b of SWEEP) {
      const times: number[] = [];
      for (let r = 0; r < ROUNDS; r++) times.push(await forwards(STEPS + 1, b));
      sweep.set(b, median(times));
    }
    const err = await page.locator('#error').evaluate((el) => ((el as HTMLElement).hidden ? '' : el.textContent));
    if (err) throw new Error(`the page shows an error: ${err}`);
    const threads = (await page.locator('#engine-status').textContent()) ?? '?';
    return { rsi: median(rsi), forwards: median(fwd), threads, sweep };
  } finally {
    await browser.close();
    await served.stop();
  }
}

async function main(): Promise<void> {
  const why = browserMissing() ?? (existsSync(MOBILENET) && existsSync(PHOTO) ? undefined : `../shared is missing (${MOBILENET})`);
  if (why) {
    console.log(`bench:web skipped: ${why}`);
    return;
  }
  const page = await inPage();
  const threads = Number(/(\d+) thread/.exec(page.threads)?.[1] ?? 1);
  const node = await inNode(threads);
  const cpu = os.cpus();
  console.log(`bench:web — MobileNet v1 0.75 (224x224), RSI-Grad-CAM m = ${STEPS}, photo ${path.basename(PHOTO)}; ${cpu.length} cores (${cpu[0]?.model ?? '?'}), load ${os.loadavg()[0]!.toFixed(1)}; medians of ${ROUNDS}\n`);
  console.log('| where | threads | RSI-Grad-CAM ms | 51 plain forwards ms | RSI / forwards |');
  console.log('|---|---:|---:|---:|---:|');
  console.log(`| page (onnxruntime-web wasm, Chromium) | ${threads} | ${page.rsi.toFixed(0)} | ${page.forwards.toFixed(0)} | ${(page.rsi / page.forwards).toFixed(2)} |`);
  console.log(`| Node (onnxruntime-node) | ${threads} | ${node.rsi.toFixed(0)} | ${node.forwards.toFixed(0)} | ${(node.rsi / node.forwards).toFixed(2)} |`);
  console.log(`\npage / Node, RSI-Grad-CAM: ${(page.rsi / node.rsi).toFixed(2)}x; plain forwards: ${(page.forwards / node.forwards).toFixed(2)}x (the wasm-vs-native gap the page cannot change)`);
  console.log(`\n${STEPS + 1} plain forwards by batch size (the methods batch ${node.batch} at a time, in Node and in the page):\n`);
  console.log('| batch | page ms | Node ms | page / Node |');
  console.log('|---:|---:|---:|---:|');
  for (const b of SWEEP) console.log(`| ${b} | ${page.sweep.get(b)!.toFixed(0)} | ${node.sweep.get(b)!.toFixed(0)} | ${(page.sweep.get(b)! / node.sweep.get(b)!).toFixed(2)} |`);
}

await main();
