/**
 * Gradient rules for ops that move elements without changing them: reshapes, Transpose,
 * Concat / Split, Slice, Expand and Gather with a constant index.
 */
import { attrInt, attrInts } from '../../graph/attributes.js';
import { sliceBounds } from '../../graph/shape-inference.js';
import { float32Tensor } from '../../graph/tensor-data.js';
import type { Attribute } from '../../graph/types.js';
import type { GradContext, GradRule } from '../context.js';
import { unbroadcast } from '../unbroadcast.js';
import { unsqueeze } from './reduce.js';

const int = (value: number): Attribute => ({ type: 'int', value });
const ints = (value: number[]): Attribute => ({ type: 'ints', value });

function normAxis(c: GradContext, axis: number, rank: number): number {
  const a = axis < 0 ? axis + rank : axis;
  if (a < 0 || a >= rank) c.fail(`axis ${axis} is out of range for rank ${rank}`);
  return a;
}

/** Flatten, Reshape, Squeeze, Unsqueeze: the gradient is g reshaped back to x's shape. */
const reshapeBack: GradRule = (c) => {
  const x = c.node.inputs[0]!;
  c.setGrad(0, c.op('Reshape', [c.outputGrad(0)!, c.op('Shape', [x])]));
};

/** Transpose by the inverse permutation. */
const Transpose: GradRule = (c) => {
  const rank = c.shape(c.node.inputs[0]!).length;
  const perm = attrInts(c.node, 'perm', Array.from({ length: rank }, (_, i) => rank - 1 - i));
  const inverse = new Array<number>(rank);
  perm.forEach((p, i) => (inverse[p] = i));
  c.setGrad(0, c.op('Transpose', [c.outputGrad(0)!], { perm: ints(inverse) }));
};

/** Split g back into the inputs' pieces along the concatenation axis. */
const Concat: GradRule = (c) => {
  const g = c.outputGrad(0)!;
  const inputs = c.node.inputs;
  const rank = c.shape(inputs[0]!).length;
  const axis = normAxis(c, attrInt(c.node, 'axis', 0), rank);
  const sizes = inputs.map((t) => c.shape(t)[axis]!);
  if (sizes.every((d) => typeof d === 'number')) {
    const parts =
      c.opset >= 13
        ? c.emit('Split', [g, c.constInt64(sizes as number[])], { axis: int(axis) }, inputs.length)
        : c.emit('Split', [g], { axis: int(axis), split: ints(sizes as number[]) }, inputs.length);
    parts.forEach((p, i) => c.needsGrad(i) && c.setGrad(i, p));
    return;
  }
  // A symbolic size on the axis: slice at offsets computed from the inputs' run-time shapes.
  const sizeOf = (t: string) => c.op('Shape', [t], { start: int(axis), end: int(axis + 1) });
  let offset = c.constInt64([0]);
  inputs.forEach((t, i) => {
    const end = c.op('Add', [offset, sizeOf(t)]);
    if (c.needsGrad(i)) c.setGrad(i, c.op('Slice', [g, offset, end, c.constInt64([axis])]));
    offset = end;
  });
};

/** Concatenate the outputs' gradients; outputs without one contribute zeros. */
const Split: GradRule = (c) => {
  const rank = c.shape(c.node.inputs[0]!).length;
  const axis = normAxis(c, attrInt(c.node, 'axis', 0), rank);
  const parts = c.node.outputs.map((_, i) => {
    const g = c.outputGrad(i);
    if (g) return g;
    const shape = c.op('Shape', [c.forwardOutput(i)]);
    return c.op('ConstantOfShape', [shape], { value: { type: 'tensor', value: float32Tensor([0], [1]) } });
  });
  c.setGrad(0, parts.length === 1 ? parts[0]! : c.op('Concat', parts, { axis: int(axis) }));
};

/** Constant integers from an input, or a clear failure. */
function constInts(c: GradContext, i: number, what: string): number[] {
  const v = c.constant(c.node.inputs[i]!);
  if (!v) c.fail(`${what} must be constants`);
  return v;
}

/**
 * Slices: the gradient is g put back where the slice took it, zeros elsewhere. Step 1: g
 * zero-padded. Step k > 1 (Swin's patch merging, x[..., 0::2, 1::2, :]): along that axis,
 * each element of g is followed by k - 1 zeros (Unsqueeze, Pad, Reshape), then padded or
 * cropped to x's size.
 */
const Slice: GradRule = (c) => {
  const x = c.node.inputs[0]!;
  const shape = c.shape(x);
  const rank = shape.length;
  let starts: number[], ends: number[], axes: number[] | undefined, steps: number[] | undefined;
  if (c.node.inputs.length > 1) {
    starts = constInts(c, 1, 'starts');
    ends = constInts(c, 2, 'ends');
    axes = c.node.inputs[3] ? constInts(c, 3, 'axes') : undefined;
    steps = c.node.inputs[4] ? constInts(c, 4, 'steps') : undefined;
  } else {
    starts = attrInts(c.node, 'starts', []);
    ends = attrInts(c.node, 'ends', []);
    axes = attrInts(c.node, 'axes');
  }
  const pads = new Array<number>(2 * rank).fill(0);
  let g = c.outputGrad(0)!;
  // g's shape as the axes are spread back one by one.
  const current = [...c.shape(c.node.outputs[0]!)];
  starts.forEach((s0, j) => {
    const axis = normAxis(c, axes ? axes[j]! : j, rank);
    const step = steps ? steps[j]! : 1;
    if (step < 1) c.fail(`slices with step ${step} are not supported (only positive steps)`);
    const e0 = ends[j]!;
    const d = shape[axis]!;
    if (typeof d === 'number') {
      const [s, e] = sliceBounds(s0, e0, step, d);
      const taken = Math.max(0, Math.ceil((e - s) / step));
      if (step > 1 && taken > 0) {
        g = spread(c, g, current, axis, taken, step);
        current[axis] = taken * step;
        // The spread covers taken * step elements from s; pad or crop the rest of the axis.
        pads[axis] = s;
        pads[axis + rank] = d - s - taken * step;
      } else {
        pads[axis] = s;
        pads[axis + rank] = d - Math.max(s, e);
      }
    } else {
      if (step !== 1) c.fail(`cannot slice the symbolic axis ${axis} (size ${d}) with step ${step}`);
      // A symbolic axis: fine when the slice provably runs to its end (ONNX writes INT_MAX).
      if (s0 < 0 || e0 < 2 ** 31 - 1) c.fail(`cannot slice the symbolic axis ${axis} (size ${d}) in a differentiable way`);
      pads[axis] = s0;
    }
  });
  if (pads.every((p) => p === 0)) {
    c.setGrad(0, g);
    return;
  }
  c.setGrad(0, c.opset >= 11 ? c.op('Pad', [g, c.constInt64(pads)]) : c.op('Pad', [g], { pads: ints(pads) }));
};

/** g with k - 1 zeros after each element along `axis` (where it has `n` elements): n * k there. */
function spread(c: GradContext, g: string, shape: readonly (number | string)[], axis: number, n: number, k: number): string {
  const rank = shape.length;
  const pads = new Array<number>(2 * (rank + 1)).fill(0);
  pads[axis + 1 + rank + 1] = k - 1;
  const padded = c.op('Pad', [unsqueeze(c, g, [axis + 1]), c.constInt64(pads)]);
  // Reshape target: 0 copies a leading dimension (the symbolic batch); the rest are known.
  const target = shape.map((d, i) => (i < axis ? 0 : i === axis ? n * k : d));
  if (target.some((d) => typeof d !== 'number')) c.fail(`cannot spread the gradient along axis ${axis} of [${shape.join(', ')}]`);
  return c.op('Reshape', [padded, c.constInt64(target as number[])]);
}

/** Sum g back over the broadcast axes. */
const Expand: GradRule = (c) => {
  const x = c.node.inputs[0]!;
  c.setGrad(0, unbroadcast(c, c.outputGrad(0)!, c.shape(x), c.shape(c.node.outputs[0]!), x));
};

/**
 * Gather with constant indices: x's gradient is sum_k onehot[k, idx[k]] * g[..., k, ...]
 * along the gathered axis, a MatMul with a constant one-hot matrix (which also adds up
 * repeated indices).
 */
const Gather: GradRule = (c) => {
  const [x, idxName] = c.node.inputs as [string, string];
  const xShape = c.shape(x);
  const r = xShape.length;
  const a = normAxis(c, attrInt(c.node, 'axis', 0), r);
  const d = xShape[a]!;
  const idx = c.constant(idxName);
  if (!idx) return c.fail('only Gather with constant indices is differentiable');
  if (typeof d !== 'number') return c.fail(`cannot gather along the symbolic axis ${a} (size ${d})`);
  const q = c.shape(idxName).length;
  const k = idx.length;
  const onehot = new Float32Array(k * d);
  idx.forEach((v, j) => {
    const i = v < 0 ? v + d : v;
    if (i < 0 || i >= d) c.fail(`index ${v} is out of range for size ${d}`);
    onehot[j * d + i] = 1;
  });
  // Bring g (pre + idx + post axes) to pre + post + [k].
  let g = c.outputGrad(0)!;
  if (q === 0) g = unsqueeze(c, g, [r - 1]);
  else {
    const post = r - 1 - a;
    const perm = [
      ...Array.from({ length: a }, (_, i) => i),
      ...Array.from({ length: post }, (_, i) => a + q + i),
      ...Array.from({ length: q }, (_, i) => a + i),
    ];
    if (perm.some((p, i) => p !== i)) g = c.op('Transpose', [g], { perm: ints(perm) });
    if (q > 1) g = c.op('Reshape', [g, c.constInt64([...new Array<number>(r - 1).fill(0), k])]);
  }
  let out = c.op('MatMul', [g, c.constFloat(onehot, [k, d])]);
  // pre + post + [d] -> x's layout.
  if (a !== r - 1) {
    const back = Array.from({ length: r }, (_, i) => (i < a ? i : i === a ? r - 1 : i - 1));
    out = c.op('Transpose', [out], { perm: ints(back) });
  }
  c.setGrad(0, out);
};

export const shapeOpsRules: Record<string, GradRule> = {
  Flatten: reshapeBack,
  Reshape: reshapeBack,
  Squeeze: reshapeBack,
  Unsqueeze: reshapeBack,
  Transpose,
  Concat,
  Split,
  Slice,
  Expand,
  Gather,
};
