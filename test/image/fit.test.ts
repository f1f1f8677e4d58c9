import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { OptionError } from '../../src/errors.js';
import {
  boxToModel, boxToPhoto, fitGeometry, fitImage, heatmapToPhoto, modelToPhoto, parseFitMode, photoToModel,
  type FitGeometry, type FitMode,
} from '../../src/image/fit.js';
import { resizeBilinear } from '../../src/image/float-map.js';
import type { FloatMap, RgbImage } from '../../src/image/types.js';
import { fitImageSharp } from '../../src/node/image-io.js';

function marker(w: number, h: number, mx: number, my: number): FloatMap {
  const data = new Float32Array(w * h);
  data[my * w + mx] = 1;
  return { width: w, height: h, data };
}

function argmax(m: FloatMap): [number, number, number] {
  let best = 0;
  for (let i = 1; i < m.data.length; i++) if (m.data[i]! > m.data[best]!) best = i;
  return [best % m.width, Math.floor(best / m.width), m.data[best]!];
}

test('geometry by hand: 300x200 photo into 100x100', () => {
  const crop = fitGeometry(300, 200, [100, 100], 'crop');
  assert.deepEqual(crop.source, { x: 50, y: 0, width: 200, height: 200 });
  assert.deepEqual(crop.target, { x: 0, y: 0, width: 100, height: 100 });
  // 200 * 100 / 300 = 66.7 -> 67 rows, (100 - 67) / 2 = 16.5 -> 16 rows of padding above.
  const pad = fitGeometry(300, 200, [100, 100], 'pad');
  assert.deepEqual(pad.source, { x: 0, y: 0, width: 300, height: 200 });
  assert.deepEqual(pad.target, { x: 0, y: 16, width: 100, height: 67 });
  const tall = fitGeometry(120, 480, [224, 224], 'pad');
  assert.deepEqual(tall.target, { x: 84, y: 0, width: 56, height: 224 });
  const tallCrop = fitGeometry(120, 480, [100, 200], 'crop'); // model is 200 wide, 100 tall
  assert.deepEqual(tallCrop.source, { x: 0, y: 210, width: 120, height: 60 });
  const st = fitGeometry(300, 200, [100, 50], 'stretch');
  assert.deepEqual([st.source, st.target], [{ x: 0, y: 0, width: 300, height: 200 }, { x: 0, y: 0, width: 50, height: 100 }]);
  assert.throws(() => parseFitMode('zoom'), OptionError);
  assert.throws(() => fitGeometry(0, 10, [5, 5], 'crop'), OptionError);
});

test('crop: a marker at model pixel (100, 50) lands on photo pixel (295, 108) of a 640x480 photo', () => {
  const g = fitGeometry(640, 480, [224, 224], 'crop');
  // Hand: source x = 80..560 (480 wide); centre of model pixel 100 -> 80 + 100.5 * 480 / 224 = 295.4.
  const photo = heatmapToPhoto(marker(224, 224, 100, 50), g);
  const [x, y, v] = argmax(photo);
  assert.deepEqual([x, y], [295, 108]);
  assert.ok(v > 0.5);
  // Outside the crop there is no data: zero, not NaN.
  for (let yy = 0; yy < 480; yy += 7) for (const xx of [0, 79, 560, 639]) assert.equal(photo.data[yy * 640 + xx], 0);
  assert.ok(photo.data.every((q) => Number.isFinite(q)));
});

test('pad: padding never leaks into the photo', () => {
  const g = fitGeometry(300, 200, [100, 100], 'pad');
  const heat = new Float32Array(100 * 100).fill(1000);
  for (let y = g.target.y; y < g.target.y + g.target.height; y++) heat.fill(0.3, y * 100, y * 100 + 100);
  const photo = heatmapToPhoto({ width: 100, height: 100, data: heat }, g);
  for (const v of photo.data) assert.ok(Math.abs(v - 0.3) < 1e-6, `${v}`);
  // The same for a coarse 7x7 map: its cells half in the padding are not sampled past.
  const coarse = new Float32Array(49).fill(1000);
  // target rows 16..83 of 100 -> 1.12..5.81 in 7-cell units; cells 1..5 have centres inside.
  for (let r = 1; r <= 5; r++) coarse.fill(0.3, r * 7, r * 7 + 7);
  const p2 = heatmapToPhoto({ width: 7, height: 7, data: coarse }, g);
  for (const v of p2.data) assert.ok(Math.abs(v - 0.3) < 1e-6, `${v}`);
});

test('stretch: heatmapToPhoto is plain bilinear resize to the photo size', () => {
  const g = fitGeometry(227, 150, [224, 224], 'stretch');
  const data = Float32Array.from({ length: 49 }, (_, i) => Math.sin(i) + i / 10);
  const a = heatmapToPhoto({ width: 7, height: 7, data }, g);
  const b = resizeBilinear({ width: 7, height: 7, data }, 227, 150);
  for (let i = 0; i < a.data.length; i++) assert.ok(Math.abs(a.data[i]! - b.data[i]!) < 1e-5);
});

test('property: a marker at any model pixel inside the target maps back to the photo pixel over it', () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 8, max: 500 }), fc.integer({ min: 8, max: 500 }),
      fc.integer({ min: 4, max: 64 }), fc.integer({ min: 4, max: 64 }),
      fc.constantFrom<FitMode>('stretch', 'crop', 'pad'),
      fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }), fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
      (pw, ph, mw, mh, fit, fx, fy) => {
        const g = fitGeometry(pw, ph, [mh, mw], fit);
        const mx = g.target.x + Math.floor(fx * g.target.width);
        const my = g.target.y + Math.floor(fy * g.target.height);
        const photo = heatmapToPhoto(marker(mw, mh, mx, my), g);
        const [x, y, v] = argmax(photo);
        assert.ok(v > 0, 'the marker must show up');
        // Centre of the brightest photo pixel, in model coordinates, is within half a model
        // pixel of the marker's centre (or half a photo pixel, when the photo is the smaller).
        const [u, w] = photoToModel(x + 0.5, y + 0.5, g);
        const tolX = Math.max(0.5, (0.5 * g.target.width) / g.source.width) + 1e-6;
        const tolY = Math.max(0.5, (0.5 * g.target.height) / g.source.height) + 1e-6;
        assert.ok(Math.abs(u - (mx + 0.5)) <= tolX, `x: ${u} vs ${mx + 0.5} (${JSON.stringify(g)})`);
        assert.ok(Math.abs(w - (my + 0.5)) <= tolY, `y: ${w} vs ${my + 0.5}`);
        // Point and box mappings are inverses.
        const [px, py] = modelToPhoto(u, w, g);
        assert.ok(Math.abs(px - x - 0.5) < 1e-6 && Math.abs(py - y - 0.5) < 1e-6);
        const box = boxToPhoto(boxToModel([1, 2, 5, 7], g), g);
        [1, 2, 5, 7].forEach((c, i) => assert.ok(Math.abs(box[i]! - c) < 1e-6));
        // The source lies in the photo and the target in the model input.
        assert.ok(g.source.x >= 0 && g.source.x + g.source.width <= pw && g.source.y >= 0 && g.source.y + g.source.height <= ph);
        assert.ok(g.target.x >= 0 && g.target.x + g.target.width <= mw && g.target.y >= 0 && g.target.y + g.target.height <= mh);
      },
    ),
    { numRuns: 150, seed: 20240601 },
  );
});

function smoothPhoto(w: number, h: number): RgbImage {
  const data = new Uint8Array(w * h * 3);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) {
    data.set([(x * 255) / w, (y * 255) / h, 128 + 100 * Math.sin((x + y) / 30)], (y * w + x) * 3);
  }
  return { width: w, height: h, data };
}

test('fitImage (pure TS) and fitImageSharp cut the same region and agree on pixels', async () => {
  const photo = smoothPhoto(400, 250);
  for (const fit of ['stretch', 'crop', 'pad'] as const) {
    const a = fitImage(photo, [64, 64], fit, { padColor: [255, 0, 255] });
    const b = await fitImageSharp(photo, [64, 64], fit, { padColor: [255, 0, 255] });
    assert.deepEqual(a.geometry, b.geometry);
    assert.equal(a.image.data.length, 64 * 64 * 3);
    assert.equal(b.image.data.length, 64 * 64 * 3);
    let sum = 0;
    for (let i = 0; i < a.image.data.length; i++) sum += Math.abs(a.image.data[i]! - b.image.data[i]!);
    assert.ok(sum / a.image.data.length < 2.5, `${fit}: mean abs diff ${sum / a.image.data.length}`);
    if (fit === 'pad') {
      // Rows above the letterbox are the pad colour in both.
      const t: FitGeometry['target'] = a.geometry.target;
      assert.ok(t.y > 0);
      for (const img of [a.image, b.image]) assert.deepEqual([...img.data.subarray(0, 3)], [255, 0, 255]);
    }
  }
  // Crop from a wide photo keeps the centre: the leftmost model column shows photo column ~75.
  const c = fitImage(photo, [50, 50], 'crop');
  assert.deepEqual(c.geometry.source, { x: 75, y: 0, width: 250, height: 250 });
  assert.ok(Math.abs(c.image.data[0]! - ((75 + 2) * 255) / 400) < 3);
});
