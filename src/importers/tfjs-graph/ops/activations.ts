/** Activations, standalone and as the last of a fused op's `fused_ops`, and Softmax. */
import { A } from '../../../engine/graph/attributes.js';
import { storageAxis, type KTensor } from '../../tfjs/builder.js';
import { constOperand, renamed, tensorIn, type OpContext, type OpConverter } from '../context.js';
import type { Value } from '../values.js';

/** The activations TensorFlow writes as ops and TF.js fuses into convolutions and MatMul. */
export const ACTIVATIONS = new Set(['Relu', 'Relu6', 'Elu', 'Selu', 'LeakyRelu', 'Prelu', 'Sigmoid', 'Tanh']);

/**
 * Apply TensorFlow activation `op` to `x`. LeakyRelu takes `alpha`; Prelu takes its slope
 * (a constant broadcast against x in TensorFlow's NHWC terms).
 */
export function activate(ctx: OpContext, x: KTensor, op: string, extra: { alpha?: number; slope?: Value } = {}): KTensor {
  const b = ctx.b;
  const base = ctx.base;
  const un = (onnx: string, attrs = {}) => renamed(x, b.op(onnx, [x.name], attrs, `${base}/${onnx.toLowerCase()}`));
  switch (op) {
    case 'Relu':
      return un('Relu');
    case 'Relu6':
      return renamed(x, b.op('Clip', [x.name, b.scalar(`${base}/zero`, 0), b.scalar(`${base}/six`, 6)], {}, `${base}/relu6`));
    case 'Elu':
      return un('Elu', { alpha: A.float(1) });
    case 'Selu':
      return un('Selu', { alpha: A.float(1.6732632423543772), gamma: A.float(1.0507009873554805) });
    case 'LeakyRelu':
      return un('LeakyRelu', { alpha: A.float(extra.alpha ?? 0.2) });
    case 'Sigmoid':
      return un('Sigmoid');
    case 'Tanh':
      return un('Tanh');
    case 'Prelu': {
      const s = extra.slope;
      if (!s || s.kind !== 'const') return ctx.fail('the Prelu slope (alpha) must be a constant');
      return renamed(x, b.op('PRelu', [x.name, constOperand(ctx, s, x.shape.length)], {}, `${base}/prelu`));
    }
    default:
      return ctx.fail(`activation '${op}' is not supported`);
  }
}

function unary(op: string): OpConverter {
  return (ctx) => ({ kind: 'tensor', t: activate(ctx, tensorIn(ctx, 0), op, { alpha: ctx.attrs.float('alpha', 0.2), slope: ctx.inputs[1] }) });
}

/** Softmax over the last (TensorFlow) axis, wherever the graph stores it. */
const Softmax: OpConverter = (ctx) => {
  const x = tensorIn(ctx, 0);
  const axis = storageAxis(x, -1);
  return { kind: 'tensor', t: renamed(x, ctx.b.op('Softmax', [x.name], { axis: A.int(axis) }, `${ctx.base}/softmax`)) };
};

export const activationOps: Record<string, OpConverter> = {
  ...Object.fromEntries([...ACTIVATIONS].map((op) => [op, unary(op)])),
  Softmax,
};
