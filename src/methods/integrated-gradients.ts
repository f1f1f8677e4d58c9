/**
 * Integrated Gradients (Sundararajan et al. 2017) at the input, as Captum's
 * `IntegratedGradients`: attributions = (x - x') * sum_i s_i g(x' + a_i (x - x')) with
 * Captum's points a_i and step sizes s_i (captumQuadrature) for n = steps + 1 points, and its
 * convergence delta sum(attributions) - (F(x) - F(x')) as the completeness error.
 */
import type { CamLayer, ImageResult, MethodContext } from './base-cam.js';
import { captumHeatmap } from './cam.js';
import { InputAttribution } from './input-attribution.js';
import type { MethodCapabilities } from './method.js';
import { baselineFor, captumPathCapabilities, captumPoints, checkCaptumPath, completeness, runPath, straightPath, type CaptumPathOptions } from './path.js';
import type { CommonOptions } from './types.js';

export interface IntegratedGradientsOptions extends CommonOptions, CaptumPathOptions {}

export class IntegratedGradients extends InputAttribution<IntegratedGradientsOptions> {
  readonly name = 'ig';
  static readonly capabilities: MethodCapabilities = { ...captumPathCapabilities('Integrated Gradients'), usesLayer: false, mapAt: 'input' };
  readonly capabilities = IntegratedGradients.capabilities;

  /** Drawn as Captum draws pixel attributions: a few outlier pixels saturate instead of darkening the rest. */
  protected override heatmap(cam: Float32Array, camShape: [number, number], size: [number, number]): Float32Array {
    return captumHeatmap(cam, camShape, size);
  }

  protected override validate(o: IntegratedGradientsOptions): void {
    checkCaptumPath(o);
  }

  /** The quadrature's points, then x' and x themselves when the rule does not evaluate them (for the delta). */
  private points(o: IntegratedGradientsOptions): { alphas: number[]; stepSizes: number[]; all: number[] } {
    const { alphas, stepSizes } = captumPoints(o);
    return { alphas, stepSizes, all: [...alphas, ...[0, 1].filter((a) => !alphas.includes(a))] };
  }

  protected override plannedEvaluations(images: readonly Float32Array[], _layers: CamLayer[], o: IntegratedGradientsOptions): number {
    return images.length * this.points(o).all.length;
  }

  protected async run(ctx: MethodContext<IntegratedGradientsOptions>): Promise<ImageResult[]> {
    const p = this.pipeline;
    const { images, targets, options } = ctx;
    const layer = ctx.layers[0]!;
    const { stepSizes, all } = this.points(options);
    const n = stepSizes.length;
    const baselines = images.map((_, i) => baselineFor(p, options.baseline, i, images.length));
    const { session, outputs } = await p.session(this.sessionFor(ctx.layers, ctx.score));
    const per = p.imageSize();
    const results: ImageResult[] = [];
    for (const [img, x] of images.entries()) {
      const t0 = performance.now();
      const total = new Float64Array(per);
      const scoreAt = new Map<number, number>();
      await runPath(p, session, straightPath(baselines[img]!, x, all), targets[img]!.row, p.batchSize(options, all.length), [outputs.gradients[0]!, outputs.score!], ctx.evaluations, (r, start, count) => {
        const g = r[outputs.gradients[0]!]!.data;
        const s = r[outputs.score!]!.data;
        for (let j = 0; j < count; j++) {
          const i = start + j;
          scoreAt.set(all[i]!, s[j]!);
          if (i >= n) continue;
          const w = stepSizes[i]!;
          for (let e = 0; e < per; e++) total[e]! += w * g[j * per + e]!;
        }
      });
      const base = baselines[img]!;
      const attributions = this.toChw(Float32Array.from(total, (v, e) => v * (x[e]! - base[e]!)));
      let sum = 0;
      for (const v of attributions) sum += v;
      const maps = this.attributionMaps(this.toChw(x), attributions, layer);
      maps.extra = { ...maps.extra, ...completeness(sum, scoreAt.get(1)! - scoreAt.get(0)!) };
      results.push({
        layers: [maps],
        score: scoreAt.get(1)!,
        ms: performance.now() - t0,
        extra: { baselineScore: scoreAt.get(0)!, steps: n - 1 },
      });
    }
    return results;
  }
}
