/**
 * What a TensorFlow tensor is while importing: a graph tensor (computed from the image, with
 * its TensorFlow shape and the layout it is stored in) or a constant known at import time.
 * Constants include what the graph computes from shapes alone (Shape -> StridedSlice -> Pack
 * for a Flatten), so they may hold the batch size as the symbol `N`.
 */
import { BATCH } from '../../engine/graph/types.js';
import type { KTensor } from '../tfjs/builder.js';

/** An integer constant's element: a number, or the batch size (unknown until run time). */
export type Scalar = number | typeof BATCH;

export interface ConstValue {
  kind: 'const';
  dtype: 'float' | 'int';
  /** TensorFlow shape (row-major). */
  shape: number[];
  /** float: Float32Array; int (int32, int64, bool): numbers, `N` for the batch size. */
  data: Float32Array | Scalar[];
  /** The node that made it, for naming its initializer. */
  source: string;
}

export interface TensorValue {
  kind: 'tensor';
  t: KTensor;
}

export type Value = ConstValue | TensorValue;

export function floatConst(data: ArrayLike<number>, shape: number[], source: string): ConstValue {
  return { kind: 'const', dtype: 'float', shape, data: Float32Array.from(data), source };
}

export function intConst(data: Scalar[], shape: number[], source: string): ConstValue {
  return { kind: 'const', dtype: 'int', shape, data, source };
}

export function count(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/** Numpy broadcasting of two shapes; undefined when they do not broadcast. */
export function broadcastShape(a: number[], b: number[]): number[] | undefined {
  const rank = Math.max(a.length, b.length);
  const out: number[] = [];
  for (let i = 0; i < rank; i++) {
    const x = a[a.length - rank + i] ?? 1;
    const y = b[b.length - rank + i] ?? 1;
    if (x !== y && x !== 1 && y !== 1) return undefined;
    out.push(x === 1 ? y : x);
  }
  return out;
}

/** Element `flat` of `shape`'s row-major order, read from a tensor of shape `from` broadcast to it. */
function broadcastIndex(flat: number, shape: number[], from: number[]): number {
  let idx = 0;
  let stride = 1;
  let rest = flat;
  const offset = shape.length - from.length;
  const coords = new Array<number>(shape.length);
  for (let i = shape.length - 1; i >= 0; i--) {
    coords[i] = rest % shape[i]!;
    rest = Math.floor(rest / shape[i]!);
  }
  for (let i = from.length - 1; i >= 0; i--) {
    const d = from[i]!;
    idx += (d === 1 ? 0 : coords[i + offset]!) * stride;
    stride *= d;
  }
  return idx;
}

/** fn applied element-wise to two constants with broadcasting; undefined when the shapes do not broadcast. */
export function foldBinary(a: ConstValue, b: ConstValue, fn: (x: number, y: number) => number, source: string): ConstValue | undefined {
  const shape = broadcastShape(a.shape, b.shape);
  if (!shape) return undefined;
  const n = count(shape);
  const get = (c: ConstValue, i: number) => c.data[broadcastIndex(i, shape, c.shape)]!;
  if (a.dtype === 'float' || b.dtype === 'float') {
    const out = new Float32Array(n);
    for (let i = 0; i < n; i++) out[i] = fn(Number(get(a, i)), Number(get(b, i)));
    return floatConst(out, shape, source);
  }
  const out: Scalar[] = [];
  for (let i = 0; i < n; i++) {
    const x = get(a, i);
    const y = get(b, i);
    if (x === BATCH || y === BATCH) return undefined;
    out.push(fn(x, y));
  }
  return intConst(out, shape, source);
}

/** NHWC-ordered values of a rank-4 shape [a, b, c, d] in NCHW order ([a, d, b, c]). */
export function nhwcToNchw(data: ArrayLike<number>, [n, h, w, c]: number[]): Float32Array {
  const out = new Float32Array(data.length);
  for (let i = 0; i < n!; i++)
    for (let y = 0; y < h!; y++)
      for (let x = 0; x < w!; x++)
        for (let k = 0; k < c!; k++) out[((i * c! + k) * h! + y) * w! + x] = data[((i * h! + y) * w! + x) * c! + k]!;
  return out;
}
