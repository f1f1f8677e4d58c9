import { test } from 'node:test';
import assert from 'node:assert/strict';
import { differentiate } from '../../../src/engine/autodiff/differentiate.js';
import { interpolationMatrix, type AxisResize, type NearestMode } from '../../../src/engine/autodiff/rules/resize.js';
import { A } from '../../../src/engine/graph/attributes.js';
import { inferShapes } from '../../../src/engine/graph/shape-inference.js';
import type { Attribute } from '../../../src/engine/graph/types.js';
import { UnsupportedOperatorError } from '../../../src/errors.js';
import { caseGraph, gradCheck, randomArray, rng, runGraph, type CaseInput, type GradCase } from '../../helpers/grad-check.js';

interface ResizeCase {
  name: string;
  mode: 'nearest' | 'linear';
  /** Coordinate rule and nearest rule the case should follow (for the JS matrices). */
  ctm: string;
  nearest?: NearestMode;
  input: [number, number];
  /** Either spatial scales or spatial sizes. */
  scales?: [number, number];
  sizes?: [number, number];
  op?: 'Resize' | 'Upsample';
  opset?: number;
  attrs?: Record<string, Attribute>;
  /** Build the node's inputs differently (old opsets, axes). */
  layout?: 'resize10' | 'upsample9' | 'upsample7' | 'axes';
}

const N = 2;
const C = 3;

function gradCase(rc: ResizeCase): GradCase {
  const x: CaseInput = { shape: [N, C, ...rc.input] };
  const attrs: Record<string, Attribute> = { mode: A.string(rc.mode), ...rc.attrs };
  const fullScales = rc.scales && { shape: [4], data: [1, 1, ...rc.scales], constant: true };
  let inputs: (CaseInput | null)[];
  switch (rc.layout) {
    case 'resize10':
    case 'upsample9':
      inputs = [x, fullScales!];
      break;
    case 'upsample7':
      attrs['scales'] = A.floats([1, 1, ...rc.scales!]);
      inputs = [x];
      break;
    case 'axes':
      attrs['axes'] = A.ints([2, 3]);
      inputs = [x, null, { shape: [2], data: rc.scales!, constant: true }];
      break;
    default:
      if (!rc.layout && rc.ctm !== 'half_pixel') attrs['coordinate_transformation_mode'] = A.string(rc.ctm);
      if (rc.nearest && rc.nearest !== 'round_prefer_floor') attrs['nearest_mode'] = A.string(rc.nearest);
      inputs = rc.sizes
        ? [x, null, null, { shape: [4], data: [N, C, ...rc.sizes], constant: true, dataType: 'int64' }]
        : [x, null, fullScales!];
  }
  return { op: rc.op ?? 'Resize', opset: rc.opset ?? 17, attrs, inputs };
}

/** y = Rh x Rw^T for every (n, c) plane, in plain JS. */
function applyMatrices(x: Float32Array, [hi, wi]: number[], rh: Float64Array, rw: Float64Array, [ho, wo]: number[]): Float64Array {
  const planes = x.length / (hi! * wi!);
  const y = new Float64Array(planes * ho! * wo!);
  for (let p = 0; p < planes; p++) {
    for (let o = 0; o < ho!; o++) {
      for (let q = 0; q < wo!; q++) {
        let s = 0;
        for (let i = 0; i < hi!; i++) {
          const a = rh[o * hi! + i]!;
          if (a) for (let j = 0; j < wi!; j++) s += a * rw[q * wi! + j]! * x[p * hi! * wi! + i * wi! + j]!;
        }
        y[p * ho! * wo! + o * wo! + q] = s;
      }
    }
  }
  return y;
}

/**
 * (1) onnxruntime's Resize output equals Rh X Rw^T with the JS matrices for this mode;
 * (2) the engine's backward graph is the exact adjoint of onnxruntime's forward:
 * <dX, X'> = <dY, Resize(X')> for random X' and dY (Resize is linear).
 */
async function checkResize(rc: ResizeCase): Promise<void> {
  const { graph, feeds } = caseGraph(gradCase(rc), rng(11));
  const outDims = graph.outputs[0]!.shape as number[];
  const yOrt = (await runGraph(graph, feeds))['y0']!;
  assert.deepEqual(yOrt.dims, outDims, `${rc.name}: inferred output shape`);
  const [ho, wo] = outDims.slice(2) as [number, number];
  const axis = (inLen: number, outLen: number, scale: number | undefined): AxisResize => ({
    inLen,
    outLen,
    scale: Math.fround(scale ?? Math.fround(outLen) / Math.fround(inLen)),
    mode: rc.mode,
    coordinateMode: rc.ctm,
    nearestMode: rc.nearest ?? 'round_prefer_floor',
  });
  const rh = interpolationMatrix(axis(rc.input[0], ho, rc.scales?.[0]));
  const rw = interpolationMatrix(axis(rc.input[1], wo, rc.scales?.[1]));
  const yJs = applyMatrices(feeds['x0']!.data, rc.input, rh, rw, [ho, wo]);
  yJs.forEach((v, k) => assert.ok(Math.abs(v - yOrt.data[k]!) < 1e-5, `${rc.name}: forward element ${k}: JS ${v} vs onnxruntime ${yOrt.data[k]}`));

  const shapes = inferShapes(graph, 'case');
  const seed = randomArray(yOrt.data.length, rng(5));
  graph.inputs.push({ name: 'seed', dataType: 'float32', shape: outDims });
  const [g] = differentiate(graph, [{ tensor: 'y0', grad: 'seed' }], ['x0'], { shapes, source: 'case' });
  graph.outputs = [{ name: g!, dataType: 'float32', shape: [N, C, ...rc.input] }];
  const gx = (await runGraph(graph, { ...feeds, seed: { data: seed, dims: outDims } }))[g!]!;
  assert.deepEqual(gx.dims, [N, C, ...rc.input]);
  let lhs = 0;
  let rhs = 0;
  gx.data.forEach((v, k) => (lhs += v * feeds['x0']!.data[k]!));
  yOrt.data.forEach((v, k) => (rhs += v * seed[k]!));
  assert.ok(Math.abs(lhs - rhs) < 1e-4 * Math.max(1, Math.abs(rhs)), `${rc.name}: adjoint ${lhs} vs ${rhs}`);
}

const cases: ResizeCase[] = [
  { name: 'linear half_pixel x2', mode: 'linear', ctm: 'half_pixel', input: [4, 5], scales: [2, 2] },
  { name: 'linear half_pixel down 0.5/0.6', mode: 'linear', ctm: 'half_pixel', input: [6, 5], scales: [0.5, 0.6] },
  { name: 'linear half_pixel sizes', mode: 'linear', ctm: 'half_pixel', input: [5, 6], sizes: [7, 4] },
  { name: 'linear asymmetric sizes', mode: 'linear', ctm: 'asymmetric', input: [5, 6], sizes: [8, 9] },
  { name: 'linear align_corners sizes', mode: 'linear', ctm: 'align_corners', input: [5, 6], sizes: [9, 4] },
  { name: 'linear pytorch_half_pixel, output length 1', mode: 'linear', ctm: 'pytorch_half_pixel', input: [5, 6], sizes: [1, 8] },
  { name: 'linear half_pixel_symmetric (opset 19)', mode: 'linear', ctm: 'half_pixel_symmetric', input: [5, 6], scales: [1.7, 0.7], opset: 19 },
  { name: 'linear with axes (opset 18)', mode: 'linear', ctm: 'half_pixel', input: [4, 4], scales: [2, 1.5], opset: 18, layout: 'axes' },
  { name: 'nearest half_pixel x2/x3', mode: 'nearest', ctm: 'half_pixel', input: [4, 3], scales: [2, 3] },
  { name: 'nearest asymmetric round_prefer_floor (ties)', mode: 'nearest', ctm: 'asymmetric', input: [4, 5], scales: [2, 2] },
  { name: 'nearest asymmetric round_prefer_ceil (ties)', mode: 'nearest', ctm: 'asymmetric', nearest: 'round_prefer_ceil', input: [4, 5], scales: [2, 2] },
  { name: 'nearest asymmetric floor', mode: 'nearest', ctm: 'asymmetric', nearest: 'floor', input: [5, 6], sizes: [8, 4] },
  { name: 'nearest asymmetric ceil (clamped)', mode: 'nearest', ctm: 'asymmetric', nearest: 'ceil', input: [5, 6], sizes: [8, 4] },
  { name: 'nearest align_corners (ties)', mode: 'nearest', ctm: 'align_corners', input: [5, 6], sizes: [9, 11] },
  { name: 'nearest tf_half_pixel_for_nn down', mode: 'nearest', ctm: 'tf_half_pixel_for_nn', input: [5, 6], sizes: [3, 4] },
  { name: 'nearest pytorch_half_pixel round_prefer_ceil', mode: 'nearest', ctm: 'pytorch_half_pixel', nearest: 'round_prefer_ceil', input: [5, 6], sizes: [7, 9] },
  { name: 'nearest half_pixel down 0.5 (ties)', mode: 'nearest', ctm: 'half_pixel', input: [6, 6], scales: [0.5, 0.5] },
  { name: 'nearest half_pixel ceil down', mode: 'nearest', ctm: 'half_pixel', nearest: 'ceil', input: [7, 6], sizes: [3, 4] },
  { name: 'Resize-10 nearest x2', mode: 'nearest', ctm: 'asymmetric', nearest: 'simple', input: [3, 4], scales: [2, 2], opset: 10, layout: 'resize10' },
  { name: 'Resize-10 nearest down 0.5', mode: 'nearest', ctm: 'asymmetric', nearest: 'simple', input: [6, 5], scales: [0.5, 0.6], opset: 10, layout: 'resize10' },
  { name: 'Resize-10 linear x2', mode: 'linear', ctm: 'asymmetric', input: [3, 4], scales: [2, 2], opset: 10, layout: 'resize10' },
  { name: 'Upsample-9 nearest', mode: 'nearest', ctm: 'asymmetric', nearest: 'simple', input: [3, 4], scales: [2, 3], op: 'Upsample', opset: 9, layout: 'upsample9' },
  { name: 'Upsample-9 linear', mode: 'linear', ctm: 'asymmetric', input: [3, 4], scales: [2, 2.5], op: 'Upsample', opset: 9, layout: 'upsample9' },
  { name: 'Upsample-7 linear (scales attribute)', mode: 'linear', ctm: 'asymmetric', input: [3, 4], scales: [3, 2], op: 'Upsample', opset: 7, layout: 'upsample7' },
];

for (const rc of cases) {
  test(`Resize ${rc.name}: JS matrices reproduce onnxruntime; gradient is the adjoint`, async () => {
    await checkResize(rc);
  });
}

test('Resize gradient matches finite differences (linear half_pixel and nearest asymmetric)', async () => {
  for (const rc of [cases[2]!, cases[12]!]) {
    const r = await gradCheck(gradCase(rc));
    assert.deepEqual(r.grads.get(0)!.dims, [N, C, ...rc.input]);
    assert.ok(r.maxError < 1e-3, `${rc.name}: error ${r.maxError} fd=${r.fd} analytic=${r.analytic}`);
  }
});

test('Resize cubic and batch/channel resizing are refused', async () => {
  const cubic = gradCase({ name: 'cubic', mode: 'linear', ctm: 'half_pixel', input: [4, 4], scales: [2, 2] });
  cubic.attrs!['mode'] = A.string('cubic');
  await assert.rejects(gradCheck(cubic), (e: unknown) => e instanceof UnsupportedOperatorError && /cubic/.test((e as Error).message));
  const channels: GradCase = { op: 'Resize', attrs: { mode: A.string('nearest') }, inputs: [{ shape: [1, 2, 3, 3] }, null, { shape: [4], data: [1, 2, 1, 1], constant: true }] };
  await assert.rejects(gradCheck(channels), UnsupportedOperatorError);
});
