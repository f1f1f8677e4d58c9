/** Gradient rules for element-wise activations. */
import type { GradRule } from '../context.js';

/** d relu(x) = g where x > 0 (PyTorch's convention at 0: no gradient). */
const Relu: GradRule = (c) => {
  const x = c.node.inputs[0]!;
  const g = c.outputGrad(0)!;
  const mask = c.op('Greater', [x, c.constFloat([0], [])]);
  c.setGrad(0, c.op('Where', [mask, g, c.constFloat([0], [])]));
};

export const activationRules: Record<string, GradRule> = { Relu };
