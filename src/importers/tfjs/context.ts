/** What a layer converter gets to work with, and small helpers for reading Keras configs. */
import { ModelFormatError } from '../../errors.js';
import type { GraphBuilder, KTensor } from './builder.js';
import type { LayerSpec } from './model-json.js';

export interface WeightOptions {
  /** Accept any shape with the expected element count (e.g. [1, 1, 1, C] for [C]). */
  countOnly?: boolean;
}

export interface LayerContext {
  b: GraphBuilder;
  layer: LayerSpec;
  /** Display name for messages, e.g. `model_1/conv1`. */
  display: string;
  inputs: KTensor[];
  /** `keras_version` from the topology (e.g. '2.1.4', 'tfjs-layers 4.22.0'), when given. */
  kerasVersion?: string;
  /** The layer's output tensor name; intermediates are named `${base}/...`. */
  base: string;
  /**
   * Weight `name` of this layer as float32, checked against the shape the topology implies
   * (Keras layout). Errors name the layer and weight when it is missing or has another shape.
   */
  weight(name: string, expected: number[], options?: WeightOptions): Float32Array;
  /** The shape the weights manifest gives weight `name`, if it lists it. */
  weightShape(name: string): number[] | undefined;
  /**
   * An initializer built once per layer (so a shared layer reuses it), from `make`,
   * which returns the base name and tensor.
   */
  cached(key: string, make: () => string): string;
  fail(message: string): never;
}

/** A converter emits the layer's nodes and returns its output (any name; the caller renames it to `base`). */
export type Converter = (ctx: LayerContext) => KTensor;

/** The one input of a single-input layer. */
export function single(ctx: LayerContext): KTensor {
  if (ctx.inputs.length !== 1) ctx.fail(`expects one input, got ${ctx.inputs.length}`);
  return ctx.inputs[0]!;
}

/** A 4-D (image) input, with its fixed height, width and channels. */
export function image(ctx: LayerContext): { x: KTensor; h: number; w: number; c: number } {
  const x = single(ctx);
  if (x.shape.length !== 4) ctx.fail(`expects a 4-D input [batch, height, width, channels], got rank ${x.shape.length}`);
  const [, h, w, c] = x.shape;
  if (typeof h !== 'number' || typeof w !== 'number' || typeof c !== 'number') {
    ctx.fail(`needs a fixed input size, got [${x.shape.map((d) => d ?? 'None').join(', ')}]`);
  }
  if (ctx.layer.config['data_format'] === 'channels_first') ctx.fail(`data_format 'channels_first' is not supported`);
  return { x, h, w, c };
}

export function cfgNum(ctx: LayerContext, key: string, fallback: number): number {
  const v = ctx.layer.config[key];
  if (v === undefined || v === null) return fallback;
  if (typeof v !== 'number') ctx.fail(`config '${key}' must be a number, got ${JSON.stringify(v)}`);
  return v;
}

export function cfgStr(ctx: LayerContext, key: string, fallback: string): string {
  const v = ctx.layer.config[key];
  if (v === undefined || v === null) return fallback;
  if (typeof v !== 'string') ctx.fail(`config '${key}' must be a string, got ${JSON.stringify(v)}`);
  return v;
}

export function cfgBool(ctx: LayerContext, key: string, fallback: boolean): boolean {
  const v = ctx.layer.config[key];
  return v === undefined || v === null ? fallback : Boolean(v);
}

/** A single axis from config `axis` (an int or a one-element list). */
export function cfgAxis(ctx: LayerContext, fallback: number): number {
  let axis = ctx.layer.config['axis'] ?? fallback;
  if (Array.isArray(axis)) {
    if (axis.length !== 1) ctx.fail(`several axes (${JSON.stringify(axis)}) are not supported`);
    axis = axis[0];
  }
  if (typeof axis !== 'number') return ctx.fail(`axis ${JSON.stringify(axis)} is not understood`);
  return axis;
}

/** A pair of sizes such as kernel_size or strides (positive integers), given as one int or a list of one or two. */
export function cfgPair(ctx: LayerContext, key: string, fallback?: [number, number]): [number, number] {
  const v = ctx.layer.config[key];
  if (v === undefined || v === null) {
    if (fallback) return fallback;
    ctx.fail(`config '${key}' is missing`);
  }
  const pair = typeof v === 'number' ? [v, v] : Array.isArray(v) && v.length === 1 ? [v[0], v[0]] : v;
  if (Array.isArray(pair) && pair.length === 2 && pair.every((x) => Number.isSafeInteger(x) && x >= 1)) return pair as [number, number];
  return ctx.fail(`config '${key}' must be a positive integer or a pair of them, got ${JSON.stringify(v)}`);
}

/** Output size and [before, after] padding of one spatial axis, TensorFlow's rules. */
export function windowAxis(ctx: Pick<LayerContext, 'fail'>, size: number, kernel: number, stride: number, dilation: number, padding: string): { out: number; pad: [number, number] } {
  const span = (kernel - 1) * dilation + 1;
  if (padding === 'same') {
    const out = Math.ceil(size / stride);
    const total = Math.max((out - 1) * stride + span - size, 0);
    // TensorFlow puts the odd pixel at the end (bottom / right).
    const before = Math.floor(total / 2);
    return { out, pad: [before, total - before] };
  }
  if (padding !== 'valid') ctx.fail(`padding '${padding}' is not supported`);
  const out = Math.floor((size - span) / stride) + 1;
  if (out < 1) ctx.fail(`input size ${size} is smaller than the window ${span}`);
  return { out, pad: [0, 0] };
}

export function formatError(source: string, ctx: { display: string; layer: LayerSpec }, message: string): ModelFormatError {
  return new ModelFormatError(`${source}: layer '${ctx.display}' (${ctx.layer.className}): ${message}`);
}
