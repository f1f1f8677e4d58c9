import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { createRgbImage, type RgbImage } from '../../src/image/types.js';
import { loadImage } from '../../src/node/image-io.js';
import { captionTile, escapeXml, grid, renderOverlay, writePng } from '../../src/node/render.js';

let dir = '';
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'rsi-render-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

function gradient(w: number, h: number): RgbImage {
  const img = createRgbImage(w, h);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) img.data.set([(x * 255) / w, (y * 255) / h, 90], (y * w + x) * 3);
  return img;
}

/** Count of pixels in a region that are clearly darker than the white background. */
function darkPixels(img: { data: Uint8Array; width: number }, x0: number, y0: number, x1: number, y1: number): number {
  let n = 0;
  for (let y = y0; y < y1; y++) for (let x = x0; x < x1; x++) if (img.data[(y * img.width + x) * 3]! < 128) n++;
  return n;
}

test('writePng writes atomically (no temp file left), overwrites, and round-trips exactly', async () => {
  const img = gradient(33, 17);
  const path = join(dir, 'sub', 'out.png');
  await writePng(path, img.data, 33, 17);
  await writePng(path, img.data, 33, 17);
  assert.deepEqual(await readdir(join(dir, 'sub')), ['out.png']);
  const back = await loadImage(path);
  assert.deepEqual([back.width, back.height], [33, 17]);
  assert.deepEqual(Buffer.from(back.data), Buffer.from(img.data));
  await assert.rejects(writePng(path, img.data, 10, 10), RangeError);
});

test('overlay PNG has the photo dimensions, whatever the heatmap size', async () => {
  const photo = gradient(227, 151);
  const heat = { width: 7, height: 7, data: Float32Array.from({ length: 49 }, (_, i) => i / 48) };
  const ov = renderOverlay(photo, heat, { colormap: 'turbo', alpha: 0.4 });
  const path = join(dir, 'overlay.png');
  await writePng(path, ov.data, ov.width, ov.height);
  const meta = await sharp(path).metadata();
  assert.deepEqual([meta.width, meta.height, meta.format], [227, 151, 'png']);
});

test('captionTile adds a text band below (or above) and keeps the tile pixels', async () => {
  const tile = gradient(120, 80);
  const lines = ['Grad-CAM <conv5> & "more"', 'IoU 0.42'];
  const below = await captionTile(tile, lines);
  assert.equal(below.width, 120);
  assert.ok(below.height > 80 + 2 * 13, `height ${below.height}`);
  assert.deepEqual(Buffer.from(below.data.subarray(0, 120 * 80 * 3)), Buffer.from(tile.data));
  // Text was drawn: dark glyph pixels in the white band (fonts available to librsvg).
  assert.ok(darkPixels(below, 0, 80, 120, below.height) > 30, 'caption text should render');
  const above = await captionTile(tile, lines, { position: 'above' });
  const band = above.height - 80;
  assert.deepEqual(Buffer.from(above.data.subarray(band * 120 * 3)), Buffer.from(tile.data));
  assert.deepEqual(await captionTile(tile, []), tile);
});

test('grid: methods x layers with headers and the photo in the top-left corner', async () => {
  const photo = gradient(64, 48);
  const tiles = Array.from({ length: 6 }, (_, i) => createRgbImage(64, 48, [0, 40 * i, 200]));
  const gap = 4;
  const png = await grid(tiles, 3, {
    columnHeaders: ['conv_pw_13_relu', 'conv_pw_11', 'conv_pw_5'],
    rowHeaders: ['Grad-CAM', 'RSI-Grad-CAM'],
    corner: photo,
    gap,
  });
  const { data, info } = await sharp(png).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  const img = { width: info.width, data: new Uint8Array(data) };
  // Header column at least the photo's width, header row at least its height.
  assert.ok(info.width >= gap + 64 + gap + 3 * (64 + gap));
  assert.ok(info.height >= gap + 48 + gap + 2 * (48 + gap));
  // The corner holds the photo: its top-left pixel is the photo's (0, 0) colour.
  const headW = info.width - gap - 3 * (64 + gap) - gap;
  const cornerX = gap + Math.floor((headW - 64) / 2);
  const headH = info.height - gap - 2 * (48 + gap) - gap;
  const cornerY = gap + headH - 48;
  const at = (x: number, y: number) => [...img.data.subarray((y * info.width + x) * 3, (y * info.width + x) * 3 + 3)];
  assert.deepEqual(at(cornerX + 10, cornerY + 10), [...photo.data.subarray((10 * 64 + 10) * 3, (10 * 64 + 10) * 3 + 3)]);
  // Last tile (row 1, column 2) at its cell.
  const x0 = gap + headW + gap;
  const y0 = gap + headH + gap;
  assert.deepEqual(at(x0 + 2 * (64 + gap) + 5, y0 + (48 + gap) + 5), [0, 200, 200]);
  // Header text drawn: dark pixels in the row-header column next to row 0.
  assert.ok(darkPixels(img, 0, y0, gap + headW, y0 + 48) > 20, 'row header text should render');
  assert.ok(darkPixels(img, x0, 0, info.width, y0) > 20, 'column header text should render');
});

test('grid without headers and with empty cells', async () => {
  const t = createRgbImage(10, 10, [0, 0, 0]);
  const png = await grid([t, null, t], 2, { gap: 2 });
  const meta = await sharp(png).metadata();
  assert.deepEqual([meta.width, meta.height], [2 + 2 * 12, 2 + 2 * 12]);
});

test('escapeXml', () => {
  assert.equal(escapeXml(`a<b>&"c'`), 'a&lt;b&gt;&amp;&quot;c&apos;');
});
