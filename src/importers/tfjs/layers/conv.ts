/**
 * Conv2D, DepthwiseConv2D, SeparableConv2D and Dense. Kernels are transposed once, here, from
 * Keras's HWIO / [in, out] layouts to ONNX's OIHW / [out, in]; 'same' padding becomes explicit
 * pads computed from the input size, so TensorFlow's extra bottom/right pixel is kept.
 */
import { A } from '../../../engine/graph/attributes.js';
import { ktensor, type KTensor } from '../builder.js';
import { cfgBool, cfgNum, cfgPair, cfgStr, image, single, windowAxis, type Converter, type LayerContext } from '../context.js';
import { activate } from './activations.js';

/** HWIO [kh, kw, i, o] -> OIHW [o, i, kh, kw]. */
export function hwioToOihw(k: Float32Array, kh: number, kw: number, ci: number, co: number): Float32Array {
  const out = new Float32Array(k.length);
  for (let y = 0; y < kh; y++)
    for (let x = 0; x < kw; x++)
      for (let i = 0; i < ci; i++)
        for (let o = 0; o < co; o++) out[((o * ci + i) * kh + y) * kw + x] = k[((y * kw + x) * ci + i) * co + o]!;
  return out;
}

/** Depthwise [kh, kw, C, M] -> grouped-conv weight [C*M, 1, kh, kw]; output channel c*M + m, as TensorFlow orders it. */
export function depthwiseToOihw(k: Float32Array, kh: number, kw: number, c: number, m: number): Float32Array {
  const out = new Float32Array(k.length);
  for (let y = 0; y < kh; y++)
    for (let x = 0; x < kw; x++)
      for (let ch = 0; ch < c; ch++)
        for (let j = 0; j < m; j++) out[((ch * m + j) * kh + y) * kw + x] = k[((y * kw + x) * c + ch) * m + j]!;
  return out;
}

interface Geometry {
  attrs: Record<string, ReturnType<typeof A.ints>>;
  outH: number;
  outW: number;
}

function geometry(ctx: LayerContext, h: number, w: number, kernel: [number, number]): Geometry {
  const strides = cfgPair(ctx, 'strides', [1, 1]);
  const dil = cfgPair(ctx, 'dilation_rate', [1, 1]);
  const padding = cfgStr(ctx, 'padding', 'valid');
  const ay = windowAxis(ctx, h, kernel[0], strides[0], dil[0], padding);
  const ax = windowAxis(ctx, w, kernel[1], strides[1], dil[1], padding);
  return {
    attrs: {
      kernel_shape: A.ints(kernel),
      strides: A.ints(strides),
      dilations: A.ints(dil),
      pads: A.ints([ay.pad[0], ax.pad[0], ay.pad[1], ax.pad[1]]),
    },
    outH: ay.out,
    outW: ax.out,
  };
}

function bias(ctx: LayerContext, n: number): string | undefined {
  if (!cfgBool(ctx, 'use_bias', true)) return undefined;
  return ctx.cached('bias', () => ctx.b.floats(`${ctx.base}/bias`, ctx.weight('bias', [n]), [n]));
}

const Conv2D: Converter = (ctx) => {
  const { x, h, w, c } = image(ctx);
  const filters = cfgNum(ctx, 'filters', NaN);
  if (!Number.isInteger(filters)) ctx.fail(`config 'filters' is missing`);
  const [kh, kw] = cfgPair(ctx, 'kernel_size');
  const groups = cfgNum(ctx, 'groups', 1);
  if (c % groups !== 0) ctx.fail(`${c} input channels do not split into ${groups} groups`);
  const ci = c / groups;
  const g = geometry(ctx, h, w, [kh, kw]);
  const weight = ctx.cached('kernel', () => ctx.b.floats(`${ctx.base}/kernel`, hwioToOihw(ctx.weight('kernel', [kh, kw, ci, filters]), kh, kw, ci, filters), [filters, ci, kh, kw]));
  const b = bias(ctx, filters);
  const attrs = groups === 1 ? g.attrs : { ...g.attrs, group: A.int(groups) };
  const y = ctx.b.op('Conv', [x.name, weight, ...(b ? [b] : [])], attrs, `${ctx.base}/conv`);
  return activate(ctx, ktensor(y, [null, g.outH, g.outW, filters]), ctx.layer.config['activation']);
};

/** A depthwise convolution of `x`; the layer's weight is called `weightName`. */
function depthwise(ctx: LayerContext, x: KTensor, h: number, w: number, c: number, weightName: string, withBias: boolean): KTensor {
  const [kh, kw] = cfgPair(ctx, 'kernel_size');
  // TF.js's SeparableConv2D does not save depth_multiplier; the kernel's shape still tells it.
  const stored = ctx.weightShape(weightName);
  const m = cfgNum(ctx, 'depth_multiplier', stored?.length === 4 && stored[2] === c ? stored[3]! : 1);
  const g = geometry(ctx, h, w, [kh, kw]);
  const weight = ctx.cached(weightName, () =>
    ctx.b.floats(`${ctx.base}/${weightName}`, depthwiseToOihw(ctx.weight(weightName, [kh, kw, c, m]), kh, kw, c, m), [c * m, 1, kh, kw]),
  );
  const b = withBias ? bias(ctx, c * m) : undefined;
  const y = ctx.b.op('Conv', [x.name, weight, ...(b ? [b] : [])], { ...g.attrs, group: A.int(c) }, `${ctx.base}/depthwise`);
  return ktensor(y, [null, g.outH, g.outW, c * m]);
}

const DepthwiseConv2D: Converter = (ctx) => {
  const { x, h, w, c } = image(ctx);
  const y = depthwise(ctx, x, h, w, c, 'depthwise_kernel', true);
  return activate(ctx, y, ctx.layer.config['activation']);
};

const SeparableConv2D: Converter = (ctx) => {
  const { x, h, w, c } = image(ctx);
  const filters = cfgNum(ctx, 'filters', NaN);
  if (!Number.isInteger(filters)) ctx.fail(`config 'filters' is missing`);
  const d = depthwise(ctx, x, h, w, c, 'depthwise_kernel', false);
  const cm = d.shape[3] as number;
  const weight = ctx.cached('pointwise_kernel', () =>
    ctx.b.floats(`${ctx.base}/pointwise_kernel`, hwioToOihw(ctx.weight('pointwise_kernel', [1, 1, cm, filters]), 1, 1, cm, filters), [filters, cm, 1, 1]),
  );
  const b = bias(ctx, filters);
  const y = ctx.b.op('Conv', [d.name, weight, ...(b ? [b] : [])], { kernel_shape: A.ints([1, 1]) }, `${ctx.base}/pointwise`);
  return activate(ctx, ktensor(y, [null, d.shape[1]!, d.shape[2]!, filters]), ctx.layer.config['activation']);
};

/** Dense on the last axis: Gemm on 2-D input, a 1x1 Conv on images, MatMul + Add otherwise. */
const Dense: Converter = (ctx) => {
  const x = single(ctx);
  const units = cfgNum(ctx, 'units', NaN);
  if (!Number.isInteger(units)) ctx.fail(`config 'units' is missing`);
  const last = x.shape[x.shape.length - 1];
  const n = typeof last === 'number' ? last : ctx.fail('needs a fixed size on the last axis');
  const shape = [...x.shape.slice(0, -1), units];
  const b = bias(ctx, units);
  let y: string;
  if (x.shape.length === 2) {
    const wt = ctx.cached('kernel_t', () => ctx.b.floats(`${ctx.base}/kernel`, hwioToOihw(ctx.weight('kernel', [n, units]), 1, 1, n, units), [units, n]));
    y = ctx.b.op('Gemm', [x.name, wt, ...(b ? [b] : [])], { transB: A.int(1) }, `${ctx.base}/linear`);
  } else if (x.layout === 'nchw') {
    const wt = ctx.cached('kernel_conv', () => ctx.b.floats(`${ctx.base}/kernel`, hwioToOihw(ctx.weight('kernel', [n, units]), 1, 1, n, units), [units, n, 1, 1]));
    y = ctx.b.op('Conv', [x.name, wt, ...(b ? [b] : [])], { kernel_shape: A.ints([1, 1]) }, `${ctx.base}/linear`);
  } else {
    const wk = ctx.cached('kernel', () => ctx.b.floats(`${ctx.base}/kernel`, ctx.weight('kernel', [n, units]), [n, units]));
    y = ctx.b.op('MatMul', [x.name, wk], {}, `${ctx.base}/matmul`);
    if (b) y = ctx.b.op('Add', [y, b], {}, `${ctx.base}/linear`);
  }
  return activate(ctx, ktensor(y, shape), ctx.layer.config['activation']);
};

export const convConverters: Record<string, Converter> = { Conv2D, DepthwiseConv2D, SeparableConv2D, Dense };
