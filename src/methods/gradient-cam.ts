/**
 * The frame of single-point gradient CAMs (Grad-CAM, Grad-CAM++, XGrad-CAM, LayerCAM,
 * HiResCAM): one forward + backward at the image, batched over images, then a method-specific
 * map from (A, dS/dA) to channel weights or to the cam itself.
 */
import { BaseCam, type LayerResult, type MethodContext } from './base-cam.js';
import { range } from './pipeline.js';
import type { CommonOptions } from './types.js';

/** What a gradient CAM computes from one image's A and g ([C, H*W] each). */
export interface GradientMaps {
  weights: Float32Array;
  /** Element-wise methods give the cam directly (before the final ReLU). */
  cam?: Float32Array;
}

export abstract class GradientCam<O extends CommonOptions = CommonOptions> extends BaseCam<O> {
  protected readonly defaultScore = 'logit' as const;

  /** Channel weights (or the cam) from activations `a` and gradients `g` of one image. */
  protected abstract maps(a: Float32Array, g: Float32Array, channels: number, hw: number): GradientMaps;

  protected async run(ctx: MethodContext<O>): Promise<LayerResult[]> {
    const p = this.pipeline;
    const { images, targets, layer, channels, hw, options } = ctx;
    const { session, outputs } = await p.session(this.sessionFor(layer, ctx.scoreMode));
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
        const aj = a.slice(j * per, (j + 1) * per);
        const m = this.maps(aj, g.subarray(j * per, (j + 1) * per), channels, hw);
        results.push({ activations: aj, weights: m.weights, cam: m.cam, score: s[j]!, ms });
      });
      options.onProgress?.(results.length, images.length);
    }
    return results;
  }
}
