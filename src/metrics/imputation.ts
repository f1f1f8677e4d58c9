/**
 * Linear imputation of removed pixels (Rong, Leemann, Borisov, Kasneci, Kasneci, "A Consistent
 * and Efficient Evaluation Strategy for Attribution Methods", ICML 2022, section 4): every
 * removed pixel equals the weighted mean of its 8 neighbours, axis neighbours weighing 1/6
 * and diagonal ones 1/12 (neighbours outside the image are left out and the weights
 * renormalised, as the authors' NoisyLinearImputer does). For the U removed pixels this is
 * one sparse symmetric positive definite system per channel,
 *     S_p x_p - sum_{removed n ~ p} w_pn x_n = sum_{kept n ~ p} w_pn v_n,   S_p = sum_{n ~ p} w_pn.
 *
 * The authors solve it with a sparse direct solver (scipy spsolve). Here: conjugate gradients
 * preconditioned by one geometric multigrid V-cycle (symmetric Gauss-Seidel smoothing,
 * cell-centred bilinear prolongation P, restriction P^T, the same stencil rediscretised on
 * each coarser grid). Plain CG needs hundreds of iterations when large regions are removed
 * (its rate depends on the region's diameter); the V-cycle makes the count nearly
 * independent of it.
 */
import { OptionError } from '../errors.js';

const OFFSETS: readonly [number, number, number][] = [
  [-1, 0, 1 / 6], [1, 0, 1 / 6], [0, -1, 1 / 6], [0, 1, 1 / 6],
  [-1, -1, 1 / 12], [1, -1, 1 / 12], [-1, 1, 1 / 12], [1, 1, 1 / 12],
];

export interface ImputeOptions {
  /** Stop when every equation's residual over S_p is below this (value units). Default 1e-5 of the kept values' range. */
  tolerance?: number;
  /** PCG iteration cap. Default 200. */
  maxIterations?: number;
}

/** What one solve did (for tests and tuning). */
export interface ImputeReport {
  /** PCG iterations (the most any channel took). */
  iterations: number;
  /** Largest |residual| / S_p at the end. */
  residual: number;
}

/**
 * Fills the removed pixels (removed[p] = 1) of each channel plane in place with the linear
 * imputation above. `planes` are width * height values each. Throws when nothing is kept.
 */
export function linearImpute(planes: Float64Array[], removed: Uint8Array, width: number, height: number, options: ImputeOptions = {}): ImputeReport {
  const n = width * height;
  if (removed.length !== n) throw new OptionError(`imputation: mask has ${removed.length} values for ${width}x${height}`);
  for (const pl of planes) if (pl.length !== n) throw new OptionError(`imputation: a plane has ${pl.length} values for ${width}x${height}`);
  let kept = 0;
  for (let p = 0; p < n; p++) if (!removed[p]) kept++;
  if (kept === n) return { iterations: 0, residual: 0 };
  if (kept === 0) throw new OptionError('imputation: every pixel is removed, nothing to impute from');

  const levels = buildHierarchy(removed, width, height);
  const fine = levels[0]!;
  const U = fine.pixels.length;
  let lo = Infinity;
  let hi = -Infinity;
  for (const pl of planes) for (let p = 0; p < n; p++) if (!removed[p]) (lo = Math.min(lo, pl[p]!)), (hi = Math.max(hi, pl[p]!));
  const tol = options.tolerance ?? 1e-5 * Math.max(hi - lo, 1e-12);
  const maxIt = options.maxIterations ?? 200;

  const x = new Float64Array(U);
  const b = new Float64Array(U);
  const r = new Float64Array(U);
  const z = new Float64Array(U);
  const d = new Float64Array(U);
  const q = new Float64Array(U);
  let iterations = 0;
  let worst = 0;
  for (const pl of planes) {
    let mean = 0;
    for (let p = 0; p < n; p++) if (!removed[p]) mean += pl[p]!;
    mean /= kept;
    for (let u = 0; u < U; u++) {
      let s = 0;
      for (let k = fine.knownStart[u]!; k < fine.knownStart[u + 1]!; k++) s += fine.knownW[k]! * pl[fine.knownPix[k]!]!;
      b[u] = s;
      x[u] = mean;
    }
    multiply(fine, x, q);
    let maxRes = 0;
    for (let u = 0; u < U; u++) {
      r[u] = b[u]! - q[u]!;
      maxRes = Math.max(maxRes, Math.abs(r[u]!) / fine.diag[u]!);
    }
    let it = 0;
    if (maxRes > tol) {
      vcycle(levels, 0, r, z);
      d.set(z);
      let rz = dot(r, z);
      while (it < maxIt) {
        multiply(fine, d, q);
        const alpha = rz / dot(d, q);
        maxRes = 0;
        for (let u = 0; u < U; u++) {
          x[u]! += alpha * d[u]!;
          r[u]! -= alpha * q[u]!;
          maxRes = Math.max(maxRes, Math.abs(r[u]!) / fine.diag[u]!);
        }
        it++;
        if (maxRes <= tol) break;
        vcycle(levels, 0, r, z);
        const rzNew = dot(r, z);
        const beta = rzNew / rz;
        rz = rzNew;
        for (let u = 0; u < U; u++) d[u] = z[u]! + beta * d[u]!;
      }
    }
    iterations = Math.max(iterations, it);
    worst = Math.max(worst, maxRes);
    for (let u = 0; u < U; u++) pl[fine.pixels[u]!] = x[u]!;
  }
  return { iterations, residual: worst };
}

/** One grid of the hierarchy: its unknowns, their equations, and the prolongation from the next coarser grid. */
interface Level {
  W: number;
  H: number;
  /** Pixel index of each unknown, raster order. */
  pixels: Int32Array;
  diag: Float64Array;
  /** Couplings between unknowns (compressed rows): -vals[k] * x[cols[k]]. */
  rowStart: Int32Array;
  cols: Int32Array;
  vals: Float64Array;
  /** Kept neighbours (right-hand side; used on the finest grid). */
  knownStart: Int32Array;
  knownPix: Int32Array;
  knownW: Float64Array;
  /** Prolongation from the next level: 4 coarse unknowns (-1: none) and weights per unknown here. */
  pIdx?: Int32Array;
  pW?: Float64Array;
  /** Scratch vectors of this level's size. */
  res: Float64Array;
  tmp: Float64Array;
}

function buildLevel(removed: Uint8Array, W: number, H: number): Level {
  const n = W * H;
  const varOf = new Int32Array(n).fill(-1);
  let U = 0;
  for (let p = 0; p < n; p++) if (removed[p]) varOf[p] = U++;
  const pixels = new Int32Array(U);
  for (let p = 0; p < n; p++) if (removed[p]) pixels[varOf[p]!] = p;
  const diag = new Float64Array(U);
  const rowStart = new Int32Array(U + 1);
  const cols = new Int32Array(8 * U);
  const vals = new Float64Array(8 * U);
  const knownStart = new Int32Array(U + 1);
  const knownPix = new Int32Array(8 * U);
  const knownW = new Float64Array(8 * U);
  let nc = 0;
  let nk = 0;
  for (let u = 0; u < U; u++) {
    const p = pixels[u]!;
    const x = p % W;
    const y = (p - x) / W;
    for (const [dx, dy, w] of OFFSETS) {
      const xx = x + dx;
      const yy = y + dy;
      if (xx < 0 || yy < 0 || xx >= W || yy >= H) continue;
      const q = yy * W + xx;
      diag[u]! += w;
      if (removed[q]) (cols[nc] = varOf[q]!), (vals[nc++] = w);
      else (knownPix[nk] = q), (knownW[nk++] = w);
    }
    rowStart[u + 1] = nc;
    knownStart[u + 1] = nk;
  }
  return { W, H, pixels, diag, rowStart, cols, vals, knownStart, knownPix, knownW, res: new Float64Array(U), tmp: new Float64Array(U) };
}

/**
 * Grids from fine to coarse. A coarse cell is unknown only when all its children are, so
 * kept pixels survive every coarsening and no coarse system becomes singular.
 */
function buildHierarchy(removed: Uint8Array, W: number, H: number): Level[] {
  const levels = [buildLevel(removed, W, H)];
  let mask = removed;
  let w = W;
  let h = H;
  while (w >= 8 && h >= 8 && levels[levels.length - 1]!.pixels.length > 64) {
    const w2 = Math.ceil(w / 2);
    const h2 = Math.ceil(h / 2);
    const m2 = new Uint8Array(w2 * h2).fill(1);
    for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) if (!mask[y * w + x]) m2[(y >> 1) * w2 + (x >> 1)] = 0;
    const coarse = buildLevel(m2, w2, h2);
    if (coarse.pixels.length === 0) break;
    const fine = levels[levels.length - 1]!;
    const cVar = new Int32Array(w2 * h2).fill(-1);
    coarse.pixels.forEach((p, j) => (cVar[p] = j));
    const U = fine.pixels.length;
    fine.pIdx = new Int32Array(4 * U);
    fine.pW = new Float64Array(4 * U);
    for (let u = 0; u < U; u++) {
      const p = fine.pixels[u]!;
      const x = p % w;
      const y = (p - x) / w;
      // Cell-centred bilinear: 3/4 from the parent, 1/4 from the next coarse cell on the near side.
      const [xa, xb, wx] = taps(x, w2);
      const [ya, yb, wy] = taps(y, h2);
      const cells = [ya * w2 + xa, ya * w2 + xb, yb * w2 + xa, yb * w2 + xb];
      const ws = [wy * wx, wy * (1 - wx), (1 - wy) * wx, (1 - wy) * (1 - wx)];
      for (let k = 0; k < 4; k++) {
        fine.pIdx[4 * u + k] = cVar[cells[k]!]!;
        fine.pW[4 * u + k] = ws[k]!;
      }
    }
    levels.push(coarse);
    mask = m2;
    w = w2;
    h = h2;
  }
  return levels;
}

/** Parent cell, neighbour cell and the parent's weight for fine index i on a coarse axis of n cells. */
function taps(i: number, n: number): [number, number, number] {
  const parent = i >> 1;
  const other = i & 1 ? parent + 1 : parent - 1;
  if (other < 0 || other >= n) return [parent, parent, 1];
  return [parent, other, 0.75];
}

function multiply(l: Level, v: Float64Array, out: Float64Array): void {
  const { diag, rowStart, cols, vals } = l;
  const U = diag.length;
  for (let u = 0; u < U; u++) {
    let s = diag[u]! * v[u]!;
    for (let k = rowStart[u]!; k < rowStart[u + 1]!; k++) s -= vals[k]! * v[cols[k]!]!;
    out[u] = s;
  }
}

/** Gauss-Seidel sweeps on l's system, forward or backward (backward after forward keeps the V-cycle symmetric). */
function gaussSeidel(l: Level, b: Float64Array, x: Float64Array, forward: boolean, sweeps: number): void {
  const { diag, rowStart, cols, vals } = l;
  const U = diag.length;
  for (let s = 0; s < sweeps; s++) {
    for (let i = 0; i < U; i++) {
      const u = forward ? i : U - 1 - i;
      let acc = b[u]!;
      for (let k = rowStart[u]!; k < rowStart[u + 1]!; k++) acc += vals[k]! * x[cols[k]!]!;
      x[u] = acc / diag[u]!;
    }
  }
}

/** x = V-cycle(b) on level i, from x = 0: an SPD approximation of A_i^{-1} b. */
function vcycle(levels: Level[], i: number, b: Float64Array, x: Float64Array): void {
  const l = levels[i]!;
  x.fill(0);
  const next = levels[i + 1];
  if (!next) {
    // Coarsest grid (at most 64 unknowns, or nothing coarser): symmetric sweeps until converged enough.
    for (let s = 0; s < 30; s++) {
      gaussSeidel(l, b, x, true, 1);
      gaussSeidel(l, b, x, false, 1);
    }
    return;
  }
  gaussSeidel(l, b, x, true, 2);
  multiply(l, x, l.res);
  for (let u = 0; u < b.length; u++) l.res[u] = b[u]! - l.res[u]!;
  const rc = next.tmp;
  rc.fill(0);
  const pIdx = l.pIdx!;
  const pW = l.pW!;
  for (let u = 0; u < b.length; u++) {
    const r = l.res[u]!;
    for (let k = 4 * u; k < 4 * u + 4; k++) if (pIdx[k]! >= 0) rc[pIdx[k]!]! += pW[k]! * r;
  }
  const ec = new Float64Array(next.pixels.length);
  vcycle(levels, i + 1, rc.slice(), ec);
  for (let u = 0; u < b.length; u++) {
    let s = 0;
    for (let k = 4 * u; k < 4 * u + 4; k++) if (pIdx[k]! >= 0) s += pW[k]! * ec[pIdx[k]!]!;
    x[u]! += s;
  }
  gaussSeidel(l, b, x, false, 2);
}

function dot(a: Float64Array, b: Float64Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]! * b[i]!;
  return s;
}
