/**
 * Decoding image files with sharp, and reading preprocessing specs from JSON files (Node only).
 *
 * Supported: JPEG, PNG, WebP, GIF (first frame), TIFF, AVIF/HEIF as far as sharp's build
 * reads them. BMP is not: sharp's prebuilt libvips has no BMP loader, so a BMP file gets an
 * ImageError asking for a PNG instead.
 */
import { readFile } from 'node:fs/promises';
import sharp, { type Metadata } from 'sharp';
import { ImageError, OptionError } from '../errors.js';
import { fitGeometry, type FitMode, type FittedImage } from '../image/fit.js';
import { isPresetName, parseInputSpec, presetSpec, type InputSpec } from '../image/preprocess.js';
import type { Rgb, RgbImage } from '../image/types.js';

/**
 * Largest image accepted, in pixels (100 megapixels, e.g. 10000x10000). Checked from the
 * file header BEFORE decoding, so a huge image is refused quickly instead of exhausting
 * memory (decoded RGB is 3 bytes a pixel). Larger images are refused, not downscaled.
 */
export const MAX_IMAGE_PIXELS = 100_000_000;

/** Smallest accepted side, in pixels: smaller images carry too little to explain. */
export const MIN_IMAGE_SIDE = 8;

export interface LoadImageOptions {
  /** Colour that transparent pixels are flattened onto; default white. */
  background?: Rgb;
  /** Default MAX_IMAGE_PIXELS. */
  maxPixels?: number;
  /** Default MIN_IMAGE_SIDE. */
  minSide?: number;
  /**
   * Keep transparency as the image's `alpha` plane instead of flattening it onto `background`
   * (for models that take an alpha channel); colours are then the straight values. Images
   * without transparency (no alpha channel, or one that is 255 everywhere) get no alpha plane (opaque).
   */
  keepAlpha?: boolean;
}

/** A decoded photo: 8-bit RGB interleaved (and alpha where kept), EXIF orientation applied, plus where it came from. */
export interface LoadedImage extends RgbImage {
  path: string;
}

/** Reads and decodes an image file. Every failure is an ImageError naming the file. */
export async function loadImage(path: string, options: LoadImageOptions = {}): Promise<LoadedImage> {
  let bytes: Buffer;
  try {
    bytes = await readFile(path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'file not found' : code === 'EISDIR' ? 'is a directory' : code === 'EACCES' ? 'permission denied' : firstLine(e);
    throw new ImageError(`cannot read image ${path}: ${why}`);
  }
  return decodeImage(bytes, path, options);
}

/** Decodes image bytes; `name` is used in error messages and as `path` of the result. */
export async function decodeImage(bytes: Uint8Array, name: string, options: LoadImageOptions = {}): Promise<LoadedImage> {
  const maxPixels = options.maxPixels ?? MAX_IMAGE_PIXELS;
  const minSide = options.minSide ?? MIN_IMAGE_SIDE;
  const [r, g, b] = options.background ?? [255, 255, 255];
  if (bytes.length === 0) throw new ImageError(`cannot read image ${name}: the file is empty`);
  let meta: Metadata;
  try {
    meta = await sharp(bytes, { limitInputPixels: false }).metadata();
  } catch (e) {
    if (bytes[0] === 0x42 && bytes[1] === 0x4d && !sharp.format.magick.input.buffer) {
      throw new ImageError(`cannot read image ${name}: BMP is not supported by this build of sharp; convert it to PNG or JPEG`);
    }
    throw new ImageError(`cannot read image ${name}: not an image in a supported format (${firstLine(e)})`);
  }
  const w = meta.autoOrient?.width ?? meta.width;
  const h = meta.autoOrient?.height ?? meta.height;
  if (!w || !h) throw new ImageError(`cannot read image ${name}: no image size in the header`);
  if (w * h > maxPixels) {
    throw new ImageError(
      `image ${name} is ${w}x${h} (${(w * h / 1e6).toFixed(1)} megapixels), over the ${(maxPixels / 1e6).toFixed(0)} megapixel limit; downscale it first`,
    );
  }
  if (Math.min(w, h) < minSide) {
    throw new ImageError(`image ${name} is ${w}x${h}, too small (at least ${minSide} pixels a side)`);
  }
  try {
    // failOn 'warning' (sharp's default) makes truncated JPEGs an error instead of grey rows.
    const keepAlpha = options.keepAlpha === true && meta.hasAlpha === true;
    const pipe = sharp(bytes, { limitInputPixels: maxPixels, failOn: 'warning' }).rotate();
    const { data, info } = await (keepAlpha ? pipe.toColourspace('srgb').ensureAlpha() : pipe.flatten({ background: { r, g, b } }).toColourspace('srgb').removeAlpha())
      .raw({ depth: 'uchar' })
      .toBuffer({ resolveWithObject: true });
    if (info.channels !== (keepAlpha ? 4 : 3)) throw new Error(`decoded to ${info.channels} channels`);
    const bytesOut = new Uint8Array(data.buffer, data.byteOffset, data.length);
    const split = keepAlpha ? splitAlpha(bytesOut) : undefined;
    // An alpha channel whose every pixel is opaque is no transparency (the same values; the
    // conversion note then says so, as the page, which sees only pixels, does).
    const planes = split && split.alpha.some((a) => a < 255) ? split : { data: split?.data ?? bytesOut };
    return { width: info.width, height: info.height, ...planes, path: name };
  } catch (e) {
    throw new ImageError(`cannot decode image ${name}: ${firstLine(e)} (corrupt or truncated?)`);
  }
}

/**
 * fitImage's twin using sharp's resize (fast for large photos): the same geometry
 * (fitGeometry), sharp's triangle ('linear') kernel, padding filled with padColor (default black).
 */
export async function fitImageSharp(
  img: RgbImage, size: readonly [number, number], fit: FitMode, options: { padColor?: Rgb } = {},
): Promise<FittedImage> {
  const geometry = fitGeometry(img.width, img.height, size, fit);
  const { source: s, target: t, modelWidth: mw, modelHeight: mh } = geometry;
  const [r, g, b] = options.padColor ?? [0, 0, 0];
  // With alpha: resized as RGBA (sharp premultiplies the colours by alpha for the resize), padding opaque.
  const channels = img.alpha ? 4 : 3;
  const input = img.alpha ? joinAlpha(img.data, img.alpha) : img.data;
  let pipe = sharp(input, { raw: { width: img.width, height: img.height, channels }, limitInputPixels: false });
  if (s.width !== img.width || s.height !== img.height) pipe = pipe.extract({ left: s.x, top: s.y, width: s.width, height: s.height });
  pipe = pipe.resize(t.width, t.height, { fit: 'fill', kernel: 'linear' });
  if (t.width !== mw || t.height !== mh) {
    pipe = pipe.extend({
      left: t.x, top: t.y, right: mw - t.x - t.width, bottom: mh - t.y - t.height,
      background: { r, g, b, alpha: 1 },
    });
  }
  const { data, info } = await (img.alpha ? pipe.ensureAlpha() : pipe.removeAlpha()).raw().toBuffer({ resolveWithObject: true });
  if (info.width !== mw || info.height !== mh || info.channels !== channels) {
    throw new Error(`fitImageSharp: sharp produced ${info.width}x${info.height}x${info.channels}, expected ${mw}x${mh}x${channels}`);
  }
  const out = new Uint8Array(data.buffer, data.byteOffset, data.length);
  return { image: { width: mw, height: mh, ...(img.alpha ? splitAlpha(out) : { data: out }) }, geometry };
}

/** Interleaved RGBA -> RGB and the alpha plane. */
function splitAlpha(rgba: Uint8Array): { data: Uint8Array; alpha: Uint8Array } {
  const n = rgba.length / 4;
  const data = new Uint8Array(n * 3);
  const alpha = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    data[3 * i] = rgba[4 * i]!;
    data[3 * i + 1] = rgba[4 * i + 1]!;
    data[3 * i + 2] = rgba[4 * i + 2]!;
    alpha[i] = rgba[4 * i + 3]!;
  }
  return { data, alpha };
}

/** RGB and an alpha plane -> interleaved RGBA. */
function joinAlpha(rgb: Uint8Array, alpha: Uint8Array): Uint8Array {
  const out = new Uint8Array(alpha.length * 4);
  for (let i = 0; i < alpha.length; i++) {
    out[4 * i] = rgb[3 * i]!;
    out[4 * i + 1] = rgb[3 * i + 1]!;
    out[4 * i + 2] = rgb[3 * i + 2]!;
    out[4 * i + 3] = alpha[i]!;
  }
  return out;
}

/** Reads an InputSpec from a JSON file (see parseInputSpec); errors name the file and field. */
export async function readInputSpecFile(path: string, defaults: Partial<InputSpec> = {}): Promise<InputSpec> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new OptionError(`cannot read preprocessing file ${path}: ${code === 'ENOENT' ? 'file not found' : firstLine(e)}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new OptionError(`${path}: not valid JSON (${firstLine(e)})`);
  }
  return parseInputSpec(json, path, defaults);
}

/**
 * A preset name (imagenet, tf, caffe, unit) or the path of a JSON file: what a
 * `--preprocess` flag accepts. defaults.size / defaults.layout apply to presets too.
 */
export async function resolveInputSpec(nameOrPath: string, defaults: Partial<InputSpec> = {}): Promise<InputSpec> {
  if (isPresetName(nameOrPath)) return presetSpec(nameOrPath, defaults.size, defaults.layout);
  return readInputSpecFile(nameOrPath, defaults);
}

function firstLine(e: unknown): string {
  const msg = e instanceof Error ? e.message : String(e);
  return msg.split('\n')[0]!.trim();
}
