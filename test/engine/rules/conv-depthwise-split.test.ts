/**
 * The input gradient of a depthwise Conv with a channel multiplier, as m depthwise
 * ConvTransposes (variant depthwiseGradient 'split', for onnxruntime-web's WebGPU kernels,
 * whose grouped ConvTranspose is wrong with one output and an even number of input channels
 * per group): finite differences, and equality with the one grouped ConvTranspose.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { differentiate, type RuleVariants } from '../../../src/engine/autodiff/differentiate.js';
import { A, attrInt } from '../../../src/engine/graph/attributes.js';
import { inferShapes } from '../../../src/engine/graph/shape-inference.js';
import type { Attribute } from '../../../src/engine/graph/types.js';
import { caseGraph, gradCheck, runGraph } from '../../helpers/grad-check.js';

const split: RuleVariants = { depthwiseGradient: 'split' };

const CASES: [string, number[], number[], Record<string, Attribute>][] = [
  ['multiplier 2, 3x3, pads', [2, 3, 6, 6], [6, 1, 3, 3], { group: A.int(3), pads: A.ints([1, 1, 1, 1]) }],
  ['multiplier 2, 2x2 stride 2 (even kernel)', [1, 2, 7, 8], [4, 1, 2, 2], { group: A.int(2), strides: A.ints([2, 2]) }],
  ['multiplier 4, 4x3 stride 2, dilations, asymmetric pads', [1, 2, 9, 8], [8, 1, 4, 3], { group: A.int(2), strides: A.ints([2, 1]), dilations: A.ints([1, 2]), pads: A.ints([1, 0, 2, 1]) }],
  ['multiplier 3, auto_pad SAME_UPPER stride 2', [1, 2, 7, 6], [6, 1, 3, 3], { group: A.int(2), strides: A.ints([2, 2]), auto_pad: A.string('SAME_UPPER') }],
];

/** ConvTranspose nodes of a backward graph as [group, input channels per group, output channels per group]. */
function convTransposes(graph: ReturnType<typeof caseGraph>['graph']): number[][] {
  const shapes = inferShapes(graph, 'case');
  return graph.nodes
    .filter((n) => n.opType === 'ConvTranspose')
    .map((n) => {
      const group = attrInt(n, 'group', 1);
      const [inC, outPerGroup] = shapes.get(n.inputs[1]!)!.shape as number[];
      return [group, inC! / group, outPerGroup!];
    });
}

for (const [name, x, w, attrs] of CASES) {
  test(`depthwise Conv gradient, split per multiplier, matches finite differences: ${name}`, async () => {
    const r = await gradCheck({ op: 'Conv', attrs, variants: split, inputs: [{ shape: x }, { shape: w, constant: true }] });
    assert.deepEqual(r.grads.get(0)!.dims, x);
    assert.ok(r.maxError < 1e-3, `error ${r.maxError} fd=${r.fd} analytic=${r.analytic}`);
  });

  test(`depthwise Conv gradient: split equals the grouped ConvTranspose and uses only one-in one-out groups: ${name}`, async () => {
    const results = [];
    for (const variants of [{}, split]) {
      const { graph, feeds } = caseGraph({ op: 'Conv', attrs, inputs: [{ shape: x }, { shape: w, constant: true }], seed: 4 });
      const outDims = graph.outputs[0]!.shape as number[];
      const shapes = inferShapes(graph, 'case');
      graph.inputs.push({ name: 'seed', dataType: 'float32', shape: outDims });
      const [g] = differentiate(graph, [{ tensor: 'y0', grad: 'seed' }], ['x0'], { shapes, source: 'case', variants });
      graph.outputs = [{ name: g!, dataType: 'float32', shape: x }];
      const seed = Float32Array.from({ length: outDims.reduce((a, b) => a * b, 1) }, (_, i) => ((i * 7) % 11) / 5 - 1);
      const out = await runGraph(graph, { ...feeds, seed: { data: seed, dims: outDims } });
      results.push({ grad: out[g!]!.data, convTransposes: convTransposes(graph) });
    }
    const [grouped, parts] = results;
    const m = w[0]! / (attrs.group as { value: number }).value;
    assert.deepEqual(grouped!.convTransposes, [[w[0]! / m, m, 1]], 'the default: one grouped ConvTranspose, m inputs and one output per group');
    assert.equal(parts!.convTransposes.length, m);
    for (const ct of parts!.convTransposes) assert.deepEqual(ct.slice(1), [1, 1], 'split: depthwise ConvTransposes only');
    let worst = 0;
    for (let i = 0; i < grouped!.grad.length; i++) worst = Math.max(worst, Math.abs(grouped!.grad[i]! - parts!.grad[i]!));
    assert.ok(grouped!.grad.some((v) => v !== 0));
    assert.ok(worst < 1e-5, `split vs grouped: ${worst}`);
  });
}

test('the split variant leaves other convolutions alone (plain, grouped with several input channels, depthwise without multiplier)', async () => {
  for (const [x, w, group] of [[[1, 4, 5, 5], [6, 4, 3, 3], 1], [[1, 4, 5, 5], [4, 2, 3, 3], 2], [[1, 4, 5, 5], [4, 1, 3, 3], 4]] as const) {
    const { graph } = caseGraph({ op: 'Conv', attrs: { group: A.int(group) }, inputs: [{ shape: [...x] }, { shape: [...w], constant: true }] });
    const shapes = inferShapes(graph, 'case');
    const outDims = graph.outputs[0]!.shape as number[];
    graph.inputs.push({ name: 'seed', dataType: 'float32', shape: outDims });
    differentiate(graph, [{ tensor: 'y0', grad: 'seed' }], ['x0'], { shapes, source: 'case', variants: split });
    assert.equal(graph.nodes.filter((n) => n.opType === 'ConvTranspose').length, 1, `group ${group}, weight ${w}`);
    assert.equal(graph.nodes.some((n) => n.opType === 'Sum'), false);
  }
});
