import type { Graph, Node, TensorData } from './types.js';
import { attrTensor } from './attributes.js';

/** Map from tensor name to the node that produces it. */
export function producers(graph: Graph): Map<string, Node> {
  const m = new Map<string, Node>();
  for (const n of graph.nodes) for (const o of n.outputs) if (o) m.set(o, n);
  return m;
}

/** Map from tensor name to the nodes that read it. */
export function consumers(graph: Graph): Map<string, Node[]> {
  const m = new Map<string, Node[]>();
  for (const n of graph.nodes) {
    for (const i of n.inputs) {
      if (!i) continue;
      let list = m.get(i);
      if (!list) m.set(i, (list = []));
      if (!list.includes(n)) list.push(n);
    }
  }
  return m;
}

/** A copy whose node list, node objects and maps can be changed without touching `graph`. Tensors are shared. */
export function cloneGraph(graph: Graph): Graph {
  return {
    ...graph,
    nodes: graph.nodes.map((n) => ({ ...n, inputs: [...n.inputs], outputs: [...n.outputs], attributes: { ...n.attributes } })),
    initializers: new Map(graph.initializers),
    inputs: graph.inputs.map((v) => ({ ...v })),
    outputs: graph.outputs.map((v) => ({ ...v })),
    valueInfo: new Map(graph.valueInfo),
    otherOpsets: [...graph.otherOpsets],
  };
}

/** Hands out tensor and node names not yet used in the graph. */
export class NameScope {
  private used = new Set<string>();
  private counters = new Map<string, number>();
  constructor(graph: Graph) {
    for (const n of graph.nodes) {
      this.used.add(n.name);
      for (const t of [...n.inputs, ...n.outputs]) this.used.add(t);
    }
    for (const k of graph.initializers.keys()) this.used.add(k);
    for (const v of graph.inputs) this.used.add(v.name);
  }
  fresh(base: string): string {
    let i = this.counters.get(base) ?? 0;
    let name = i === 0 ? base : `${base}_${i}`;
    while (this.used.has(name)) name = `${base}_${++i}`;
    this.counters.set(base, i + 1);
    this.used.add(name);
    return name;
  }
}

/** The constant value of a tensor, if it is an initializer or a Constant node's output. */
export function constantValue(graph: Graph, name: string, prod?: Map<string, Node>): TensorData | undefined {
  const init = graph.initializers.get(name);
  if (init) return init;
  const p = (prod ?? producers(graph)).get(name);
  if (p && p.opType === 'Constant') return constantNodeValue(p);
  return undefined;
}

/** The value of a Constant node (value, value_float(s), value_int(s)); undefined for sparse and string ones. */
export function constantNodeValue(n: Node): TensorData | undefined {
  const t = attrTensor(n, 'value');
  if (t) return t;
  const a = n.attributes;
  const v = a['value_float'] ?? a['value_floats'] ?? a['value_int'] ?? a['value_ints'];
  if (!v) return undefined;
  if (v.type === 'float') return { dataType: 'float32', dims: [], data: Float32Array.of(v.value) };
  if (v.type === 'floats') return { dataType: 'float32', dims: [v.value.length], data: Float32Array.from(v.value) };
  if (v.type === 'int') return { dataType: 'int64', dims: [], data: BigInt64Array.of(BigInt(v.value)) };
  if (v.type === 'ints') return { dataType: 'int64', dims: [v.value.length], data: BigInt64Array.from(v.value.map((x) => BigInt(x))) };
  return undefined;
}

/** The nodes `roots` depend on, in graph order (nodes in topological order), and every tensor they read. */
export function upstream(graph: Graph, roots: Iterable<string>): { nodes: Node[]; tensors: Set<string> } {
  const tensors = new Set(roots);
  const kept: Node[] = [];
  for (let i = graph.nodes.length - 1; i >= 0; i--) {
    const n = graph.nodes[i]!;
    if (n.outputs.some((o) => tensors.has(o))) {
      kept.push(n);
      for (const inp of n.inputs) if (inp) tensors.add(inp);
    }
  }
  return { nodes: kept.reverse(), tensors };
}

/** Remove nodes (and initializers) that no graph output depends on. */
export function pruneUnused(graph: Graph): void {
  const { nodes, tensors: needed } = upstream(graph, graph.outputs.map((o) => o.name));
  graph.nodes = nodes;
  for (const k of [...graph.initializers.keys()]) if (!needed.has(k)) graph.initializers.delete(k);
  graph.inputs = graph.inputs.filter((v) => needed.has(v.name));
}
