import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { crc32, deflateSync } from 'node:zlib';
import sharp, { type Sharp } from 'sharp';
import { ImageError } from '../../src/errors.js';
import { loadImage, MAX_IMAGE_PIXELS } from '../../src/node/image-io.js';

let dir = '';
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'rsi-decode-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** A 16x12 RGB test pattern with distinct values per pixel. */
function pattern(w = 16, h = 12): Buffer {
  const b = Buffer.alloc(w * h * 3);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) b.set([x * 15, y * 20, (x * y) % 256], (y * w + x) * 3);
  return b;
}
const raw = (w: number, h: number, channels: 1 | 2 | 3 | 4) => ({ raw: { width: w, height: h, channels } });

async function expectImageError(path: string, pattern: RegExp, options = {}) {
  await assert.rejects(loadImage(path, options), (e: unknown) => {
    assert.ok(e instanceof ImageError, `expected ImageError, got ${e}`);
    assert.ok(e.message.includes(path), `message should name the file: ${e.message}`);
    assert.ok(!e.message.includes('\n'), `message should be one line: ${e.message}`);
    assert.match(e.message, pattern);
    return true;
  });
}

test('lossless formats (PNG, WebP lossless, TIFF) decode to the exact pixels', async () => {
  const px = pattern();
  for (const [ext, fmt] of [['png', (s: Sharp) => s.png()], ['webp', (s: Sharp) => s.webp({ lossless: true })], ['tiff', (s: Sharp) => s.tiff({ compression: 'lzw' })]] as const) {
    const path = join(dir, `p.${ext}`);
    await fmt(sharp(px, raw(16, 12, 3))).toFile(path);
    const img = await loadImage(path);
    assert.equal(img.width, 16);
    assert.equal(img.height, 12);
    assert.equal(img.path, path);
    assert.deepEqual(Buffer.from(img.data), px, ext);
  }
});

test('JPEG decodes close to the source colour', async () => {
  const path = join(dir, 'solid.jpg');
  await sharp({ create: { width: 32, height: 24, channels: 3, background: { r: 200, g: 40, b: 90 } } }).jpeg({ quality: 95 }).toFile(path);
  const img = await loadImage(path);
  assert.equal(img.data.length, 32 * 24 * 3);
  for (let i = 0; i < img.data.length; i += 3) {
    assert.ok(Math.abs(img.data[i]! - 200) <= 3 && Math.abs(img.data[i + 1]! - 40) <= 3 && Math.abs(img.data[i + 2]! - 90) <= 3);
  }
});

test('animated GIF: the first frame only', async () => {
  const red = Buffer.alloc(8 * 8 * 3);
  const green = Buffer.alloc(8 * 8 * 3);
  for (let i = 0; i < 64; i++) red[i * 3] = 255, green[i * 3 + 1] = 255;
  const path = join(dir, 'anim.gif');
  await sharp(Buffer.concat([red, green]), { raw: { width: 8, height: 16, channels: 3, pageHeight: 8 } }).gif().toFile(path);
  assert.equal((await sharp(path).metadata()).pages, 2);
  const img = await loadImage(path);
  assert.equal(img.width, 8);
  assert.equal(img.height, 8);
  for (let i = 0; i < 64; i++) assert.deepEqual([...img.data.subarray(i * 3, i * 3 + 3)], [255, 0, 0]);
});

test('EXIF orientation 6 is applied: 40x20 stored becomes 20x40, left half on top', async () => {
  const w = 40, h = 20;
  const px = Buffer.alloc(w * h * 3);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) px.set(x < w / 2 ? [255, 0, 0] : [0, 0, 255], (y * w + x) * 3);
  const path = join(dir, 'o6.jpg');
  await sharp(px, raw(w, h, 3)).jpeg({ quality: 95 }).withMetadata({ orientation: 6 }).toFile(path);
  const img = await loadImage(path);
  assert.equal(img.width, 20);
  assert.equal(img.height, 40);
  // Orientation 6 = rotate 90 degrees clockwise to display: the stored left edge goes to the top.
  const at = (x: number, y: number) => [...img.data.subarray((y * img.width + x) * 3, (y * img.width + x) * 3 + 3)];
  assert.ok(at(10, 5)[0]! > 200 && at(10, 5)[2]! < 50, `top should be red, got ${at(10, 5)}`);
  assert.ok(at(10, 35)[2]! > 200 && at(10, 35)[0]! < 50, `bottom should be blue, got ${at(10, 35)}`);
});

test('alpha is flattened onto white by default, or onto the given background', async () => {
  const px = Buffer.alloc(8 * 8 * 4);
  for (let i = 0; i < 64; i++) px.set(i < 32 ? [10, 20, 30, 0] : [100, 0, 200, 128], i * 4);
  const path = join(dir, 'alpha.png');
  await sharp(px, raw(8, 8, 4)).png().toFile(path);
  const white = await loadImage(path);
  assert.deepEqual([...white.data.subarray(0, 3)], [255, 255, 255]);
  // Half transparent: 100 * a + 255 * (1 - a), a = 128/255.
  const a = 128 / 255;
  const exp = [100 * a + 255 * (1 - a), 0 * a + 255 * (1 - a), 200 * a + 255 * (1 - a)];
  const got = [...white.data.subarray(40 * 3, 40 * 3 + 3)];
  got.forEach((v, c) => assert.ok(Math.abs(v - exp[c]!) <= 1, `${got} vs ${exp}`));
  const black = await loadImage(path, { background: [0, 0, 0] });
  assert.deepEqual([...black.data.subarray(0, 3)], [0, 0, 0]);
  assert.ok(Math.abs(black.data[40 * 3]! - 100 * a) <= 1);
});

test('greyscale (8 and 16 bit) is expanded to RGB', async () => {
  const g = Buffer.alloc(10 * 9);
  for (let i = 0; i < g.length; i++) g[i] = (i * 7) % 256;
  const path = join(dir, 'grey.png');
  await sharp(g, raw(10, 9, 1)).toColourspace('b-w').png().toFile(path);
  assert.equal((await sharp(path).metadata()).channels, 1);
  const img = await loadImage(path);
  assert.equal(img.data.length, 10 * 9 * 3);
  for (let i = 0; i < g.length; i++) assert.deepEqual([...img.data.subarray(i * 3, i * 3 + 3)], [g[i], g[i], g[i]]);

  const path16 = join(dir, 'rgb16.png');
  await sharp(pattern(), raw(16, 12, 3)).toColourspace('rgb16').png().toFile(path16);
  assert.equal((await sharp(path16).metadata()).depth, 'ushort');
  const img16 = await loadImage(path16);
  assert.deepEqual(Buffer.from(img16.data), pattern());
});

test('missing file, directory, empty file and non-image file raise ImageError naming the file', async () => {
  await expectImageError(join(dir, 'nope.jpg'), /not found/);
  const sub = join(dir, 'adir');
  await mkdir(sub);
  await expectImageError(sub, /directory/);
  const empty = join(dir, 'empty.png');
  await writeFile(empty, '');
  await expectImageError(empty, /empty/);
  const text = join(dir, 'notes.jpg');
  await writeFile(text, 'this is not an image at all\nsecond line\n');
  await expectImageError(text, /not an image/);
});

test('truncated JPEG raises ImageError', async () => {
  const noise = Buffer.alloc(256 * 192 * 3);
  for (let i = 0; i < noise.length; i++) noise[i] = (Math.imul(i, 2654435761) >>> 24) & 255;
  const full = join(dir, 'noise.jpg');
  await sharp(noise, raw(256, 192, 3)).jpeg({ quality: 90 }).toFile(full);
  const bytes = await readFile(full);
  const cut = join(dir, 'truncated.jpg');
  await writeFile(cut, bytes.subarray(0, Math.floor(bytes.length * 0.6)));
  await expectImageError(cut, /cannot decode|premature|truncated/);
  // A cut inside the header.
  const head = join(dir, 'header-only.jpg');
  await writeFile(head, bytes.subarray(0, 40));
  await expectImageError(head, /cannot/);
});

test('a 1x1 image is refused as too small (documented minimum), never a crash', async () => {
  const path = join(dir, 'tiny.png');
  await sharp(Buffer.from([1, 2, 3]), raw(1, 1, 3)).png().toFile(path);
  await expectImageError(path, /too small/);
  // The minimum is an option.
  const img = await loadImage(path, { minSide: 1 });
  assert.deepEqual([...img.data], [1, 2, 3]);
});

test('BMP gets a clear "not supported" ImageError', async (t) => {
  // A valid 2x2 24-bit BMP.
  const bmp = Buffer.alloc(54 + 16);
  bmp.write('BM', 0, 'latin1');
  bmp.writeUInt32LE(bmp.length, 2);
  bmp.writeUInt32LE(54, 10);
  bmp.writeUInt32LE(40, 14);
  bmp.writeInt32LE(2, 18);
  bmp.writeInt32LE(2, 22);
  bmp.writeUInt16LE(1, 26);
  bmp.writeUInt16LE(24, 28);
  bmp.writeUInt32LE(16, 34);
  const path = join(dir, 'x.bmp');
  await writeFile(path, bmp);
  if (sharp.format.magick.input.buffer) {
    t.skip('this sharp build reads BMP through ImageMagick');
    return;
  }
  await expectImageError(path, /BMP is not supported/);
});

/** A PNG whose header claims w x h, with a tiny (invalid) IDAT: only the header is valid. */
function pngHeader(w: number, h: number): Buffer {
  const chunk = (type: string, data: Buffer) => {
    const len = Buffer.alloc(4);
    len.writeUInt32BE(data.length);
    const td = Buffer.concat([Buffer.from(type, 'latin1'), data]);
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(crc32(td));
    return Buffer.concat([len, td, crc]);
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(w, 0);
  ihdr.writeUInt32BE(h, 4);
  ihdr.set([8, 2, 0, 0, 0], 8); // 8-bit RGB
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    chunk('IDAT', deflateSync(Buffer.alloc(100))),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

test('a 20000x20000 image is refused from its header, quickly, before decoding', async () => {
  const path = join(dir, 'huge.png');
  await writeFile(path, pngHeader(20000, 20000));
  const meta = await sharp(path, { limitInputPixels: false }).metadata();
  assert.equal(meta.width, 20000); // sharp reads the claimed size
  assert.ok(20000 * 20000 > MAX_IMAGE_PIXELS);
  const t0 = performance.now();
  await expectImageError(path, /20000x20000.*megapixel limit/);
  assert.ok(performance.now() - t0 < 1000, 'refusal should not decode');
});

test('a real image over a lowered pixel limit is refused', async () => {
  const path = join(dir, 'big.png');
  await sharp({ create: { width: 1200, height: 1000, channels: 3, background: '#808080' } }).png().toFile(path);
  await expectImageError(path, /1200x1000.*limit/, { maxPixels: 1_000_000 });
  const ok = await loadImage(path, { maxPixels: 1_200_000 });
  assert.equal(ok.width, 1200);
});
