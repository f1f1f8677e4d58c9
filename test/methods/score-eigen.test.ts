/**
 * Score-CAM, Eigen-CAM and Eigen-Grad-CAM against pytorch-grad-cam's formulas in torch
 * (tools/method_references.py), and Eigen-CAM's defining property on a rank-1 layer.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Model } from '../../src/engine/model.js';
import { A } from '../../src/engine/graph/attributes.js';
import { float32Tensor } from '../../src/engine/graph/tensor-data.js';
import type { Graph } from '../../src/engine/graph/types.js';
import { Pipeline } from '../../src/methods/pipeline.js';
import { createMethod } from '../../src/methods/registry.js';
import { relError } from '../helpers/fixtures.js';
import { fixturePipeline, runtime } from '../helpers/methods.js';

const REFS = JSON.parse(readFileSync(fileURLToPath(new URL('../fixtures/method-refs.json', import.meta.url)), 'utf8'));

for (const name of ['resnet', 'vgg']) {
  test(`scorecam, eigencam and eigengradcam on ${name} equal pytorch-grad-cam's`, async () => {
    const { fx, pipeline, images } = await fixturePipeline(name);
    const ref = REFS[name];
    const targets = fx.meta.samples.map((s) => s.target);
    for (const method of ['scorecam', 'eigencam', 'eigengradcam']) {
      const res = await createMethod(method, pipeline).explain(images, { layer: ref.layer, targets, internalBatchSize: 5 });
      res.forEach((e, i) => {
        const err = relError(e.cam, ref[method][i]);
        assert.ok(err < 1e-4, `${name} ${method} sample ${i}: cam error ${err}`);
        assert.equal(e.method, method);
      });
    }
  });
}

test('Eigen-CAM of a rank-1 activation tensor is that map (centred, sign-corrected)', async () => {
  // x [N, 1, 8, 8] -> 1x1 Conv with 4 channels s_k (A_k = s_k x: rank 1) -> GlobalAveragePool -> Flatten -> Gemm.
  const n = (opType: string, inputs: string[], outputs: string[], attributes: Graph['nodes'][number]['attributes'] = {}) => ({ name: `${opType}_${outputs[0]}`, opType, domain: '', inputs, outputs, attributes });
  const s = [0.5, -1, 2, 0.25];
  const graph: Graph = {
    name: 'rank1', opset: 17, otherOpsets: [], irVersion: 8, producerName: 'test', valueInfo: new Map(),
    inputs: [{ name: 'x', dataType: 'float32', shape: ['N', 1, 8, 8] }],
    outputs: [{ name: 'y', dataType: 'float32' }],
    initializers: new Map([['w', float32Tensor(s, [4, 1, 1, 1])], ['wg', float32Tensor([1, 0, 0, 1, 0, 1, 1, 0], [2, 4])]]),
    nodes: [n('Conv', ['x', 'w'], ['a']), n('GlobalAveragePool', ['a'], ['p']), n('Flatten', ['p'], ['f']), n('Gemm', ['f', 'wg'], ['y'], { transB: A.int(1) })],
  };
  const pipeline = new Pipeline(Model.prepare(graph, { source: 'rank1' }), runtime);
  // A blob in the lower right on a ramp: the map Eigen-CAM must return.
  const x = Float32Array.from({ length: 64 }, (_, i) => 0.05 * (i % 8) + (Math.floor(i / 8) > 4 && i % 8 > 4 ? 3 : 0));
  const [e] = await createMethod('eigencam', pipeline).explain([x], { layer: 'a' });
  const mean = x.reduce((a, b) => a + b, 0) / 64;
  const norm = Math.hypot(...s);
  const expected = Array.from(x, (v) => Math.max(0, (v - mean) * norm));
  assert.ok(relError(e!.cam, expected) < 1e-5, `error ${relError(e!.cam, expected)}`);
  // The direction is s / |s| (up to the corrected sign).
  assert.ok(relError(e!.weights.map(Math.abs), s.map((v) => Math.abs(v) / norm)) < 1e-6);
});
