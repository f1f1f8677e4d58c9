/**
 * Layer Integrated Gradients, as Captum's `LayerIntegratedGradients`: the straight path in
 * the layer's activation space from A(x') to A(x), each point fed through the graph cut at
 * the layer (the rest of the model sees the image x), Captum's points and step sizes for
 * n = steps + 1 points: attributions = (A(x) - A(x')) * sum_i s_i d score / d A at A_i, at the
 * layer's shape [C, H, W]; delta = sum(attributions) - (F(x) - F(x')); cam = channel sum.
 */
import type { BuildOptions, ScoreSpec } from '../engine/model.js';
import { BaseCam, type CamLayer, type ImageResult, type LayerMaps, type MethodContext } from './base-cam.js';
import { attributionMaps } from './cam.js';
import type { MethodCapabilities } from './method.js';
import { baselineFor, captumPathCapabilities, captumPoints, checkCaptumPath, completeness, total, DEFAULT_STEPS, type CaptumPathOptions } from './path.js';
import { runBatches } from './runner.js';
import type { CommonOptions } from './types.js';

export interface LayerIntegratedGradientsOptions extends CommonOptions, CaptumPathOptions {}

export class LayerIntegratedGradients extends BaseCam<LayerIntegratedGradientsOptions> {
  readonly name = 'layer-ig';
  static readonly capabilities: MethodCapabilities = captumPathCapabilities('Layer Integrated Gradients');
  readonly capabilities = LayerIntegratedGradients.capabilities;

  protected override validate(o: LayerIntegratedGradientsOptions): void {
    checkCaptumPath(o);
  }

  /** A forward exposing the layers with the score: A(x), A(x'), F(x), F(x'). */
  protected override sessionFor(layers: CamLayer[], score: ScoreSpec): BuildOptions {
    return { expose: layers.map((l) => l.info.tensor), score };
  }

  protected override plannedEvaluations(images: readonly Float32Array[], layers: CamLayer[], o: LayerIntegratedGradientsOptions): number {
    return images.length * (2 + layers.length * ((o.steps ?? DEFAULT_STEPS) + 1));
  }

  protected async run(ctx: MethodContext<LayerIntegratedGradientsOptions>): Promise<ImageResult[]> {
    const p = this.pipeline;
    const model = p.model;
    const { images, targets, layers, options } = ctx;
    const { alphas, stepSizes } = captumPoints(options);
    const n = alphas.length;
    const width = model.scoreWidth(ctx.score);
    const baselines = images.map((_, i) => baselineFor(p, options.baseline, i, images.length));
    const expose = await p.session(this.sessionFor(layers, ctx.score));
    const results: ImageResult[] = [];
    for (const [img, x] of images.entries()) {
      const t0 = performance.now();
      const row = targets[img]!.row;
      // A(x), A(x') and the scores F(x), F(x') in one run.
      let acts: Float32Array[] = [];
      let scores: Float32Array = new Float32Array(2);
      await runBatches(
        expose.session,
        {
          count: 2,
          batchSize: 2,
          source: p.model.source,
          fetch: [...expose.outputs.activations, expose.outputs.score!],
          feeds: () => p.feeds(p.stack([x, baselines[img]!], [0, 1]), [row, row], width),
          take: (r) => {
            acts = expose.outputs.activations.map((name) => r[name]!.data);
            scores = r[expose.outputs.score!]!.data;
          },
        },
        ctx.evaluations,
      );
      const maps: LayerMaps[] = [];
      for (const [li, layer] of layers.entries()) {
        const per = layer.channels * layer.hw;
        const aX = acts[li]!.slice(0, per);
        const a0 = acts[li]!.slice(per, 2 * per);
        const fed = await p.session({ feed: layer.info.tensor, score: ctx.score, wrt: [layer.info.tensor] });
        const sum = new Float64Array(per);
        await runBatches(
          fed.session,
          {
            count: n,
            batchSize: p.batchSize(options, n),
            source: p.model.source,
            fetch: [fed.outputs.gradients[0]!],
            feeds: (start, count) => {
              const data = new Float32Array(count * per);
              for (let j = 0; j < count; j++) {
                const a = alphas[start + j]!;
                for (let e = 0; e < per; e++) data[j * per + e] = a0[e]! + a * (aX[e]! - a0[e]!);
              }
              return p.cutFeeds(fed, layer.info.tensor, { data, dims: [count, layer.channels, layer.height, layer.width] }, x, new Array<Float32Array>(count).fill(row));
            },
            take: (r, start, count) => {
              const g = r[fed.outputs.gradients[0]!]!.data;
              for (let j = 0; j < count; j++) {
                const w = stepSizes[start + j]!;
                for (let e = 0; e < per; e++) sum[e]! += w * g[j * per + e]!;
              }
            },
          },
          ctx.evaluations,
        );
        const attributions = Float32Array.from(sum, (v, e) => v * (aX[e]! - a0[e]!));
        const m = attributionMaps(aX, attributions, layer.channels, layer.height, layer.width);
        maps.push({ ...m, extra: { ...m.extra, ...completeness(total(attributions), scores[0]! - scores[1]!) } });
      }
      results.push({ layers: maps, score: scores[0]!, ms: performance.now() - t0, extra: { baselineScore: scores[1]!, steps: n - 1 } });
    }
    return results;
  }
}
