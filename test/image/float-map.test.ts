import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import sharp from 'sharp';
import { normalizeMinMax, resizeBilinear } from '../../src/image/float-map.js';
import { resizeRgb } from '../../src/image/resize-rgb.js';
import type { FloatMap } from '../../src/image/types.js';
import { rng } from '../helpers/grad-check.js';

tf.setBackend('cpu');

test('bilinear resize reproduces an affine map exactly (hand-computed 2x2 -> 4x4)', () => {
  // f(x, y) = x + 2y on the 2x2 grid; half-pixel sources are -0.25, 0.25, 0.75, 1.25,
  // clamped to [0, 1], so out = sx + 2 sy with s in {0, 0.25, 0.75, 1}.
  const out = resizeBilinear({ width: 2, height: 2, data: Float32Array.from([0, 1, 2, 3]) }, 4, 4);
  const s = [0, 0.25, 0.75, 1];
  const want = s.flatMap((sy) => s.map((sx) => sx + 2 * sy));
  assert.deepEqual([...out.data], want);
  // 3 -> 2 shrink: sources (0.5*1.5 - 0.5) = 0.25 and 1.75.
  const shrink = resizeBilinear({ width: 3, height: 1, data: Float32Array.from([0, 10, 40]) }, 2, 1);
  assert.deepEqual([...shrink.data], [2.5, 10 + 0.75 * 30]);
});

test('bilinear resize matches TF.js resizeBilinear(halfPixelCenters=true) for random maps', () => {
  const rand = rng(7);
  for (const [h, w, oh, ow] of [[7, 7, 224, 224], [5, 9, 13, 4], [14, 14, 227, 300], [30, 20, 7, 11], [1, 6, 3, 12]] as const) {
    const data = Float32Array.from({ length: h * w }, () => rand(-2, 5));
    const ours = resizeBilinear({ width: w, height: h, data }, ow, oh);
    const ref = tf.tidy(() => tf.image.resizeBilinear(tf.tensor4d(data, [1, h, w, 1]), [oh, ow], false, true).dataSync());
    let max = 0;
    for (let i = 0; i < ref.length; i++) max = Math.max(max, Math.abs(ref[i]! - ours.data[i]!));
    assert.ok(max < 1e-5, `${h}x${w} -> ${oh}x${ow}: max diff ${max}`);
  }
});

test('min-max normalisation: range [0, 1]; a constant or all-zero map is all zero, no NaN', () => {
  const m = normalizeMinMax({ width: 4, height: 1, data: Float32Array.from([-2, 0, 2, 6]) });
  assert.deepEqual([...m.data], [0, 0.25, 0.5, 1]);
  for (const v of [0, 3.5, -1]) {
    const z = normalizeMinMax({ width: 3, height: 2, data: new Float32Array(6).fill(v) });
    assert.deepEqual([...z.data], [0, 0, 0, 0, 0, 0]);
  }
  const withNaN = normalizeMinMax({ width: 3, height: 1, data: Float32Array.from([1, NaN, 3]) });
  assert.deepEqual([...withNaN.data], [0, 0, 1]);
});

test('RGB resize shrinking 2x uses the widened triangle filter (hand-computed, PIL semantics)', () => {
  // Row [0, 70, 140, 210] to 2 pixels: output 0 centred at 1.0 with support 2 reads pixels
  // 0, 1, 2 with weights 0.75, 0.75, 0.25 (renormalised: 3/7, 3/7, 1/7) = 50; output 1 = 160.
  const row = [0, 70, 140, 210];
  const data = Uint8Array.from([...row, ...row].flatMap((v) => [v, v, v]));
  const out = resizeRgb({ width: 4, height: 2, data }, 2, 1);
  assert.deepEqual([...out.data], [50, 50, 50, 160, 160, 160]);
});

test('RGB resize enlarging equals half-pixel bilinear (TF.js), shrinking agrees with sharp', async () => {
  const rand = rng(3);
  const w = 9, h = 6;
  const data = Uint8Array.from({ length: w * h * 3 }, () => Math.floor(rand(0, 256)));
  const up = resizeRgb({ width: w, height: h, data }, 20, 15);
  const ref = tf.tidy(() => tf.image.resizeBilinear(tf.tensor4d(Float32Array.from(data), [1, h, w, 3]), [15, 20], false, true).dataSync());
  for (let i = 0; i < ref.length; i++) assert.ok(Math.abs(up.data[i]! - ref[i]!) <= 0.5 + 1e-4, `${i}: ${up.data[i]} vs ${ref[i]}`);

  // A smooth photo-like pattern shrunk 640x480 -> 224x168: sharp's linear kernel is a
  // different implementation of the same filter; they agree to a couple of levels.
  const W = 640, H = 480;
  const big = new Uint8Array(W * H * 3);
  for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) {
    big.set([128 + 100 * Math.sin(x / 23), 128 + 100 * Math.cos(y / 17), (x + y) % 256 > 128 ? 200 : 50], (y * W + x) * 3);
  }
  const ours = resizeRgb({ width: W, height: H, data: big }, 224, 168);
  const theirs = await sharp(big, { raw: { width: W, height: H, channels: 3 } }).resize(224, 168, { fit: 'fill', kernel: 'linear' }).raw().toBuffer();
  let sum = 0;
  for (let i = 0; i < theirs.length; i++) sum += Math.abs(theirs[i]! - ours.data[i]!);
  assert.ok(sum / theirs.length < 2, `mean abs diff ${sum / theirs.length}`);
});

test('resizeBilinear checks its input', () => {
  const bad: FloatMap = { width: 3, height: 3, data: new Float32Array(8) };
  assert.throws(() => resizeBilinear(bad, 2, 2), RangeError);
});
