/**
 * Per-node checks that shape inference runs around each node's shape rule, so a malformed
 * node is named before its rule (or onnxruntime) trips over it: attribute values and weight
 * shapes against the input shapes (Conv weight channels vs `group`, `kernel_shape` vs the
 * weight, strides, pads, axes, ...), and the size of each output. Graph-level checks are in
 * validate.ts.
 */
import { attrInt, attrInts, attrString } from './attributes.js';
import { dimProduct, formatShape } from './dims.js';
import type { Known, ShapeContext } from './shape-inference.js';
import type { Dim, Shape } from './types.js';

/**
 * Largest tensor per batch item (and largest initializer), in elements: 2^28 (1 GiB of
 * float32). Shape inference refuses a node whose output would be larger, so an absurd
 * `Resize` scale or input size is named instead of exhausting memory.
 */
export const MAX_TENSOR_ELEMENTS = 2 ** 28;

const fmt = formatShape;


type Check = (c: ShapeContext) => void;

const isNum = (d: Dim | undefined): d is number => typeof d === 'number';

/** `strides`, `dilations`, `pads` and `auto_pad` of a window op over `spatial` axes. */
function windowAttributes(c: ShapeContext, spatial: number, kernel: number[]): void {
  const n = c.node;
  const strides = attrInts(n, 'strides');
  if (strides && (strides.length !== spatial || strides.some((s) => s < 1))) c.fail(`strides [${strides}] must be ${spatial} positive integers`);
  const dil = attrInts(n, 'dilations');
  if (dil && (dil.length !== spatial || dil.some((s) => s < 1))) c.fail(`dilations [${dil}] must be ${spatial} positive integers`);
  const autoPad = attrString(n, 'auto_pad', 'NOTSET');
  if (!['NOTSET', 'SAME_UPPER', 'SAME_LOWER', 'VALID'].includes(autoPad)) c.fail(`auto_pad '${autoPad}' is not one of NOTSET, SAME_UPPER, SAME_LOWER, VALID`);
  const pads = attrInts(n, 'pads');
  if (pads && (pads.length !== 2 * spatial || pads.some((p) => p < 0))) c.fail(`pads [${pads}] must be ${2 * spatial} non-negative integers`);
  if (kernel.length !== spatial || kernel.some((k) => !Number.isSafeInteger(k) || k < 1)) c.fail(`kernel_shape [${kernel}] must be ${spatial} positive integers`);
}

function spatialInput(c: ShapeContext): Shape {
  const x = c.shape(0);
  if (x.length < 3) c.fail(`input ${fmt(x)} needs a batch, a channel and at least one spatial axis`);
  return x;
}

/** Input i, when given, has shape [n] (per-channel parameters). */
function perChannel(c: ShapeContext, i: number, n: Dim, what: string): void {
  if (!c.node.inputs[i]) return;
  const s = c.shape(i);
  if (s.length !== 1 || (isNum(s[0]) && isNum(n) && s[0] !== n)) c.fail(`${what} ('${c.node.inputs[i]}') has shape ${fmt(s)}; [${n}] is needed`);
}

function axisIn(c: ShapeContext, axis: number, rank: number, what = 'axis'): void {
  if (!Number.isSafeInteger(axis) || axis < -rank || axis >= rank) c.fail(`${what} ${axis} is out of range for rank ${rank}`);
}

const conv: Check = (c) => {
  const x = spatialInput(c);
  const w = c.shape(1);
  if (w.length !== x.length) c.fail(`weight ('${c.node.inputs[1]}') has shape ${fmt(w)}, rank ${w.length}, but the input ${fmt(x)} has rank ${x.length}`);
  if (!w.every((d) => isNum(d) && d >= 1)) c.fail(`weight ('${c.node.inputs[1]}') has shape ${fmt(w)}; a fixed, non-empty shape is needed`);
  const group = attrInt(c.node, 'group', 1);
  if (group < 1) c.fail(`group ${group} must be a positive integer`);
  const [m, perGroup] = w as number[];
  const transposed = c.node.opType === 'ConvTranspose';
  if (!transposed) {
    if (m! % group !== 0) c.fail(`the weight ${fmt(w)} has ${m} output channels, which do not split into ${group} groups`);
    if (isNum(x[1]) && x[1] !== perGroup! * group) {
      c.fail(`the input ${fmt(x)} has ${x[1]} channels but the weight ${fmt(w)} with group ${group} takes ${perGroup! * group}`);
    }
  } else if (isNum(x[1]) && (x[1] !== m || m % group !== 0)) {
    c.fail(`the input ${fmt(x)} has ${x[1]} channels but the weight ${fmt(w)} with group ${group} takes ${m}`);
  }
  const kernel = w.slice(2) as number[];
  const ks = attrInts(c.node, 'kernel_shape');
  if (ks && (ks.length !== kernel.length || ks.some((k, i) => k !== kernel[i]))) c.fail(`kernel_shape [${ks}] does not match the weight ${fmt(w)}`);
  windowAttributes(c, x.length - 2, kernel);
  perChannel(c, 2, transposed ? perGroup! * group : m!, 'bias');
  if (transposed) {
    const spatial = x.length - 2;
    const outPad = attrInts(c.node, 'output_padding');
    if (outPad && (outPad.length !== spatial || outPad.some((p) => p < 0))) c.fail(`output_padding [${outPad}] must be ${spatial} non-negative integers`);
    const outShape = attrInts(c.node, 'output_shape');
    if (outShape && (outShape.length < spatial || outShape.some((p) => p < 1))) c.fail(`output_shape [${outShape}] must give ${spatial} positive sizes`);
    if (!outShape && x.slice(2).some((d) => !isNum(d))) c.fail(`input ${fmt(x)} needs a fixed spatial size`);
  }
};

const pool: Check = (c) => {
  const x = spatialInput(c);
  const kernel = attrInts(c.node, 'kernel_shape');
  if (!kernel) return c.fail('kernel_shape is missing');
  windowAttributes(c, x.length - 2, kernel);
  const pads = attrInts(c.node, 'pads');
  // onnxruntime's pooling kernels need each pad smaller than the window.
  if (pads && pads.some((p, i) => p >= kernel[i % kernel.length]!)) c.fail(`pads [${pads}] must be smaller than kernel_shape [${kernel}]`);
  const ceil = attrInt(c.node, 'ceil_mode', 0);
  if (ceil !== 0 && ceil !== 1) c.fail(`ceil_mode ${ceil} must be 0 or 1`);
};

const norm: Check = (c) => {
  const x = c.shape(0);
  if (x.length < 2) c.fail(`input ${fmt(x)} has no channel axis`);
  // Before opset 9, spatial=0 meant statistics per activation ([C, H, W]); the opset upgrade rewrites those.
  if (attrInt(c.node, 'spatial', 1) === 0) return;
  const last = c.node.opType === 'BatchNormalization' ? 4 : 2;
  const names = ['', 'scale', 'bias', 'mean', 'variance'];
  for (let i = 1; i <= last; i++) perChannel(c, i, x[1]!, names[i]!);
  if (c.node.opType === 'InstanceNormalization' && x.length < 3) c.fail(`input ${fmt(x)} has no spatial axis`);
};

const softmax: Check = (c) => {
  const x = c.shape(0);
  axisIn(c, attrInt(c.node, 'axis', -1), Math.max(x.length, 1));
};

function matDim(c: ShapeContext, a: Dim | undefined, b: Dim | undefined, sa: Shape, sb: Shape): void {
  if (isNum(a) && isNum(b) && a !== b) c.fail(`inputs ${fmt(sa)} and ${fmt(sb)} cannot be multiplied (${a} != ${b})`);
}

/**
 * Quantization scales (inputs `at`) must be floating point (float32 for onnxruntime's
 * com.microsoft ops) and, when constant, positive finite numbers; onnxruntime fails on others.
 */
const scales =
  (...at: number[]): Check =>
  (c) => {
    const types = c.node.domain === 'com.microsoft' ? ['float32'] : ['float32', 'float16'];
    for (const i of at) {
      const dt = c.node.inputs[i] ? c.inputs[i]?.dataType : undefined;
      if (dt && !types.includes(dt)) c.fail(`scale ('${c.node.inputs[i]}') is ${dt}; quantization scales are ${types.join(' or ')}`);
      const v = c.node.inputs[i] ? c.values(i) : undefined;
      if (v && !v.every((x) => isNum(x) && Number.isFinite(x) && x > 0)) c.fail(`scale ('${c.node.inputs[i]}') is [${v.slice(0, 4).join(', ')}${v.length > 4 ? ', ...' : ''}]; quantization scales must be positive`);
    }
  };

/** Keyed by op type (default domain) or `domain.op`. */
const checks: Record<string, Check> = {
  Conv: conv,
  ConvTranspose: conv,
  MaxPool: pool,
  AveragePool: pool,
  GlobalAveragePool: (c) => void spatialInput(c),
  GlobalMaxPool: (c) => void spatialInput(c),
  BatchNormalization: norm,
  InstanceNormalization: norm,
  LayerNormalization: (c) => {
    const x = c.shape(0);
    axisIn(c, attrInt(c.node, 'axis', -1), x.length);
  },
  LRN: (c) => {
    const size = attrInt(c.node, 'size');
    if (size === undefined || size < 1) c.fail(`size ${size ?? '(missing)'} must be a positive integer`);
    spatialInput(c);
  },
  Softmax: softmax,
  LogSoftmax: softmax,
  Flatten: (c) => {
    const x = c.shape(0);
    const axis = attrInt(c.node, 'axis', 1);
    if (axis < -x.length || axis > x.length) c.fail(`axis ${axis} is out of range for rank ${x.length}`);
  },
  Gemm: (c) => {
    const a = c.shape(0);
    const b = c.shape(1);
    if (a.length !== 2 || b.length !== 2) c.fail(`inputs ${fmt(a)} and ${fmt(b)} must both be 2-D`);
    const ka = attrInt(c.node, 'transA', 0) ? a[0] : a[1];
    const kb = attrInt(c.node, 'transB', 0) ? b[1] : b[0];
    matDim(c, ka, kb, a, b);
  },
  MatMul: (c) => {
    const a = c.shape(0);
    const b = c.shape(1);
    if (a.length === 0 || b.length === 0) c.fail(`inputs ${fmt(a)} and ${fmt(b)} must not be scalars`);
    matDim(c, a[a.length - 1], b.length === 1 ? b[0] : b[b.length - 2], a, b);
  },
  Transpose: (c) => {
    const x = c.shape(0);
    const perm = attrInts(c.node, 'perm');
    if (perm && (perm.length !== x.length || [...perm].sort((p, q) => p - q).some((p, i) => p !== i))) {
      c.fail(`perm [${perm}] is not a permutation of the ${x.length} axes of ${fmt(x)}`);
    }
  },
  Concat: (c) => {
    const shapes = c.node.inputs.map((_, i) => c.shape(i));
    const rank = shapes[0]!.length;
    const axis = attrInt(c.node, 'axis');
    if (axis === undefined) return c.fail('axis is missing');
    axisIn(c, axis, Math.max(rank, 1));
    const a = axis < 0 ? axis + rank : axis;
    for (const s of shapes) {
      if (s.length !== rank || s.some((d, i) => i !== a && isNum(d) && isNum(shapes[0]![i]) && d !== shapes[0]![i])) {
        c.fail(`inputs ${shapes.map(fmt).join(', ')} do not fit together along axis ${axis}`);
      }
    }
  },
  Reshape: (c) => {
    const x = c.shape(0);
    const target = c.values(1);
    if (!target) return;
    if (!target.every((d) => !isNum(d) || (Number.isSafeInteger(d) && d >= -1))) c.fail(`target shape [${target}] has invalid sizes`);
    if (target.filter((d) => d === -1).length > 1) c.fail(`target shape [${target}] has more than one -1`);
    if (attrInt(c.node, 'allowzero', 0) !== 1 && target.some((d, i) => d === 0 && i >= x.length)) c.fail(`target shape [${target}] copies a dimension the input ${fmt(x)} lacks`);
    const out = target.map((d, i) => (d === 0 && attrInt(c.node, 'allowzero', 0) !== 1 ? x[i]! : d));
    const n = dimProduct(x);
    if (!out.includes(-1)) {
      const m = dimProduct(out);
      if (isNum(n) && isNum(m) && n !== m) c.fail(`cannot reshape ${fmt(x)} (${n} values) to [${target}] (${m} values)`);
    }
  },
  Squeeze: (c) => {
    const x = c.shape(0);
    const axes = attrInts(c.node, 'axes') ?? (c.node.inputs[1] ? c.ints(1, 'axes') : undefined);
    for (const a of axes ?? []) {
      axisIn(c, a, x.length);
      const d = x[a < 0 ? a + x.length : a];
      if (isNum(d) && d !== 1) c.fail(`cannot squeeze axis ${a} of ${fmt(x)}: its size is ${d}, not 1`);
    }
  },
  Unsqueeze: (c) => {
    const axes = attrInts(c.node, 'axes') ?? (c.node.inputs[1] ? c.ints(1, 'axes') : undefined);
    if (!axes) return c.fail('axes are missing');
    const rank = c.shape(0).length + axes.length;
    const set = new Set(axes.map((a) => (a < 0 ? a + rank : a)));
    if (set.size !== axes.length) c.fail(`axes [${axes}] repeat an axis`);
  },
  Gather: (c) => {
    const x = c.shape(0);
    const axis = attrInt(c.node, 'axis', 0);
    axisIn(c, axis, x.length);
    const d = x[axis < 0 ? axis + x.length : axis];
    const idx = c.values(1);
    if (isNum(d) && idx && idx.some((i) => isNum(i) && (i < -d || i >= d))) c.fail(`indices [${idx}] are out of range for size ${d}`);
  },
  Split: (c) => {
    const x = c.shape(0);
    const axis = attrInt(c.node, 'axis', 0);
    axisIn(c, axis, x.length);
    const split = attrInts(c.node, 'split') ?? (c.node.inputs[1] ? c.ints(1, 'split') : undefined);
    const d = x[axis < 0 ? axis + x.length : axis];
    if (split) {
      if (split.length !== c.node.outputs.length) c.fail(`split [${split}] gives ${split.length} parts for ${c.node.outputs.length} outputs`);
      if (split.some((s) => s < 0) || (isNum(d) && split.reduce((a, b) => a + b, 0) !== d)) c.fail(`split [${split}] does not add up to the size ${d} of axis ${axis}`);
    } else if (isNum(d) && d < c.node.outputs.length) c.fail(`cannot split size ${d} into ${c.node.outputs.length} parts`);
  },
  Slice: (c) => {
    if (c.node.inputs.length < 2) return;
    const x = c.shape(0);
    const starts = c.ints(1, 'starts');
    const ends = c.ints(2, 'ends');
    const axes = c.node.inputs[3] ? c.ints(3, 'axes') : undefined;
    const steps = c.node.inputs[4] ? c.ints(4, 'steps') : undefined;
    if (ends.length !== starts.length || (axes && axes.length !== starts.length) || (steps && steps.length !== starts.length)) {
      c.fail(`starts, ends, axes and steps must have the same length`);
    }
    if (steps?.some((s) => s === 0)) c.fail(`steps [${steps}] must not be 0`);
    const list = axes ?? starts.map((_, i) => i);
    for (const a of list) axisIn(c, a, x.length);
    if (new Set(list.map((a) => (a < 0 ? a + x.length : a))).size !== list.length) c.fail(`axes [${list}] repeat an axis`);
  },
  Pad: (c) => {
    const x = c.shape(0);
    const pads = attrInts(c.node, 'pads') ?? c.ints(1, 'pads');
    const axes = c.node.inputs[3] ? c.ints(3, 'axes') : x.map((_, i) => i);
    if (pads.length !== 2 * axes.length) c.fail(`pads [${pads}] must have ${2 * axes.length} values for ${fmt(x)}`);
    for (const a of axes) axisIn(c, a, x.length);
    const mode = attrString(c.node, 'mode', 'constant');
    if (!['constant', 'reflect', 'edge', 'wrap'].includes(mode)) c.fail(`mode '${mode}' is not one of constant, reflect, edge`);
    axes.forEach((a0, j) => {
      const a = a0 < 0 ? a0 + x.length : a0;
      const d = x[a];
      if (!isNum(d)) return;
      const size = d + pads[j]! + pads[j + axes.length]!;
      if (size < 1) c.fail(`pads [${pads}] leave nothing of axis ${a} (size ${d})`);
      if (mode === 'reflect' && (pads[j]! >= d || pads[j + axes.length]! >= d)) c.fail(`reflect pads [${pads}] must be smaller than the size ${d} of axis ${a}`);
    });
  },
  Resize: (c) => {
    const x = c.shape(0);
    const scales = c.node.inputs[2] ? c.values(2) : undefined;
    const sizes = c.node.inputs[3] ? c.values(3) : undefined;
    const axes = attrInts(c.node, 'axes');
    const n = axes ? axes.length : x.length;
    if (sizes && sizes.length > 0 && (sizes.length !== n || sizes.some((s) => isNum(s) && s < 1))) c.fail(`sizes [${sizes}] must be ${n} positive sizes`);
    else if (scales && scales.length > 0 && (sizes?.length ?? 0) === 0 && (scales.length !== n || scales.some((s) => !(isNum(s) && s > 0 && Number.isFinite(s))))) {
      c.fail(`scales [${scales}] must be ${n} positive numbers`);
    }
    const mode = attrString(c.node, 'mode', 'nearest');
    if (!['nearest', 'linear', 'cubic'].includes(mode)) c.fail(`mode '${mode}' is not one of nearest, linear, cubic`);
  },
  Upsample: (c) => {
    const x = c.shape(0);
    const scales = c.values(1);
    if (scales && (scales.length !== x.length || scales.some((s) => !(isNum(s) && s > 0)))) c.fail(`scales [${scales}] must be ${x.length} positive numbers`);
  },
  Tile: (c) => {
    const x = c.shape(0);
    const reps = c.ints(1, 'repeats');
    if (reps.length !== x.length || reps.some((r) => r < 0)) c.fail(`repeats [${reps}] must be ${x.length} non-negative integers`);
  },
  Cast: (c) => {
    const to = attrInt(c.node, 'to');
    if (to === undefined || ![1, 2, 3, 4, 5, 6, 7, 9, 10, 11].includes(to)) c.fail(`'to' is ${to ?? '(missing)'}, not an element type rsi-grad-cam supports`);
  },
  Clip: (c) => {
    for (const i of [1, 2]) {
      if (!c.node.inputs[i]) continue;
      const s = c.shape(i);
      if (dimProduct(s) !== 1) c.fail(`${i === 1 ? 'min' : 'max'} ('${c.node.inputs[i]}') has shape ${fmt(s)}; a scalar is needed`);
    }
  },
  Constant: (c) => {
    const n = Object.keys(c.node.attributes).length;
    if (n !== 1) c.fail(`needs exactly one value attribute, has ${n}`);
  },
  ConstantOfShape: (c) => {
    const shape = c.values(0);
    if (shape && shape.some((d) => isNum(d) && d < 0)) c.fail(`shape [${shape}] has negative sizes`);
  },
  QuantizeLinear: scales(1),
  DequantizeLinear: scales(1),
  QLinearConv: scales(1, 4, 6),
  QLinearMatMul: scales(1, 4, 6),
  'com.microsoft.QLinearAdd': scales(1, 4, 6),
  'com.microsoft.QLinearMul': scales(1, 4, 6),
  'com.microsoft.QLinearGlobalAveragePool': scales(1, 3),
  'com.microsoft.QLinearAveragePool': scales(1, 3),
  'com.microsoft.QLinearLeakyRelu': scales(1, 3),
  'com.microsoft.QLinearSigmoid': scales(1, 3),
  'com.microsoft.QGemm': scales(1, 4, 7),
  'com.microsoft.QLinearConcat': (c) => scales(0, ...c.node.inputs.map((_, i) => i).filter((i) => i >= 3 && i % 3 === 0))(c),
  Range: (c) => {
    const d = c.values(2);
    if (d && d[0] === 0) c.fail('delta must not be 0');
  },
};

/** Checks `ctx.node`'s attributes and input shapes before its shape rule runs (fails naming the node). */
export function checkNode(ctx: ShapeContext): void {
  const d = ctx.node.domain;
  checks[d === '' || d === 'ai.onnx' ? ctx.node.opType : `${d}.${ctx.node.opType}`]?.(ctx);
}

/** Output shapes a node's rule gave: whole, non-negative sizes, and not over MAX_TENSOR_ELEMENTS an item. */
export function checkNodeOutputs(ctx: ShapeContext, outs: Known[]): void {
  const constant = ctx.node.opType === 'Constant' || ctx.node.opType === 'ConstantOfShape';
  for (const k of outs) {
    if (!k.shape) continue;
    const s = k.shape;
    if (s.some((d) => d === undefined || (isNum(d) && !(Number.isSafeInteger(d) && d >= 0)))) ctx.fail(`its output would have shape ${fmt(s)}`);
    // An empty float tensor on the data path (not a constant such as Resize's empty roi).
    const float = k.dataType === 'float32' || k.dataType === 'float16' || k.dataType === 'float64';
    if (float && !constant && s.length > 1 && s.some((d) => d === 0)) ctx.fail(`its output would be empty, shape ${fmt(s)}`);
    // Per batch item: the first axis of a tensor of rank 2 or more is the batch.
    const count = (s.length > 1 ? s.slice(1) : s).filter(isNum).reduce((a, b) => a * b, 1);
    if (count > MAX_TENSOR_ELEMENTS) ctx.fail(`its output would have shape ${fmt(s)}, over ${MAX_TENSOR_ELEMENTS} values an item`);
  }
}
