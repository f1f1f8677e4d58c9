/**
 * Quantized models, as onnxruntime's quantization tools write them, explained through a float
 * twin: the same graph in float, with weights dequantized and every activation quantization
 * passed straight through (the straight-through estimator of quantization-aware training:
 * rounding is ignored, saturation to the representable range kept, which is also how those
 * tools fold a ReLU into a quantized output; the gradient passes inside the range, bounds included). Predictions still come from the
 * quantized model as it is (see Model); the twin gives activations and gradients.
 *
 * Handled: dynamic quantization (DynamicQuantizeLinear, ConvInteger / MatMulInteger followed
 * by Cast and Mul by the scales), QDQ (QuantizeLinear / DequantizeLinear pairs, weights and
 * biases behind DequantizeLinear), QOperator (QLinearConv, QLinearMatMul and com.microsoft's
 * QLinearAdd, QLinearMul, QLinearGlobalAveragePool, QLinearAveragePool, QLinearConcat,
 * QLinearLeakyRelu, QLinearSigmoid, QGemm), and layout ops applied to quantized tensors.
 * Anything else that touches a quantized activation is refused, naming the node: the
 * gradient must never stop silently at an integer tensor.
 */
import { UnsupportedOperatorError } from '../errors.js';
import { A, attrInt } from './graph/attributes.js';
import { evaluators } from './graph/fold.js';
import { NameScope, cloneGraph, constantValue, consumers, producers, pruneUnused } from './graph/graph-utils.js';
import { float32Tensor, tensorToNumbers } from './graph/tensor-data.js';
import type { Attribute, DataType, Graph, Node } from './graph/types.js';

const DEFAULT_OPS = ['QuantizeLinear', 'DequantizeLinear', 'DynamicQuantizeLinear', 'ConvInteger', 'MatMulInteger', 'QLinearConv', 'QLinearMatMul'];
const MICROSOFT_OPS = ['QLinearAdd', 'QLinearMul', 'QLinearGlobalAveragePool', 'QLinearAveragePool', 'QLinearConcat', 'QLinearLeakyRelu', 'QLinearSigmoid', 'QGemm'];

/** Ops that move or select quantized values without arithmetic: the same op on real values. */
const LAYOUT_OPS = new Set([
  'MaxPool', 'Reshape', 'Flatten', 'Transpose', 'Squeeze', 'Unsqueeze', 'Identity', 'Slice', 'Split',
  'Gather', 'Resize', 'Concat', 'DepthToSpace', 'SpaceToDepth', 'Pad', 'Tile', 'Expand',
]);

const INT_RANGES: Partial<Record<DataType, [number, number]>> = {
  uint8: [0, 255],
  int8: [-128, 127],
  uint16: [0, 65535],
  int16: [-32768, 32767],
};

/** The quantized operators a graph uses (empty for a float model), sorted. */
export function quantizedOps(graph: Graph): string[] {
  const found = new Set<string>();
  for (const n of graph.nodes) {
    const domain = n.domain === 'ai.onnx' ? '' : n.domain;
    if (domain === '' && DEFAULT_OPS.includes(n.opType)) found.add(n.opType);
    if (domain === 'com.microsoft' && MICROSOFT_OPS.includes(n.opType)) found.add(`com.microsoft.${n.opType}`);
  }
  return [...found].sort();
}

/** Quantization of an activation: real = (q - zeroPoint) * scale, q in [qmin, qmax]. */
interface QParams {
  scale: number;
  zeroPoint: number;
  /** The representable real range. */
  lo: number;
  hi: number;
}

/**
 * The float twin of a quantized graph (the input is not changed). Tensor names are kept:
 * a quantized activation's name holds its real (dequantized) value in the twin.
 */
export function floatTwin(original: Graph, source = 'model'): Graph {
  const g = cloneGraph(original);
  const names = new NameScope(g);
  const prod = producers(g);
  const cons = consumers(g);
  const quant = new Map<string, QParams>();
  /** Scales and zero points computed at run time by DynamicQuantizeLinear: absent from the twin. */
  const runtimeParams = new Set<string>();
  const absorbed = new Set<Node>();
  const out: Node[] = [];
  const constants = new Map<string, boolean>();

  const isConst = (t: string): boolean => {
    if (!t) return false;
    const known = constants.get(t);
    if (known !== undefined) return known;
    const p = prod.get(t);
    const c = g.initializers.has(t) || (!!p && (p.domain === '' || p.domain === 'ai.onnx') && !!evaluators[p.opType] && p.inputs.every((i) => !i || isConst(i)));
    constants.set(t, c);
    return c;
  };
  const scalar = (node: Node, t: string | undefined, what: string): { value: number; dataType: DataType } | undefined => {
    if (!t) return undefined;
    const v = constantValue(g, t, prod);
    if (!v) fail(node, `its ${what} '${t}' is computed at run time; only constant activation quantization can be passed through`);
    if (v!.data.length !== 1) fail(node, `its ${what} '${t}' has ${v!.data.length} values; per-axis quantization of activations is not supported`);
    return { value: tensorToNumbers(v!)[0]!, dataType: v!.dataType };
  };
  /** Parameters of an activation quantized with `scale` and `zeroPoint` (inputs of `node`). */
  const qparams = (node: Node, scaleName: string, zeroName: string | undefined): QParams => {
    const s = scalar(node, scaleName, 'scale')!.value;
    const z = scalar(node, zeroName, 'zero point');
    const range = INT_RANGES[z?.dataType ?? 'uint8'];
    if (!range) fail(node, `quantization to ${z!.dataType} is not supported`);
    const zp = z?.value ?? 0;
    return { scale: s, zeroPoint: zp, lo: (range![0] - zp) * s, hi: (range![1] - zp) * s };
  };
  const emit = (opType: string, inputs: string[], outputs: string[], name: string, attributes: Record<string, Attribute> = {}) => {
    out.push({ name, opType, domain: '', inputs, outputs, attributes });
  };
  const floatConst = (base: string, v: number) => {
    const n = names.fresh(base);
    g.initializers.set(n, float32Tensor([v], []));
    return n;
  };
  /**
   * Saturation to the quantized range: the straight-through twin of (re)quantization. Written
   * as Where(x < lo, lo, Where(x > hi, hi, x)) rather than Clip so that the gradient passes
   * on the bounds too, as fake quantization's does: a value exactly at the zero point (a
   * ReLU's zeros) is representable, not saturated.
   */
  const clip = (node: Node, x: string, y: string, p: QParams) => {
    const lo = floatConst(`${y}_lo`, p.lo);
    const hi = floatConst(`${y}_hi`, p.hi);
    const [below, above, upper] = [names.fresh(`${y}_below`), names.fresh(`${y}_above`), names.fresh(`${y}_upper`)];
    emit('Greater', [x, hi], [above], `${node.name}_saturate_above`);
    emit('Where', [above, hi, x], [upper], `${node.name}_saturate_high`);
    emit('Less', [x, lo], [below], `${node.name}_saturate_below`);
    emit('Where', [below, lo, upper], [y], `${node.name}_saturate`);
    quant.set(y, p);
  };
  const realName = (y: string) => names.fresh(`${y}_real`);
  /** A constant quantized operand dequantized (folded at load), or a quantized activation's twin. */
  const operand = (node: Node, q: string, scale: string, zero: string | undefined, axis: number): string => {
    if (isConst(q)) {
      const y = names.fresh(`${q}_dequantized`);
      emit('DequantizeLinear', [q, scale, zero ?? ''], [y], `${node.name}/dequantize_${q}`, { axis: A.int(axis) });
      return y;
    }
    if (quant.has(q)) return q;
    return fail(node, `its input '${q}' is neither a constant nor a quantized activation the twin knows`);
  };
  /** A quantized int32 bias: real = b * scaleA * scaleB (folded at load). */
  const bias = (node: Node, b: string, scaleA: string, scaleB: string): string => {
    const f = names.fresh(`${b}_float`);
    const s = names.fresh(`${b}_scale`);
    const y = names.fresh(`${b}_dequantized`);
    emit('Cast', [b], [f], `${node.name}/bias_cast`, { to: A.int(1) });
    emit('Mul', [scaleA, scaleB], [s], `${node.name}/bias_scale`);
    emit('Mul', [f, s], [y], `${node.name}/bias_dequantize`);
    return y;
  };
  const fail = (node: Node, message: string): never => {
    throw new UnsupportedOperatorError(`${source}: node '${node.name}' (${node.domain ? `${node.domain}.` : ''}${node.opType}) of a quantized model: ${message}`);
  };

  for (const node of g.nodes) {
    if (absorbed.has(node)) continue;
    const [i0, i1, i2, i3, i4, i5, i6, i7, i8] = node.inputs;
    const y = node.outputs[0]!;
    const domain = node.domain === 'ai.onnx' ? '' : node.domain;
    const op = domain === 'com.microsoft' ? `com.microsoft.${node.opType}` : domain === '' ? node.opType : '';
    switch (op) {
      case 'QuantizeLinear':
        if (isConst(i0!)) out.push(node);
        else clip(node, i0!, y, qparams(node, i1!, i2));
        break;
      case 'DequantizeLinear':
        if (isConst(i0!)) out.push(node);
        else if (quant.has(i0!)) emit('Identity', [i0!], [y], node.name);
        else fail(node, `it dequantizes '${i0}', which no quantization in the model produced`);
        break;
      case 'DynamicQuantizeLinear':
        emit('Identity', [i0!], [y], node.name);
        quant.set(y, { scale: 1, zeroPoint: 0, lo: -Infinity, hi: Infinity });
        for (const o of node.outputs.slice(1)) if (o) runtimeParams.add(o);
        break;
      case 'ConvInteger':
      case 'MatMulInteger': {
        // onnxruntime writes: Cast(to float) -> Mul by Mul(scale of a, scale of w).
        const cast = only(cons.get(y));
        const mul = cast?.opType === 'Cast' && attrInt(cast, 'to', 0) === 1 ? only(cons.get(cast.outputs[0]!)) : undefined;
        const product = mul?.opType === 'Mul' ? prod.get(mul.inputs[0] === cast!.outputs[0] ? mul.inputs[1]! : mul.inputs[0]!) : undefined;
        const aScale = scaleOf(i0!, prod);
        const wScale = product?.opType === 'Mul' && aScale && product.inputs.includes(aScale) ? product.inputs.find((t) => t !== aScale) ?? aScale : undefined;
        if (!cast || !mul || !wScale || !isConst(wScale)) {
          fail(node, `its output is not followed by the Cast and the Mul by the product of the input and weight scales that onnxruntime writes`);
        }
        if (!quant.has(i0!)) fail(node, `its input '${i0}' is not a quantized activation`);
        const w = operand(node, i1!, wScale!, i3, op === 'ConvInteger' ? 0 : 1);
        const attrs = op === 'ConvInteger' ? node.attributes : {};
        emit(op === 'ConvInteger' ? 'Conv' : 'MatMul', [i0!, w], [mul!.outputs[0]!], node.name, attrs);
        absorbed.add(cast!);
        absorbed.add(mul!);
        break;
      }
      case 'QLinearConv': {
        const w = operand(node, i3!, i4!, i5, 0);
        const x = operand(node, i0!, i1!, i2, 1);
        const inputs = [x, w, ...(i8 ? [bias(node, i8, i1!, i4!)] : [])];
        const conv = realName(y);
        emit('Conv', inputs, [conv], node.name, node.attributes);
        clip(node, conv, y, qparams(node, i6!, i7));
        break;
      }
      case 'QLinearMatMul': {
        const product = realName(y);
        emit('MatMul', [operand(node, i0!, i1!, i2, 1), operand(node, i3!, i4!, i5, 1)], [product], node.name);
        clip(node, product, y, qparams(node, i6!, i7));
        break;
      }
      case 'com.microsoft.QLinearAdd':
      case 'com.microsoft.QLinearMul': {
        const r = realName(y);
        emit(node.opType === 'QLinearAdd' ? 'Add' : 'Mul', [operand(node, i0!, i1!, i2, 1), operand(node, i3!, i4!, i5, 1)], [r], node.name);
        clip(node, r, y, qparams(node, i6!, i7));
        break;
      }
      case 'com.microsoft.QLinearGlobalAveragePool':
      case 'com.microsoft.QLinearAveragePool':
      case 'com.microsoft.QLinearLeakyRelu':
      case 'com.microsoft.QLinearSigmoid': {
        if (attrInt(node, 'channels_last', 0) === 1) fail(node, 'channels_last pooling is not supported');
        const { channels_last: _, ...attrs } = node.attributes;
        const floatOp = node.opType.replace(/^QLinear/, '');
        const r = realName(y);
        emit(floatOp, [operand(node, i0!, i1!, i2, 1)], [r], node.name, attrs);
        clip(node, r, y, qparams(node, i3!, i4));
        break;
      }
      case 'com.microsoft.QLinearConcat': {
        const parts: string[] = [];
        for (let k = 2; k < node.inputs.length; k += 3) parts.push(operand(node, node.inputs[k]!, node.inputs[k + 1]!, node.inputs[k + 2], 1));
        const r = realName(y);
        emit('Concat', parts, [r], node.name, node.attributes);
        clip(node, r, y, qparams(node, i0!, i1));
        break;
      }
      case 'com.microsoft.QGemm': {
        const transB = attrInt(node, 'transB', 0);
        const inputs = [operand(node, i0!, i1!, i2, 1), operand(node, i3!, i4!, i5, transB ? 0 : 1), ...(i6 ? [bias(node, i6, i1!, i4!)] : [])];
        const attrs = { alpha: A.float(node.attributes['alpha']?.type === 'float' ? node.attributes['alpha'].value : 1), transA: A.int(attrInt(node, 'transA', 0)), transB: A.int(transB) };
        if (i7) {
          const r = realName(y);
          emit('Gemm', inputs, [r], node.name, attrs);
          clip(node, r, y, qparams(node, i7, i8));
        } else emit('Gemm', inputs, [y], node.name, attrs);
        break;
      }
      default: {
        const param = node.inputs.find((t) => runtimeParams.has(t));
        if (param) {
          // The scale products of the integer patterns (Mul): the twin does not need them.
          // Anything else reading a run-time scale or zero point has no float meaning.
          if (op !== 'Mul') fail(node, `it reads the run-time quantization parameter '${param}', and the float twin has no rule for that`);
          for (const o of node.outputs) if (o) runtimeParams.add(o);
          break;
        }
        const q = node.inputs.find((t) => quant.has(t));
        if (!q) {
          out.push(node);
          break;
        }
        if (!LAYOUT_OPS.has(op) || node.inputs.some((t, k) => k > 0 && quant.has(t) && op !== 'Concat')) {
          fail(node, `it takes the quantized tensor '${q}', and the float twin has no rule for ${op || node.opType} on quantized values`);
        }
        const p = quant.get(q)!;
        if (op === 'Pad') {
          // The pad value is in the quantized domain (0 when omitted): real (v - zero point) * scale.
          const v = node.inputs[2] ? scalar(node, node.inputs[2], 'pad value')!.value : 0;
          node.inputs = [node.inputs[0]!, node.inputs[1] ?? '', floatConst(`${y}_pad_value`, (v - p.zeroPoint) * p.scale), ...node.inputs.slice(3)];
        }
        out.push(node);
        // MaxPool's Indices and Split's pieces: data outputs keep the input's quantization.
        node.outputs.forEach((o, k) => o && !(op === 'MaxPool' && k === 1) && quant.set(o, p));
      }
    }
  }

  g.nodes = out;
  for (const t of [...quant.keys(), ...runtimeParams]) g.valueInfo.delete(t);
  for (const o of g.outputs) {
    if (runtimeParams.has(o.name)) throw new UnsupportedOperatorError(`${source}: the output '${o.name}' is a run-time quantization parameter; the model has no float twin`);
    if (quant.has(o.name)) o.dataType = 'float32';
  }
  pruneUnused(g);
  return g;
}

function only<T>(list: T[] | undefined): T | undefined {
  return list && list.length === 1 ? list[0] : undefined;
}

/** The scale tensor of quantized activation `t`: DynamicQuantizeLinear's output, or QuantizeLinear's input. */
function scaleOf(t: string, prod: Map<string, Node>): string | undefined {
  const p = prod.get(t);
  if (p?.opType === 'DynamicQuantizeLinear') return p.outputs[1];
  if (p?.opType === 'QuantizeLinear') return p.inputs[1];
  return undefined;
}
