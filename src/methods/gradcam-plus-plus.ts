/**
 * Grad-CAM++ (Chattopadhyay et al., WACV 2018), in the closed form pytorch-grad-cam uses
 * (exponential of the score, so higher derivatives are powers of the first):
 * a_kij = g^2 / (2 g^2 + sum_ab A_kab * g^3), w_k = sum_ij a_kij * ReLU(g_kij).
 */
import { GradientCam, type GradientMaps } from './gradient-cam.js';
import { gradientCapabilities } from './method.js';

export class GradCamPlusPlus extends GradientCam {
  readonly name = 'gradcam++';
  static readonly capabilities = gradientCapabilities('Grad-CAM++');
  override readonly capabilities = GradCamPlusPlus.capabilities;

  protected maps(a: Float32Array, g: Float32Array, channels: number, hw: number): GradientMaps {
    const weights = new Float32Array(channels);
    for (let k = 0; k < channels; k++) {
      const base = k * hw;
      let sumA = 0;
      for (let j = 0; j < hw; j++) sumA += a[base + j]!;
      let w = 0;
      for (let j = 0; j < hw; j++) {
        const gk = g[base + j]!;
        if (gk === 0) continue;
        const g2 = gk * gk;
        const alpha = g2 / (2 * g2 + sumA * g2 * gk + 1e-6);
        if (gk > 0) w += alpha * gk;
      }
      weights[k] = w;
    }
    return { weights };
  }
}
