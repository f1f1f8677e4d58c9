/**
 * First and second CLI call per model: what a user waits for when every call is a new
 * process. Each architecture of bench/architectures.ts is written once as an .onnx file (in a
 * temporary folder), then `rsi-grad-cam explain a.png b.png --raw` runs as separate processes
 * on an empty session cache:
 * - `no cache`: `$RSI_GRAD_CAM_SESSION_CACHE=off`, what every call cost before the cache;
 * - `first`: the cache is empty, the optimised graph is stored;
 * - `second`: a new process loads the stored graph.
 * For each: the process's wall time, the model load, and the explanation of the first photo
 * (session build included); the second photo's explanation is the warm time (sessions built,
 * same process). Prints a Markdown table and, last, one JSON line.
 *
 * Environment: BENCH_ARCHS (comma-separated), BENCH_FIRST_CALL_METHODS (default
 * gradcam,rsi-grad-cam), BENCH_STEPS (m for RSI-Grad-CAM, default 50), BENCH_THREADS
 * (onnxruntime threads, default all cores).
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ARCHITECTURES } from './architectures.js';
import { serializeOnnx } from '../src/engine/graph/onnx-io.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const bin = path.join(root, 'bin/rsi-grad-cam.js');
const archs = (process.env.BENCH_ARCHS ?? 'VGG-16,ResNet-50,MobileNetV2').split(',');
const methods = (process.env.BENCH_FIRST_CALL_METHODS ?? 'gradcam,rsi-grad-cam').split(',');
const steps = process.env.BENCH_STEPS ?? '50';
const threads = process.env.BENCH_THREADS;

interface Call {
  wallMs: number;
  /** User + system CPU time of the process: less sensitive than wall time to a shared machine. */
  cpuMs: number;
  loadMs: number;
  /** The first photo: includes building (or loading) the sessions. */
  firstExplainMs: number;
  /** The second photo, same process: sessions built. */
  warmExplainMs: number;
}

const work = mkdtempSync(path.join(os.tmpdir(), 'rsi-first-call-'));
const results: { arch: string; method: string; modelMB: number; noCache: Call; first: Call; second: Call }[] = [];
try {
  // Two photos so the second explanation in a process is a warm one.
  const photo = path.join(root, 'assets/demo/images/demo-00001.png');
  const photos = ['a.png', 'b.png'].map((n) => path.join(work, n));
  for (const p of photos) copyFileSync(photo, p);

  console.log(`First and second call, separate processes: ${os.cpus().length} cores (${os.cpus()[0]?.model ?? '?'}), Node ${process.version}, RSI-Grad-CAM m = ${steps}\n`);
  console.log(
    '| model | method | .onnx MB | no cache: wall s (CPU s) | first call: wall s (CPU s) | second call: wall s (CPU s) | second call: load s | second call: 1st explanation s | warm explanation s | 1st explanation / warm: no cache | first | second |',
  );
  console.log('|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
  for (const arch of archs) {
    const build = ARCHITECTURES[arch];
    if (!build) throw new Error(`unknown architecture ${arch} (known: ${Object.keys(ARCHITECTURES).join(', ')})`);
    const model = path.join(work, `${arch}.onnx`);
    writeFileSync(model, serializeOnnx(await build()));
    const modelMB = readFileSync(model).byteLength / 2 ** 20;
    for (const method of methods) {
      const cache = path.join(work, `cache-${arch}-${method}`);
      const call = (name: string, env: NodeJS.ProcessEnv): Call => {
        const out = path.join(work, `${arch}-${method}-${name}`);
        const args = [bin, 'explain', ...photos, '--model', model, '--preprocess', 'imagenet', '--method', method, '--raw', '-o', out];
        if (method === 'rsi-grad-cam') args.push('--steps', steps);
        if (threads) args.push('--threads', threads);
        const t = performance.now();
        // bash's `times` gives the CPU time of the process (user + system, its threads included).
        const r = spawnSync('bash', ['-c', '"$@" >/dev/null || exit $?; times', 'bash', process.execPath, ...args], {
          env: { ...process.env, RSI_GRAD_CAM_CACHE: cache, ...env },
          encoding: 'utf8',
          maxBuffer: 1 << 26,
        });
        const wallMs = performance.now() - t;
        if (r.status !== 0) throw new Error(`${arch} ${method} (${name}): exit ${r.status}\n${r.stderr}`);
        const cpuMs = r.stdout
          .trim()
          .split('\n')
          .pop()!
          .split(/\s+/)
          .reduce((sum, v) => sum + Number(/^(\d+)m([\d.]+)s$/.exec(v)![1]) * 60_000 + Number(/^(\d+)m([\d.]+)s$/.exec(v)![2]) * 1000, 0);
        const timings = ['a', 'b'].map((s) => (JSON.parse(readFileSync(path.join(out, `${s}.${method}.json`), 'utf8')) as { timings: { load: number; explain: number } }).timings);
        return { wallMs, cpuMs, loadMs: timings[0]!.load, firstExplainMs: timings[0]!.explain, warmExplainMs: timings[1]!.explain };
      };
      const noCache = call('off', { RSI_GRAD_CAM_SESSION_CACHE: 'off' });
      const first = call('first', {});
      if (!existsSync(path.join(cache, 'sessions'))) throw new Error(`${arch} ${method}: the first call stored no session`);
      const second = call('second', {});
      results.push({ arch, method, modelMB, noCache, first, second });
      const s = (ms: number) => (ms / 1000).toFixed(1);
      const both = (c: Call) => `${s(c.wallMs)} (${s(c.cpuMs)})`;
      const ratio = (c: Call) => (c.firstExplainMs / c.warmExplainMs).toFixed(2);
      console.log(
        `| ${arch} | ${method} | ${modelMB.toFixed(0)} | ${both(noCache)} | ${both(first)} | ${both(second)} | ${s(second.loadMs)} | ${s(second.firstExplainMs)} | ${s(second.warmExplainMs)} | ${ratio(noCache)} | ${ratio(first)} | ${ratio(second)} |`,
      );
      rmSync(cache, { recursive: true, force: true });
    }
    rmSync(model, { force: true });
  }
  console.log(JSON.stringify({ steps, results }));
} finally {
  rmSync(work, { recursive: true, force: true });
}
