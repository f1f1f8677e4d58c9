import { test } from 'node:test';
import assert from 'node:assert/strict';
import { linearImpute } from '../../src/metrics/imputation.js';
import { imputeNoisy, removedCount, roadInputs, roadSummary } from '../../src/metrics/road.js';
import { salienceOrder } from '../../src/metrics/ranking.js';
import { Prng } from '../../src/prng.js';
import type { TensorLayout } from '../../src/metrics/tensor-image.js';

/** Dense oracle: each removed pixel = weighted mean of its in-image neighbours (1/6 axis, 1/12 diagonal), by Gaussian elimination. */
function denseImpute(plane: Float64Array, removed: Uint8Array, W: number, H: number): Float64Array {
  const vars: number[] = [];
  removed.forEach((r, p) => r && vars.push(p));
  const U = vars.length;
  const A = Array.from({ length: U }, () => new Float64Array(U + 1));
  vars.forEach((p, i) => {
    const x = p % W;
    const y = Math.floor(p / W);
    let total = 0;
    for (let dy = -1; dy <= 1; dy++) {
      for (let dx = -1; dx <= 1; dx++) {
        if (!dx && !dy) continue;
        const xx = x + dx;
        const yy = y + dy;
        if (xx < 0 || yy < 0 || xx >= W || yy >= H) continue;
        const w = dx && dy ? 1 / 12 : 1 / 6;
        total += w;
        const q = yy * W + xx;
        if (removed[q]) A[i]![vars.indexOf(q)]! -= w;
        else A[i]![U]! += w * plane[q]!;
      }
    }
    A[i]![i]! += total;
  });
  for (let c = 0; c < U; c++) {
    let piv = c;
    for (let r = c + 1; r < U; r++) if (Math.abs(A[r]![c]!) > Math.abs(A[piv]![c]!)) piv = r;
    [A[c], A[piv]] = [A[piv]!, A[c]!];
    for (let r = 0; r < U; r++) {
      if (r === c) continue;
      const f = A[r]![c]! / A[c]![c]!;
      for (let k = c; k <= U; k++) A[r]![k]! -= f * A[c]![k]!;
    }
  }
  const out = plane.slice();
  vars.forEach((p, i) => (out[p] = A[i]![U]! / A[i]![i]!));
  return out;
}

test('linear imputation reproduces a linear ramp exactly away from the border', () => {
  const W = 40;
  const H = 30;
  const ramp = (x: number, y: number) => 0.3 + 0.02 * x - 0.035 * y;
  const planes = [0, 1].map((c) => Float64Array.from({ length: W * H }, (_, p) => ramp(p % W, Math.floor(p / W)) * (c + 1)));
  const removed = new Uint8Array(W * H);
  // A big blob and scattered pixels, none on the border row or column.
  for (let y = 1; y < H - 1; y++) for (let x = 1; x < W - 1; x++) if ((x - 15) ** 2 + (y - 14) ** 2 < 120 || (x * 7 + y * 3) % 11 === 0) removed[y * W + x] = 1;
  const truth = planes.map((p) => p.slice());
  for (const p of planes) for (let i = 0; i < p.length; i++) if (removed[i]) p[i] = 99;
  linearImpute(planes, removed, W, H, { tolerance: 1e-12 });
  planes.forEach((p, c) => p.forEach((v, i) => assert.ok(Math.abs(v - truth[c]![i]!) < 1e-9, `channel ${c} pixel ${i}: ${v} vs ${truth[c]![i]}`)));
});

test('linear imputation solves the same system as a dense direct solver, border pixels included', () => {
  const W = 13;
  const H = 11;
  const rng = new Prng(5);
  const plane = Float64Array.from({ length: W * H }, () => rng.float() * 2 - 1);
  const removed = new Uint8Array(W * H);
  for (let p = 0; p < W * H; p++) if (rng.float() < 0.6 || (p % W < 4 && Math.floor(p / W) < 5)) removed[p] = 1;
  const oracle = denseImpute(plane, removed, W, H);
  const mine = [plane.slice()];
  const report = linearImpute(mine, removed, W, H, { tolerance: 1e-13 });
  assert.ok(report.residual <= 1e-13);
  mine[0]!.forEach((v, i) => assert.ok(Math.abs(v - oracle[i]!) < 1e-10, `pixel ${i}: ${v} vs ${oracle[i]}`));
});

test('multigrid-preconditioned CG needs few iterations even when 90% of a 224 x 224 image is removed', () => {
  const W = 224;
  const H = 224;
  const heat = Float32Array.from({ length: W * H }, (_, p) => Math.exp(-(((p % W) - 80) ** 2 + (Math.floor(p / W) - 120) ** 2) / 3200));
  const order = salienceOrder(heat, 1);
  const removed = new Uint8Array(W * H);
  for (let i = 0; i < removedCount(W * H, 90); i++) removed[order[i]!] = 1;
  const plane = Float64Array.from({ length: W * H }, (_, p) => Math.sin((p % W) / 9) + Math.cos(Math.floor(p / W) / 13));
  const r = linearImpute([plane], removed, W, H);
  assert.ok(r.iterations <= 20, `${r.iterations} iterations`);
});

test('ROAD removes the most (MoRF) or least (LeRF) salient pixels, imputes them and adds noise of the given std', () => {
  const layout: TensorLayout = { height: 64, width: 64, channels: 3, layout: 'NCHW' };
  const n = 64 * 64;
  const image = Float32Array.from({ length: 3 * n }, (_, i) => ((i % 64) / 64) * (1 + Math.floor(i / n)));
  const heat = Float32Array.from({ length: n }, (_, p) => p % 64); // saliency grows to the right
  const order = salienceOrder(heat, 0);
  const [morf] = roadInputs(image, order, [25], 'morf', layout, { noiseStd: [0, 0, 0] });
  const [lerf] = roadInputs(image, order, [25], 'lerf', layout, { noiseStd: [0, 0, 0] });
  // MoRF at 25% removes the 16 right-most columns, LeRF the 16 left-most; the rest is untouched.
  for (let y = 0; y < 64; y++) {
    for (let x = 0; x < 64; x++) {
      const p = y * 64 + x;
      if (x < 48) assert.equal(morf![p], image[p]);
      if (x >= 16) assert.equal(lerf![p], image[p]);
    }
  }
  // Noise: only on removed pixels, zero-mean, of the std asked for each channel.
  const noisy = new Prng(1);
  const removed = new Uint8Array(n);
  for (let p = 0; p < n; p++) if (p % 3 === 0) removed[p] = 1;
  const sd = [0.05, 0.1, 0.2];
  const clean = imputeNoisy(image, removed, layout, { noiseStd: [0, 0, 0] }, noisy);
  const withNoise = imputeNoisy(image, removed, layout, { noiseStd: sd }, new Prng(2));
  for (let c = 0; c < 3; c++) {
    let s = 0;
    let s2 = 0;
    let k = 0;
    for (let p = 0; p < n; p++) {
      const i = c * n + p;
      if (!removed[p]) {
        assert.equal(withNoise[i], image[i]);
        continue;
      }
      const d = withNoise[i]! - clean[i]!;
      s += d;
      s2 += d * d;
      k++;
    }
    const mean = s / k;
    const std = Math.sqrt(s2 / k - mean * mean);
    assert.ok(Math.abs(std / sd[c]! - 1) < 0.06, `channel ${c}: noise std ${std} vs ${sd[c]}`);
    assert.ok(Math.abs(mean) < 4 * (sd[c]! / Math.sqrt(k)), `channel ${c}: noise mean ${mean}`);
  }
});

test('ROAD summaries: means over percentiles and (LeRF - MoRF) / 2', () => {
  const s = roadSummary([0.2, 0.1, 0.0], [0.9, 0.8, 0.7]);
  assert.ok(Math.abs(s.morf - 0.1) < 1e-12);
  assert.ok(Math.abs(s.lerf - 0.8) < 1e-12);
  assert.ok(Math.abs(s.combined - 0.35) < 1e-12);
  assert.equal(removedCount(1000, 10), 100);
});
