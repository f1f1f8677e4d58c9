/** The CAM arithmetic shared by the methods: weighted channel sums, heatmaps, predictions. */
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
  return minMaxNormalize(bilinearResize(cam, camShape[0], camShape[1], size[0], size[1]));
}

/** The k best classes of one row of probabilities. */
export function topK(probs: Float32Array, logits: Float32Array, k: number, offset = 0, classes = probs.length): Prediction[] {
  const idx = Array.from({ length: classes }, (_, i) => i);
  idx.sort((a, b) => probs[offset + b]! - probs[offset + a]!);
  return idx.slice(0, k).map((index) => ({ index, probability: probs[offset + index]!, logit: logits[offset + index]! }));
}

// TEMP: replaced by the image module's versions once it lands.
function bilinearResize(src: Float32Array, h: number, w: number, oh: number, ow: number): Float32Array {
  const out = new Float32Array(oh * ow);
  for (let y = 0; y < oh; y++) {
    const sy = Math.min(Math.max((y + 0.5) * (h / oh) - 0.5, 0), h - 1);
    const y0 = Math.floor(sy);
    const y1 = Math.min(y0 + 1, h - 1);
    const fy = sy - y0;
    for (let x = 0; x < ow; x++) {
      const sx = Math.min(Math.max((x + 0.5) * (w / ow) - 0.5, 0), w - 1);
      const x0 = Math.floor(sx);
      const x1 = Math.min(x0 + 1, w - 1);
      const fx = sx - x0;
      const top = src[y0 * w + x0]! * (1 - fx) + src[y0 * w + x1]! * fx;
      const bot = src[y1 * w + x0]! * (1 - fx) + src[y1 * w + x1]! * fx;
      out[y * ow + x] = top * (1 - fy) + bot * fy;
    }
  }
  return out;
}

function minMaxNormalize(a: Float32Array): Float32Array {
  let lo = Infinity;
  let hi = -Infinity;
  for (const v of a) {
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  const out = new Float32Array(a.length);
  if (!(hi > lo)) return out;
  for (let i = 0; i < a.length; i++) out[i] = (a[i]! - lo) / (hi - lo);
  return out;
}
