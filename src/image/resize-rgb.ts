/**
 * PIL-style antialiased resize of RGB pixels in plain TypeScript (compare's thumbnails; fitting
 * a photo to a model uses resizeRgbAsSharp, the CLI's resize, alpha included).
 */
import { triangleTaps } from './resample.js';
import type { RgbImage } from './types.js';

/**
 * Resizes with PIL's / torchvision's antialiased bilinear filter (a triangle widened by the
 * shrink factor; plain half-pixel bilinear when enlarging). Separable, rows first.
 */
export function resizeRgb(img: RgbImage, width: number, height: number): RgbImage {
  if (img.width === width && img.height === height) return { width, height, data: img.data.slice() };
  const tx = triangleTaps(img.width, width);
  const ty = triangleTaps(img.height, height);
  // Horizontal pass into floats: img.height rows x width columns.
  const mid = new Float32Array(img.height * width * 3);
  const src = img.data;
  for (let y = 0; y < img.height; y++) {
    const row = y * img.width * 3;
    for (let x = 0; x < width; x++) {
      let r = 0, g = 0, b = 0;
      for (let j = 0; j < tx.k; j++) {
        const wt = tx.weight[x * tx.k + j]!;
        if (wt === 0) continue;
        const p = row + tx.index[x * tx.k + j]! * 3;
        r += src[p]! * wt;
        g += src[p + 1]! * wt;
        b += src[p + 2]! * wt;
      }
      const o = (y * width + x) * 3;
      mid[o] = r;
      mid[o + 1] = g;
      mid[o + 2] = b;
    }
  }
  const out = new Uint8Array(width * height * 3);
  const stride = width * 3;
  for (let y = 0; y < height; y++) {
    for (let c = 0; c < stride; c++) {
      let s = 0;
      for (let j = 0; j < ty.k; j++) {
        const wt = ty.weight[y * ty.k + j]!;
        if (wt !== 0) s += mid[ty.index[y * ty.k + j]! * stride + c]! * wt;
      }
      out[y * stride + c] = s <= 0 ? 0 : s >= 255 ? 255 : Math.round(s);
    }
  }
  return { width, height, data: out };
}
