/**
 * LayerCAM (Jiang et al., IEEE TIP 2021): element-wise cam = ReLU(sum_k ReLU(g_k) * A_k);
 * the reported channel weights are the spatial means of ReLU(g).
 */
import { channelSum, spatialMean } from './cam.js';
import { GradientCam, type GradientMaps } from './gradient-cam.js';
import { gradientCapabilities } from './method.js';

export class LayerCam extends GradientCam {
  readonly name = 'layercam';
  static readonly capabilities = gradientCapabilities('LayerCAM');
  override readonly capabilities = LayerCam.capabilities;

  protected maps(a: Float32Array, g: Float32Array, channels: number, hw: number): GradientMaps {
    const relu = g.map((v) => (v > 0 ? v : 0));
    const weighted = relu.map((v, i) => v * a[i]!);
    return { weights: spatialMean(relu, channels, hw), cam: channelSum(weighted, channels, hw), weighted };
  }
}
