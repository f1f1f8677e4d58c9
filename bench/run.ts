/**
 * `npm run bench`: speed and memory of Grad-CAM and RSI-Grad-CAM on VGG-16, ResNet-50 and
 * MobileNetV2 at 224x224 (random weights, built in memory) and ViT-B/16 (torchvision's, random
 * weights, exported once with Debian's PyTorch: see architectures.ts), then the time per explanation of
 * every registered method at the last layer. Each model runs in its own process so its peak
 * RSS is its own. Prints two Markdown tables, then bench/first-call.ts's: the first and
 * second CLI call per model (separate processes, the second loading the session cache).
 *
 * Environment: BENCH_ARCHS (comma-separated), BENCH_STEPS (m, default 50), BENCH_METHODS
 * (comma-separated; default every registered method), BENCH_WARM_LIMIT_MS (a method whose
 * first call takes longer is not timed a second time; default 30000).
 */
import { execFileSync } from 'node:child_process';
import os from 'node:os';
import { fileURLToPath } from 'node:url';

const steps = Number(process.env.BENCH_STEPS ?? 50);
const archs = (process.env.BENCH_ARCHS ?? 'VGG-16,ResNet-50,MobileNetV2,ViT-B/16').split(',');
const one = fileURLToPath(new URL('./one.ts', import.meta.url));
const firstCall = fileURLToPath(new URL('./first-call.ts', import.meta.url));

console.log(`rsi-grad-cam benchmark: ${os.cpus().length} cores (${os.cpus()[0]?.model ?? '?'}), Node ${process.version}, m = ${steps}\n`);
const results = [];
console.log('| model | layer | layer shape | Grad-CAM ms | RSI-Grad-CAM ms | (m+1) forwards ms | RSI / forwards | batch | rel. completeness error | peak RSS MB |');
console.log('|---|---|---|---:|---:|---:|---:|---:|---:|---:|');
for (const arch of archs) {
  const out = execFileSync(process.execPath, ['--import', 'tsx', one, arch, String(steps)], { encoding: 'utf8', maxBuffer: 1 << 24 });
  const r = JSON.parse(out.trim().split('\n').pop()!);
  results.push(r);
  for (const row of r.rows) {
    console.log(
      `| ${arch} | ${row.where}: ${row.layer} | ${row.shape.join('x')} | ${row.gradcamMs.toFixed(0)} | ${row.rsiMs.toFixed(0)} | ${r.forwardsMs.toFixed(0)} | ${row.ratio.toFixed(2)} | ${row.batch} | ${row.completeness === null ? "n/a" : row.completeness.toExponential(1)} | ${r.peakRssMB.toFixed(0)} |`,
    );
  }
}

const ms = (v: number | null) => (v === null ? '' : v.toFixed(0));
console.log('\nEvery method at the last layer, default options (path methods: m = ' + steps + "; 'first' includes building the sessions):\n");
console.log('| model | method | first call ms | warm ms | model evaluations | ms / evaluation | / one forward | rel. completeness error |');
console.log('|---|---|---:|---:|---:|---:|---:|---:|');
for (const r of results) {
  for (const m of r.methods) {
    const per = (m.warmMs ?? m.firstMs) / m.evaluations;
    console.log(
      `| ${r.arch} | ${m.name} | ${ms(m.firstMs)} | ${ms(m.warmMs)} | ${m.evaluations} | ${per.toFixed(1)} | ${(per / r.forwardMs).toFixed(2)} | ${m.completeness === null ? 'n/a' : m.completeness.toExponential(1)} |`,
    );
  }
}

console.log('');
execFileSync(process.execPath, ['--import', 'tsx', firstCall], { stdio: 'inherit' });
