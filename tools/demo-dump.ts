/**
 * Dumps demo images as raw bytes for tools/train_demo.py (faster than thousands of PNGs):
 * OUT/images.u8 (count x size x size x 3, RGB, row-major), OUT/labels.u8 (count bytes) and
 * OUT/meta.json. Usage: npx tsx tools/demo-dump.ts --count N --seed S [--size 128] --out DIR
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { generateSample } from '../src/demo/generate.js';
import { DEMO_CLASSES } from '../src/demo/shapes.js';

const { values } = parseArgs({
  options: {
    count: { type: 'string' },
    seed: { type: 'string' },
    size: { type: 'string', default: '128' },
    start: { type: 'string', default: '0' },
    out: { type: 'string' },
  },
});
if (!values.count || !values.seed || !values.out) {
  console.error('usage: npx tsx tools/demo-dump.ts --count N --seed S [--size 128] [--start 0] --out DIR');
  process.exit(2);
}
const count = Number(values.count);
const seed = Number(values.seed);
const size = Number(values.size);
const start = Number(values.start);
mkdirSync(values.out, { recursive: true });
const images = Buffer.alloc(count * size * size * 3);
const labels = Buffer.alloc(count);
for (let i = 0; i < count; i++) {
  const s = generateSample(seed, start + i, size);
  images.set(s.rgb, i * size * size * 3);
  labels[i] = s.label;
}
writeFileSync(path.join(values.out, 'images.u8'), images);
writeFileSync(path.join(values.out, 'labels.u8'), labels);
writeFileSync(path.join(values.out, 'meta.json'), JSON.stringify({ count, seed, size, start, classes: DEMO_CLASSES }) + '\n');
console.log(`wrote ${count} images (seed ${seed}, from index ${start}, ${size}x${size}) to ${values.out}`);
