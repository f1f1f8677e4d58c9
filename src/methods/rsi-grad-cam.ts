/**
 * RSI-Grad-CAM (Lucas, Lerma, Furst, Raicu, arXiv 2205.10900, 2022): Grad-CAM with the
 * gradient at one point replaced by a Riemann-Stieltjes integral of d score / d A along the
 * path x_i = x' + (i/m)(x - x'), i = 0..m. The points run in batches through one session
 * (forward to the output, backward only down to the layers) and the sums are accumulated as
 * they stream out.
 */
import { BaseCam, type CamLayer, type ImageResult, type MethodContext } from './base-cam.js';
import type { MethodCapabilities } from './method.js';
import { checkPathOptions, completeness, inputPaths, layerPathSums, total, DEFAULT_STEPS, PATH_OPTIONS, PATH_OPTION_INFO, type PathOptions } from './path.js';
import type { CommonOptions } from './types.js';
import { DEFAULT_WEIGHTING, WEIGHTINGS, weightingSpec, type Weighting } from './weightings.js';

export { WEIGHTINGS, DEFAULT_WEIGHTING, type Weighting } from './weightings.js';

export interface RsiGradCamOptions extends CommonOptions, PathOptions {
  /** Channel weighting: a name in WEIGHTINGS (src/methods/weightings.ts). Default DEFAULT_WEIGHTING. */
  weighting?: Weighting | (string & {});
  /** Also return the element-wise IG at the layer (`integratedGradients` on each result). */
  returnAttributions?: boolean;
}

export class RsiGradCam extends BaseCam<RsiGradCamOptions> {
  readonly name = 'rsi-grad-cam';
  static readonly capabilities: MethodCapabilities = {
    label: 'RSI-Grad-CAM',
    usesBaseline: true,
    hasCompleteness: true,
    options: [...PATH_OPTIONS, 'weighting', 'returnAttributions'],
    optionInfo: {
      ...PATH_OPTION_INFO,
      weighting: { description: 'channel weights from the path integral', type: 'choice', default: DEFAULT_WEIGHTING, choices: WEIGHTINGS },
    },
    defaultScore: 'softmax',
  };
  readonly capabilities = RsiGradCam.capabilities;

  protected override validate(o: RsiGradCamOptions): void {
    checkPathOptions(o);
    if (o.weighting !== undefined) weightingSpec(o.weighting);
  }

  protected override plannedEvaluations(images: readonly Float32Array[], _layers: CamLayer[], o: RsiGradCamOptions): number {
    return o.paths ? o.paths.reduce((n, path) => n + path.length, 0) : images.length * ((o.steps ?? DEFAULT_STEPS) + 1);
  }

  protected async run(ctx: MethodContext<RsiGradCamOptions>): Promise<ImageResult[]> {
    const p = this.pipeline;
    const { images, targets, layers, options } = ctx;
    const paths = inputPaths(p, images, options);
    const built = await p.session(this.sessionFor(layers, ctx.score));
    const rule = options.rule ?? 'trapezoid';
    const weighting = weightingSpec(options.weighting ?? DEFAULT_WEIGHTING);
    const results: ImageResult[] = [];

    for (const [img, path] of paths.entries()) {
      const t0 = performance.now();
      const sizes = layers.map((L) => L.channels * L.hw);
      const sums = await layerPathSums(p, built, path, targets[img]!.row, sizes, rule, p.batchSize(options, path.points), ctx.evaluations, weighting.integrands);
      const { alphas, scores } = sums;
      const s0 = scores[0]!;
      const sX = scores[path.points - 1]!;
      const maps = sums.layers.map((L, li) => {
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
        return {
          activations: L.aX,
          weights,
          extra: {
            ...completeness(total(L.sum), sX - s0),
            pathTrace: { alphas, scores, runningSum: L.runningSum },
            ...(options.returnAttributions ? { integratedGradients: ig } : {}),
          },
        };
      });
      results.push({ layers: maps, score: sX, ms: performance.now() - t0, extra: { baselineScore: s0, steps: path.points - 1 } });
    }
    return results;
  }
}
