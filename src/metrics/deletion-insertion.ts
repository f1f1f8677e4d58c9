/**
 * Deletion and insertion (Petsiuk, Das, Saenko, "RISE: Randomized Input Sampling for
 * Explanation of Black-box Models", BMVC 2018, section 4.1).
 *
 * Pixels are taken in order of decreasing heatmap value. Deletion starts from the image and
 * replaces them, a fraction 1/S at a time, by a baseline (here the black image after
 * preprocessing; the RISE code uses a zero tensor); a good map makes the class probability
 * fall fast, so a LOW area under the curve is better. Insertion starts from a blurred copy of
 * the image and puts the original pixels back in the same order; a HIGH area is better.
 * The curve has S + 1 points, at x_i = i / S of the pixels moved (pixel counts rounded),
 * and its area is the trapezoid rule over x in [0, 1], as RISE's `auc`:
 * (sum(y) - y_0 / 2 - y_S / 2) / S.
 */
import { OptionError } from '../errors.js';
import { checkPixelMap, checkTensor, copyPixel, pixelCount, type TensorLayout } from './tensor-image.js';

/** Pixels moved after step i of S: round(i * n / S). */
export function stepCounts(pixels: number, steps: number): number[] {
  if (!Number.isInteger(steps) || steps < 1) throw new OptionError(`deletion/insertion steps must be a positive integer, got ${steps}`);
  return Array.from({ length: steps + 1 }, (_, i) => Math.round((i * pixels) / steps));
}

/**
 * The S + 1 inputs of a causal curve: `start` with the first counts[i] pixels of `order`
 * taken from `finish` (point 0 is `start`, point S is `finish` wherever `order` reaches).
 * Deletion: start = image, finish = baseline. Insertion: start = blurred image, finish = image.
 */
export function causalCurveInputs(
  start: Float32Array, finish: Float32Array, order: ArrayLike<number>, steps: number, layout: TensorLayout,
): Float32Array[] {
  checkTensor(start, layout, 'curve start');
  checkTensor(finish, layout, 'curve finish');
  checkPixelMap(order, layout, 'pixel order');
  const counts = stepCounts(pixelCount(layout), steps);
  const cur = start.slice();
  const out: Float32Array[] = [cur.slice()];
  for (let i = 1; i <= steps; i++) {
    for (let k = counts[i - 1]!; k < counts[i]!; k++) copyPixel(cur, finish, layout, order[k]!);
    out.push(cur.slice());
  }
  return out;
}

/** Area under a curve sampled at S + 1 equally spaced x in [0, 1] (trapezoid rule). */
export function curveAuc(y: readonly number[]): number {
  if (y.length < 2) throw new OptionError(`curve AUC needs at least 2 points, got ${y.length}`);
  let s = 0;
  for (const v of y) s += v;
  return (s - y[0]! / 2 - y[y.length - 1]! / 2) / (y.length - 1);
}
