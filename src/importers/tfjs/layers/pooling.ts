/** Max / average pooling, windowed and global. */
import { A } from '../../../engine/graph/attributes.js';
import { ktensor } from '../builder.js';
import { cfgBool, cfgPair, cfgStr, image, windowAxis, type Converter } from '../context.js';

function pool(op: 'MaxPool' | 'AveragePool'): Converter {
  return (ctx) => {
    const { x, h, w, c } = image(ctx);
    const size = cfgPair(ctx, 'pool_size', [2, 2]);
    const strides = cfgPair(ctx, 'strides', size);
    const padding = cfgStr(ctx, 'padding', 'valid');
    const ay = windowAxis(ctx, h, size[0], strides[0], 1, padding);
    const ax = windowAxis(ctx, w, size[1], strides[1], 1, padding);
    const attrs = {
      kernel_shape: A.ints(size),
      strides: A.ints(strides),
      pads: A.ints([ay.pad[0], ax.pad[0], ay.pad[1], ax.pad[1]]),
      // TensorFlow averages over the pixels inside the image only.
      ...(op === 'AveragePool' ? { count_include_pad: A.int(0) } : {}),
    };
    return ktensor(ctx.b.op(op, [x.name], attrs, `${ctx.base}/pool`), [null, ay.out, ax.out, c]);
  };
}

function globalPool(op: 'GlobalAveragePool' | 'GlobalMaxPool'): Converter {
  return (ctx) => {
    const { x, c } = image(ctx);
    const y = ctx.b.op(op, [x.name], {}, `${ctx.base}/pool`);
    if (cfgBool(ctx, 'keepdims', false)) return ktensor(y, [null, 1, 1, c]);
    return ktensor(ctx.b.op('Flatten', [y], { axis: A.int(1) }, `${ctx.base}/flatten`), [null, c]);
  };
}

export const poolingConverters: Record<string, Converter> = {
  MaxPooling2D: pool('MaxPool'),
  MaxPool2D: pool('MaxPool'),
  AveragePooling2D: pool('AveragePool'),
  AvgPool2D: pool('AveragePool'),
  GlobalAveragePooling2D: globalPool('GlobalAveragePool'),
  GlobalAvgPool2D: globalPool('GlobalAveragePool'),
  GlobalMaxPooling2D: globalPool('GlobalMaxPool'),
  GlobalMaxPool2D: globalPool('GlobalMaxPool'),
};
