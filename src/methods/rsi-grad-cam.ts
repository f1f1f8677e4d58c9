/**
 * RSI-Grad-CAM (Lucas, Lerma, Furst, Raicu, arXiv 2205.10900, 2022): Grad-CAM with the
 * gradient at one point replaced by a Riemann-Stieltjes integral of d score / d A along the
 * path x_i = x' + (i/m)(x - x'), i = 0..m. The points run in batches through one session
 * (forward to the output, backward only down to the layer) and the sum is accumulated as
 * they stream out.
 */
import { OptionError } from '../errors.js';
import { BaseCam, type LayerResult, type MethodContext } from './base-cam.js';
import { StieltjesAccumulator, pathPoint, ruleWeights, uniformAlphas, type StieltjesRule } from './quadrature.js';
import type { CommonOptions } from './types.js';
import { DEFAULT_WEIGHTING, weightingSpec, type Weighting } from './weightings.js';

export { WEIGHTINGS, DEFAULT_WEIGHTING, type Weighting } from './weightings.js';

export interface RsiGradCamOptions extends CommonOptions {
  /** Intervals m of the path (m + 1 points). Default 50. */
  steps?: number;
  /** x', already preprocessed: one for all images or one per image. Default: the pipeline's black image. */
  baseline?: Float32Array | Float32Array[];
  /** A custom path per image: inputs from the baseline (first) to the image (last). Overrides steps and baseline. */
  paths?: Float32Array[][];
  /** Riemann-Stieltjes rule. Default 'trapezoid'. */
  rule?: StieltjesRule;
  /** Channel weighting: a name in WEIGHTINGS (src/methods/weightings.ts). Default DEFAULT_WEIGHTING. */
  weighting?: Weighting | (string & {});
  /** Also return the element-wise IG at the layer (`integratedGradients` on each result). */
  returnAttributions?: boolean;
}

export class RsiGradCam extends BaseCam<RsiGradCamOptions> {
  readonly name = 'rsi-grad-cam';
  protected readonly defaultScore = 'softmax' as const;

  /** Black image through the model's preprocessing, set by whoever knows the preprocessing. */
  defaultBaseline?: Float32Array;

  protected override validate(o: RsiGradCamOptions): void {
    if (o.steps !== undefined) uniformAlphas(o.steps);
    ruleWeights(o.rule ?? 'trapezoid');
    if (o.weighting !== undefined) weightingSpec(o.weighting);
  }

  protected async run(ctx: MethodContext<RsiGradCamOptions>): Promise<LayerResult[]> {
    const p = this.pipeline;
    const { images, targets, layer, channels, hw, options } = ctx;
    const per = p.imageSize();
    const paths = options.paths;
    if (paths && paths.length !== images.length) throw new OptionError(`paths: ${paths.length} given for ${images.length} images`);
    const steps = options.steps ?? 50;
    const alphas = uniformAlphas(steps);
    const baselines = paths ? [] : images.map((_, i) => this.baselineFor(options.baseline, i, images.length, per));
    const { session, outputs } = await p.session(this.sessionFor(layer, ctx.scoreMode));
    const size = channels * hw;
    const weighting = weightingSpec(options.weighting ?? DEFAULT_WEIGHTING);
    const rule = options.rule ?? 'trapezoid';
    const totalPoints = images.reduce((n, _, i) => n + (paths ? paths[i]!.length : alphas.length), 0);
    let done = 0;
    const results: LayerResult[] = [];

    for (let img = 0; img < images.length; img++) {
      const t0 = performance.now();
      const points = paths ? paths[img]! : alphas;
      if (points.length < 2) throw new OptionError(`paths[${img}] needs at least 2 points (baseline and image)`);
      const n = points.length;
      const batch = p.batchSize(options, n);
      const ig = new StieltjesAccumulator(size, rule);
      const extra = Object.entries(weighting.integrands ?? {}).map(([name, f]) => [name, new StieltjesAccumulator(size, rule, f)] as const);
      let a0: Float32Array | undefined;
      let aX: Float32Array | undefined;
      let s0 = 0;
      let sX = 0;
      const trace = { alphas: [] as number[], scores: [] as number[], runningSum: [] as number[] };
      for (let start = 0; start < n; start += batch) {
        const count = Math.min(batch, n - start);
        const input = new Float32Array(count * per);
        for (let j = 0; j < count; j++) {
          const pt = points[start + j]!;
          if (typeof pt === 'number') pathPoint(baselines[img]!, images[img]!, pt, input, j * per);
          else {
            if (pt.length !== per) throw new OptionError(`paths[${img}][${start + j}] has ${pt.length} values; expected ${per}`);
            input.set(pt, j * per);
          }
        }
        const r = await session.run(
          p.feeds({ data: input, dims: [count, ...p.model.inputShape.slice(1) as number[]] }, new Array(count).fill(targets[img]!)),
          [outputs.activations[0]!, outputs.gradients[0]!, outputs.score!],
        );
        const a = r[outputs.activations[0]!]!.data;
        const g = r[outputs.gradients[0]!]!.data;
        const s = r[outputs.score!]!.data;
        for (let j = 0; j < count; j++) {
          const i = start + j;
          ig.add(a, g, j * size);
          for (const [, acc] of extra) acc.add(a, g, j * size);
          const pt = points[i]!;
          trace.alphas.push(typeof pt === 'number' ? pt : i / (n - 1));
          trace.scores.push(s[j]!);
          trace.runningSum.push(ig.total);
          if (i === 0) {
            a0 = a.slice(0, size);
            s0 = s[0]!;
          }
          if (i === n - 1) {
            aX = a.slice(j * size, (j + 1) * size);
            sX = s[j]!;
          }
        }
        done += count;
        options.onProgress?.(done, totalPoints);
      }
      let total = 0;
      for (const v of ig.sum) total += v;
      const delta = sX - s0;
      const error = total - delta;
      const igF = Float32Array.from(ig.sum);
      const weights = weighting.weights({
        ig: igF,
        integrals: Object.fromEntries(extra.map(([name, acc]) => [name, Float32Array.from(acc.sum)])),
        activations: aX!,
        baselineActivations: a0!,
        channels,
        hw,
      });
      results.push({
        activations: aX!,
        weights,
        score: sX,
        ms: performance.now() - t0,
        extra: {
          completenessError: error,
          relativeCompletenessError: delta !== 0 ? Math.abs(error) / Math.abs(delta) : Math.abs(error) === 0 ? 0 : Infinity,
          baselineScore: s0,
          steps: n - 1,
          pathTrace: trace,
          ...(options.returnAttributions ? { integratedGradients: igF } : {}),
        },
      });
    }
    return results;
  }

  private baselineFor(b: RsiGradCamOptions['baseline'], i: number, count: number, per: number): Float32Array {
    let base: Float32Array | undefined;
    if (Array.isArray(b)) {
      if (b.length !== count) throw new OptionError(`baseline: ${b.length} given for ${count} images`);
      base = b[i];
    } else base = b ?? this.defaultBaseline;
    if (!base) throw new OptionError("baseline: the model's preprocessing is unknown, so the black-image baseline cannot be made; pass a baseline");
    if (base.length !== per) throw new OptionError(`baseline has ${base.length} values; the model input has ${per}`);
    return base;
  }
}
