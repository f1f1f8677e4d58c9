/**
 * Finite-difference checks for gradient rules: build a one-node graph, let the engine write
 * its backward pass, run both in a real onnxruntime session, and compare <grad, v> with the
 * central difference (f(x + e v) - f(x - e v)) / 2e of f(x) = sum_j <R_j, y_j(x)>.
 */
import { differentiate, type RuleVariants } from '../../src/engine/autodiff/differentiate.js';
import { cloneGraph } from '../../src/engine/graph/graph-utils.js';
import { serializeOnnx } from '../../src/engine/graph/onnx-io.js';
import { inferShapes } from '../../src/engine/graph/shape-inference.js';
import type { Attribute, Graph, TensorData } from '../../src/engine/graph/types.js';
import { createNodeRuntime } from '../../src/node/runtime.js';
import type { FloatTensor } from '../../src/engine/runtime/runtime.js';

const runtime = createNodeRuntime({ threads: 1 });

/** Seeded uniform random numbers in [lo, hi). */
export function rng(seed: number): (lo?: number, hi?: number) => number {
  let s = seed >>> 0 || 1;
  return (lo = -1, hi = 1) => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return lo + ((s >>> 0) / 4294967296) * (hi - lo);
  };
}

export function randomArray(n: number, rand: (lo?: number, hi?: number) => number, lo = -1, hi = 1): Float32Array {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = rand(lo, hi);
  return a;
}

export interface CaseInput {
  shape: number[];
  /** Values; random in [-1, 1) when omitted (floats only). */
  data?: Float32Array | number[];
  /** Becomes an initializer (not fed, not differentiated). */
  constant?: boolean;
  /** For constant integer inputs (axes, shapes, pads). */
  dataType?: 'float32' | 'int64';
  /** Fed but not differentiated. */
  noGrad?: boolean;
}

export interface GradCase {
  op: string;
  attrs?: Record<string, Attribute>;
  inputs: (CaseInput | null)[];
  /** Number of node outputs (default 1). */
  outputs?: number;
  /** Which outputs carry a seed gradient (default: all float outputs). */
  seededOutputs?: number[];
  opset?: number;
  seed?: number;
  /** Backward-graph variants passed to differentiate. */
  variants?: RuleVariants;
}

export interface GradCheckResult {
  /** Worst |fd - analytic| / max(1, |analytic|) over the directions. */
  maxError: number;
  fd: number[];
  analytic: number[];
  /** The analytic gradients, by input index. */
  grads: Map<number, FloatTensor>;
}

/** Build the one-node forward graph of a case. */
export function caseGraph(c: GradCase, rand = rng(c.seed ?? 1)): { graph: Graph; feeds: Record<string, FloatTensor>; fed: number[] } {
  const graph: Graph = {
    name: 'case',
    nodes: [],
    initializers: new Map(),
    inputs: [],
    outputs: [],
    valueInfo: new Map(),
    opset: c.opset ?? 17,
    otherOpsets: [],
    irVersion: 8,
    producerName: 'test',
  };
  const feeds: Record<string, FloatTensor> = {};
  const fed: number[] = [];
  const names = c.inputs.map((inp, i) => {
    if (!inp) return '';
    const name = `x${i}`;
    const n = inp.shape.reduce((a, b) => a * b, 1);
    if (inp.constant) {
      const t: TensorData =
        inp.dataType === 'int64'
          ? { dataType: 'int64', dims: inp.shape, data: BigInt64Array.from((inp.data as number[]).map((v) => BigInt(v))) }
          : { dataType: 'float32', dims: inp.shape, data: inp.data ? Float32Array.from(inp.data) : randomArray(n, rand) };
      graph.initializers.set(name, t);
    } else {
      const data = inp.data ? Float32Array.from(inp.data) : randomArray(n, rand);
      graph.inputs.push({ name, dataType: 'float32', shape: inp.shape });
      feeds[name] = { data, dims: inp.shape };
      if (!inp.noGrad) fed.push(i);
    }
    return name;
  });
  const outs = Array.from({ length: c.outputs ?? 1 }, (_, j) => `y${j}`);
  graph.nodes.push({ name: `${c.op}_node`, opType: c.op, domain: '', inputs: names, outputs: outs, attributes: c.attrs ?? {} });
  const shapes = inferShapes(graph, 'case');
  graph.outputs = outs.map((o) => ({ name: o, dataType: shapes.get(o)!.dataType, shape: shapes.get(o)!.shape }));
  return { graph, feeds, fed };
}

/** Run a graph once. */
export async function runGraph(graph: Graph, feeds: Record<string, FloatTensor>): Promise<Record<string, FloatTensor>> {
  const s = await runtime.create(serializeOnnx(graph));
  try {
    return await s.run(feeds);
  } finally {
    await s.release();
  }
}

/** Check the engine's gradient of a one-node graph against central differences. */
export async function gradCheck(c: GradCase, opts: { eps?: number; directions?: number } = {}): Promise<GradCheckResult> {
  const eps = opts.eps ?? 1e-2;
  const rand = rng((c.seed ?? 1) * 7919);
  const { graph, feeds, fed } = caseGraph(c);
  const shapes = inferShapes(graph, 'case');
  const seeded = (c.seededOutputs ?? graph.outputs.map((_, j) => j)).filter((j) => graph.outputs[j]!.dataType === 'float32');

  // Backward graph: seeds R_j are inputs; outputs are the gradients of every fed input.
  const g = cloneGraph(graph);
  const seedFeeds: Record<string, FloatTensor> = {};
  const seeds = seeded.map((j) => {
    const out = graph.outputs[j]!;
    const dims = out.shape as number[];
    const name = `seed${j}`;
    g.inputs.push({ name, dataType: 'float32', shape: dims });
    seedFeeds[name] = { data: randomArray(dims.reduce((a, b) => a * b, 1), rand), dims };
    return { tensor: out.name, grad: name };
  });
  const wrt = fed.map((i) => `x${i}`);
  const gradNames = differentiate(g, seeds, wrt, { shapes, source: 'case', variants: c.variants });
  g.outputs = gradNames.map((n, k) => ({ name: n, dataType: 'float32', shape: feeds[wrt[k]!]!.dims }));
  // Output names must be unique even if a rule passes a gradient straight through.
  const outNames = new Set<string>();
  g.outputs = g.outputs.map((o, k) => {
    if (!outNames.has(o.name) && !wrt.includes(o.name)) {
      outNames.add(o.name);
      return o;
    }
    const alias = `grad_out_${k}`;
    g.nodes.push({ name: alias, opType: 'Identity', domain: '', inputs: [o.name], outputs: [alias], attributes: {} });
    outNames.add(alias);
    return { ...o, name: alias };
  });
  const gradOut = await runGraph(g, { ...feeds, ...seedFeeds });
  const grads = new Map<number, FloatTensor>();
  fed.forEach((i, k) => grads.set(i, gradOut[g.outputs[k]!.name]!));

  const f = async (shift: Record<string, Float32Array>, scale: number) => {
    const shifted: Record<string, FloatTensor> = {};
    for (const [k, t] of Object.entries(feeds)) {
      const v = shift[k];
      shifted[k] = v ? { data: t.data.map((x, idx) => x + scale * v[idx]!), dims: t.dims } : t;
    }
    const out = await runGraph(graph, shifted);
    let s = 0;
    for (const j of seeded) {
      const y = out[`y${j}`]!.data;
      const r = seedFeeds[`seed${j}`]!.data;
      for (let k = 0; k < y.length; k++) s += y[k]! * r[k]!;
    }
    return s;
  };

  const fd: number[] = [];
  const analytic: number[] = [];
  let maxError = 0;
  for (let d = 0; d < (opts.directions ?? 3); d++) {
    const v: Record<string, Float32Array> = {};
    let dot = 0;
    for (const i of fed) {
      const t = feeds[`x${i}`]!;
      v[`x${i}`] = randomArray(t.data.length, rand);
      const gi = grads.get(i)!.data;
      for (let k = 0; k < gi.length; k++) dot += gi[k]! * v[`x${i}`]![k]!;
    }
    const diff = ((await f(v, eps)) - (await f(v, -eps))) / (2 * eps);
    fd.push(diff);
    analytic.push(dot);
    maxError = Math.max(maxError, Math.abs(diff - dot) / Math.max(1, Math.abs(dot)));
  }
  return { maxError, fd, analytic, grads };
}
