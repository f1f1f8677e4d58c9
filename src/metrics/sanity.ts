/**
 * Model randomisation test (Adebayo, Gilmer, Muelly, Goodfellow, Hardt, Kim, "Sanity Checks
 * for Saliency Maps", NeurIPS 2018, section 3.1, cascading randomisation): the weights are
 * re-drawn at random layer by layer from the top (the logits) down, and each map of the
 * randomised model is compared with the original one by Spearman's rank correlation. A method
 * whose maps depend on what the model learned gives correlations that fall as more layers are
 * randomised; maps that stay alike reflect the input or the architecture, not the model.
 *
 * Parameterised layers here: Conv, ConvTranspose, Gemm and MatMul (weights and biases given
 * as initializers) and BatchNormalization (scale and bias; running statistics kept). Constant
 * Mul / Add nodes (batch norm folded by an exporter) are left as they are. Each tensor is
 * replaced by seeded Gaussian values with mean 0 and the standard deviation of the original
 * tensor (a tensor with zero spread, e.g. zero biases, is kept), so activations keep roughly
 * their scale.
 */
import { cloneGraph } from '../engine/graph/graph-utils.js';
import type { Graph, TensorData } from '../engine/graph/types.js';
import { Prng, mixSeed } from '../prng.js';
import { OptionError } from '../errors.js';
import { gaussian } from './road.js';

/** A layer with learned parameters, in graph order. */
export interface ParameterLayer {
  /** Node name. */
  node: string;
  op: string;
  /** Float32 initializers the layer owns (re-drawn when randomised). */
  tensors: string[];
}

const PARAMETER_INPUTS: Record<string, number[]> = {
  Conv: [1, 2],
  ConvTranspose: [1, 2],
  Gemm: [0, 1, 2],
  MatMul: [0, 1],
  BatchNormalization: [1, 2],
};

/** The layers with float32 initializer parameters, input side first. */
export function parameterLayers(graph: Graph): ParameterLayer[] {
  const out: ParameterLayer[] = [];
  for (const n of graph.nodes) {
    const slots = PARAMETER_INPUTS[n.opType];
    if (!slots) continue;
    const tensors = slots.map((i) => n.inputs[i]).filter((t): t is string => !!t && graph.initializers.get(t)?.dataType === 'float32');
    if (tensors.length) out.push({ node: n.name, op: n.opType, tensors });
  }
  return out;
}

/**
 * How many top layers each stage randomises: stage 1 the top layer alone (the logits, as in
 * the paper's first step), then `stages - 1` more steps spread evenly down to all `layers`.
 */
export function stageCounts(layers: number, stages: number): number[] {
  if (!Number.isInteger(stages) || stages < 1) throw new OptionError(`sanity stages must be a positive integer, got ${stages}`);
  if (layers < 1) throw new OptionError('sanity check: the model has no layer with weights to randomise');
  const counts = new Set<number>([1]);
  for (let k = 1; k < stages; k++) counts.add(Math.max(1, Math.round(1 + (k * (layers - 1)) / (stages - 1))));
  return [...counts].sort((a, b) => a - b);
}

/** A copy of `graph` whose `count` top (output-side) parameter layers hold random weights. */
export function randomizeTopLayers(graph: Graph, layers: readonly ParameterLayer[], count: number, seed = 0): Graph {
  const g = cloneGraph(graph);
  const top = layers.slice(Math.max(0, layers.length - count));
  for (const l of top) {
    for (const t of l.tensors) {
      const orig = g.initializers.get(t)!;
      // The seed depends on the tensor's name, not on the stage: a layer keeps the same random
      // weights in every later stage, so the randomisation truly cascades.
      g.initializers.set(t, randomLike(orig, mixSeed(seed, hashName(t))));
    }
  }
  return g;
}

function randomLike(t: TensorData, seed: number): TensorData {
  const src = t.data as Float32Array;
  let mean = 0;
  for (const v of src) mean += v;
  mean /= src.length || 1;
  let ss = 0;
  for (const v of src) ss += (v - mean) ** 2;
  const sd = Math.sqrt(ss / (src.length || 1));
  if (!(sd > 0)) return t;
  const rng = new Prng(seed);
  const data = new Float32Array(src.length);
  for (let i = 0; i < data.length; i++) data[i] = sd * gaussian(rng);
  return { dataType: 'float32', dims: [...t.dims], data };
}

function hashName(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return h >>> 0;
}
