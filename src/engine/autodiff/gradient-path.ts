/**
 * Before differentiating: can any gradient reach each `wrt` tensor from the score? The
 * backward pass follows float tensors only, so a score that depends on a layer only through
 * an op whose output is not float (ArgMax, TopK's indices, NonMaxSuppression, Shape, a Cast
 * to int, a comparison, ConvInteger) - or not at all - has a gradient of exactly zero there,
 * and every cam at that layer would be blank. Those are refused with the op named, as are
 * float ops on the way that are piecewise constant (Round, Floor, Ceil, Sign: zero gradient
 * almost everywhere) and that have no gradient rule.
 */
import { OptionError, UnsupportedOperatorError } from '../../errors.js';
import type { Known } from '../graph/shape-inference.js';
import { FLOAT_TYPES, type Graph, type Node } from '../graph/types.js';
import { gradRules } from './rules/index.js';

/** Float ops whose gradient is zero wherever it is defined. */
const PIECEWISE_CONSTANT = new Set(['Round', 'Floor', 'Ceil', 'Sign']);

/**
 * Throws when the gradient of `seed` cannot reach a tensor of `wrt` (OptionError when the
 * seed does not depend on it at all, UnsupportedOperatorError naming the op that blocks it).
 */
export function checkGradientPath(graph: Graph, seed: string, wrt: readonly string[], shapes: Map<string, Known>, source = 'model'): void {
  const isFloat = (t: string) => FLOAT_TYPES.has(shapes.get(t)?.dataType as never);
  // Tensors from which the seed can be reached at all.
  const reaches = new Set([seed]);
  for (let k = graph.nodes.length - 1; k >= 0; k--) {
    const n = graph.nodes[k]!;
    if (n.outputs.some((o) => reaches.has(o))) for (const i of n.inputs) if (i) reaches.add(i);
  }
  for (const t of wrt) {
    if (t === seed) continue;
    if (!reaches.has(t)) {
      throw new OptionError(`${source}: the score does not depend on layer '${t}' in this graph, so its gradient (and every cam there) would be zero`);
    }
    // Tensors a gradient from the seed can flow back to t through (float all the way).
    const floatPath = new Set([t]);
    const blocked: { node: Node; output: string }[] = [];
    for (const n of graph.nodes) {
      if (!n.inputs.some((i) => floatPath.has(i))) continue;
      for (const o of n.outputs) {
        if (!o || !reaches.has(o)) continue;
        if (!isFloat(o)) {
          blocked.push({ node: n, output: o });
          continue;
        }
        if (PIECEWISE_CONSTANT.has(n.opType) && !gradRules[n.opType]) {
          throw new UnsupportedOperatorError(
            `${source}: node '${n.name}' (${n.opType}) lies between layer '${t}' and the score; its gradient is zero almost everywhere, so every cam at this layer would be zero`,
          );
        }
        floatPath.add(o);
      }
    }
    if (!floatPath.has(seed)) {
      const first = blocked[0];
      if (!first) throw new OptionError(`${source}: no gradient path from the score to layer '${t}'`);
      const type = shapes.get(first.output)?.dataType ?? 'of unknown type';
      const others = [...new Set(blocked.slice(1).map((b) => `'${b.node.name}' (${b.node.opType})`))].slice(0, 3);
      throw new UnsupportedOperatorError(
        `${source}: the score depends on layer '${t}' only through node '${first.node.name}' (${first.node.opType}), whose output '${first.output}' is ${type}: ` +
          `no gradient flows through it, so every cam at this layer would be zero${others.length ? ` (also blocked at ${others.join(', ')})` : ''}`,
      );
    }
  }
}
