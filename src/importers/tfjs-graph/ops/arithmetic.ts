/**
 * Element-wise binary ops with numpy broadcasting. Constants are folded at import time when
 * both sides are constant (shape arithmetic, a decomposed batch norm's statistics); a
 * constant next to an image tensor is laid out NCHW to broadcast the same way.
 */
import { ktensor } from '../../tfjs/builder.js';
import { constOperand, input, shapeOf, type OpContext, type OpConverter } from '../context.js';
import { foldBinary, type Value } from '../values.js';

/** Broadcast TensorFlow shapes where `null` is the batch. */
function broadcast(ctx: OpContext, a: (number | null)[], b: (number | null)[]): (number | null)[] {
  const rank = Math.max(a.length, b.length);
  const out: (number | null)[] = [];
  for (let i = 0; i < rank; i++) {
    const x = i < rank - a.length ? 1 : a[i - rank + a.length]!;
    const y = i < rank - b.length ? 1 : b[i - rank + b.length]!;
    if (x === y || y === 1) out.push(x);
    else if (x === 1) out.push(y);
    else ctx.fail(`shapes [${a.map((d) => d ?? 'N').join(', ')}] and [${b.map((d) => d ?? 'N').join(', ')}] do not broadcast`);
  }
  return out;
}

function binary(onnx: string, fn: (x: number, y: number) => number): OpConverter {
  return (ctx) => {
    const a = input(ctx, 0);
    const b = input(ctx, 1);
    if (a.kind === 'const' && b.kind === 'const') {
      return foldBinary(a, b, fn, ctx.node.name) ?? ctx.fail(`cannot combine constants of shapes [${a.shape}] and [${b.shape}]`);
    }
    const shape = broadcast(ctx, shapeOf(a), shapeOf(b));
    if (shape[0] !== null) ctx.fail('the result does not keep the batch as its first axis');
    const operand = (v: Value): string => {
      if (v.kind === 'const') return constOperand(ctx, v, shape.length);
      // A computed tensor always carries the batch first, so it has the result's rank.
      if (v.t.shape.length !== shape.length) ctx.fail(`a rank-${v.t.shape.length} tensor broadcast against rank ${shape.length} is not supported`);
      return v.t.name;
    };
    return { kind: 'tensor', t: ktensor(ctx.b.op(onnx, [operand(a), operand(b)], {}, `${ctx.base}/${onnx.toLowerCase()}`), shape) };
  };
}

const add = binary('Add', (x, y) => x + y);

/** BiasAdd: a per-channel vector added on the last axis (NHWC). */
const BiasAdd: OpConverter = (ctx) => {
  const format = ctx.attrs.string('data_format', 'NHWC');
  if (format !== 'NHWC') ctx.fail(`data_format '${format}' is not supported (only NHWC)`);
  const bias = input(ctx, 1);
  if (shapeOf(bias).length !== 1) ctx.fail(`the bias must be a vector, got shape [${shapeOf(bias).join(', ')}]`);
  return add(ctx);
};

export const arithmeticOps: Record<string, OpConverter> = {
  Add: add,
  AddV2: add,
  BiasAdd,
  Sub: binary('Sub', (x, y) => x - y),
  Mul: binary('Mul', (x, y) => x * y),
  RealDiv: binary('Div', (x, y) => x / y),
  Maximum: binary('Max', (x, y) => Math.max(x, y)),
  Minimum: binary('Min', (x, y) => Math.min(x, y)),
};
