/** FusedBatchNorm (V1-V3) at inference: one per-channel Mul and Add on the last (channel) axis. */
import { ktensor, type KTensor } from '../../tfjs/builder.js';
import { constOperand, image, weightIn, type OpContext, type OpConverter } from '../context.js';
import { floatConst } from '../values.js';

/**
 * y = (x - mean) / sqrt(variance + epsilon) * scale + offset, with the four per-channel
 * statistics taken from the node's inputs `first` .. `first + 3` (scale, offset, mean, variance).
 */
export function batchNorm(ctx: OpContext, x: KTensor, c: number, first: number): KTensor {
  const [scale, offset, mean, variance] = ['scale', 'offset', 'mean', 'variance'].map((what, k) => weightIn(ctx, first + k, what, [c]));
  const eps = ctx.attrs.float('epsilon', 1e-4);
  const mul = new Float32Array(c);
  const add = new Float32Array(c);
  for (let i = 0; i < c; i++) {
    mul[i] = scale![i]! / Math.sqrt(variance![i]! + eps);
    add[i] = offset![i]! - mean![i]! * mul[i]!;
  }
  const b = ctx.b;
  const m = constOperand(ctx, floatConst(mul, [c], `${ctx.base}/bn_scale`), 4);
  const a = constOperand(ctx, floatConst(add, [c], `${ctx.base}/bn_shift`), 4);
  const y = b.op('Mul', [x.name, m], {}, `${ctx.base}/bn_mul`);
  return ktensor(b.op('Add', [y, a], {}, `${ctx.base}/bn_add`), x.shape);
}

const FusedBatchNorm: OpConverter = (ctx) => {
  if (ctx.attrs.bool('is_training', false)) ctx.fail('is_training is true; only inference graphs (moving statistics) are supported');
  const { x, c } = image(ctx);
  // Outputs 1.. (batch statistics) are training-only: a consumer of them gets an error.
  return [{ kind: 'tensor', t: batchNorm(ctx, x, c, 1) }];
};

export const normalizationOps: Record<string, OpConverter> = {
  FusedBatchNorm,
  FusedBatchNormV2: FusedBatchNorm,
  FusedBatchNormV3: FusedBatchNorm,
};
