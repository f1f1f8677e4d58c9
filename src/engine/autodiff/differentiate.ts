/**
 * Reverse-mode differentiation that writes the backward pass as ONNX nodes appended to the
 * graph, so onnxruntime runs forward and backward together. Only nodes on a path from a
 * differentiated tensor to a seed get backward nodes; everything else is left as it is.
 */
import { UnsupportedOperatorError, ModelFormatError } from '../../errors.js';
import { NameScope, constantValue, producers } from '../graph/graph-utils.js';
import type { Known } from '../graph/shape-inference.js';
import { float32Tensor, int64Tensor, tensorToNumbers } from '../graph/tensor-data.js';
import { FLOAT_TYPES, type Attribute, type Graph, type Node } from '../graph/types.js';
import type { GradContext, RuleVariants } from './context.js';
import { gradRules } from './rules/index.js';

/** The gradient of the score with respect to `tensor` is the tensor named `grad`. */
export type { RuleVariants } from './context.js';

export interface Seed {
  tensor: string;
  grad: string;
}

export interface DifferentiateOptions {
  /** Shapes from `inferShapes` for the forward graph. */
  shapes: Map<string, Known>;
  /** Used in error messages. */
  source?: string;
  /** Choices between equivalent backward graphs, for backends that lack an operator feature. */
  variants?: RuleVariants;
}

/**
 * Append to `graph` (in place) the nodes computing d(score)/d(t) for every t in `wrt`.
 * Returns the gradient tensor name for each entry of `wrt`, in order.
 */
export function differentiate(graph: Graph, seeds: Seed[], wrt: string[], options: DifferentiateOptions): string[] {
  const { shapes } = options;
  const source = options.source ?? 'model';
  const isFloat = (t: string) => {
    const k = shapes.get(t);
    return !!k && FLOAT_TYPES.has(k.dataType);
  };

  // Tensors that depend on a differentiated tensor.
  const depends = new Set(wrt);
  for (const n of graph.nodes) {
    if (n.inputs.some((i) => depends.has(i))) for (const o of n.outputs) if (o && isFloat(o)) depends.add(o);
  }
  // Tensors from which a seed can be reached.
  const reaches = new Set(seeds.map((s) => s.tensor));
  for (let k = graph.nodes.length - 1; k >= 0; k--) {
    const n = graph.nodes[k]!;
    if (n.outputs.some((o) => reaches.has(o))) for (const i of n.inputs) if (i) reaches.add(i);
  }
  const onPath = graph.nodes.filter(
    (n) => n.outputs.some((o) => reaches.has(o) && depends.has(o)) && n.inputs.some((i) => depends.has(i)),
  );

  const names = new NameScope(graph);
  const prod = producers(graph);
  const contributions = new Map<string, string[]>();
  const summed = new Map<string, string>();
  for (const s of seeds) add(s.tensor, s.grad);

  function add(tensor: string, grad: string) {
    let list = contributions.get(tensor);
    if (!list) contributions.set(tensor, (list = []));
    list.push(grad);
  }
  function emitNode(opType: string, inputs: string[], attrs: Record<string, Attribute> = {}, nOut = 1, hint = opType): string[] {
    const outputs = Array.from({ length: nOut }, () => names.fresh(`grad/${hint}`));
    graph.nodes.push({ name: names.fresh(`grad/${hint}_node`), opType, domain: '', inputs, outputs, attributes: attrs });
    return outputs;
  }
  function gradOf(tensor: string): string | undefined {
    const done = summed.get(tensor);
    if (done) return done;
    const list = contributions.get(tensor);
    if (!list || list.length === 0) return undefined;
    const g = list.length === 1 ? list[0]! : emitNode('Sum', list, {}, 1, `sum_${tensor}`)[0]!;
    summed.set(tensor, g);
    return g;
  }
  function addConst(name: string, t: ReturnType<typeof float32Tensor>): string {
    const n = names.fresh(name);
    graph.initializers.set(n, t);
    return n;
  }

  for (let k = onPath.length - 1; k >= 0; k--) {
    const node = onPath[k]!;
    const outGrads = node.outputs.map((o) => (o ? gradOf(o) : undefined));
    if (outGrads.every((g) => !g)) continue;
    const rule = gradRules[node.opType];
    if (!rule || (node.domain !== '' && node.domain !== 'ai.onnx')) {
      throw new UnsupportedOperatorError(
        `${source}: node '${node.name}' (${node.domain ? node.domain + '.' : ''}${node.opType}) lies on the gradient path but has no gradient rule; supported: ${Object.keys(gradRules).sort().join(', ')}`,
      );
    }
    const ctx = makeContext(node, outGrads);
    rule(ctx);
  }

  function makeContext(node: Node, outGrads: (string | undefined)[]): GradContext {
    const fail = (message: string): never => {
      throw new UnsupportedOperatorError(`${source}: node '${node.name}' (${node.opType}): ${message}`);
    };
    return {
      node,
      opset: graph.opset,
      variants: options.variants ?? {},
      outputGrad: (i) => outGrads[i],
      needsGrad: (i) => !!node.inputs[i] && depends.has(node.inputs[i]!) && isFloat(node.inputs[i]!),
      shape(t) {
        const s = shapes.get(t)?.shape;
        if (!s) throw new ModelFormatError(`${source}: the shape of '${t}' (used by '${node.name}') is unknown`);
        return s;
      },
      dataType(t) {
        const k = shapes.get(t);
        if (!k) throw new ModelFormatError(`${source}: the type of '${t}' (used by '${node.name}') is unknown`);
        return k.dataType;
      },
      constant(t) {
        const v = constantValue(graph, t, prod);
        return v ? tensorToNumbers(v) : undefined;
      },
      emit: (op, inputs, attrs, n) => emitNode(op, inputs, attrs, n, `${node.name}/${op}`),
      op: (op, inputs, attrs) => emitNode(op, inputs, attrs, 1, `${node.name}/${op}`)[0]!,
      constFloat: (values, dims) => addConst(`grad/${node.name}/const`, float32Tensor(values, dims ?? [values.length])),
      constInt64: (values, dims) => addConst(`grad/${node.name}/ints`, int64Tensor(values, dims ?? [values.length])),
      forwardOutput(i) {
        while (node.outputs.length <= i) node.outputs.push('');
        if (!node.outputs[i]) node.outputs[i] = names.fresh(`${node.name}/output_${i}`);
        return node.outputs[i]!;
      },
      setGrad(i, grad) {
        const t = node.inputs[i];
        if (t && depends.has(t)) add(t, grad);
      },
      fail,
    };
  }

  return wrt.map((t) => {
    const g = gradOf(t);
    if (g) return g;
    // No path to the score: the gradient is exactly zero (same shape as t).
    return emitNode('Mul', [t, addConst('grad/zero', float32Tensor([0], []))], {}, 1, `zero_${t}`)[0]!;
  });
}

