/**
 * The tensors a user can explain at ("layers"), how they are named, and the default one.
 * A layer can be named by tensor name, node name, or module path: torch.onnx names nodes
 * after the module scope that made them (`/layer4/layer4.2/conv1/Conv`), tf2onnx after the
 * Keras layer (`sequential/conv2d_1/Relu`), and the output of module `layer4` (or Keras
 * layer `conv2d_1`) is the last tensor made inside that scope that is used outside.
 */
import { UnknownLayerError, closeMatches } from '../errors.js';
import { attrFloat, attrInts } from './graph/attributes.js';
import { constantValue, consumers } from './graph/graph-utils.js';
import type { Known } from './graph/shape-inference.js';
import { BATCH, FLOAT_TYPES, type Graph, type Node, type Shape } from './graph/types.js';
import { toNchwShape, type Layout } from './layout.js';
import type { TokenGrid } from './tokens.js';

export interface LayerInfo {
  /** Tensor name in the graph. */
  tensor: string;
  /** Name of the node that produces it. */
  node: string;
  /** Operator type of that node. */
  op: string;
  /**
   * Shape as the methods see the layer, with `N` for the batch: a 4-D map is always
   * [N, C, H, W], whatever its layout in the graph (an NHWC tensor is exposed transposed).
   */
  shape: Shape;
  /** How a 4-D tensor's axes lie in the graph ('NCHW', 'NHWC'), when the graph says. */
  layout?: Layout;
  /** [height, width] of a 4-D map whose layout is known. */
  spatial?: [number, number];
  /**
   * For a transformer's token layer [N, K + H*W, D] (stored shape): where its tokens lie. Its
   * `shape` is then the map [N, D, H, W] the methods see (see tokens.ts).
   */
  tokens?: TokenGrid;
  /** Module paths (torch) or Keras layer scopes (tf2onnx) whose output this tensor is, when recorded. */
  modules: string[];
  /** Position in topological order. */
  index: number;
}

/** Whose naming convention a graph's node names follow. */
export type ScopeStyle = 'torch' | 'tf';

/** tf2onnx (and keras2onnx) name nodes after TensorFlow op names, scoped by Keras layer. */
export function scopeStyle(graph: Graph): ScopeStyle {
  return /tf2onnx|keras2onnx/i.test(graph.producerName) ? 'tf' : 'torch';
}

/**
 * Module scopes of a node from its name: torch `/layer4/layer4.2/conv1/Conv` -> [layer4,
 * layer4.2, layer4.2.conv1]; tf `model/block1/conv/BiasAdd` -> [model, model/block1, model/block1/conv].
 */
export function moduleScopes(nodeName: string, style: ScopeStyle = 'torch'): string[] {
  if (style === 'tf') {
    const parts = nodeName.split('/').slice(0, -1);
    return parts.map((_, i) => parts.slice(0, i + 1).join('/')).filter(Boolean);
  }
  if (!nodeName.startsWith('/')) return [];
  const parts = nodeName.split('/').filter(Boolean).slice(0, -1);
  const out: string[] = [];
  let path = '';
  for (const p of parts) {
    path = !path || p.startsWith(`${path}.`) ? p : `${path}.${p}`;
    out.push(path);
  }
  return out;
}

/** A Transpose that only changes the layout of a 4-D map (exporters insert them around convs). */
function isLayoutTranspose(n: Node): boolean {
  return n.opType === 'Transpose' && (attrInts(n, 'perm')?.length ?? 4) === 4;
}

/**
 * Every float tensor computed from the input with a known batched shape, in graph order.
 * `layouts` (from inferLayouts) gives 4-D tensors their axis roles.
 */
export function listLayers(graph: Graph, shapes: Map<string, Known>, layouts: Map<string, Layout> = new Map()): LayerInfo[] {
  const dependent = new Set(graph.inputs.map((i) => i.name));
  const layers: LayerInfo[] = [];
  const byTensor = new Map<string, LayerInfo>();
  graph.nodes.forEach((node, index) => {
    if (!node.inputs.some((i) => dependent.has(i))) return;
    for (const o of node.outputs) {
      if (!o) continue;
      dependent.add(o);
      const k = shapes.get(o);
      if (!k?.shape || !FLOAT_TYPES.has(k.dataType) || k.shape[0] !== BATCH) continue;
      if (infinitePadding(graph, node)) continue;
      const info: LayerInfo = { tensor: o, node: node.name, op: node.opType, shape: k.shape, modules: [], index };
      const layout = layouts.get(o);
      if (layout && k.shape.length === 4) {
        info.layout = layout;
        info.shape = toNchwShape(k.shape, layout);
        const [, , h, w] = info.shape;
        if (typeof h === 'number' && typeof w === 'number') info.spatial = [h, w];
      }
      layers.push(info);
      byTensor.set(o, info);
    }
  });
  // A module's output: the last tensor made in its scope that something outside reads. A
  // layout Transpose is seen through: the map it transposes is the output, and what reads
  // the transposed copy reads the map.
  const style = scopeStyle(graph);
  const cons = consumers(graph);
  const readers = (t: string): Node[] =>
    (cons.get(t) ?? []).flatMap((c) => (isLayoutTranspose(c) ? [c, ...readers(c.outputs[0]!)] : [c]));
  const outputs = new Set(graph.outputs.map((o) => o.name));
  const moduleOut = new Map<string, string>();
  for (const node of graph.nodes) {
    const scopes = moduleScopes(node.name, style);
    if (!scopes.length || isLayoutTranspose(node)) continue;
    for (const o of node.outputs) {
      if (!byTensor.has(o)) continue;
      for (const scope of scopes) {
        const usedOutside =
          outputs.has(o) || readers(o).some((c) => !isLayoutTranspose(c) && !moduleScopes(c.name, style).includes(scope));
        if (usedOutside) moduleOut.set(scope, o);
      }
    }
  }
  for (const [scope, tensor] of moduleOut) byTensor.get(tensor)!.modules.push(scope);
  return layers;
}

/**
 * A Pad whose constant is infinite (timm's MaxPool2dSame pads with -inf before pooling): its
 * output's border is -inf, so no cam can be computed there; it is not listed as a layer.
 */
export function infinitePadding(graph: Graph, node: Node): boolean {
  if (node.opType !== 'Pad') return false;
  const value = node.inputs[2] ? constantValue(graph, node.inputs[2]) : undefined;
  const v = value ? Number(value.data[0]) : attrFloat(node, 'value', 0);
  return !Number.isFinite(v);
}

/**
 * Find a layer by tensor name, node name or module path (a unique dotted suffix of a module
 * path is accepted too). Unknown and ambiguous names raise UnknownLayerError with close matches.
 */
export function resolveLayer(layers: LayerInfo[], name: string, source = 'model'): LayerInfo {
  const exact = layers.filter((l) => l.tensor === name);
  if (exact.length) return exact[0]!;
  const byNode = layers.filter((l) => l.node === name);
  if (byNode.length) return byNode[0]!;
  const byModule = layers.filter((l) => l.modules.includes(name));
  if (byModule.length === 1) return byModule[0]!;
  const isSuffix = (m: string) => m.endsWith(`.${name}`) || m.endsWith(`/${name}`);
  const bySuffix = layers.filter((l) => l.modules.some(isSuffix));
  if (bySuffix.length === 1) return bySuffix[0]!;
  const names = new Set<string>();
  for (const l of layers) {
    names.add(l.tensor);
    for (const m of l.modules) names.add(m);
  }
  if (bySuffix.length > 1) {
    const options = bySuffix.flatMap((l) => l.modules.filter(isSuffix));
    throw new UnknownLayerError(`${source}: layer '${name}' is ambiguous; it matches ${options.slice(0, 6).join(', ')}`);
  }
  const close = closeMatches(name, names);
  throw new UnknownLayerError(
    `${source}: no layer named '${name}'${close.length ? `; did you mean ${close.map((c) => `'${c}'`).join(', ')}?` : ''} (list them with \`rsi-grad-cam layers\`)`,
  );
}

const COLLAPSE_OPS = new Set(['GlobalAveragePool', 'GlobalMaxPool', 'Flatten', 'ReduceMean', 'ReduceMax', 'Reshape', 'Gemm', 'MatMul', 'AveragePool', 'MaxPool', 'Gather']);

/** Ops that only move a map's elements around: their output is never the default layer. */
const LAYOUT_OPS = new Set(['Transpose', 'Reshape', 'Flatten', 'Squeeze', 'Unsqueeze', 'Identity']);

/**
 * The default target layer: the last spatial map (4-D, H x W > 1) before the classifier
 * head, in the model's own terms: a module output (torch), a Keras layer output (`named`:
 * tensors named after Keras layers by an importer; tf2onnx scopes) when the model names its
 * layers, and never a Transpose or Reshape that only changes the layout. The head starts at
 * the first node that collapses the maps (global pooling, flatten) and after which no
 * spatial map is computed again; a squeeze-and-excitation block's global pooling feeds back
 * into spatial maps, so it is not the head.
 */
export function defaultLayer(graph: Graph, layers: LayerInfo[], source = 'model', named: ReadonlySet<string> = new Set()): LayerInfo {
  const spatial = layers.filter((l) => l.shape.length === 4 && spatialSize(l.shape) > 1);
  if (!spatial.length) {
    throw new UnknownLayerError(`${source}: the model has no 4-D layer with spatial size > 1 to explain at (is it a convolutional network?)`);
  }
  const byTensor = new Map(layers.map((l) => [l.tensor, l]));
  const isSpatial = (t: string) => {
    const l = byTensor.get(t);
    return !!l && l.shape.length === 4 && spatialSize(l.shape) > 1;
  };
  let headIndex = Infinity;
  for (let i = 0; i < graph.nodes.length && headIndex === Infinity; i++) {
    const n = graph.nodes[i]!;
    if (!COLLAPSE_OPS.has(n.opType) || !n.inputs.some(isSpatial) || n.outputs.some(isSpatial)) continue;
    // Is this node's output combined with spatial maps again (a gate, as in squeeze-and-
    // excitation)? Tensors made from the pooled output alone (a transposed [N, 1, 1, C]) are not.
    const reached = new Set(n.outputs);
    let feedsBack = false;
    for (const m of graph.nodes.slice(i + 1)) {
      if (!m.inputs.some((t) => reached.has(t))) continue;
      for (const o of m.outputs) reached.add(o);
      // A transformer's patch embedding flattens its map into tokens, which are maps again.
      if (m.inputs.some((t) => isSpatial(t) && !reached.has(t)) || m.outputs.some((o) => byTensor.get(o)?.tokens)) {
        feedsBack = true;
        break;
      }
    }
    if (!feedsBack) headIndex = i;
  }
  // Maps whose layout the graph gives (all of them in a convolutional network) ...
  const known = spatial.filter((l) => l.layout !== undefined || l.tokens);
  const maps = (known.length ? known : spatial).filter((l) => !LAYOUT_OPS.has(l.op));
  const before = maps.filter((l) => l.index < headIndex);
  // ... and among them the model's own layer outputs, when it names its layers.
  const own = before.filter((l) => l.modules.length > 0 || named.has(l.tensor));
  const pool = own.length ? own : before.length ? before : maps.length ? maps : spatial;
  const last = pool[pool.length - 1]!;
  return last.tokens?.drop ? beforeLastAttention(graph, pool) ?? last : last;
}

/**
 * A classifier that reads its class token: after its last attention, the other tokens never
 * reach the score, so a cam there is blank. pytorch-grad-cam explains ViTs at the input norm
 * of the last block (`blocks[-1].norm1`, torchvision's `encoder_layer_11.ln_1`): the last
 * token layer before the last product of two activations (attention scores), a norm if any.
 */
function beforeLastAttention(graph: Graph, pool: LayerInfo[]): LayerInfo | undefined {
  let mix = -1;
  graph.nodes.forEach((n, i) => {
    if (n.opType === 'MatMul' && n.inputs.every((t) => !graph.initializers.has(t))) mix = i;
  });
  const candidates = pool.filter((l) => l.tokens && l.index < mix);
  const isNorm = (l: LayerInfo) => l.op === 'LayerNormalization' || l.modules.some((m) => /(^|[./])(ln|norm)[_\d]*$/i.test(m));
  const norms = candidates.filter(isNorm);
  return norms[norms.length - 1] ?? candidates[candidates.length - 1];
}

function spatialSize(shape: Shape): number {
  const h = shape[2];
  const w = shape[3];
  return typeof h === 'number' && typeof w === 'number' ? h * w : Infinity;
}
