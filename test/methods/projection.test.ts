/**
 * get_2d_projection (src/methods/projection.ts): the symmetric eigen-solver on random and
 * degenerate matrices, and the first principal component where power iteration fails (first two
 * singular values within 1e-4), in both orientations (C <= H*W and C > H*W).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { get2dProjection, symmetricEigen } from '../../src/methods/projection.js';
import { Prng } from '../../src/prng.js';
import { relError } from '../helpers/fixtures.js';

/** max |A V - V D| and max |V^T V - I| over the entries, relative to max |A|. */
function residuals(a: Float64Array, n: number): { eigen: number; orthonormal: number } {
  const { values, vectors } = symmetricEigen(a, n);
  const scale = Math.max(1e-300, ...Array.from(a, Math.abs));
  let eigen = 0;
  let orthonormal = 0;
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      let av = 0;
      let vv = 0;
      for (let k = 0; k < n; k++) {
        av += a[i * n + k]! * vectors[k * n + j]!;
        vv += vectors[k * n + i]! * vectors[k * n + j]!;
      }
      eigen = Math.max(eigen, Math.abs(av - vectors[i * n + j]! * values[j]!) / scale);
      orthonormal = Math.max(orthonormal, Math.abs(vv - (i === j ? 1 : 0)));
    }
  }
  return { eigen, orthonormal };
}

function symmetric(n: number, entries: number[]): Float64Array {
  const a = new Float64Array(n * n);
  let q = 0;
  for (let i = 0; i < n; i++) for (let j = 0; j <= i; j++) a[i * n + j] = a[j * n + i] = entries[q++ % entries.length]!;
  return a;
}

test('symmetricEigen: A V = V D with V orthonormal, on random symmetric matrices', () => {
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 24 }), fc.array(fc.integer({ min: -1e6, max: 1e6 }).map((v) => v / 1e3), { minLength: 1, maxLength: 300 }), (n, entries) => {
      const r = residuals(symmetric(n, entries), n);
      assert.ok(r.eigen < 1e-12 && r.orthonormal < 1e-12, JSON.stringify(r));
    }),
    { numRuns: 200 },
  );
});

test('symmetricEigen: degenerate matrices (zero, identity, rank 1, repeated eigenvalues)', () => {
  const n = 9;
  const identity = symmetric(n, [0]).map((_, i) => (i % (n + 1) === 0 ? 2 : 0));
  const u = Float64Array.from({ length: n }, (_, i) => Math.sin(i + 1));
  const rank1 = Float64Array.from({ length: n * n }, (_, q) => u[Math.floor(q / n)]! * u[q % n]!);
  for (const [what, a] of [['zero', new Float64Array(n * n)], ['2 I', identity], ['u u^T', rank1], ['ones', new Float64Array(n * n).fill(1)]] as const) {
    const r = residuals(a, n);
    assert.ok(r.eigen < 1e-12 && r.orthonormal < 1e-12, `${what}: ${JSON.stringify(r)}`);
  }
  const { values } = symmetricEigen(rank1, n);
  const top = Math.max(...values);
  assert.ok(Math.abs(top - u.reduce((s, v) => s + v * v, 0)) < 1e-12, 'the one non-zero eigenvalue is |u|^2');
});

/** [C, HW] = sum_i s_i v_i u_i^T with orthonormal v_i and zero-mean orthonormal u_i: SVD known. */
function planted(channels: number, hw: number, s: number[], seed: number): { t: Float64Array; u1: Float64Array } {
  const prng = new Prng(seed);
  const orthonormal = (len: number, count: number, zeroMean: boolean) => {
    const vs: Float64Array[] = zeroMean ? [new Float64Array(len).fill(1)] : [];
    while (vs.length < count + (zeroMean ? 1 : 0)) {
      const v = Float64Array.from({ length: len }, () => prng.float() - 0.5);
      for (const w of vs) {
        const d = v.reduce((acc, x, i) => acc + x * w[i]!, 0) / w.reduce((acc, x) => acc + x * x, 0);
        for (let i = 0; i < len; i++) v[i]! -= d * w[i]!;
      }
      const norm = Math.hypot(...v);
      vs.push(v.map((x) => x / norm));
    }
    return zeroMean ? vs.slice(1) : vs;
  };
  const v = orthonormal(channels, s.length, false);
  const u = orthonormal(hw, s.length, true);
  const t = new Float64Array(channels * hw);
  s.forEach((si, i) => {
    for (let k = 0; k < channels; k++) for (let j = 0; j < hw; j++) t[k * hw + j]! += si * v[i]![k]! * u[i]![j]!;
  });
  // A channel offset: centring removes it.
  for (let k = 0; k < channels; k++) for (let j = 0; j < hw; j++) t[k * hw + j]! += 0.5 * k;
  return { t, u1: u[0]! };
}

test('get2dProjection: the first principal component when the first two singular values are within 1e-4', () => {
  for (const [channels, hw] of [[12, 49], [64, 16]] as const) {
    const { t, u1 } = planted(channels, hw, [3, 3 * 0.9999, 1, 0.5], 5);
    const { projection, direction } = get2dProjection(t, channels, hw);
    // M v = s1 u1, up to the sign rule (larger extreme positive).
    const expected = Array.from(u1, (x) => 3 * x);
    const sign = Math.abs(Math.min(...expected)) > Math.abs(Math.max(...expected)) ? -1 : 1;
    const err = relError(projection, expected.map((x) => sign * x));
    assert.ok(err < 1e-4, `${channels} channels x ${hw} positions: error ${err}`);
    assert.ok(Math.abs(Math.hypot(...direction) - 1) < 1e-6, 'the direction is a unit vector');
  }
});

test('get2dProjection: a constant map has no component (zeros, no NaN); NaN reads as 0', () => {
  const flat = get2dProjection(new Float32Array(4 * 9).fill(2), 4, 9);
  assert.ok(flat.projection.every((v) => v === 0));
  assert.ok(flat.direction.every((v) => Number.isFinite(v)));
  const wide = get2dProjection(new Float32Array(20 * 3).fill(1), 20, 3);
  assert.ok(wide.projection.every((v) => v === 0) && wide.direction.every((v) => Number.isFinite(v)));
  const t = Float32Array.from({ length: 2 * 4 }, (_, i) => i % 4);
  const withNaN = t.slice();
  withNaN[3] = NaN;
  const zeroed = t.slice();
  zeroed[3] = 0;
  assert.deepEqual(get2dProjection(withNaN, 2, 4), get2dProjection(zeroed, 2, 4));
});
