import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { OptionError } from '../../src/errors.js';
import { gaussianBlurRgb } from '../../src/image/blur.js';
import {
  blackBaseline, blurBaseline, parseInputSpec, presetSpec, tensorShape, toTensor, type InputSpec,
} from '../../src/image/preprocess.js';
import { createRgbImage, type RgbImage } from '../../src/image/types.js';
import { readInputSpecFile, resolveInputSpec } from '../../src/node/image-io.js';

let dir = '';
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'rsi-prep-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** A 2x1 image: pixel 0 = (255, 0, 128), pixel 1 = (10, 20, 30). */
const two: RgbImage = { width: 2, height: 1, data: Uint8Array.from([255, 0, 128, 10, 20, 30]) };
const close = (a: ArrayLike<number>, b: number[], tol = 1e-5) => {
  assert.equal(a.length, b.length);
  for (let i = 0; i < b.length; i++) assert.ok(Math.abs(a[i]! - b[i]!) <= tol, `[${i}] ${a[i]} vs ${b[i]}`);
};

test('imagenet preset: (x/255 - mean) / std, NCHW planes', () => {
  const t = toTensor(two, presetSpec('imagenet', [1, 2]));
  // Hand computed: R plane, G plane, B plane.
  close(t, [
    (1 - 0.485) / 0.229, (10 / 255 - 0.485) / 0.229,
    (0 - 0.456) / 0.224, (20 / 255 - 0.456) / 0.224,
    (128 / 255 - 0.406) / 0.225, (30 / 255 - 0.406) / 0.225,
  ]);
  close(t.subarray(0, 1), [2.2489083]);
  close(t.subarray(2, 3), [-2.0357143]);
});

test('tf preset: x/127.5 - 1; NHWC interleaves', () => {
  close(toTensor(two, presetSpec('tf', [1, 2])), [1, 10 / 127.5 - 1, -1, 20 / 127.5 - 1, 128 / 127.5 - 1, 30 / 127.5 - 1]);
  close(toTensor(two, presetSpec('tf', [1, 2], 'NHWC')), [1, -1, 0.00392157, -0.92156863, -0.84313725, -0.76470588]);
});

test('caffe preset: BGR order minus the BGR means (103.939, 116.779, 123.68)', () => {
  const t = toTensor(two, presetSpec('caffe', [1, 2]));
  // Planes B, G, R.
  close(t, [128 - 103.939, 30 - 103.939, 0 - 116.779, 20 - 116.779, 255 - 123.68, 10 - 123.68], 1e-4);
  const nhwc = toTensor(two, presetSpec('caffe', [1, 2], 'NHWC'));
  close(nhwc.subarray(0, 3), [128 - 103.939, -116.779, 255 - 123.68], 1e-4);
});

test('unit preset: x/255; shapes', () => {
  close(toTensor(two, presetSpec('unit', [1, 2])), [1, 10 / 255, 0, 20 / 255, 128 / 255, 30 / 255]);
  assert.deepEqual(tensorShape(presetSpec('unit', [5, 7])), [1, 3, 5, 7]);
  assert.deepEqual(tensorShape(presetSpec('unit', [5, 7], 'NHWC')), [1, 5, 7, 3]);
});

test('toTensor refuses an image of the wrong size', () => {
  assert.throws(() => toTensor(two, presetSpec('unit')), (e: unknown) => e instanceof OptionError && /2x1.*224x224/.test(e.message));
});

test('black baseline = all-zero pixels through the preprocessing', () => {
  const spec = presetSpec('imagenet', [3, 4]);
  const b = blackBaseline(spec);
  assert.equal(b.length, 36);
  for (let c = 0; c < 3; c++) {
    const want = -[0.485, 0.456, 0.406][c]! / [0.229, 0.224, 0.225][c]!;
    for (let i = 0; i < 12; i++) assert.ok(Math.abs(b[c * 12 + i]! - want) < 1e-6);
  }
  assert.ok(blackBaseline(presetSpec('tf', [2, 2])).every((v) => v === -1));
  assert.ok(blackBaseline(presetSpec('unit', [2, 2])).every((v) => v === 0));
});

test('blur: an impulse spreads as a 2-D Gaussian; constants stay constant', () => {
  const n = 41, sigma = 3;
  const img = createRgbImage(n, n);
  const c = 20;
  img.data.fill(255, (c * n + c) * 3, (c * n + c) * 3 + 3);
  const out = gaussianBlurRgb(img, sigma);
  // Continuous Gaussian density times the impulse mass (255), independent of the discrete kernel.
  const g = (d: number) => Math.exp(-(d * d) / (2 * sigma * sigma)) / (sigma * Math.sqrt(2 * Math.PI));
  for (const [dx, dy] of [[0, 0], [1, 0], [2, 3], [4, 1]] as const) {
    const v = out.data[((c + dy) * n + c + dx) * 3]!;
    assert.ok(Math.abs(v - 255 * g(dx) * g(dy)) <= 1, `(${dx},${dy}) ${v} vs ${255 * g(dx) * g(dy)}`);
  }
  const flat = gaussianBlurRgb(createRgbImage(9, 7, [30, 60, 90]), 20);
  for (let i = 0; i < flat.data.length; i += 3) assert.deepEqual([...flat.data.subarray(i, i + 3)], [30, 60, 90]);
});

test('blur baseline: the blurred image through the preprocessing', () => {
  const spec = presetSpec('unit', [32, 32]);
  const img = createRgbImage(32, 32);
  for (let i = 0; i < img.data.length; i++) img.data[i] = (i * 37) % 256;
  const base = blurBaseline(img, spec, 2);
  assert.deepEqual(base, toTensor(gaussianBlurRgb(img, 2), spec));
  // The default (sigma = 3.2 px here) flattens the image: far less variance than the original.
  const variance = (a: Float32Array) => {
    let m = 0;
    for (const v of a) m += v / a.length;
    let s = 0;
    for (const v of a) s += (v - m) ** 2 / a.length;
    return s;
  };
  const ratio = variance(blurBaseline(img, spec)) / variance(toTensor(img, spec));
  assert.ok(ratio < 0.05, `variance ratio ${ratio}`);
});

test('parseInputSpec: full object, preset with overrides, defaults', () => {
  const spec = parseInputSpec({ size: [32, 48], layout: 'NHWC', channelOrder: 'BGR', mean: [1, 2, 3], std: [4, 5, 6], scale: 0.5 }, 'x.json');
  assert.deepEqual(spec, { size: [32, 48], layout: 'NHWC', channelOrder: 'BGR', mean: [1, 2, 3], std: [4, 5, 6], scale: 0.5 });
  const p = parseInputSpec({ preset: 'imagenet', size: [299, 299] }, 'y.json');
  assert.deepEqual(p, presetSpec('imagenet', [299, 299]));
  const d = parseInputSpec({ mean: [0, 0, 0], std: [1, 1, 1], scale: 1 }, 'z.json', { size: [7, 9] });
  assert.deepEqual(d.size, [7, 9]);
  assert.equal(d.layout, 'NCHW');
  assert.equal(d.channelOrder, 'RGB');
});

test('parseInputSpec: each bad field gives an OptionError naming the file and field', () => {
  const cases: [unknown, string][] = [
    [{ mean: [0, 0], std: [1, 1, 1], scale: 1 }, 'mean'],
    [{ mean: [0, 0, 0], std: [1, 0, 1], scale: 1 }, 'std'],
    [{ mean: [0, 0, 0], std: [1, 1, 1] }, 'scale'],
    [{ mean: [0, 0, 0], std: [1, 1, 1], scale: -2 }, 'scale'],
    [{ preset: 'imagenet', layout: 'NCWH' }, 'layout'],
    [{ preset: 'imagenet', channelOrder: 'GRB' }, 'channelOrder'],
    [{ preset: 'imagenet', size: [224] }, 'size'],
    [{ preset: 'imagenet', size: [0, 5] }, 'size'],
    [{ preset: 'pytorch' }, 'preset'],
    [{ preset: 'imagenet', stdev: [1, 1, 1] }, 'stdev'],
    [{ std: [1, 1, 1], scale: 1 }, 'mean'],
  ];
  for (const [value, field] of cases) {
    assert.throws(() => parseInputSpec(value, 'conf/pre.json'), (e: unknown) => {
      assert.ok(e instanceof OptionError);
      assert.ok(e.message.startsWith('conf/pre.json:'), e.message);
      assert.ok(e.message.includes(`'${field}'`), `${JSON.stringify(value)}: ${e.message}`);
      return true;
    });
  }
  assert.throws(() => parseInputSpec([1, 2], 'a.json'), OptionError);
});

test('readInputSpecFile / resolveInputSpec: presets by name, JSON files by path', async () => {
  const path = join(dir, 'spec.json');
  await writeFile(path, JSON.stringify({ preset: 'caffe', size: [227, 227] }));
  const s: InputSpec = await resolveInputSpec(path);
  assert.deepEqual(s, presetSpec('caffe', [227, 227]));
  assert.deepEqual(await resolveInputSpec('tf', { size: [96, 96] }), presetSpec('tf', [96, 96]));
  const bad = join(dir, 'bad.json');
  await writeFile(bad, '{ "preset": ');
  await assert.rejects(readInputSpecFile(bad), (e: unknown) => e instanceof OptionError && e.message.includes(bad) && /JSON/.test(e.message));
  const wrong = join(dir, 'wrong.json');
  await writeFile(wrong, JSON.stringify({ preset: 'unit', scale: 'x' }));
  await assert.rejects(readInputSpecFile(wrong), (e: unknown) => e instanceof OptionError && e.message.includes(wrong) && e.message.includes("'scale'"));
  await assert.rejects(resolveInputSpec(join(dir, 'missing.json')), (e: unknown) => e instanceof OptionError && /not found/.test(e.message));
});
