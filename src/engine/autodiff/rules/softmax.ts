/** Gradient rules for Softmax and LogSoftmax along one axis. */
import { attrInt } from '../../graph/attributes.js';
import type { GradContext, GradRule } from '../context.js';
import { reduceSum } from './reduce.js';

/**
 * The normalized axis. Before opset 13 these ops worked on the input flattened to 2-D at
 * `axis`, which is the same thing only when that axis is the last one.
 */
function softmaxAxis(c: GradContext): number {
  const rank = c.shape(c.node.inputs[0]!).length;
  const raw = attrInt(c.node, 'axis', c.opset >= 13 ? -1 : 1);
  const axis = raw < 0 ? raw + rank : raw;
  if (axis < 0 || axis >= rank) c.fail(`axis ${raw} is out of range for rank ${rank}`);
  if (c.opset < 13 && axis !== rank - 1) c.fail(`opset ${c.opset} softmax over the flattened axes ${axis}.. is not supported`);
  return axis;
}

/** dx = y * (g - sum(g * y, axis)). */
const Softmax: GradRule = (c) => {
  const axis = softmaxAxis(c);
  const g = c.outputGrad(0)!;
  const y = c.node.outputs[0]!;
  const dot = reduceSum(c, c.op('Mul', [g, y]), [axis], true);
  c.setGrad(0, c.op('Mul', [y, c.op('Sub', [g, dot])]));
};

/** dx = g - exp(y) * sum(g, axis). */
const LogSoftmax: GradRule = (c) => {
  const axis = softmaxAxis(c);
  const g = c.outputGrad(0)!;
  const y = c.node.outputs[0]!;
  const total = reduceSum(c, g, [axis], true);
  c.setGrad(0, c.op('Sub', [g, c.op('Mul', [c.op('Exp', [y]), total])]));
};

export const softmaxRules: Record<string, GradRule> = { Softmax, LogSoftmax };
