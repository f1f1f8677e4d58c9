/**
 * Fitting a photo to the model's input size, and the exact inverse mapping of a heatmap from
 * the model's frame back onto the photo.
 *
 * A fit is described by two rectangles: `source` (pixels of the photo that the model sees)
 * and `target` (where they land in the model input). The source rectangle is resized to the
 * target rectangle; the rest of the model input is padding.
 *  - stretch: source = whole photo, target = whole input (aspect ratio not kept).
 *  - crop:    source = the centred crop of the photo with the input's aspect ratio,
 *             target = whole input. Photo pixels outside the crop get no heatmap data.
 *  - pad:     source = whole photo, target = the centred letterbox inside the input;
 *             the padding (filled with `padColor`) is dropped when mapping back.
 */
import { OptionError } from '../errors.js';
import { checkMap } from './float-map.js';
import { clampedTriangleTaps, type FilterTaps } from './resample.js';
import { resizeRgbAsSharp } from './resize-vips.js';
import { createRgbImage, type Box, type FloatMap, type Rect, type Rgb, type RgbImage } from './types.js';

export type FitMode = 'stretch' | 'crop' | 'pad';
export const FIT_MODES: readonly FitMode[] = ['stretch', 'crop', 'pad'];

/** Where the model input lies in the photo; all rectangles have integer coordinates. */
export interface FitGeometry {
  fit: FitMode;
  photoWidth: number;
  photoHeight: number;
  modelWidth: number;
  modelHeight: number;
  /** Region of the photo that is resized into `target`. */
  source: Rect;
  /** Region of the model input that holds the photo's pixels (the rest is padding). */
  target: Rect;
}

/** A model-size image and how it was cut from the photo. */
export interface FittedImage {
  image: RgbImage;
  geometry: FitGeometry;
}

/** Validates a fit mode given as text (CLI / JSON). */
export function parseFitMode(text: string, what = 'fit'): FitMode {
  if ((FIT_MODES as readonly string[]).includes(text)) return text as FitMode;
  throw new OptionError(`${what}: unknown fit '${text}' (expected one of ${FIT_MODES.join(', ')})`);
}

/**
 * The geometry of fitting a photoWidth x photoHeight photo into a model input of
 * size = [height, width]. Pure arithmetic: rounding to whole pixels happens here once, so
 * the Node (sharp) and pure-TS resizers cut exactly the same pixels.
 */
export function fitGeometry(photoWidth: number, photoHeight: number, size: readonly [number, number], fit: FitMode): FitGeometry {
  const [mh, mw] = size;
  for (const [v, n] of [[photoWidth, 'photo width'], [photoHeight, 'photo height'], [mw, 'model width'], [mh, 'model height']] as const) {
    if (!Number.isInteger(v) || v < 1) throw new OptionError(`fit: ${n} must be a positive integer, got ${v}`);
  }
  const whole = (w: number, h: number): Rect => ({ x: 0, y: 0, width: w, height: h });
  let source = whole(photoWidth, photoHeight);
  let target = whole(mw, mh);
  // Compare aspect ratios with integer products to avoid float ties.
  const photoWider = photoWidth * mh > photoHeight * mw;
  if (fit === 'crop') {
    if (photoWider) {
      const w = clampInt(Math.round((photoHeight * mw) / mh), 1, photoWidth);
      source = { x: Math.floor((photoWidth - w) / 2), y: 0, width: w, height: photoHeight };
    } else {
      const h = clampInt(Math.round((photoWidth * mh) / mw), 1, photoHeight);
      source = { x: 0, y: Math.floor((photoHeight - h) / 2), width: photoWidth, height: h };
    }
  } else if (fit === 'pad') {
    if (photoWider) {
      const h = clampInt(Math.round((photoHeight * mw) / photoWidth), 1, mh);
      target = { x: 0, y: Math.floor((mh - h) / 2), width: mw, height: h };
    } else {
      const w = clampInt(Math.round((photoWidth * mh) / photoHeight), 1, mw);
      target = { x: Math.floor((mw - w) / 2), y: 0, width: w, height: mh };
    }
  } else if (fit !== 'stretch') {
    parseFitMode(String(fit));
  }
  return { fit, photoWidth, photoHeight, modelWidth: mw, modelHeight: mh, source, target };
}

/**
 * Fits `img` to size = [height, width] in plain TypeScript. The Node adapter has a sharp-based
 * twin (fitImageSharp, the CLI's) with the same geometry; the resize here reimplements sharp's
 * (resizeRgbAsSharp: libvips' linear reduce / bilinear enlarge in its fixed point), so both
 * give the same pixels and the page explains the tensor the CLI explains. A photo's alpha is
 * fitted with it as the twin fits it: resized premultiplied, padding opaque.
 */
export function fitImage(img: RgbImage, size: readonly [number, number], fit: FitMode, options: { padColor?: Rgb } = {}): FittedImage {
  const geometry = fitGeometry(img.width, img.height, size, fit);
  const { source, target, modelWidth, modelHeight } = geometry;
  const cut = extractRect(img, source);
  const resized = resizeRgbAsSharp(cut, target.width, target.height);
  if (target.width === modelWidth && target.height === modelHeight) return { image: resized, geometry };
  const canvas = createRgbImage(modelWidth, modelHeight, options.padColor ?? [0, 0, 0]);
  // With transparency the padding is opaque, as in the CLI (sharp's extend).
  if (resized.alpha) canvas.alpha = new Uint8Array(modelWidth * modelHeight).fill(255);
  pasteRgb(canvas, resized, target.x, target.y);
  return { image: canvas, geometry };
}

/** Maps a point (pixel-edge coordinates) from the photo into the model input. */
export function photoToModel(x: number, y: number, g: FitGeometry): [number, number] {
  return [
    g.target.x + ((x - g.source.x) * g.target.width) / g.source.width,
    g.target.y + ((y - g.source.y) * g.target.height) / g.source.height,
  ];
}

/** Maps a point (pixel-edge coordinates) from the model input into the photo. */
export function modelToPhoto(x: number, y: number, g: FitGeometry): [number, number] {
  return [
    g.source.x + ((x - g.target.x) * g.source.width) / g.target.width,
    g.source.y + ((y - g.target.y) * g.source.height) / g.target.height,
  ];
}

/** Maps a box [x0, y0, x1, y1] from photo pixels to model-input pixels (not clipped). */
export function boxToModel(box: Box, g: FitGeometry): Box {
  const [x0, y0] = photoToModel(box[0], box[1], g);
  const [x1, y1] = photoToModel(box[2], box[3], g);
  return [x0, y0, x1, y1];
}

/** Maps a box [x0, y0, x1, y1] from model-input pixels to photo pixels (not clipped). */
export function boxToPhoto(box: Box, g: FitGeometry): Box {
  const [x0, y0] = modelToPhoto(box[0], box[1], g);
  const [x1, y1] = modelToPhoto(box[2], box[3], g);
  return [x0, y0, x1, y1];
}

/**
 * Maps a heatmap over the model input (model size, or any size covering the whole model
 * input, e.g. a 7x7 feature-map CAM) onto the photo.
 *
 * Each photo pixel centre is mapped into the model frame and then into heatmap cells and
 * sampled with a triangle filter: bilinear (half-pixel convention) where the photo is
 * finer than the heatmap, widened like an antialiased resize where it is coarser, so no
 * heatmap cell is skipped. Samples only read the heatmap cells whose centres lie inside
 * `target`, so padding never bleeds in (pad); photo pixels outside `source` (crop) have no
 * data and are 0 (zero attribution, never NaN). With 'stretch' and a heatmap smaller than
 * the photo this equals resizeBilinear(heat, photoW, photoH).
 */
export function heatmapToPhoto(heat: FloatMap, geometry: FitGeometry): FloatMap {
  checkMap(heat);
  const g = geometry;
  const W = g.photoWidth;
  const H = g.photoHeight;
  const axis = (heatSize: number, modelSize: number, srcLen: number, tgtPos: number, tgtLen: number): FilterTaps => {
    const k = heatSize / modelSize; // heat cells per model pixel
    const lo = tgtPos * k;
    const hi = (tgtPos + tgtLen) * k;
    // Cells whose centres (c + 0.5) lie within [lo, hi]; at least the one nearest the middle.
    let first = Math.max(0, Math.ceil(lo - 0.5));
    let last = Math.min(heatSize - 1, Math.floor(hi - 0.5));
    if (first > last) first = last = clampInt(Math.round((lo + hi) / 2 - 0.5), 0, heatSize - 1);
    const step = (tgtLen * k) / srcLen; // heat cells per photo pixel
    return clampedTriangleTaps(srcLen, (i) => (tgtPos + ((i + 0.5) * tgtLen) / srcLen) * k, step, first, last);
  };
  const tx = axis(heat.width, g.modelWidth, g.source.width, g.target.x, g.target.width);
  const ty = axis(heat.height, g.modelHeight, g.source.height, g.target.y, g.target.height);
  const sw = g.source.width;
  const hw = heat.width;
  // Rows first: every heat row resampled to the source width, then columns.
  const mid = new Float32Array(heat.height * sw);
  for (let r = 0; r < heat.height; r++) {
    for (let i = 0; i < sw; i++) {
      let s = 0;
      for (let j = 0; j < tx.k; j++) {
        const w = tx.weight[i * tx.k + j]!;
        if (w !== 0) s += heat.data[r * hw + tx.index[i * tx.k + j]!]! * w;
      }
      mid[r * sw + i] = s;
    }
  }
  const out = new Float32Array(W * H);
  for (let y = 0; y < g.source.height; y++) {
    const o = (g.source.y + y) * W + g.source.x;
    for (let j = 0; j < ty.k; j++) {
      const w = ty.weight[y * ty.k + j]!;
      if (w === 0) continue;
      const row = ty.index[y * ty.k + j]! * sw;
      for (let i = 0; i < sw; i++) out[o + i]! += mid[row + i]! * w;
    }
  }
  return { width: W, height: H, data: out };
}

/** Copies the pixels of `rect` (integer, inside the image) into a new image, with their alpha where the image has one. */
export function extractRect(img: RgbImage, rect: Rect): RgbImage {
  if (rect.x === 0 && rect.y === 0 && rect.width === img.width && rect.height === img.height) return img;
  const cut = (plane: Uint8Array, channels: number) => {
    const out = new Uint8Array(rect.width * rect.height * channels);
    for (let y = 0; y < rect.height; y++) {
      const from = ((rect.y + y) * img.width + rect.x) * channels;
      out.set(plane.subarray(from, from + rect.width * channels), y * rect.width * channels);
    }
    return out;
  };
  return { width: rect.width, height: rect.height, data: cut(img.data, 3), ...(img.alpha ? { alpha: cut(img.alpha, 1) } : {}) };
}

/** Writes `tile` into `canvas` with its top-left corner at (x, y), clipped to the canvas; its alpha too where both have one. */
export function pasteRgb(canvas: RgbImage, tile: RgbImage, x: number, y: number): void {
  const x0 = Math.max(0, x);
  const x1 = Math.min(canvas.width, x + tile.width);
  if (x1 <= x0) return;
  const paste = (to: Uint8Array, from: Uint8Array, channels: number) => {
    for (let ty = Math.max(0, -y); ty < tile.height && y + ty < canvas.height; ty++) {
      const start = (ty * tile.width + (x0 - x)) * channels;
      to.set(from.subarray(start, start + (x1 - x0) * channels), ((y + ty) * canvas.width + x0) * channels);
    }
  };
  paste(canvas.data, tile.data, 3);
  if (canvas.alpha && tile.alpha) paste(canvas.alpha, tile.alpha, 1);
}

function clampInt(v: number, lo: number, hi: number): number {
  return Math.min(Math.max(v, lo), hi);
}
