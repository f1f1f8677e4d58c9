/**
 * What path methods share (RSI-Grad-CAM, and the Integrated Gradients family): the
 * baseline x' (given, or the black image of the model's preprocessing from the pipeline),
 * the straight path x_i = x' + (i/m)(x - x') or the caller's own points, their checks, and
 * running one image's points through a session in batches.
 */
import { OptionError } from '../errors.js';
import type { Pipeline } from './pipeline.js';
import { assertFinite } from './pipeline.js';
import { ruleWeights, uniformAlphas, pathPoint, MAX_STEPS, STIELTJES_RULES, checkSteps, type StieltjesRule } from './quadrature.js';
import type { OptionInfo } from './method.js';
import { runBatches, type Evaluations } from './runner.js';
import type { EngineSession, FloatTensor } from '../engine/runtime/runtime.js';

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
  baseline: { description: "x': the black image (after the model's preprocessing), the image blurred, or an image", type: 'baseline', default: 'black', choices: ['black', 'blur'] },
};

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
