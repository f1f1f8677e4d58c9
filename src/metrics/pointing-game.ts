/**
 * The pointing game (Zhang, Bargal, Lin, Brandt, Shen, Sclaroff, "Top-down Neural Attention
 * by Excitation Backprop", ECCV 2016 / IJCV 2018, section 5.1): a hit when the heatmap's
 * maximum lies on an annotated instance of the class, with a 15-pixel tolerance (the paper's
 * protocol; here in pixels of the heatmap's frame, the model input). Accuracy = hits / images.
 *
 * When several pixels share the maximum (a constant or all-zero map above all), the score is
 * the fraction of those pixels that hit, so it is 1 or 0 for a unique maximum and, for a
 * constant map, the share of the image within the tolerance of a box.
 */
import type { Box } from '../image/types.js';
import { OptionError } from '../errors.js';
import { boxMask } from './boxes.js';

export const POINTING_TOLERANCE = 15;

export function pointingGame(heatmap: ArrayLike<number>, width: number, height: number, boxes: readonly Box[], tolerance = POINTING_TOLERANCE): number {
  if (heatmap.length !== width * height) throw new OptionError(`pointing game: heatmap has ${heatmap.length} values for ${width}x${height}`);
  if (!(tolerance >= 0)) throw new OptionError(`pointing game tolerance must be >= 0, got ${tolerance}`);
  const mask = boxMask(boxes, width, height, tolerance);
  let max = -Infinity;
  for (let i = 0; i < heatmap.length; i++) if (heatmap[i]! > max) max = heatmap[i]!;
  let at = 0;
  let hits = 0;
  for (let i = 0; i < heatmap.length; i++) {
    if (heatmap[i] === max) {
      at++;
      hits += mask[i]!;
    }
  }
  return at ? hits / at : 0;
}
