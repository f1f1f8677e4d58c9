import type { GradContext } from './context.js';
import type { Shape } from '../graph/types.js';
import { dimEq } from '../graph/dims.js';

/**
 * Sum a gradient of shape `outShape` down to `inShape` (numpy broadcasting in reverse):
 * leading extra axes and axes where the input has size 1 are summed, then the result is
 * reshaped to the input's own shape.
 */
export function unbroadcast(ctx: GradContext, grad: string, inShape: Shape, outShape: Shape, inputName: string): string {
  const lead = outShape.length - inShape.length;
  const axes: number[] = [];
  for (let i = 0; i < outShape.length; i++) {
    if (i < lead) axes.push(i);
    else {
      const d = inShape[i - lead]!;
      if (d === 1 && !dimEq(outShape[i]!, 1)) axes.push(i);
    }
  }
  if (axes.length === 0) return grad;
  const summed = ctx.op('ReduceSum', [grad, ctx.constInt64(axes)], { keepdims: { type: 'int', value: 1 } });
  return ctx.op('Reshape', [summed, ctx.op('Shape', [inputName])]);
}
