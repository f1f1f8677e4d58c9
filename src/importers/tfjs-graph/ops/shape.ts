/**
 * Ops that change shapes, not values: Reshape, Squeeze, ExpandDims, Transpose, and Shape,
 * Cast and Identity. Reshapes act on TensorFlow's (NHWC) element order; Shape of a computed
 * tensor is a constant whose first element is the batch symbol.
 */
import { A } from '../../../engine/graph/attributes.js';
import { BATCH } from '../../../engine/graph/types.js';
import { ktensor } from '../../tfjs/builder.js';
import { constIn, fromTfOrder, input, normAxis, shapeOf, tfOrder, type OpContext, type OpConverter } from '../context.js';
import { count, floatConst, intConst, type ConstValue, type Scalar, type Value } from '../values.js';

/** `v` given TensorFlow shape `shape` (batch first for tensors); a constant just changes its shape. */
function reshapeValue(ctx: OpContext, v: Value, shape: (number | null)[]): Value {
  if (v.kind === 'const') return { ...v, shape: shape as number[], source: ctx.node.name };
  const x = v.t;
  if (shape.length === x.shape.length && shape.every((d, i) => d === x.shape[i])) return v;
  return { kind: 'tensor', t: fromTfOrder(ctx, tfOrder(ctx, x), shape) };
}

const Reshape: OpConverter = (ctx) => {
  const v = input(ctx, 0);
  const target = constIn(ctx, 1, 'shape');
  const dims = (target.data instanceof Float32Array ? Array.from(target.data) : target.data) as Scalar[];
  const free = dims.filter((d) => d === -1).length;
  if (free > 1) ctx.fail(`the shape [${dims.join(', ')}] has more than one -1`);
  if (v.kind === 'const') {
    const total = count(v.shape);
    const known = dims.reduce<number>((a, d) => (d === -1 ? a : a * (d === BATCH ? ctx.fail('a constant cannot take the batch size') : d)), 1);
    return reshapeValue(ctx, v, dims.map((d) => (d === -1 ? total / known : (d as number))));
  }
  const item = count(v.t.shape.slice(1) as number[]);
  const [first, ...rest] = dims;
  if (rest.some((d) => d === BATCH)) ctx.fail('only the first axis of the new shape may be the batch');
  const known = (rest as number[]).reduce((a, d) => (d === -1 ? a : a * d), 1);
  let out: number[];
  if (first === BATCH) {
    out = (rest as number[]).map((d) => (d === -1 ? item / known : d));
  } else if (first === -1 || (first === 1 && count((rest as number[]).map((d) => (d === -1 ? item / known : d))) === item)) {
    // -1, or a 1 that keeps each item whole: graphs exported with batch size 1 write [1, ...].
    out = (rest as number[]).map((d) => (d === -1 ? item / known : d));
  } else {
    return ctx.fail(`the shape [${dims.join(', ')}] fixes the batch size to ${first}; a batch-first shape (-1 or the input's batch) is needed`);
  }
  if (!out.every((d) => Number.isInteger(d) && d >= 0) || count(out) !== item) {
    ctx.fail(`cannot reshape [${v.t.shape.map((d) => d ?? 'N').join(', ')}] to [${dims.join(', ')}] keeping the batch first`);
  }
  return reshapeValue(ctx, v, [null, ...out]);
};

const Squeeze: OpConverter = (ctx) => {
  const v = input(ctx, 0);
  const shape = shapeOf(v);
  // TF 2 writes `squeeze_dims`; some converters `axis`.
  const given = ctx.attrs.has('squeeze_dims') ? ctx.attrs.ints('squeeze_dims', []) : ctx.attrs.ints('axis', []);
  const axes = given.length ? given.map((a) => normAxis(ctx, a, shape.length)) : shape.flatMap((d, i) => (d === 1 ? [i] : []));
  for (const a of axes) if (shape[a] !== 1) ctx.fail(`cannot squeeze axis ${a} of size ${shape[a] ?? 'N'}`);
  return reshapeValue(ctx, v, shape.filter((_, i) => !axes.includes(i)));
};

const ExpandDims: OpConverter = (ctx) => {
  const v = input(ctx, 0);
  const shape = shapeOf(v);
  const axisValue = constIn(ctx, 1, 'axis');
  if (count(axisValue.shape) !== 1) ctx.fail('the axis must be a single int');
  const axis = normAxis(ctx, Number(axisValue.data[0]), shape.length + 1);
  if (axis === 0 && v.kind === 'tensor') ctx.fail('a new axis before the batch is not supported');
  return reshapeValue(ctx, v, [...shape.slice(0, axis), 1, ...shape.slice(axis)]);
};

/** Transpose by a constant permutation; for stored NCHW tensors the layout change is folded into one ONNX Transpose. */
const Transpose: OpConverter = (ctx) => {
  const v = input(ctx, 0);
  const perm = Array.from(constIn(ctx, 1, 'permutation').data as ArrayLike<Scalar>, Number);
  const shape = shapeOf(v);
  const rank = shape.length;
  if (perm.length !== rank || [...perm].sort((a, b) => a - b).some((p, i) => p !== i)) ctx.fail(`[${perm.join(', ')}] is not a permutation of rank ${rank}`);
  const out = perm.map((p) => shape[p]!);
  if (v.kind === 'const') return transposeConst(v, perm, ctx.node.name);
  if (perm[0] !== 0) ctx.fail('moving the batch axis is not supported');
  const x = v.t;
  // stored axis i holds TensorFlow axis S[i]; out stored axis i = in stored axis inv(S_in)[perm[S_out[i]]].
  const layoutOf = (r: number, nchw: boolean) => (nchw && r === 4 ? [0, 3, 1, 2] : Array.from({ length: r }, (_, i) => i));
  const sIn = layoutOf(rank, x.layout === 'nchw');
  const inv = sIn.map((_, i) => sIn.indexOf(i));
  const onnxPerm = layoutOf(rank, rank === 4).map((a) => inv[perm[a]!]!);
  if (onnxPerm.every((p, i) => p === i)) return { kind: 'tensor', t: ktensor(x.name, out) };
  return { kind: 'tensor', t: ktensor(ctx.b.op('Transpose', [x.name], { perm: A.ints(onnxPerm) }, `${ctx.base}/transpose`), out) };
};

function transposeConst(c: ConstValue, perm: number[], source: string): ConstValue {
  const shape = perm.map((p) => c.shape[p]!);
  const n = count(shape);
  const inStrides = c.shape.map((_, i) => count(c.shape.slice(i + 1)));
  const data: Scalar[] = [];
  for (let i = 0; i < n; i++) {
    let rest = i;
    let src = 0;
    for (let a = shape.length - 1; a >= 0; a--) {
      src += (rest % shape[a]!) * inStrides[perm[a]!]!;
      rest = Math.floor(rest / shape[a]!);
    }
    data.push(c.data[src]!);
  }
  return c.dtype === 'float' ? floatConst(data as number[], shape, source) : intConst(data, shape, source);
}

const Shape: OpConverter = (ctx) => {
  const v = input(ctx, 0);
  const dims: Scalar[] = v.kind === 'const' ? v.shape : v.t.shape.map((d) => d ?? BATCH);
  return intConst(dims, [dims.length], ctx.node.name);
};

const FLOAT_TYPES = new Set(['DT_FLOAT', 'DT_HALF', 'DT_DOUBLE', 'DT_BFLOAT16']);
const INT_TYPES = new Set(['DT_INT32', 'DT_INT64', 'DT_INT16', 'DT_INT8', 'DT_UINT8', 'DT_UINT16', 'DT_BOOL']);

const Cast: OpConverter = (ctx) => {
  const v = input(ctx, 0);
  const to = ctx.attrs.type('DstT', 'DT_FLOAT');
  if (v.kind === 'tensor') {
    // Computed tensors are float32 here; to another float type the values stay as they are.
    if (FLOAT_TYPES.has(to)) return v;
    return ctx.fail(`casting a computed tensor to ${to} is not supported (it would cut the gradient)`);
  }
  if (FLOAT_TYPES.has(to)) return floatConst(v.data.map((d) => (d === BATCH ? ctx.fail('the batch size cannot be cast to a float') : d)), v.shape, ctx.node.name);
  if (!INT_TYPES.has(to)) ctx.fail(`cast to ${to} is not supported`);
  const trunc = to === 'DT_BOOL' ? (d: number) => (d !== 0 ? 1 : 0) : Math.trunc;
  return intConst(Array.from(v.data as ArrayLike<Scalar>, (d) => (d === BATCH ? d : trunc(d))), v.shape, ctx.node.name);
};

const Identity: OpConverter = (ctx) => input(ctx, 0);

export const shapeOps: Record<string, OpConverter> = { Reshape, Squeeze, ExpandDims, Transpose, Shape, Cast, Identity };
