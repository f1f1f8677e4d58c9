/**
 * XGrad-CAM (Fu et al., BMVC 2020): w_k = sum_ij (A_kij / sum_ab A_kab) * g_kij,
 * the activation-weighted average of the gradient.
 */
import { GradientCam, type GradientMaps } from './gradient-cam.js';
import { gradientCapabilities } from './method.js';

export class XGradCam extends GradientCam {
  readonly name = 'xgradcam';
  static readonly capabilities = gradientCapabilities('XGrad-CAM');
  override readonly capabilities = XGradCam.capabilities;

  protected maps(a: Float32Array, g: Float32Array, channels: number, hw: number): GradientMaps {
    const weights = new Float32Array(channels);
    for (let k = 0; k < channels; k++) {
      let num = 0;
      let den = 0;
      for (let j = 0; j < hw; j++) {
        num += a[k * hw + j]! * g[k * hw + j]!;
        den += a[k * hw + j]!;
      }
      weights[k] = num / (den + 1e-7);
    }
    return { weights };
  }
}
