/**
 * The CLI's resize (sharp's `resize(w, h, { fit: 'fill', kernel: 'linear' })`) reimplemented
 * in plain TypeScript, so the page fits a photo to exactly the pixels the CLI fits it to.
 *
 * It mirrors what sharp 0.35.5's bundled libvips 8.18.7 does for 8-bit images, step by step
 * and in its integer arithmetic (each step rounds to bytes, as libvips' uchar pipeline does);
 * test/image/resize-vips.test.ts checks it against sharp, so a sharp upgrade that changes the
 * resize (libvips 8.19 moves the enlarging offset, for one) shows there:
 *  - sharp's pipeline (src/pipeline.cc): with an alpha channel, `premultiply()` (float) and
 *    `cast` back to uchar (truncating), resize, then `unpremultiply()` and `cast` again;
 *  - vips_resize (resample/resize.c): downsizing is vips_reducev, then vips_reduceh, each with
 *    the default gap 2: first an integer box shrink (vips_shrinkv / vips_shrinkh, `ceil`) by
 *    floor(in / out / 2), then the triangle kernel over the residual factor from fixed tables
 *    (1/64-pixel positions, 12-bit weights); upsizing is vips_affine with the bilinear
 *    interpolator (12-bit fixed point), edges extended by copying.
 * No Node imports: this is the browser page's path.
 */
import type { RgbImage } from './types.js';

/** VIPS_INTERPOLATE_SHIFT / VIPS_INTERPOLATE_SCALE: 12-bit fixed-point weights. */
const SHIFT = 12;
const SCALE = 1 << SHIFT;
/** VIPS_TRANSFORM_SCALE: mask tables at 1/64-pixel positions. */
const TSCALE = 64;
/** libvips' small-tile width (vips__tile_width). */
const TILE = 128;
/** vips__fatstrip_height: the height of the whole-width strips. */
const FATSTRIP = 16;
/** vips_resize's default reducing gap. */
const GAP = 2;

/**
 * Resizes `img` to width x height as sharp's linear-kernel `fill` resize does (the same
 * bytes in every case tested). A photo with an alpha plane is resized premultiplied as sharp
 * does.
 */
export function resizeRgbAsSharp(img: RgbImage, width: number, height: number): RgbImage {
  if (img.width === width && img.height === height) return { width, height, data: img.data.slice(), ...(img.alpha ? { alpha: img.alpha.slice() } : {}) };
  const bands = img.alpha ? 4 : 3;
  let plane: Plane = { width: img.width, height: img.height, bands, data: img.alpha ? premultiply(img.data, img.alpha) : img.data };
  // sharp: hshrink = in / out, then vips_resize(1 / hshrink, vscale 1 / vshrink); no axis below 1 px.
  const hscale = Math.max(1 / (img.width / width), 1 / img.width);
  const vscale = Math.max(1 / (img.height / height), 1 / img.height);
  // libvips makes the output in regions: whole-width strips, or 128 x 128 tiles once a
  // vertical box shrink (vips_shrinkv, which asks for small tiles) is in the pipeline; the
  // horizontal steps restart at each region's left edge, and their rounding shows.
  const tile = vscale < 1 && boxFactor(img.height, 1 / vscale) > 1 ? TILE : Infinity;
  if (vscale < 1) plane = reduce(plane, 1 / vscale, false, tile);
  if (hscale < 1) plane = reduce(plane, 1 / hscale, true, tile);
  if (hscale > 1 || vscale > 1) plane = affineBilinear(plane, hscale, vscale, tile);
  if (plane.width !== width || plane.height !== height) {
    throw new Error(`resizeRgbAsSharp: made ${plane.width}x${plane.height}, expected ${width}x${height}`);
  }
  if (!img.alpha) return { width, height, data: plane.data };
  return { width, height, ...unpremultiply(plane.data) };
}

/** 8-bit pixels, `bands` interleaved. */
interface Plane {
  width: number;
  height: number;
  bands: number;
  data: Uint8Array;
}

/**
 * vips_premultiply then a cast to uchar: colour * (float)(alpha / 255) in float32, truncated
 * (vips_cast does not round). RGBA interleaved.
 */
function premultiply(rgb: Uint8Array, alpha: Uint8Array): Uint8Array {
  // One table of the 256 x 256 products (a photo has millions of pixels).
  const table = new Uint8Array(256 * 256);
  for (let a = 0; a < 256; a++) {
    const f = Math.fround(a / 255);
    for (let c = 0; c < 256; c++) table[(a << 8) | c] = Math.fround(c * f);
  }
  const out = new Uint8Array(alpha.length * 4);
  for (let i = 0; i < alpha.length; i++) {
    const a = alpha[i]!;
    const row = a << 8;
    out[4 * i] = table[row | rgb[3 * i]!]!;
    out[4 * i + 1] = table[row | rgb[3 * i + 1]!]!;
    out[4 * i + 2] = table[row | rgb[3 * i + 2]!]!;
    out[4 * i + 3] = a;
  }
  return out;
}

/** vips_unpremultiply then a cast to uchar: colour * (float)(255 / alpha), truncated and clipped; 0 where alpha is 0. */
function unpremultiply(rgba: Uint8Array): { data: Uint8Array; alpha: Uint8Array } {
  const n = rgba.length / 4;
  const data = new Uint8Array(n * 3);
  const alpha = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    const a = rgba[4 * i + 3]!;
    alpha[i] = a;
    if (a === 0) continue;
    const f = Math.fround(255 / a);
    for (let c = 0; c < 3; c++) data[3 * i + c] = Math.min(255, Math.fround(f * rgba[4 * i + c]!));
  }
  return { data, alpha };
}

/**
 * vips_reducev (horizontal: vips_reduceh) by `shrink` >= 1 with the linear kernel and gap 2:
 * the integer box shrink first, then the triangle reduce over the residual factor.
 */
function reduce(p: Plane, shrink: number, horizontal: boolean, tile: number): Plane {
  const inSize = horizontal ? p.width : p.height;
  const outSize = reducedSize(inSize, shrink);
  let extra = outSize * shrink - inSize;
  let residual = shrink;
  const intShrink = boxFactor(inSize, shrink);
  if (intShrink > 1) {
    p = boxShrink(p, intShrink, horizontal);
    extra /= intShrink;
    residual /= intShrink;
  }
  if (residual === 1) return p;
  return reduceLinear(p, residual, extra, outSize, horizontal, tile);
}

/** vips_reduceh / vips_reducev's output size: "we need to always round to nearest, so round(), not rint()" (VIPS_ROUND_UINT). */
function reducedSize(inSize: number, shrink: number): number {
  return Math.floor(inSize / shrink + 0.5);
}

/** The integer box shrink vips_reduceh / vips_reducev do first: floor(in / out / gap), at least 1. */
function boxFactor(inSize: number, shrink: number): number {
  return Math.max(1, Math.floor(inSize / reducedSize(inSize, shrink) / GAP));
}

/**
 * vips_shrinkv / vips_shrinkh with `ceil`: the mean of each block of `f` pixels, the last
 * block padded by repeating the edge pixel, in libvips' uchar fixed point
 * (((sum + f / 2) * floor(2^32 / (256 f))) >> 24).
 */
function boxShrink(p: Plane, f: number, horizontal: boolean): Plane {
  const inSize = horizontal ? p.width : p.height;
  const outSize = Math.ceil(inSize / f);
  const amend = Math.floor(f / 2);
  // The product stays below 2^32, so doubles hold it exactly; / 2^24 is the >> 24.
  const multiplier = Math.floor(2 ** 32 / (256 * f)) / 16777216;
  // The same filter with weights 1 and the mean's fixed-point scaling at the end.
  const taps = new Int32Array(outSize * f);
  for (let o = 0; o < outSize; o++) for (let j = 0; j < f; j++) taps[o * f + j] = Math.min(o * f + j, inSize - 1);
  return filterAxis(p, outSize, f, taps, new Int32Array(outSize * f).fill(1), horizontal, { start: amend, multiplier });
}

/**
 * The triangle reduce of vips_reduceh_gen / vips_reducev_gen over the residual factor:
 * output o reads n = 2 rint(shrink) + 1 input pixels around X = (o + 0.5) shrink - 0.5 -
 * offset (offset centres the rounded output size), with the 12-bit mask for X's fraction
 * rounded to 1/64, edges extended by copying.
 */
function reduceLinear(p: Plane, shrink: number, extra: number, outSize: number, horizontal: boolean, tile: number): Plane {
  const inSize = horizontal ? p.width : p.height;
  const n = 2 * roundHalfEven(shrink) + 1;
  const offset = (1 + extra) / 2 - 1;
  const masks = Array.from({ length: TSCALE + 1 }, (_, t) => linearMask(n, shrink, Math.fround(t / TSCALE)));
  // vips_embed's extension above / left of the input.
  const pad = Math.ceil(n / 2) - 1;
  // Each output's first input position (taps clamped to the edge) and mask.
  const taps = new Int32Array(outSize * n);
  const weights = new Int32Array(outSize * n);
  // vips_reduceh_gen / vips_reducev_gen step X / Y by the shrink from each region's left /
  // top edge: regions are `tile` wide, and 128 (small tiles) or 16 (vips__fatstrip_height) tall.
  const regionSize = horizontal ? tile : tile === TILE ? TILE : FATSTRIP;
  let pos = 0;
  for (let o = 0; o < outSize; o++) {
    if (o % regionSize === 0) pos = (o + 0.5) * shrink - 0.5 - offset;
    else pos += shrink;
    const ip = Math.trunc(pos);
    const k = masks[((Math.trunc(pos * TSCALE * 2) & (TSCALE * 2 - 1)) + 1) >> 1]!;
    for (let i = 0; i < n; i++) {
      taps[o * n + i] = Math.min(Math.max(ip + i - pad, 0), inSize - 1);
      weights[o * n + i] = k[i]!;
    }
  }
  return filterAxis(p, outSize, n, taps, weights, horizontal, { start: SCALE >> 1 });
}

/**
 * Output o along the axis = finish(start + sum of weights[o n + i] * in[taps[o n + i]]): with
 * a multiplier, floor(sum * multiplier) (the box mean); without, sum >> 12 clipped to 0-255
 * (the reduce). Integer sums, as libvips' uchar paths.
 */
function filterAxis(
  p: Plane, outSize: number, n: number, taps: Int32Array, weights: Int32Array, horizontal: boolean, finish: { start: number; multiplier?: number },
): Plane {
  const { bands } = p;
  const src = p.data;
  const { start, multiplier = 0 } = finish;
  const byte = multiplier
    ? (sum: number): number => Math.floor(sum * multiplier)
    : (sum: number): number => {
      const v = sum >> SHIFT;
      return v < 0 ? 0 : v > 255 ? 255 : v;
    };
  if (!horizontal) {
    // Whole rows at a time (contiguous): weighted sum of n rows, then finish.
    const rowLen = p.width * bands;
    const dst = new Uint8Array(rowLen * outSize);
    const sum = new Int32Array(rowLen);
    for (let o = 0; o < outSize; o++) {
      sum.fill(start);
      for (let i = 0; i < n; i++) {
        const w = weights[o * n + i]!;
        if (w === 0) continue;
        const from = taps[o * n + i]! * rowLen;
        // Most of a large photo's time is here (the box shrink's rows): no multiply for weight 1.
        if (w === 1) for (let x = 0; x < rowLen; x++) sum[x]! += src[from + x]!;
        else for (let x = 0; x < rowLen; x++) sum[x]! += w * src[from + x]!;
      }
      const to = o * rowLen;
      if (multiplier) for (let x = 0; x < rowLen; x++) dst[to + x] = Math.floor(sum[x]! * multiplier);
      else for (let x = 0; x < rowLen; x++) dst[to + x] = byte(sum[x]!);
    }
    return { ...p, height: outSize, data: dst };
  }
  const dst = new Uint8Array(outSize * p.height * bands);
  for (let y = 0; y < p.height; y++) {
    const row = y * p.width * bands;
    const outRow = y * outSize * bands;
    for (let o = 0; o < outSize; o++) {
      for (let b = 0; b < bands; b++) {
        let sum = start;
        for (let i = 0; i < n; i++) sum += weights[o * n + i]! * src[row + taps[o * n + i]! * bands + b]!;
        dst[outRow + o * bands + b] = byte(sum);
      }
    }
  }
  return { ...p, width: outSize, data: dst };
}

/** calculate_coefficients (resample/templates.h) for the linear kernel, as 12-bit shorts (truncated). */
function linearMask(n: number, shrink: number, x: number): Int16Array {
  const half = x + n / 2 - 1;
  const c = new Float64Array(n);
  let sum = 0;
  for (let i = 0; i < n; i++) {
    const d = Math.abs((i - half) / shrink);
    c[i] = d < 1 ? 1 - d : 0;
    sum += c[i]!;
  }
  return Int16Array.from(c, (v) => Math.trunc((v / sum) * SCALE));
}

/** C's rint (round half to even). */
function roundHalfEven(v: number): number {
  const r = Math.round(v);
  return Math.abs(v % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/**
 * vips_resize's upsizing: vips_affine with the bilinear interpolator (BILINEAR_INT, 12-bit
 * fixed point) at scale (hscale, vscale), each axis that is not enlarged kept at 1, and the
 * input displaced by idx = idy = 0.5: output pixel x samples the input at x / scale - 0.5
 * (pixel-centre units), also on an axis kept at 1, which is thereby shifted by half a pixel.
 * Edges extended by copying.
 */
function affineBilinear(p: Plane, hscale: number, vscale: number, tile: number): Plane {
  const a = hscale > 1 ? hscale : 1;
  const d = vscale > 1 ? vscale : 1;
  // The input displacement 0.5 on both axes (8.18's vips_resize; 8.19 scales it), less the
  // one-pixel border vips_affine adds.
  const idx = 0.5 - 1;
  const idy = 0.5 - 1;
  // vips__transform_calc_inverse.
  const det = 1 / (a * d);
  const ia = det * d;
  const id = det * a;
  // vips__transform_set_area: the rounded size of the transformed input.
  const width = Math.round(p.width * a);
  const height = Math.round(p.height * d);
  const { bands } = p;
  const out = new Uint8Array(width * height * bands);
  // Columns (in the input, one-pixel border removed and clamped as the copy extension does) and weights.
  const x0 = new Int32Array(width);
  const x1 = new Int32Array(width);
  const fx = new Int32Array(width);
  let ix = 0;
  for (let x = 0; x < width; x++) {
    // vips_affine_gen starts each region's row at ia * left - idx and steps by ia.
    if (x % tile === 0) ix = ia * x - idx;
    const i = Math.trunc(ix);
    fx[x] = Math.trunc((ix - i) * SCALE);
    x0[x] = clamp(i - 1, p.width - 1) * bands;
    x1[x] = clamp(i, p.width - 1) * bands;
    ix += ia;
  }
  for (let y = 0; y < height; y++) {
    const iy = id * y - idy;
    const j = Math.trunc(iy);
    const Y = Math.trunc((iy - j) * SCALE);
    const Yd = SCALE - Y;
    const r0 = clamp(j - 1, p.height - 1) * p.width * bands;
    const r1 = clamp(j, p.height - 1) * p.width * bands;
    for (let x = 0; x < width; x++) {
      const X = fx[x]!;
      const c4 = (Y * X) >> SHIFT;
      const c2 = (Yd * X) >> SHIFT;
      const c3 = Y - c4;
      const c1 = Yd - c2;
      const q = (y * width + x) * bands;
      for (let b = 0; b < bands; b++) {
        out[q + b] = (c1 * p.data[r0 + x0[x]! + b]! + c2 * p.data[r0 + x1[x]! + b]! + c3 * p.data[r1 + x0[x]! + b]! + c4 * p.data[r1 + x1[x]! + b]! + (SCALE >> 1)) >> SHIFT;
      }
    }
  }
  return { width, height, bands, data: out };
}

function clamp(v: number, hi: number): number {
  return v < 0 ? 0 : v > hi ? hi : v;
}
