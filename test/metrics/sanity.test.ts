import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readOnnxFile } from '../../src/node/load-onnx.js';
import { Model } from '../../src/engine/model.js';
import { parameterLayers, randomizeTopLayers, stageCounts } from '../../src/metrics/sanity.js';
import { loadFixture } from '../helpers/fixtures.js';

function sd(a: Float32Array): number {
  const m = a.reduce((s, v) => s + v, 0) / a.length;
  return Math.sqrt(a.reduce((s, v) => s + (v - m) ** 2, 0) / a.length);
}

test('stages start with the top layer alone and end with every layer', () => {
  assert.deepEqual(stageCounts(28, 6), [1, 6, 12, 17, 23, 28]);
  assert.deepEqual(stageCounts(3, 6), [1, 2, 3]);
  assert.deepEqual(stageCounts(10, 1), [1]);
});

test('cascading randomisation re-draws the top layers only, keeps each tensor scale, and cascades', async () => {
  const fx = loadFixture('resnet');
  const graph = Model.prepare(await readOnnxFile(fx.onnxPath), { source: 'resnet' }).graph;
  const layers = parameterLayers(graph);
  assert.deepEqual(layers.map((l) => l.op), [...new Array(8).fill('Conv'), 'Gemm']);
  const g1 = randomizeTopLayers(graph, layers, 1, 7);
  const g3 = randomizeTopLayers(graph, layers, 3, 7);
  for (const [i, l] of layers.entries()) {
    for (const t of l.tensors) {
      const orig = graph.initializers.get(t)!.data as Float32Array;
      const r1 = g1.initializers.get(t)!.data as Float32Array;
      const r3 = g3.initializers.get(t)!.data as Float32Array;
      if (i < layers.length - 1) assert.equal(r1, orig, `${t} untouched at stage 1`);
      if (i < layers.length - 3) assert.equal(r3, orig, `${t} untouched at stage 3`);
      if (i >= layers.length - 3 && sd(orig) > 0) {
        assert.notDeepEqual(r3, orig);
        // Same spread (Gaussian sample std within 25% for these small tensors).
        assert.ok(Math.abs(sd(r3) / sd(orig) - 1) < 0.25, `${t}: sd ${sd(r3)} vs ${sd(orig)}`);
      }
      // A layer randomised at stage 1 keeps the same random weights at stage 3.
      if (i === layers.length - 1) assert.deepEqual(r1, r3);
    }
  }
  // The original graph is not modified.
  const again = Model.prepare(await readOnnxFile(fx.onnxPath), { source: 'resnet' }).graph;
  for (const l of layers) for (const t of l.tensors) assert.deepEqual(graph.initializers.get(t)!.data, again.initializers.get(t)!.data);
});
