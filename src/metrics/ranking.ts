/** Orderings and ranks of heatmap pixels, shared by the perturbation metrics and Spearman's rho. */
import { Prng } from '../prng.js';

/**
 * Pixel indices from the most to the least salient (descending heatmap value). Ties (e.g. the
 * zeros a ReLU leaves) are broken by a seeded random permutation rather than raster order, so
 * an uninformative map removes pixels at random instead of top rows first; the same seed
 * gives the same order, so methods compared on one image share the tie-breaking.
 */
export function salienceOrder(heatmap: ArrayLike<number>, seed = 0): Uint32Array {
  const n = heatmap.length;
  const rng = new Prng(seed);
  const key = new Uint32Array(n);
  for (let i = 0; i < n; i++) key[i] = rng.nextU32();
  const idx = Array.from({ length: n }, (_, i) => i);
  idx.sort((a, b) => heatmap[b]! - heatmap[a]! || key[a]! - key[b]! || a - b);
  return Uint32Array.from(idx);
}

/** Ranks 1..n of the values, ties given the average of the ranks they span (fractional ranking). */
export function averageRanks(values: ArrayLike<number>): Float64Array {
  const n = values.length;
  const idx = Array.from({ length: n }, (_, i) => i).sort((a, b) => values[a]! - values[b]!);
  const ranks = new Float64Array(n);
  for (let i = 0; i < n; ) {
    let j = i;
    while (j + 1 < n && values[idx[j + 1]!] === values[idx[i]!]) j++;
    const r = (i + j) / 2 + 1;
    for (let k = i; k <= j; k++) ranks[idx[k]!] = r;
    i = j + 1;
  }
  return ranks;
}
