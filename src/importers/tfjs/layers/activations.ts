/** Activation functions (the `activation` config and the activation layers), as ONNX ops. */
import { A } from '../../../engine/graph/attributes.js';
import { ktensor, storageAxis, type KTensor } from '../builder.js';
import { cfgAxis, cfgNum, single, type Converter, type LayerContext } from '../context.js';

/** An activation identifier from a config: a string, or Keras 3's serialised function object. */
function activationName(ctx: LayerContext, v: unknown): string {
  if (v === undefined || v === null) return 'linear';
  if (typeof v === 'string') return v;
  if (typeof v === 'object' && v !== null) {
    const o = v as Record<string, unknown>;
    if (typeof o['config'] === 'string') return o['config'];
    if (typeof o['class_name'] === 'string') return o['class_name'];
  }
  return ctx.fail(`activation ${JSON.stringify(v)} is not understood`);
}

/** Apply the activation named `v` (Keras or TF.js spelling) to `x`. */
export function activate(ctx: LayerContext, x: KTensor, v: unknown): KTensor {
  const raw = activationName(ctx, v);
  const name = raw.toLowerCase().replace(/_/g, '');
  const b = ctx.b;
  const base = ctx.base;
  const out = (n: string) => ktensor(n, x.shape);
  const un = (op: string, attrs = {}) => out(b.op(op, [x.name], attrs, `${base}/${op.toLowerCase()}`));
  const lastAxis = storageAxis(x, -1);
  switch (name) {
    case 'linear':
      return x;
    case 'relu':
      return un('Relu');
    case 'relu6':
      return out(b.op('Clip', [x.name, b.scalar(`${base}/zero`, 0), b.scalar(`${base}/six`, 6)], {}, `${base}/relu6`));
    case 'elu':
      return un('Elu', { alpha: A.float(1) });
    case 'selu':
      return un('Selu', { alpha: A.float(1.6732632423543772), gamma: A.float(1.0507009873554805) });
    case 'sigmoid':
      return un('Sigmoid');
    case 'hardsigmoid':
      // Keras 2 / TF.js: clip(0.2 x + 0.5, 0, 1); Keras 3: relu6(x + 3) / 6.
      return un('HardSigmoid', { alpha: A.float(/^3\./.test(ctx.kerasVersion ?? '') ? 1 / 6 : 0.2), beta: A.float(0.5) });
    case 'tanh':
      return un('Tanh');
    case 'exponential':
      return un('Exp');
    case 'softplus':
      return un('Softplus');
    case 'softmax':
      return un('Softmax', { axis: A.int(lastAxis) });
    case 'logsoftmax':
      return un('LogSoftmax', { axis: A.int(lastAxis) });
    case 'softsign': {
      const abs = b.op('Abs', [x.name], {}, `${base}/abs`);
      const den = b.op('Add', [abs, b.scalar(`${base}/one`, 1)], {}, `${base}/den`);
      return out(b.op('Div', [x.name, den], {}, `${base}/softsign`));
    }
    case 'swish':
    case 'silu': {
      const s = b.op('Sigmoid', [x.name], {}, `${base}/sigmoid`);
      return out(b.op('Mul', [x.name, s], {}, `${base}/swish`));
    }
    case 'mish': {
      const sp = b.op('Softplus', [x.name], {}, `${base}/softplus`);
      const t = b.op('Tanh', [sp], {}, `${base}/tanh`);
      return out(b.op('Mul', [x.name, t], {}, `${base}/mish`));
    }
    case 'gelu': {
      // x * 0.5 * (1 + erf(x / sqrt 2)), the exact form TF.js uses.
      const s = b.op('Mul', [x.name, b.scalar(`${base}/rsqrt2`, Math.SQRT1_2)], {}, `${base}/scaled`);
      const e = b.op('Erf', [s], {}, `${base}/erf`);
      const p = b.op('Add', [e, b.scalar(`${base}/one`, 1)], {}, `${base}/cdf2`);
      const h = b.op('Mul', [p, b.scalar(`${base}/half`, 0.5)], {}, `${base}/cdf`);
      return out(b.op('Mul', [x.name, h], {}, `${base}/gelu`));
    }
    case 'gelunew': {
      // 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))).
      const x2 = b.op('Mul', [x.name, x.name], {}, `${base}/x2`);
      const x3 = b.op('Mul', [x2, x.name], {}, `${base}/x3`);
      const c = b.op('Mul', [x3, b.scalar(`${base}/c`, 0.044715)], {}, `${base}/cx3`);
      const inner = b.op('Add', [x.name, c], {}, `${base}/inner`);
      const sc = b.op('Mul', [inner, b.scalar(`${base}/k`, Math.sqrt(2 / Math.PI))], {}, `${base}/scaled`);
      const t = b.op('Tanh', [sc], {}, `${base}/tanh`);
      const p = b.op('Add', [t, b.scalar(`${base}/one`, 1)], {}, `${base}/p`);
      const h = b.op('Mul', [p, b.scalar(`${base}/half`, 0.5)], {}, `${base}/cdf`);
      return out(b.op('Mul', [x.name, h], {}, `${base}/gelu`));
    }
    default:
      return ctx.fail(`activation '${raw}' is not supported`);
  }
}

const Activation: Converter = (ctx) => activate(ctx, single(ctx), ctx.layer.config['activation']);

/** Keras ReLU: max_value, negative_slope and threshold, as keras.activations.relu computes them. */
const ReLU: Converter = (ctx) => {
  const x = single(ctx);
  const b = ctx.b;
  const base = ctx.base;
  const maxValue = ctx.layer.config['max_value'];
  const max = typeof maxValue === 'number' ? maxValue : undefined;
  const slope = cfgNum(ctx, 'negative_slope', 0);
  const threshold = cfgNum(ctx, 'threshold', 0);
  const clip = (t: string, min: boolean) =>
    b.op('Clip', [t, min ? b.scalar(`${base}/zero`, 0) : '', b.scalar(`${base}/max`, max!)], {}, `${base}/clip`);
  if (threshold === 0) {
    if (slope !== 0) {
      const y = b.op('LeakyRelu', [x.name], { alpha: A.float(slope) }, `${base}/leaky`);
      return ktensor(max === undefined ? y : clip(y, false), x.shape);
    }
    return ktensor(max === undefined ? b.op('Relu', [x.name], {}, `${base}/relu`) : clip(x.name, true), x.shape);
  }
  // x * (x > threshold), clipped to [0, max_value], minus slope * relu(threshold - x).
  const t = b.scalar(`${base}/threshold`, threshold);
  const keep = b.op('Greater', [x.name, t], {}, `${base}/keep`);
  let y = b.op('Where', [keep, x.name, b.scalar(`${base}/zero`, 0)], {}, `${base}/pos`);
  if (max !== undefined) y = clip(y, true);
  if (slope !== 0) {
    const neg = b.op('Relu', [b.op('Sub', [t, x.name], {}, `${base}/below`)], {}, `${base}/neg`);
    y = b.op('Sub', [y, b.op('Mul', [neg, b.scalar(`${base}/slope`, slope)], {}, `${base}/leak`)], {}, `${base}/relu`);
  }
  return ktensor(y, x.shape);
};

const LeakyReLU: Converter = (ctx) => {
  const x = single(ctx);
  // Keras 2 and TF.js call the slope `alpha`, Keras 3 `negative_slope`; both default to 0.3.
  const alpha = cfgNum(ctx, 'alpha', cfgNum(ctx, 'negative_slope', 0.3));
  return ktensor(ctx.b.op('LeakyRelu', [x.name], { alpha: A.float(alpha) }, `${ctx.base}/leaky`), x.shape);
};

const ELU: Converter = (ctx) => {
  const x = single(ctx);
  return ktensor(ctx.b.op('Elu', [x.name], { alpha: A.float(cfgNum(ctx, 'alpha', 1)) }, `${ctx.base}/elu`), x.shape);
};

const ThresholdedReLU: Converter = (ctx) => {
  const x = single(ctx);
  const b = ctx.b;
  const theta = cfgNum(ctx, 'theta', 1);
  const keep = b.op('Greater', [x.name, b.scalar(`${ctx.base}/theta`, theta)], {}, `${ctx.base}/keep`);
  return ktensor(b.op('Where', [keep, x.name, b.scalar(`${ctx.base}/zero`, 0)], {}, `${ctx.base}/relu`), x.shape);
};

/** PReLU: a learned slope per element, shared along `shared_axes`. */
const PReLU: Converter = (ctx) => {
  const x = single(ctx);
  const dims = x.shape.slice(1).map((d) => d ?? ctx.fail('needs a fixed input size'));
  const shared = ctx.layer.config['shared_axes'];
  const sharedAxes = shared === undefined || shared === null ? [] : Array.isArray(shared) ? (shared as number[]) : [shared as number];
  const kshape = dims.map((d, i) => (sharedAxes.includes(i + 1) ? 1 : d));
  const slope = ctx.cached('alpha', () => {
    const alpha = ctx.weight('alpha', kshape);
    if (x.layout !== 'nchw') return ctx.b.floats(`${ctx.base}/alpha`, alpha, kshape);
    // [H, W, C] -> [C, H, W] so it broadcasts against [N, C, H, W].
    const [h, w, c] = kshape as [number, number, number];
    const t = new Float32Array(alpha.length);
    for (let y = 0; y < h; y++) for (let xx = 0; xx < w; xx++) for (let ch = 0; ch < c; ch++) t[(ch * h + y) * w + xx] = alpha[(y * w + xx) * c + ch]!;
    return ctx.b.floats(`${ctx.base}/alpha`, t, [c, h, w]);
  });
  return ktensor(ctx.b.op('PRelu', [x.name, slope], {}, `${ctx.base}/prelu`), x.shape);
};

const Softmax: Converter = (ctx) => {
  const x = single(ctx);
  const axis = cfgAxis(ctx, -1);
  return ktensor(ctx.b.op('Softmax', [x.name], { axis: A.int(storageAxis(x, axis)) }, `${ctx.base}/softmax`), x.shape);
};

export const activationConverters: Record<string, Converter> = { Activation, ReLU, LeakyReLU, ELU, ThresholdedReLU, PReLU, Softmax };
