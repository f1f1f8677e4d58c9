/**
 * RSI-Grad-CAM (Lucas, Lerma, Furst, Raicu, arXiv 2205.10900, 2022): Grad-CAM with the
 * gradient at one point replaced by a Riemann-Stieltjes integral of d score / d A along the
 * path x_i = x' + (i/m)(x - x'), i = 0..m. The points run in batches through one session
 * (forward to the output, backward only down to the layers) and the sums are accumulated as
 * they stream out. With steps 'auto' the path is refined where the heatmap needs it
 * (adaptive.ts); both give the same sums, from which the maps are made alike.
 */
import { BaseCam, type CamLayer, type ImageResult, type MethodContext } from './base-cam.js';
import { weightedChannelSum } from './cam.js';
import type { MethodCapabilities } from './method.js';
import {
  adaptivePathSums, checkAdaptiveOptions, halvesEstimate, ADAPTIVE_OPTIONS, ADAPTIVE_OPTION_INFO, DEFAULT_TOLERANCE, INITIAL_POINTS,
  type AdaptiveStepsOptions, type PathEstimate,
} from './adaptive.js';
import {
  baselineFor, checkPathOptions, completeness, inputPaths, layerPathSums, total, DEFAULT_STEPS, PATH_OPTIONS, PATH_OPTION_INFO, type LayerPathSums, type PathOptions,
} from './path.js';
import type { CommonOptions } from './types.js';
import { DEFAULT_WEIGHTING, WEIGHTINGS, weightingSpec, type Weighting, type WeightingSpec } from './weightings.js';

export { WEIGHTINGS, DEFAULT_WEIGHTING, type Weighting } from './weightings.js';

export interface RsiGradCamOptions extends CommonOptions, Omit<PathOptions, 'steps'>, AdaptiveStepsOptions {
  /** Channel weighting: a name in WEIGHTINGS (src/methods/weightings.ts). Default DEFAULT_WEIGHTING. */
  weighting?: Weighting | (string & {});
  /** Also return the element-wise IG at the layer (`integratedGradients` on each result). */
  returnAttributions?: boolean;
}

/** One image's path sums, fixed or adaptive, with what each reports. */
interface ImagePath {
  layers: (LayerPathSums & Partial<PathEstimate>)[];
  alphas: number[];
  scores: number[];
  ms: number;
  extra: Record<string, unknown>;
}

export class RsiGradCam extends BaseCam<RsiGradCamOptions> {
  readonly name = 'rsi-grad-cam';
  static readonly capabilities: MethodCapabilities = {
    label: 'RSI-Grad-CAM',
    usesBaseline: true,
    hasCompleteness: true,
    options: [...PATH_OPTIONS, 'weighting', 'returnAttributions', ...ADAPTIVE_OPTIONS],
    optionInfo: {
      ...PATH_OPTION_INFO,
      steps: { ...PATH_OPTION_INFO.steps!, keywords: ['auto'] },
      weighting: { description: 'channel weights from the path integral', type: 'choice', default: DEFAULT_WEIGHTING, choices: WEIGHTINGS },
      ...ADAPTIVE_OPTION_INFO,
    },
    defaultScore: 'softmax',
  };
  readonly capabilities = RsiGradCam.capabilities;

  protected override validate(o: RsiGradCamOptions): void {
    checkAdaptiveOptions(o);
    checkPathOptions({ rule: o.rule, steps: o.steps === 'auto' ? undefined : o.steps });
    if (o.weighting !== undefined) weightingSpec(o.weighting);
  }

  protected override plannedEvaluations(images: readonly Float32Array[], _layers: CamLayer[], o: RsiGradCamOptions): number {
    // 'auto': the first grid; each refinement round adds its points to the plan as it starts.
    if (o.steps === 'auto') return images.length * INITIAL_POINTS;
    return o.paths ? o.paths.reduce((n, path) => n + path.length, 0) : images.length * ((o.steps ?? DEFAULT_STEPS) + 1);
  }

  protected async run(ctx: MethodContext<RsiGradCamOptions>): Promise<ImageResult[]> {
    const { layers, options } = ctx;
    const built = await this.pipeline.session(this.sessionFor(layers, ctx.score));
    const weighting = weightingSpec(options.weighting ?? DEFAULT_WEIGHTING);
    const integrands = weighting.integrands ?? {};
    const names = Object.keys(integrands);
    const cam = (l: number, integrals: Float32Array[], aX: Float32Array, a0: Float32Array) => linearCam(weighting, names, layers[l]!, integrals, aX, a0);
    const rule = options.rule ?? 'trapezoid';
    const sizes = layers.map((L) => L.channels * L.hw);
    const p = this.pipeline;
    const paths: ImagePath[] = [];
    if (options.steps === 'auto') {
      const images = ctx.images.map((image, i) => ({ image, baseline: baselineFor(p, options.baseline, i, ctx.images.length), target: ctx.targets[i]!.row }));
      const refineLayers = layers.map((L, l) => ({ size: sizes[l]!, hw: L.hw }));
      for (const r of await adaptivePathSums(p, built, images, refineLayers, rule, options, ctx.evaluations, integrands, cam)) {
        paths.push({
          ...r,
          extra: { steps: r.evaluations - 1, evaluations: r.evaluations, estimatedError: r.estimatedError, tolerance: options.tolerance ?? DEFAULT_TOLERANCE, evaluationCapReached: r.capReached },
        });
      }
    } else {
      for (const [img, path] of inputPaths(p, ctx.images, { ...options, steps: options.steps }).entries()) {
        const t0 = performance.now();
        const sums = await layerPathSums(p, built, path, ctx.targets[img]!.row, sizes, rule, p.batchSize(options, path.points), ctx.evaluations, integrands, [2]);
        // m against m/2: the same estimate 'auto' makes per interval (none for one step).
        const estimates = sums.layers.map((L, l) => halvesEstimate(L, names, (integrals) => cam(l, integrals, L.aX, L.a0), sums.scores));
        const worst = Math.max(...estimates.map((e) => e?.estimatedError ?? NaN));
        paths.push({
          layers: sums.layers.map((L, l) => ({ ...L, ...estimates[l] })),
          alphas: sums.alphas,
          scores: sums.scores,
          ms: performance.now() - t0,
          extra: { steps: path.points - 1, evaluations: path.points, ...(Number.isNaN(worst) ? {} : { estimatedError: worst }) },
        });
      }
    }
    return paths.map((path) => this.maps(path, layers, weighting, options.returnAttributions));
  }

  /** One image's maps from its path sums: the weighting's channel weights per layer, completeness, the path trace, the estimates. */
  private maps(path: ImagePath, layers: CamLayer[], weighting: WeightingSpec, returnAttributions?: boolean): ImageResult {
    const { alphas, scores } = path;
    const s0 = scores[0]!;
    const sX = scores[scores.length - 1]!;
    const maps = path.layers.map((L, li) => {
      const ig = Float32Array.from(L.sum);
      const { channels, hw } = layers[li]!;
      const weights = weighting.weights({
        ig,
        integrals: Object.fromEntries(Object.entries(L.integrals).map(([name, x]) => [name, Float32Array.from(x)])),
        activations: L.aX,
        baselineActivations: L.a0,
        channels,
        hw,
      });
      const { estimatedError, estimatedHeatmapError, estimatedCompletenessError } = L;
      return {
        activations: L.aX,
        weights,
        extra: {
          ...completeness(total(L.sum), sX - s0),
          pathTrace: { alphas, scores, runningSum: L.runningSum },
          ...(estimatedError !== undefined ? { estimatedError, estimatedHeatmapError, estimatedCompletenessError } : {}),
          ...(returnAttributions ? { integratedGradients: ig } : {}),
        },
      };
    });
    return { layers: maps, score: sX, ms: path.ms, extra: { baselineScore: s0, ...path.extra } };
  }
}

/** sum_k w_k A_k(x) before the ReLU, for integrals (IG first, then the integrands): what the heatmap shows. */
function linearCam(weighting: WeightingSpec, names: string[], L: CamLayer, integrals: Float32Array[], aX: Float32Array, a0: Float32Array): Float32Array {
  const weights = weighting.weights({
    ig: integrals[0]!,
    integrals: Object.fromEntries(names.map((name, i) => [name, integrals[i + 1]!])),
    activations: aX,
    baselineActivations: a0,
    channels: L.channels,
    hw: L.hw,
  });
  return weightedChannelSum(aX, weights, L.channels, L.hw);
}
