/**
 * Never a blank cam from a broken gradient path: a score that depends on the layer only
 * through a non-differentiable op (ArgMax, a Cast to int, NonMaxSuppression-like integer
 * outputs) or a piecewise-constant op (Round), or not at all, is refused with the op named.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Model } from '../../src/engine/model.js';
import { readOnnxFile } from '../../src/node/load-onnx.js';
import { float32Tensor, int64Tensor } from '../../src/engine/graph/tensor-data.js';
import { A } from '../../src/engine/graph/attributes.js';
import type { Graph, Node, ValueInfo } from '../../src/engine/graph/types.js';
import { OptionError, UnsupportedOperatorError } from '../../src/errors.js';
import { Pipeline } from '../../src/methods/pipeline.js';
import { createMethod } from '../../src/methods/registry.js';
import { loadFixture } from '../helpers/fixtures.js';
import { runtime } from '../helpers/methods.js';

const n = (opType: string, inputs: string[], outputs: string[], attributes: Node['attributes'] = {}): Node => ({ name: `${opType}_${outputs[0]}`, opType, domain: '', inputs, outputs, attributes });

/** x [N, 3, 8, 8] -> Conv (4 ch) -> Relu 'r' -> `middle` nodes producing 'm' [N, 4, 6, 6] float -> GAP -> Flatten -> MatMul -> y. */
function graphWith(middle: Node[], extra: [string, ReturnType<typeof float32Tensor>][] = []): Graph {
  // ArgMax and Round have no shape rule here: their shapes are recorded, as exporters do.
  const recorded = (name: string, dataType: 'float32' | 'int64', c: number): [string, ValueInfo] => [name, { name, dataType, shape: ['N', c, 6, 6] }];
  return {
    name: 'g',
    nodes: [
      n('Conv', ['x', 'w'], ['c']),
      n('Relu', ['c'], ['r']),
      ...middle,
      n('GlobalAveragePool', ['m'], ['p']),
      n('Flatten', ['p'], ['f']),
      n('MatMul', ['f', 'fc'], ['y']),
    ],
    initializers: new Map([
      ['w', float32Tensor(Array.from({ length: 4 * 3 * 3 * 3 }, (_, i) => Math.sin(i)), [4, 3, 3, 3])],
      ['fc', float32Tensor(Array.from({ length: 4 * 5 }, (_, i) => Math.cos(i)), [4, 5])],
      ...extra,
    ]),
    inputs: [{ name: 'x', dataType: 'float32', shape: ['N', 3, 8, 8] }],
    outputs: [{ name: 'y', dataType: 'float32' }],
    valueInfo: new Map([recorded('am', 'int64', 1), recorded('m', 'float32', 4)]),
    opset: 17,
    otherOpsets: [],
    irVersion: 8,
    producerName: 'test',
  };
}

test('ArgMax then Cast between the layer and the score: refused naming the ArgMax, for the layer and the input', () => {
  // m = Cast(ArgMax over channels, keepdims) broadcast against r: depends on r only via int64.
  const g = graphWith([
    n('ArgMax', ['r'], ['am'], { axis: A.int(1), keepdims: A.int(1) }),
    n('Cast', ['am'], ['amf'], { to: A.int(1) }),
    n('Mul', ['amf', 'ones'], ['m']),
  ], [['ones', float32Tensor(new Array(4).fill(1), [1, 4, 1, 1])]]);
  const model = Model.prepare(g, { source: 'argmax.onnx' });
  for (const layer of ['r', 'x']) {
    for (const score of ['logit', 'softmax'] as const) {
      assert.throws(
        () => model.build({ expose: [layer], score, wrt: [layer] }),
        (e: Error) => e instanceof UnsupportedOperatorError && /^argmax\.onnx: the score depends on layer '.*' only through node 'ArgMax_am' \(ArgMax\), whose output 'am' is int64: no gradient flows/.test(e.message),
        `${layer} ${score}`,
      );
    }
  }
});

test('Round on the path: refused naming the Round node', () => {
  const g = graphWith([n('Round', ['r'], ['m'])]);
  const model = Model.prepare(g, { source: 'round.onnx' });
  assert.throws(
    () => model.build({ score: 'logit', wrt: ['c'] }),
    (e: Error) => e instanceof UnsupportedOperatorError && /round\.onnx: node 'Round_m' \(Round\) lies between layer 'c' and the score; its gradient is zero almost everywhere/.test(e.message),
  );
  // After the Round the path is differentiable again.
  assert.doesNotThrow(() => model.build({ score: 'logit', wrt: ['m'] }));
});

test('a comparison used as a mask beside a differentiable path is fine (its gradient is zero almost everywhere, as in torch)', () => {
  // m = r * Cast(r > 0.5): d m / d r = mask, exact wherever r != 0.5.
  const g = graphWith([
    n('Greater', ['r', 'half'], ['gt']),
    n('Cast', ['gt'], ['mask'], { to: A.int(1) }),
    n('Mul', ['r', 'mask'], ['m']),
  ], [['half', float32Tensor([0.5], [])]]);
  const model = Model.prepare(g, { source: 'mask.onnx' });
  assert.doesNotThrow(() => model.build({ score: 'logit', wrt: ['r'] }));
});

test('a layer the score does not depend on (cut off by a fed layer) is refused, not given a zero gradient', async () => {
  const fx = loadFixture('resnet');
  const model = Model.prepare(await readOnnxFile(fx.onnxPath), { source: 'resnet' });
  const early = model.layer('layer1').tensor;
  const late = model.layer('layer2').tensor;
  assert.throws(
    () => model.build({ feed: late, score: 'logit', wrt: [early] }),
    (e: Error) => e instanceof OptionError && new RegExp(`resnet: the score does not depend on layer '${early.replace(/[/.]/g, '\\$&')}'`).test(e.message),
  );
  assert.doesNotThrow(() => model.build({ feed: late, score: 'logit', wrt: [late] }));
});

test('explain through the method layer surfaces the refusal (no all-zero cam with success)', async () => {
  const g = graphWith([
    n('ArgMax', ['r'], ['am'], { axis: A.int(1), keepdims: A.int(1) }),
    n('Cast', ['am'], ['amf'], { to: A.int(1) }),
    n('Mul', ['amf', 'ones'], ['m']),
  ], [['ones', float32Tensor(new Array(4).fill(1), [1, 4, 1, 1])], ['unused', int64Tensor([0])]]);
  const model = Model.prepare(g, { source: 'argmax.onnx' });
  const pipeline = new Pipeline(model, runtime);
  const image = Float32Array.from({ length: 3 * 8 * 8 }, (_, i) => Math.sin(i * 0.37));
  for (const method of ['gradcam', 'rsi-grad-cam']) {
    await assert.rejects(
      createMethod(method, pipeline).explain([image], { layer: 'r', ...(method === 'rsi-grad-cam' ? { baseline: new Float32Array(image.length), steps: 4 } : {}) }),
      (e: Error) => e instanceof UnsupportedOperatorError && /ArgMax/.test(e.message),
      method,
    );
  }
});
