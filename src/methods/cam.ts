/** The CAM arithmetic shared by the methods: weighted channel sums, heatmaps, predictions. */
import { normalizeMinMax, resizeBilinear } from '../image/float-map.js';
import type { Prediction } from './types.js';

/** cam = ReLU(sum_k w_k A_k) for activations `a` [C, H*W] (one image). */
export function weightedCam(a: Float32Array, weights: Float32Array, channels: number, hw: number, offset = 0): Float32Array {
  const cam = new Float32Array(hw);
  for (let k = 0; k < channels; k++) {
    const w = weights[k]!;
    if (w === 0) continue;
    const base = offset + k * hw;
    for (let j = 0; j < hw; j++) cam[j]! += w * a[base + j]!;
  }
  for (let j = 0; j < hw; j++) if (cam[j]! < 0) cam[j] = 0;
  return cam;
}

/** Mean over the spatial positions of each channel of `t` [C, H*W] (optionally masked by `keep`). */
export function spatialMean(t: Float32Array, channels: number, hw: number, offset = 0): Float32Array {
  const w = new Float32Array(channels);
  for (let k = 0; k < channels; k++) {
    let s = 0;
    const base = offset + k * hw;
    for (let j = 0; j < hw; j++) s += t[base + j]!;
    w[k] = s / hw;
  }
  return w;
}

/** The cam resized to the input (bilinear, half-pixel) and normalised to [0, 1]. */
export function camToHeatmap(cam: Float32Array, camShape: [number, number], size: [number, number]): Float32Array {
  const resized = resizeBilinear({ width: camShape[1], height: camShape[0], data: cam }, size[1], size[0]);
  return normalizeMinMax(resized).data;
}

/** The k best classes of one row of probabilities. */
export function topK(probs: Float32Array, logits: Float32Array, k: number, offset = 0, classes = probs.length): Prediction[] {
  const idx = Array.from({ length: classes }, (_, i) => i);
  idx.sort((a, b) => probs[offset + b]! - probs[offset + a]!);
  return idx.slice(0, k).map((index) => ({ index, probability: probs[offset + index]!, logit: logits[offset + index]! }));
}

