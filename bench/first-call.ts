/**
 * First and second call per model: what a user waits for when every CLI call is a new
 * process. Each architecture of bench/architectures.ts is written once as an .onnx file (in a
 * temporary folder); then bench/first-call-one.ts, which loads the file and explains one photo
 * twice as the CLI does, runs as three separate processes on an empty session cache:
 * - `no cache`: `$RSI_GRAD_CAM_SESSION_CACHE=off`, what every call cost before the cache;
 * - `first`: the cache is empty; the optimised graph is built and stored;
 * - `second`: a new process loads the stored graph.
 * For each: the process's wall time, the model load, the first explanation (sessions built or
 * loaded) and the warm one (same photo, same process), in wall and CPU seconds (user +
 * system, onnxruntime's threads included; on a shared machine CPU time is the comparable
 * figure). Prints a Markdown table and, last, one JSON line.
 *
 * Environment: BENCH_ARCHS (comma-separated), BENCH_FIRST_CALL_METHODS (default
 * gradcam,rsi-grad-cam), BENCH_STEPS (m for RSI-Grad-CAM, default 50), BENCH_THREADS
 * (onnxruntime threads, default all cores).
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ARCHITECTURES } from './architectures.js';
import { serializeOnnx } from '../src/engine/graph/onnx-io.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const one = fileURLToPath(new URL('./first-call-one.ts', import.meta.url));
const photo = path.join(root, 'assets/demo/images/demo-00001.png');
const archs = (process.env.BENCH_ARCHS ?? 'VGG-16,ResNet-50,MobileNetV2').split(',');
const methods = (process.env.BENCH_FIRST_CALL_METHODS ?? 'gradcam,rsi-grad-cam').split(',');
const steps = process.env.BENCH_STEPS ?? '50';
const threads = process.env.BENCH_THREADS ?? '';

interface Phase {
  wallMs: number;
  cpuMs: number;
}
interface Call {
  load: Phase;
  /** The first explanation: the sessions are built, or loaded from the cache. */
  first: Phase;
  /** The same photo again: sessions built. */
  warm: Phase;
  total: Phase;
  store: { hits: number; misses: number; rebuilt: number; unsaved: number } | null;
}

const work = mkdtempSync(path.join(os.tmpdir(), 'rsi-first-call-'));
const results: { arch: string; method: string; modelMB: number; noCache: Call; first: Call; second: Call }[] = [];
const s = (ms: number) => (ms / 1000).toFixed(1);
const both = (p: Phase) => `${s(p.wallMs)} (${s(p.cpuMs)})`;
try {
  console.log(`First and second call, separate processes: ${os.cpus().length} cores (${os.cpus()[0]?.model ?? '?'}), Node ${process.version}, RSI-Grad-CAM m = ${steps}`);
  console.log('Seconds, wall (CPU); "1st expl." includes building or loading the sessions; "/ warm" = 1st explanation / warm explanation, CPU.\n');
  console.log('| model | method | .onnx MB | process: no cache | process: first call | process: second call | 1st expl.: no cache | 1st expl.: first | 1st expl.: second | warm expl. | / warm: no cache | / warm: second |');
  console.log('|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
  for (const arch of archs) {
    const build = ARCHITECTURES[arch];
    if (!build) throw new Error(`unknown architecture ${arch} (known: ${Object.keys(ARCHITECTURES).join(', ')})`);
    // File names from the architecture's name ('ViT-B/16' holds a slash).
    const file = arch.replace(/[^A-Za-z0-9.-]+/g, '_');
    const model = path.join(work, `${file}.onnx`);
    writeFileSync(model, serializeOnnx(await build()));
    const modelMB = statSync(model).size / 2 ** 20;
    for (const method of methods) {
      const cache = path.join(work, `cache-${file}-${method}`);
      const call = (env: NodeJS.ProcessEnv): Call => {
        const t = performance.now();
        const out = execFileSync(process.execPath, ['--import', 'tsx', one, model, photo, method, steps, threads], {
          env: { ...process.env, RSI_GRAD_CAM_CACHE: cache, RSI_GRAD_CAM_SESSION_CACHE: '', ...env },
          encoding: 'utf8',
          maxBuffer: 1 << 24,
        });
        const r = JSON.parse(out.trim().split('\n').pop()!) as Call;
        // The whole process as the user waits for it, Node's start included.
        r.total.wallMs = performance.now() - t;
        return r;
      };
      const noCache = call({ RSI_GRAD_CAM_SESSION_CACHE: 'off' });
      const first = call({});
      const second = call({});
      // The figures mean nothing unless the second process really loaded what the first stored.
      if (!first.store?.misses || first.store.unsaved || !second.store?.hits || second.store.misses || second.store.rebuilt) {
        throw new Error(`${arch} ${method}: the session cache did not work: first ${JSON.stringify(first.store)}, second ${JSON.stringify(second.store)}`);
      }
      results.push({ arch, method, modelMB, noCache, first, second });
      const ratio = (c: Call) => (c.first.cpuMs / c.warm.cpuMs).toFixed(2);
      console.log(
        `| ${arch} | ${method} | ${modelMB.toFixed(0)} | ${both(noCache.total)} | ${both(first.total)} | ${both(second.total)} | ${both(noCache.first)} | ${both(first.first)} | ${both(second.first)} | ${both(second.warm)} | ${ratio(noCache)} | ${ratio(second)} |`,
      );
      rmSync(cache, { recursive: true, force: true });
    }
    rmSync(model, { force: true });
  }
  console.log(JSON.stringify({ steps, results }));
} finally {
  rmSync(work, { recursive: true, force: true });
}
