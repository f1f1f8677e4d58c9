/**
 * Bring a graph to opset 17 so the backward pass can use ScatterElements with
 * reduction='add' (opset 16+) for MaxPool. Only operators whose signature or meaning changed
 * between opsets 7 and 17 need rewriting; the rest are the same at every version.
 */
import { ModelFormatError } from '../../errors.js';
import { A, attrFloat, attrFloats, attrInt, attrInts } from './attributes.js';
import { NameScope } from './graph-utils.js';
import { float32Tensor, int64Tensor, tensorToNumbers } from './tensor-data.js';
import type { Graph, Node, Shape } from './types.js';

export const TARGET_OPSET = 17;

/** Rewrite `graph` in place to opset 17. Graphs above 17 are left as they are. */
export function upgradeOpset(graph: Graph, source = 'model', shapeOf: (tensor: string) => Shape | undefined = () => undefined): void {
  const rankOf = (t: string) => shapeOf(t)?.length;
  const from = graph.opset;
  if (from >= TARGET_OPSET) return;
  if (from < 7) throw new ModelFormatError(`${source}: opset ${from} is too old (need 7 or newer); re-export the model`);
  const names = new NameScope(graph);
  const out: Node[] = [];
  const constInts = (base: string, values: number[]) => {
    const n = names.fresh(`${base}_ints`);
    graph.initializers.set(n, int64Tensor(values));
    return n;
  };
  const constFloat = (base: string, v: number) => {
    const n = names.fresh(`${base}_f`);
    graph.initializers.set(n, float32Tensor([v], []));
    return n;
  };
  for (const node of graph.nodes) {
    if (node.domain !== '') {
      out.push(node);
      continue;
    }
    const attrsWithout = (...keys: string[]) => {
      const a = { ...node.attributes };
      for (const k of keys) delete a[k];
      return a;
    };
    switch (node.opType) {
      case 'Squeeze':
      case 'Unsqueeze':
      case 'ReduceSum':
        if (from < 13) {
          const axes = attrInts(node, 'axes');
          node.attributes = attrsWithout('axes');
          if (axes) node.inputs = [node.inputs[0]!, constInts(node.name, axes)];
        }
        break;
      case 'Split':
        if (from < 13) {
          const split = attrInts(node, 'split');
          node.attributes = attrsWithout('split');
          if (split) node.inputs = [node.inputs[0]!, constInts(node.name, split)];
        }
        break;
      case 'Softmax':
      case 'LogSoftmax':
        if (from < 13) {
          // Before 13 these flattened to 2-D at `axis` (default 1). Same as the new meaning
          // when that axis is the last one, which is how classifiers use them.
          const axis = attrInt(node, 'axis', 1);
          const rank = rankOf(node.inputs[0]!);
          if (rank !== undefined && (axis === rank - 1 || axis === -1)) {
            node.attributes = { axis: A.int(-1) };
            break;
          }
          out.push(...softmaxOld(node, names));
          continue;
        }
        break;
      case 'Clip':
        if (from < 11) {
          const min = attrFloat(node, 'min', -3.4028234663852886e38);
          const max = attrFloat(node, 'max', 3.4028234663852886e38);
          node.attributes = {};
          node.inputs = [node.inputs[0]!, constFloat(node.name, min), constFloat(node.name, max)];
        }
        break;
      case 'Pad':
        if (from < 11) {
          const pads = attrInts(node, 'pads', []);
          const value = attrFloat(node, 'value', 0);
          node.attributes = attrsWithout('pads', 'value');
          node.inputs = [node.inputs[0]!, constInts(node.name, pads), constFloat(node.name, value)];
        }
        break;
      case 'Slice':
        if (from < 10) {
          const starts = attrInts(node, 'starts', []);
          const ends = attrInts(node, 'ends', []);
          const axes = attrInts(node, 'axes');
          node.attributes = {};
          node.inputs = [node.inputs[0]!, constInts(node.name, starts), constInts(node.name, ends)];
          if (axes) node.inputs.push(constInts(node.name, axes));
        }
        break;
      case 'Upsample': {
        const scales = attrFloats(node, 'scales');
        const mode = node.attributes['mode']?.type === 'string' ? (node.attributes['mode'].value as string) : 'nearest';
        const scaleInput = scales ? names.fresh(`${node.name}_scales`) : node.inputs[1]!;
        if (scales) graph.initializers.set(scaleInput, float32Tensor(scales, [scales.length]));
        node.opType = 'Resize';
        node.inputs = [node.inputs[0]!, '', scaleInput];
        node.attributes = {
          mode: A.string(mode === 'bilinear' ? 'linear' : mode),
          coordinate_transformation_mode: A.string('asymmetric'),
          nearest_mode: A.string('floor'),
        };
        break;
      }
      case 'Resize':
        if (from < 11) {
          // Opset 10 Resize: (X, scales), asymmetric coordinates.
          const mode = node.attributes['mode'];
          node.inputs = [node.inputs[0]!, '', node.inputs[1]!];
          node.attributes = {
            mode: mode ?? A.string('nearest'),
            coordinate_transformation_mode: A.string('asymmetric'),
            nearest_mode: A.string('floor'),
          };
        }
        break;
      case 'BatchNormalization':
        if (attrInt(node, 'spatial', 1) === 0 && (rankOf(node.inputs[0]!) ?? 2) > 2) {
          // Per-activation statistics (CNTK's BatchNormalization after a dense layer, applied
          // to maps): parameters of shape [C, H, W]; y = x * a + b with a and b folded here.
          out.push(...perActivationNorm(node, graph, names, source, shapeOf(node.inputs[0]!)));
          continue;
        }
        node.attributes = attrsWithout('spatial', 'consumed_inputs', 'is_test');
        node.outputs = node.outputs.slice(0, 1);
        break;
      case 'ImageScaler': {
        // Opset <= 9 (CNTK, winmltools): y = scale * x + bias[c], removed from ONNX in opset 10.
        const bias = attrFloats(node, 'bias') ?? [];
        const scaled = names.fresh(`${node.name}_scaled`);
        const biasName = names.fresh(`${node.name}_bias`);
        graph.initializers.set(biasName, float32Tensor(bias, [1, bias.length, 1, 1]));
        out.push({ name: names.fresh(`${node.name}_mul`), opType: 'Mul', domain: '', inputs: [node.inputs[0]!, constFloat(node.name, attrFloat(node, 'scale', 1))], outputs: [scaled], attributes: {} });
        out.push({ name: node.name, opType: 'Add', domain: '', inputs: [scaled, biasName], outputs: [node.outputs[0]!], attributes: {} });
        continue;
      }
      case 'Dropout':
        if (from < 12) node.attributes = attrsWithout('ratio', 'is_test');
        break;
      default:
        break;
    }
    out.push(node);
  }
  graph.nodes = out;
  graph.opset = TARGET_OPSET;
}

/** BatchNormalization with spatial=0 as Mul and Add by constants (x * a + b). */
function perActivationNorm(node: Node, graph: Graph, names: NameScope, source: string, x: Shape | undefined): Node[] {
  const [scale, bias, mean, variance] = node.inputs.slice(1, 5).map((t) => graph.initializers.get(t));
  if (!scale || !bias || !mean || !variance) {
    throw new ModelFormatError(`${source}: node '${node.name}' (BatchNormalization, spatial=0): its scale, bias, mean and variance must be constants`);
  }
  const eps = attrFloat(node, 'epsilon', 1e-5);
  const [s, b, m, v] = [scale, bias, mean, variance].map((t) => tensorToNumbers(t));
  const a = s!.map((x, i) => x / Math.sqrt(v![i]! + eps));
  const shift = b!.map((x, i) => x - m![i]! * a[i]!);
  // Statistics per activation: [C, H, W], or flat C*H*W (CNTK), laid out as x's [C, H, W].
  const perItem = x?.slice(1);
  if (!perItem || !perItem.every((d): d is number => typeof d === 'number') || perItem.reduce((p, d) => p * d, 1) !== a.length) {
    throw new ModelFormatError(`${source}: node '${node.name}' (BatchNormalization, spatial=0): ${a.length} statistics do not match its input [${x?.join(', ') ?? '?'}]`);
  }
  const shape = [1, ...perItem];
  const aName = names.fresh(`${node.name}_a`);
  const bName = names.fresh(`${node.name}_b`);
  graph.initializers.set(aName, float32Tensor(a, shape));
  graph.initializers.set(bName, float32Tensor(shift, shape));
  const scaled = names.fresh(`${node.name}_scaled`);
  return [
    { name: names.fresh(`${node.name}_mul`), opType: 'Mul', domain: '', inputs: [node.inputs[0]!, aName], outputs: [scaled], attributes: {} },
    { name: node.name, opType: 'Add', domain: '', inputs: [scaled, bName], outputs: [node.outputs[0]!], attributes: {} },
  ];
}

function softmaxOld(node: Node, names: NameScope): Node[] {
  // The old semantics coerce to 2-D at `axis`; wrap the node in Flatten/Reshape so that
  // holds for any rank. For 2-D inputs with axis 1 this is a no-op pair that onnxruntime folds.
  const axis = attrInt(node, 'axis', 1);
  const x = node.inputs[0]!;
  const y = node.outputs[0]!;
  const flat = names.fresh(`${node.name}_flat`);
  const soft = names.fresh(`${node.name}_2d`);
  const shape = names.fresh(`${node.name}_shape`);
  return [
    { name: names.fresh(`${node.name}_flatten`), opType: 'Flatten', domain: '', inputs: [x], outputs: [flat], attributes: { axis: A.int(axis) } },
    { ...node, inputs: [flat], outputs: [soft], attributes: { axis: A.int(1) } },
    { name: names.fresh(`${node.name}_shapeof`), opType: 'Shape', domain: '', inputs: [x], outputs: [shape], attributes: {} },
    { name: names.fresh(`${node.name}_reshape`), opType: 'Reshape', domain: '', inputs: [soft, shape], outputs: [y], attributes: {} },
  ];
}
