/** Gradient rules for element-wise activations (and the pass-through ops Identity, Dropout, Cast). */
import { attrFloat, attrString } from '../../graph/attributes.js';
import { FLOAT_TYPES, type DataType } from '../../graph/types.js';
import type { GradContext, GradRule } from '../context.js';

/** The forward input x, the forward output y and the incoming gradient g of a unary node. */
function unary(c: GradContext): { x: string; y: string; g: string } {
  return { x: c.node.inputs[0]!, y: c.node.outputs[0]!, g: c.outputGrad(0)! };
}

/** Where(mask, a, 0). */
function keepWhere(c: GradContext, mask: string, a: string): string {
  return c.op('Where', [mask, a, c.constFloat([0], [])]);
}

/** Rules that only accept a gradient for input 0 use this to refuse the others. */
function onlyFirstInput(c: GradContext, what: string): void {
  for (let i = 1; i < c.node.inputs.length; i++) {
    if (c.needsGrad(i)) c.fail(`the gradient with respect to ${what} (input ${i}) is not supported`);
  }
}

/** d relu(x) = g where x > 0 (PyTorch's convention at 0: no gradient). */
const Relu: GradRule = (c) => {
  const { x, g } = unary(c);
  const passed = c.variants.reluGradient === 'guided' ? c.op('Relu', [g]) : g;
  c.setGrad(0, keepWhere(c, c.op('Greater', [x, c.constFloat([0], [])]), passed));
};

/** g where x > 0, alpha * g elsewhere. */
const LeakyRelu: GradRule = (c) => {
  const { x, g } = unary(c);
  const alpha = attrFloat(c.node, 'alpha', 0.01);
  const pos = c.op('Greater', [x, c.constFloat([0], [])]);
  c.setGrad(0, c.op('Where', [pos, g, c.op('Mul', [g, c.constFloat([alpha], [])])]));
};

/** As LeakyRelu with a per-element (broadcast) slope; the slope is a weight, never differentiated. */
const PRelu: GradRule = (c) => {
  onlyFirstInput(c, 'the slope');
  const { x, g } = unary(c);
  const slope = c.node.inputs[1]!;
  const pos = c.op('Greater', [x, c.constFloat([0], [])]);
  // The slope broadcasts to x (unidirectionally), so g * slope already has x's shape.
  c.setGrad(0, c.op('Where', [pos, g, c.op('Mul', [g, slope])]));
};

/** g where min < x < max strictly (PyTorch's hardtanh / relu6 convention at the bounds). */
const Clip: GradRule = (c) => {
  onlyFirstInput(c, 'the bounds');
  const { x, g } = unary(c);
  // Opset >= 11 gives the bounds as optional inputs; older graphs as attributes.
  let lo: string | undefined = c.node.inputs[1] || undefined;
  let hi: string | undefined = c.node.inputs[2] || undefined;
  if (c.node.inputs.length < 2) {
    const mn = attrFloat(c.node, 'min');
    const mx = attrFloat(c.node, 'max');
    if (mn !== undefined) lo = c.constFloat([mn], []);
    if (mx !== undefined) hi = c.constFloat([mx], []);
  }
  let mask: string | undefined;
  if (lo) mask = c.op('Greater', [x, lo]);
  if (hi) {
    const below = c.op('Less', [x, hi]);
    mask = mask ? c.op('And', [mask, below]) : below;
  }
  c.setGrad(0, mask ? keepWhere(c, mask, g) : g);
};

/** g * y * (1 - y). */
const Sigmoid: GradRule = (c) => {
  const { y, g } = unary(c);
  const oneMinus = c.op('Sub', [c.constFloat([1], []), y]);
  c.setGrad(0, c.op('Mul', [g, c.op('Mul', [y, oneMinus])]));
};

/** g * (1 - y^2). */
const Tanh: GradRule = (c) => {
  const { y, g } = unary(c);
  const oneMinus = c.op('Sub', [c.constFloat([1], []), c.op('Mul', [y, y])]);
  c.setGrad(0, c.op('Mul', [g, oneMinus]));
};

/** g * alpha where 0 < alpha * x + beta < 1. */
const HardSigmoid: GradRule = (c) => {
  const { x, g } = unary(c);
  const alpha = attrFloat(c.node, 'alpha', 0.2);
  const beta = attrFloat(c.node, 'beta', 0.5);
  const v = c.op('Add', [c.op('Mul', [x, c.constFloat([alpha], [])]), c.constFloat([beta], [])]);
  const inside = c.op('And', [c.op('Greater', [v, c.constFloat([0], [])]), c.op('Less', [v, c.constFloat([1], [])])]);
  c.setGrad(0, keepWhere(c, inside, c.op('Mul', [g, c.constFloat([alpha], [])])));
};

/** 0 for x < -3, g for x > 3, g * (2x + 3) / 6 between (PyTorch's hardswish_backward). */
const HardSwish: GradRule = (c) => {
  const { x, g } = unary(c);
  const slope = c.op('Add', [c.op('Mul', [x, c.constFloat([1 / 3], [])]), c.constFloat([0.5], [])]);
  const mid = c.op('Mul', [g, slope]);
  const upper = c.op('Where', [c.op('Greater', [x, c.constFloat([3], [])]), g, mid]);
  c.setGrad(0, c.op('Where', [c.op('Less', [x, c.constFloat([-3], [])]), c.constFloat([0], []), upper]));
};

/** g for x > 0, g * (y + alpha) elsewhere (y = alpha * (e^x - 1) there). */
const Elu: GradRule = (c) => {
  const { x, y, g } = unary(c);
  const alpha = attrFloat(c.node, 'alpha', 1);
  const neg = c.op('Mul', [g, c.op('Add', [y, c.constFloat([alpha], [])])]);
  c.setGrad(0, c.op('Where', [c.op('Greater', [x, c.constFloat([0], [])]), g, neg]));
};

/** g * gamma for x > 0, g * (y + gamma * alpha) elsewhere. */
const Selu: GradRule = (c) => {
  const { x, y, g } = unary(c);
  const alpha = attrFloat(c.node, 'alpha', 1.67326319217681884765625);
  const gamma = attrFloat(c.node, 'gamma', 1.05070102214813232421875);
  const pos = c.op('Mul', [g, c.constFloat([gamma], [])]);
  const neg = c.op('Mul', [g, c.op('Add', [y, c.constFloat([gamma * alpha], [])])]);
  c.setGrad(0, c.op('Where', [c.op('Greater', [x, c.constFloat([0], [])]), pos, neg]));
};

/** g * sigmoid(x). */
const Softplus: GradRule = (c) => {
  const { x, g } = unary(c);
  c.setGrad(0, c.op('Mul', [g, c.op('Sigmoid', [x])]));
};

/** g * y. */
const Exp: GradRule = (c) => {
  const { y, g } = unary(c);
  c.setGrad(0, c.op('Mul', [g, y]));
};

/** g / x. */
const Log: GradRule = (c) => {
  const { x, g } = unary(c);
  c.setGrad(0, c.op('Div', [g, x]));
};

/** g / (2 y). */
const Sqrt: GradRule = (c) => {
  const { y, g } = unary(c);
  c.setGrad(0, c.op('Div', [c.op('Mul', [g, c.constFloat([0.5], [])]), y]));
};

/** -g. */
const Neg: GradRule = (c) => {
  c.setGrad(0, c.op('Neg', [unary(c).g]));
};

/** g * sign(x) (0 at x = 0, as PyTorch). */
const Abs: GradRule = (c) => {
  const { x, g } = unary(c);
  c.setGrad(0, c.op('Mul', [g, c.op('Sign', [x])]));
};

/** -g * y^2. */
const Reciprocal: GradRule = (c) => {
  const { y, g } = unary(c);
  c.setGrad(0, c.op('Neg', [c.op('Mul', [g, c.op('Mul', [y, y])])]));
};

/** g * 2 / sqrt(pi) * exp(-x^2). */
const Erf: GradRule = (c) => {
  const { x, g } = unary(c);
  const e = c.op('Exp', [c.op('Neg', [c.op('Mul', [x, x])])]);
  c.setGrad(0, c.op('Mul', [g, c.op('Mul', [e, c.constFloat([2 / Math.sqrt(Math.PI)], [])])]));
};

/**
 * Gelu (opset 20). Exact: d/dx x Phi(x) = Phi(x) + x phi(x), with Phi(x) = (1 + erf(x / sqrt 2)) / 2
 * and phi the normal density. approximate = 'tanh': y = x (1 + t) / 2 with t = tanh(u),
 * u = sqrt(2 / pi) (x + 0.044715 x^3), so dy/dx = (1 + t) / 2 + x (1 - t^2) u' / 2.
 */
const Gelu: GradRule = (c) => {
  const { x, g } = unary(c);
  const k = (v: number) => c.constFloat([v], []);
  const approximate = attrString(c.node, 'approximate', 'none');
  let dydx: string;
  if (approximate === 'none') {
    const cdf = c.op('Mul', [c.op('Add', [c.op('Erf', [c.op('Mul', [x, k(Math.SQRT1_2)])]), k(1)]), k(0.5)]);
    const pdf = c.op('Mul', [c.op('Exp', [c.op('Mul', [c.op('Mul', [x, x]), k(-0.5)])]), k(1 / Math.sqrt(2 * Math.PI))]);
    dydx = c.op('Add', [cdf, c.op('Mul', [x, pdf])]);
  } else if (approximate === 'tanh') {
    const s = Math.sqrt(2 / Math.PI);
    const x2 = c.op('Mul', [x, x]);
    const u = c.op('Mul', [c.op('Add', [x, c.op('Mul', [c.op('Mul', [x2, x]), k(0.044715)])]), k(s)]);
    const t = c.op('Tanh', [u]);
    const du = c.op('Add', [c.op('Mul', [x2, k(3 * 0.044715 * s)]), k(s)]);
    const half = c.op('Mul', [c.op('Add', [t, k(1)]), k(0.5)]);
    const sech2 = c.op('Sub', [k(1), c.op('Mul', [t, t])]);
    dydx = c.op('Add', [half, c.op('Mul', [c.op('Mul', [c.op('Mul', [x, sech2]), du]), k(0.5)])]);
  } else {
    return c.fail(`approximate='${approximate}' is not an ONNX Gelu mode (none, tanh)`);
  }
  c.setGrad(0, c.op('Mul', [g, dydx]));
};

/** Pass-through. */
const Identity: GradRule = (c) => {
  c.setGrad(0, unary(c).g);
};

/**
 * Inference-mode Dropout is the identity. A training-mode one (training_mode input constant
 * true) is random, so explanations of it would not be reproducible: refuse it.
 */
const Dropout: GradRule = (c) => {
  onlyFirstInput(c, 'the ratio');
  const mode = c.node.inputs[2];
  if (mode) {
    const v = c.constant(mode);
    if (!v) return c.fail('training_mode must be a constant for the gradient to be defined');
    if (v.some((b) => b !== 0)) c.fail('training-mode Dropout (training_mode = true) is not supported; export the model in eval mode');
  }
  c.setGrad(0, unary(c).g);
};

/** ONNX element-type codes of the float types. */
const FLOAT_CODES: Partial<Record<DataType, number>> = { float32: 1, float16: 10, float64: 11 };

/** Float-to-float casts pass the gradient through, cast back to the input's element type. */
const Cast: GradRule = (c) => {
  const { x, y, g } = unary(c);
  const from = c.dataType(x);
  const to = c.dataType(y);
  if (!FLOAT_TYPES.has(from) || !FLOAT_TYPES.has(to)) c.fail(`the cast from ${from} to ${to} has no gradient`);
  c.setGrad(0, from === to ? g : c.op('Cast', [g], { to: { type: 'int', value: FLOAT_CODES[from]! } }));
};

export const activationRules: Record<string, GradRule> = {
  Relu,
  LeakyRelu,
  PRelu,
  Clip,
  Sigmoid,
  Tanh,
  HardSigmoid,
  HardSwish,
  Elu,
  Selu,
  Softplus,
  Exp,
  Log,
  Sqrt,
  Neg,
  Abs,
  Reciprocal,
  Erf,
  Gelu,
  Identity,
  Dropout,
  Cast,
};
