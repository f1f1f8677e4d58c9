/**
 * Affine per-channel layers, folded at load into one Mul and one Add: BatchNormalization
 * (inference statistics), Rescaling and the Keras Normalization preprocessing layer.
 */
import { ktensor, type KTensor } from '../builder.js';
import { cfgAxis, cfgBool, cfgNum, single, type Converter, type LayerContext } from '../context.js';

/** The one Keras axis a layer normalises (config `axis`, default -1), as a positive index. */
function channelAxis(ctx: LayerContext, x: KTensor): number {
  const axis = cfgAxis(ctx, -1);
  const rank = x.shape.length;
  const a = axis < 0 ? axis + rank : axis;
  if (a <= 0 || a >= rank) ctx.fail(`axis ${axis} is out of range for rank ${rank}`);
  return a;
}

/** y = x * scale + shift with per-channel (or scalar) constants; steps that do nothing are left out. */
function affine(ctx: LayerContext, x: KTensor, axis: number, scale: Float32Array, shift: Float32Array): KTensor {
  const b = ctx.b;
  let y = x.name;
  if (scale.some((v) => v !== 1)) y = b.op('Mul', [y, ctx.cached('scale', () => b.channelConst(`${ctx.base}/scale`, x, axis, scale))], {}, `${ctx.base}/mul`);
  if (shift.some((v) => v !== 0)) y = b.op('Add', [y, ctx.cached('shift', () => b.channelConst(`${ctx.base}/shift`, x, axis, shift))], {}, `${ctx.base}/add`);
  return ktensor(y, x.shape);
}

function channels(ctx: LayerContext, x: KTensor, axis: number): number {
  const c = x.shape[axis];
  if (typeof c !== 'number') ctx.fail(`needs a fixed size on axis ${axis}`);
  return c;
}

const BatchNormalization: Converter = (ctx) => {
  const x = single(ctx);
  const axis = channelAxis(ctx, x);
  const c = channels(ctx, x, axis);
  const eps = cfgNum(ctx, 'epsilon', 1e-3);
  const gamma = cfgBool(ctx, 'scale', true) ? ctx.weight('gamma', [c]) : new Float32Array(c).fill(1);
  const beta = cfgBool(ctx, 'center', true) ? ctx.weight('beta', [c]) : new Float32Array(c);
  const mean = ctx.weight('moving_mean', [c]);
  const variance = ctx.weight('moving_variance', [c]);
  const scale = new Float32Array(c);
  const shift = new Float32Array(c);
  for (let i = 0; i < c; i++) {
    scale[i] = gamma[i]! / Math.sqrt(variance[i]! + eps);
    shift[i] = beta[i]! - mean[i]! * scale[i]!;
  }
  return affine(ctx, x, axis, scale, shift);
};

/** A number or a per-channel list from the config, as constants for `c` channels. */
function perChannel(ctx: LayerContext, key: string, fallback: number, c: number): Float32Array {
  const v = ctx.layer.config[key];
  if (v === undefined || v === null) return Float32Array.of(fallback);
  if (typeof v === 'number') return Float32Array.of(v);
  const flat = Array.isArray(v) ? (v.flat(4) as unknown[]) : [];
  if (flat.length === 0 || flat.some((n) => typeof n !== 'number')) ctx.fail(`config '${key}' ${JSON.stringify(v)} is not understood`);
  if (flat.length !== 1 && flat.length !== c) ctx.fail(`config '${key}' has ${flat.length} values for ${c} channels`);
  return Float32Array.from(flat as number[]);
}

const Rescaling: Converter = (ctx) => {
  const x = single(ctx);
  const c = channels(ctx, x, x.shape.length - 1);
  const scale = perChannel(ctx, 'scale', 1, c);
  const offset = perChannel(ctx, 'offset', 0, c);
  return affine(ctx, x, -1, scale, offset);
};

/** Keras Normalization: (x - mean) / max(sqrt(var), 1e-7), or the inverse with `invert`. */
const Normalization: Converter = (ctx) => {
  const x = single(ctx);
  const axis = channelAxis(ctx, x);
  const c = channels(ctx, x, axis);
  const fromConfig = ctx.layer.config['mean'] !== undefined && ctx.layer.config['mean'] !== null;
  let mean: Float32Array;
  let variance: Float32Array;
  if (fromConfig) {
    mean = perChannel(ctx, 'mean', 0, c);
    variance = perChannel(ctx, 'variance', 1, c);
  } else {
    // Adapted statistics are weights shaped [C] (Keras >= 2.7) or broadcastable ([1, 1, 1, C]).
    mean = ctx.weight('mean', [c], { countOnly: true });
    variance = ctx.weight('variance', [c], { countOnly: true });
  }
  const n = Math.max(mean.length, variance.length);
  const scale = new Float32Array(n);
  const shift = new Float32Array(n);
  const invert = cfgBool(ctx, 'invert', false);
  for (let i = 0; i < n; i++) {
    const m = mean[mean.length === 1 ? 0 : i]!;
    const sd = Math.max(Math.sqrt(variance[variance.length === 1 ? 0 : i]!), 1e-7);
    scale[i] = invert ? sd : 1 / sd;
    shift[i] = invert ? m : -m / sd;
  }
  return affine(ctx, x, axis, scale, shift);
};

export const normalizationConverters: Record<string, Converter> = { BatchNormalization, Rescaling, Normalization };
