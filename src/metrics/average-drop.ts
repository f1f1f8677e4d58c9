/**
 * Average Drop and Increase in Confidence (Chattopadhyay, Sarkar, Howlader, Balasubramanian,
 * "Grad-CAM++: Generalized Gradient-based Visual Explanations for Deep Convolutional
 * Networks", WACV 2018, section 5.1), and Average Gain (Zhang, Rao, Frasca, Avrithis,
 * "Opti-CAM: Optimizing saliency maps for interpretability", 2023, section 4).
 *
 * Y_i is the class probability on image i, O_i on the "explanation map": the image
 * multiplied pixel-wise by the heatmap (in [0, 1]) in RGB space, then preprocessed.
 *   AD = 100/N sum_i max(0, Y_i - O_i) / Y_i      (lower is better)
 *   IC = 100/N sum_i 1[O_i > Y_i]                 (higher is better)
 *   AG = 100/N sum_i max(0, O_i - Y_i) / (1 - Y_i) (higher is better)
 * The per-image terms below are averaged (with a confidence interval) by the caller.
 */
import { blendPixels, type TensorLayout } from './tensor-image.js';

/**
 * The explanation map's input tensor. Preprocessing is affine per channel, so
 * preprocess(pixels * h) = h * image + (1 - h) * black, with `black` the black image after
 * preprocessing.
 */
export function explanationMapInput(image: Float32Array, black: Float32Array, heatmap: ArrayLike<number>, layout: TensorLayout): Float32Array {
  return blendPixels(image, black, heatmap, layout);
}

/** One image's terms of AD, IC and AG, in percent. */
export interface ConfidenceTerms {
  drop: number;
  increase: number;
  gain: number;
}

/** Terms for a probability Y on the image and O on the explanation map. */
export function confidenceTerms(y: number, o: number): ConfidenceTerms {
  return {
    drop: y > 0 ? (100 * Math.max(0, y - o)) / y : 0,
    increase: o > y ? 100 : 0,
    // With Y = 1 no gain is possible; the term is 0 rather than 0/0.
    gain: y < 1 ? (100 * Math.max(0, o - y)) / (1 - y) : 0,
  };
}
