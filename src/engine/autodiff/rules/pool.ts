/** Gradient rules for pooling operators. */
import { A, attrInt, attrInts } from '../../graph/attributes.js';
import type { GradContext, GradRule } from '../context.js';
import { transposeAttributes, windowGeometry, type WindowGeometry } from './window-geometry.js';

function kernelOf(c: GradContext): number[] {
  const k = attrInts(c.node, 'kernel_shape');
  if (!k) c.fail('kernel_shape is missing');
  return k!;
}

/**
 * The gradient goes to the arg-max of each window. ONNX MaxPool's Indices output numbers
 * elements over the whole flattened (N, C, spatial...) input, so one ScatterElements with
 * reduction 'add' over the flattened input places every window's gradient; overlapping
 * windows that share a maximum add up.
 */
const MaxPool: GradRule = (c) => {
  if (!c.needsGrad(0)) return;
  if (c.opset < 16) c.fail(`needs opset >= 16 (ScatterElements with reduction), the graph has ${c.opset}`);
  if (attrInt(c.node, 'storage_order', 0) !== 0) c.fail('storage_order=1 (column-major indices) is not supported');
  const x = c.node.inputs[0]!;
  const g = c.outputGrad(0);
  if (!g) return;
  if (c.variants.maxPoolGradient === 'mask') return maxPoolMaskGradient(c, g);
  const indices = c.forwardOutput(1);
  const flat = c.constInt64([-1]);
  const size = c.op('Reshape', [c.op('Size', [x]), c.constInt64([1])]);
  const zeros = c.op('ConstantOfShape', [size]);
  const scattered = c.op('ScatterElements', [zeros, c.op('Reshape', [indices, flat]), c.op('Reshape', [g, flat])], {
    axis: A.int(0),
    reduction: A.string('add'),
  });
  c.setGrad(0, c.op('Reshape', [scattered, c.op('Shape', [x])]));
};

/**
 * The MaxPool gradient without the Indices output (for backends that do not return it).
 * For each kernel offset t, in onnxruntime's scan order (row-major over the window), the
 * strided slice x_t of the input holds every window's element at t; a window's gradient goes
 * to the first t where x_t equals the window's max, which is the element the Indices output
 * names (onnxruntime keeps the first of equal maxima). The input is padded with NaN, which
 * equals nothing, so padding and ceil_mode overhang never win. One grouped ConvTranspose with
 * one-hot kernels puts the K per-offset gradients back onto the input grid, adding where
 * windows overlap.
 */
function maxPoolMaskGradient(c: GradContext, g: string): void {
  const x = c.node.inputs[0]!;
  const y = c.node.outputs[0]!;
  const channels = c.shape(x)[1];
  if (typeof channels !== 'number') c.fail('the channel count must be fixed');
  const geo = windowGeometry(c, kernelOf(c));
  const r = geo.kernel.length;
  const transpose = transposeAttributes(geo);
  const endPads = (transpose.pads!.value as number[]).slice(r);
  const padded = geo.pads.some((p) => p > 0) || endPads.some((p) => p > 0)
    ? c.op('Pad', [x, c.constInt64([0, 0, ...geo.pads.slice(0, r), 0, 0, ...endPads]), c.constFloat([NaN], [])])
    : x;
  const offsets = geo.kernel.reduce<number[][]>((acc, k) => acc.flatMap((o) => Array.from({ length: k }, (_, i) => [...o, i])), [[]]);
  const axes = c.constInt64(Array.from({ length: r }, (_, i) => i + 2));
  const steps = c.constInt64(geo.strides);
  const offsetAxis = c.constInt64([2]);
  let remaining: string | undefined; // 1 where no earlier offset held the window's max
  const parts = offsets.map((t, n) => {
    const starts = t.map((ti, i) => ti * geo.dilations[i]!);
    const ends = starts.map((s0, i) => s0 + (geo.outSize[i]! - 1) * geo.strides[i]! + 1);
    const xt = c.op('Slice', [padded, c.constInt64(starts), c.constInt64(ends), axes, steps]);
    const hit = c.op('Cast', [c.op('Equal', [xt, y])], { to: A.int(1) });
    const first = remaining ? c.op('Mul', [hit, remaining]) : hit;
    if (n < offsets.length - 1) remaining = c.op('Sub', [remaining ?? c.constFloat([1], []), first]);
    return c.op('Unsqueeze', [c.op('Mul', [g, first]), offsetAxis]);
  });
  const k = offsets.length;
  const ch = channels as number;
  const stacked = c.op('Concat', parts, { axis: A.int(2) });
  const grouped = c.op('Reshape', [stacked, c.constInt64([0, ch * k, ...geo.outSize])]);
  // Weight [C*K, 1, kernel...]: input channel c*K + t carries a 1 at kernel offset t.
  const weight = new Float32Array(ch * k * k);
  for (let cc = 0; cc < ch; cc++) for (let t = 0; t < k; t++) weight[(cc * k + t) * k + t] = 1;
  const kernel = c.constFloat(weight, [ch * k, 1, ...geo.kernel]);
  c.setGrad(0, c.op('ConvTranspose', [grouped, kernel], { ...transpose, group: A.int(ch) }));
}

/**
 * Number of elements each window averages over, along one spatial axis, as onnxruntime
 * counts them: real input elements only, or (count_include_pad) taps inside the padded
 * input but not the extra taps ceil_mode lets overhang the end padding.
 */
function windowCounts(g: WindowGeometry, axis: number, includePad: boolean): number[] {
  const r = g.kernel.length;
  const [inSize, k, s, d] = [g.inSize[axis]!, g.kernel[axis]!, g.strides[axis]!, g.dilations[axis]!];
  const [lo, hi] = includePad ? [-g.pads[axis]!, inSize + g.pads[axis + r]!] : [0, inSize];
  return Array.from({ length: g.outSize[axis]! }, (_, o) => {
    let n = 0;
    for (let t = 0; t < k; t++) {
      const p = o * s - g.pads[axis]! + t * d;
      if (p >= lo && p < hi) n++;
    }
    return n;
  });
}

/**
 * Each output averages its window, so dX = ConvTranspose(dY / count) with an all-ones
 * depthwise kernel; the divisor varies with position at the borders, so it is a constant
 * [1, 1, out...] map built here.
 */
const AveragePool: GradRule = (c) => {
  if (!c.needsGrad(0)) return;
  const x = c.node.inputs[0]!;
  const channels = c.shape(x)[1];
  if (typeof channels !== 'number') c.fail('the channel count must be fixed');
  const geometry = windowGeometry(c, kernelOf(c));
  const includePad = attrInt(c.node, 'count_include_pad', 0) === 1;
  const counts = geometry.kernel.map((_, i) => windowCounts(geometry, i, includePad));
  // Outer product of the per-axis counts, row-major over the output's spatial positions.
  let divisor = [1];
  for (const axisCounts of counts) divisor = divisor.flatMap((v) => axisCounts.map((n) => v * n));
  const inverse = divisor.map((n) => (n > 0 ? 1 / n : 0));
  const scaled = c.op('Mul', [c.outputGrad(0)!, c.constFloat(inverse, [1, 1, ...geometry.outSize])]);
  const ones = new Array((channels as number) * geometry.kernel.reduce((a, b) => a * b, 1)).fill(1);
  const kernel = c.constFloat(ones, [channels as number, 1, ...geometry.kernel]);
  const attrs = { ...transposeAttributes(geometry), group: A.int(channels as number) };
  c.setGrad(0, c.op('ConvTranspose', [scaled, kernel], attrs));
};

/** Every input element contributes 1/(spatial size) of its channel's mean. */
const GlobalAveragePool: GradRule = (c) => {
  if (!c.needsGrad(0)) return;
  const x = c.node.inputs[0]!;
  const spatial = c.shape(x).slice(2);
  if (!spatial.every((d): d is number => typeof d === 'number')) c.fail('the spatial size must be fixed');
  const n = (spatial as number[]).reduce((a, b) => a * b, 1);
  const scaled = c.op('Mul', [c.outputGrad(0)!, c.constFloat([1 / n], [])]);
  c.setGrad(0, c.op('Expand', [scaled, c.op('Shape', [x])]));
};

/** The gradient goes to the elements equal to their channel's maximum (each, on ties). */
const GlobalMaxPool: GradRule = (c) => {
  if (!c.needsGrad(0)) return;
  const x = c.node.inputs[0]!;
  const mask = c.op('Equal', [x, c.node.outputs[0]!]);
  c.setGrad(0, c.op('Where', [mask, c.outputGrad(0)!, c.constFloat([0], [])]));
};

export const poolRules: Record<string, GradRule> = { MaxPool, AveragePool, GlobalAveragePool, GlobalMaxPool };
