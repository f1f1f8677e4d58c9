/**
 * How the softmax's saturation affects Grad-CAM and RSI-Grad-CAM on the shipped demo model,
 * over many generated images (not just the 8 demo images): per confidence band, the median
 * cam maximum before normalisation, how many cams are exactly zero, and the mean share of
 * heatmap energy in the box and the pointing-game hit rate (no tolerance) per method.
 *
 * Run by hand: npx tsx tools/demo-saturation.ts [--count 200] [--seed 7]
 */
import path from 'node:path';
import { parseArgs } from 'node:util';
import { generateSample } from '../src/demo/generate.js';
import { energyPointingGame } from '../src/metrics/energy-pointing.js';
import { pointingGame } from '../src/metrics/pointing-game.js';
import { loadModel } from '../src/node/load-model.js';
import { ASSETS } from '../src/node/package-root.js';
import { meanCi } from '../src/metrics/stats.js';
import { DEMO_COLUMNS } from '../src/node/demo-run.js';
import { optionsFor } from '../src/methods/method.js';

const { values } = parseArgs({ options: { count: { type: 'string', default: '200' }, seed: { type: 'string', default: '7' } } });
const count = Number(values.count);
const seed = Number(values.seed);

const columns = DEMO_COLUMNS;
const bands: { label: string; test: (p: number) => boolean }[] = [
  { label: 'p < 0.99', test: (p) => p < 0.99 },
  { label: '0.99 <= p < 0.9999', test: (p) => p >= 0.99 && p < 0.9999 },
  { label: '0.9999 <= p < 1 (float32)', test: (p) => p >= 0.9999 && p < 1 },
  { label: 'p = 1 in float32', test: (p) => p === 1 },
];

const classifier = await loadModel(path.join(ASSETS, 'demo', 'demo-cnn.onnx'));
const [h, w] = classifier.inputSize;
interface Row { p: number; correct: boolean; camMax: number[]; energy: number[]; hit: number[] }
const rows: Row[] = [];
for (let i = 0; i < count; i++) {
  const s = generateSample(seed, i, w);
  const input = classifier.toTensor({ width: w, height: h, data: s.rgb });
  const row: Row = { p: 0, correct: false, camMax: [], energy: [], hit: [] };
  for (const c of columns) {
    const [e] = await classifier.explain([input], { method: c.method, score: c.score, targets: [s.label], ...optionsFor(classifier.method(c.method), { steps: 50 }) });
    row.p = e!.probability;
    row.correct = e!.topk[0]!.index === s.label;
    row.camMax.push(Math.max(...e!.cam));
    row.energy.push(energyPointingGame(e!.heatmap, w, h, [s.box]));
    row.hit.push(pointingGame(e!.heatmap, w, h, [s.box], 0)); // 15 px is most of a 96 px image
  }
  rows.push(row);
  if ((i + 1) % 50 === 0) process.stderr.write(`${i + 1}/${count}\n`);
}
await classifier.dispose();

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? (s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2) : NaN;
};
const mean = (xs: number[]) => meanCi(xs).mean;
const fmt = (x: number) => (Number.isNaN(x) ? '' : x === 0 ? '0' : x.toExponential(1));

console.log(`demo model, ${count} images of seed ${seed}; target = true class; accuracy ${mean(rows.map((r) => (r.correct ? 1 : 0))).toFixed(3)}\n`);
console.log(`| p(true class) | n | ${columns.map((c) => `${c.label}: median cam max / cams = 0 / energy in box / pointing (0 px)`).join(' | ')} |`);
console.log(`|---|---|${columns.map(() => '---|').join('')}`);
for (const b of [...bands, { label: 'all', test: () => true }]) {
  const rs = rows.filter((r) => b.test(r.p));
  if (!rs.length) continue;
  const cells = columns.map((_, k) => {
    const zeros = rs.filter((r) => r.camMax[k] === 0).length;
    return `${fmt(median(rs.map((r) => r.camMax[k]!)))} / ${zeros} / ${(100 * mean(rs.map((r) => r.energy[k]!))).toFixed(1)}% / ${mean(rs.map((r) => r.hit[k]!)).toFixed(2)}`;
  });
  console.log(`| ${b.label} | ${rs.length} | ${cells.join(' | ')} |`);
}
