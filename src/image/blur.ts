/** Gaussian blur in plain TypeScript (for the "blur" baseline). */
import { alphaAsRgb, firstChannel, type RgbImage } from './types.js';

/** Normalised 1-D Gaussian kernel of radius ceil(3 sigma), sampled at integer offsets. */
export function gaussianKernel(sigma: number): Float32Array {
  if (!(sigma > 0)) return Float32Array.of(1);
  const r = Math.max(1, Math.ceil(3 * sigma));
  const k = new Float32Array(2 * r + 1);
  let total = 0;
  for (let i = -r; i <= r; i++) total += k[i + r] = Math.exp((-i * i) / (2 * sigma * sigma));
  for (let i = 0; i < k.length; i++) k[i]! /= total;
  return k;
}

/**
 * Separable Gaussian blur with edge pixels repeated past the border (so a constant image
 * stays constant). sigma in pixels; sigma <= 0 returns a copy. An alpha plane is blurred alike.
 */
export function gaussianBlurRgb(img: RgbImage, sigma: number): RgbImage {
  const out = blurColours(img, sigma);
  return img.alpha ? { ...out, alpha: firstChannel(blurColours(alphaAsRgb(img), sigma)) } : out;
}

function blurColours(img: RgbImage, sigma: number): RgbImage {
  const { width: W, height: H } = img;
  if (!(sigma > 0)) return { width: W, height: H, data: img.data.slice() };
  const k = gaussianKernel(sigma);
  const r = (k.length - 1) / 2;
  const mid = new Float32Array(W * H * 3);
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) {
      let a = 0, b = 0, c = 0;
      for (let t = -r; t <= r; t++) {
        const xx = x + t < 0 ? 0 : x + t >= W ? W - 1 : x + t;
        const p = (y * W + xx) * 3;
        const w = k[t + r]!;
        a += img.data[p]! * w;
        b += img.data[p + 1]! * w;
        c += img.data[p + 2]! * w;
      }
      const o = (y * W + x) * 3;
      mid[o] = a;
      mid[o + 1] = b;
      mid[o + 2] = c;
    }
  }
  const out = new Uint8Array(W * H * 3);
  const stride = W * 3;
  for (let y = 0; y < H; y++) {
    for (let q = 0; q < stride; q++) {
      let s = 0;
      for (let t = -r; t <= r; t++) {
        const yy = y + t < 0 ? 0 : y + t >= H ? H - 1 : y + t;
        s += mid[yy * stride + q]! * k[t + r]!;
      }
      out[y * stride + q] = s <= 0 ? 0 : s >= 255 ? 255 : Math.round(s);
    }
  }
  return { width: W, height: H, data: out };
}
