/**
 * The shipped demo model (assets/demo/demo-cnn.onnx) on fresh images from a seed used neither
 * for training (1001) nor held-out testing (2002), run in onnxruntime-node; and the shipped
 * demo images, which must regenerate byte for byte from their (seed, index) and be classified
 * as the README says (correct, at least two with a saturated softmax).
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import type { DemoAnnotations } from '../../src/demo/annotations.js';
import { generateDataset, generateSample, type DemoSample } from '../../src/demo/generate.js';
import { DEMO_CLASSES } from '../../src/demo/shapes.js';
import { samplesToUnitNchw } from '../../src/demo/tensor.js';
import { parseInputSpec, presetSpec } from '../../src/image/preprocess.js';
import { createNodeRuntime } from '../../src/node/runtime.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const assets = path.join(root, 'assets', 'demo');
const runtime = createNodeRuntime({ threads: 2 });
const k = DEMO_CLASSES.length;
/** The model's input size, from preprocess.json (the generator draws at any size). */
const modelSize = (JSON.parse(readFileSync(path.join(assets, 'preprocess.json'), 'utf8')) as { size: [number, number] }).size[0];

/** The model's output rows for `samples`: it ends in a Softmax, so they are probabilities. */
async function probabilities(samples: DemoSample[]): Promise<number[][]> {
  const session = await runtime.create(readFileSync(path.join(assets, 'demo-cnn.onnx')));
  const rows: number[][] = [];
  for (let i = 0; i < samples.length; i += 50) {
    const { probabilities: out } = await session.run({ input: samplesToUnitNchw(samples.slice(i, i + 50)) });
    assert.deepEqual(out!.dims, [Math.min(50, samples.length - i), k]);
    for (let r = 0; r < out!.dims[0]!; r++) {
      const row = Array.from(out!.data.subarray(r * k, (r + 1) * k));
      assert.ok(Math.abs(row.reduce((a, b) => a + b, 0) - 1) < 1e-5 && row.every((p) => p >= 0), `row ${i + r} is not a distribution`);
      rows.push(row);
    }
  }
  await session.release();
  return rows;
}

const argmax = (row: number[]): number => row.indexOf(Math.max(...row));

test('labels.json and preprocess.json describe the generator classes and unit NCHW input', () => {
  assert.deepEqual(JSON.parse(readFileSync(path.join(assets, 'labels.json'), 'utf8')), [...DEMO_CLASSES]);
  const spec = parseInputSpec(JSON.parse(readFileSync(path.join(assets, 'preprocess.json'), 'utf8')), 'preprocess.json');
  assert.deepEqual(spec, presetSpec('unit', [modelSize, modelSize], 'NCHW'));
  // samplesToUnitNchw (used below and by tools/demo-assets.ts) is exactly this spec.
  assert.deepEqual([spec.scale, spec.mean, spec.std, spec.channelOrder], [1 / 255, [0, 0, 0], [1, 1, 1], 'RGB']);
});

test('the shipped model classifies >= 90% of 200 fresh images (seed 3003)', async () => {
  const { samples } = generateDataset({ count: 200, seed: 3003, size: modelSize });
  const probs = await probabilities(samples);
  const correct = samples.filter((s, i) => argmax(probs[i]!) === s.label).length;
  const accuracy = correct / samples.length;
  console.log(`demo model accuracy on 200 fresh images (seed 3003): ${accuracy.toFixed(3)}`);
  assert.ok(accuracy >= 0.9, `accuracy ${accuracy}`);
});

test('the shipped demo images regenerate exactly and are classified correctly, some saturated', async () => {
  const ann = JSON.parse(readFileSync(path.join(assets, 'annotations.json'), 'utf8')) as DemoAnnotations;
  assert.ok(ann.images.length >= 6 && ann.images.length <= 8);
  assert.deepEqual(ann.imageSize, [modelSize, modelSize]);
  const samples: DemoSample[] = [];
  for (const entry of ann.images) {
    const s = generateSample(entry.seed, entry.index, modelSize);
    samples.push(s);
    assert.equal(entry.label, s.label);
    assert.equal(entry.name, DEMO_CLASSES[s.label]);
    assert.deepEqual(entry.boxes, [s.box]);
    const png = await sharp(path.join(assets, entry.file)).removeAlpha().raw().toBuffer();
    assert.ok(Buffer.from(s.rgb).equals(png), `${entry.file} matches generateSample(${entry.seed}, ${entry.index})`);
    const mask = await sharp(path.join(assets, entry.mask)).extractChannel(0).raw().toBuffer();
    assert.ok(mask.every((v, i) => v === (s.mask[i] ? 255 : 0)), `${entry.mask} matches the generated mask`);
  }
  const probs = await probabilities(samples);
  const top = probs.map((row, i) => row[samples[i]!.label]!);
  samples.forEach((s, i) => assert.equal(argmax(probs[i]!), s.label, `demo image #${s.index} (${s.name})`));
  console.log(`demo image class probabilities: ${top.map((p) => p.toFixed(6)).join(', ')}`);
  assert.ok(top.filter((p) => p > 0.999).length >= 2, 'at least two saturated demo images');
});
