/**
 * Old-opset patterns the upgrade to opset 17 rewrites, checked by running the prepared graph
 * in onnxruntime against values computed here by hand. (Pad-2, Upsample-7/9, Dropout with
 * is_test, BatchNormalization with spatial=1 and Reshape from Shape are covered by the
 * variety_opset7 / variety_opset9 fixtures against torch.)
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Model } from '../../src/engine/model.js';
import { A } from '../../src/engine/graph/attributes.js';
import { float32Tensor } from '../../src/engine/graph/tensor-data.js';
import type { Graph, Node } from '../../src/engine/graph/types.js';
import { ModelFormatError } from '../../src/errors.js';
import { relError } from '../helpers/fixtures.js';
import { randomArray, rng, runGraph } from '../helpers/grad-check.js';

const n = (opType: string, inputs: string[], outputs: string[], attributes: Node['attributes'] = {}): Node => ({ name: `${opType}_${outputs[0]}`, opType, domain: '', inputs, outputs, attributes });

/** CNTK-style opset 7: ImageScaler, per-activation BatchNormalization (spatial=0), Flatten, Gemm. */
function cntkGraph(statsDims: number[]): { graph: Graph; stats: Float32Array[]; w: Float32Array } {
  const rand = rng(7);
  const stats = [randomArray(48, rand, 0.5, 1.5), randomArray(48, rand), randomArray(48, rand), randomArray(48, rand, 0.2, 1)];
  const w = randomArray(48 * 2, rand);
  const graph: Graph = {
    name: 'cntk',
    nodes: [
      n('ImageScaler', ['x'], ['s'], { scale: A.float(0.5), bias: A.floats([1, 2, 3]) }),
      n('BatchNormalization', ['s', 'gamma', 'beta', 'mean', 'var'], ['b'], { spatial: A.int(0), epsilon: A.float(1e-3) }),
      n('Relu', ['b'], ['r']),
      n('Flatten', ['r'], ['f']),
      n('Gemm', ['f', 'w'], ['y']),
    ],
    initializers: new Map([
      ['gamma', float32Tensor(stats[0]!, statsDims)],
      ['beta', float32Tensor(stats[1]!, statsDims)],
      ['mean', float32Tensor(stats[2]!, statsDims)],
      ['var', float32Tensor(stats[3]!, statsDims)],
      ['w', float32Tensor(w, [48, 2])],
    ]),
    inputs: [{ name: 'x', dataType: 'float32', shape: [1, 3, 4, 4] }],
    outputs: [{ name: 'y', dataType: 'float32' }],
    valueInfo: new Map(),
    opset: 7,
    otherOpsets: [],
    irVersion: 3,
    producerName: 'CNTK',
  };
  return { graph, stats, w };
}

for (const dims of [[3, 4, 4], [48]]) {
  test(`opset 7: ImageScaler and BatchNormalization spatial=0 (statistics [${dims.join(', ')}]) give the values computed by hand`, async () => {
    const { graph, stats, w } = cntkGraph(dims);
    const model = Model.prepare(graph, { source: 'cntk.onnx' });
    assert.ok(!model.graph.nodes.some((x) => x.opType === 'ImageScaler' || x.opType === 'BatchNormalization'));
    const x = randomArray(2 * 48, rng(3));
    const r = await runGraph(model.build({}).graph, { x: { data: x, dims: [2, 3, 4, 4] } });
    const [gamma, beta, mean, variance] = stats as [Float32Array, Float32Array, Float32Array, Float32Array];
    const expected: number[] = [];
    for (let b = 0; b < 2; b++) {
      const act = Array.from({ length: 48 }, (_, i) => {
        const scaled = 0.5 * x[b * 48 + i]! + [1, 2, 3][Math.floor(i / 16)]!;
        const normed = ((scaled - mean[i]!) / Math.sqrt(variance[i]! + 1e-3)) * gamma[i]! + beta[i]!;
        return Math.max(0, normed);
      });
      for (let k = 0; k < 2; k++) expected.push(act.reduce((s, a, i) => s + a * w[i * 2 + k]!, 0));
    }
    const logits = Object.values(r)[0]!;
    assert.deepEqual(logits.dims, [2, 2]);
    assert.ok(relError(logits.data, expected) < 1e-5, `relative error ${relError(logits.data, expected)}`);
  });
}

test('opset 7: BatchNormalization spatial=0 whose statistics do not fit its input is refused with the node named', () => {
  const { graph } = cntkGraph([48]);
  graph.initializers.set('mean', float32Tensor(new Float32Array(12), [12]));
  graph.initializers.set('var', float32Tensor(new Float32Array(12).fill(1), [12]));
  graph.initializers.set('gamma', float32Tensor(new Float32Array(12).fill(1), [12]));
  graph.initializers.set('beta', float32Tensor(new Float32Array(12), [12]));
  assert.throws(() => Model.prepare(graph, { source: 'cntk.onnx' }), (e: Error) => e instanceof ModelFormatError && /cntk\.onnx: node 'BatchNormalization_b'.*spatial=0.*12 statistics/.test(e.message));
});
