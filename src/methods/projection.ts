/**
 * pytorch-grad-cam's get_2d_projection (utils/svd_on_activations.py), used by Eigen-CAM,
 * Eigen-Grad-CAM and eigen smoothing: the positions x channels matrix M of a [C, H*W] map
 * (NaN read as 0), each channel's mean over positions subtracted, projected on its first
 * right singular vector v: M v.
 *
 * v is the top eigenvector of a Gram matrix, computed exactly (no iteration whose accuracy
 * depends on the gap between the first two singular values): of M^T M (C x C) when C <= H*W,
 * else of M M^T (H*W x H*W), whose top eigenvector u gives M v = s u (s = sqrt of its
 * eigenvalue) and v = M^T u / s. The eigenvectors come from Householder tridiagonalisation
 * and the implicit QL algorithm (EISPACK's tred2 / tql2, as in JAMA): O(n^3) for n = min(C, H*W),
 * e.g. 49 for a 7x7 layer of any width.
 *
 * numpy's SVD leaves the sign of v to LAPACK (pytorch-grad-cam's EigenCAM keeps that sign);
 * the sign here is fixed as get_2d_projection_with_sign_correction fixes it: the projection
 * is negated when |min| > |max|, so the larger extreme is positive.
 */

/** The projection M v ([H*W]) and the principal direction v ([C]), sign-corrected. */
export interface Projection {
  projection: Float32Array;
  direction: Float32Array;
}

export function get2dProjection(t: ArrayLike<number>, channels: number, hw: number): Projection {
  const m = new Float64Array(channels * hw);
  for (let k = 0; k < channels; k++) {
    let mean = 0;
    for (let j = 0; j < hw; j++) {
      const v = t[k * hw + j]!;
      m[k * hw + j] = Number.isNaN(v) ? 0 : v;
      mean += m[k * hw + j]!;
    }
    mean /= hw;
    for (let j = 0; j < hw; j++) m[k * hw + j]! -= mean;
  }
  const projection = new Float64Array(hw);
  const direction = new Float64Array(channels);
  if (channels <= hw) {
    // v: top eigenvector of M^T M = sum over positions of the channel vectors' outer products.
    const { vector } = topEigenvector(gram(m, channels, hw), channels);
    direction.set(vector);
    for (let k = 0; k < channels; k++) for (let j = 0; j < hw; j++) projection[j]! += m[k * hw + j]! * vector[k]!;
  } else {
    // u: top eigenvector of M M^T (positions x positions); M v = s u, v = M^T u / s.
    const { value, vector } = topEigenvector(gram(transpose(m, channels, hw), hw, channels), hw);
    const s = Math.sqrt(Math.max(0, value));
    if (s > 0) {
      for (let j = 0; j < hw; j++) projection[j] = s * vector[j]!;
      for (let k = 0; k < channels; k++) {
        let d = 0;
        for (let j = 0; j < hw; j++) d += m[k * hw + j]! * vector[j]!;
        direction[k] = d / s;
      }
    } else direction[0] = 1; // M = 0: every direction is a first one
  }
  let lo = Infinity;
  let hi = -Infinity;
  for (const x of projection) {
    if (x < lo) lo = x;
    if (x > hi) hi = x;
  }
  const sign = Math.abs(lo) > Math.abs(hi) ? -1 : 1;
  return { projection: Float32Array.from(projection, (x) => sign * x), direction: Float32Array.from(direction, (x) => sign * x) };
}

/** [rows, cols] -> [cols, rows]. */
function transpose(a: Float64Array, rows: number, cols: number): Float64Array {
  const out = new Float64Array(a.length);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[c * rows + r] = a[r * cols + c]!;
  return out;
}

/** G = A A^T for A [n, len] (row-major): G[i][j] = row i . row j. */
function gram(a: Float64Array, n: number, len: number): Float64Array {
  const g = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j <= i; j++) {
      let s = 0;
      for (let q = 0; q < len; q++) s += a[i * len + q]! * a[j * len + q]!;
      g[i * n + j] = s;
      g[j * n + i] = s;
    }
  }
  return g;
}

/** The largest eigenvalue of the symmetric n x n matrix `a` (row-major) and a unit eigenvector of it. */
export function topEigenvector(a: Float64Array, n: number): { value: number; vector: Float64Array } {
  const { values, vectors } = symmetricEigen(a, n);
  let best = 0;
  for (let i = 1; i < n; i++) if (values[i]! > values[best]!) best = i;
  return { value: values[best]!, vector: Float64Array.from({ length: n }, (_, k) => vectors[k * n + best]!) };
}

/**
 * Every eigenvalue of the symmetric n x n matrix `a` (row-major; not modified) and the
 * eigenvectors as the columns of `vectors` (row-major n x n, orthonormal): Householder
 * reduction to tridiagonal form, then the QL algorithm with implicit shifts (tred2, tql2).
 */
export function symmetricEigen(a: Float64Array, n: number): { values: Float64Array; vectors: Float64Array } {
  const v = Float64Array.from(a);
  const d = new Float64Array(n);
  const e = new Float64Array(n);
  if (n === 0) return { values: d, vectors: v };
  tred2(v, d, e, n);
  tql2(v, d, e, n);
  return { values: d, vectors: v };
}

function tred2(V: Float64Array, d: Float64Array, e: Float64Array, n: number): void {
  for (let j = 0; j < n; j++) d[j] = V[(n - 1) * n + j]!;
  for (let i = n - 1; i > 0; i--) {
    // Scale to avoid under- and overflow.
    let scale = 0;
    let h = 0;
    for (let k = 0; k < i; k++) scale += Math.abs(d[k]!);
    if (scale === 0) {
      e[i] = d[i - 1]!;
      for (let j = 0; j < i; j++) {
        d[j] = V[(i - 1) * n + j]!;
        V[i * n + j] = 0;
        V[j * n + i] = 0;
      }
    } else {
      // The Householder vector.
      for (let k = 0; k < i; k++) {
        d[k]! /= scale;
        h += d[k]! * d[k]!;
      }
      let f = d[i - 1]!;
      let g = Math.sqrt(h);
      if (f > 0) g = -g;
      e[i] = scale * g;
      h -= f * g;
      d[i - 1] = f - g;
      for (let j = 0; j < i; j++) e[j] = 0;
      // Apply the similarity transformation to the remaining columns.
      for (let j = 0; j < i; j++) {
        f = d[j]!;
        V[j * n + i] = f;
        g = e[j]! + V[j * n + j]! * f;
        for (let k = j + 1; k <= i - 1; k++) {
          g += V[k * n + j]! * d[k]!;
          e[k]! += V[k * n + j]! * f;
        }
        e[j] = g;
      }
      f = 0;
      for (let j = 0; j < i; j++) {
        e[j]! /= h;
        f += e[j]! * d[j]!;
      }
      const hh = f / (h + h);
      for (let j = 0; j < i; j++) e[j]! -= hh * d[j]!;
      for (let j = 0; j < i; j++) {
        f = d[j]!;
        g = e[j]!;
        for (let k = j; k <= i - 1; k++) V[k * n + j]! -= f * e[k]! + g * d[k]!;
        d[j] = V[(i - 1) * n + j]!;
        V[i * n + j] = 0;
      }
    }
    d[i] = h;
  }
  // Accumulate the transformations.
  for (let i = 0; i < n - 1; i++) {
    V[(n - 1) * n + i] = V[i * n + i]!;
    V[i * n + i] = 1;
    const h = d[i + 1]!;
    if (h !== 0) {
      for (let k = 0; k <= i; k++) d[k] = V[k * n + i + 1]! / h;
      for (let j = 0; j <= i; j++) {
        let g = 0;
        for (let k = 0; k <= i; k++) g += V[k * n + i + 1]! * V[k * n + j]!;
        for (let k = 0; k <= i; k++) V[k * n + j]! -= g * d[k]!;
      }
    }
    for (let k = 0; k <= i; k++) V[k * n + i + 1] = 0;
  }
  for (let j = 0; j < n; j++) {
    d[j] = V[(n - 1) * n + j]!;
    V[(n - 1) * n + j] = 0;
  }
  V[(n - 1) * n + n - 1] = 1;
  e[0] = 0;
}

function tql2(V: Float64Array, d: Float64Array, e: Float64Array, n: number): void {
  for (let i = 1; i < n; i++) e[i - 1] = e[i]!;
  e[n - 1] = 0;
  let f = 0;
  let tst1 = 0;
  const eps = 2 ** -52;
  for (let l = 0; l < n; l++) {
    // Find a small subdiagonal element.
    tst1 = Math.max(tst1, Math.abs(d[l]!) + Math.abs(e[l]!));
    let m = l;
    while (m < n - 1 && Math.abs(e[m]!) > eps * tst1) m++;
    // m == l: d[l] is an eigenvalue; otherwise iterate.
    if (m > l) {
      for (let iter = 0; ; iter++) {
        if (iter > 100) throw new Error('symmetricEigen: the QL iteration did not converge');
        // The implicit shift.
        let g = d[l]!;
        let p = (d[l + 1]! - g) / (2 * e[l]!);
        let r = Math.hypot(p, 1);
        if (p < 0) r = -r;
        d[l] = e[l]! / (p + r);
        d[l + 1] = e[l]! * (p + r);
        const dl1 = d[l + 1]!;
        let h = g - d[l]!;
        for (let i = l + 2; i < n; i++) d[i]! -= h;
        f += h;
        // The implicit QL transformation.
        p = d[m]!;
        let c = 1;
        let c2 = c;
        let c3 = c;
        const el1 = e[l + 1]!;
        let s = 0;
        let s2 = 0;
        for (let i = m - 1; i >= l; i--) {
          c3 = c2;
          c2 = c;
          s2 = s;
          g = c * e[i]!;
          h = c * p;
          r = Math.hypot(p, e[i]!);
          e[i + 1] = s * r;
          s = e[i]! / r;
          c = p / r;
          p = c * d[i]! - s * g;
          d[i + 1] = h + s * (c * g + s * d[i]!);
          // Accumulate the transformation.
          for (let k = 0; k < n; k++) {
            h = V[k * n + i + 1]!;
            V[k * n + i + 1] = s * V[k * n + i]! + c * h;
            V[k * n + i] = c * V[k * n + i]! - s * h;
          }
        }
        p = (-s * s2 * c3 * el1 * e[l]!) / dl1;
        e[l] = s * p;
        d[l] = c * p;
        if (!(Math.abs(e[l]!) > eps * tst1)) break;
      }
    }
    d[l] = d[l]! + f;
    e[l] = 0;
  }
}
