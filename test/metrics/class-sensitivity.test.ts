import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Classifier } from '../../src/classifier.js';
import { Model } from '../../src/engine/model.js';
import type { Graph, Node } from '../../src/engine/graph/types.js';
import { classSensitivity, contrastClasses } from '../../src/metrics/class-sensitivity.js';
import { comboMetrics, type PreparedImage } from '../../src/node/eval/image-metrics.js';
import { createNodeRuntime } from '../../src/node/runtime.js';

/** Spearman's rho written out here (average ranks of ties, then Pearson), independent of src/metrics. */
function rho(a: number[], b: number[]): number {
  const ranks = (v: number[]) => {
    const idx = v.map((x, i) => [x, i] as const).sort((p, q) => p[0] - q[0]);
    const r = new Array<number>(v.length);
    for (let i = 0; i < idx.length; ) {
      let j = i;
      while (j + 1 < idx.length && idx[j + 1]![0] === idx[i]![0]) j++;
      for (let t = i; t <= j; t++) r[idx[t]![1]] = (i + j) / 2 + 1;
      i = j + 1;
    }
    return r;
  };
  const ra = ranks(a);
  const rb = ranks(b);
  const n = a.length;
  const ma = ra.reduce((s, x) => s + x, 0) / n;
  const mb = rb.reduce((s, x) => s + x, 0) / n;
  let sab = 0, saa = 0, sbb = 0;
  for (let i = 0; i < n; i++) {
    sab += (ra[i]! - ma) * (rb[i]! - mb);
    saa += (ra[i]! - ma) ** 2;
    sbb += (rb[i]! - mb) ** 2;
  }
  return sab / Math.sqrt(saa * sbb);
}

test('the comparison classes: the runner-up, and a seeded uniform draw among the rest', () => {
  const p = [0.1, 0.5, 0.3, 0.04, 0.06];
  assert.equal(contrastClasses(p, 1, 0).second, 2);
  assert.equal(contrastClasses(p, 2, 0).second, 1); // the target need not be the top-1 class
  assert.equal(contrastClasses(p, 0, 0).second, 1);
  const counts = new Map<number, number>();
  for (let seed = 0; seed < 3000; seed++) {
    const { second, random } = contrastClasses(p, 1, seed);
    assert.equal(second, 2);
    assert.notEqual(random, 1);
    assert.notEqual(random, 2);
    assert.equal(contrastClasses(p, 1, seed).random, random, 'the same seed draws the same class');
    counts.set(random, (counts.get(random) ?? 0) + 1);
  }
  assert.deepEqual([...counts.keys()].sort(), [0, 3, 4]);
  for (const [c, n] of counts) assert.ok(n > 850 && n < 1150, `class ${c} drawn ${n} times of 3000`);
  assert.deepEqual(contrastClasses([0.3, 0.7], 1, 5), { second: 0, random: 0 });
  assert.throws(() => contrastClasses([1], 0, 0), /at least 2 classes/);
  assert.throws(() => contrastClasses(p, 5, 0), /target 5 is out of range/);
});

test('class sensitivity is the rank correlation of the two maps; a constant map gives 0', () => {
  assert.equal(classSensitivity([0.1, 0.5, 0.9, 0.2], [1, 5, 9, 2]), 1);
  assert.equal(classSensitivity([0.1, 0.5, 0.9, 0.2], [9, 5, 1, 8]), -1);
  // 1 - 6 sum d^2 / (n (n^2 - 1)) = 1 - 6 * 2 / 60.
  assert.ok(Math.abs(classSensitivity([1, 2, 3, 4], [1, 3, 2, 4]) - 0.8) < 1e-12);
  assert.equal(classSensitivity([0.3, 0.1, 0.2], [0, 0, 0]), 0);
});

/**
 * A classifier whose class maps are known: a 1x1 conv makes channel 0 = ReLU(s) and channel
 * 1 = ReLU(-s), with s = R + G + B per pixel; global average pooling; logits z0 = m0,
 * z1 = m1, z2 = (m0 + m1) / 2. Grad-CAM's maps (logit score) are then ReLU(s) for class 0,
 * ReLU(-s) for class 1 and |s| / 2 for class 2.
 */
function twoDetectorGraph(size: number): Graph {
  const f = (dims: number[], values: number[]) => ({ dataType: 'float32' as const, dims, data: Float32Array.from(values) });
  const n = (opType: string, inputs: string[], outputs: string[], attributes: Node['attributes'] = {}): Node => ({ name: `${opType}_${outputs[0]}`, opType, domain: '', inputs, outputs, attributes });
  return {
    name: 'two-detectors',
    nodes: [
      n('Conv', ['x', 'w'], ['conv']),
      n('Relu', ['conv'], ['act']),
      n('GlobalAveragePool', ['act'], ['gap']),
      n('Flatten', ['gap'], ['flat'], { axis: { type: 'int', value: 1 } }),
      n('Gemm', ['flat', 'fc'], ['logits']),
      n('Softmax', ['logits'], ['probs'], { axis: { type: 'int', value: 1 } }),
    ],
    initializers: new Map([
      ['w', f([2, 3, 1, 1], [1, 1, 1, -1, -1, -1])],
      ['fc', f([2, 3], [1, 0, 0.5, 0, 1, 0.5])],
    ]),
    inputs: [{ name: 'x', dataType: 'float32', shape: ['N', 3, size, size] }],
    outputs: [{ name: 'probs', dataType: 'float32', shape: ['N', 3] }],
    valueInfo: new Map(),
    opset: 13,
    otherOpsets: [],
    irVersion: 8,
    producerName: 'test',
  };
}

test('eval class sensitivity on a model whose class maps are known: the runner-up and the random class', async () => {
  const size = 8;
  const hw = size * size;
  // s: positive on the left, negative on the right, no two values alike.
  const s = Array.from({ length: hw }, (_, i) => (3.5 - (i % size)) * 0.3 + Math.floor(i / size) * 0.011 + ((i * 37) % 11) * 0.001);
  const input = new Float32Array(3 * hw);
  for (let i = 0; i < hw; i++) [0.5, 0.3, 0.2].forEach((share, c) => (input[c * hw + i] = share * s[i]!));
  const model = Model.prepare(twoDetectorGraph(size), { source: 'two-detectors', logits: 'logits' });
  const classifier = new Classifier(model, createNodeRuntime({ threads: 1 }), { source: 'two-detectors' });
  try {
    const layer = model.layer('act').tensor;
    const options = { method: 'gradcam' as const, layer, targets: [0] };
    const [e] = await classifier.explain([input], options);
    const image: PreparedImage = {
      input, deletionFinish: input, insertionStart: input, black: input, boxes: [], target: 0,
      y: e!.probability, yDeleted: 0, yInsertStart: 0, seed: 11,
    };
    const layout = { height: size, width: size, channels: 3, layout: 'NCHW' as const };
    const settings = { curveSteps: 4, pointingTolerance: 0, roadPercentiles: [50], roadNoiseStd: [0, 0, 0], completenessSteps: [4], batchSize: 4 };
    const out = await comboMetrics(classifier, image, e!, new Set(['class-sensitivity'] as const), settings, layout, options);

    // m0 > m1 here, so z2 = (m0 + m1) / 2 > z1: class 2 is the runner-up and class 1 the only other class.
    const relu = (v: number) => Math.max(0, v);
    assert.ok(s.reduce((a, v) => a + relu(v), 0) > s.reduce((a, v) => a + relu(-v), 0));
    assert.deepEqual(out.classSensitivity!.classes, [2, 1]);
    const map0 = s.map(relu);
    const expected = [rho(map0, s.map(Math.abs)), rho(map0, s.map((v) => relu(-v)))];
    // ReLU(s) against |s|: the left half agrees, the right half is zero in one and rising in the other.
    assert.ok(expected[0]! > -0.5 && expected[0]! < 0.5, `${expected[0]}`);
    assert.ok(expected[1]! < -0.5, `${expected[1]}`);
    out.classSensitivity!.rho.forEach((r, i) => assert.ok(Math.abs(r - expected[i]!) < 1e-5, `rho ${i}: ${r} vs ${expected[i]}`));
    // No other metric was asked for.
    assert.deepEqual(Object.keys(out), ['classSensitivity']);
  } finally {
    await classifier.dispose();
  }
});
