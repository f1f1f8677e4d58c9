/**
 * Keras models that scale pixels themselves: a Rescaling or Normalization layer applied to
 * the input means the model takes raw 0-255 values. The TF.js importer sees the layer class;
 * in a tf2onnx export only the TensorFlow op names tell, scoped by the Keras layer's name
 * (`sequential/rescaling/mul`), so only layers with Keras's own names are recognised there.
 */
import { consumers } from './graph/graph-utils.js';
import type { Graph } from './graph/types.js';
import { moduleScopes, scopeStyle } from './layers.js';

/** Ops that pass the input on unchanged in value (layout, type). */
const PASS = new Set(['Transpose', 'Identity', 'Cast']);

/** The Keras layer that scales the input of a tf2onnx graph (e.g. `sequential/rescaling`), if any. */
export function kerasInputScaling(graph: Graph): string | undefined {
  if (scopeStyle(graph) !== 'tf') return undefined;
  const cons = consumers(graph);
  let frontier = [graph.inputs[0]!.name];
  for (let depth = 0; depth < 4 && frontier.length; depth++) {
    const next: string[] = [];
    for (const t of frontier) {
      for (const n of cons.get(t) ?? []) {
        const layer = moduleScopes(n.name, 'tf').find((s) => /^(rescaling|normalization)(_\d+)?$/.test(s.split('/').pop()!));
        if (layer) return layer;
        if (PASS.has(n.opType)) next.push(...n.outputs);
      }
    }
    frontier = next;
  }
  return undefined;
}
