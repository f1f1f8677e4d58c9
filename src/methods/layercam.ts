/**
 * LayerCAM (Jiang et al., IEEE TIP 2021): element-wise cam = ReLU(sum_k ReLU(g_k) * A_k);
 * the reported channel weights are the spatial means of ReLU(g).
 */
import { spatialMean } from './cam.js';
import { GradientCam, type GradientMaps } from './gradient-cam.js';
import { gradientCapabilities } from './method.js';

export class LayerCam extends GradientCam {
  readonly name = 'layercam';
  static readonly capabilities = gradientCapabilities('LayerCAM');
  override readonly capabilities = LayerCam.capabilities;

  protected maps(a: Float32Array, g: Float32Array, channels: number, hw: number): GradientMaps {
    const relu = g.map((v) => (v > 0 ? v : 0));
    return { weights: spatialMean(relu, channels, hw), cam: elementwiseCam(a, relu, channels, hw) };
  }
}

/** sum_k m_k * A_k per position (before the final ReLU). */
export function elementwiseCam(a: Float32Array, m: Float32Array, channels: number, hw: number): Float32Array {
  const cam = new Float32Array(hw);
  for (let k = 0; k < channels; k++) for (let j = 0; j < hw; j++) cam[j]! += m[k * hw + j]! * a[k * hw + j]!;
  return cam;
}
