/**
 * Class sensitivity: does the map change when another class is explained on the same image?
 * A map that shows the same place whatever class it is asked about explains the input (or
 * what the layer finds salient in it), not the class. Rebuffi, Fong, Ji and Vedaldi ("There
 * and Back Again: Revisiting Backpropagation Saliency Methods", CVPR 2020) introduced a
 * class-sensitivity metric of this kind, comparing a method's maps for different classes of
 * one image. Here the comparison is the rank correlation between the heatmap for the
 * explained class and the heatmap for another class of the same image, for two other classes:
 *
 * - `second`: the most probable class other than the target (the runner-up when the target
 *   is the top-1 class): the hardest case, a class the model also sees in the image;
 * - `random`: a class drawn uniformly, with a seed, from the classes other than the target
 *   and `second`.
 *
 * The value is Spearman's rho between the two heatmaps (the same statistic as the sanity
 * check's): 1 when the maps rank the pixels alike, 0 for unrelated maps, negative when the
 * other class's map favours what the target's avoids. Lower is more class-sensitive. A
 * constant map (the final ReLU left nothing) shares no ranking with the other: 0, as in the
 * sanity check.
 */
import { Prng } from '../prng.js';
import { OptionError } from '../errors.js';
import { spearman } from './spearman.js';

/** The classes whose maps are compared with the target's. */
export interface ContrastClasses {
  /** The most probable class other than the target. */
  second: number;
  /** A seeded uniform draw among the remaining classes (`second` again when only two classes exist). */
  random: number;
}

/** The two comparison classes for an image, from its class probabilities. */
export function contrastClasses(probabilities: ArrayLike<number>, target: number, seed: number): ContrastClasses {
  const k = probabilities.length;
  if (k < 2) throw new OptionError(`class sensitivity needs at least 2 classes; the model has ${k}`);
  if (!Number.isInteger(target) || target < 0 || target >= k) throw new OptionError(`class sensitivity: target ${target} is out of range (0-${k - 1})`);
  let second = -1;
  for (let c = 0; c < k; c++) {
    if (c !== target && (second < 0 || probabilities[c]! > probabilities[second]!)) second = c;
  }
  if (k === 2) return { second, random: second };
  // Uniform over the k - 2 classes left: draw an index, then skip the two taken ones.
  let random = new Prng(seed ^ 0x2c1b3c6d).int(0, k - 3);
  for (const taken of [target, second].sort((a, b) => a - b)) if (random >= taken) random++;
  return { second, random };
}

/** Spearman's rho between the target's heatmap and another class's (0 when either is constant). */
export function classSensitivity(targetMap: ArrayLike<number>, otherMap: ArrayLike<number>): number {
  const rho = spearman(targetMap, otherMap);
  return Number.isFinite(rho) ? rho : 0;
}
