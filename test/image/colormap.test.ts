import { test } from 'node:test';
import assert from 'node:assert/strict';
import { OptionError } from '../../src/errors.js';
import { colorize, colormapLut, parseColormap } from '../../src/image/colormap.js';
import { parseColor } from '../../src/image/color.js';
import { drawBoxes } from '../../src/image/draw.js';
import { renderOverlay } from '../../src/image/overlay.js';
import { createRgbImage } from '../../src/image/types.js';

const entry = (lut: Uint8Array, i: number) => [...lut.subarray(i * 3, i * 3 + 3)];

test('jet follows matplotlib: jet(0) = (0, 0, .5), cm.jet(0.5) = (.490, 1, .478), jet(1) = (.5, 0, 0)', () => {
  const lut = colormapLut('jet');
  assert.equal(lut.length, 768);
  assert.deepEqual(entry(lut, 0), [0, 0, 128]);
  // matplotlib prints cm.jet(0.5) = (0.4901960784313725, 1.0, 0.4775458570524984).
  assert.deepEqual(entry(lut, 128), [Math.round(0.4901960784 * 255), 255, Math.round(0.4775458571 * 255)]);
  assert.deepEqual(entry(lut, 255), [128, 0, 0]);
});

test('viridis, inferno endpoints are the published ones; turbo runs dark blue -> dark red', () => {
  assert.deepEqual(entry(colormapLut('viridis'), 0), [0x44, 0x01, 0x54]);
  assert.deepEqual(entry(colormapLut('viridis'), 255), [0xfd, 0xe7, 0x25]);
  assert.deepEqual(entry(colormapLut('inferno'), 0), [0x00, 0x00, 0x04]);
  assert.deepEqual(entry(colormapLut('inferno'), 255), [0xfc, 0xff, 0xa4]);
  const turbo = colormapLut('turbo');
  const [r0, g0, b0] = entry(turbo, 0);
  const [r1, g1, b1] = entry(turbo, 255);
  assert.ok(r0! + g0! + b0! < 150 && r1! > 100 && r1! > 4 * g1! && r1! > 4 * b1!);
  assert.ok(entry(turbo, 128)[1]! > 200, 'turbo is green in the middle');
  assert.throws(() => parseColormap('rainbow'), OptionError);
});

test('colorize clamps to [0, 1] and treats NaN as 0', () => {
  const lut = colormapLut('viridis');
  const c = colorize({ width: 4, height: 1, data: Float32Array.from([-3, NaN, 2, 0.5]) }, 'viridis');
  assert.deepEqual([...c.subarray(0, 3)], entry(lut, 0));
  assert.deepEqual([...c.subarray(3, 6)], entry(lut, 0));
  assert.deepEqual([...c.subarray(6, 9)], entry(lut, 255));
  assert.deepEqual([...c.subarray(9, 12)], entry(lut, 128));
});

test('overlay = (1 - alpha) photo + alpha colour, at the photo size', () => {
  const photo = createRgbImage(6, 4, [100, 200, 50]);
  const hot = { width: 3, height: 2, data: new Float32Array(6).fill(1) };
  const out = renderOverlay(photo, hot);
  assert.equal(out.width, 6);
  assert.equal(out.height, 4);
  // jet(1) = (128, 0, 0): 0.5 * (100, 200, 50) + 0.5 * (128, 0, 0) = (114, 100, 25).
  for (let i = 0; i < out.data.length; i += 3) assert.deepEqual([...out.data.subarray(i, i + 3)], [114, 100, 25]);
  const strong = renderOverlay(photo, { width: 1, height: 1, data: Float32Array.of(0) }, { alpha: 0.25, colormap: 'viridis' });
  // 0.75 * (100, 200, 50) + 0.25 * (68, 1, 84) = (92, 150.25, 58.5) -> rounded.
  assert.deepEqual([...strong.data.subarray(0, 3)], [92, 150, 59]);
  // normalize: a map in [10, 20] spans the whole colormap.
  const n = renderOverlay(createRgbImage(2, 1), { width: 2, height: 1, data: Float32Array.of(10, 20) }, { normalize: true, alpha: 1 });
  assert.deepEqual([...n.data], [0, 0, 128, 128, 0, 0]);
  assert.throws(() => renderOverlay(photo, hot, { alpha: 1.5 }), OptionError);
});

test('drawBoxes draws outlines inside the box and leaves the interior alone', () => {
  const img = createRgbImage(20, 10, [9, 9, 9]);
  const out = drawBoxes(img, [[2, 1, 12, 9]], { color: [255, 0, 0], thickness: 2 });
  const at = (x: number, y: number) => [...out.data.subarray((y * 20 + x) * 3, (y * 20 + x) * 3 + 3)];
  for (const [x, y] of [[2, 1], [11, 1], [2, 8], [11, 8], [3, 2], [6, 1], [6, 8], [10, 5]]) assert.deepEqual(at(x, y), [255, 0, 0], `${x},${y}`);
  for (const [x, y] of [[1, 1], [12, 5], [6, 0], [6, 9], [4, 3], [9, 6], [6, 5]]) assert.deepEqual(at(x, y), [9, 9, 9], `${x},${y}`);
  assert.deepEqual([...img.data.subarray(0, 3)], [9, 9, 9], 'input untouched');
  // Boxes past the edge are clipped, not an error.
  drawBoxes(img, [[-5, -5, 50, 50]]);
});

test('parseColor', () => {
  assert.deepEqual(parseColor('#ff8000'), [255, 128, 0]);
  assert.deepEqual(parseColor('#fff'), [255, 255, 255]);
  assert.deepEqual(parseColor('10, 20,30'), [10, 20, 30]);
  assert.deepEqual(parseColor('Black'), [0, 0, 0]);
  assert.throws(() => parseColor('#12345', '--pad-color'), (e: unknown) => e instanceof OptionError && e.message.includes('--pad-color'));
  assert.throws(() => parseColor('300,0,0'), OptionError);
});
