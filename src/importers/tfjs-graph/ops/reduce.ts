/** Mean, Max and Sum over constant axes (GlobalAveragePooling2D is a Mean over [1, 2]). */
import { A } from '../../../engine/graph/attributes.js';
import { ktensor, storageAxis } from '../../tfjs/builder.js';
import { intsIn, normAxis, tensorIn, type OpConverter } from '../context.js';

function reduce(op: 'ReduceMean' | 'ReduceMax' | 'ReduceSum'): OpConverter {
  return (ctx) => {
    const x = tensorIn(ctx, 0);
    const rank = x.shape.length;
    const axes = [...new Set(intsIn(ctx, 1, 'reduction axes').map((a) => normAxis(ctx, a, rank)))].sort();
    if (axes.includes(0)) ctx.fail('reducing over the batch axis is not supported');
    if (axes.length === 0) return { kind: 'tensor', t: x };
    const keep = ctx.attrs.bool('keep_dims', false);
    const b = ctx.b;
    const stored = axes.map((a) => storageAxis(x, a));
    const attrs = { keepdims: A.int(keep ? 1 : 0) };
    // opset 17: ReduceSum takes its axes as an input, ReduceMean and ReduceMax as an attribute.
    const y =
      op === 'ReduceSum'
        ? b.op(op, [x.name, b.ints(`${ctx.base}/axes`, stored)], attrs, `${ctx.base}/reduce`)
        : b.op(op, [x.name], { ...attrs, axes: A.ints(stored) }, `${ctx.base}/reduce`);
    if (keep) return { kind: 'tensor', t: { ...x, name: y, shape: x.shape.map((d, i) => (axes.includes(i) ? 1 : d)) } };
    // Without the reduced axes the result has rank < 4, kept in TensorFlow's axis order: an NCHW
    // input's remaining axes may need reordering (reducing H alone leaves [N, C, W], TF has [N, W, C]).
    const order = x.layout === 'nchw' ? [0, 3, 1, 2] : x.shape.map((_, i) => i);
    const left = order.filter((a) => !axes.includes(a));
    const want = [...left].sort((p, q) => p - q);
    const perm = want.map((a) => left.indexOf(a));
    const shape = want.map((a) => x.shape[a]!);
    if (perm.every((p, i) => p === i)) return { kind: 'tensor', t: ktensor(y, shape) };
    return { kind: 'tensor', t: ktensor(b.op('Transpose', [y], { perm: A.ints(perm) }, `${ctx.base}/tf_order`), shape) };
  };
}

export const reduceOps: Record<string, OpConverter> = { Mean: reduce('ReduceMean'), Max: reduce('ReduceMax'), Sum: reduce('ReduceSum') };
