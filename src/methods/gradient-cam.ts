/**
 * The frame of single-point gradient CAMs (Grad-CAM, Grad-CAM++, XGrad-CAM, LayerCAM,
 * HiResCAM): one forward + backward at the image, batched over images, then a method-specific
 * map from (A, dS/dA) to channel weights or to the cam itself, at each layer.
 */
import { BaseCam, type ImageResult, type MethodContext } from './base-cam.js';
import { gradientCapabilities, type MethodCapabilities } from './method.js';
import { range, runBatches } from './runner.js';
import type { CommonOptions } from './types.js';

/** What a gradient CAM computes from one image's A and g ([C, H*W] each). */
export interface GradientMaps {
  weights: Float32Array;
  /** Element-wise methods give the cam directly (before the final ReLU)... */
  cam?: Float32Array;
  /** ...and the [C, H*W] products it sums (for eigen smoothing). */
  weighted?: Float32Array;
}

export abstract class GradientCam<O extends CommonOptions = CommonOptions> extends BaseCam<O> {
  readonly capabilities: MethodCapabilities = gradientCapabilities('gradient CAM');

  /** Channel weights (or the cam) from activations `a` and gradients `g` of one image. */
  protected abstract maps(a: Float32Array, g: Float32Array, channels: number, hw: number): GradientMaps;

  protected async run(ctx: MethodContext<O>): Promise<ImageResult[]> {
    const p = this.pipeline;
    const { images, targets, layers, options } = ctx;
    const { session, outputs } = await p.session(this.sessionFor(layers, ctx.score));
    const width = p.model.scoreWidth(ctx.score);
    const results: ImageResult[] = [];
    const ms = await runBatches(
      session,
      {
        count: images.length,
        batchSize: p.batchSize(options, images.length),
        fetch: [...outputs.activations, ...outputs.gradients, outputs.score!],
        feeds: (start, n) => {
          const idx = range(start, start + n);
          return p.feeds(p.stack(images, idx), idx.map((i) => targets[i]!.row), width);
        },
        take: (r, _start, n) => {
          const s = r[outputs.score!]!.data;
          for (let j = 0; j < n; j++) {
            const maps = layers.map((L, li) => {
              const per = L.channels * L.hw;
              const a = r[outputs.activations[li]!]!.data.slice(j * per, (j + 1) * per);
              const m = this.maps(a, r[outputs.gradients[li]!]!.data.subarray(j * per, (j + 1) * per), L.channels, L.hw);
              return { activations: a, weights: m.weights, cam: m.cam, weighted: m.weighted };
            });
            results.push({ layers: maps, score: s[j]!, ms: 0 });
          }
        },
      },
      ctx.evaluations,
    );
    for (const r of results) r.ms = ms / images.length;
    return results;
  }
}
