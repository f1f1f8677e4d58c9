/**
 * Grad-CAM (Selvaraju et al., 2017): w_k = spatial mean of d score / d A_k at the image;
 * cam = ReLU(sum_k w_k A_k). Score: the logit by default, as pytorch-grad-cam and Captum.
 */
import { BaseCam, type LayerResult, type MethodContext } from './base-cam.js';
import { range } from './pipeline.js';
import { spatialMean } from './cam.js';
import type { CommonOptions } from './types.js';

export type GradCamOptions = CommonOptions;

export class GradCam extends BaseCam<GradCamOptions> {
  readonly name = 'gradcam';
  protected readonly defaultScore = 'logit' as const;

  protected async run(ctx: MethodContext<GradCamOptions>): Promise<LayerResult[]> {
    const p = this.pipeline;
    const { images, targets, layer, channels, hw, options } = ctx;
    const { session, outputs } = await p.session({ expose: [layer.tensor], score: ctx.scoreMode, wrt: [layer.tensor] });
    const batch = p.batchSize(options, images.length);
    const per = channels * hw;
    const results: LayerResult[] = [];
    for (let start = 0; start < images.length; start += batch) {
      const t0 = performance.now();
      const idx = range(start, Math.min(images.length, start + batch));
      const r = await session.run(
        p.feeds(p.stack(images, idx), idx.map((i) => targets[i]!)),
        [outputs.activations[0]!, outputs.gradients[0]!, outputs.score!],
      );
      const a = r[outputs.activations[0]!]!.data;
      const g = r[outputs.gradients[0]!]!.data;
      const s = r[outputs.score!]!.data;
      const ms = (performance.now() - t0) / idx.length;
      idx.forEach((_, j) => {
        results.push({
          activations: a.slice(j * per, (j + 1) * per),
          weights: spatialMean(g, channels, hw, j * per),
          score: s[j]!,
          ms,
        });
      });
      options.onProgress?.(results.length, images.length);
    }
    return results;
  }
}
