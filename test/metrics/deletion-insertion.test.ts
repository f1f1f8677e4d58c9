import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Classifier } from '../../src/classifier.js';
import { Model } from '../../src/engine/model.js';
import { float32Tensor } from '../../src/engine/graph/tensor-data.js';
import type { Graph } from '../../src/engine/graph/types.js';
import { presetSpec } from '../../src/image/preprocess.js';
import { createNodeRuntime } from '../../src/node/runtime.js';
import { causalCurveInputs, curveAuc, stepCounts } from '../../src/metrics/deletion-insertion.js';
import { salienceOrder } from '../../src/metrics/ranking.js';
import { comboMetrics, type PreparedImage } from '../../src/node/eval/image-metrics.js';
import type { Explanation } from '../../src/methods/types.js';
import type { TensorLayout } from '../../src/metrics/tensor-image.js';

const S = 8; // side of the image
const K = 4; // logit gain
const inRegion = (p: number) => p % S >= 2 && p % S < 6 && Math.floor(p / S) >= 2 && Math.floor(p / S) < 6; // 16 pixels
const sigmoid = (v: number) => 1 / (1 + Math.exp(-v));

/**
 * A model whose class-0 logit is K times the mean of the input over a 4 x 4 region (all
 * channels) and whose class-1 logit is 0: p0 = sigmoid(K * mean_R(x)).
 */
function regionMeanClassifier(): Classifier {
  const w = new Float32Array(2 * 3 * S * S);
  for (let c = 0; c < 3; c++) for (let p = 0; p < S * S; p++) if (inRegion(p)) w[c * S * S + p] = K / (3 * 16);
  const graph: Graph = {
    name: 'region-mean',
    nodes: [
      { name: 'conv', opType: 'Conv', domain: '', inputs: ['x', 'w'], outputs: ['c'], attributes: {} },
      { name: 'flat', opType: 'Flatten', domain: '', inputs: ['c'], outputs: ['y'], attributes: { axis: { type: 'int', value: 1 } } },
    ],
    initializers: new Map([['w', float32Tensor(w, [2, 3, S, S])]]),
    inputs: [{ name: 'x', dataType: 'float32', shape: ['N', 3, S, S] }],
    outputs: [{ name: 'y', dataType: 'float32' }],
    valueInfo: new Map(),
    opset: 17,
    otherOpsets: [],
    irVersion: 8,
    producerName: 'test',
  };
  const model = Model.prepare(graph, { source: 'region-mean' });
  return new Classifier(model, createNodeRuntime({ threads: 1 }), { source: 'region-mean', inputSpec: presetSpec('unit', [S, S]) });
}

const layout: TensorLayout = { height: S, width: S, channels: 3, layout: 'NCHW' };
const white = new Float32Array(3 * S * S).fill(1);
const black = new Float32Array(3 * S * S);

test('curve AUC is the trapezoid rule over x in [0, 1]; pixel counts per step', () => {
  assert.equal(curveAuc([1, 0]), 0.5);
  assert.ok(Math.abs(curveAuc([1, 0.75, 0.5, 0.25, 0]) - 0.5) < 1e-12);
  assert.ok(Math.abs(curveAuc([0, 1, 1]) - 0.75) < 1e-12);
  assert.deepEqual(stepCounts(10, 4), [0, 3, 5, 8, 10]);
});

test('deletion and insertion on a region-mean model follow the closed form', async () => {
  const c = regionMeanClassifier();
  try {
    // Region pixels most salient: steps of 8 pixels delete 8 region pixels each until none is left.
    const heat = Float32Array.from({ length: S * S }, (_, p) => (inRegion(p) ? 1 + p / 100 : p / 1000));
    const order = salienceOrder(heat, 0);
    const steps = 8;
    const del = causalCurveInputs(white, black, order, steps, layout);
    const ins = causalCurveInputs(black, white, order, steps, layout);
    const pDel = (await c.pipeline.predict(del, 4)).map((p) => p.probabilities[0]!);
    const pIns = (await c.pipeline.predict(ins, 4)).map((p) => p.probabilities[0]!);
    const expDel = Array.from({ length: steps + 1 }, (_, i) => sigmoid(K * (1 - Math.min(8 * i, 16) / 16)));
    const expIns = Array.from({ length: steps + 1 }, (_, i) => sigmoid(K * (Math.min(8 * i, 16) / 16)));
    pDel.forEach((v, i) => assert.ok(Math.abs(v - expDel[i]!) < 1e-6, `deletion point ${i}: ${v} vs ${expDel[i]}`));
    pIns.forEach((v, i) => assert.ok(Math.abs(v - expIns[i]!) < 1e-6, `insertion point ${i}: ${v} vs ${expIns[i]}`));
    // By hand: deletion = [s(4), s(2), s(0), s(0) x 6]; AUC = (sum - ends / 2) / 8.
    const s = sigmoid;
    const aucDel = (s(4) / 2 + s(2) + 7 * s(0) - s(0) / 2) / 8;
    assert.ok(Math.abs(curveAuc(pDel) - aucDel) < 1e-6);

    // The same through the eval runner's per-image code, with the map given as an explanation.
    const image: PreparedImage = {
      input: white, deletionFinish: black, insertionStart: black, black, boxes: [[2, 2, 6, 6]], target: 0,
      y: s(K), yDeleted: s(0), yInsertStart: s(0), seed: 0,
    };
    const explanation = { heatmap: heat.map((v) => v / 1.7), heatmapShape: [S, S] } as unknown as Explanation;
    const r = await comboMetrics(c, image, explanation, new Set(['deletion', 'insertion', 'ad-ic', 'pointing', 'energy']), {
      curveSteps: steps, pointingTolerance: 0, roadPercentiles: [], roadNoiseStd: [0, 0, 0], completenessSteps: [], batchSize: 16,
    }, layout, { method: 'gradcam' });
    assert.ok(Math.abs(r.deletion!.auc - aucDel) < 1e-6);
    r.insertion!.curve.forEach((v, i) => assert.ok(Math.abs(v - expIns[i]!) < 1e-6));
    assert.equal(r.pointing, 1);
    // AD / IC: the explanation map multiplies the white image by the map; O = sigmoid(K * mean_R(map)).
    let meanR = 0;
    for (let p = 0; p < S * S; p++) if (inRegion(p)) meanR += heat[p]! / 1.7 / 16;
    assert.ok(Math.abs(r.adic!.o - s(K * meanR)) < 1e-6);
    assert.ok(Math.abs(r.adic!.y - s(K)) < 1e-12);

    // The reversed map deletes the region last: pixels 48-63 of the order, i.e. during the last two steps.
    const rev = salienceOrder(heat.map((v) => -v), 0);
    const pRev = (await c.pipeline.predict(causalCurveInputs(white, black, rev, steps, layout), 4)).map((p) => p.probabilities[0]!);
    const expRev = Array.from({ length: steps + 1 }, (_, i) => sigmoid(K * (1 - Math.max(0, 8 * i - 48) / 16)));
    pRev.forEach((v, i) => assert.ok(Math.abs(v - expRev[i]!) < 1e-6, `reversed point ${i}`));
    assert.ok(curveAuc(pRev) > curveAuc(pDel));
  } finally {
    await c.dispose();
  }
});
