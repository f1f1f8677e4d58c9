/**
 * Make a graph run at any batch size. Exporters often bake batch 1 into constants
 * (`x.view(1, -1)` becomes Reshape to a constant [1, -1]); rewrite those to copy the batch
 * dimension instead, or fail saying which node pins the batch.
 */
import { BatchingError } from '../errors.js';
import { NameScope, producers } from './graph/graph-utils.js';
import { inferShapes, type Known } from './graph/shape-inference.js';
import { int64Tensor, tensorToNumbers } from './graph/tensor-data.js';
import { BATCH, type Graph, type Node } from './graph/types.js';
import { attrInt } from './graph/attributes.js';

/**
 * Give the image input a symbolic batch (and fixed spatial size `spatial` where the file
 * left it open), rewrite batch-1 constants, and return the inferred shapes.
 */
export function makeBatchable(graph: Graph, source: string, fixDims?: (i: number) => number | undefined): Map<string, Known> {
  symbolicBatch(graph, source, fixDims);
  for (let round = 0; round <= graph.nodes.length; round++) {
    const shapes = inferShapes(graph, source);
    if (!rewriteOne(graph, shapes)) {
      check(graph, shapes, source);
      for (const o of graph.outputs) o.shape = shapes.get(o.name)?.shape ?? o.shape;
      return shapes;
    }
  }
  throw new BatchingError(`${source}: could not make the batch dimension variable`);
}

/**
 * Give the image input the symbolic batch `N` (and fixed spatial size where the file left it
 * open), and the shapes the exporter recorded too, so nothing downstream sees the export's
 * batch size as a constant.
 */
export function symbolicBatch(graph: Graph, source: string, fixDims?: (i: number) => number | undefined): void {
  const input = graph.inputs[0];
  if (!input?.shape) throw new BatchingError(`${source}: the model input has no shape`);
  input.shape = input.shape.map((d, i) => (i === 0 ? BATCH : typeof d === 'number' ? d : fixDims?.(i) ?? d));
  // Shapes recorded by the exporter carry its batch size; only ops without a shape rule use them.
  for (const [k, v] of graph.valueInfo) {
    if (v.shape && v.shape.length > 0 && (v.shape[0] === 1 || typeof v.shape[0] === 'string')) {
      graph.valueInfo.set(k, { ...v, shape: [BATCH, ...v.shape.slice(1)] });
    }
  }
}

function rewriteOne(graph: Graph, shapes: Map<string, Known>): boolean {
  const prod = producers(graph);
  for (const node of graph.nodes) {
    if (node.opType !== 'Reshape' || attrInt(node, 'allowzero', 0) === 1) continue;
    const data = shapes.get(node.inputs[0]!)?.shape;
    if (!data || data[0] !== BATCH) continue;
    const shapeName = node.inputs[1]!;
    const init = graph.initializers.get(shapeName);
    const constNode = prod.get(shapeName);
    const t = init ?? (constNode?.opType === 'Constant' && constNode.attributes['value']?.type === 'tensor' ? constNode.attributes['value'].value : undefined);
    if (!t) continue;
    const values = tensorToNumbers(t);
    if (values[0] !== 1) continue;
    // 0 in a Reshape target means "copy this dimension from the input": the batch.
    const fixed = `${shapeName}__batched`;
    graph.initializers.set(fixed, int64Tensor([0, ...values.slice(1)]));
    node.inputs[1] = fixed;
    return true;
  }
  return expandConcatConstant(graph, shapes);
}

/**
 * A batch-1 export folds ViT's `class_token.expand(n, -1, -1)` into a constant [1, 1, D]
 * concatenated with the batched patch tokens: expand the constant to the batch instead.
 */
function expandConcatConstant(graph: Graph, shapes: Map<string, Known>): boolean {
  for (const [at, node] of graph.nodes.entries()) {
    if (node.opType !== 'Concat') continue;
    const batched = node.inputs.find((i) => shapes.get(i)?.shape?.[0] === BATCH);
    const rank = shapes.get(batched ?? '')?.shape?.length ?? 0;
    if (!batched || attrInt(node, 'axis', 0) % rank === 0) continue;
    const k = node.inputs.findIndex((i) => graph.initializers.has(i) && shapes.get(i)?.shape?.[0] === 1);
    if (k < 0) continue;
    const c = node.inputs[k]!;
    const names = new NameScope(graph);
    const [batch, ones, target, out] = ['batch', 'ones', 'target', 'batched'].map((s) => names.fresh(`${c}__${s}`)) as [string, string, string, string];
    graph.initializers.set(ones, int64Tensor(new Array(rank - 1).fill(1)));
    const make = (opType: string, inputs: string[], output: string, attributes: Node['attributes'] = {}): Node => ({ name: names.fresh(`${output}_node`), opType, domain: '', inputs, outputs: [output], attributes });
    graph.nodes.splice(
      at,
      0,
      make('Shape', [batched], batch, { start: { type: 'int', value: 0 }, end: { type: 'int', value: 1 } }),
      make('Concat', [batch, ones], target, { axis: { type: 'int', value: 0 } }),
      make('Expand', [c, target], out),
    );
    node.inputs[k] = out;
    return true;
  }
  return false;
}

function check(graph: Graph, shapes: Map<string, Known>, source: string): void {
  const hasBatch = (name: string) => shapes.get(name)?.shape?.some((d) => typeof d === 'string' && d.split('*').includes(BATCH));
  for (const node of graph.nodes) {
    if (!node.inputs.some((i) => i && hasBatch(i))) continue;
    for (const o of node.outputs) {
      const k = shapes.get(o);
      if (!o || !k?.shape || k.dataType === 'int64' || k.dataType === 'bool') continue;
      const s = k.shape;
      // Attention layers move the batch to another axis ([S, N, D]) or fold it into one ([N*heads, S, d]).
      if (s.some((d, i) => i > 0 && typeof d === 'string' && d.split('*').includes(BATCH))) continue;
      if (s.length > 0 && s[0] !== BATCH && !(typeof s[0] === 'string' && s[0] !== BATCH)) {
        throw new BatchingError(
          `${source}: node '${node.name}' (${node.opType}) turns a batched tensor into shape [${s.join(', ')}], fixing the batch size; re-export the model with a dynamic batch axis`,
        );
      }
    }
  }
}
