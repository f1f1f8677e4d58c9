/**
 * Layer Conductance (Dhamdhere et al. 2018), element-wise, as Captum's `LayerConductance`
 * with uniform points: along x_i = x' + (i/m)(x - x'), i = 0..m, the left Riemann-Stieltjes
 * sum sum_(i<m) g_i (A_(i+1) - A_i) at the layer (g = d score / d A). Attributions at the
 * layer's shape [C, H, W]; cam = their channel sum.
 */
import { BaseCam, type CamLayer, type ImageResult, type MethodContext } from './base-cam.js';
import { attributionMaps } from './cam.js';
import type { MethodCapabilities } from './method.js';
import { checkSteps } from './quadrature.js';
import { completeness, inputPaths, layerPathSums, total, DEFAULT_STEPS, PATH_OPTION_INFO } from './path.js';
import type { CommonOptions } from './types.js';

export interface ConductanceOptions extends CommonOptions {
  /** m: m + 1 points. Default 50. */
  steps?: number;
  /** x', preprocessed: one for all images or one per image. Default: the black image. */
  baseline?: Float32Array | Float32Array[];
}

export class Conductance extends BaseCam<ConductanceOptions> {
  readonly name = 'conductance';
  static readonly capabilities: MethodCapabilities = {
    label: 'Layer Conductance',
    usesBaseline: true,
    hasCompleteness: true,
    options: ['steps', 'baseline'],
    optionInfo: { steps: PATH_OPTION_INFO.steps!, baseline: PATH_OPTION_INFO.baseline! },
    defaultScore: 'logit',
  };
  readonly capabilities = Conductance.capabilities;

  protected override validate(o: ConductanceOptions): void {
    if (o.steps !== undefined) checkSteps(o.steps);
  }

  protected override plannedEvaluations(images: readonly Float32Array[], _layers: CamLayer[], o: ConductanceOptions): number {
    return images.length * ((o.steps ?? DEFAULT_STEPS) + 1);
  }

  protected async run(ctx: MethodContext<ConductanceOptions>): Promise<ImageResult[]> {
    const p = this.pipeline;
    const { images, targets, layers, options } = ctx;
    const paths = inputPaths(p, images, { steps: options.steps, baseline: options.baseline });
    const built = await p.session(this.sessionFor(layers, ctx.score));
    const results: ImageResult[] = [];
    for (const [img, path] of paths.entries()) {
      const t0 = performance.now();
      const sums = await layerPathSums(p, built, path, targets[img]!.row, layers.map((L) => L.channels * L.hw), 'left', p.batchSize(options, path.points), ctx.evaluations);
      const s0 = sums.scores[0]!;
      const sX = sums.scores[path.points - 1]!;
      const maps = sums.layers.map((L, li) => {
        const { channels, height, width } = layers[li]!;
        const m = attributionMaps(L.aX, Float32Array.from(L.sum), channels, height, width);
        return { ...m, extra: { ...m.extra, ...completeness(total(L.sum), sX - s0) } };
      });
      results.push({ layers: maps, score: sX, ms: performance.now() - t0, extra: { baselineScore: s0, steps: path.points - 1 } });
    }
    return results;
  }
}
