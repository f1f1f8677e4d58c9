import { test } from 'node:test';
import assert from 'node:assert/strict';
import { boxMask } from '../../src/metrics/boxes.js';
import { energyPointingGame } from '../../src/metrics/energy-pointing.js';
import { pointingGame } from '../../src/metrics/pointing-game.js';
import type { Box } from '../../src/image/types.js';

const W = 20;
const H = 10;
const box: Box = [4, 2, 9, 6]; // 5 x 4 = 20 pixels

function map(f: (x: number, y: number) => number): Float32Array {
  const m = new Float32Array(W * H);
  for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) m[y * W + x] = f(x, y);
  return m;
}
const inBox = (x: number, y: number) => x >= 4 && x < 9 && y >= 2 && y < 6;

test('a heatmap that is exactly the box scores 1 in both pointing games', () => {
  const heat = map((x, y) => (inBox(x, y) ? 1 : 0));
  assert.equal(pointingGame(heat, W, H, [box], 0), 1);
  assert.equal(pointingGame(heat, W, H, [box], 15), 1);
  assert.equal(energyPointingGame(heat, W, H, [box]), 1);
});

test('a constant heatmap scores the share of the image the (tolerance-grown) boxes cover', () => {
  const heat = map(() => 0.4);
  assert.equal(energyPointingGame(heat, W, H, [box]), 20 / 200);
  assert.equal(pointingGame(heat, W, H, [box], 0), 20 / 200);
  // Centres within 1 px of the box: columns 3-9, rows 1-6 (corner centres are 0.71 px away).
  assert.equal(pointingGame(heat, W, H, [box], 1), (7 * 6) / 200);
  // Within 2 px: columns 2-10, rows 0-7, less the 4 corners whose centres are 2.12 px away.
  assert.equal(pointingGame(heat, W, H, [box], 2), (9 * 8 - 4) / 200);
  // All-zero maps are scored as constant ones.
  assert.equal(energyPointingGame(new Float32Array(W * H), W, H, [box]), 20 / 200);
});

test('the pointing tolerance counts a maximum near the box as a hit', () => {
  // Peak at pixel (15, 4): its centre is 6.5 px right of the box edge x = 9.
  const heat = map((x, y) => (x === 15 && y === 4 ? 1 : 0.2));
  assert.equal(pointingGame(heat, W, H, [box], 0), 0);
  assert.equal(pointingGame(heat, W, H, [box], 6), 0);
  assert.equal(pointingGame(heat, W, H, [box], 7), 1);
  assert.equal(pointingGame(heat, W, H, [box, [14, 3, 16, 5]], 0), 1);
  // Energy: one pixel of 1 outside, 0.2 on 20 inside, 0.2 on the 179 others outside.
  assert.ok(Math.abs(energyPointingGame(heat, W, H, [box]) - (20 * 0.2) / (1 + 199 * 0.2)) < 1e-6);
});

test('fractional boxes cover the pixels whose centres they contain; several boxes make a union', () => {
  const m = boxMask([[1.2, 1.2, 3.8, 3.8]], 6, 6);
  assert.equal(m.reduce((a, b) => a + b, 0), 9);
  const u = boxMask([[0, 0, 2, 2], [1, 1, 3, 3]], 4, 4);
  assert.equal(u.reduce((a, b) => a + b, 0), 7);
});
