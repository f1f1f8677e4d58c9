/**
 * Pad / PadV2, ConcatV2, Pack and StridedSlice. On constants (a Flatten's Shape ->
 * StridedSlice -> Pack chain) they are evaluated at import time, carrying the batch symbol.
 */
import { A } from '../../../engine/graph/attributes.js';
import { ktensor, storageAxis, type KTensor } from '../../tfjs/builder.js';
import { constIn, fromTfOrder, input, intsIn, normAxis, shapeOf, tensorIn, tfOrder, type OpContext, type OpConverter } from '../context.js';
import { count, floatConst, intConst, type ConstValue, type Scalar, type Value } from '../values.js';

/** Stored axis i of `x` holds TensorFlow axis order[i]. */
function storedOrder(x: KTensor): number[] {
  return x.layout === 'nchw' ? [0, 3, 1, 2] : x.shape.map((_, i) => i);
}

function pad(v2: boolean): OpConverter {
  return (ctx) => {
    const x = tensorIn(ctx, 0);
    const rank = x.shape.length;
    const p = intsIn(ctx, 1, 'paddings');
    if (p.length !== 2 * rank) ctx.fail(`paddings must be [${rank}, 2], got ${p.length} values`);
    if (p[0] || p[1]) ctx.fail('padding the batch axis is not supported');
    if (p.some((d) => d < 0)) ctx.fail('negative paddings are not supported');
    let value = 0;
    if (v2) {
      const c = constIn(ctx, 2, 'constant value');
      if (count(c.shape) !== 1) ctx.fail('the constant value must be a scalar');
      value = Number(c.data[0]);
    }
    const order = storedOrder(x);
    const pads = [...order.map((a) => p[2 * a]!), ...order.map((a) => p[2 * a + 1]!)];
    const b = ctx.b;
    const inputs = [x.name, b.ints(`${ctx.base}/pads`, pads), ...(value !== 0 ? [b.scalar(`${ctx.base}/value`, value)] : [])];
    const y = b.op('Pad', inputs, { mode: A.string('constant') }, `${ctx.base}/pad`);
    return { kind: 'tensor', t: ktensor(y, x.shape.map((d, i) => (d === null ? d : d + p[2 * i]! + p[2 * i + 1]!))) };
  };
}

/** Constants joined along `axis` (all of one shape except that axis). */
function concatConsts(ctx: OpContext, cs: ConstValue[], axis: number): ConstValue {
  const rank = cs[0]!.shape.length;
  for (const c of cs) {
    if (c.shape.length !== rank || c.shape.some((d, i) => i !== axis && d !== cs[0]!.shape[i])) ctx.fail('constants of different shapes cannot be joined');
  }
  const outer = count(cs[0]!.shape.slice(0, axis));
  const data: Scalar[] = [];
  for (let o = 0; o < outer; o++) {
    for (const c of cs) {
      const block = count(c.shape.slice(axis));
      for (let i = 0; i < block; i++) data.push(c.data[o * block + i]!);
    }
  }
  const shape = cs[0]!.shape.map((d, i) => (i === axis ? cs.reduce((a, c) => a + c.shape[axis]!, 0) : d));
  return cs.some((c) => c.dtype === 'float') ? floatConst(data.map(Number), shape, ctx.node.name) : intConst(data, shape, ctx.node.name);
}

/** The joined inputs, all computed tensors or all constants. */
function joinable(ctx: OpContext, values: Value[]): { consts?: ConstValue[]; tensors?: KTensor[] } {
  if (values.every((v) => v.kind === 'const')) return { consts: values as ConstValue[] };
  if (values.some((v) => v.kind === 'const')) ctx.fail('joining constants with computed tensors is not supported');
  return { tensors: values.map((v) => (v as { t: KTensor }).t) };
}

const ConcatV2: OpConverter = (ctx) => {
  const n = ctx.attrs.int('N', ctx.inputs.length - 1);
  const values = ctx.inputs.slice(0, n);
  const axisValue = constIn(ctx, n, 'axis');
  const rank = shapeOf(values[0] ?? ctx.fail('nothing to join')).length;
  const axis = normAxis(ctx, Number(axisValue.data[0]), rank);
  const { consts, tensors } = joinable(ctx, values);
  if (consts) return concatConsts(ctx, consts, axis);
  const ts = tensors!;
  if (axis === 0) ctx.fail('joining along the batch axis is not supported');
  for (const t of ts) {
    if (t.shape.length !== rank || t.shape.some((d, i) => i !== axis && d !== ts[0]!.shape[i])) ctx.fail('the inputs have different shapes off the join axis');
  }
  const shape = ts[0]!.shape.map((d, i) => (i === axis ? ts.reduce((a, t) => a + (t.shape[axis] as number), 0) : d));
  const y = ctx.b.op('Concat', ts.map((t) => t.name), { axis: A.int(storageAxis(ts[0]!, axis)) }, `${ctx.base}/concat`);
  return { kind: 'tensor', t: ktensor(y, shape) };
};

const Pack: OpConverter = (ctx) => {
  const values = ctx.inputs;
  const rank = shapeOf(values[0] ?? ctx.fail('nothing to stack')).length;
  const axis = normAxis(ctx, ctx.attrs.int('axis', 0), rank + 1);
  const grow = (s: (number | null)[]) => [...s.slice(0, axis), 1, ...s.slice(axis)];
  const { consts, tensors } = joinable(ctx, values);
  if (consts) return concatConsts(ctx, consts.map((c) => ({ ...c, shape: grow(c.shape) as number[] })), axis);
  if (axis === 0) ctx.fail('stacking along the batch axis is not supported');
  const b = ctx.b;
  // In TensorFlow's element order: each input gains the new axis, then they are joined on it.
  const parts = tensors!.map((t, i) => {
    if (t.shape.length !== rank || t.shape.some((d, k) => d !== tensors![0]!.shape[k])) ctx.fail('the inputs have different shapes');
    const dims = grow(t.shape).slice(1) as number[];
    return b.op('Reshape', [tfOrder(ctx, t), b.ints(`${ctx.base}/grow${i}`, [0, ...dims])], {}, `${ctx.base}/grow${i}`);
  });
  const shape = grow(tensors![0]!.shape).map((d, i) => (i === axis ? tensors!.length : d));
  const joined = b.op('Concat', parts, { axis: A.int(axis) }, `${ctx.base}/stack`);
  return { kind: 'tensor', t: shape.length === 4 ? fromTfOrder(ctx, joined, shape) : ktensor(joined, shape) };
};

interface AxisSlice {
  /** Input axis, or -1 for a new axis. */
  axis: number;
  start: number;
  end: number;
  step: number;
  shrink: boolean;
  /** Length after slicing (1 for a shrunk axis, which the output then drops). */
  length: number;
}

/** TensorFlow's StridedSlice rules (masks, ellipsis, new axes), resolved against `shape`. */
function resolveSlice(ctx: OpContext, shape: (number | null)[], begin: number[], end: number[], strides: number[]): AxisSlice[] {
  const bit = (key: string, i: number) => (ctx.attrs.int(key, 0) >> i) & 1;
  const specs = begin.length;
  if (end.length !== specs || strides.length !== specs) ctx.fail('begin, end and strides differ in length');
  const out: AxisSlice[] = [];
  let axis = 0;
  const full = (a: number) => out.push({ axis: a, start: 0, end: Infinity, step: 1, shrink: false, length: -1 });
  for (let i = 0; i < specs; i++) {
    if (bit('ellipsis_mask', i)) {
      let after = 0;
      for (let j = i + 1; j < specs; j++) if (!bit('new_axis_mask', j)) after++;
      while (axis < shape.length - after) full(axis++);
      continue;
    }
    if (bit('new_axis_mask', i)) {
      out.push({ axis: -1, start: 0, end: 1, step: 1, shrink: false, length: 1 });
      continue;
    }
    if (axis >= shape.length) ctx.fail(`more slice specs than the input's rank ${shape.length}`);
    const d = shape[axis];
    const s = strides[i]!;
    if (s === 0) ctx.fail('a stride of 0');
    const shrink = bit('shrink_axis_mask', i) === 1;
    if (d === null) {
      const whole = !shrink && s === 1 && (bit('begin_mask', i) || begin[i] === 0) && (bit('end_mask', i) || end[i]! >= 2 ** 31 - 1);
      if (!whole) ctx.fail('slicing the batch axis is not supported');
      full(axis++);
      continue;
    }
    if (shrink) {
      const k = begin[i]! < 0 ? begin[i]! + d : begin[i]!;
      if (k < 0 || k >= d) ctx.fail(`index ${begin[i]} is out of range for size ${d}`);
      out.push({ axis, start: k, end: k + 1, step: 1, shrink: true, length: 1 });
      axis++;
      continue;
    }
    const clamp = (v: number) => (s > 0 ? Math.min(Math.max(v, 0), d) : Math.min(Math.max(v, -1), d - 1));
    const norm = (v: number) => clamp(v < 0 ? v + d : v);
    const b0 = bit('begin_mask', i) ? (s > 0 ? 0 : d - 1) : norm(begin[i]!);
    const e0 = bit('end_mask', i) ? (s > 0 ? d : -1) : norm(end[i]!);
    const length = s > 0 ? Math.max(0, Math.ceil((e0 - b0) / s)) : Math.max(0, Math.ceil((b0 - e0) / -s));
    out.push({ axis, start: b0, end: e0, step: s, shrink: false, length });
    axis++;
  }
  while (axis < shape.length) full(axis++);
  return out.map((a) => (a.length === -1 ? { ...a, end: shape[a.axis] ?? Infinity, length: shape[a.axis] ?? -1 } : a));
}

const StridedSlice: OpConverter = (ctx) => {
  const v = input(ctx, 0);
  const shape = shapeOf(v);
  const spec = resolveSlice(ctx, shape, intsIn(ctx, 1, 'begin'), intsIn(ctx, 2, 'end'), intsIn(ctx, 3, 'strides'));
  const outShape = spec.filter((a) => !a.shrink).map((a) => (a.axis >= 0 && shape[a.axis] === null ? null : a.length));
  if (v.kind === 'const') {
    if (shape.length !== 1) ctx.fail('slicing a constant of rank other than 1 is not supported');
    const a = spec.find((s) => s.axis === 0)!;
    const data: Scalar[] = [];
    for (let k = a.start; a.step > 0 ? k < a.end : k > a.end; k += a.step) data.push(v.data[k]!);
    return v.dtype === 'float' ? floatConst(data as number[], outShape as number[], ctx.node.name) : intConst(data, outShape as number[], ctx.node.name);
  }
  const x = v.t;
  const cut = spec.filter((a) => a.axis >= 0 && shape[a.axis] !== null && (a.start !== 0 || a.end !== shape[a.axis] || a.step !== 1));
  let name = x.name;
  const b = ctx.b;
  if (cut.length) {
    const dims = x.shape as number[];
    // A negative step that runs through index 0 ends "before" it: ONNX spells that -(size + 1).
    const ends = cut.map((a) => (a.end === -1 ? -(dims[a.axis]! + 1) : a.end));
    const inputs = [
      x.name,
      b.ints(`${ctx.base}/starts`, cut.map((a) => a.start)),
      b.ints(`${ctx.base}/ends`, ends),
      b.ints(`${ctx.base}/axes`, cut.map((a) => storageAxis(x, a.axis))),
      b.ints(`${ctx.base}/steps`, cut.map((a) => a.step)),
    ];
    name = b.op('Slice', inputs, {}, `${ctx.base}/slice`);
  }
  const sliced: KTensor = { ...x, name, shape: x.shape.map((d, i) => spec.find((a) => a.axis === i && d !== null)?.length ?? d) as (number | null)[] };
  // New and shrunk axes only add or drop size-1 axes: the elements keep their TensorFlow order.
  const same = outShape.length === sliced.shape.length && outShape.every((d, i) => d === sliced.shape[i]);
  if (same) return { kind: 'tensor', t: sliced };
  if (outShape[0] !== null) ctx.fail('the slice does not keep the batch as its first axis');
  return { kind: 'tensor', t: fromTfOrder(ctx, tfOrder(ctx, sliced), outShape) };
};

export const sliceJoinOps: Record<string, OpConverter> = { Pad: pad(false), PadV2: pad(true), ConcatV2, Pack, StridedSlice };
