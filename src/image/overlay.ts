/** Alpha blending of a coloured heatmap over a photo. */
import { OptionError } from '../errors.js';
import { colorize, type ColormapName } from './colormap.js';
import { normalizeMinMax, resizeBilinear } from './float-map.js';
import type { FloatMap, RgbImage } from './types.js';

export interface OverlayOptions {
  /** Default 'jet'. */
  colormap?: ColormapName;
  /** Weight of the heatmap colour, 0-1; default 0.5. */
  alpha?: number;
  /**
   * Min-max normalise the heatmap first (default false: values are expected in [0, 1] and
   * clamped, so maps normalised together stay comparable).
   */
  normalize?: boolean;
}

/**
 * out = (1 - alpha) * photo + alpha * colour(heat), rounded. A heatmap of another size is
 * first resized to the photo (bilinear, half-pixel); the result has the photo's size.
 */
export function renderOverlay(photo: RgbImage, heat: FloatMap, options: OverlayOptions = {}): RgbImage {
  const alpha = options.alpha ?? 0.5;
  if (!(alpha >= 0 && alpha <= 1)) throw new OptionError(`overlay: alpha must be in [0, 1], got ${alpha}`);
  let map = heat.width === photo.width && heat.height === photo.height ? heat : resizeBilinear(heat, photo.width, photo.height);
  if (options.normalize) map = normalizeMinMax(map);
  const colour = colorize(map, options.colormap ?? 'jet');
  return { width: photo.width, height: photo.height, data: blend(photo.data, colour, alpha) };
}

/** (1 - alpha) * a + alpha * b per byte, rounded. */
export function blend(a: Uint8Array, b: Uint8Array, alpha: number): Uint8Array {
  if (a.length !== b.length) throw new RangeError(`blend: ${a.length} vs ${b.length} bytes`);
  const out = new Uint8Array(a.length);
  for (let i = 0; i < a.length; i++) out[i] = Math.round((1 - alpha) * a[i]! + alpha * b[i]!);
  return out;
}
