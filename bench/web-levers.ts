/**
 * `npm run bench:web-levers`: onnxruntime-web's own session options as levers on the page's
 * speed. MobileNet v1 0.75's forward graph (as the page builds it) runs on plain
 * onnxruntime-web sessions in headless Chromium (wasm, 2 threads, cross-origin isolated),
 * one session per option set, and on onnxruntime-node at levels 'all' and 'extended'; all
 * of them take turns, round by round, so a shared machine loads each alike. Prints medians
 * and minimums against Node. Needs ../shared and /usr/bin/chromium.
 */
import { readFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import * as ort from 'onnxruntime-node';
import { loadModel } from '../src/node/load-model.js';
import { serializeOnnx } from '../src/engine/graph/onnx-io.js';
import { browserMissing, launch } from '../test/helpers/web.js';
import { REPO_ROOT, SHARED } from '../test/helpers/fixtures.js';

const MOBILENET = path.join(SHARED, 'models/mobilenet_v1_0.75_224/model.json');
const ORT_DIST = path.join(REPO_ROOT, 'node_modules/onnxruntime-web/dist');
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const BATCH = Number(process.env.BENCH_BATCH ?? 17);
const THREADS = 2;

/** onnxruntime-web session options tried (each against the default, in the same rounds). */
const LEVERS: Record<string, Record<string, unknown>> = {
  'default (as the page)': {},
  'enableCpuMemArena + enableMemPattern': { enableCpuMemArena: true, enableMemPattern: true },
  'freeDimensionOverrides N': { freeDimensionOverrides: { N: BATCH } },
  'intra_op.allow_spinning 0': { extra: { session: { 'intra_op.allow_spinning': '0' } } },
  "graphOptimizationLevel 'extended'": { graphOptimizationLevel: 'extended' },
  "executionProviders ['xnnpack']": { executionProviders: ['xnnpack'] },
};

const PAGE = `<!doctype html><meta charset="utf-8"><script type="module">
const sessions = {};
window.setup = async (levers, batch, threads) => {
  const ort = await import('/ort/ort.wasm.min.mjs');
  ort.env.wasm.numThreads = threads;
  ort.env.wasm.wasmPaths = '/ort/';
  const bytes = new Uint8Array(await (await fetch('/model.onnx')).arrayBuffer());
  const refused = {};
  for (const [name, opts] of Object.entries(levers)) {
    try {
      const s = await ort.InferenceSession.create(bytes, { graphOptimizationLevel: 'all', executionMode: 'sequential', logSeverityLevel: 3, ...opts });
      const x = new ort.Tensor('float32', new Float32Array(batch * 3 * 224 * 224).map((_, i) => Math.sin(i) * 0.5), [batch, 3, 224, 224]);
      const feeds = { [s.inputNames[0]]: x };
      await s.run(feeds);
      sessions[name] = { s, feeds };
    } catch (e) {
      refused[name] = String(e).split('\\n')[0].slice(0, 200);
    }
  }
  return { refused, isolated: crossOriginIsolated };
};
window.runOnce = async (name) => {
  const { s, feeds } = sessions[name];
  const t = performance.now();
  await s.run(feeds);
  return performance.now() - t;
};
</script>`;

const TYPES: Record<string, string> = { '.mjs': 'text/javascript', '.js': 'text/javascript', '.wasm': 'application/wasm' };

/** Serves the harness page, onnxruntime-web's dist files and the model, cross-origin isolated. */
function serveHarness(model: Uint8Array): Promise<{ url: string; close(): void }> {
  const server = http.createServer(async (req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost').pathname;
    const headers = { 'Cross-Origin-Opener-Policy': 'same-origin', 'Cross-Origin-Embedder-Policy': 'require-corp', 'Cross-Origin-Resource-Policy': 'same-origin' };
    try {
      if (url === '/') res.writeHead(200, { ...headers, 'Content-Type': 'text/html' }).end(PAGE);
      else if (url === '/model.onnx') res.writeHead(200, { ...headers, 'Content-Type': 'application/octet-stream' }).end(model);
      else if (url.startsWith('/ort/') && !url.includes('..')) {
        const file = path.join(ORT_DIST, url.slice(5));
        res.writeHead(200, { ...headers, 'Content-Type': TYPES[path.extname(file)] ?? 'application/octet-stream' }).end(await readFile(file));
      } else res.writeHead(404).end();
    } catch {
      res.writeHead(404).end();
    }
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve({ url: `http://127.0.0.1:${(server.address() as { port: number }).port}/`, close: () => server.close() })));
}

async function main(): Promise<void> {
  const why = browserMissing() ?? (existsSync(MOBILENET) ? undefined : `../shared is missing (${MOBILENET})`);
  if (why) {
    console.log(`bench:web-levers skipped: ${why}`);
    return;
  }
  const c = await loadModel(MOBILENET, {});
  const bytes = serializeOnnx(c.model.build({}).graph);
  await c.dispose();
  const input = new Float32Array(BATCH * 3 * 224 * 224).map((_, i) => Math.sin(i) * 0.5);
  const node: Record<string, ort.InferenceSession> = {};
  for (const level of ['all', 'extended'] as const) {
    node[`Node, level '${level}'`] = await ort.InferenceSession.create(bytes, { graphOptimizationLevel: level, intraOpNumThreads: THREADS, executionMode: 'sequential' });
  }
  const served = await serveHarness(bytes);
  const browser = await launch();
  try {
    const page = await browser.newPage();
    await page.goto(served.url);
    const { refused, isolated } = await page.evaluate(([l, b, t]) => (window as unknown as { setup(l: unknown, b: number, t: number): Promise<{ refused: Record<string, string>; isolated: boolean }> }).setup(l, b, t), [LEVERS, BATCH, THREADS] as const);
    const names = Object.keys(LEVERS).filter((n) => !refused[n]);
    const times: Record<string, number[]> = {};
    const runNode = async (s: ort.InferenceSession) => {
      const t0 = performance.now();
      await s.run({ [s.inputNames[0]!]: new ort.Tensor('float32', input, [BATCH, 3, 224, 224]) });
      return performance.now() - t0;
    };
    for (const s of Object.values(node)) await runNode(s);
    for (let r = 0; r < ROUNDS; r++) {
      for (const n of names) (times[`page: ${n}`] ??= []).push(await page.evaluate((x) => (window as unknown as { runOnce(n: string): Promise<number> }).runOnce(x), n));
      for (const [n, s] of Object.entries(node)) (times[n] ??= []).push(await runNode(s));
    }
    const sorted = (v: number[]) => [...v].sort((a, b) => a - b);
    const ref = sorted(times["Node, level 'all'"]!);
    const refMed = ref[Math.floor(ref.length / 2)]!;
    console.log(`bench:web-levers — MobileNet v1 0.75 forward, batch ${BATCH}, ${THREADS} threads (page cross-origin isolated: ${isolated}); ${os.cpus().length} cores, load ${os.loadavg()[0]!.toFixed(1)}; ${ROUNDS} rounds, all taking turns\n`);
    console.log("| where | median ms | min ms | median / Node 'all' |");
    console.log('|---|---:|---:|---:|');
    for (const [n, v] of Object.entries(times)) {
      const s = sorted(v);
      const med = s[Math.floor(s.length / 2)]!;
      console.log(`| ${n} | ${med.toFixed(0)} | ${s[0]!.toFixed(0)} | ${(med / refMed).toFixed(2)} |`);
    }
    for (const [n, e] of Object.entries(refused)) console.log(`| page: ${n} | refused: ${e} | | |`);
  } finally {
    await browser.close();
    served.close();
    await Promise.all(Object.values(node).map((s) => s.release()));
  }
}

await main();
