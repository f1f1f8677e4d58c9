/**
 * HiResCAM (Draelos and Carin, 2020): element-wise cam = ReLU(sum_k g_k * A_k), which is
 * faithful to the model for architectures ending in global average pooling and a linear layer.
 */
import { channelSum, spatialMean } from './cam.js';
import { GradientCam, type GradientMaps } from './gradient-cam.js';
import { gradientCapabilities } from './method.js';

export class HiResCam extends GradientCam {
  readonly name = 'hirescam';
  static readonly capabilities = gradientCapabilities('HiResCAM');
  override readonly capabilities = HiResCam.capabilities;

  protected maps(a: Float32Array, g: Float32Array, channels: number, hw: number): GradientMaps {
    const weighted = g.map((v, i) => v * a[i]!);
    return { weights: spatialMean(g, channels, hw), cam: channelSum(weighted, channels, hw), weighted };
  }
}
