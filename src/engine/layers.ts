/**
 * The tensors a user can explain at ("layers"), how they are named, and the default one.
 * A layer can be named by tensor name, node name, or PyTorch module path: torch.onnx names
 * nodes after the module scope that made them (`/layer4/layer4.2/conv1/Conv`), and the
 * output of module `layer4` is the last tensor made inside that scope that is used outside.
 */
import { UnknownLayerError, closeMatches } from '../errors.js';
import { attrFloat } from './graph/attributes.js';
import { constantValue, consumers } from './graph/graph-utils.js';
import type { Known } from './graph/shape-inference.js';
import { BATCH, FLOAT_TYPES, type Graph, type Node, type Shape } from './graph/types.js';

export interface LayerInfo {
  /** Tensor name in the graph. */
  tensor: string;
  /** Name of the node that produces it. */
  node: string;
  /** Operator type of that node. */
  op: string;
  /** Shape, with `N` for the batch. */
  shape: Shape;
  /** Module paths whose output this tensor is (e.g. `layer4`, `layer4.2`), when recorded. */
  modules: string[];
  /** Position in topological order. */
  index: number;
}

/** Module scope of a node from its name: `/layer4/layer4.2/conv1/Conv` -> [layer4, layer4.2, layer4.2.conv1]. */
export function moduleScopes(nodeName: string): string[] {
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

/** Every float tensor computed from the input with a known batched shape, in graph order. */
export function listLayers(graph: Graph, shapes: Map<string, Known>): LayerInfo[] {
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
      layers.push(info);
      byTensor.set(o, info);
    }
  });
  // A module's output: the last tensor made in its scope that something outside reads.
  const cons = consumers(graph);
  const outputs = new Set(graph.outputs.map((o) => o.name));
  const moduleOut = new Map<string, string>();
  for (const node of graph.nodes) {
    const scopes = moduleScopes(node.name);
    if (!scopes.length) continue;
    for (const o of node.outputs) {
      if (!byTensor.has(o)) continue;
      for (const scope of scopes) {
        const usedOutside =
          outputs.has(o) || (cons.get(o) ?? []).some((c) => !moduleScopes(c.name).includes(scope));
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
  const bySuffix = layers.filter((l) => l.modules.some((m) => m.endsWith(`.${name}`)));
  if (bySuffix.length === 1) return bySuffix[0]!;
  const names = new Set<string>();
  for (const l of layers) {
    names.add(l.tensor);
    for (const m of l.modules) names.add(m);
  }
  if (bySuffix.length > 1) {
    const options = bySuffix.flatMap((l) => l.modules.filter((m) => m.endsWith(`.${name}`)));
    throw new UnknownLayerError(`${source}: layer '${name}' is ambiguous; it matches ${options.slice(0, 6).join(', ')}`);
  }
  const close = closeMatches(name, names);
  throw new UnknownLayerError(
    `${source}: no layer named '${name}'${close.length ? `; did you mean ${close.map((c) => `'${c}'`).join(', ')}?` : ''} (list them with \`rsi-grad-cam layers\`)`,
  );
}

const COLLAPSE_OPS = new Set(['GlobalAveragePool', 'GlobalMaxPool', 'Flatten', 'ReduceMean', 'ReduceMax', 'Reshape', 'Gemm', 'MatMul', 'AveragePool', 'MaxPool']);

/**
 * The default target layer: the last 4-D tensor with spatial size > 1 before the classifier
 * head. The head starts at the first node that collapses the 4-D maps (global pooling,
 * flatten) and after which no spatial map is computed again; a squeeze-and-excitation
 * block's global pooling feeds back into spatial maps, so it is not the head.
 */
export function defaultLayer(graph: Graph, layers: LayerInfo[], source = 'model'): LayerInfo {
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
      if (m.inputs.some((t) => isSpatial(t) && !reached.has(t))) {
        feedsBack = true;
        break;
      }
    }
    if (!feedsBack) headIndex = i;
  }
  const before = spatial.filter((l) => l.index < headIndex);
  const pool = before.length ? before : spatial;
  return pool[pool.length - 1]!;
}

function spatialSize(shape: Shape): number {
  const h = shape[2];
  const w = shape[3];
  return typeof h === 'number' && typeof w === 'number' ? h * w : Infinity;
}
