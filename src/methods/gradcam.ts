/**
 * Grad-CAM (Selvaraju et al., ICCV 2017): w_k = spatial mean of d score / d A_k at the image;
 * cam = ReLU(sum_k w_k A_k). Score: the logit by default, as pytorch-grad-cam and Captum.
 */
import { spatialMean } from './cam.js';
import { GradientCam, type GradientMaps } from './gradient-cam.js';
import { gradientCapabilities } from './method.js';
import type { CommonOptions } from './types.js';

export type GradCamOptions = CommonOptions;

export class GradCam extends GradientCam<GradCamOptions> {
  readonly name = 'gradcam';
  static readonly capabilities = gradientCapabilities('Grad-CAM');
  override readonly capabilities = GradCam.capabilities;

  protected maps(_a: Float32Array, g: Float32Array, channels: number, hw: number): GradientMaps {
    return { weights: spatialMean(g, channels, hw) };
  }
}
