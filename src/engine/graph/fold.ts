/**
 * Constant folding at load. Exporters write shape arithmetic as graph nodes: torch's F.pad
 * computes its pads with ConstantOfShape -> Concat -> Reshape -> Slice -> Transpose -> Cast,
 * timm's `pad_same` from `x.shape` with Shape -> Gather -> arithmetic -> Concat. Every node
 * whose inputs are all known (initializers, Constant nodes, static dimensions found by shape
 * inference) is evaluated here with ONNX semantics and replaced by an initializer, so the
 * rest of the engine (shape inference, gradient rules) sees plain constants.
 *
 * The batch dimension is symbolic during folding, so nothing that depends on it is folded.
 */
import { ModelFormatError } from '../../errors.js';
import { attrFloat, attrInt, attrInts, attrTensor } from './attributes.js';
import { constantNodeValue } from './graph-utils.js';
import { inferNode, knownOfTensor, seedKnown, type Known } from './shape-inference.js';
import { elementCount, emptyTyped, floatToHalf, halfToFloat } from './tensor-data.js';
import { hasRequiredInputs } from './validate.js';
import { ONNX_DATA_TYPES, type DataType, type Graph, type Node, type TensorData } from './types.js';

/** Folded tensors larger than this stay in the graph (onnxruntime folds them itself). */
const MAX_ELEMENTS = 1 << 24;

/** A tensor being folded: values as doubles (int64 beyond 2^53 is approximate, see `toTensor`). */
export interface Value {
  dataType: DataType;
  dims: number[];
  data: Float64Array;
}

/**
 * Evaluates one node from its input values (undefined for omitted optional inputs); returns
 * undefined when the node is left to onnxruntime (a case not worth folding here).
 */
type Evaluator = (node: Node, inputs: (Value | undefined)[], fail: (message: string) => never) => Value[] | undefined;

/** Ops whose output can be static although an input is partly symbolic (`Shape` of [N, C, H, W]). */
const FROM_SHAPES = new Set(['Shape', 'Size', 'Gather', 'Slice']);

/**
 * Fold every constant node of `graph` in place (nodes in topological order), except ops in
 * `keep`. Returns the number of nodes replaced by initializers. Graph inputs must carry their
 * shapes, with the batch symbolic.
 */
export function foldConstants(graph: Graph, source = 'model', keep: ReadonlySet<string> = new Set()): number {
  const known = seedKnown(graph);
  const outputs = new Set(graph.outputs.map((o) => o.name));
  const kept: Node[] = [];
  let folded = 0;
  const replace = (node: Node, tensors: TensorData[]) => {
    node.outputs.forEach((o, i) => {
      if (!o) return;
      graph.initializers.set(o, tensors[i]!);
      known.set(o, knownOfTensor(tensors[i]!));
    });
    folded++;
  };
  for (const node of graph.nodes) {
    const foldable = !node.outputs.some((o) => outputs.has(o)) && (node.domain === '' || node.domain === 'ai.onnx') && !keep.has(node.opType);
    const alias = foldable && node.opType === 'Identity' ? graph.initializers.get(node.inputs[0]!) : undefined;
    if (alias) {
      replace(node, [alias]);
      continue;
    }
    const values = foldable ? evaluateNode(graph, node, source) : undefined;
    if (values) {
      replace(node, values.map(toTensor));
      continue;
    }
    inferNode(graph, node, known, source);
    const fromShapes = foldable ? staticShapeValues(node, known) : undefined;
    if (fromShapes) replace(node, fromShapes.map(toTensor));
    else kept.push(node);
  }
  graph.nodes = kept;
  return folded;
}

/** The node's outputs when every input is a constant and the op has an evaluator. */
function evaluateNode(graph: Graph, node: Node, source: string): Value[] | undefined {
  const evaluate = evaluators[node.opType];
  if (!evaluate || !hasRequiredInputs(node, graph.opset)) return undefined;
  const inputs: (Value | undefined)[] = [];
  for (const name of node.inputs) {
    if (!name) {
      inputs.push(undefined);
      continue;
    }
    const t = graph.initializers.get(name);
    if (!t || t.data.length > MAX_ELEMENTS) return undefined;
    inputs.push(fromTensor(t));
  }
  const fail = (message: string): never => {
    throw new ModelFormatError(`${source}: node '${node.name}' (${node.opType}) computes a constant: ${message}`);
  };
  const out = evaluate(node, inputs, fail);
  if (!out || out.some((v) => v.data.length > MAX_ELEMENTS)) return undefined;
  return out;
}

/** Integer outputs that shape inference resolved to numbers although an input is symbolic. */
function staticShapeValues(node: Node, known: Map<string, Known>): Value[] | undefined {
  if (!FROM_SHAPES.has(node.opType) || node.outputs.length !== 1) return undefined;
  const k = known.get(node.outputs[0]!);
  if (!k?.shape || !k.values || (k.dataType !== 'int64' && k.dataType !== 'int32')) return undefined;
  if (!k.shape.every((d) => typeof d === 'number') || !k.values.every((v) => typeof v === 'number')) return undefined;
  if (elementCount(k.shape as number[]) !== k.values.length) return undefined;
  return [{ dataType: k.dataType, dims: k.shape as number[], data: Float64Array.from(k.values as number[]) }];
}

// ---------------------------------------------------------------------------------------
// Values

export function fromTensor(t: TensorData): Value {
  const data = new Float64Array(t.data.length);
  if (t.dataType === 'float16') for (let i = 0; i < data.length; i++) data[i] = halfToFloat(t.data[i] as number);
  else for (let i = 0; i < data.length; i++) data[i] = Number(t.data[i]);
  return { dataType: t.dataType, dims: [...t.dims], data };
}

const INT_RANGE: Partial<Record<DataType, [number, number]>> = {
  int8: [-128, 127],
  uint8: [0, 255],
  int16: [-32768, 32767],
  uint16: [0, 65535],
  int32: [-2147483648, 2147483647],
};

/** A tensor of the value's type. int64 saturates at its range (INT64_MAX sentinels of Slice). */
export function toTensor(v: Value): TensorData {
  const data = emptyTyped(v.dataType, v.data.length);
  for (let i = 0; i < v.data.length; i++) {
    const x = v.data[i]!;
    switch (v.dataType) {
      case 'int64':
        (data as BigInt64Array)[i] = x >= 9223372036854775807 ? 9223372036854775807n : x <= -9223372036854775808 ? -9223372036854775808n : BigInt(Math.trunc(x));
        break;
      case 'float16':
        (data as Uint16Array)[i] = floatToHalf(x);
        break;
      case 'bool':
        (data as Uint8Array)[i] = x ? 1 : 0;
        break;
      default:
        (data as Float32Array)[i] = x;
    }
  }
  return { dataType: v.dataType, dims: [...v.dims], data };
}

const isInt = (t: DataType) => t !== 'float32' && t !== 'float64' && t !== 'float16' && t !== 'bool';

/** Round a computed number to what the type can hold (float32 rounding, integer wrap). */
function coerce(x: number, t: DataType): number {
  switch (t) {
    case 'float32':
      return Math.fround(x);
    case 'float64':
      return x;
    case 'float16':
      return Math.fround(x);
    case 'bool':
      return x ? 1 : 0;
    case 'int64':
      return Math.trunc(x);
    default: {
      const [lo, hi] = INT_RANGE[t]!;
      const span = hi - lo + 1;
      const v = Math.trunc(x);
      return ((((v - lo) % span) + span) % span) + lo;
    }
  }
}

function value(dataType: DataType, dims: number[], data: ArrayLike<number>): Value {
  const out = new Float64Array(data.length);
  for (let i = 0; i < data.length; i++) out[i] = coerce(data[i]!, dataType);
  return { dataType, dims, data: out };
}

function strides(dims: readonly number[]): number[] {
  const s = new Array(dims.length).fill(1);
  for (let i = dims.length - 2; i >= 0; i--) s[i] = s[i + 1] * dims[i + 1]!;
  return s;
}

/** Numpy broadcasting of several values; `f` gets the elements at each output position. */
function broadcastMap(vals: Value[], dataType: DataType, f: (xs: number[]) => number, fail: (m: string) => never): Value {
  const rank = Math.max(...vals.map((v) => v.dims.length));
  const dims: number[] = [];
  for (let i = 0; i < rank; i++) {
    let d = 1;
    for (const v of vals) {
      const e = v.dims[v.dims.length - rank + i] ?? 1;
      if (e === 1) continue;
      if (d !== 1 && d !== e) fail(`shapes [${vals.map((x) => x.dims.join(', ')).join('] and [')}] do not broadcast`);
      d = e;
    }
    dims.push(d);
  }
  const n = elementCount(dims);
  const out = new Float64Array(n);
  const inStrides = vals.map((v) => {
    const s = strides(v.dims);
    // Stride 0 along broadcast axes; axes the input lacks count as size 1.
    return dims.map((_, i) => {
      const k = i - (rank - v.dims.length);
      return k < 0 || v.dims[k] === 1 ? 0 : s[k]!;
    });
  });
  const idx = new Array(rank).fill(0);
  const xs = new Array(vals.length).fill(0);
  for (let j = 0; j < n; j++) {
    for (let v = 0; v < vals.length; v++) {
      let off = 0;
      for (let i = 0; i < rank; i++) off += idx[i] * inStrides[v]![i]!;
      xs[v] = vals[v]!.data[off]!;
    }
    out[j] = coerce(f(xs), dataType);
    for (let i = rank - 1; i >= 0; i--) {
      if (++idx[i] < dims[i]!) break;
      idx[i] = 0;
    }
  }
  return { dataType, dims, data: out };
}

function normAxis(axis: number, rank: number, fail: (m: string) => never): number {
  const a = axis < 0 ? axis + rank : axis;
  if (a < 0 || a >= rank) fail(`axis ${axis} is out of range for rank ${rank}`);
  return a;
}

/** Axes from an attribute (older opsets) or an optional input. */
function axesOf(node: Node, input: Value | undefined): number[] | undefined {
  return attrInts(node, 'axes') ?? (input ? Array.from(input.data) : undefined);
}

/** Gather the elements of `v` at the positions of a (possibly permuted / strided) index walk. */
function take(v: Value, dims: number[], index: (out: number[]) => number): Value {
  const n = elementCount(dims);
  const data = new Float64Array(n);
  const idx = new Array(dims.length).fill(0);
  for (let j = 0; j < n; j++) {
    data[j] = v.data[index(idx)]!;
    for (let i = dims.length - 1; i >= 0; i--) {
      if (++idx[i] < dims[i]!) break;
      idx[i] = 0;
    }
  }
  return { dataType: v.dataType, dims, data };
}

function reshape(v: Value, dims: number[]): Value {
  return { dataType: v.dataType, dims, data: v.data };
}

// ---------------------------------------------------------------------------------------
// Evaluators, one per operator

type Binary = (a: number, b: number, t: DataType, fail: (m: string) => never) => number;

function binary(op: Binary, outType?: DataType): Evaluator {
  return (_node, [a, b], fail) => {
    const t = a!.dataType;
    return [broadcastMap([a!, b!], outType ?? t, ([x, y]) => op(x!, y!, t, fail), fail)];
  };
}

function variadic(op: (a: number, b: number) => number): Evaluator {
  return (_node, inputs, fail) => {
    const vals = inputs.filter((v): v is Value => !!v);
    return [broadcastMap(vals, vals[0]!.dataType, (xs) => xs.reduce(op), fail)];
  };
}

function unary(op: (x: number, t: DataType) => number, outType?: DataType): Evaluator {
  return (_node, [x]) => [value(outType ?? x!.dataType, [...x!.dims], x!.data.map((v) => op(v, x!.dataType)))];
}

/** Integer division truncates toward zero (ONNX, like C); float division is IEEE. */
const div: Binary = (a, b, t, fail) => {
  if (!isInt(t)) return a / b;
  if (b === 0) fail('integer division by zero');
  return Math.trunc(a / b);
};

function reduce(init: number, op: (acc: number, x: number) => number, finish?: (acc: number, n: number) => number): Evaluator {
  return (node, [x, axesIn], fail) => {
    const rank = x!.dims.length;
    const keep = attrInt(node, 'keepdims', 1) === 1;
    let axes = axesOf(node, axesIn);
    if (!axes || axes.length === 0) {
      if (attrInt(node, 'noop_with_empty_axes', 0) === 1) return [x!];
      axes = x!.dims.map((_, i) => i);
    }
    const set = new Set(axes.map((a) => normAxis(a, rank, fail)));
    const outDims = x!.dims.map((d, i) => (set.has(i) ? 1 : d));
    const outStrides = strides(outDims);
    const n = elementCount(outDims);
    const acc = new Float64Array(n).fill(init);
    const count = elementCount(x!.dims) / Math.max(1, n);
    const idx = new Array(rank).fill(0);
    for (let j = 0; j < x!.data.length; j++) {
      let off = 0;
      for (let i = 0; i < rank; i++) off += (set.has(i) ? 0 : idx[i]) * outStrides[i]!;
      acc[off] = op(acc[off]!, x!.data[j]!);
      for (let i = rank - 1; i >= 0; i--) {
        if (++idx[i] < x!.dims[i]!) break;
        idx[i] = 0;
      }
    }
    const data = finish ? acc.map((a) => finish(a, count)) : acc;
    return [value(x!.dataType, keep ? outDims : x!.dims.filter((_, i) => !set.has(i)), data)];
  };
}

/** For (De)QuantizeLinear: element index -> index into a per-tensor (1 value) or per-axis scale. */
function perAxis(node: Node, x: Value, scale: Value, fail: (m: string) => never): (i: number) => number {
  if (scale.data.length === 1) return () => 0;
  const axis = normAxis(attrInt(node, 'axis', 1), x.dims.length, fail);
  const inner = elementCount(x.dims.slice(axis + 1));
  const d = x.dims[axis]!;
  if (scale.data.length !== d) fail(`${scale.data.length} scales for axis ${axis} of size ${d}`);
  return (i) => Math.floor(i / inner) % d;
}

export const evaluators: Record<string, Evaluator> = {
  Identity: (_n, [x]) => [x!],
  // Sparse and string constants stay nodes.
  Constant: (node) => {
    const t = constantNodeValue(node);
    return t ? [fromTensor(t)] : undefined;
  },
  Shape: (node, [x]) => {
    const rank = x!.dims.length;
    const clamp = (a: number) => Math.min(Math.max(a < 0 ? a + rank : a, 0), rank);
    const start = clamp(attrInt(node, 'start', 0));
    const end = clamp(attrInt(node, 'end', rank));
    const dims = x!.dims.slice(start, Math.max(start, end));
    return [value('int64', [dims.length], dims)];
  },
  Size: (_n, [x]) => [value('int64', [], [x!.data.length])],
  Gather: (node, [x, ind], fail) => {
    const axis = normAxis(attrInt(node, 'axis', 0), x!.dims.length, fail);
    const d = x!.dims[axis]!;
    const indices = Array.from(ind!.data, (i) => {
      const k = i < 0 ? i + d : i;
      if (k < 0 || k >= d) fail(`index ${i} is out of range for axis ${axis} of size ${d}`);
      return k;
    });
    const outer = elementCount(x!.dims.slice(0, axis));
    const inner = elementCount(x!.dims.slice(axis + 1));
    const data = new Float64Array(outer * indices.length * inner);
    let j = 0;
    for (let o = 0; o < outer; o++) for (const k of indices) for (let i = 0; i < inner; i++) data[j++] = x!.data[(o * d + k) * inner + i]!;
    return [{ dataType: x!.dataType, dims: [...x!.dims.slice(0, axis), ...ind!.dims, ...x!.dims.slice(axis + 1)], data }];
  },
  Unsqueeze: (node, [x, axesIn], fail) => {
    const axes = axesOf(node, axesIn) ?? fail('axes are missing');
    const rank = x!.dims.length + axes.length;
    const set = new Set(axes.map((a) => normAxis(a, rank, fail)));
    const dims: number[] = [];
    let k = 0;
    for (let i = 0; i < rank; i++) dims.push(set.has(i) ? 1 : x!.dims[k++]!);
    return [reshape(x!, dims)];
  },
  Squeeze: (node, [x, axesIn], fail) => {
    const axes = axesOf(node, axesIn);
    const set = new Set((axes ?? x!.dims.flatMap((d, i) => (d === 1 ? [i] : []))).map((a) => normAxis(a, x!.dims.length, fail)));
    for (const a of set) if (x!.dims[a] !== 1) fail(`cannot squeeze axis ${a} of size ${x!.dims[a]}`);
    return [reshape(x!, x!.dims.filter((_, i) => !set.has(i)))];
  },
  Flatten: (node, [x], fail) => {
    const axis = attrInt(node, 'axis', 1);
    const a = axis < 0 ? axis + x!.dims.length : axis;
    if (a < 0 || a > x!.dims.length) fail(`axis ${axis} is out of range`);
    return [reshape(x!, [elementCount(x!.dims.slice(0, a)), elementCount(x!.dims.slice(a))])];
  },
  Concat: (node, inputs, fail) => {
    const vals = inputs.filter((v): v is Value => !!v);
    const rank = vals[0]!.dims.length;
    const axis = normAxis(attrInt(node, 'axis', 0), rank, fail);
    const dims = [...vals[0]!.dims];
    dims[axis] = vals.reduce((s, v) => s + v.dims[axis]!, 0);
    const outer = elementCount(dims.slice(0, axis));
    const data = new Float64Array(elementCount(dims));
    let j = 0;
    for (let o = 0; o < outer; o++) {
      for (const v of vals) {
        const block = elementCount(v.dims.slice(axis));
        data.set(v.data.subarray(o * block, (o + 1) * block), j);
        j += block;
      }
    }
    return [{ dataType: vals[0]!.dataType, dims, data }];
  },
  Slice: (node, [x, startsIn, endsIn, axesIn, stepsIn], fail) => {
    const rank = x!.dims.length;
    const starts = startsIn ? Array.from(startsIn.data) : attrInts(node, 'starts', []);
    const ends = endsIn ? Array.from(endsIn.data) : attrInts(node, 'ends', []);
    const axes = axesIn ? Array.from(axesIn.data) : attrInts(node, 'axes', starts.map((_, i) => i));
    const steps = stepsIn ? Array.from(stepsIn.data) : starts.map(() => 1);
    const begin = x!.dims.map(() => 0);
    const step = x!.dims.map(() => 1);
    const dims = [...x!.dims];
    axes.forEach((a0, j) => {
      const a = normAxis(a0, rank, fail);
      const d = x!.dims[a]!;
      const st = steps[j]!;
      if (st === 0) fail('a step is 0');
      // ONNX clamps starts/ends to [0, d] for positive steps and [-1, d - 1] for negative ones.
      const clamp = (v: number, lo: number, hi: number) => Math.min(Math.max(v < 0 ? v + d : v, lo), hi);
      const s = st > 0 ? clamp(starts[j]!, 0, d) : clamp(starts[j]!, -1, d - 1);
      const e = st > 0 ? clamp(ends[j]!, 0, d) : clamp(ends[j]!, -1, d - 1);
      begin[a] = s;
      step[a] = st;
      dims[a] = Math.max(0, st > 0 ? Math.ceil((e - s) / st) : Math.ceil((s - e) / -st));
    });
    const xs = strides(x!.dims);
    return [take(x!, dims, (idx) => idx.reduce((off, i, a) => off + (begin[a]! + i * step[a]!) * xs[a]!, 0))];
  },
  Reshape: (node, [x, shape], fail) => {
    const allowZero = attrInt(node, 'allowzero', 0) === 1;
    const dims = Array.from(shape!.data, (d, i) => (d === 0 && !allowZero ? x!.dims[i]! : d));
    const minus = dims.indexOf(-1);
    if (minus >= 0) {
      const rest = elementCount(dims.filter((_, i) => i !== minus));
      dims[minus] = rest === 0 ? 0 : x!.data.length / rest;
    }
    if (elementCount(dims) !== x!.data.length || dims.some((d) => !Number.isInteger(d) || d < 0)) {
      fail(`cannot reshape [${x!.dims.join(', ')}] to [${Array.from(shape!.data).join(', ')}]`);
    }
    return [reshape(x!, dims)];
  },
  Transpose: (node, [x]) => {
    const rank = x!.dims.length;
    const perm = attrInts(node, 'perm', x!.dims.map((_, i) => rank - 1 - i));
    const xs = strides(x!.dims);
    return [take(x!, perm.map((p) => x!.dims[p]!), (idx) => idx.reduce((off, i, k) => off + i * xs[perm[k]!]!, 0))];
  },
  Cast: (node, [x]) => {
    const to = ONNX_DATA_TYPES[attrInt(node, 'to', 1)];
    // Float to integer truncates toward zero (a C cast, as onnxruntime does).
    return to ? [value(to, [...x!.dims], x!.data)] : undefined;
  },
  Add: binary((a, b) => a + b),
  Sub: binary((a, b) => a - b),
  Mul: binary((a, b) => a * b),
  Div: binary(div),
  Pow: (_node, [a, b], fail) => [broadcastMap([a!, b!], a!.dataType, ([x, y]) => Math.pow(x!, y!), fail)],
  Mod: (node, [a, b], fail) => {
    const fmod = attrInt(node, 'fmod', 0) === 1;
    if (!fmod && !isInt(a!.dataType)) fail('fmod must be 1 for floating-point inputs');
    return [
      broadcastMap(
        [a!, b!],
        a!.dataType,
        ([x, y]) => {
          if (isInt(a!.dataType) && y === 0) fail('integer modulo by zero');
          const r = x! % y!; // C fmod: the sign of the dividend
          return fmod || r === 0 || Math.sign(r) === Math.sign(y!) ? r : r + y!; // Python %: the sign of the divisor
        },
        fail,
      ),
    ];
  },
  Max: variadic((a, b) => (Number.isNaN(a) || Number.isNaN(b) ? NaN : Math.max(a, b))),
  Min: variadic((a, b) => (Number.isNaN(a) || Number.isNaN(b) ? NaN : Math.min(a, b))),
  Sum: variadic((a, b) => a + b),
  Equal: binary((a, b) => +(a === b), 'bool'),
  Less: binary((a, b) => +(a < b), 'bool'),
  LessOrEqual: binary((a, b) => +(a <= b), 'bool'),
  Greater: binary((a, b) => +(a > b), 'bool'),
  GreaterOrEqual: binary((a, b) => +(a >= b), 'bool'),
  And: binary((a, b) => +(!!a && !!b), 'bool'),
  Or: binary((a, b) => +(!!a || !!b), 'bool'),
  Xor: binary((a, b) => +(!!a !== !!b), 'bool'),
  Not: unary((x) => +!x, 'bool'),
  Where: (_node, [c, a, b], fail) => [broadcastMap([c!, a!, b!], a!.dataType, ([k, x, y]) => (k ? x! : y!), fail)],
  Neg: unary((x) => -x),
  Abs: unary((x) => Math.abs(x)),
  Sign: unary((x) => Math.sign(x)),
  Floor: unary((x) => Math.floor(x)),
  Ceil: unary((x) => Math.ceil(x)),
  // Round half to even, as ONNX defines it.
  Round: unary((x) => (Math.abs(x % 1) === 0.5 ? 2 * Math.round(x / 2) : Math.round(x))),
  Sqrt: unary((x) => Math.sqrt(x)),
  Reciprocal: unary((x) => 1 / x),
  Exp: unary((x) => Math.exp(x)),
  Log: unary((x) => Math.log(x)),
  Relu: unary((x) => Math.max(0, x)),
  Clip: (node, [x, lo, hi]) => {
    const min = lo ? lo.data[0]! : attrFloat(node, 'min', -Infinity);
    const max = hi ? hi.data[0]! : attrFloat(node, 'max', Infinity);
    return [value(x!.dataType, [...x!.dims], x!.data.map((v) => Math.min(Math.max(v, min), max)))];
  },
  Range: (_node, [start, limit, delta], fail) => {
    const [s, l, d] = [start!.data[0]!, limit!.data[0]!, delta!.data[0]!];
    if (d === 0) fail('delta is 0');
    const n = Math.max(0, Math.ceil((l - s) / d));
    if (n > MAX_ELEMENTS) return [{ dataType: start!.dataType, dims: [n], data: new Float64Array(MAX_ELEMENTS + 1) }];
    return [value(start!.dataType, [n], Array.from({ length: n }, (_, i) => s + i * d))];
  },
  ConstantOfShape: (node, [shape], fail) => {
    const dims = Array.from(shape!.data);
    if (dims.some((d) => d < 0)) fail(`negative dimension in [${dims.join(', ')}]`);
    const t = attrTensor(node, 'value');
    const fill = t ? fromTensor(t) : { dataType: 'float32' as DataType, dims: [1], data: Float64Array.of(0) };
    const n = elementCount(dims);
    if (n > MAX_ELEMENTS) return [{ dataType: fill.dataType, dims, data: new Float64Array(MAX_ELEMENTS + 1) }];
    return [{ dataType: fill.dataType, dims, data: new Float64Array(n).fill(fill.data[0] ?? 0) }];
  },
  Expand: (_node, [x, shape], fail) => {
    const target = { dataType: x!.dataType, dims: Array.from(shape!.data), data: new Float64Array(0) };
    if (elementCount(target.dims) > MAX_ELEMENTS) return [{ ...target, data: new Float64Array(MAX_ELEMENTS + 1) }];
    // Broadcast x against a tensor of the target shape whose values are ignored.
    const ones: Value = { ...target, data: new Float64Array(elementCount(target.dims)) };
    return [broadcastMap([x!, ones], x!.dataType, ([v]) => v!, fail)];
  },
  // torchvision's Swin builds its shifted-window mask with `mask[h0:h1, w0:w1] = k` (ScatterND).
  ScatterND: (node, [data, indices, updates], fail) => {
    if ((node.attributes['reduction']?.value ?? 'none') !== 'none') return undefined;
    const out = value(data!.dataType, [...data!.dims], data!.data);
    const k = indices!.dims[indices!.dims.length - 1]!;
    const ds = strides(data!.dims);
    const slice = elementCount(data!.dims.slice(k));
    const count = indices!.data.length / k;
    for (let j = 0; j < count; j++) {
      let off = 0;
      for (let a = 0; a < k; a++) {
        const dim = data!.dims[a]!;
        const i = indices!.data[j * k + a]!;
        if (i < -dim || i >= dim) fail(`index ${i} is out of range for size ${dim}`);
        off += (i < 0 ? i + dim : i) * ds[a]!;
      }
      out.data.set(updates!.data.subarray(j * slice, (j + 1) * slice), off);
    }
    return [out];
  },
  Tile: (_node, [x, repeats]) => {
    const reps = Array.from(repeats!.data);
    const dims = x!.dims.map((d, i) => d * reps[i]!);
    const xs = strides(x!.dims);
    return [take(x!, dims, (idx) => idx.reduce((off, i, a) => off + (i % x!.dims[a]!) * xs[a]!, 0))];
  },
  ReduceProd: reduce(1, (a, x) => a * x),
  ReduceSum: reduce(0, (a, x) => a + x),
  ReduceMax: reduce(-Infinity, (a, x) => Math.max(a, x)),
  ReduceMin: reduce(Infinity, (a, x) => Math.min(a, x)),
  ReduceMean: reduce(0, (a, x) => a + x, (a, n) => a / n),
  QuantizeLinear: (node, [x, scale, zero], fail) => {
    // y = saturate(round_half_even(x / scale) + zero_point), per tensor or per `axis`.
    const outType = zero?.dataType ?? 'uint8';
    const range = INT_RANGE[outType];
    if (!range) return undefined;
    const channel = perAxis(node, x!, scale!, fail);
    const round = (v: number) => (Math.abs(v % 1) === 0.5 ? 2 * Math.round(v / 2) : Math.round(v));
    const data = x!.data.map((v, i) => {
      const c = channel(i);
      return Math.min(Math.max(round(v / scale!.data[c]!) + (zero ? zero.data[c]! : 0), range[0]), range[1]);
    });
    return [{ dataType: outType, dims: [...x!.dims], data }];
  },
  DequantizeLinear: (node, [x, scale, zero], fail) => {
    // y = (x - zero_point) * scale, per tensor or per `axis` (default 1) for 1-D scales.
    const channel = perAxis(node, x!, scale!, fail);
    const data = x!.data.map((v, i) => {
      const c = channel(i);
      return (v - (zero ? zero.data[c]! : 0)) * scale!.data[c]!;
    });
    return [value(scale!.dataType, [...x!.dims], data)];
  },
};
