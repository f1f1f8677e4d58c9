/**
 * Writes the TF.js graph-model fixtures in test/fixtures/tfjs-graph/ (model.json + one weight
 * shard each), byte for byte in the form tensorflowjs_converter gives them: GraphDef nodes
 * as protobuf JSON (strings base64, ints as decimal strings, `device` on the grappler-fused
 * ops), every Const's values in the weights manifest under the node's name, the signature at
 * the top (converter 2+) or none (1.x), and the converter's affine uint8/uint16 or float16
 * weight quantisation. Weights are seeded random numbers, scaled like He initialisation.
 *
 *     npx tsx tools/tfjs-graph-fixtures.ts
 *
 * Node names follow what TensorFlow 2 Keras models (StatefulPartitionedCall/model/...) and
 * TF 1 frozen graphs (conv1/Conv2D, flatten/Reshape, ...) are converted with.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { floatToHalf } from '../src/engine/graph/tensor-data.js';
import { rng } from '../test/helpers/grad-check.js';

const OUT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', 'test', 'fixtures', 'tfjs-graph');

type Attr = Record<string, unknown>;
type Quantization = 'uint8' | 'uint16' | 'float16';

const b64 = (s: string) => Buffer.from(s, 'latin1').toString('base64');
const A = {
  T: { type: 'DT_FLOAT' },
  type: (t: string) => ({ type: t }),
  s: (v: string) => ({ s: b64(v) }),
  i: (v: number) => ({ i: String(v) }),
  f: (v: number) => ({ f: v }),
  b: (v: boolean) => ({ b: v }),
  ints: (v: number[]) => ({ list: v.length ? { i: v.map(String) } : {} }),
  strs: (v: string[]) => ({ list: { s: v.map(b64) } }),
};
const shapeProto = (dims: number[]) => (dims.length ? { dim: dims.map((d) => ({ size: String(d) })) } : {});

interface Weight {
  name: string;
  shape: number[];
  dtype: 'float32' | 'int32';
  data: Float32Array | Int32Array;
}

class GraphWriter {
  readonly nodes: Attr[] = [];
  readonly weights: Weight[] = [];
  private readonly rand: (lo?: number, hi?: number) => number;

  constructor(seed: number) {
    this.rand = rng(seed);
  }

  placeholder(name: string, shape: number[]): string {
    this.nodes.push({ name, op: 'Placeholder', attr: { shape: { shape: shapeProto(shape) }, dtype: A.type('DT_FLOAT') } });
    return name;
  }

  constant(name: string, shape: number[], data: ArrayLike<number>, dtype: 'float32' | 'int32' = 'float32'): string {
    const dt = dtype === 'float32' ? 'DT_FLOAT' : 'DT_INT32';
    this.nodes.push({ name, op: 'Const', attr: { value: { tensor: { dtype: dt, tensorShape: shapeProto(shape) } }, dtype: A.type(dt) } });
    this.weights.push({ name, shape, dtype, data: dtype === 'float32' ? Float32Array.from(data) : Int32Array.from(data) });
    return name;
  }

  /** Uniform in +-scale (He-like when scale = sqrt(6 / fan_in)). */
  random(name: string, shape: number[], scale: number, offset = 0): string {
    const n = shape.reduce((a, b) => a * b, 1);
    return this.constant(name, shape, Array.from({ length: n }, () => offset + this.rand(-scale, scale)));
  }

  ints(name: string, values: number[], shape = [values.length]): string {
    return this.constant(name, shape, values, 'int32');
  }

  node(name: string, op: string, input: string[], attr: Attr, device = false): string {
    this.nodes.push({ name, op, input, ...(device ? { device: '/device:CPU:0' } : {}), attr });
    return name;
  }

  /** Conv filter [kh, kw, in, out] and bias. */
  conv(prefix: string, kh: number, kw: number, ci: number, co: number): [string, string] {
    return [this.random(`${prefix}/Conv2D/ReadVariableOp`, [kh, kw, ci, co], Math.sqrt(6 / (kh * kw * ci))), this.random(`${prefix}/BiasAdd/ReadVariableOp`, [co], 0.1)];
  }

  /** A grappler-fused convolution as TF 2 writes it (_FusedConv2D) or the converter's fused depthwise. */
  fusedConv(name: string, op: '_FusedConv2D' | 'FusedDepthwiseConv2dNative', x: string, args: string[], o: { strides?: number; padding?: string; fused: string[]; alpha?: number }): string {
    const s = o.strides ?? 1;
    const attr: Attr =
      op === '_FusedConv2D'
        ? {
            T: A.T,
            data_format: A.s('NHWC'),
            strides: A.ints([1, s, s, 1]),
            use_cudnn_on_gpu: A.b(true),
            explicit_paddings: A.ints([]),
            num_args: A.i(args.length - 1),
            epsilon: A.f(0),
            padding: A.s(o.padding ?? 'SAME'),
            fused_ops: A.strs(o.fused),
            dilations: A.ints([1, 1, 1, 1]),
            leakyrelu_alpha: A.f(o.alpha ?? 0.2),
          }
        : { dilations: A.ints([1, 1, 1, 1]), T: A.T, data_format: A.s('NHWC'), strides: A.ints([1, s, s, 1]), num_args: A.i(args.length - 1), padding: A.s(o.padding ?? 'SAME'), fused_ops: A.strs(o.fused) };
    return this.node(name, op, [x, ...args], attr, op === '_FusedConv2D');
  }

  fusedMatMul(name: string, x: string, w: string, bias: string, fused: string[], transposeB = false): string {
    return this.node(
      name,
      '_FusedMatMul',
      [x, w, bias],
      { transpose_a: A.b(false), transpose_b: A.b(transposeB), fused_ops: A.strs(fused), num_args: A.i(1), leakyrelu_alpha: A.f(0.2), epsilon: A.f(0), T: A.T },
      true,
    );
  }

  /** The model.json object and the weight bytes, quantised as the converter's --quantize_* flags do. */
  finish(meta: { tf: string; converter: string; producer: number; signature?: { input: string; inputShape: number[]; output: string; outputShape: number[] } }, shard: string, q?: Quantization): { json: Attr; bytes: Buffer } {
    const parts: Buffer[] = [];
    const specs = this.weights.map((w) => {
      const spec: Attr = { name: w.name, shape: w.shape, dtype: w.dtype };
      if (w.dtype === 'float32' && q) {
        const { bytes, quantization } = quantize(w.data as Float32Array, q);
        spec['quantization'] = quantization;
        parts.push(bytes);
      } else parts.push(Buffer.from(w.data.buffer, w.data.byteOffset, w.data.byteLength));
      return spec;
    });
    const json: Attr = { format: 'graph-model', generatedBy: meta.tf, convertedBy: meta.converter };
    if (meta.signature) {
      const sig = meta.signature;
      json['signature'] = {
        inputs: { [sig.input]: { name: `${sig.input}:0`, dtype: 'DT_FLOAT', tensorShape: shapeProto(sig.inputShape) } },
        outputs: { output_0: { name: `${sig.output}:0`, dtype: 'DT_FLOAT', tensorShape: shapeProto(sig.outputShape) } },
      };
    }
    json['modelTopology'] = { node: this.nodes, library: {}, versions: meta.producer ? { producer: meta.producer } : {} };
    json['weightsManifest'] = [{ paths: [shard], weights: specs }];
    return { json, bytes: Buffer.concat(parts) };
  }
}

/** tensorflowjs_converter's quantisation (quantization.py): affine with a nudged zero, or float16. */
function quantize(data: Float32Array, q: Quantization): { bytes: Buffer; quantization: Attr } {
  if (q === 'float16') {
    const out = Buffer.alloc(data.length * 2);
    data.forEach((v, i) => out.writeUInt16LE(floatToHalf(v), 2 * i));
    return { bytes: out, quantization: { dtype: 'float16' } };
  }
  const qmax = q === 'uint8' ? 255 : 65535;
  let min = Infinity;
  let max = -Infinity;
  for (const v of data) {
    min = Math.min(min, v);
    max = Math.max(max, v);
  }
  let scale = 1;
  let nudgedMin = min;
  const codes = new Array<number>(data.length).fill(0);
  if (min !== max) {
    scale = (max - min) / qmax;
    const zero = Math.round(-min / scale);
    nudgedMin = -zero * scale;
    const nudgedMax = qmax * scale + nudgedMin;
    data.forEach((v, i) => (codes[i] = Math.round((Math.min(Math.max(v, nudgedMin), nudgedMax) - nudgedMin) / scale)));
  }
  const bytes = Buffer.alloc(data.length * (q === 'uint8' ? 1 : 2));
  codes.forEach((c, i) => (q === 'uint8' ? bytes.writeUInt8(c, i) : bytes.writeUInt16LE(c, 2 * i)));
  return { bytes, quantization: { min: nudgedMin, scale, dtype: q } };
}

/** A plain Conv2D's or DepthwiseConv2dNative's attributes as TensorFlow writes them. */
function convAttrs(padding: string, stride = 1, depthwise = false): Attr {
  return {
    T: A.T,
    data_format: A.s('NHWC'),
    dilations: A.ints([1, 1, 1, 1]),
    explicit_paddings: A.ints([]),
    padding: A.s(padding),
    strides: A.ints([1, stride, stride, 1]),
    ...(depthwise ? {} : { use_cudnn_on_gpu: A.b(true) }),
  };
}

/** FusedBatchNormV3's attributes at inference. */
const BN_V3 = { T: A.T, U: A.T, data_format: A.s('NHWC'), epsilon: A.f(0.0010000000474974513), exponential_avg_factor: A.f(1), is_training: A.b(false) };

const TF2 = { tf: '2.15.0', converter: 'TensorFlow.js Converter v4.22.0', producer: 1645 };

/**
 * A TF 2 Keras model after grappler: fused conv + bias + activation, the converter's fused
 * depthwise, a residual AddV2, MaxPool, GlobalAveragePooling2D as Mean, Dense as _FusedMatMul.
 */
function kerasFused(): GraphWriter {
  const g = new GraphWriter(101);
  const m = 'StatefulPartitionedCall/model';
  const [k1, b1] = g.conv(`${m}/conv1`, 3, 3, 3, 8);
  const [kd, bd] = [g.random(`${m}/dw1/depthwise/ReadVariableOp`, [3, 3, 8, 1], Math.sqrt(6 / 9)), g.random(`${m}/dw1/BiasAdd/ReadVariableOp`, [8], 0.1)];
  const [kp, bp] = g.conv(`${m}/project`, 1, 1, 8, 8);
  const [k2, b2] = g.conv(`${m}/conv2`, 3, 3, 8, 12);
  const axes = g.ints(`${m}/global_average_pooling2d/Mean/reduction_indices`, [1, 2]);
  const w1 = g.random(`${m}/dense/MatMul/ReadVariableOp`, [12, 10], Math.sqrt(6 / 12));
  const d1 = g.random(`${m}/dense/BiasAdd/ReadVariableOp`, [10], 0.1);
  const w2 = g.random(`${m}/logits/MatMul/ReadVariableOp`, [10, 4], Math.sqrt(6 / 10));
  const d2 = g.random(`${m}/logits/BiasAdd/ReadVariableOp`, [4], 0.1);
  const x = g.placeholder('input_1', [-1, 15, 13, 3]);
  const c1 = g.fusedConv(`${m}/conv1/Relu`, '_FusedConv2D', x, [k1, b1], { strides: 2, fused: ['BiasAdd', 'Relu'] });
  const dw = g.fusedConv(`${m}/dw1/Relu6`, 'FusedDepthwiseConv2dNative', c1, [kd, bd], { fused: ['BiasAdd', 'Relu6'] });
  const pr = g.fusedConv(`${m}/project/BiasAdd`, '_FusedConv2D', dw, [kp, bp], { padding: 'VALID', fused: ['BiasAdd'] });
  const add = g.node(`${m}/add/add`, 'AddV2', [c1, pr], { T: A.T });
  const c2 = g.fusedConv(`${m}/conv2/Relu6`, '_FusedConv2D', add, [k2, b2], { strides: 2, padding: 'VALID', fused: ['BiasAdd', 'Relu6'] });
  const pool = g.node(`${m}/pool/MaxPool`, 'MaxPool', [c2], { T: A.T, strides: A.ints([1, 1, 1, 1]), data_format: A.s('NHWC'), explicit_paddings: A.ints([]), ksize: A.ints([1, 2, 2, 1]), padding: A.s('SAME') });
  const gap = g.node(`${m}/global_average_pooling2d/Mean`, 'Mean', [pool, axes], { Tidx: A.type('DT_INT32'), keep_dims: A.b(false), T: A.T });
  const fc = g.fusedMatMul(`${m}/dense/Relu`, gap, w1, d1, ['BiasAdd', 'Relu']);
  const logits = g.fusedMatMul(`${m}/logits/BiasAdd`, fc, w2, d2, ['BiasAdd']);
  const sm = g.node(`${m}/logits/Softmax`, 'Softmax', [logits], { T: A.T });
  g.node('Identity', 'Identity', [sm], { T: A.T });
  return g;
}

/**
 * A TF 1 frozen graph as converter 1.x wrote it (no signature, shards without .bin): unfused
 * Conv2D + BiasAdd + Relu, DepthwiseConv2dNative + FusedBatchNorm + Relu6, ZeroPadding2D as
 * Pad, FusedBatchNormV3 + Elu, Add, AvgPool, Keras 1 Flatten as Shape -> StridedSlice -> Pack ->
 * Reshape, MatMul + BiasAdd + Softmax.
 */
function tf1Frozen(): GraphWriter {
  const g = new GraphWriter(202);
  const x = g.placeholder('input', [-1, 14, 14, 3]);
  const k1 = g.random('conv1/kernel', [3, 3, 3, 6], Math.sqrt(6 / 27));
  const b1 = g.random('conv1/bias', [6], 0.1);
  const c1 = g.node('conv1/Conv2D', 'Conv2D', [x, k1], convAttrs('VALID'));
  const ba = g.node('conv1/BiasAdd', 'BiasAdd', [c1, b1], { T: A.T, data_format: A.s('NHWC') });
  const r1 = g.node('conv1/Relu', 'Relu', [ba], { T: A.T });
  const kd = g.random('dw/depthwise_kernel', [3, 3, 6, 2], Math.sqrt(6 / 9));
  const dw = g.node('dw/depthwise', 'DepthwiseConv2dNative', [r1, kd], convAttrs('SAME', 2, true));
  const bn = (prefix: string, c: number) => [
    g.random(`${prefix}/gamma`, [c], 0.3, 1),
    g.random(`${prefix}/beta`, [c], 0.2),
    g.random(`${prefix}/moving_mean`, [c], 0.3),
    g.random(`${prefix}/moving_variance`, [c], 0.4, 1),
  ];
  const bn1 = g.node('dw_bn/FusedBatchNorm', 'FusedBatchNorm', [dw, ...bn('dw_bn', 12)], { T: A.T, data_format: A.s('NHWC'), epsilon: A.f(0.001), is_training: A.b(false) });
  const r2 = g.node('dw_relu/Relu6', 'Relu6', [bn1], { T: A.T });
  const pads = g.ints('pad/Pad/paddings', [0, 0, 1, 2, 2, 1, 0, 0], [4, 2]);
  const pd = g.node('pad/Pad', 'Pad', [r2, pads], { T: A.T, Tpaddings: A.type('DT_INT32') });
  const k3 = g.random('conv2/kernel', [3, 3, 12, 8], Math.sqrt(6 / 108));
  const c3 = g.node('conv2/Conv2D', 'Conv2D', [pd, k3], convAttrs('VALID'));
  const bn2 = g.node('conv2_bn/FusedBatchNormV3', 'FusedBatchNormV3', [c3, ...bn('conv2_bn', 8)], BN_V3);
  const elu = g.node('conv2_elu/Elu', 'Elu', [bn2], { T: A.T });
  const shift = g.random('shift/y', [8], 0.5);
  const e = g.node('shift/add', 'Add', [elu, shift], { T: A.T });
  const ap = g.node('pool/AvgPool', 'AvgPool', [e], { T: A.T, data_format: A.s('NHWC'), ksize: A.ints([1, 2, 2, 1]), padding: A.s('SAME'), strides: A.ints([1, 2, 2, 1]) });
  const shape = g.node('flatten/Shape', 'Shape', [ap], { T: A.T, out_type: A.type('DT_INT32') });
  const s0 = g.ints('flatten/strided_slice/stack', [0]);
  const s1 = g.ints('flatten/strided_slice/stack_1', [1]);
  const s2 = g.ints('flatten/strided_slice/stack_2', [1]);
  const ss = g.node('flatten/strided_slice', 'StridedSlice', [shape, s0, s1, s2], {
    Index: A.type('DT_INT32'),
    T: A.type('DT_INT32'),
    begin_mask: A.i(0),
    ellipsis_mask: A.i(0),
    end_mask: A.i(0),
    new_axis_mask: A.i(0),
    shrink_axis_mask: A.i(1),
  });
  const minus1 = g.ints('flatten/Reshape/shape/1', [-1], []);
  const packed = g.node('flatten/Reshape/shape', 'Pack', [ss, minus1], { N: A.i(2), T: A.type('DT_INT32'), axis: A.i(0) });
  const flat = g.node('flatten/Reshape', 'Reshape', [ap, packed], { T: A.T, Tshape: A.type('DT_INT32') });
  const w = g.random('dense/kernel', [4 * 4 * 8, 5], Math.sqrt(6 / 128));
  const bd = g.random('dense/bias', [5], 0.1);
  const mm = g.node('dense/MatMul', 'MatMul', [flat, w], { T: A.T, transpose_a: A.b(false), transpose_b: A.b(false) });
  const out = g.node('dense/BiasAdd', 'BiasAdd', [mm, bd], { T: A.T, data_format: A.s('NHWC') });
  g.node('dense/Softmax', 'Softmax', [out], { T: A.T });
  return g;
}

/**
 * The remaining ops, in patterns converted models use: input normalisation (Sub, RealDiv),
 * fused LeakyRelu / Elu / Prelu convolutions, ConcatV2 on channels, a squeeze-and-excitation
 * block (Mean keep_dims, Sigmoid, Mul), clipping with Maximum / Minimum, standalone Selu,
 * Tanh, LeakyRelu, Prelu and Sigmoid, Transposes, a StridedSlice crop with masks, PadV2, Cast,
 * Max and Sum reductions, Pack, ExpandDims / Squeeze, a transposed
 * MatMul, and a NoOp control input.
 */
function opsMix(): GraphWriter {
  const g = new GraphWriter(303);
  const m = 'StatefulPartitionedCall/mix';
  const x = g.placeholder('image', [-1, 12, 12, 3]);
  const mean = g.constant(`${m}/normalize/sub/y`, [3], [0.4, 0.5, 0.6]);
  const std = g.constant(`${m}/normalize/truediv/y`, [3], [0.25, 0.3, 0.2]);
  const sub = g.node(`${m}/normalize/sub`, 'Sub', [x, mean], { T: A.T });
  const nx = g.node(`${m}/normalize/truediv`, 'RealDiv', [sub, std], { T: A.T });
  const [ka, ba] = g.conv(`${m}/conv_a`, 3, 3, 3, 6);
  const a = g.fusedConv(`${m}/conv_a/LeakyRelu`, '_FusedConv2D', nx, [ka, ba], { fused: ['BiasAdd', 'LeakyRelu'], alpha: 0.1 });
  const [kb, bb] = g.conv(`${m}/conv_b`, 3, 3, 6, 6);
  const bv = g.fusedConv(`${m}/conv_b/Elu`, '_FusedConv2D', a, [kb, bb], { fused: ['BiasAdd', 'Elu'] });
  const [kp, bp] = g.conv(`${m}/conv_p`, 1, 1, 6, 6);
  const alpha = g.random(`${m}/conv_p/Neg`, [1, 1, 6], 0.2, 0.25);
  const p = g.fusedConv(`${m}/conv_p/Prelu`, '_FusedConv2D', a, [kp, bp, alpha], { fused: ['BiasAdd', 'Prelu'] });
  const axis3 = g.ints(`${m}/concat/axis`, [-1], []);
  const cat = g.node(`${m}/concat/concat`, 'ConcatV2', [bv, p, axis3], { N: A.i(2), T: A.T, Tidx: A.type('DT_INT32') });
  const seAxes = g.ints(`${m}/se/Mean/reduction_indices`, [1, 2]);
  const sq = g.node(`${m}/se/Mean`, 'Mean', [cat, seAxes], { Tidx: A.type('DT_INT32'), keep_dims: A.b(true), T: A.T });
  const [ks1, bs1] = g.conv(`${m}/se/reduce`, 1, 1, 12, 3);
  const se1 = g.fusedConv(`${m}/se/reduce/Relu`, '_FusedConv2D', sq, [ks1, bs1], { fused: ['BiasAdd', 'Relu'] });
  const [ks2, bs2] = g.conv(`${m}/se/expand`, 1, 1, 3, 12);
  const se2 = g.fusedConv(`${m}/se/expand/BiasAdd`, '_FusedConv2D', se1, [ks2, bs2], { fused: ['BiasAdd'] });
  const gate = g.node(`${m}/se/Sigmoid`, 'Sigmoid', [se2], { T: A.T });
  const se = g.node(`${m}/se/mul`, 'Mul', [cat, gate], { T: A.T });
  // Scaled down, and clipped to bounds the values stay within: clipped or saturated (tanh = 1)
  // values would tie in the max pooling and Max further on.
  const quarter = g.constant(`${m}/scale/mul/y`, [], [0.25]);
  const scaled = g.node(`${m}/scale/mul`, 'Mul', [se, quarter], { T: A.T });
  const lo = g.constant(`${m}/clip/Maximum/y`, [], [-4]);
  const hi = g.constant(`${m}/clip/Minimum/y`, [], [4]);
  const mx = g.node(`${m}/clip/Maximum`, 'Maximum', [scaled, lo], { T: A.T });
  const clip = g.node(`${m}/clip/Minimum`, 'Minimum', [mx, hi], { T: A.T });
  const selu = g.node(`${m}/act/Selu`, 'Selu', [clip], { T: A.T });
  const tanh = g.node(`${m}/act/Tanh`, 'Tanh', [selu], { T: A.T });
  const lrelu = g.node(`${m}/act/LeakyRelu`, 'LeakyRelu', [tanh], { T: A.T, alpha: A.f(0.30000001192092896) });
  const pal = g.random(`${m}/act/prelu/Neg`, [12], 0.2, 0.3);
  const prelu = g.node(`${m}/act/prelu/Prelu`, 'Prelu', [lrelu, pal], { T: A.T });
  const perm = g.ints(`${m}/permute/transpose/perm`, [0, 2, 1, 3]);
  const tr = g.node(`${m}/permute/transpose`, 'Transpose', [prelu, perm], { T: A.T, Tperm: A.type('DT_INT32') });
  const begin = g.ints(`${m}/crop/strided_slice/stack`, [0, 1, 2, 0]);
  const end = g.ints(`${m}/crop/strided_slice/stack_1`, [0, -1, -1, 0]);
  const step = g.ints(`${m}/crop/strided_slice/stack_2`, [1, 1, 1, 1]);
  const crop = g.node(`${m}/crop/strided_slice`, 'StridedSlice', [tr, begin, end, step], {
    Index: A.type('DT_INT32'),
    T: A.T,
    begin_mask: A.i(9),
    ellipsis_mask: A.i(0),
    end_mask: A.i(9),
    new_axis_mask: A.i(0),
    shrink_axis_mask: A.i(0),
  });
  // Back to the image's orientation, so the maps after it have H and W where the image has them.
  const permBack = g.ints(`${m}/permute_back/transpose/perm`, [0, 2, 1, 3]);
  const back = g.node(`${m}/permute_back/transpose`, 'Transpose', [crop, permBack], { T: A.T, Tperm: A.type('DT_INT32') });
  // Top and left: with the max pooling's windows below, no window holds padding alone.
  const pads = g.ints(`${m}/pad/PadV2/paddings`, [0, 0, 1, 0, 1, 0, 0, 0], [4, 2]);
  // Padded cells (-3, sigmoid 0.05) never win the max pooling after: ties would make the
  // gradient depend on how each library breaks them.
  const pv = g.constant(`${m}/pad/PadV2/constant_values`, [], [-3]);
  const padded = g.node(`${m}/pad/PadV2`, 'PadV2', [back, pads, pv], { T: A.T, Tpaddings: A.type('DT_INT32') });
  const sig = g.node(`${m}/act/Sigmoid`, 'Sigmoid', [padded], { T: A.T });
  // Windows that do not overlap, so no value is the maximum twice along the Max below (on
  // ties TF.js gives each tied element the whole gradient, TensorFlow and torch share it).
  const mp = g.node(`${m}/pool/MaxPool`, 'MaxPool', [sig], { T: A.T, data_format: A.s('NHWC'), ksize: A.ints([1, 2, 2, 1]), padding: A.s('SAME'), strides: A.ints([1, 2, 2, 1]) });
  const cast = g.node(`${m}/cast/Cast`, 'Cast', [mp], { SrcT: A.T, DstT: A.T, Truncate: A.b(false) });
  const ax1 = g.ints(`${m}/head/Max/reduction_indices`, [1], []);
  const rmax = g.node(`${m}/head/Max`, 'Max', [cast, ax1], { Tidx: A.type('DT_INT32'), keep_dims: A.b(false), T: A.T });
  const ax1b = g.ints(`${m}/head/Sum/reduction_indices`, [1]);
  const rsum = g.node(`${m}/head/Sum`, 'Sum', [rmax, ax1b], { Tidx: A.type('DT_INT32'), keep_dims: A.b(false), T: A.T });
  const ax1c = g.ints(`${m}/head/Max_1/reduction_indices`, [1]);
  const rmax2 = g.node(`${m}/head/Max_1`, 'Max', [rmax, ax1c], { Tidx: A.type('DT_INT32'), keep_dims: A.b(false), T: A.T });
  const pair = g.node(`${m}/head/stack`, 'Pack', [rsum, rmax2], { N: A.i(2), T: A.T, axis: A.i(2) });
  const ax2 = g.ints(`${m}/head/Sum_1/reduction_indices`, [2]);
  const both = g.node(`${m}/head/Sum_1`, 'Sum', [pair, ax2], { Tidx: A.type('DT_INT32'), keep_dims: A.b(false), T: A.T });
  const dimE = g.ints(`${m}/head/ExpandDims/dim`, [1], []);
  const ex = g.node(`${m}/head/ExpandDims`, 'ExpandDims', [both, dimE], { T: A.T, Tdim: A.type('DT_INT32') });
  const sqz = g.node(`${m}/head/Squeeze`, 'Squeeze', [ex], { T: A.T, squeeze_dims: A.ints([1]) });
  const wt = g.random(`${m}/logits/MatMul/ReadVariableOp`, [3, 12], Math.sqrt(6 / 12));
  const bl = g.random(`${m}/logits/BiasAdd/ReadVariableOp`, [3], 0.1);
  const logits = g.fusedMatMul(`${m}/logits/BiasAdd`, sqz, wt, bl, ['BiasAdd'], true);
  const sm = g.node(`${m}/logits/Softmax`, 'Softmax', [logits], { T: A.T });
  g.node('NoOp', 'NoOp', [], {});
  g.node('Identity', 'Identity', [sm, '^NoOp'], { T: A.T });
  return g;
}

/**
 * A convolution with a batch norm fused in by TF's remapper (_FusedConv2D with
 * [FusedBatchNorm, Relu], 4 arguments), and its unfused twin with the same weights: TF.js
 * cannot run the fused form, so the twin is the oracle for it.
 */
function fusedBatchNorm(fused: boolean): GraphWriter {
  const g = new GraphWriter(404);
  const m = 'StatefulPartitionedCall/bn_model';
  const x = g.placeholder('input_1', [-1, 9, 10, 3]);
  const k = g.random(`${m}/conv/Conv2D/ReadVariableOp`, [3, 3, 3, 5], Math.sqrt(6 / 27));
  const stats = [
    g.random(`${m}/bn/ReadVariableOp`, [5], 0.3, 1),
    g.random(`${m}/bn/ReadVariableOp_1`, [5], 0.2),
    g.random(`${m}/bn/FusedBatchNormV3/ReadVariableOp`, [5], 0.3),
    g.random(`${m}/bn/FusedBatchNormV3/ReadVariableOp_1`, [5], 0.4, 1),
  ];
  const axes = g.ints(`${m}/gap/Mean/reduction_indices`, [1, 2]);
  const w = g.random(`${m}/logits/MatMul/ReadVariableOp`, [5, 3], Math.sqrt(6 / 5));
  const bl = g.random(`${m}/logits/BiasAdd/ReadVariableOp`, [3], 0.1);
  let y: string;
  if (fused) {
    y = g.node(
      `${m}/bn/relu/Relu`,
      '_FusedConv2D',
      [x, k, ...stats],
      {
        T: A.T,
        data_format: A.s('NHWC'),
        strides: A.ints([1, 1, 1, 1]),
        use_cudnn_on_gpu: A.b(true),
        explicit_paddings: A.ints([]),
        num_args: A.i(4),
        epsilon: A.f(0.0010000000474974513),
        padding: A.s('SAME'),
        fused_ops: A.strs(['FusedBatchNorm', 'Relu']),
        dilations: A.ints([1, 1, 1, 1]),
        leakyrelu_alpha: A.f(0.2),
      },
      true,
    );
  } else {
    const c = g.node(`${m}/conv/Conv2D`, 'Conv2D', [x, k], convAttrs('SAME'));
    const bn = g.node(`${m}/bn/FusedBatchNormV3`, 'FusedBatchNormV3', [c, ...stats], BN_V3);
    y = g.node(`${m}/bn/relu/Relu`, 'Relu', [bn], { T: A.T });
  }
  const gap = g.node(`${m}/gap/Mean`, 'Mean', [y, axes], { Tidx: A.type('DT_INT32'), keep_dims: A.b(false), T: A.T });
  const logits = g.fusedMatMul(`${m}/logits/BiasAdd`, gap, w, bl, ['BiasAdd']);
  const sm = g.node(`${m}/logits/Softmax`, 'Softmax', [logits], { T: A.T });
  g.node('Identity', 'Identity', [sm], { T: A.T });
  return g;
}

function write(name: string, g: GraphWriter, meta: Parameters<GraphWriter['finish']>[0], shard: string, q?: Quantization): void {
  const dir = path.join(OUT, name);
  mkdirSync(dir, { recursive: true });
  const { json, bytes } = g.finish(meta, shard, q);
  writeFileSync(path.join(dir, 'model.json'), JSON.stringify(json));
  writeFileSync(path.join(dir, shard), bytes);
  console.log(`${name}: ${(json['modelTopology'] as { node: unknown[] }).node.length} nodes, ${bytes.length} weight bytes`);
}

const sig = (input: string, inputShape: number[], output: string, classes: number) => ({ input, inputShape, output, outputShape: [-1, classes] });
const shard = 'group1-shard1of1.bin';
write('keras_fused', kerasFused(), { ...TF2, signature: sig('input_1', [-1, 15, 13, 3], 'Identity', 4) }, shard);
for (const q of ['uint8', 'uint16', 'float16'] as const) write(`keras_fused_${q}`, kerasFused(), { ...TF2, signature: sig('input_1', [-1, 15, 13, 3], 'Identity', 4) }, shard, q);
write('tf1_frozen', tf1Frozen(), { tf: '1.15.0', converter: 'TensorFlow.js Converter v1.7.4', producer: 0 }, 'group1-shard1of1');
write('ops_mix', opsMix(), { ...TF2, signature: sig('image', [-1, 12, 12, 3], 'Identity', 3) }, shard);
write('fused_bn', fusedBatchNorm(true), { ...TF2, signature: sig('input_1', [-1, 9, 10, 3], 'Identity', 3) }, shard);
write('fused_bn_unfused', fusedBatchNorm(false), { ...TF2, signature: sig('input_1', [-1, 9, 10, 3], 'Identity', 3) }, shard);
