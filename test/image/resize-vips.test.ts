/**
 * resizeRgbAsSharp / fitImage (the page's fit, plain TypeScript) against fitImageSharp (the
 * CLI's: sharp's linear-kernel resize in its bundled libvips): the same bytes for downscales
 * by integer and non-integer factors, upscales, mixed axes, every fit, RGB and RGBA with
 * transparency, and real photos from ../shared (skipped with a message when it is absent).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { SHARED } from '../helpers/fixtures.js';
import { fitImage, FIT_MODES, type FitMode } from '../../src/image/fit.js';
import { resizeRgbAsSharp } from '../../src/image/resize-vips.js';
import type { RgbImage } from '../../src/image/types.js';
import { fitImageSharp, loadImage } from '../../src/node/image-io.js';

/** Largest difference between two fitted images over colours and alpha (both must have the same planes). */
function maxDiff(a: RgbImage, b: RgbImage): number {
  assert.deepEqual([a.width, a.height, a.data.length, !!a.alpha], [b.width, b.height, b.data.length, !!b.alpha]);
  let worst = 0;
  for (let i = 0; i < a.data.length; i++) worst = Math.max(worst, Math.abs(a.data[i]! - b.data[i]!));
  if (a.alpha) for (let i = 0; i < a.alpha.length; i++) worst = Math.max(worst, Math.abs(a.alpha[i]! - b.alpha![i]!));
  return worst;
}

/** Hard-edged stripes, checks and noise (the worst case for a resampler mismatch); with `alpha`, transparency from 0 to 255 including fully transparent pixels. */
function edgy(w: number, h: number, alpha: boolean, seed: number): RgbImage {
  let s = seed >>> 0;
  const rand = () => ((s = (Math.imul(s, 1103515245) + 12345) >>> 0) >>> 16) & 255;
  const data = new Uint8Array(w * h * 3);
  const a = new Uint8Array(w * h);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const check = ((x >> 3) + (y >> 2)) % 2 ? 230 : 20;
      for (let c = 0; c < 3; c++) data[(y * w + x) * 3 + c] = x % 11 < 5 ? (c === 1 ? 255 - check : check) : rand();
      a[y * w + x] = (x * 7 + y) % 5 === 0 ? 0 : x > w / 2 ? 255 : rand();
    }
  }
  return { width: w, height: h, data, ...(alpha ? { alpha: a } : {}) };
}

const CASES: [number, number, number, number][] = [
  [90, 70, 32, 32], [640, 480, 224, 224], [1000, 750, 224, 224], [3000, 2000, 224, 224], // down: non-integer and large factors (box shrink first)
  [90, 70, 120, 100], [50, 50, 224, 224], [9, 6, 20, 15], // up
  [300, 100, 224, 224], [37, 900, 224, 168], [224, 100, 224, 224], // one axis down or kept, the other up
  [266, 487, 280, 60], [150, 157, 288, 5], // a vertical box shrink, then a horizontal enlarge made in 128-pixel tiles
  [466, 679, 28, 40], [535, 427, 157, 32], // box shrinks on both axes (the reduce's steps from a tile's top)
];

test('resizeRgbAsSharp equals sharp’s linear resize byte for byte (RGB and premultiplied RGBA)', async () => {
  const worst: Record<string, number> = {};
  for (const alpha of [false, true]) {
    for (const [w, h, tw, th] of CASES) {
      const img = edgy(w, h, alpha, w * 31 + h);
      // stretch to tw x th is exactly sharp's resize(tw, th, { fit: 'fill', kernel: 'linear' }).
      const ref = (await fitImageSharp(img, [th, tw], 'stretch')).image;
      const mine = resizeRgbAsSharp(img, tw, th);
      const key = `${alpha ? 'RGBA' : 'RGB'} ${w}x${h}->${tw}x${th}`;
      worst[key] = maxDiff(mine, ref);
      assert.ok(worst[key]! <= 1, `${key}: ${worst[key]} levels from sharp`);
    }
  }
  process.stdout.write(`# resizeRgbAsSharp vs sharp, max |difference| in levels: ${JSON.stringify(worst)}\n`);
});

test('fitImage equals fitImageSharp for stretch, crop and pad (pad colour, opaque padding with alpha)', async () => {
  const worst: Record<string, number> = {};
  for (const alpha of [false, true]) {
    for (const [w, h] of [[90, 70], [300, 200], [200, 300], [640, 480]] as const) {
      const img = edgy(w, h, alpha, w + h);
      for (const fit of FIT_MODES) {
        for (const size of [[32, 32], [224, 224], [28, 40]] as [number, number][]) {
          const a = fitImage(img, size, fit, { padColor: [255, 0, 255] });
          const b = await fitImageSharp(img, size, fit, { padColor: [255, 0, 255] });
          assert.deepEqual(a.geometry, b.geometry);
          const key = `${alpha ? 'RGBA' : 'RGB'} ${w}x${h} ${fit} ${size.join('x')}`;
          worst[key] = maxDiff(a.image, b.image);
          assert.ok(worst[key]! <= 1, `${key}: ${worst[key]} levels from sharp`);
        }
      }
    }
  }
  process.stdout.write(`# fitImage vs fitImageSharp, largest |difference| over ${Object.keys(worst).length} cases: ${Math.max(...Object.values(worst))}\n`);
});

const PHOTOS = path.join(SHARED, 'data/imagenet-val-200/images');
test('real photos (shared ImageNet validation JPEGs): fitImage equals fitImageSharp down to 224x224 and 32x32 and up to 400x300', { skip: existsSync(PHOTOS) ? false : `needs ${PHOTOS} (the shared data folder beside the repo)` }, async () => {
  const files = readdirSync(PHOTOS).filter((f) => /\.jpe?g$/i.test(f)).sort().slice(0, 12);
  let worst = 0;
  const sizes = new Set<string>();
  for (const f of files) {
    const img = await loadImage(path.join(PHOTOS, f));
    sizes.add(`${img.width}x${img.height}`);
    for (const fit of ['stretch', 'crop', 'pad'] as FitMode[]) {
      for (const size of [[224, 224], [32, 32], [300, 400]] as [number, number][]) {
        const d = maxDiff(fitImage(img, size, fit).image, (await fitImageSharp(img, size, fit)).image);
        assert.ok(d <= 1, `${f} ${fit} ${size.join('x')}: ${d} levels from sharp`);
        worst = Math.max(worst, d);
      }
    }
  }
  process.stdout.write(`# ${files.length} shared photos (${[...sizes].join(', ')}) x 3 fits x 3 sizes: max |fitImage - fitImageSharp| ${worst} levels\n`);
});
