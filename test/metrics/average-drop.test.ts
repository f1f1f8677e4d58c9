import { test } from 'node:test';
import assert from 'node:assert/strict';
import { confidenceTerms, explanationMapInput } from '../../src/metrics/average-drop.js';
import { presetSpec, toTensor, blackBaseline } from '../../src/image/preprocess.js';

const close = (a: number, b: number, tol = 1e-9) => assert.ok(Math.abs(a - b) <= tol, `${a} vs ${b}`);

test('AD / IC / AG terms on hand cases', () => {
  let t = confidenceTerms(0.8, 0.6);
  close(t.drop, 25);
  assert.equal(t.increase, 0);
  assert.equal(t.gain, 0);
  t = confidenceTerms(0.5, 0.75);
  assert.equal(t.drop, 0);
  assert.equal(t.increase, 100);
  close(t.gain, 50);
  t = confidenceTerms(0.4, 0.4);
  assert.deepEqual([t.drop, t.increase, t.gain], [0, 0, 0]);
  // Y = 1 leaves no room to gain.
  assert.equal(confidenceTerms(1, 1).gain, 0);
});

test('the explanation map is the RGB image times the heatmap, then preprocessed', () => {
  for (const layout of ['NCHW', 'NHWC'] as const) {
    const spec = presetSpec('imagenet', [2, 3], layout);
    const rgb = Uint8Array.from({ length: 18 }, (_, i) => (i * 37) % 256);
    const heat = [0, 0.25, 0.5, 0.75, 1, 0.1];
    const expected = new Float32Array(18);
    // Oracle: multiply the pixels in float and preprocess by the formula (px * scale - mean) / std.
    for (let p = 0; p < 6; p++) {
      for (let c = 0; c < 3; c++) {
        const px = rgb[p * 3 + c]! * heat[p]!;
        const v = (px * spec.scale - spec.mean[c]!) / spec.std[c]!;
        expected[layout === 'NCHW' ? c * 6 + p : p * 3 + c] = v;
      }
    }
    const got = explanationMapInput(toTensor({ width: 3, height: 2, data: rgb }, spec), blackBaseline(spec), heat, { height: 2, width: 3, channels: 3, layout });
    got.forEach((v, i) => close(v, expected[i]!, 1e-5));
  }
});
