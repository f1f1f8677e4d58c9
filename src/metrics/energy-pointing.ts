/**
 * The energy-based pointing game (Wang, Wang, Du, Yang, Zhang, Ding, Mardziel, Hu,
 * "Score-CAM: Score-Weighted Visual Explanations for Convolutional Neural Networks",
 * CVPR Workshops 2020, section 5.2): the share of the heatmap's energy inside the
 * ground-truth boxes, sum_{inside} L / (sum_{inside} L + sum_{outside} L), with the union
 * of the boxes as the object region (a pixel is inside when its centre is). Higher is better.
 * An all-zero map (no energy) is scored as a constant one: the boxes' share of the image.
 */
import type { Box } from '../image/types.js';
import { OptionError } from '../errors.js';
import { boxMask } from './boxes.js';

export function energyPointingGame(heatmap: ArrayLike<number>, width: number, height: number, boxes: readonly Box[]): number {
  if (heatmap.length !== width * height) throw new OptionError(`energy pointing game: heatmap has ${heatmap.length} values for ${width}x${height}`);
  const mask = boxMask(boxes, width, height, 0);
  let inside = 0;
  let total = 0;
  let area = 0;
  for (let i = 0; i < heatmap.length; i++) {
    const v = heatmap[i]!;
    if (v < 0) throw new OptionError('energy pointing game: the heatmap has negative values');
    total += v;
    if (mask[i]) {
      inside += v;
      area++;
    }
  }
  return total > 0 ? inside / total : area / heatmap.length;
}
