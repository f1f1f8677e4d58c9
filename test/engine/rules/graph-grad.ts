/**
 * Multi-node gradient checks for the rule tests: build a small graph by hand (symbolic dims
 * allowed), write its backward pass with `differentiate`, and compare with an element-wise
 * central difference of f(x) = sum_j <seed_j, y_j(x)> run in onnxruntime.
 */
import { differentiate } from '../../../src/engine/autodiff/differentiate.js';
import { cloneGraph } from '../../../src/engine/graph/graph-utils.js';
import { serializeOnnx } from '../../../src/engine/graph/onnx-io.js';
import { inferShapes } from '../../../src/engine/graph/shape-inference.js';
import type { Attribute, Dim, Graph, TensorData } from '../../../src/engine/graph/types.js';
import type { FloatTensor } from '../../../src/engine/runtime/runtime.js';
import { createNodeRuntime } from '../../../src/node/runtime.js';

const runtime = createNodeRuntime({ threads: 1 });

export interface NodeSpec {
  op: string;
  inputs: string[];
  /** Default: one output named after the op and its position. */
  outputs?: string[];
  attrs?: Record<string, Attribute>;
}

export interface GraphSpec {
  /** Fed float32 inputs and their declared (possibly symbolic) shapes. */
  inputs: Record<string, Dim[]>;
  consts?: Record<string, TensorData>;
  nodes: NodeSpec[];
  outputs: string[];
  opset?: number;
}

/** A graph from a spec; output types and shapes come from the engine's shape inference. */
export function buildGraph(spec: GraphSpec): Graph {
  const graph: Graph = {
    name: 'test',
    nodes: spec.nodes.map((n, i) => ({
      name: `${n.op}_${i}`,
      opType: n.op,
      domain: '',
      inputs: n.inputs,
      outputs: n.outputs ?? [`${n.op}_${i}_out`],
      attributes: n.attrs ?? {},
    })),
    initializers: new Map(Object.entries(spec.consts ?? {})),
    inputs: Object.entries(spec.inputs).map(([name, shape]) => ({ name, dataType: 'float32' as const, shape })),
    outputs: [],
    valueInfo: new Map(),
    opset: spec.opset ?? 17,
    otherOpsets: [],
    irVersion: 8,
    producerName: 'test',
  };
  const shapes = inferShapes(graph, 'test');
  graph.outputs = spec.outputs.map((o) => {
    const k = shapes.get(o);
    if (!k) throw new Error(`no shape inferred for ${o}`);
    return { name: o, dataType: k.dataType, shape: k.shape };
  });
  return graph;
}

export function tensor(data: ArrayLike<number>, dims: number[]): FloatTensor {
  return { data: Float32Array.from(data), dims };
}

async function session(graph: Graph) {
  return runtime.create(serializeOnnx(graph));
}

/** Forward outputs of a graph. */
export async function forward(graph: Graph, feeds: Record<string, FloatTensor>): Promise<Record<string, FloatTensor>> {
  const s = await session(graph);
  try {
    return await s.run(feeds);
  } finally {
    await s.release();
  }
}

/** The engine's gradients of sum_j <seeds[y_j], y_j> with respect to each tensor in `wrt`. */
export async function backward(
  graph: Graph,
  feeds: Record<string, FloatTensor>,
  seeds: Record<string, FloatTensor>,
  wrt: string[],
): Promise<Float32Array[]> {
  const shapes = inferShapes(graph, 'test');
  const g = cloneGraph(graph);
  const seedFeeds: Record<string, FloatTensor> = {};
  const seedList = Object.entries(seeds).map(([tensorName, t], j) => {
    const name = `seed_${j}`;
    g.inputs.push({ name, dataType: 'float32', shape: shapes.get(tensorName)!.shape });
    seedFeeds[name] = t;
    return { tensor: tensorName, grad: name };
  });
  const names = differentiate(g, seedList, wrt, { shapes, source: 'test' });
  // Graph outputs must be distinct from inputs and from each other.
  g.outputs = names.map((n, k) => {
    const alias = `grad_out_${k}`;
    g.nodes.push({ name: alias, opType: 'Identity', domain: '', inputs: [n], outputs: [alias], attributes: {} });
    return { name: alias, dataType: 'float32' };
  });
  const out = await forward(g, { ...feeds, ...seedFeeds });
  return names.map((_, k) => out[`grad_out_${k}`]!.data);
}

/** Element-wise central difference of sum_j <seeds[y_j], y_j> with respect to feed `wrt`. */
export async function numericGrad(
  graph: Graph,
  feeds: Record<string, FloatTensor>,
  seeds: Record<string, FloatTensor>,
  wrt: string,
  eps = 1e-2,
): Promise<Float64Array> {
  const s = await session(graph);
  try {
    const f = async (x: Float32Array) => {
      const out = await s.run({ ...feeds, [wrt]: { data: x, dims: feeds[wrt]!.dims } });
      let sum = 0;
      for (const [name, seed] of Object.entries(seeds)) {
        const y = out[name]!.data;
        for (let k = 0; k < y.length; k++) sum += y[k]! * seed.data[k]!;
      }
      return sum;
    };
    const base = feeds[wrt]!.data;
    const grad = new Float64Array(base.length);
    for (let i = 0; i < base.length; i++) {
      const x = Float32Array.from(base);
      x[i] = base[i]! + eps;
      const up = await f(x);
      x[i] = base[i]! - eps;
      grad[i] = (up - (await f(x))) / (2 * eps);
    }
    return grad;
  } finally {
    await s.release();
  }
}

/** Largest |a - b| / max(1, |b|) over two arrays of the same length. */
export function maxRelError(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`length ${a.length} != ${b.length}`);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!) / Math.max(1, Math.abs(b[i]!)));
  return m;
}

/** Check the engine's gradients of every fed input against element-wise central differences. */
export async function checkGraph(
  graph: Graph,
  feeds: Record<string, FloatTensor>,
  seeds: Record<string, FloatTensor>,
  wrt: string[] = Object.keys(feeds),
): Promise<{ maxError: number; grads: Float32Array[] }> {
  const grads = await backward(graph, feeds, seeds, wrt);
  let maxError = 0;
  for (let k = 0; k < wrt.length; k++) {
    const fd = await numericGrad(graph, feeds, seeds, wrt[k]!);
    maxError = Math.max(maxError, maxRelError(grads[k]!, fd));
  }
  return { maxError, grads };
}
