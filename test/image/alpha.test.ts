/**
 * Decoding and fitting photos with transparency for models that take an alpha channel: sharp
 * decodes the straight colours and the alpha plane (grey + alpha PNGs too), photos without
 * transparency get none (opaque), and fitting keeps the alpha (padding opaque), resizing
 * premultiplied in sharp and in the page's plain-TypeScript fit alike.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import sharp from 'sharp';
import { decodeImage, fitImageSharp } from '../../src/node/image-io.js';
import { fitImage, type FitMode } from '../../src/image/fit.js';
import type { RgbImage } from '../../src/image/types.js';

/** A w x h RGBA picture: colours from the position, alpha falling from 255 on the left to 0 on the right. */
function rgbaPixels(w: number, h: number): Uint8Array {
  const px = new Uint8Array(w * h * 4);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const i = (y * w + x) * 4;
      px.set([(x * 37) % 256, (y * 53) % 256, (x * y) % 256, Math.round((255 * (w - 1 - x)) / (w - 1))], i);
    }
  }
  return px;
}

test('keepAlpha: an RGBA PNG decodes to its straight colours and its alpha plane; without it, flattened onto white as before', async () => {
  const [w, h] = [20, 12];
  const px = rgbaPixels(w, h);
  const png = await sharp(px, { raw: { width: w, height: h, channels: 4 } }).png().toBuffer();
  const img = await decodeImage(png, 'rgba.png', { keepAlpha: true });
  assert.deepEqual([img.width, img.height], [w, h]);
  for (let i = 0; i < w * h; i++) {
    assert.deepEqual([...img.data.subarray(3 * i, 3 * i + 3)], [...px.subarray(4 * i, 4 * i + 3)], `pixel ${i}`);
    assert.equal(img.alpha![i], px[4 * i + 3]);
  }
  const flat = await decodeImage(png, 'rgba.png');
  assert.equal(flat.alpha, undefined);
  // The fully transparent right column is white once flattened.
  assert.deepEqual([...flat.data.subarray((w - 1) * 3, w * 3)], [255, 255, 255]);
});

test('keepAlpha: a grey + alpha PNG gives grey colours and its alpha; a photo without transparency gives no alpha plane', async () => {
  const [w, h] = [10, 10];
  const la = Uint8Array.from({ length: w * h * 2 }, (_, i) => (i % 2 ? (i * 7) % 256 : (i * 11) % 256));
  const png = await sharp(la, { raw: { width: w, height: h, channels: 2 } }).png().toBuffer();
  const img = await decodeImage(png, 'la.png', { keepAlpha: true });
  for (let i = 0; i < w * h; i++) {
    assert.deepEqual([...img.data.subarray(3 * i, 3 * i + 3)], [la[2 * i], la[2 * i], la[2 * i]]);
    assert.equal(img.alpha![i], la[2 * i + 1]);
  }
  const jpeg = await sharp({ create: { width: 16, height: 16, channels: 3, background: '#336699' } }).jpeg().toBuffer();
  assert.equal((await decodeImage(jpeg, 'opaque.jpg', { keepAlpha: true })).alpha, undefined);
  // An alpha channel that is 255 everywhere is no transparency either (the browser sees only pixels).
  const rgbaOpaque = await sharp(new Uint8Array(w * h * 3).fill(90), { raw: { width: w, height: h, channels: 3 } }).ensureAlpha(1).png().toBuffer();
  assert.equal((await sharp(rgbaOpaque).metadata()).hasAlpha, true);
  const opaque = await decodeImage(rgbaOpaque, 'opaque.png', { keepAlpha: true });
  assert.equal(opaque.alpha, undefined);
  assert.equal(opaque.data.length, w * h * 3);
});

test('fitImageSharp keeps the alpha: unchanged at the model size, padding opaque, a constant alpha constant after a resize', async () => {
  const [w, h] = [20, 12];
  const px = rgbaPixels(w, h);
  const img = await decodeImage(await sharp(px, { raw: { width: w, height: h, channels: 4 } }).png().toBuffer(), 'a.png', { keepAlpha: true });
  const same = (await fitImageSharp(img, [h, w], 'stretch')).image;
  assert.deepEqual([...same.alpha!], [...img.alpha!]);
  assert.deepEqual([...same.data], [...img.data]);
  // Letterboxed into 20x20: 4 padding rows above and below, opaque; the photo rows keep their alpha.
  const padded = (await fitImageSharp(img, [20, 20], 'pad')).image;
  assert.ok(padded.alpha!.subarray(0, 4 * 20).every((a) => a === 255));
  assert.ok(padded.alpha!.subarray(16 * 20).every((a) => a === 255));
  assert.deepEqual([...padded.alpha!.subarray(4 * 20, 16 * 20)], [...img.alpha!]);
  const half = { width: 30, height: 30, data: new Uint8Array(30 * 30 * 3).fill(90), alpha: new Uint8Array(30 * 30).fill(128) };
  const small = (await fitImageSharp(half, [7, 7], 'stretch')).image;
  assert.ok(small.alpha!.every((a) => a === 128), 'constant alpha stays constant');
  // Resized premultiplied (sharp, as PIL), the colours come back within the 8-bit rounding of alpha 128.
  assert.ok(small.data.every((v) => Math.abs(v - 90) <= 1), `colours are unpremultiplied again after the resize: ${[...new Set(small.data)]}`);
});

test('fitImage (the page’s fit) resizes a photo with transparency premultiplied, as fitImageSharp (the CLI’s): near sharp’s colours where a straight resize is far off', async () => {
  // Left half: red at alpha 0 or 20 (mostly hidden), right half: opaque-ish varied colours.
  const [w, h] = [90, 70];
  const px = new Uint8Array(w * h * 4);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) px.set(x < 45 ? [255, 0, 0, (x * 7 + y) % 3 === 0 ? 0 : 20] : [(x * 5) % 256, (y * 9) % 256, 100, 128 + ((x * y) % 128)], (y * w + x) * 4);
  }
  const img = await decodeImage(await sharp(px, { raw: { width: w, height: h, channels: 4 } }).png().toBuffer(), 'a.png', { keepAlpha: true });
  /** Largest colour difference from sharp's fit, each weighted by sharp's alpha (what shows), and largest alpha difference. */
  const offSharp = async (mine: RgbImage, fit: FitMode, size: [number, number]) => {
    const ref = (await fitImageSharp(img, size, fit)).image;
    let colour = 0;
    let alpha = 0;
    for (let i = 0; i < ref.alpha!.length; i++) {
      if (mine.alpha) alpha = Math.max(alpha, Math.abs(mine.alpha[i]! - ref.alpha![i]!));
      for (let c = 0; c < 3; c++) colour = Math.max(colour, (Math.abs(mine.data[3 * i + c]! - ref.data[3 * i + c]!) * ref.alpha![i]!) / 255);
    }
    return { colour, alpha };
  };
  for (const fit of ['stretch', 'pad', 'crop'] as const) {
    for (const size of [[32, 32], [28, 40]] as [number, number][]) {
      const { image: fitted, geometry: g } = fitImage(img, size, fit);
      const off = await offSharp(fitted, fit, size);
      // fitImage now resizes as sharp does (resizeRgbAsSharp, equal bytes: test/image/resize-vips.test.ts); this bound dates from PIL's triangle.
      assert.ok(off.colour <= 4 && off.alpha <= 8, `${fit} ${size}: ${JSON.stringify(off)} from sharp's`);
      const outside = (i: number) => {
        const [x, y] = [i % size[1], Math.floor(i / size[1])];
        return x < g.target.x || y < g.target.y || x >= g.target.x + g.target.width || y >= g.target.y + g.target.height;
      };
      assert.ok(fitted.alpha!.every((a, i) => a === 255 || !outside(i)), `${fit} ${size}: padding opaque`);
      if (fit === 'pad') assert.ok(fitted.alpha!.some((_, i) => outside(i)), 'pad pads');
    }
  }
  const straight = fitImage({ width: w, height: h, data: img.data }, [32, 32], 'stretch').image;
  const off = await offSharp(straight, 'stretch', [32, 32]);
  assert.ok(off.colour > 12, `a straight resize bleeds the hidden red in (${off.colour}), so the bound above is the premultiplication's`);
  // At the model's size nothing is resampled: colours (even under alpha 0) and alpha as they are.
  const same = fitImage(img, [h, w], 'stretch').image;
  assert.deepEqual([same.data, same.alpha], [img.data, img.alpha]);
});
