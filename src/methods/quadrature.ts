/**
 * Paths and Riemann-Stieltjes rules shared by path methods (Captum keeps its quadrature
 * rules in one module too). A rule turns the gradients at two neighbouring path points into
 * the gradient used across that interval: IG += rule(g_i, g_(i+1)) * (A_(i+1) - A_i).
 */
import { OptionError } from '../errors.js';

export type StieltjesRule = 'trapezoid' | 'left' | 'right';
export const STIELTJES_RULES: readonly StieltjesRule[] = ['trapezoid', 'left', 'right'];

/** Weights (on g_i, on g_(i+1)) of a rule. */
export function ruleWeights(rule: StieltjesRule): [number, number] {
  switch (rule) {
    case 'trapezoid':
      return [0.5, 0.5];
    case 'left':
      return [1, 0];
    case 'right':
      return [0, 1];
    default:
      throw new OptionError(`rule must be one of ${STIELTJES_RULES.join(', ')}, got '${String(rule)}'`);
  }
}

/** The most path intervals a method takes: beyond it the cost (and memory) is out of proportion to any gain. */
export const MAX_STEPS = 10_000;

/** Refuses a `steps` that is not an integer in [1, MAX_STEPS]. */
export function checkSteps(steps: number): void {
  if (!Number.isSafeInteger(steps) || steps < 1 || steps > MAX_STEPS) {
    throw new OptionError(`steps must be an integer from 1 to ${MAX_STEPS}, got ${steps}`);
  }
}

/** a_i = i / m for i = 0..m: the straight path from the baseline (0) to the image (1). */
export function uniformAlphas(steps: number): number[] {
  checkSteps(steps);
  return Array.from({ length: steps + 1 }, (_, i) => i / steps);
}

/** x' + a (x - x') written into `out`. */
export function pathPoint(baseline: Float32Array, image: Float32Array, alpha: number, out: Float32Array, offset = 0): void {
  for (let j = 0; j < image.length; j++) out[offset + j] = baseline[j]! + alpha * (image[j]! - baseline[j]!);
}

/**
 * Streaming Riemann-Stieltjes sum: feed path points in order, one at a time; only the
 * previous point's activations and gradients are kept, so memory does not grow with m.
 */
export class StieltjesAccumulator {
  /** Element-wise sum so far. */
  readonly sum: Float64Array;
  private prevA?: Float32Array;
  private prevG?: Float32Array;
  private readonly wPrev: number;
  private readonly wCur: number;
  /** Points seen. */
  count = 0;
  /** Sum over all elements so far: the running total that completeness compares with the score change. */
  total = 0;

  constructor(
    size: number,
    rule: StieltjesRule,
    /** Applied to each gradient before use (e.g. ReLU for the relu-grad variant). */
    private readonly transform?: (g: number) => number,
  ) {
    this.sum = new Float64Array(size);
    [this.wPrev, this.wCur] = ruleWeights(rule);
  }

  /** Add a point's activations `a` and gradients `g` (read from `offset`, length `size`). */
  add(a: Float32Array, g: Float32Array, offset = 0): void {
    const n = this.sum.length;
    const t = this.transform;
    const pa = this.prevA;
    const pg = this.prevG;
    if (pa && pg) {
      const s = this.sum;
      const wp = this.wPrev;
      const wc = this.wCur;
      let step = 0;
      for (let e = 0; e < n; e++) {
        const gp = t ? t(pg[e]!) : pg[e]!;
        const gc = t ? t(g[offset + e]!) : g[offset + e]!;
        const d = (wp * gp + wc * gc) * (a[offset + e]! - pa[e]!);
        s[e]! += d;
        step += d;
      }
      this.total += step;
    }
    this.prevA = a.slice(offset, offset + n);
    this.prevG = g.slice(offset, offset + n);
    this.count++;
  }
}
