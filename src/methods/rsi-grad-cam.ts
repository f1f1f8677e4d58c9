/**
 * RSI-Grad-CAM (Lucas, Lerma, Furst, Raicu, arXiv 2205.10900, 2022): Grad-CAM with the
 * gradient at one point replaced by a Riemann-Stieltjes integral of d score / d A along the
 * path x_i = x' + (i/m)(x - x'), i = 0..m. The points run in batches through one session
 * (forward to the output, backward only down to the layers) and the sums are accumulated as
 * they stream out.
 */
import { BaseCam, type CamLayer, type ImageResult, type MethodContext } from './base-cam.js';
import type { MethodCapabilities } from './method.js';
import { checkPathOptions, completeness, inputPaths, runPath, DEFAULT_STEPS, PATH_OPTIONS, PATH_OPTION_INFO, type PathOptions } from './path.js';
import { StieltjesAccumulator } from './quadrature.js';
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
    const { session, outputs } = await p.session(this.sessionFor(layers, ctx.score));
    const rule = options.rule ?? 'trapezoid';
    const weighting = weightingSpec(options.weighting ?? DEFAULT_WEIGHTING);
    const fetch = [...outputs.activations, ...outputs.gradients, outputs.score!];
    const results: ImageResult[] = [];

    for (const [img, path] of paths.entries()) {
      const t0 = performance.now();
      const n = path.points;
      const acc = layers.map((L) => {
        const size = L.channels * L.hw;
        return {
          size,
          ig: new StieltjesAccumulator(size, rule),
          extra: Object.entries(weighting.integrands ?? {}).map(([name, f]) => [name, new StieltjesAccumulator(size, rule, f)] as const),
          runningSum: [] as number[],
          a0: new Float32Array(0),
          aX: new Float32Array(0),
        };
      });
      const alphas: number[] = [];
      const scores: number[] = [];
      await runPath(p, session, path, targets[img]!.row, p.batchSize(options, n), fetch, ctx.evaluations, (r, start, count) => {
        const s = r[outputs.score!]!.data;
        for (let j = 0; j < count; j++) {
          alphas.push(path.alpha(start + j));
          scores.push(s[j]!);
        }
        acc.forEach((L, li) => {
          const a = r[outputs.activations[li]!]!.data;
          const g = r[outputs.gradients[li]!]!.data;
          for (let j = 0; j < count; j++) {
            L.ig.add(a, g, j * L.size);
            for (const [, x] of L.extra) x.add(a, g, j * L.size);
            L.runningSum.push(L.ig.total);
            if (start + j === 0) L.a0 = a.slice(0, L.size);
            if (start + j === n - 1) L.aX = a.slice(j * L.size, (j + 1) * L.size);
          }
        });
      });
      const s0 = scores[0]!;
      const sX = scores[n - 1]!;
      const delta = sX - s0;
      const maps = acc.map((L, li) => {
        let total = 0;
        for (const v of L.ig.sum) total += v;
        const ig = Float32Array.from(L.ig.sum);
        const { channels, hw } = layers[li]!;
        const weights = weighting.weights({
          ig,
          integrals: Object.fromEntries(L.extra.map(([name, x]) => [name, Float32Array.from(x.sum)])),
          activations: L.aX,
          baselineActivations: L.a0,
          channels,
          hw,
        });
        return {
          activations: L.aX,
          weights,
          extra: {
            ...completeness(total, delta),
            pathTrace: { alphas, scores, runningSum: L.runningSum },
            ...(options.returnAttributions ? { integratedGradients: ig } : {}),
          },
        };
      });
      results.push({ layers: maps, score: sX, ms: performance.now() - t0, extra: { baselineScore: s0, steps: n - 1 } });
    }
    return results;
  }
}
