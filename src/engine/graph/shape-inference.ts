/**
 * Static shape inference for the operators the engine supports, with the batch as a
 * symbolic dimension. Also evaluates small integer "shape subgraphs" (Shape -> Gather ->
 * Concat -> Reshape, as PyTorch writes for `x.view(x.size(0), -1)`) so Reshape targets are known.
 */
import { ModelFormatError } from '../../errors.js';
import { attrFloats, attrInt, attrInts, attrString, attrTensor } from './attributes.js';
import { broadcastShapes, dimDiv, dimMul, dimProduct, formatShape } from './dims.js';
import { tensorToNumbers } from './tensor-data.js';
import { ONNX_DATA_TYPES, type DataType, type Dim, type Graph, type Node, type Shape, type TensorData, type ValueInfo } from './types.js';
import { constantValue } from './graph-utils.js';
import { checkNode, checkNodeOutputs } from './node-checks.js';

/** What is known about a tensor during inference. */
export interface Known {
  dataType: DataType;
  shape?: Shape;
  /** Values of small integer tensors (shapes, axes), possibly symbolic. */
  values?: Dim[];
}

export interface ShapeContext {
  node: Node;
  inputs: (Known | undefined)[];
  /** Input i's shape, or an error naming the node. */
  shape(i: number): Shape;
  /** Input i's integer values when known (constants and shape subgraphs). */
  values(i: number): Dim[] | undefined;
  /** Input i's values as plain numbers; error when unknown or symbolic. */
  ints(i: number, what: string): number[];
  fail(message: string): never;
}

export type ShapeRule = (ctx: ShapeContext) => Known[];

const same: ShapeRule = (c) => [{ dataType: c.inputs[0]!.dataType, shape: c.inputs[0]!.shape }];
const broadcast =
  (outType?: DataType): ShapeRule =>
  (c) => {
    const shapes = c.node.inputs.map((_, i) => c.shape(i));
    const shape = broadcastShapes(shapes);
    if (!shape) return c.fail(`inputs ${shapes.map(formatShape).join(' and ')} do not broadcast`);
    const dataType = outType ?? c.inputs[0]!.dataType;
    // Integer arithmetic on shape values, e.g. H * W in a flatten subgraph.
    const vals = c.node.inputs.map((_, i) => c.values(i));
    let values: Dim[] | undefined;
    if (vals.every((v) => v) && shape.length <= 1 && !outType) values = elementwiseValues(c.node.opType, vals as Dim[][]);
    return [{ dataType, shape, values }];
  };

function elementwiseValues(op: string, vals: Dim[][]): Dim[] | undefined {
  const n = Math.max(...vals.map((v) => v.length));
  const out: Dim[] = [];
  for (let i = 0; i < n; i++) {
    const [a, b] = vals.map((v) => (v.length === 1 ? v[0]! : v[i]!)) as [Dim, Dim];
    if (op === 'Mul') out.push(dimMul(a, b));
    else if (op === 'Div') {
      const q = typeof a === 'number' && typeof b === 'number' ? Math.trunc(a / b) : dimDiv(a, b);
      if (q === undefined) return undefined;
      out.push(q);
    } else if (typeof a === 'number' && typeof b === 'number') {
      if (op === 'Add') out.push(a + b);
      else if (op === 'Sub') out.push(a - b);
      else return undefined;
    } else return undefined;
  }
  return out;
}

function normAxis(axis: number, rank: number, c: ShapeContext): number {
  const a = axis < 0 ? axis + rank : axis;
  if (a < 0 || a >= rank) c.fail(`axis ${axis} is out of range for rank ${rank}`);
  return a;
}

/** Explicit [begin..., end...] pads for a conv/pool node, resolving auto_pad. */
export function resolvePads(node: Node, inShape: Shape, kernel: number[], strides: number[], dilations: number[]): number[] {
  const spatial = kernel.length;
  const autoPad = attrString(node, 'auto_pad', 'NOTSET');
  const explicit = attrInts(node, 'pads');
  if (autoPad === 'NOTSET') return explicit ?? new Array(spatial * 2).fill(0);
  if (autoPad === 'VALID') return new Array(spatial * 2).fill(0);
  const pads = new Array(spatial * 2).fill(0);
  for (let i = 0; i < spatial; i++) {
    const inDim = inShape[2 + i];
    if (typeof inDim !== 'number') throw new ModelFormatError(`node '${node.name}': auto_pad needs a fixed spatial size`);
    const out = Math.ceil(inDim / strides[i]!);
    const total = Math.max(0, (out - 1) * strides[i]! + dilations[i]! * (kernel[i]! - 1) + 1 - inDim);
    const small = Math.floor(total / 2);
    pads[i] = autoPad === 'SAME_UPPER' ? small : total - small;
    pads[i + spatial] = total - pads[i];
  }
  return pads;
}

function windowOutput(c: ShapeContext, kernel: number[], withChannels: Dim, ceil = false): Known[] {
  const x = c.shape(0);
  const spatial = kernel.length;
  const strides = attrInts(c.node, 'strides', new Array(spatial).fill(1));
  const dilations = attrInts(c.node, 'dilations', new Array(spatial).fill(1));
  const pads = resolvePads(c.node, x, kernel, strides, dilations);
  const out: Dim[] = [x[0]!, withChannels];
  for (let i = 0; i < spatial; i++) {
    const d = x[2 + i]!;
    if (typeof d !== 'number') {
      out.push(`${c.node.name}_d${i}`);
      continue;
    }
    const span = d + pads[i]! + pads[i + spatial]! - dilations[i]! * (kernel[i]! - 1) - 1;
    let o = (ceil ? Math.ceil(span / strides[i]!) : Math.floor(span / strides[i]!)) + 1;
    // A window that would start in the end padding is dropped (ONNX/PyTorch ceil_mode rule).
    if (ceil && (o - 1) * strides[i]! >= d + pads[i]!) o--;
    if (o < 1) c.fail(`input ${formatShape(x)} is too small for kernel [${kernel}] (output size ${o})`);
    out.push(o);
  }
  return [{ dataType: c.inputs[0]!.dataType, shape: out }];
}

const reduce: ShapeRule = (c) => {
  const x = c.shape(0);
  let axes = attrInts(c.node, 'axes');
  if (!axes && c.node.inputs[1]) axes = c.ints(1, 'axes');
  const keep = attrInt(c.node, 'keepdims', 1) === 1;
  const all = !axes || axes.length === 0;
  if (all && attrInt(c.node, 'noop_with_empty_axes', 0) === 1) return same(c);
  const set = new Set((all ? x.map((_, i) => i) : axes!).map((a) => normAxis(a, x.length, c)));
  const shape: Dim[] = [];
  x.forEach((d, i) => {
    if (!set.has(i)) shape.push(d);
    else if (keep) shape.push(1);
  });
  return [{ dataType: c.inputs[0]!.dataType, shape }];
};

export const shapeRules: Record<string, ShapeRule> = {
  Identity: (c) => [{ ...c.inputs[0]! }],
  Dropout: (c) => [...same(c), { dataType: 'bool', shape: c.shape(0) }],
  Relu: same,
  LeakyRelu: same,
  PRelu: broadcast(),
  Clip: same,
  Sigmoid: same,
  Tanh: same,
  HardSigmoid: same,
  HardSwish: same,
  Elu: same,
  Selu: same,
  Softplus: same,
  Exp: same,
  Log: same,
  Sqrt: same,
  Neg: same,
  Abs: same,
  Reciprocal: same,
  Erf: same,
  Gelu: same,
  Floor: same,
  Ceil: same,
  Softmax: same,
  LogSoftmax: same,
  LRN: same,
  BatchNormalization: same,
  ImageScaler: same,
  InstanceNormalization: same,
  LayerNormalization: (c) => {
    // Outputs: Y, and optionally Mean and InvStdDev with the normalised axes kept as 1.
    const x = c.shape(0);
    const axis = attrInt(c.node, 'axis', -1);
    const first = axis < 0 ? axis + x.length : axis;
    const stats = x.map((d, i) => (i < first ? d : 1));
    return [{ dataType: c.inputs[0]!.dataType, shape: x }, { dataType: 'float32', shape: stats }, { dataType: 'float32', shape: stats }];
  },
  Not: same,
  Add: broadcast(),
  Sub: broadcast(),
  Mul: broadcast(),
  Div: broadcast(),
  Pow: broadcast(),
  Max: broadcast(),
  Min: broadcast(),
  Sum: broadcast(),
  Mean: broadcast(),
  Equal: (c) => {
    // Shape values compared with constants: torch writes `x.expand(n, -1, -1)` as
    // Where(Equal(shape, -1), 1, shape). A symbolic dim is a size, so never 0 or negative.
    const [out] = broadcast('bool')(c);
    const [a, b] = [c.values(0), c.values(1)];
    if (!a || !b || out!.shape!.length > 1) return [out!];
    const n = Math.max(a.length, b.length);
    const values: Dim[] = [];
    for (let i = 0; i < n; i++) {
      const [p, q] = [a.length === 1 ? a[0]! : a[i]!, b.length === 1 ? b[0]! : b[i]!];
      if (p === q) values.push(1);
      else if (typeof p === 'number' && typeof q === 'number') values.push(0);
      else if ((typeof p === 'number' && p <= 0) || (typeof q === 'number' && q <= 0)) values.push(0);
      else return [out!];
    }
    return [{ ...out!, values }];
  },
  Greater: broadcast('bool'),
  GreaterOrEqual: broadcast('bool'),
  Less: broadcast('bool'),
  LessOrEqual: broadcast('bool'),
  And: broadcast('bool'),
  Or: broadcast('bool'),
  Where: (c) => {
    const shape = broadcastShapes([c.shape(0), c.shape(1), c.shape(2)]);
    if (!shape) return c.fail('inputs do not broadcast');
    const [m, x, y] = [c.values(0), c.values(1), c.values(2)];
    let values: Dim[] | undefined;
    if (m && x && y && shape.length <= 1) {
      const at = (v: Dim[], i: number) => (v.length === 1 ? v[0]! : v[i]!);
      values = Array.from({ length: Math.max(m.length, x.length, y.length) }, (_, i) => (at(m, i) ? at(x, i) : at(y, i)));
    }
    return [{ dataType: c.inputs[1]!.dataType, shape, values }];
  },
  Cast: (c) => {
    const to = attrInt(c.node, 'to', 1);
    return [{ dataType: ONNX_DATA_TYPES[to] ?? 'float32', shape: c.inputs[0]?.shape, values: c.values(0) }];
  },
  Conv: (c) => {
    const w = c.shape(1);
    const kernel = attrInts(c.node, 'kernel_shape') ?? (w.slice(2) as number[]);
    return windowOutput(c, kernel, w[0]!);
  },
  ConvTranspose: (c) => {
    const x = c.shape(0);
    const w = c.shape(1);
    const group = attrInt(c.node, 'group', 1);
    const kernel = attrInts(c.node, 'kernel_shape') ?? (w.slice(2) as number[]);
    const spatial = kernel.length;
    const outShape = attrInts(c.node, 'output_shape');
    const strides = attrInts(c.node, 'strides', new Array(spatial).fill(1));
    const dil = attrInts(c.node, 'dilations', new Array(spatial).fill(1));
    const pads = attrInts(c.node, 'pads', new Array(spatial * 2).fill(0));
    const outPad = attrInts(c.node, 'output_padding', new Array(spatial).fill(0));
    const out: Dim[] = [x[0]!, dimMul(w[1]!, group)];
    for (let i = 0; i < spatial; i++) {
      if (outShape) out.push(outShape[outShape.length - spatial + i]!);
      else {
        const d = x[2 + i] as number;
        out.push(strides[i]! * (d - 1) + outPad[i]! + (kernel[i]! - 1) * dil[i]! + 1 - pads[i]! - pads[i + spatial]!);
      }
    }
    return [{ dataType: c.inputs[0]!.dataType, shape: out }];
  },
  MaxPool: (c) => {
    const k = attrInts(c.node, 'kernel_shape');
    if (!k) return c.fail('kernel_shape is missing');
    const r = windowOutput(c, k, c.shape(0)[1]!, attrInt(c.node, 'ceil_mode', 0) === 1);
    return [r[0]!, { dataType: 'int64', shape: r[0]!.shape }];
  },
  AveragePool: (c) => {
    const k = attrInts(c.node, 'kernel_shape');
    if (!k) return c.fail('kernel_shape is missing');
    return windowOutput(c, k, c.shape(0)[1]!, attrInt(c.node, 'ceil_mode', 0) === 1);
  },
  GlobalAveragePool: (c) => {
    const x = c.shape(0);
    return [{ dataType: c.inputs[0]!.dataType, shape: [x[0]!, x[1]!, ...x.slice(2).map(() => 1)] }];
  },
  GlobalMaxPool: (c) => shapeRules['GlobalAveragePool']!(c),
  ReduceMean: reduce,
  ReduceSum: reduce,
  ReduceMax: reduce,
  ReduceMin: reduce,
  ReduceProd: reduce,
  ReduceL2: reduce,
  Gemm: (c) => {
    const a = c.shape(0);
    const b = c.shape(1);
    const m = attrInt(c.node, 'transA', 0) ? a[1]! : a[0]!;
    const n = attrInt(c.node, 'transB', 0) ? b[0]! : b[1]!;
    return [{ dataType: c.inputs[0]!.dataType, shape: [m, n] }];
  },
  MatMul: (c) => {
    const a = c.shape(0);
    const b = c.shape(1);
    const a2 = a.length === 1 ? [1, a[0]!] : a;
    const b2 = b.length === 1 ? [b[0]!, 1] : b;
    const batch = broadcastShapes([a2.slice(0, -2), b2.slice(0, -2)]);
    if (!batch) return c.fail(`inputs ${formatShape(a)} and ${formatShape(b)} do not broadcast`);
    const shape: Dim[] = [...batch];
    if (a.length > 1) shape.push(a2[a2.length - 2]!);
    if (b.length > 1) shape.push(b2[b2.length - 1]!);
    return [{ dataType: c.inputs[0]!.dataType, shape }];
  },
  Flatten: (c) => {
    const x = c.shape(0);
    const axis = attrInt(c.node, 'axis', 1);
    const a = axis < 0 ? axis + x.length : axis;
    return [{ dataType: c.inputs[0]!.dataType, shape: [dimProduct(x.slice(0, a)), dimProduct(x.slice(a))] }];
  },
  Reshape: (c) => {
    const x = c.shape(0);
    const target = c.values(1);
    if (!target) return c.fail('the target shape is not a constant the engine can evaluate');
    const allowZero = attrInt(c.node, 'allowzero', 0) === 1;
    const out: Dim[] = target.map((d, i) => (d === 0 && !allowZero ? x[i]! : d));
    const minus = out.indexOf(-1);
    if (minus >= 0) {
      const known = dimProduct(out.filter((_, i) => i !== minus));
      const rest = dimDiv(dimProduct(x), known);
      if (rest === undefined) return c.fail(`cannot reshape ${formatShape(x)} to [${target.join(', ')}]`);
      out[minus] = rest;
    }
    return [{ dataType: c.inputs[0]!.dataType, shape: out, values: c.values(0) }];
  },
  Transpose: (c) => {
    const x = c.shape(0);
    const perm = attrInts(c.node, 'perm', x.map((_, i) => x.length - 1 - i));
    return [{ dataType: c.inputs[0]!.dataType, shape: perm.map((p) => x[p]!) }];
  },
  Squeeze: (c) => {
    const x = c.shape(0);
    const axes = attrInts(c.node, 'axes') ?? (c.node.inputs[1] ? c.ints(1, 'axes') : undefined);
    const set = new Set((axes ?? x.flatMap((d, i) => (d === 1 ? [i] : []))).map((a) => normAxis(a, x.length, c)));
    const v = c.values(0);
    return [{ dataType: c.inputs[0]!.dataType, shape: x.filter((_, i) => !set.has(i)), values: v }];
  },
  Unsqueeze: (c) => {
    const x = c.shape(0);
    const axes = attrInts(c.node, 'axes') ?? c.ints(1, 'axes');
    const rank = x.length + axes.length;
    const set = new Set(axes.map((a) => normAxis(a, rank, c)));
    const shape: Dim[] = [];
    let k = 0;
    for (let i = 0; i < rank; i++) shape.push(set.has(i) ? 1 : x[k++]!);
    return [{ dataType: c.inputs[0]!.dataType, shape, values: c.values(0) }];
  },
  Concat: (c) => {
    const shapes = c.node.inputs.map((_, i) => c.shape(i));
    const axis = normAxis(attrInt(c.node, 'axis', 0), shapes[0]!.length, c);
    const shape = [...shapes[0]!];
    let total: Dim = 0;
    for (const s of shapes) {
      const d = s[axis]!;
      total = typeof total === 'number' && typeof d === 'number' ? total + d : `${c.node.name}_concat`;
    }
    shape[axis] = total;
    const vals = c.node.inputs.map((_, i) => c.values(i));
    return [{ dataType: c.inputs[0]!.dataType, shape, values: vals.every((v) => v) ? vals.flat() as Dim[] : undefined }];
  },
  Split: (c) => {
    const x = c.shape(0);
    const axis = normAxis(attrInt(c.node, 'axis', 0), x.length, c);
    let split = attrInts(c.node, 'split') ?? (c.node.inputs[1] ? c.ints(1, 'split') : undefined);
    const n = c.node.outputs.length;
    if (!split) {
      const d = x[axis];
      if (typeof d !== 'number') return c.fail('cannot split a symbolic axis evenly');
      const size = Math.ceil(d / n);
      split = Array.from({ length: n }, (_, i) => Math.min(size, d - size * i));
    }
    return split.map((s) => ({ dataType: c.inputs[0]!.dataType, shape: x.map((d, i) => (i === axis ? s : d)) }));
  },
  Slice: (c) => {
    const x = c.shape(0);
    let starts: number[], ends: number[], axes: number[] | undefined, steps: number[] | undefined;
    if (c.node.inputs.length > 1) {
      starts = c.ints(1, 'starts');
      ends = c.ints(2, 'ends');
      axes = c.node.inputs[3] ? c.ints(3, 'axes') : undefined;
      steps = c.node.inputs[4] ? c.ints(4, 'steps') : undefined;
    } else {
      starts = attrInts(c.node, 'starts', []);
      ends = attrInts(c.node, 'ends', []);
      axes = attrInts(c.node, 'axes');
    }
    const shape = [...x];
    const v = c.values(0);
    let values = v ? [...v] : undefined;
    starts.forEach((s0, j) => {
      const axis = normAxis(axes ? axes[j]! : j, x.length, c);
      const step = steps ? steps[j]! : 1;
      const d = x[axis]!;
      if (typeof d !== 'number') {
        shape[axis] = `${c.node.name}_d${axis}`;
        values = undefined;
        return;
      }
      const [start, end] = sliceBounds(s0, ends[j]!, step, d);
      const len = step > 0 ? Math.max(0, Math.ceil((end - start) / step)) : Math.max(0, Math.ceil((start - end) / -step));
      shape[axis] = len;
      if (values && x.length === 1) values = Array.from({ length: len }, (_, k) => values![start + k * step]!);
    });
    return [{ dataType: c.inputs[0]!.dataType, shape, values }];
  },
  Pad: (c) => {
    const x = c.shape(0);
    const pads = attrInts(c.node, 'pads') ?? c.ints(1, 'pads');
    let axes: number[] = x.map((_, i) => i);
    if (c.node.inputs[3]) axes = c.ints(3, 'axes').map((a) => normAxis(a, x.length, c));
    const shape = [...x];
    axes.forEach((a, j) => {
      const d = x[a]!;
      const add = pads[j]! + pads[j + axes.length]!;
      shape[a] = typeof d === 'number' ? d + add : add === 0 ? d : `${c.node.name}_d${a}`;
    });
    return [{ dataType: c.inputs[0]!.dataType, shape }];
  },
  Expand: (c) => {
    const target = c.values(1);
    if (!target) return c.fail('the target shape is not a constant the engine can evaluate');
    const shape = broadcastShapes([c.shape(0), target]);
    if (!shape) return c.fail('shapes do not broadcast');
    return [{ dataType: c.inputs[0]!.dataType, shape }];
  },
  Tile: (c) => {
    const x = c.shape(0);
    const reps = c.ints(1, 'repeats');
    return [{ dataType: c.inputs[0]!.dataType, shape: x.map((d, i) => dimMul(d, reps[i]!)) }];
  },
  Resize: (c) => resizeShape(c, 'Resize'),
  Upsample: (c) => resizeShape(c, 'Upsample'),
  Shape: (c) => {
    const x = c.shape(0);
    const start = attrInt(c.node, 'start', 0);
    const endAttr = attrInt(c.node, 'end');
    const s = start < 0 ? start + x.length : start;
    const e = endAttr === undefined ? x.length : endAttr < 0 ? endAttr + x.length : Math.min(endAttr, x.length);
    const values = x.slice(s, e);
    return [{ dataType: 'int64', shape: [values.length], values }];
  },
  Size: (c) => [{ dataType: 'int64', shape: [], values: [dimProduct(c.shape(0))] }],
  Gather: (c) => {
    const x = c.shape(0);
    const idx = c.shape(1);
    const axis = normAxis(attrInt(c.node, 'axis', 0), x.length, c);
    const shape = [...x.slice(0, axis), ...idx, ...x.slice(axis + 1)];
    const data = c.values(0);
    const ind = c.values(1);
    let values: Dim[] | undefined;
    if (data && ind && x.length === 1) {
      values = ind.map((i) => data[typeof i === 'number' && i < 0 ? i + data.length : (i as number)]!);
    }
    return [{ dataType: c.inputs[0]!.dataType, shape, values }];
  },
  Constant: (c) => {
    const t = attrTensor(c.node, 'value');
    if (t) return [{ dataType: t.dataType, shape: t.dims, values: isIntType(t.dataType) && t.data.length <= 64 ? tensorToNumbers(t) : undefined }];
    const f = attrFloats(c.node, 'value_floats');
    if (f) return [{ dataType: 'float32', shape: [f.length] }];
    const ints = attrInts(c.node, 'value_ints');
    if (ints) return [{ dataType: 'int64', shape: [ints.length], values: ints }];
    const i = attrInt(c.node, 'value_int');
    if (i !== undefined) return [{ dataType: 'int64', shape: [], values: [i] }];
    return [{ dataType: 'float32', shape: [] }];
  },
  ConstantOfShape: (c) => {
    const shape = c.values(0);
    if (!shape) return c.fail('the shape is not a constant the engine can evaluate');
    const t = attrTensor(c.node, 'value');
    const dataType = t?.dataType ?? 'float32';
    let values: Dim[] | undefined;
    if (t && isIntType(dataType) && shape.length <= 1 && typeof shape[0] === 'number' && shape[0] <= 64) {
      values = new Array(shape[0] ?? 1).fill(Number(t.data[0]));
    }
    return [{ dataType, shape, values }];
  },
  Range: (c) => {
    const [s, l, d] = [c.values(0), c.values(1), c.values(2)];
    if (s && l && d && [s[0], l[0], d[0]].every((v) => typeof v === 'number')) {
      const n = Math.max(0, Math.ceil(((l[0] as number) - (s[0] as number)) / (d[0] as number)));
      return [{ dataType: c.inputs[0]!.dataType, shape: [n], values: n <= 64 ? Array.from({ length: n }, (_, i) => (s[0] as number) + i * (d[0] as number)) : undefined }];
    }
    return [{ dataType: c.inputs[0]!.dataType, shape: [`${c.node.name}_len`] }];
  },
  ScatterElements: same,
  GatherElements: (c) => [{ dataType: c.inputs[0]!.dataType, shape: c.shape(1) }],
};

function isIntType(t: DataType): boolean {
  return t === 'int64' || t === 'int32';
}

export function sliceBounds(start: number, end: number, step: number, dim: number): [number, number] {
  let s = start < 0 ? start + dim : start;
  let e = end < 0 ? end + dim : end;
  if (step > 0) {
    s = Math.min(Math.max(s, 0), dim);
    e = Math.min(Math.max(e, 0), dim);
  } else {
    s = Math.min(Math.max(s, -1), dim - 1);
    e = Math.min(Math.max(e, -1), dim - 1);
  }
  return [s, e];
}

function resizeShape(c: ShapeContext, op: string): Known[] {
  const x = c.shape(0);
  let scales: number[] | undefined;
  let sizes: Dim[] | undefined;
  if (op === 'Upsample') scales = attrFloats(c.node, 'scales') ?? c.ints(1, 'scales');
  // Resize-10 has inputs [X, scales].
  else if (c.node.inputs.length === 2) scales = c.ints(1, 'scales');
  else {
    const si = c.node.inputs.length > 3 && c.node.inputs[3] ? c.values(3) : undefined;
    if (si && si.length) sizes = si;
    else if (c.node.inputs[2]) {
      scales = c.values(2) as number[] | undefined;
      if (!scales || scales.length === 0) {
        const t = c.node.inputs[2];
        c.fail(`scales '${t}' are not a constant the engine can evaluate`);
      }
    }
  }
  // Opset 18: scales/sizes may cover only the listed axes.
  const axes = attrInts(c.node, 'axes');
  if (axes) {
    const spread = <T extends Dim>(v: T[], fill: (i: number) => T): T[] => {
      const out = x.map((_, i) => fill(i));
      axes.forEach((a, j) => (out[normAxis(a, x.length, c)] = v[j]!));
      return out;
    };
    if (sizes) sizes = spread(sizes, (i) => x[i]!);
    if (scales) scales = spread(scales, () => 1);
  }
  if (sizes && sizes.length === x.length) return [{ dataType: c.inputs[0]!.dataType, shape: sizes.map((d, i) => (i < 2 ? x[i]! : d)) }];
  if (!scales) return c.fail('neither scales nor sizes are given');
  const shape = x.map((d, i) => (typeof d === 'number' ? Math.floor(d * scales![i]!) : scales![i] === 1 ? d : `${c.node.name}_d${i}`));
  return [{ dataType: c.inputs[0]!.dataType, shape }];
}

/** A rule evaluated on some of the node's inputs, in that order (quantized ops reuse float rules). */
function onInputs(rule: ShapeRule, indices: number[], outType: (c: ShapeContext) => DataType): ShapeRule {
  return (c) => {
    const node = { ...c.node, inputs: indices.map((i) => c.node.inputs[i] ?? '') };
    const ctx: ShapeContext = {
      node,
      inputs: indices.map((i) => c.inputs[i]),
      shape: (i) => c.shape(indices[i]!),
      values: (i) => c.values(indices[i]!),
      ints: (i, what) => c.ints(indices[i]!, what),
      fail: c.fail,
    };
    const dataType = outType(c);
    return rule(ctx).map((k) => ({ dataType, shape: k.shape }));
  };
}

/** The element type of input i (a zero point), or `fallback` when it is omitted. */
const typeOf =
  (i: number, fallback: DataType) =>
  (c: ShapeContext): DataType =>
    (c.node.inputs[i] ? c.inputs[i]?.dataType : undefined) ?? fallback;

// Quantized operators of the default domain (onnxruntime's quantization tools write them).
Object.assign(shapeRules, {
  QuantizeLinear: (c) => [{ dataType: typeOf(2, 'uint8')(c), shape: c.shape(0) }],
  DequantizeLinear: (c) => [{ dataType: c.inputs[1]?.dataType ?? 'float32', shape: c.shape(0) }],
  DynamicQuantizeLinear: (c) => [
    { dataType: 'uint8', shape: c.shape(0) },
    { dataType: 'float32', shape: [] },
    { dataType: 'uint8', shape: [] },
  ],
  ConvInteger: onInputs(shapeRules['Conv']!, [0, 1], () => 'int32'),
  MatMulInteger: onInputs(shapeRules['MatMul']!, [0, 1], () => 'int32'),
  QLinearConv: onInputs(shapeRules['Conv']!, [0, 3], typeOf(7, 'uint8')),
  QLinearMatMul: onInputs(shapeRules['MatMul']!, [0, 3], typeOf(7, 'uint8')),
} satisfies Record<string, ShapeRule>);

/** Shape rules of onnxruntime's com.microsoft quantized operators. */
export const microsoftShapeRules: Record<string, ShapeRule> = {
  QLinearAdd: onInputs(broadcast(), [0, 3], typeOf(7, 'uint8')),
  QLinearMul: onInputs(broadcast(), [0, 3], typeOf(7, 'uint8')),
  QLinearGlobalAveragePool: (c) => {
    if (attrInt(c.node, 'channels_last', 0) !== 1) return onInputs(shapeRules['GlobalAveragePool']!, [0], typeOf(4, 'uint8'))(c);
    const x = c.shape(0);
    return [{ dataType: typeOf(4, 'uint8')(c), shape: [x[0]!, ...x.slice(1, -1).map(() => 1), x[x.length - 1]!] }];
  },
  QLinearAveragePool: onInputs(shapeRules['AveragePool']!, [0], typeOf(4, 'uint8')),
  QLinearLeakyRelu: onInputs(same, [0], typeOf(4, 'uint8')),
  QLinearSigmoid: onInputs(same, [0], typeOf(4, 'uint8')),
  QLinearConcat: (c) => {
    const xs = c.node.inputs.map((_, i) => i).filter((i) => i >= 2 && (i - 2) % 3 === 0);
    return onInputs(shapeRules['Concat']!, xs, typeOf(1, 'uint8'))(c);
  },
  QGemm: onInputs(shapeRules['Gemm']!, [0, 3], typeOf(8, 'float32')),
};

/** Shape rules exist for these ops. */
export function hasShapeRule(op: string, domain = ''): boolean {
  return domain === '' || domain === 'ai.onnx' ? op in shapeRules : domain === 'com.microsoft' && op in microsoftShapeRules;
}

/**
 * Infer every tensor's type and shape. Graph inputs must carry shapes (symbolic dims allowed).
 * Returns what is known by tensor name; tensors of ops without a rule are left out
 * (and so is everything downstream of them) unless the file recorded their shape.
 */
export function inferShapes(graph: Graph, source = 'model'): Map<string, Known> {
  const known = seedKnown(graph);
  for (const node of graph.nodes) inferNode(graph, node, known, source);
  return known;
}

/** What is known before any node runs: the graph inputs and the initializers. */
export function seedKnown(graph: Graph): Map<string, Known> {
  const known = new Map<string, Known>();
  for (const v of graph.inputs) known.set(v.name, { dataType: v.dataType, shape: v.shape });
  for (const [name, t] of graph.initializers) known.set(name, knownOfTensor(t));
  return known;
}

/** A constant's type, shape and (for small integer tensors) values. */
export function knownOfTensor(t: TensorData): Known {
  return {
    dataType: t.dataType,
    shape: t.dims,
    values: (t.dataType === 'int64' || t.dataType === 'int32') && t.data.length <= 64 ? tensorToNumbers(t) : undefined,
  };
}

/** Infer one node's outputs into `known`, from its inputs' entries (nodes in topological order). */
export function inferNode(graph: Graph, node: Node, known: Map<string, Known>, source = 'model'): void {
  const rule = node.domain === '' || node.domain === 'ai.onnx' ? shapeRules[node.opType] : node.domain === 'com.microsoft' ? microsoftShapeRules[node.opType] : undefined;
  const inputs = node.inputs.map((n) => (n ? known.get(n) : undefined));
  const fail = (message: string): never => {
    throw new ModelFormatError(`${source}: node '${node.name}' (${node.opType}): ${message}`);
  };
  const ctx: ShapeContext = {
    node,
    inputs,
    shape(i) {
      const s = inputs[i]?.shape;
      if (!s) fail(`the shape of input ${i} ('${node.inputs[i]}') is unknown`);
      return s!;
    },
    values: (i) => inputs[i]?.values ?? constValues(graph, node.inputs[i]),
    ints(i, what) {
      const v = ctx.values(i);
      if (!v || v.some((d) => typeof d !== 'number')) fail(`${what} ('${node.inputs[i]}') must be a constant the engine can evaluate`);
      return v as number[];
    },
    fail,
  };
  let outs: Known[] | undefined;
  if (rule) {
    const required = node.opType === 'Constant' ? [] : [0];
    if (required.every((i) => inputs[i]?.shape)) {
      checkNode(ctx);
      outs = rule(ctx);
      checkNodeOutputs(ctx, outs);
    }
  }
  node.outputs.forEach((o, i) => {
    if (!o) return;
    const k = outs?.[i] ?? recorded(graph, o);
    if (k) known.set(o, k);
  });
}

function constValues(graph: Graph, name: string | undefined): Dim[] | undefined {
  if (!name) return undefined;
  const t = constantValue(graph, name);
  return t && t.data.length <= 1024 && t.dataType !== 'float16' ? tensorToNumbers(t) : undefined;
}

function recorded(graph: Graph, name: string): Known | undefined {
  const v: ValueInfo | undefined = graph.valueInfo.get(name) ?? graph.outputs.find((o) => o.name === name);
  return v ? { dataType: v.dataType, shape: v.shape } : undefined;
}
