/** Sampling weights shared by the resizers and the heatmap-to-photo mapping. */

/** Two-tap linear interpolation weights along one axis: out[i] = (1-w[i])*in[i0[i]] + w[i]*in[i1[i]]. */
export interface LinearTaps {
  i0: Int32Array;
  i1: Int32Array;
  w: Float32Array;
}

/**
 * Linear taps for `outSize` samples taken at continuous source positions `pos(i)` (in source
 * pixel-centre units: 0 is the centre of source pixel 0), clamped to the source pixel range
 * [lo, hi]. Clamping at the edges is what PyTorch's and OpenCV's bilinear resize do.
 */
export function linearTaps(outSize: number, pos: (i: number) => number, lo: number, hi: number): LinearTaps {
  const i0 = new Int32Array(outSize);
  const i1 = new Int32Array(outSize);
  const w = new Float32Array(outSize);
  for (let i = 0; i < outSize; i++) {
    const s = Math.min(Math.max(pos(i), lo), hi);
    const a = Math.floor(s);
    i0[i] = a;
    i1[i] = a < hi ? a + 1 : a;
    w[i] = a < hi ? s - a : 0;
  }
  return { i0, i1, w };
}

/** Half-pixel (align_corners=false) taps resizing an axis of `inSize` pixels to `outSize`. */
export function halfPixelTaps(inSize: number, outSize: number): LinearTaps {
  const scale = inSize / outSize;
  return linearTaps(outSize, (i) => (i + 0.5) * scale - 0.5, 0, inSize - 1);
}

/** Variable-length filter taps: output i reads in[index[i*k + j]] * weight[i*k + j], j < k. */
export interface FilterTaps {
  k: number;
  index: Int32Array;
  weight: Float32Array;
}

/**
 * Triangle-filter taps as PIL's (and torchvision's antialiased) bilinear resize builds them:
 * when shrinking, the triangle is widened by the shrink factor so every source pixel
 * contributes (no aliasing); when enlarging, this is plain half-pixel bilinear interpolation.
 * Taps past the edge are dropped and the rest renormalised.
 */
export function triangleTaps(inSize: number, outSize: number): FilterTaps {
  const scale = inSize / outSize;
  // Clamping the centres changes nothing here: shrinking keeps them inside, and when
  // enlarging a centre within half a pixel of the edge reads only the edge pixel either way.
  return clampedTriangleTaps(outSize, (i) => (i + 0.5) * scale, scale, 0, inSize - 1);
}

/**
 * Triangle-filter taps for `outSize` samples whose centres lie at `centre(i)` in source
 * pixel-edge units (source pixel s covers [s, s + 1)), reading only source pixels
 * first..last. `step` is source pixels per output pixel: when > 1 (shrinking) the triangle is
 * widened to `step` so no source pixel is skipped; otherwise this is linear interpolation.
 * Centres are clamped to [first + 0.5, last + 0.5], so nothing outside first..last bleeds in.
 */
export function clampedTriangleTaps(
  outSize: number, centre: (i: number) => number, step: number, first: number, last: number,
): FilterTaps {
  const support = Math.max(step, 1);
  const k = Math.min(last - first + 1, Math.ceil(support) * 2 + 1);
  const index = new Int32Array(outSize * k);
  const weight = new Float32Array(outSize * k);
  for (let i = 0; i < outSize; i++) {
    const c = Math.min(Math.max(centre(i), first + 0.5), last + 0.5);
    const lo = Math.max(first, Math.floor(c - support));
    const hi = Math.min(last, Math.ceil(c + support));
    let total = 0;
    let j = 0;
    for (let s = lo; s <= hi && j < k; s++) {
      const t = 1 - Math.abs(s + 0.5 - c) / support;
      if (t <= 0) continue;
      index[i * k + j] = s;
      weight[i * k + j] = t;
      total += t;
      j++;
    }
    for (let q = 0; q < j; q++) weight[i * k + q]! /= total;
  }
  return { k, index, weight };
}
