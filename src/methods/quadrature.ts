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

/**
 * Captum's approximation methods (captum/attr/_utils/approximation_methods.py), by the names
 * the CLI takes: `trapezoid`, `left`, `right`, `middle` (riemann_*) and `gauss-legendre`.
 */
export type CaptumRule = 'trapezoid' | 'left' | 'right' | 'middle' | 'gauss-legendre';
export const CAPTUM_RULES: readonly CaptumRule[] = ['gauss-legendre', 'trapezoid', 'left', 'right', 'middle'];

/**
 * The n points (alphas in [0, 1]) and step sizes of a rule, exactly as Captum builds them.
 * Captum's Riemann step sizes are 1/n each (the trapezoid halves the two ends), so they sum
 * to 1 (to 1 - 1/n for the trapezoid, whose points are spaced 1/(n - 1)): kept, since results
 * are to match Captum's.
 */
export function captumQuadrature(rule: CaptumRule, n: number): { alphas: number[]; stepSizes: number[] } {
  if (!Number.isSafeInteger(n) || n < 2) throw new OptionError(`a quadrature needs at least 2 points, got ${n}`);
  const linspace = (a: number, b: number) => Array.from({ length: n }, (_, i) => a + ((b - a) * i) / (n - 1));
  if (rule === 'gauss-legendre') {
    const { nodes, weights } = gaussLegendre(n);
    return { alphas: nodes.map((x) => 0.5 * (1 + x)), stepSizes: weights.map((w) => 0.5 * w) };
  }
  const stepSizes = new Array<number>(n).fill(1 / n);
  switch (rule) {
    case 'trapezoid':
      stepSizes[0] = stepSizes[n - 1] = 1 / (2 * n);
      return { alphas: linspace(0, 1), stepSizes };
    case 'left':
      return { alphas: linspace(0, 1 - 1 / n), stepSizes };
    case 'right':
      return { alphas: linspace(1 / n, 1), stepSizes };
    case 'middle':
      return { alphas: linspace(1 / (2 * n), 1 - 1 / (2 * n)), stepSizes };
    default:
      throw new OptionError(`rule must be one of ${CAPTUM_RULES.join(', ')}, got '${String(rule)}'`);
  }
}

/** Gauss-Legendre nodes (ascending, in [-1, 1]) and weights for n points (numpy's leggauss). */
export function gaussLegendre(n: number): { nodes: number[]; weights: number[] } {
  const nodes = new Array<number>(n);
  const weights = new Array<number>(n);
  for (let i = 0; i < Math.ceil(n / 2); i++) {
    // Newton's method on P_n from the usual first guess; P_n by its three-term recurrence.
    let x = Math.cos((Math.PI * (i + 0.75)) / (n + 0.5));
    let dp = 0;
    for (let iter = 0; iter < 100; iter++) {
      let p0 = 1;
      let p1 = x;
      for (let k = 2; k <= n; k++) [p0, p1] = [p1, ((2 * k - 1) * x * p1 - (k - 1) * p0) / k];
      const pn = n === 1 ? x : p1;
      const pm = n === 1 ? 1 : p0;
      dp = (n * (x * pn - pm)) / (x * x - 1);
      const dx = pn / dp;
      x -= dx;
      if (Math.abs(dx) < 1e-15) break;
    }
    const w = 2 / ((1 - x * x) * dp * dp);
    nodes[i] = -x;
    nodes[n - 1 - i] = x;
    weights[i] = weights[n - 1 - i] = w;
  }
  return { nodes, weights };
}
