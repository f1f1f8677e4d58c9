/** What an op converter gets to work with, and helpers for reading its inputs and attributes. */
import { BATCH } from '../../engine/graph/types.js';
import { A } from '../../engine/graph/attributes.js';
import { ktensor, type GraphBuilder, type KTensor } from '../tfjs/builder.js';
import { windowAxis } from '../tfjs/context.js';
import type { Attrs, TfNode } from './graph-json.js';
import { count, nhwcToNchw, type ConstValue, type Value } from './values.js';

export interface OpContext {
  b: GraphBuilder;
  node: TfNode;
  attrs: Attrs;
  /** The values of the node's data inputs. */
  inputs: Value[];
  /** The name output 0 gets (the node's name, unique in the graph); intermediates are `${base}/...`. */
  base: string;
  /** An initializer (or other name) made once per key for the whole import, from `make`. */
  cached(key: string, make: () => string): string;
  fail(message: string): never;
}

/**
 * A converter returns the node's outputs (most ops have one). A tensor result made by this
 * node's ops is renamed to `base`; one made before (a pass-through) keeps its name.
 */
export type OpConverter = (ctx: OpContext) => Value | (Value | undefined)[];

export function input(ctx: OpContext, i: number): Value {
  const v = ctx.inputs[i];
  if (!v) ctx.fail(`expects at least ${i + 1} inputs, got ${ctx.inputs.length}`);
  return v;
}

/** Input i, which must be computed from the image. */
export function tensorIn(ctx: OpContext, i: number): KTensor {
  const v = input(ctx, i);
  if (v.kind === 'const') ctx.fail(`input ${i} ('${v.source}') is a constant; a tensor computed from the image is expected`);
  return v.t;
}

/** Input i, which must be a constant (a weight, or a shape the importer can work out). */
export function constIn(ctx: OpContext, i: number, what: string): ConstValue {
  const v = input(ctx, i);
  if (v.kind !== 'const') ctx.fail(`the ${what} (input ${i}) is computed at run time; only a constant ${what} is supported`);
  return v;
}

/** An integer constant input as numbers (the batch symbol and non-integers refused). */
export function intsIn(ctx: OpContext, i: number, what: string): number[] {
  const c = constIn(ctx, i, what);
  const values = Array.from(c.data as ArrayLike<number | typeof BATCH>, (d) => (d === BATCH ? ctx.fail(`the ${what} depends on the batch size`) : d));
  if (!values.every(Number.isInteger)) ctx.fail(`the ${what} [${values.join(', ')}] are not integers`);
  return values;
}

/** Input i as float32 values of the given shape (a weight). */
export function weightIn(ctx: OpContext, i: number, what: string, shape?: number[]): Float32Array {
  const c = constIn(ctx, i, what);
  if (shape && (c.shape.length !== shape.length || c.shape.some((d, k) => d !== shape[k]))) {
    ctx.fail(`the ${what} '${c.source}' has shape [${c.shape.join(', ')}], expected [${shape.join(', ')}]`);
  }
  return c.data instanceof Float32Array ? c.data : Float32Array.from(c.data as number[]);
}

/** A rank-4 image tensor [N, H, W, C] with fixed sizes; NCHW graphs (data_format) are refused. */
export function image(ctx: OpContext, i = 0): { x: KTensor; h: number; w: number; c: number } {
  const x = tensorIn(ctx, i);
  if (x.shape.length !== 4) ctx.fail(`expects a 4-D input [batch, height, width, channels], got rank ${x.shape.length}`);
  const format = ctx.attrs.string('data_format', 'NHWC');
  if (format !== 'NHWC') ctx.fail(`data_format '${format}' is not supported (only NHWC)`);
  const [, h, w, c] = x.shape as [null, number, number, number];
  return { x, h, w, c };
}

/** [1, a, b, 1]-style 4-element attribute -> [a, b]. */
export function spatialPair(ctx: OpContext, key: string, fallback: number): [number, number] {
  const v = ctx.attrs.ints(key, [1, fallback, fallback, 1]);
  if (v.length !== 4) ctx.fail(`attribute '${key}' must have 4 entries (NHWC), got ${JSON.stringify(v)}`);
  if (v[0] !== 1 || v[3] !== 1) ctx.fail(`attribute '${key}' ${JSON.stringify(v)} acts on the batch or channel axis`);
  return [v[1]!, v[2]!];
}

export interface Window {
  /** ONNX pads [top, left, bottom, right]. */
  pads: number[];
  outH: number;
  outW: number;
}

/** Output size and padding of a convolution / pooling window, from `padding` (SAME, VALID or EXPLICIT). */
export function window(ctx: OpContext, h: number, w: number, kernel: [number, number], strides: [number, number], dilations: [number, number]): Window {
  const padding = ctx.attrs.string('padding', 'VALID');
  if (padding === 'EXPLICIT') {
    const e = ctx.attrs.ints('explicit_paddings', []);
    if (e.length !== 8 || e[0] || e[1] || e[6] || e[7]) ctx.fail(`explicit_paddings ${JSON.stringify(e)} must pad only height and width`);
    const [t, bo, l, r] = [e[2]!, e[3]!, e[4]!, e[5]!];
    const out = (size: number, k: number, s: number, d: number) => Math.floor((size - ((k - 1) * d + 1)) / s) + 1;
    const outH = out(h + t + bo, kernel[0], strides[0], dilations[0]);
    const outW = out(w + l + r, kernel[1], strides[1], dilations[1]);
    if (outH < 1 || outW < 1) ctx.fail(`the window is larger than the padded ${h}x${w} input`);
    return { pads: [t, l, bo, r], outH, outW };
  }
  const ay = windowAxis(ctx, h, kernel[0], strides[0], dilations[0], padding.toLowerCase());
  const ax = windowAxis(ctx, w, kernel[1], strides[1], dilations[1], padding.toLowerCase());
  return { pads: [ay.pad[0], ax.pad[0], ay.pad[1], ax.pad[1]], outH: ay.out, outW: ax.out };
}

/**
 * A float constant as an operand next to a tensor of rank `rank`: its shape padded to that
 * rank with leading ones (numpy broadcasting) and, for rank 4, put in the NCHW order the
 * graph stores images in.
 */
export function constOperand(ctx: OpContext, c: ConstValue, rank: number): string {
  if (c.shape.length > rank) ctx.fail(`the constant '${c.source}' has rank ${c.shape.length}, more than the tensor it combines with`);
  return ctx.cached(`${c.source}#rank${rank}`, () => {
    const values = c.data instanceof Float32Array ? c.data : Float32Array.from(c.data as number[]);
    if (count(c.shape) === 1) return ctx.b.scalar(c.source, values[0]!);
    const shape = [...new Array<number>(rank - c.shape.length).fill(1), ...c.shape];
    if (rank !== 4) return ctx.b.floats(c.source, values, shape);
    const [n, h, w, ch] = shape as [number, number, number, number];
    return ctx.b.floats(c.source, nhwcToNchw(values, shape), [n, ch, h, w]);
  });
}

/** The TensorFlow axis `a` (may be negative) of a rank-`rank` tensor, checked. */
export function normAxis(ctx: OpContext, a: number, rank: number): number {
  const axis = a < 0 ? a + rank : a;
  if (!Number.isInteger(axis) || axis < 0 || axis >= rank) ctx.fail(`axis ${a} is out of range for rank ${rank}`);
  return axis;
}

/** `x` under another name (same shape and layout). */
export function renamed(x: KTensor, name: string): KTensor {
  return { ...x, name };
}

/** The TensorFlow shape of a value, `null` for the batch. */
export function shapeOf(v: Value): (number | null)[] {
  return v.kind === 'const' ? v.shape : v.t.shape;
}

/**
 * A tensor holding `x`'s elements in TensorFlow's (NHWC) order, of any shape: NCHW images go
 * through [N, C, H*W] -> [N, H*W, C], so no 4-D NHWC copy appears that could pass for a map.
 */
export function tfOrder(ctx: OpContext, x: KTensor): string {
  if (x.layout !== 'nchw') return x.name;
  const [, h, w, c] = x.shape as [null, number, number, number];
  if (h * w === 1 || c === 1) return x.name;
  const b = ctx.b;
  const flat = b.op('Reshape', [x.name, b.ints(`${ctx.base}/chw`, [0, c, h * w])], {}, `${ctx.base}/chw`);
  return b.op('Transpose', [flat], { perm: A.ints([0, 2, 1]) }, `${ctx.base}/hwc`);
}

/** TensorFlow-ordered data `data` as a tensor of TensorFlow shape `shape` (batch first), stored as its rank implies. */
export function fromTfOrder(ctx: OpContext, data: string, shape: (number | null)[]): KTensor {
  const dims = shape.slice(1).map((d) => (d === null ? ctx.fail('only the first axis may be the batch') : d));
  const out = [null, ...dims];
  if (out.length === 4) return ktensor(ctx.b.fromKerasOrder(data, out, `${ctx.base}/reshape`), out);
  return ktensor(ctx.b.op('Reshape', [data, ctx.b.ints(`${ctx.base}/shape`, [0, ...dims])], {}, `${ctx.base}/reshape`), out);
}
