/**
 * What path methods share (RSI-Grad-CAM, and the Integrated Gradients family): the
 * baseline x' (given, or the black image of the model's preprocessing from the pipeline),
 * the straight path x_i = x' + (i/m)(x - x') or the caller's own points, their checks, and
 * running one image's points through a session in batches.
 */
import { OptionError } from '../errors.js';
import type { BuiltSession, Pipeline } from './pipeline.js';
import { assertFinite } from './pipeline.js';
import {
  ruleWeights, uniformAlphas, pathPoint, captumQuadrature, MAX_STEPS, CAPTUM_RULES, STIELTJES_RULES, StieltjesAccumulator, checkSteps,
  type CaptumRule, type StieltjesRule,
} from './quadrature.js';
import type { MethodCapabilities, OptionInfo } from './method.js';
import { runBatches, type Evaluations } from './runner.js';
import type { EngineSession, FloatTensor } from '../engine/runtime/runtime.js';
import { BASELINE_NAMES } from '../image/preprocess.js';

export interface PathOptions {
  /** Intervals m of the path (m + 1 points), at most MAX_STEPS. Default 50. */
  steps?: number;
  /** x', already preprocessed: one for all images or one per image. Default: the pipeline's black image. */
  baseline?: Float32Array | Float32Array[];
  /** A custom path per image: inputs from the baseline (first) to the image (last). Overrides steps and baseline. */
  paths?: Float32Array[][];
  /** Riemann-Stieltjes rule. Default 'trapezoid'. */
  rule?: StieltjesRule;
}

/** The option names of PathOptions, for a path method's capabilities. */
export const PATH_OPTIONS: readonly (keyof PathOptions)[] = ['steps', 'baseline', 'paths', 'rule'];

export const DEFAULT_STEPS = 50;

/** How a form or command line sets the path options (paths are for programs only). */
export const PATH_OPTION_INFO: Readonly<Record<string, OptionInfo>> = {
  steps: { description: 'path intervals m (m + 1 points)', type: 'integer', default: DEFAULT_STEPS, min: 1, max: MAX_STEPS },
  rule: { description: 'Riemann-Stieltjes rule', type: 'choice', default: 'trapezoid', choices: STIELTJES_RULES },
  baseline: { description: "x': the black image (after the model's preprocessing), the image blurred, or an image", type: 'baseline', default: 'black', choices: BASELINE_NAMES },
};

/** The options of the Captum-style path methods (ig, layer-ig): steps, baseline, and Captum's rule. */
export interface CaptumPathOptions {
  /** m: the integral is taken at m + 1 points. Default 50. */
  steps?: number;
  /** x', preprocessed: one for all images or one per image. Default: the black image. */
  baseline?: Float32Array | Float32Array[];
  /** Captum's approximation method. Default 'gauss-legendre' (Captum's default). */
  rule?: CaptumRule;
}

/** The capabilities of a Captum-style path method. */
export function captumPathCapabilities(label: string): MethodCapabilities {
  return {
    label,
    usesBaseline: true,
    hasCompleteness: true,
    options: ['steps', 'baseline', 'rule'],
    optionInfo: {
      steps: PATH_OPTION_INFO.steps!,
      baseline: PATH_OPTION_INFO.baseline!,
      rule: { description: "Captum's approximation method", type: 'choice', default: 'gauss-legendre', choices: CAPTUM_RULES },
    },
    defaultScore: 'logit',
  };
}

/** Checks a Captum-style path method's steps and rule. */
export function checkCaptumPath(o: CaptumPathOptions): void {
  if (o.steps !== undefined) checkSteps(o.steps);
  if (o.rule !== undefined && !CAPTUM_RULES.includes(o.rule)) throw new OptionError(`rule must be one of ${CAPTUM_RULES.join(', ')}, got '${String(o.rule)}'`);
}

/** Captum's points and step sizes for a Captum-style path method's options (n = steps + 1). */
export function captumPoints(o: CaptumPathOptions): { alphas: number[]; stepSizes: number[] } {
  return captumQuadrature(o.rule ?? 'gauss-legendre', (o.steps ?? DEFAULT_STEPS) + 1);
}

/** Checks steps and rule before any work. */
export function checkPathOptions(o: PathOptions): void {
  if (o.steps !== undefined) checkSteps(o.steps);
  ruleWeights(o.rule ?? 'trapezoid');
}

/** One image's path: `points` inputs from the baseline (first) to the image (last). */
export interface InputPath {
  points: number;
  /** Point i's position: alpha_i (0 = baseline, 1 = image); i / (points - 1) for the caller's own points. */
  alpha(i: number): number;
  /** Writes point i into `out` at `offset`. */
  write(i: number, out: Float32Array, offset: number): void;
}

/** Each image's path: the caller's points, or the straight path from its baseline. All checked before any work. */
export function inputPaths(pipeline: Pipeline, images: readonly Float32Array[], o: PathOptions): InputPath[] {
  const per = pipeline.imageSize();
  if (o.paths) {
    if (o.paths.length !== images.length) throw new OptionError(`paths: ${o.paths.length} given for ${images.length} images`);
    return o.paths.map((path, img) => {
      if (path.length < 2) throw new OptionError(`paths[${img}] needs at least 2 points (baseline and image)`);
      if (path.length > MAX_STEPS + 1) throw new OptionError(`paths[${img}] has ${path.length} points; at most ${MAX_STEPS + 1}`);
      path.forEach((pt, i) => {
        if (pt.length !== per) throw new OptionError(`paths[${img}][${i}] has ${pt.length} values; expected ${per}`);
        assertFinite(pt, `paths[${img}][${i}]`);
      });
      return { points: path.length, alpha: (i) => i / (path.length - 1), write: (i, out, offset) => out.set(path[i]!, offset) };
    });
  }
  const alphas = uniformAlphas(o.steps ?? DEFAULT_STEPS);
  return images.map((x, img) => straightPath(baselineFor(pipeline, o.baseline, img, images.length), x, alphas));
}

/** The points x' + alpha (x - x') for the given alphas. */
export function straightPath(baseline: Float32Array, x: Float32Array, alphas: readonly number[]): InputPath {
  return { points: alphas.length, alpha: (i) => alphas[i]!, write: (i, out, offset) => pathPoint(baseline, x, alphas[i]!, out, offset) };
}

/** Image `i`'s baseline: one for all, one per image, or the pipeline's default (the black image). */
export function baselineFor(pipeline: Pipeline, b: PathOptions['baseline'], i: number, count: number): Float32Array {
  let base: Float32Array | undefined;
  if (Array.isArray(b)) {
    if (b.length !== count) throw new OptionError(`baseline: ${b.length} given for ${count} images`);
    base = b[i];
  } else base = b ?? pipeline.defaultBaseline();
  const per = pipeline.imageSize();
  if (!base || base.length !== per) throw new OptionError(`baseline has ${base?.length ?? 0} values; the model input has ${per}`);
  assertFinite(base, 'baseline');
  return base;
}

/**
 * Runs one image's path points through `session` in batches of `batchSize`, all with the
 * same target row (over the scored output), handing each batch's outputs (items [start, start + n)) to `take`.
 */
export function runPath(
  pipeline: Pipeline,
  session: EngineSession,
  path: InputPath,
  target: Float32Array,
  batchSize: number,
  fetch: string[],
  evaluations: Evaluations,
  take: (out: Record<string, FloatTensor>, start: number, n: number) => void,
): Promise<number> {
  const per = pipeline.imageSize();
  return runBatches(
    session,
    {
      count: path.points,
      batchSize,
      source: pipeline.model.source,
      fetch,
      feeds: (start, n) => {
        const input = new Float32Array(n * per);
        for (let j = 0; j < n; j++) path.write(start + j, input, j * per);
        return pipeline.feeds(pipeline.batchTensor(input, n), new Array<Float32Array>(n).fill(target), target.length);
      },
      take,
    },
    evaluations,
  );
}

/** Completeness of attributions summing to `sum` for a score change `delta`: the error and its size relative to |delta|. */
export function completeness(sum: number, delta: number): { completenessError: number; relativeCompletenessError: number } {
  const error = sum - delta;
  return { completenessError: error, relativeCompletenessError: delta !== 0 ? Math.abs(error) / Math.abs(delta) : Math.abs(error) === 0 ? 0 : Infinity };
}

/** What one image's path gave at one layer. */
export interface LayerPathSums {
  /** sum_i rule(g_i, g_(i+1)) (A_(i+1) - A_i), element-wise. */
  sum: Float64Array;
  /** The same sums of named transforms of g (weightings' integrands). */
  integrals: Record<string, Float64Array>;
  /** The running total of `sum` after each point. */
  runningSum: number[];
  /** A at the first point (the baseline) and the last (the image). */
  a0: Float32Array;
  aX: Float32Array;
  /**
   * Per stride asked for: the same sums over every stride-th point and the last (stride 2: the
   * path at m/2 steps, for an error estimate), with their running totals by point index.
   */
  coarse: CoarsePathSums[];
}

/** The sums of a path over every `stride`-th of its points (and the last). */
export interface CoarsePathSums {
  stride: number;
  sum: Float64Array;
  integrals: Record<string, Float64Array>;
  runningSum: Map<number, number>;
}

/**
 * Streams one image's path through `session` (a graph exposing and differentiating `layers`,
 * outputs in `outputs`), accumulating per layer the Riemann-Stieltjes sums of `rule` (and of
 * each integrand). Returns them with the points' alphas and scores.
 */
export async function layerPathSums(
  pipeline: Pipeline,
  built: BuiltSession,
  path: InputPath,
  target: Float32Array,
  sizes: readonly number[],
  rule: StieltjesRule,
  batchSize: number,
  evaluations: Evaluations,
  integrands: Record<string, (g: number) => number> = {},
  strides: readonly number[] = [],
): Promise<{ layers: LayerPathSums[]; alphas: number[]; scores: number[] }> {
  const { session, outputs } = built;
  const n = path.points;
  const accumulators = (size: number) => ({
    sum: new StieltjesAccumulator(size, rule),
    extra: Object.entries(integrands).map(([name, f]) => [name, new StieltjesAccumulator(size, rule, f)] as const),
  });
  const acc = sizes.map((size) => ({
    size,
    ...accumulators(size),
    coarse: strides.map((stride) => ({ stride, ...accumulators(size), runningSum: new Map<number, number>() })),
    runningSum: [] as number[],
    a0: new Float32Array(0),
    aX: new Float32Array(0),
  }));
  const alphas: number[] = [];
  const scores: number[] = [];
  const fetch = [...outputs.activations, ...outputs.gradients, outputs.score!];
  await runPath(pipeline, session, path, target, batchSize, fetch, evaluations, (r, start, count) => {
    const s = r[outputs.score!]!.data;
    for (let j = 0; j < count; j++) {
      alphas.push(path.alpha(start + j));
      scores.push(s[j]!);
    }
    acc.forEach((L, li) => {
      const a = r[outputs.activations[li]!]!.data;
      const g = r[outputs.gradients[li]!]!.data;
      for (let j = 0; j < count; j++) {
        L.sum.add(a, g, j * L.size);
        for (const [, x] of L.extra) x.add(a, g, j * L.size);
        L.runningSum.push(L.sum.total);
        const i = start + j;
        for (const c of L.coarse) {
          if (i % c.stride !== 0 && i !== n - 1) continue;
          c.sum.add(a, g, j * L.size);
          for (const [, x] of c.extra) x.add(a, g, j * L.size);
          c.runningSum.set(i, c.sum.total);
        }
        if (start + j === 0) L.a0 = a.slice(0, L.size);
        if (start + j === n - 1) L.aX = a.slice(j * L.size, (j + 1) * L.size);
      }
    });
  });
  return {
    layers: acc.map((L) => ({
      sum: L.sum.sum,
      integrals: Object.fromEntries(L.extra.map(([name, x]) => [name, x.sum])),
      runningSum: L.runningSum,
      a0: L.a0,
      aX: L.aX,
      coarse: L.coarse.map((c) => ({ stride: c.stride, sum: c.sum.sum, integrals: Object.fromEntries(c.extra.map(([name, x]) => [name, x.sum])), runningSum: c.runningSum })),
    })),
    alphas,
    scores,
  };
}

/** Sum of a tensor's values (in float64). */
export function total(t: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < t.length; i++) s += t[i]!;
  return s;
}
