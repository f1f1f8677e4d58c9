/** The CAM arithmetic shared by the methods: weighted channel sums, heatmaps, predictions. */
import { normalizeMinMax, resizeBilinear } from '../image/float-map.js';
import type { Prediction } from './types.js';

/** cam = ReLU(sum_k w_k A_k) for activations `a` [C, H*W] (one image). */
export function weightedCam(a: Float32Array, weights: Float32Array, channels: number, hw: number, offset = 0): Float32Array {
  const cam = weightedChannelSum(a, weights, channels, hw, offset);
  for (let j = 0; j < hw; j++) if (cam[j]! < 0) cam[j] = 0;
  return cam;
}

/** sum_k w_k A_k, before the ReLU. */
export function weightedChannelSum(a: Float32Array, weights: Float32Array, channels: number, hw: number, offset = 0): Float32Array {
  const cam = new Float32Array(hw);
  for (let k = 0; k < channels; k++) {
    const w = weights[k]!;
    if (w === 0) continue;
    const base = offset + k * hw;
    for (let j = 0; j < hw; j++) cam[j]! += w * a[base + j]!;
  }
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

/** sum_k t_k per position of `t` [C, H*W]. */
export function channelSum(t: Float32Array, channels: number, hw: number): Float32Array {
  const out = new Float32Array(hw);
  for (let k = 0; k < channels; k++) for (let j = 0; j < hw; j++) out[j]! += t[k * hw + j]!;
  return out;
}

/**
 * The maps of element-wise attributions [C, H*W] at a layer (or the input) whose values are
 * `a`: cam = their channel sum (before the final ReLU), weights = their spatial means.
 */
export function attributionMaps(a: Float32Array, attributions: Float32Array, channels: number, height: number, width: number) {
  const hw = height * width;
  return {
    activations: a,
    weights: spatialMean(attributions, channels, hw),
    cam: channelSum(attributions, channels, hw),
    weighted: attributions,
    extra: { attributions, attributionShape: [channels, height, width] as [number, number, number] },
  };
}

/** The cam resized to the input (bilinear, half-pixel) and normalised to [0, 1]. */
export function camToHeatmap(cam: Float32Array, camShape: [number, number], size: [number, number]): Float32Array {
  const resized = resizeBilinear({ width: camShape[1], height: camShape[0], data: cam }, size[1], size[0]);
  return normalizeMinMax(resized).data;
}

/**
 * A map scaled for display as Captum's visualize_image_attr does (_normalize_attr, sign
 * 'positive', outlier_perc 2): divided by the value at which the sorted values' cumulative sum
 * first reaches (100 - outlierPercent)% of their total, then clipped to [0, 1]. Per-pixel
 * attributions have a few very large values; min-max scaling would leave everything else
 * dark. Negative values count as zero; an all-zero map stays zero.
 */
export function outlierScaled(map: Float32Array, outlierPercent = 2): Float32Array {
  const sorted = Float64Array.from(map, (v) => (v > 0 ? v : 0)).sort();
  let total = 0;
  for (const v of sorted) total += v;
  if (total === 0) return new Float32Array(map.length);
  let cumulative = 0;
  let threshold = sorted[sorted.length - 1]!;
  for (const v of sorted) {
    cumulative += v;
    if (cumulative >= total * 0.01 * (100 - outlierPercent)) {
      threshold = v;
      break;
    }
  }
  return map.map((v) => (v > 0 ? Math.min(1, v / threshold) : 0));
}

/** The cam resized to the input (bilinear, half-pixel) and scaled as Captum draws attributions (outlierScaled). */
export function captumHeatmap(cam: Float32Array, camShape: [number, number], size: [number, number]): Float32Array {
  return outlierScaled(resizeBilinear({ width: camShape[1], height: camShape[0], data: cam }, size[1], size[0]).data);
}

/**
 * Several layers' cams combined as pytorch-grad-cam's aggregate_multi_layers: each scaled to
 * [0, 1] ((c - min) / (1e-7 + max(c - min))) and resized to `size`, then ReLU, the mean over
 * layers, and min-max normalisation. Returns the mean map and the heatmap.
 */
export function aggregateLayerCams(cams: { cam: Float32Array; camShape: [number, number] }[], size: [number, number]): { mean: Float32Array; heatmap: Float32Array } {
  const [h, w] = size;
  const mean = new Float32Array(h * w);
  for (const c of cams) {
    const resized = resizeBilinear({ width: c.camShape[1], height: c.camShape[0], data: scaleCam(c.cam) }, w, h).data;
    for (let j = 0; j < mean.length; j++) mean[j]! += Math.max(0, resized[j]!) / cams.length;
  }
  return { mean, heatmap: normalizeMinMax({ width: w, height: h, data: mean }).data };
}

/** pytorch-grad-cam's scale_cam_image without the resize: (c - min) / (1e-7 + max(c - min)). */
function scaleCam(cam: Float32Array): Float32Array {
  let lo = Infinity;
  let hi = -Infinity;
  for (const v of cam) {
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  return cam.map((v) => (v - lo) / (1e-7 + (hi - lo)));
}

/** The k best classes of one row of probabilities. */
export function topK(probs: Float32Array, logits: Float32Array, k: number, offset = 0, classes = probs.length): Prediction[] {
  const idx = Array.from({ length: classes }, (_, i) => i);
  idx.sort((a, b) => probs[offset + b]! - probs[offset + a]!);
  return idx.slice(0, k).map((index) => ({ index, probability: probs[offset + index]!, logit: logits[offset + index]! }));
}
