/** MatMul and _FusedMatMul (Dense layers): Gemm with the weight transposed once at import. */
import { A } from '../../../engine/graph/attributes.js';
import { ktensor } from '../../tfjs/builder.js';
import { hwioToOihw } from '../../tfjs/layers/conv.js';
import { input, tensorIn, weightIn, type OpConverter } from '../context.js';
import { activate } from './activations.js';
import { fusedSteps } from './conv.js';

function matmul(fused: boolean): OpConverter {
  return (ctx) => {
    const a = tensorIn(ctx, 0);
    if (a.shape.length !== 2) ctx.fail(`expects a 2-D input [batch, features], got rank ${a.shape.length}`);
    if (ctx.attrs.bool('transpose_a', false)) ctx.fail('transpose_a would mix the batch into the features');
    const k = a.shape[1] as number;
    const transB = ctx.attrs.bool('transpose_b', false);
    const steps = fused ? fusedSteps(ctx, 2) : {};
    if (steps.batchNorm) ctx.fail('FusedBatchNorm after MatMul is not supported');
    const w = input(ctx, 1);
    const b = ctx.b;
    if (w.kind !== 'const') return ctx.fail('a weight computed at run time is not supported; MatMul needs a constant second operand');
    if (w.shape.length !== 2 || w.shape[transB ? 1 : 0] !== k) ctx.fail(`the weight '${w.source}' has shape [${w.shape.join(', ')}], which does not take ${k} features`);
    const m = w.shape[transB ? 0 : 1]!;
    // Gemm wants [out, in]: TensorFlow's [in, out] is transposed here unless transpose_b says it already is.
    const wt = ctx.cached(`${w.source}#gemm`, () => {
      const values = weightIn(ctx, 1, 'weight');
      return b.floats(w.source, transB ? values : hwioToOihw(values, 1, 1, k, m), [m, k]);
    });
    const bias = steps.bias ? ctx.cached(`${ctx.node.name}#bias`, () => b.floats(`${ctx.base}/bias`, weightIn(ctx, 2, 'bias', [m]), [m])) : undefined;
    const y = b.op('Gemm', [a.name, wt, ...(bias ? [bias] : [])], { transB: A.int(1) }, `${ctx.base}/gemm`);
    let out = ktensor(y, [null, m]);
    if (steps.activation) {
      out = activate(ctx, out, steps.activation, { alpha: ctx.attrs.float('leakyrelu_alpha', 0.2), slope: steps.preluArg === undefined ? undefined : ctx.inputs[steps.preluArg] });
    }
    return { kind: 'tensor', t: out };
  };
}

export const matmulOps: Record<string, OpConverter> = { MatMul: matmul(false), _FusedMatMul: matmul(true) };
