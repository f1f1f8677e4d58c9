/**
 * PIL-style antialiased resize of RGB pixels in plain TypeScript (thumbnails; fitting a photo
 * to a model uses resizeRgbAsSharp, the CLI's resize).
 */
import { triangleTaps } from './resample.js';
import type { RgbImage } from './types.js';

/**
 * Resizes with PIL's / torchvision's antialiased bilinear filter (a triangle widened by the
 * shrink factor; plain half-pixel bilinear when enlarging). Separable, rows first. A photo
 * with transparency (an alpha plane) is resized as sharp resizes it for the CLI: colours
 * premultiplied by alpha, resized with it and divided by the resized alpha again, so the
 * colours of transparent pixels do not bleed into their neighbours.
 */
export function resizeRgb(img: RgbImage, width: number, height: number): RgbImage {
  if (img.width === width && img.height === height) return { width, height, data: img.data.slice(), ...(img.alpha ? { alpha: img.alpha.slice() } : {}) };
  const resized = resizeInterleaved(img, width, height);
  if (!img.alpha) return { width, height, data: Uint8Array.from(resized, byte) };
  const out = { width, height, data: new Uint8Array(width * height * 3), alpha: new Uint8Array(width * height) };
  for (let i = 0; i < out.alpha.length; i++) {
    // Divided by the unrounded alpha, as libvips does; no colour where nothing is opaque.
    const a = resized[4 * i + 3]!;
    for (let c = 0; c < 3; c++) out.data[3 * i + c] = a > 0 ? byte((resized[4 * i + c]! * 255) / a) : 0;
    out.alpha[i] = byte(a);
  }
  return out;
}

/** A filtered value as a byte: rounded, clamped to 0-255. */
function byte(s: number): number {
  return s <= 0 ? 0 : s >= 255 ? 255 : Math.round(s);
}

/**
 * The separable filter, unrounded: R, G, B interleaved, or with an alpha plane R, G, B
 * premultiplied by alpha and alpha (4 channels). Sums in doubles, the horizontal pass stored
 * as float32.
 */
function resizeInterleaved(img: RgbImage, width: number, height: number): Float64Array {
  const tx = triangleTaps(img.width, width);
  const ty = triangleTaps(img.height, height);
  const { data: src, alpha } = img;
  const channels = alpha ? 4 : 3;
  // Horizontal pass into floats: img.height rows x width columns. Accumulators in locals, the
  // premultiplication folded into the weight: this pass is most of a photo's fit.
  const mid = new Float32Array(img.height * width * channels);
  for (let y = 0; y < img.height; y++) {
    const row = y * img.width;
    for (let x = 0; x < width; x++) {
      let r = 0, g = 0, b = 0, a = 0;
      for (let j = 0; j < tx.k; j++) {
        let wt = tx.weight[x * tx.k + j]!;
        if (wt === 0) continue;
        const q = row + tx.index[x * tx.k + j]!;
        if (alpha) {
          a += alpha[q]! * wt;
          wt *= alpha[q]! / 255;
        }
        r += src[3 * q]! * wt;
        g += src[3 * q + 1]! * wt;
        b += src[3 * q + 2]! * wt;
      }
      const o = (y * width + x) * channels;
      mid[o] = r;
      mid[o + 1] = g;
      mid[o + 2] = b;
      if (alpha) mid[o + 3] = a;
    }
  }
  const out = new Float64Array(width * height * channels);
  const stride = width * channels;
  for (let y = 0; y < height; y++) {
    for (let c = 0; c < stride; c++) {
      let s = 0;
      for (let j = 0; j < ty.k; j++) {
        const wt = ty.weight[y * ty.k + j]!;
        if (wt !== 0) s += mid[ty.index[y * ty.k + j]! * stride + c]! * wt;
      }
      out[y * stride + c] = s;
    }
  }
  return out;
}
