/**
 * Preprocessed input tensors seen as images of pixels. The model's preprocessing is an affine
 * map per channel (value = pixel * a_c + b_c), so replacing, blending or linearly imputing
 * whole pixels in tensor space is the same as doing it to the RGB pixels first and
 * preprocessing after: every perturbation in this folder works on tensors directly.
 */
import { OptionError } from '../errors.js';

/** Where the values of a pixel lie in a one-image tensor. */
export interface TensorLayout {
  height: number;
  width: number;
  channels: number;
  /** NCHW: planes, one per channel; NHWC: the channels of a pixel side by side. */
  layout: 'NCHW' | 'NHWC';
}

/** Number of pixels. */
export function pixelCount(l: TensorLayout): number {
  return l.height * l.width;
}

/** Index of channel c of pixel p (p = y * width + x). */
export function valueIndex(l: TensorLayout, p: number, c: number): number {
  return l.layout === 'NCHW' ? c * l.height * l.width + p : p * l.channels + c;
}

/** Throws unless `t` holds one image of layout `l`. */
export function checkTensor(t: Float32Array, l: TensorLayout, what: string): void {
  const n = l.height * l.width * l.channels;
  if (t.length !== n) throw new OptionError(`${what}: ${t.length} values, expected ${l.channels}x${l.height}x${l.width} = ${n}`);
}

/** Throws unless a per-pixel map has height * width values. */
export function checkPixelMap(m: ArrayLike<number>, l: TensorLayout, what: string): void {
  if (m.length !== l.height * l.width) throw new OptionError(`${what}: ${m.length} values, expected ${l.height}x${l.width} = ${l.height * l.width}`);
}

/** Copies every channel of pixel p from `src` into `dst`. */
export function copyPixel(dst: Float32Array, src: Float32Array, l: TensorLayout, p: number): void {
  for (let c = 0; c < l.channels; c++) {
    const i = valueIndex(l, p, c);
    dst[i] = src[i]!;
  }
}

/**
 * Per-pixel blend w * a + (1 - w) * b, with w one value per pixel. With `b` the black image
 * after preprocessing this is the RGB image multiplied by w, then preprocessed.
 */
export function blendPixels(a: Float32Array, b: Float32Array, w: ArrayLike<number>, l: TensorLayout): Float32Array {
  checkTensor(a, l, 'blend image');
  checkTensor(b, l, 'blend baseline');
  checkPixelMap(w, l, 'blend weights');
  const out = new Float32Array(a.length);
  const n = pixelCount(l);
  for (let p = 0; p < n; p++) {
    const wp = w[p]!;
    for (let c = 0; c < l.channels; c++) {
      const i = valueIndex(l, p, c);
      out[i] = wp * a[i]! + (1 - wp) * b[i]!;
    }
  }
  return out;
}
