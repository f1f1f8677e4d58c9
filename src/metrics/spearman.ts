/**
 * Spearman's rank correlation: the Pearson correlation of the two maps' fractional ranks (ties
 * share the average rank). Used by the sanity check (Adebayo et al., "Sanity Checks for
 * Saliency Maps", NeurIPS 2018), which compares a method's maps before and after the
 * model's weights are randomised.
 */
import { OptionError } from '../errors.js';
import { averageRanks } from './ranking.js';

/** rho in [-1, 1]; NaN when either map is constant (no ranking to correlate). */
export function spearman(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new OptionError(`spearman: maps of ${a.length} and ${b.length} values`);
  return pearson(averageRanks(a), averageRanks(b));
}

/** Pearson's correlation; NaN when either sample has zero variance. */
export function pearson(a: ArrayLike<number>, b: ArrayLike<number>): number {
  const n = a.length;
  let ma = 0;
  let mb = 0;
  for (let i = 0; i < n; i++) {
    ma += a[i]!;
    mb += b[i]!;
  }
  ma /= n;
  mb /= n;
  let sab = 0;
  let saa = 0;
  let sbb = 0;
  for (let i = 0; i < n; i++) {
    const da = a[i]! - ma;
    const db = b[i]! - mb;
    sab += da * db;
    saa += da * da;
    sbb += db * db;
  }
  if (saa === 0 || sbb === 0) return NaN;
  return Math.max(-1, Math.min(1, sab / Math.sqrt(saa * sbb)));
}
