/**
 * Gradient rules for element-wise arithmetic with numpy broadcasting. Either input (or both,
 * as in a residual Add or x * sigmoid(x)) may need a gradient; each one is summed back to its
 * own shape with `unbroadcast`.
 */
import { FLOAT_TYPES } from '../../graph/types.js';
import type { GradContext, GradRule } from '../context.js';
import { unbroadcast } from '../unbroadcast.js';

/** Declare `grad` (shaped like the output) as the gradient of input i, summed to i's shape. */
function setBroadcastGrad(c: GradContext, i: number, grad: string): void {
  const input = c.node.inputs[i]!;
  c.setGrad(i, unbroadcast(c, grad, c.shape(input), c.shape(c.node.outputs[0]!), input));
}

const Add: GradRule = (c) => {
  const g = c.outputGrad(0)!;
  if (c.needsGrad(0)) setBroadcastGrad(c, 0, g);
  if (c.needsGrad(1)) setBroadcastGrad(c, 1, g);
};

const Sub: GradRule = (c) => {
  const g = c.outputGrad(0)!;
  if (c.needsGrad(0)) setBroadcastGrad(c, 0, g);
  if (c.needsGrad(1)) setBroadcastGrad(c, 1, c.op('Neg', [g]));
};

const Mul: GradRule = (c) => {
  const g = c.outputGrad(0)!;
  const [a, b] = c.node.inputs as [string, string];
  if (c.needsGrad(0)) setBroadcastGrad(c, 0, c.op('Mul', [g, b]));
  if (c.needsGrad(1)) setBroadcastGrad(c, 1, c.op('Mul', [g, a]));
};

/** d(a/b)/da = 1/b; d(a/b)/db = -a/b^2 = -y/b. */
const Div: GradRule = (c) => {
  const g = c.outputGrad(0)!;
  const b = c.node.inputs[1]!;
  const y = c.node.outputs[0]!;
  if (c.needsGrad(0)) setBroadcastGrad(c, 0, c.op('Div', [g, b]));
  if (c.needsGrad(1)) setBroadcastGrad(c, 1, c.op('Neg', [c.op('Div', [c.op('Mul', [g, y]), b])]));
};

/** n-ary Sum: every input gets g. */
const Sum: GradRule = (c) => {
  const g = c.outputGrad(0)!;
  c.node.inputs.forEach((_, i) => c.needsGrad(i) && setBroadcastGrad(c, i, g));
};

/** n-ary Mean: every input gets g / n. */
const Mean: GradRule = (c) => {
  const n = c.node.inputs.length;
  const g = c.op('Mul', [c.outputGrad(0)!, c.constFloat([1 / n], [])]);
  c.node.inputs.forEach((_, i) => c.needsGrad(i) && setBroadcastGrad(c, i, g));
};

/** d(x^p)/dx = p * x^(p-1); the exponent is a constant or at least not differentiated. */
const Pow: GradRule = (c) => {
  if (c.needsGrad(1)) c.fail('the gradient with respect to the exponent is not supported');
  if (!c.needsGrad(0)) return;
  const g = c.outputGrad(0)!;
  const [x, pName] = c.node.inputs as [string, string];
  const values = c.constant(pName);
  let p: string;
  let pMinus1: string;
  if (values) {
    const dims = c.shape(pName) as number[];
    p = c.constFloat(values, dims);
    pMinus1 = c.constFloat(values.map((v) => v - 1), dims);
  } else {
    // An integer exponent tensor is allowed by ONNX; the arithmetic below needs floats.
    p = FLOAT_TYPES.has(c.dataType(pName)) ? pName : c.op('Cast', [pName], { to: { type: 'int', value: 1 } });
    pMinus1 = c.op('Sub', [p, c.constFloat([1], [])]);
  }
  const dydx = c.op('Mul', [p, c.op('Pow', [x, pMinus1])]);
  setBroadcastGrad(c, 0, c.op('Mul', [g, dydx]));
};

/**
 * Element-wise Max / Min: the gradient goes to the input that was chosen; ties share it
 * evenly (PyTorch's rule for maximum / minimum).
 */
const chosen: GradRule = (c) => {
  const g = c.outputGrad(0)!;
  const y = c.node.outputs[0]!;
  const n = c.node.inputs.length;
  if (n === 1) {
    if (c.needsGrad(0)) c.setGrad(0, g);
    return;
  }
  const masks = c.node.inputs.map((x) => c.op('Cast', [c.op('Equal', [x, y])], { to: { type: 'int', value: 1 } }));
  const share = c.op('Div', [g, c.op('Sum', masks)]);
  c.node.inputs.forEach((_, i) => c.needsGrad(i) && setBroadcastGrad(c, i, c.op('Mul', [share, masks[i]!])));
};

/** Where(cond, X, Y): g goes to X where cond holds and to Y elsewhere. */
const Where: GradRule = (c) => {
  const g = c.outputGrad(0)!;
  const cond = c.node.inputs[0]!;
  const zero = c.constFloat([0], []);
  if (c.needsGrad(1)) setBroadcastGrad(c, 1, c.op('Where', [cond, g, zero]));
  if (c.needsGrad(2)) setBroadcastGrad(c, 2, c.op('Where', [cond, zero, g]));
};

export const arithmeticRules: Record<string, GradRule> = { Add, Sub, Mul, Div, Sum, Mean, Pow, Max: chosen, Min: chosen, Where };
