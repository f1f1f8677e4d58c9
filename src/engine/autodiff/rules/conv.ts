/** Gradient rules for convolution (with respect to the input; weights are not differentiated). */
import { A } from '../../graph/attributes.js';
import { attrInt, attrInts } from '../../graph/attributes.js';
import type { GradRule } from '../context.js';
import { transposeAttributes, windowGeometry } from './window-geometry.js';

/**
 * dX of Y = conv(X, W) is the transposed convolution of dY with the same W: Conv's weight
 * [M, C/g, k...] is already ConvTranspose's layout for M input and C output channels.
 */
const Conv: GradRule = (c) => {
  const node = c.node;
  if (c.needsGrad(1)) c.fail('the gradient with respect to the weights is not supported (only with respect to the input)');
  const g = c.outputGrad(0)!;
  const rank = c.shape(node.outputs[0]!).length;
  if (c.needsGrad(2)) {
    // The bias is added at every batch item and position.
    const axes = [0, ...Array.from({ length: rank - 2 }, (_, i) => i + 2)];
    c.setGrad(2, c.op('ReduceSum', [g, c.constInt64(axes)], { keepdims: A.int(0) }));
  }
  if (!c.needsGrad(0)) return;
  const w = node.inputs[1]!;
  const wShape = c.shape(w);
  const kernel = attrInts(node, 'kernel_shape') ?? wShape.slice(2);
  if (!kernel.every((d): d is number => typeof d === 'number')) c.fail('the kernel size must be fixed');
  const geometry = windowGeometry(c, kernel as number[]);
  const group = attrInt(node, 'group', 1);
  const attrs = { ...transposeAttributes(geometry), group: A.int(group) };
  const [outChannels, inPerGroup] = wShape;
  const multiplier = typeof outChannels === 'number' ? outChannels / group : 1;
  if (c.variants.depthwiseGradient === 'split' && group > 1 && inPerGroup === 1 && multiplier > 1) {
    // Output channel c*m + j reads input channel c: slice j of every group is a plain
    // depthwise conv, and the input gradient is the sum of their transposes.
    const [axis, step, end] = [c.constInt64([0]), c.constInt64([multiplier]), c.constInt64([outChannels as number])];
    const channelAxis = c.constInt64([1]);
    const parts = Array.from({ length: multiplier }, (_, j) => {
      const start = c.constInt64([j]);
      const gj = c.op('Slice', [g, start, end, channelAxis, step]);
      const wj = c.op('Slice', [w, start, end, axis, step]);
      return c.op('ConvTranspose', [gj, wj], attrs);
    });
    c.setGrad(0, c.op('Sum', parts));
    return;
  }
  c.setGrad(0, c.op('ConvTranspose', [g, w], attrs));
};

export const convRules: Record<string, GradRule> = { Conv };
