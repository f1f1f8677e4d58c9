/**
 * The refinement core of steps 'auto' on a synthetic path whose answer is known: the score is
 * a sharp sigmoid along the path, and the gradient's direction over the layer's channels
 * turns inside the same stretch, so both the completeness sum and the heatmap depend on
 * resolving it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PathRefinement, relativeHeatmapChanges, type RefinedPath } from '../../src/methods/adaptive.js';
import { weightedChannelSum, spatialMean } from '../../src/methods/cam.js';

const C = 2;
const HW = 16;
const SIZE = C * HW;
const CENTRE = 0.6137;
const SHARPNESS = 150;
/** The layer at the image: two channels with different spatial patterns. */
const V = Float32Array.from({ length: SIZE }, (_, e) => (e < HW ? 1 + (e % 4) : 1 + Math.floor((e - HW) / 4) * 0.7));
const sigmoid = (z: number) => 1 / (1 + Math.exp(-z));
const score = (a: number) => sigmoid(SHARPNESS * (a - CENTRE));

/** A(alpha) = alpha V; g is ds/dalpha along a direction u(alpha) that turns from channel 0 to 1, scaled so that g . dA/dalpha = ds/dalpha. */
function point(alpha: number): { s: number; a: Float32Array; g: Float32Array } {
  const t = sigmoid(SHARPNESS * (alpha - CENTRE - 0.01));
  const u = Float64Array.from({ length: SIZE }, (_, e) => (e < HW ? 1 - t : t) * (1 + 0.1 * (e % 3)));
  let uv = 0;
  for (let e = 0; e < SIZE; e++) uv += u[e]! * V[e]!;
  const ds = SHARPNESS * score(alpha) * (1 - score(alpha));
  return { s: score(alpha), a: V.map((v) => alpha * v), g: Float32Array.from(u, (x) => (ds * x) / uv) };
}

const cam = (ig: ArrayLike<number>) => weightedChannelSum(V, spatialMean(Float32Array.from(ig), C, HW), C, HW);

/** The trapezoid over a dense uniform grid. */
function reference(m: number): Float64Array {
  const ig = new Float64Array(SIZE);
  let prev = point(0);
  for (let i = 1; i <= m; i++) {
    const cur = point(i / m);
    for (let e = 0; e < SIZE; e++) ig[e]! += 0.5 * (prev.g[e]! + cur.g[e]!) * (cur.a[e]! - prev.a[e]!);
    prev = cur;
  }
  return ig;
}

function refine(tolerance: number, maxEvaluations = 200, maxStoredPoints?: number, onRound?: (r: PathRefinement) => void): RefinedPath {
  const r = new PathRefinement({
    layers: [{ size: SIZE, hw: HW }],
    integrands: [],
    rule: 'trapezoid',
    tolerance,
    maxEvaluations,
    maxStoredPoints,
    cam: (_l, integrals) => cam(integrals[0]!),
  });
  for (;;) {
    const alphas = r.next();
    onRound?.(r);
    if (!alphas.length) break;
    for (const alpha of alphas) {
      const p = point(alpha);
      r.add(alpha, p.s, [p.a], [p.g]);
    }
  }
  return r.result();
}

const total = (v: ArrayLike<number>) => Array.from(v).reduce((a, b) => a + b, 0);
const scoreChange = score(1) - score(0);

test('the synthetic path is what the test means: completeness holds for the dense reference, and 16 uniform steps miss', () => {
  const ref = reference(20000);
  assert.ok(Math.abs(total(ref) - scoreChange) < 1e-6, `dense reference completeness ${total(ref) - scoreChange}`);
  const coarse = reference(16);
  const [heat] = relativeHeatmapChanges(cam(ref), [cam(ref).map((v, j) => v - cam(coarse)[j]!)]);
  assert.ok(Math.abs(total(coarse) - scoreChange) > 0.1 || heat! > 0.1, 'm = 16 resolves the transition: the fixture is too easy');
});

for (const tolerance of [0.05, 0.01, 0.001]) {
  test(`auto at tolerance ${tolerance} meets it against a dense uniform reference, and says so`, () => {
    const r = refine(tolerance);
    assert.equal(r.capReached, false);
    assert.ok(r.estimatedError <= tolerance, `estimated ${r.estimatedError}`);
    const ref = reference(20000);
    const ig = r.integrals[0]![0]!;
    const [heat] = relativeHeatmapChanges(cam(ref), [cam(ref).map((v, j) => v - cam(ig)[j]!)]);
    assert.ok(heat! <= tolerance, `heatmap error ${heat} at ${r.evaluations} evaluations`);
    const completeness = Math.abs(total(ig) - scoreChange) / scoreChange;
    assert.ok(completeness <= tolerance, `completeness error ${completeness}`);
    // The reported running sum ends at sum(IG); alphas are in path order with their scores.
    assert.ok(Math.abs(r.runningSum[0]!.at(-1)! - total(ig)) < 1e-9);
    assert.deepEqual(r.alphas, [...r.alphas].sort((a, b) => a - b));
    assert.equal(r.alphas.length, r.evaluations);
    r.alphas.forEach((a, i) => assert.ok(Math.abs(r.scores[i]! - score(a)) < 1e-12));
  });
}

test('the points gather in the sharp transition', () => {
  const r = refine(0.01);
  const inside = r.alphas.filter((a) => Math.abs(a - CENTRE) < 0.05).length;
  assert.ok(inside > r.evaluations / 2, `${inside} of ${r.evaluations} points within 0.05 of the transition: ${r.alphas.map((a) => a.toFixed(3)).join(' ')}`);
  // Uniform steps reaching the same spacing there would take far more evaluations.
  const spacing = Math.min(...r.alphas.slice(1).map((a, i) => a - r.alphas[i]!));
  assert.ok(1 / spacing > 2 * r.evaluations, `finest spacing 1/${1 / spacing} with ${r.evaluations} evaluations`);
});

test('the evaluation cap is honoured and reported', () => {
  const r = refine(1e-6, 11);
  assert.ok(r.evaluations <= 11, `${r.evaluations} evaluations`);
  assert.equal(r.capReached, true);
  assert.ok(r.estimatedError > 1e-6);
});

test('held points stay within maxStoredPoints; frozen intervals keep their sums', () => {
  let most = 0;
  const r = refine(0.01, 200, 9, (x) => {
    const held = [...(x as unknown as { points: Map<number, { a?: unknown }> }).points.values()].filter((p) => p.a).length;
    most = Math.max(most, held);
  });
  assert.ok(most <= 9, `${most} points held`);
  const ig = r.integrals[0]![0]!;
  // Whatever was frozen, the sum is still a trapezoid rule over every evaluated point.
  const trapezoid = new Float64Array(SIZE);
  for (let i = 1; i < r.alphas.length; i++) {
    const p = point(r.alphas[i - 1]!);
    const q = point(r.alphas[i]!);
    for (let e = 0; e < SIZE; e++) trapezoid[e]! += 0.5 * (p.g[e]! + q.g[e]!) * (q.a[e]! - p.a[e]!);
  }
  ig.forEach((v, e) => assert.ok(Math.abs(v - trapezoid[e]!) < 1e-9 * Math.max(1, Math.abs(v)), `element ${e}: ${v} vs ${trapezoid[e]}`));
});
