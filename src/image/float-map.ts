/** Helpers on single-channel float maps (heatmaps). */
import { halfPixelTaps } from './resample.js';
import type { FloatMap } from './types.js';

/**
 * Bilinear resize with the half-pixel convention (source x = (x + 0.5) * in/out - 0.5,
 * clamped at the edges), the same as PyTorch's F.interpolate(mode='bilinear',
 * align_corners=False, antialias=False), OpenCV's INTER_LINEAR and TF's
 * resize_bilinear(half_pixel_centers=True). No antialiasing: meant for enlarging heatmaps.
 */
export function resizeBilinear(map: FloatMap, width: number, height: number): FloatMap {
  checkMap(map);
  const tx = halfPixelTaps(map.width, width);
  const ty = halfPixelTaps(map.height, height);
  const src = map.data;
  const out = new Float32Array(width * height);
  const W = map.width;
  for (let y = 0; y < height; y++) {
    const r0 = ty.i0[y]! * W;
    const r1 = ty.i1[y]! * W;
    const wy = ty.w[y]!;
    for (let x = 0; x < width; x++) {
      const a = tx.i0[x]!;
      const b = tx.i1[x]!;
      const wx = tx.w[x]!;
      const top = src[r0 + a]! + (src[r0 + b]! - src[r0 + a]!) * wx;
      const bot = src[r1 + a]! + (src[r1 + b]! - src[r1 + a]!) * wx;
      out[y * width + x] = top + (bot - top) * wy;
    }
  }
  return { width, height, data: out };
}

/**
 * Min-max normalisation to [0, 1]. A constant map (all zero included) becomes all zero, never
 * NaN; NaN entries are treated as 0 in the output and ignored for the range.
 */
export function normalizeMinMax(map: FloatMap): FloatMap {
  let lo = Infinity;
  let hi = -Infinity;
  for (const v of map.data) {
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  const out = new Float32Array(map.data.length);
  const range = hi - lo;
  if (range > 0 && Number.isFinite(range)) {
    for (let i = 0; i < out.length; i++) {
      const v = map.data[i]!;
      out[i] = Number.isNaN(v) ? 0 : (v - lo) / range;
    }
  }
  return { width: map.width, height: map.height, data: out };
}

/** Throws unless data length matches width*height (a programming error, not user input). */
export function checkMap(map: FloatMap): void {
  if (map.width < 1 || map.height < 1 || map.data.length !== map.width * map.height) {
    throw new RangeError(`float map ${map.width}x${map.height} has ${map.data.length} values`);
  }
}
