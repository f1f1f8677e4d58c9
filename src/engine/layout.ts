/**
 * Which axis of each 4-D tensor is the batch, which the channels, and so which two are the
 * height and the width (in their stored order).
 *
 * ONNX's Conv, pooling and normalisation ops work on NCHW. Exporters from channels-last
 * frameworks keep their own layout between those ops: tf2onnx puts a Transpose before and
 * after each Conv of a Keras model (and its optimiser leaves some in place), and our TF.js
 * importer puts an NCHW -> NHWC Transpose before a Flatten. A layer's cam must be taken
 * over its real spatial axes, so the engine tracks every 4-D tensor's axis roles: they are
 * set by the ops that define them (a Conv's input and output are NCHW), permuted by
 * Transposes and carried unchanged through element-wise ops, padding, slicing, concatenation
 * and resizing, forward and backward, until nothing changes.
 */
import { attrInts } from './graph/attributes.js';
import type { Known } from './graph/shape-inference.js';
import type { Graph, Node } from './graph/types.js';

/** Axis roles of a 4-D tensor, one letter per axis: 'NCHW', 'NHWC', ... */
export type Layout = string;

export const NCHW: Layout = 'NCHW';
export const NHWC: Layout = 'NHWC';

/** Ops whose 4-D data input and output are NCHW by the ONNX definition. */
const NCHW_OPS = new Set([
  'Conv', 'ConvTranspose', 'ConvInteger', 'QLinearConv', 'MaxPool', 'AveragePool', 'LpPool', 'MaxUnpool',
  'GlobalAveragePool', 'GlobalMaxPool', 'GlobalLpPool', 'BatchNormalization', 'InstanceNormalization', 'LRN',
  'DepthToSpace', 'SpaceToDepth', 'QLinearAveragePool', 'QLinearGlobalAveragePool',
]);

/**
 * Ops whose 4-D output has the layout of their 4-D inputs: element-wise ops (broadcasting a
 * gate or a per-channel constant does not change roles), and ops that move data only along
 * axes (Pad, Slice, Concat, Split, Resize, keepdims reductions).
 */
const KEEP_OPS = new Set([
  'Identity', 'Dropout', 'Cast', 'Relu', 'LeakyRelu', 'PRelu', 'Elu', 'Selu', 'Celu', 'ThresholdedRelu', 'Sigmoid',
  'HardSigmoid', 'HardSwish', 'Tanh', 'Softplus', 'Softsign', 'Mish', 'Gelu', 'Clip', 'Exp', 'Log', 'Abs', 'Neg',
  'Sqrt', 'Reciprocal', 'Erf', 'Floor', 'Ceil', 'Round', 'Sign', 'Sin', 'Cos', 'Not',
  'Add', 'Sub', 'Mul', 'Div', 'Pow', 'Max', 'Min', 'Sum', 'Mean', 'Where', 'Equal', 'Less', 'Greater',
  'LessOrEqual', 'GreaterOrEqual', 'And', 'Or', 'Xor',
  'Pad', 'Slice', 'Concat', 'Split', 'Resize', 'Upsample', 'Tile', 'Expand',
  'QuantizeLinear', 'DequantizeLinear', 'DynamicQuantizeLinear',
  'ReduceMean', 'ReduceMax', 'ReduceMin', 'ReduceSum', 'ReduceProd', 'ReduceL1', 'ReduceL2', 'ReduceLogSumExp',
  'Softmax', 'LogSoftmax', 'LayerNormalization',
]);

/** The permutation that turns a tensor of layout `from` into layout `to` (Transpose perm). */
export function permutation(from: Layout, to: Layout): number[] {
  return [...to].map((role) => from.indexOf(role));
}

/** [N, C, H, W] of a shape stored in `layout`. */
export function toNchwShape<T>(shape: readonly T[], layout: Layout): T[] {
  return permutation(layout, NCHW).map((i) => shape[i]!);
}

function isLayout(s: string): boolean {
  return s.length === 4 && [...NCHW].every((r) => s.includes(r));
}

/**
 * Only where the batch and the channels lie is tracked: the two other axes are H and W in
 * the order they are stored, as the model's own ops and frameworks see them (after a Keras
 * Permute that swaps them, the next pooling's "height" is the first of them).
 */
function canonical(roles: string): Layout {
  let spatial = 0;
  return [...roles].map((r) => (r === 'N' || r === 'C' ? r : 'HW'[spatial++])).join('');
}

/**
 * Axis roles of every 4-D tensor whose roles follow from the graph. `inputLayout`, when
 * given, seeds the graph input; otherwise the input's layout is found from the ops it feeds.
 */
export function inferLayouts(graph: Graph, shapes: Map<string, Known>, inputLayout?: Layout): Map<string, Layout> {
  const layouts = new Map<string, Layout>();
  const rank4 = (t: string) => !!t && !graph.initializers.has(t) && shapes.get(t)?.shape?.length === 4;
  let changed = false;
  const set = (t: string, l: Layout) => {
    if (!rank4(t) || layouts.has(t) || !isLayout(l)) return;
    layouts.set(t, canonical(l));
    changed = true;
  };
  const input = graph.inputs[0]?.name;
  if (input && inputLayout) set(input, inputLayout);

  const forward = (n: Node) => {
    if (NCHW_OPS.has(n.opType)) {
      set(n.inputs[0]!, NCHW);
      for (const o of n.outputs) if (o && rank4(o)) set(o, NCHW);
    } else if (n.opType === 'Transpose') {
      // Without `perm`, Transpose reverses the axes.
      const perm = attrInts(n, 'perm', [3, 2, 1, 0]);
      const x = n.inputs[0]!;
      const y = n.outputs[0]!;
      if (perm.length !== 4) return;
      const lx = layouts.get(x);
      const ly = layouts.get(y);
      // y's axis i is x's axis perm[i].
      if (lx) set(y, perm.map((p) => lx[p]).join(''));
      if (ly) {
        const roles = new Array<string>(4);
        perm.forEach((p, i) => (roles[p] = ly[i]!));
        set(x, roles.join(''));
      }
    } else if (n.opType === 'MatMul' && rank4(n.inputs[0]!) && shapes.get(n.inputs[1]!)?.shape?.length === 2) {
      // A Linear layer on a channels-last map (Swin's MLP, patch merging): the channels stay last.
      const lx = layouts.get(n.inputs[0]!);
      const ly = layouts.get(n.outputs[0]!);
      if (lx?.endsWith('C')) set(n.outputs[0]!, lx);
      if (ly?.endsWith('C')) set(n.inputs[0]!, ly);
    } else if (KEEP_OPS.has(n.opType)) {
      const ins = n.inputs.filter(rank4);
      const known = new Set(ins.map((t) => layouts.get(t)).filter((l): l is Layout => !!l));
      const outs = n.outputs.filter(rank4);
      if (known.size === 1) for (const o of outs) set(o, [...known][0]!);
      const fromOut = new Set(outs.map((o) => layouts.get(o)).filter((l): l is Layout => !!l));
      if (fromOut.size === 1) for (const t of ins) set(t, [...fromOut][0]!);
    }
  };
  for (let round = 0; round < 16; round++) {
    changed = false;
    for (const n of graph.nodes) forward(n);
    for (let i = graph.nodes.length - 1; i >= 0; i--) forward(graph.nodes[i]!);
    if (!changed) break;
  }
  return layouts;
}

/**
 * The layout of the model's image input: from the graph when its ops decide it, else from
 * its shape (a last axis of 1, 3 or 4 channels and a second axis that could not be one).
 */
export function inputLayoutOf(graph: Graph, shapes: Map<string, Known>): Layout {
  const input = graph.inputs[0]!;
  const found = inferLayouts(graph, shapes).get(input.name);
  if (found === NCHW || found === NHWC) return found;
  const s = input.shape ?? [];
  const isChannels = (d: unknown) => d === 1 || d === 3 || d === 4;
  return isChannels(s[3]) && !isChannels(s[1]) ? NHWC : NCHW;
}
