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
 * equals nothing, so padding and ceil_mode overhang never win. Each offset's gradients are put
 * back on the input grid and the K maps summed, so overlapping windows add up.
 */
function maxPoolMaskGradient(c: GradContext, g: string): void {
  const x = c.node.inputs[0]!;
  const y = c.node.outputs[0]!;
  const geo = windowGeometry(c, kernelOf(c));
  const r = geo.kernel.length;
  // Enough NaN at the end for the last window (ceil_mode may let it overhang the end pad).
  const endPads = geo.kernel.map((k, i) => Math.max(0, (geo.outSize[i]! - 1) * geo.strides[i]! + (k - 1) * geo.dilations[i]! + 1 - geo.pads[i]! - geo.inSize[i]!));
  const padded = geo.pads.some((p) => p > 0) || endPads.some((p) => p > 0)
    ? c.op('Pad', [x, c.constInt64([0, 0, ...geo.pads.slice(0, r), 0, 0, ...endPads]), c.constFloat([NaN], [])])
    : x;
  const offsets = geo.kernel.reduce<number[][]>((acc, k) => acc.flatMap((o) => Array.from({ length: k }, (_, i) => [...o, i])), [[]]);
  const axes = c.constInt64(Array.from({ length: r }, (_, i) => i + 2));
  const steps = c.constInt64(geo.strides);
  let remaining: string | undefined; // 1 where no earlier offset held the window's max
  const placed = offsets.map((t, n) => {
    const starts = t.map((ti, i) => ti * geo.dilations[i]!);
    const ends = starts.map((s0, i) => s0 + (geo.outSize[i]! - 1) * geo.strides[i]! + 1);
    const xt = c.op('Slice', [padded, c.constInt64(starts), c.constInt64(ends), axes, steps]);
    const hit = c.op('Cast', [c.op('Equal', [xt, y])], { to: A.int(1) });
    const first = remaining ? c.op('Mul', [hit, remaining]) : hit;
    if (n < offsets.length - 1) remaining = c.op('Sub', [remaining ?? c.constFloat([1], []), first]);
    return placeAtOffset(c, c.op('Mul', [g, first]), geo, t, axes);
  });
  c.setGrad(0, placed.length === 1 ? placed[0]! : c.op('Sum', placed));
}

/**
 * Put a window-grid map [N, C, out...] back on the input grid, each value at its window's
 * element for kernel offset t: position o*stride + t*dilation - pad_begin, zeros elsewhere.
 * Built from Unsqueeze, Pad, Reshape and Slice only, so the variant does not depend on the
 * ConvTranspose kernels of the backend that needs it (onnxruntime-web's WebGPU has wrong ones
 * for some groupings; see RuleVariants.depthwiseGradient).
 */
function placeAtOffset(c: GradContext, m: string, geo: WindowGeometry, t: number[], axes: string): string {
  const r = geo.kernel.length;
  const zeros = new Array(r).fill(0);
  let z = m;
  if (geo.strides.some((st) => st > 1)) {
    // Interleave stride - 1 zeros after each value: [.., o] -> [.., o, 1] -> [.., o, s] -> [.., o*s].
    const unit = c.constInt64(Array.from({ length: r }, (_, i) => 3 + 2 * i));
    const spread = c.op('Unsqueeze', [z, unit]);
    const after = geo.strides.flatMap((st) => [0, st - 1]);
    const padded = c.op('Pad', [spread, c.constInt64([0, 0, ...zeros.flatMap(() => [0, 0]), 0, 0, ...after])]);
    z = c.op('Reshape', [padded, c.constInt64([0, 0, ...geo.outSize.map((o, i) => o * geo.strides[i]!)])]);
  }
  const shift = t.map((ti, i) => ti * geo.dilations[i]! - geo.pads[i]!);
  const begin = shift.map((q) => Math.max(q, 0));
  const start = shift.map((q) => Math.max(-q, 0));
  const end = geo.inSize.map((n, i) => Math.max(0, start[i]! + n - geo.outSize[i]! * geo.strides[i]! - begin[i]!));
  if (begin.some((v) => v > 0) || end.some((v) => v > 0)) z = c.op('Pad', [z, c.constInt64([0, 0, ...begin, 0, 0, ...end])]);
  const length = geo.outSize.map((o, i) => o * geo.strides[i]! + begin[i]! + end[i]!);
  if (start.some((v) => v > 0) || length.some((l, i) => l !== geo.inSize[i])) {
    z = c.op('Slice', [z, c.constInt64(start), c.constInt64(start.map((s0, i) => s0 + geo.inSize[i]!)), axes]);
  }
  return z;
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
