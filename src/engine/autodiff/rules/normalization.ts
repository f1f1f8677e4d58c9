/** Gradient rules for normalisation layers (inference mode). */
import { A, attrFloat, attrInt } from '../../graph/attributes.js';
import type { GradContext, GradRule } from '../context.js';

/** Per-channel values shaped [C, 1, ...] so they broadcast over an input of rank `rank`. */
function channelDims(count: number, rank: number): number[] {
  return [count, ...new Array(Math.max(0, rank - 2)).fill(1)];
}

function failOnParameterGrads(c: GradContext, from: number, to: number): void {
  for (let i = from; i <= to; i++) {
    if (c.needsGrad(i)) c.fail(`the gradient with respect to input ${i} ('${c.node.inputs[i]}') is not supported, only with respect to the data`);
  }
}

/**
 * In inference mode Y = (X - mean) * scale / sqrt(var + eps) + B with fixed statistics, so
 * dX = dY * scale / sqrt(var + eps) per channel: a constant when the parameters are.
 */
const BatchNormalization: GradRule = (c) => {
  const node = c.node;
  if (attrInt(node, 'training_mode', 0) === 1) c.fail('training_mode=1 is not supported (inference mode only)');
  failOnParameterGrads(c, 1, 4);
  if (!c.needsGrad(0)) return;
  const eps = attrFloat(node, 'epsilon', 1e-5);
  const rank = c.shape(node.inputs[0]!).length;
  const scale = c.constant(node.inputs[1]!);
  const variance = c.constant(node.inputs[4]!);
  let factor: string;
  if (scale && variance) {
    const values = scale.map((s, i) => s / Math.sqrt(variance[i]! + eps));
    factor = c.constFloat(values, channelDims(values.length, rank));
  } else {
    const perChannel = c.op('Div', [node.inputs[1]!, c.op('Sqrt', [c.op('Add', [node.inputs[4]!, c.constFloat([eps], [])])])]);
    factor = c.op('Reshape', [perChannel, c.constInt64(channelDims(-1, rank))]);
  }
  c.setGrad(0, c.op('Mul', [c.outputGrad(0)!, factor]));
};

/** ReduceMean over `axes` keeping them; axes became an input in opset 18. */
function reduceMean(c: GradContext, x: string, axes: number[]): string {
  if (c.opset >= 18) return c.op('ReduceMean', [x, c.constInt64(axes)], { keepdims: A.int(1) });
  return c.op('ReduceMean', [x], { axes: A.ints(axes), keepdims: A.int(1) });
}

/**
 * Y = scale * xhat + B with xhat = (X - mean) / sqrt(var + eps) over each (n, c) plane, so
 * dX = (g - mean(g) - xhat * mean(g * xhat)) / sqrt(var + eps) with g = dY * scale.
 */
const InstanceNormalization: GradRule = (c) => {
  const node = c.node;
  failOnParameterGrads(c, 1, 2);
  if (!c.needsGrad(0)) return;
  const x = node.inputs[0]!;
  const rank = c.shape(x).length;
  const eps = attrFloat(node, 'epsilon', 1e-5);
  const axes = Array.from({ length: rank - 2 }, (_, i) => i + 2);
  const scale = c.op('Reshape', [node.inputs[1]!, c.constInt64(channelDims(-1, rank))]);
  c.setGrad(0, standardizedGrad(c, x, axes, scale, eps));
};

/**
 * LayerNormalization (opset 17): the same algebra as InstanceNormalization over the axes
 * from `axis` to the last, with a scale that broadcasts as it is.
 */
const LayerNormalization: GradRule = (c) => {
  const node = c.node;
  failOnParameterGrads(c, 1, 2);
  if (!c.needsGrad(0)) return;
  if (node.outputs.slice(1).some((o, i) => o && c.outputGrad(i + 1))) c.fail('gradients through the Mean / InvStdDev outputs are not supported');
  const x = node.inputs[0]!;
  const rank = c.shape(x).length;
  const axis = attrInt(node, 'axis', -1);
  const first = axis < 0 ? axis + rank : axis;
  const axes = Array.from({ length: rank - first }, (_, i) => first + i);
  c.setGrad(0, standardizedGrad(c, x, axes, node.inputs[1]!, attrFloat(node, 'epsilon', 1e-5)));
};

/** dX of scale * (X - mean) / sqrt(var + eps) over `axes`: (g - mean(g) - xhat mean(g xhat)) / std, g = dY * scale. */
function standardizedGrad(c: GradContext, x: string, axes: number[], scale: string, eps: number): string {
  const centred = c.op('Sub', [x, reduceMean(c, x, axes)]);
  const variance = reduceMean(c, c.op('Mul', [centred, centred]), axes);
  const invStd = c.op('Reciprocal', [c.op('Sqrt', [c.op('Add', [variance, c.constFloat([eps], [])])])]);
  const xhat = c.op('Mul', [centred, invStd]);
  const g = c.op('Mul', [c.outputGrad(0)!, scale]);
  const meanG = reduceMean(c, g, axes);
  const meanGx = reduceMean(c, c.op('Mul', [g, xhat]), axes);
  const inner = c.op('Sub', [c.op('Sub', [g, meanG]), c.op('Mul', [xhat, meanGx])]);
  return c.op('Mul', [inner, invStd]);
}

export const normalizationRules: Record<string, GradRule> = { BatchNormalization, InstanceNormalization, LayerNormalization };
