/**
 * The frame of single-point gradient CAMs (Grad-CAM, Grad-CAM++, XGrad-CAM, LayerCAM,
 * HiResCAM): one forward + backward at the image, batched over images, then a method-specific
 * map from (A, dS/dA) to channel weights or to the cam itself, at each layer.
 */
import { BaseCam, type ImageResult, type MethodContext } from './base-cam.js';
import { gradientCapabilities, type MethodCapabilities } from './method.js';
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

  protected run(ctx: MethodContext<O>): Promise<ImageResult[]> {
    return this.runAtImages(ctx, (a, g, L) => {
      const m = this.maps(a, g!, L.channels, L.hw);
      return { activations: a, weights: m.weights, cam: m.cam, weighted: m.weighted };
    });
  }
}
