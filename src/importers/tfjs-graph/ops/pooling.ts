/** MaxPool and AvgPool over height and width (TensorFlow's average leaves padding out). */
import { A } from '../../../engine/graph/attributes.js';
import { ktensor } from '../../tfjs/builder.js';
import { image, spatialPair, window, type OpConverter } from '../context.js';

function pool(op: 'MaxPool' | 'AveragePool'): OpConverter {
  return (ctx) => {
    const { x, h, w, c } = image(ctx);
    const kernel = spatialPair(ctx, 'ksize', 1);
    const strides = spatialPair(ctx, 'strides', 1);
    const win = window(ctx, h, w, kernel, strides, [1, 1]);
    const attrs = {
      kernel_shape: A.ints(kernel),
      strides: A.ints(strides),
      pads: A.ints(win.pads),
      ...(op === 'AveragePool' ? { count_include_pad: A.int(0) } : {}),
    };
    return { kind: 'tensor', t: ktensor(ctx.b.op(op, [x.name], attrs, `${ctx.base}/pool`), [null, win.outH, win.outW, c]) };
  };
}

export const poolingOps: Record<string, OpConverter> = { MaxPool: pool('MaxPool'), AvgPool: pool('AveragePool') };
