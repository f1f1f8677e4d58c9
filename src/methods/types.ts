/** Types shared by every explanation method. */
import type { ScoreMode } from '../engine/model.js';
import type { Target, TargetDescription } from './targets.js';
import type { SmoothingOptions } from './smoothing.js';

export type { Target, TargetDescription } from './targets.js';

export interface CommonOptions extends SmoothingOptions {
  /** Layer to explain at (tensor name, node name or module path). Default: the model's last conv layer. */
  layer?: string;
  /**
   * Several layers at once (instead of `layer`): each layer's cam is computed in the same
   * session runs, scaled to [0, 1], resized to the input and averaged, as pytorch-grad-cam's
   * aggregate_multi_layers.
   */
  layers?: string[];
  /** One target for all images, or one per image (see Target). Default `{ topK: 1 }`. */
  targets?: Target | Target[];
  /** Score of class targets: probability or logit. Default depends on the method. Unit targets set their own. */
  score?: ScoreMode;
  /** Path points / images run at once. Default: chosen from `memoryBudgetMB`. */
  internalBatchSize?: number;
  /**
   * Memory budget (MiB) for one batch: the default batch size is what fits, and an
   * `internalBatchSize` that does not fit is refused. Default 512 MiB (less when the runtime
   * reports less free memory).
   */
  memoryBudgetMB?: number;
  /** Called as work proceeds: `done` out of `total` model evaluations (predictions included). */
  onProgress?: (done: number, total: number) => void;
  /** Cancels the run between batches: the promise rejects with an AbortError. */
  signal?: AbortSignal;
}

/** The options every method takes (the names of CommonOptions). */
export const COMMON_OPTIONS: readonly (keyof CommonOptions)[] = [
  'layer', 'layers', 'targets', 'score', 'internalBatchSize', 'memoryBudgetMB', 'onProgress', 'signal', 'smooth', 'noiseSamples', 'noiseStdev', 'noiseType', 'seed',
];

/** A class prediction. */
export interface Prediction {
  index: number;
  probability: number;
  logit: number;
}

/** One layer's part of an explanation. */
export interface LayerExplanation {
  /** The layer's tensor name. */
  layer: string;
  /** ReLU(sum_k w_k A_k) at the layer's resolution, not normalised. */
  cam: Float32Array;
  camShape: [number, number];
  /** One weight per channel of the layer. */
  weights: Float32Array;
  /** Path methods: sum(IG) - (s(x) - s(x')), and that over |s(x) - s(x')|. */
  completenessError?: number;
  relativeCompletenessError?: number;
  /** Element-wise IG at the layer, [C, H*W] (RSI-Grad-CAM with returnAttributions). */
  integratedGradients?: Float32Array;
  /**
   * Element-wise attributions (input-space methods: at the input pixels, as Captum returns them
   * for one image; layer-ig, conductance: at the layer), row-major in `attributionShape`
   * ([C, H, W]). `cam` is then ReLU of their channel sum.
   */
  attributions?: Float32Array;
  attributionShape?: [number, number, number];
  /**
   * Path methods, per path point: its position (alpha, 0 = baseline, 1 = image), the score
   * there, and the running sum of the attributions at this layer up to it (completeness: the
   * last running sum is close to the last score minus the first).
   */
  pathTrace?: { alphas: number[]; scores: number[]; runningSum: number[] };
  /**
   * RSI-Grad-CAM: the estimated relative error of this layer's result, the larger of the
   * heatmap's (L2, centred, where the cam is positive) and the completeness sum's (over the
   * score's change along the path); what steps 'auto' compares with its tolerance. With fixed
   * steps: m steps against m/2 (none for m < 2).
   */
  estimatedError?: number;
  estimatedHeatmapError?: number;
  estimatedCompletenessError?: number;
}

/** One image's explanation. Arrays are row-major; shapes are given beside them. */
export interface Explanation extends LayerExplanation {
  method: string;
  /** The class explained (the first of several, a of a contrast (a, b), the unit of a unit target). */
  target: number;
  /** What is explained in full: kind, classes and their weights in the score, output and activation. */
  objective: TargetDescription;
  /** Score mode used for the gradient; 'output' for a unit target (its output and activation in `objective`). */
  scoreMode: ScoreMode | 'output';
  /** The explained score at the image: sum_k w_k y_k over `objective`'s classes. */
  score: number;
  /** The classifier's probability and logit of `target` (NaN for a unit of another output than the logits). */
  probability: number;
  logit: number;
  /** All classes' probabilities. */
  probabilities: Float32Array;
  /** Five best classes. */
  topk: Prediction[];
  /**
   * `cam` bilinearly resized to the model input and min-max normalised to [0, 1]. With several
   * layers: their aggregate (see CommonOptions.layers), and the top-level `layer` is the
   * layers' names joined by ',', `cam` the mean map at the input size, `weights` empty.
   */
  heatmap: Float32Array;
  heatmapShape: [number, number];
  /** Every layer explained, in the order asked (one entry when one layer was asked: the fields above). */
  layers: LayerExplanation[];
  /** The smoothing modifier applied, if any (the maps are then combined over the copies). */
  smoothing?: { mode: 'noise' | 'aug' | 'eigen'; copies: number; noiseType?: string };
  /** Path methods: the score at the baseline. */
  baselineScore?: number;
  /** Path methods: number of intervals m (m + 1 points; with steps 'auto', not of equal length). */
  steps?: number;
  /** Path methods: model evaluations along this image's path (m + 1), besides the one prediction per image. */
  evaluations?: number;
  /** steps 'auto': the tolerance asked for, and whether the evaluation cap stopped the refinement before it was met. */
  tolerance?: number;
  evaluationCapReached?: boolean;
  /** Milliseconds spent on this image (its share of batched work). */
  timings: { explain: number };
}
