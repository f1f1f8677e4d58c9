/**
 * Picks the demo images shipped in assets/demo/images: from seed DEMO_SEED, one image per class
 * that the shipped model classifies correctly with a saturated softmax (p > 0.999), plus the
 * two least confident correct ones with p > 0.6, and writes them with annotations.json (boxes + masks).
 * Run after tools/train_demo.py: npx tsx tools/demo-assets.ts
 */
import { readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { generateDataset } from '../src/demo/generate.js';
import { DEMO_CLASSES } from '../src/demo/shapes.js';
import { samplesToUnitNchw } from '../src/demo/tensor.js';
import { writeSamples } from '../src/node/demo-io.js';
import { createNodeRuntime } from '../src/node/runtime.js';

/** Seed of the shipped demo images (not used for training, 1001, or held-out testing, 2002). */
export const DEMO_SEED = 7;
const CANDIDATES = 120;
const SATURATED = 0.999;

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const assets = path.join(root, 'assets', 'demo');
const runtime = createNodeRuntime({ threads: 2 });
const session = await runtime.create(readFileSync(path.join(assets, 'demo-cnn.onnx')));
const size = (JSON.parse(readFileSync(path.join(assets, 'preprocess.json'), 'utf8')) as { size: [number, number] }).size[0];
const { samples } = generateDataset({ count: CANDIDATES, seed: DEMO_SEED, size });
const { probabilities } = await session.run({ input: samplesToUnitNchw(samples) });
const k = DEMO_CLASSES.length;

const scored = samples.map((s, i) => {
  const row = Array.from(probabilities!.data.subarray(i * k, (i + 1) * k));
  const max = Math.max(...row);
  const predicted = row.indexOf(max);
  // The logit margin is the log ratio of the two largest probabilities.
  return { s, predicted, p: row[s.label]!, margin: Math.log(max / Math.max(...row.filter((_, j) => j !== predicted))) };
});
const correct = scored.filter((r) => r.predicted === r.s.label);
const picked = new Set<(typeof scored)[number]>();
for (let c = 0; c < k; c++) {
  const hit = correct.find((r) => r.s.label === c && r.p > SATURATED) ?? correct.find((r) => r.s.label === c);
  if (hit) picked.add(hit);
}
// Unsaturated contrast images: the least confident correct ones above 0.6 (lower ones make
// muddled examples).
for (const r of correct.filter((c) => c.p > 0.6).sort((a, b) => a.p - b.p)) {
  if (picked.size >= k + 2) break;
  picked.add(r);
}
const chosen = [...picked].sort((a, b) => a.s.index - b.s.index);
rmSync(path.join(assets, 'images'), { recursive: true, force: true });
await writeSamples(assets, chosen.map((r) => r.s), DEMO_SEED, size, 'images');
console.log(`candidates ${CANDIDATES}, correct ${correct.length}, saturated ${scored.filter((r) => r.p > SATURATED).length}`);
for (const r of chosen) {
  console.log(`#${r.s.index} ${r.s.name}: p=${r.p.toPrecision(8)} logit margin ${r.margin.toFixed(2)}`);
}
await session.release();
