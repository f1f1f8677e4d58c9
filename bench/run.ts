/**
 * `npm run bench`: speed and memory of Grad-CAM and RSI-Grad-CAM on VGG-16, ResNet-50 and
 * MobileNetV2 at 224x224 (random weights, built in memory). Each model runs in its own
 * process so its peak RSS is its own. Prints a Markdown table.
 */
import { execFileSync } from 'node:child_process';
import os from 'node:os';
import { fileURLToPath } from 'node:url';

const steps = Number(process.env.BENCH_STEPS ?? 50);
const archs = (process.env.BENCH_ARCHS ?? 'VGG-16,ResNet-50,MobileNetV2').split(',');
const one = fileURLToPath(new URL('./one.ts', import.meta.url));

console.log(`rsi-grad-cam benchmark: ${os.cpus().length} cores (${os.cpus()[0]?.model ?? '?'}), Node ${process.version}, m = ${steps}\n`);
console.log('| model | layer | layer shape | Grad-CAM ms | RSI-Grad-CAM ms | (m+1) forwards ms | RSI / forwards | batch | rel. completeness error | peak RSS MB |');
console.log('|---|---|---|---:|---:|---:|---:|---:|---:|---:|');
for (const arch of archs) {
  const out = execFileSync(process.execPath, ['--import', 'tsx', one, arch, String(steps)], { encoding: 'utf8', maxBuffer: 1 << 24 });
  const r = JSON.parse(out.trim().split('\n').pop()!);
  for (const row of r.rows) {
    console.log(
      `| ${arch} | ${row.where}: ${row.layer} | ${row.shape.join('x')} | ${row.gradcamMs.toFixed(0)} | ${row.rsiMs.toFixed(0)} | ${r.forwardsMs.toFixed(0)} | ${row.ratio.toFixed(2)} | ${row.batch} | ${row.completeness === null ? "n/a" : row.completeness.toExponential(1)} | ${r.peakRssMB.toFixed(0)} |`,
    );
  }
}
