/**
 * Completeness of path methods (Sundararajan, Taly, Yan, "Axiomatic Attribution for Deep
 * Networks", ICML 2017, "completeness"; used by RSI-Grad-CAM, Lucas et al. 2022): the
 * integrated gradients at the layer sum to s(x) - s(x'). A Riemann-Stieltjes sum with m
 * intervals misses by the completeness error sum(IG) - (s(x) - s(x')), which should shrink
 * as m grows; the metric is |error| (and |error| / |s(x) - s(x')|) against m.
 */

/** Default step counts m of the convergence study. */
export const COMPLETENESS_STEPS: readonly number[] = [8, 16, 32, 64, 128];

/** One image's |error| and relative |error| at one m. */
export interface CompletenessPoint {
  steps: number;
  absError: number;
  relError: number;
}

export function completenessPoint(steps: number, error: number, relative: number | undefined): CompletenessPoint {
  return { steps, absError: Math.abs(error), relError: Math.abs(relative ?? NaN) };
}
