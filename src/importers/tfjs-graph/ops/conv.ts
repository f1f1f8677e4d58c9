/**
 * Conv2D and DepthwiseConv2dNative, plain and fused (_FusedConv2D, FusedDepthwiseConv2dNative
 * with `fused_ops` such as [BiasAdd, Relu6] or [FusedBatchNorm, Relu]). Filters are
 * transposed once from TensorFlow's HWIO / [kh, kw, C, M] to ONNX's OIHW, as the Layers
 * importer does; SAME padding becomes explicit pads with TensorFlow's extra bottom/right pixel.
 */
import { A } from '../../../engine/graph/attributes.js';
import { ktensor, type KTensor } from '../../tfjs/builder.js';
import { depthwiseToOihw, hwioToOihw } from '../../tfjs/layers/conv.js';
import { constIn, image, spatialPair, weightIn, window, type OpContext, type OpConverter } from '../context.js';
import { activate, ACTIVATIONS } from './activations.js';
import { batchNorm } from './normalization.js';

/** The convolution itself (no fused ops): returns its output and channel count. */
function convolve(ctx: OpContext, depthwise: boolean, bias?: string): { y: KTensor; channels: number } {
  const { x, h, w, c } = image(ctx);
  const filter = constIn(ctx, 1, 'filter');
  if (filter.shape.length !== 4) ctx.fail(`the filter '${filter.source}' must be 4-D, got shape [${filter.shape.join(', ')}]`);
  const [kh, kw, fi, fo] = filter.shape as [number, number, number, number];
  const strides = spatialPair(ctx, 'strides', 1);
  const dilations = spatialPair(ctx, 'dilations', 1);
  const win = window(ctx, h, w, [kh, kw], strides, dilations);
  const b = ctx.b;
  let weight: string;
  let group: number;
  let channels: number;
  if (depthwise) {
    if (fi !== c) ctx.fail(`the depthwise filter '${filter.source}' expects ${fi} input channels, the input has ${c}`);
    group = c;
    channels = c * fo;
    weight = ctx.cached(`${filter.source}#depthwise`, () => b.floats(filter.source, depthwiseToOihw(weightIn(ctx, 1, 'filter'), kh, kw, c, fo), [channels, 1, kh, kw]));
  } else {
    // TensorFlow runs a grouped convolution when the input has a multiple of the filter's depth.
    if (c % fi !== 0) ctx.fail(`the filter '${filter.source}' expects ${fi} input channels, the input has ${c}`);
    group = c / fi;
    channels = fo;
    weight = ctx.cached(`${filter.source}#oihw`, () => b.floats(filter.source, hwioToOihw(weightIn(ctx, 1, 'filter'), kh, kw, fi, fo), [fo, fi, kh, kw]));
  }
  const attrs = {
    kernel_shape: A.ints([kh, kw]),
    strides: A.ints(strides),
    dilations: A.ints(dilations),
    pads: A.ints(win.pads),
    ...(group > 1 ? { group: A.int(group) } : {}),
  };
  const y = b.op('Conv', [x.name, weight, ...(bias ? [bias] : [])], attrs, `${ctx.base}/${depthwise ? 'depthwise' : 'conv'}`);
  return { y: ktensor(y, [null, win.outH, win.outW, channels]), channels };
}

function plain(depthwise: boolean): OpConverter {
  return (ctx) => ({ kind: 'tensor', t: convolve(ctx, depthwise).y });
}

/**
 * The fused ops after a contraction, as TensorFlow's remapper and the TF.js converter write
 * them: an optional BiasAdd (1 argument) or FusedBatchNorm (4), then an optional activation
 * (Prelu takes one more argument). Returns the op list checked against `num_args`.
 */
export function fusedSteps(ctx: OpContext, firstArg: number): { bias?: boolean; batchNorm?: boolean; activation?: string; preluArg?: number } {
  const ops = ctx.attrs.strings('fused_ops');
  const out: { bias?: boolean; batchNorm?: boolean; activation?: string; preluArg?: number } = {};
  let args = 0;
  let i = 0;
  if (ops[i] === 'BiasAdd') {
    out.bias = true;
    args += 1;
    i++;
  } else if (ops[i] === 'FusedBatchNorm') {
    out.batchNorm = true;
    args += 4;
    i++;
  }
  if (i < ops.length && ACTIVATIONS.has(ops[i]!)) {
    out.activation = ops[i]!;
    if (out.activation === 'Prelu') out.preluArg = firstArg + args++;
    i++;
  }
  if (i < ops.length || ops.length === 0) ctx.fail(`fused_ops [${ops.join(', ')}] are not supported`);
  const numArgs = ctx.attrs.int('num_args', args);
  // The converter counts Prelu's alpha in num_args or not, depending on its version.
  if (numArgs !== args && !(out.preluArg !== undefined && numArgs === args - 1)) ctx.fail(`num_args is ${numArgs} but fused_ops [${ops.join(', ')}] take ${args}`);
  if (ctx.inputs.length < firstArg + args) ctx.fail(`fused_ops [${ops.join(', ')}] take ${args} arguments, the node has ${ctx.inputs.length - firstArg}`);
  return out;
}

function fused(depthwise: boolean): OpConverter {
  return (ctx) => {
    const steps = fusedSteps(ctx, 2);
    const filter = constIn(ctx, 1, 'filter');
    const out = depthwise ? filter.shape[2]! * filter.shape[3]! : filter.shape[3]!;
    const bias = steps.bias ? ctx.cached(`${constIn(ctx, 2, 'bias').source}#bias`, () => ctx.b.floats(constIn(ctx, 2, 'bias').source, weightIn(ctx, 2, 'bias', [out]), [out])) : undefined;
    let { y, channels } = convolve(ctx, depthwise, bias);
    if (steps.batchNorm) y = batchNorm(ctx, y, channels, 2);
    if (steps.activation) {
      y = activate(ctx, y, steps.activation, { alpha: ctx.attrs.float('leakyrelu_alpha', 0.2), slope: steps.preluArg === undefined ? undefined : ctx.inputs[steps.preluArg] });
    }
    return { kind: 'tensor', t: y };
  };
}

export const convOps: Record<string, OpConverter> = {
  Conv2D: plain(false),
  DepthwiseConv2dNative: plain(true),
  _FusedConv2D: fused(false),
  FusedDepthwiseConv2dNative: fused(true),
};
