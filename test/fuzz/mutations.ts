/**
 * Mutations of fixture models for the fuzz test: byte-level damage to any file (truncation,
 * bit flips, zeroed ranges), structural damage to ONNX graphs (done on the parsed graph IR
 * and serialised again, so it reaches deep code: removed initializers, dangling inputs,
 * unknown ops, cycles, duplicate outputs, wrong Conv weights, kernel_shape mismatches, zero
 * strides, absurd input shapes, ...) and to TF.js model.json topologies and manifests.
 *
 * A case is plain data (fixture name + mutation descriptors with parameters in [0, 1)), so
 * fast-check can generate and shrink it and a failure prints a case that reproduces.
 */
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import fc from 'fast-check';
import { parseOnnx, serializeOnnx } from '../../src/engine/graph/onnx-io.js';
import { float32Tensor, int64Tensor } from '../../src/engine/graph/tensor-data.js';
import type { Attribute, Graph, Node } from '../../src/engine/graph/types.js';
import { FIXTURES } from '../helpers/fixtures.js';

export const TFJS_FIXTURES = path.resolve(FIXTURES, '..', 'tfjs');
export const TFJS_GRAPH_FIXTURES = path.resolve(FIXTURES, '..', 'tfjs-graph');

/** A fixture model as files: name -> bytes; `entry` is the file loadModel opens. */
export interface ModelFiles {
  kind: 'onnx' | 'tfjs';
  entry: string;
  files: Map<string, Uint8Array<ArrayBufferLike>>;
}

export const ONNX_SEEDS = [
  'vgg', 'resnet', 'mobilenetv2', 'densenet', 'variety_nhwc', 'variety_opset11_static', 'variety_upsample', 'variety_silu', 'variety_avgpool_head',
  'variety_opset12', 'variety_opset9', 'variety_opset7', 'variety_pad', 'variety_pad_same', 'quantized/qdq', 'quantized/qoperator', 'quantized/dynamic',
  // tf2onnx's NHWC patterns (Transposes around each conv, Flatten head, in-model rescaling), one channel, opset 17.
  'tf2onnx_transposes', 'tf2onnx_flatten', 'tf2onnx_rescaling', 'variety_gray', 'variety_opset17',
];
/** TF.js Layers models (test/fixtures/tfjs) and graph models (test/fixtures/tfjs-graph). */
export const TFJS_SEEDS = ['small', 'seq', 'graph/keras_fused', 'graph/fused_bn'];
export const SEEDS = [...ONNX_SEEDS.map((s) => `onnx:${s}`), ...TFJS_SEEDS.map((s) => `tfjs:${s}`)];

const cache = new Map<string, ModelFiles>();

export function seedFiles(seed: string): ModelFiles {
  let m = cache.get(seed);
  if (m) return m;
  const [kind, name] = seed.split(':') as ['onnx' | 'tfjs', string];
  if (kind === 'onnx') {
    m = { kind, entry: 'model.onnx', files: new Map([['model.onnx', new Uint8Array(readFileSync(path.join(FIXTURES, `${name}.onnx`)))]]) };
  } else {
    const dir = name.startsWith('graph/') ? path.join(TFJS_GRAPH_FIXTURES, name.slice(6)) : path.join(TFJS_FIXTURES, name);
    m = { kind, entry: 'model.json', files: new Map(readdirSync(dir).sort().map((f) => [f, new Uint8Array(readFileSync(path.join(dir, f)))])) };
  }
  cache.set(seed, m);
  return m;
}

export const BYTE_KINDS = ['truncate', 'flip', 'zero'] as const;
export const GRAPH_KINDS = [
  'removeInitializer', 'danglingInput', 'unknownOp', 'cycle', 'duplicateOutput', 'convWeightShape', 'kernelShape', 'zeroStrides',
  'absurdInputShape', 'badPads', 'badGroup', 'dropAttribute', 'attributeType', 'dropNode', 'swapInputs', 'initializerDims',
  'initializerType', 'opset', 'renameOutput', 'reshapeTarget', 'resizeScales', 'badAxis', 'unknownAttribute', 'extraInput', 'nonFinite',
] as const;
export const JSON_KINDS = [
  'removeLayer', 'danglingInbound', 'unknownClass', 'cycle', 'duplicateName', 'kernelSize', 'zeroStrides', 'filters', 'absurdInputShape',
  'removeWeight', 'weightShape', 'weightDtype', 'deleteKey', 'replaceValue', 'removePath', 'unknownActivation', 'badPadding', 'swapWeights',
  'nodeOp', 'nodeInput', 'nodeCycle', 'nodeAttr', 'nodeName',
] as const;

export type Mutation =
  | { kind: (typeof BYTE_KINDS)[number]; file: number; at: number; size: number }
  | { kind: 'graph'; op: (typeof GRAPH_KINDS)[number]; pick: number; value: number }
  | { kind: 'json'; op: (typeof JSON_KINDS)[number]; pick: number; value: number };

export interface FuzzCase {
  seed: string;
  mutations: Mutation[];
}

// Uniform in [0, 1) (doubles would be uniform over their bit patterns, almost all tiny), without
// fast-check's bias to the ends, which would mostly pick the first node; shrinks towards 0.
const unit = fc.noBias(fc.integer({ min: 0, max: 2 ** 30 - 1 })).map((i) => i / 2 ** 30);

const byteMutation: fc.Arbitrary<Mutation> = fc.record({ kind: fc.constantFrom(...BYTE_KINDS), file: unit, at: unit, size: unit });
const graphMutation: fc.Arbitrary<Mutation> = fc.record({ kind: fc.constant('graph' as const), op: fc.constantFrom(...GRAPH_KINDS), pick: unit, value: unit });
const jsonMutation: fc.Arbitrary<Mutation> = fc.record({ kind: fc.constant('json' as const), op: fc.constantFrom(...JSON_KINDS), pick: unit, value: unit });

/** Cases: a seed and one to three mutations; structural mutations are the more frequent. */
export const caseArbitrary: fc.Arbitrary<FuzzCase> = fc.oneof(
  fc.record({
    seed: fc.constantFrom(...ONNX_SEEDS.map((s) => `onnx:${s}`)),
    mutations: fc.array(fc.oneof({ arbitrary: graphMutation, weight: 3 }, { arbitrary: byteMutation, weight: 1 }), { minLength: 1, maxLength: 3 }),
  }),
  fc.record({
    seed: fc.constantFrom(...TFJS_SEEDS.map((s) => `tfjs:${s}`)),
    mutations: fc.array(fc.oneof({ arbitrary: jsonMutation, weight: 3 }, { arbitrary: byteMutation, weight: 1 }), { minLength: 1, maxLength: 3 }),
  }),
);

/** Apply a case's mutations to copies of its seed's files. */
export function mutate(c: FuzzCase): ModelFiles {
  const seed = seedFiles(c.seed);
  const files = new Map<string, Uint8Array<ArrayBufferLike>>([...seed.files].map(([k, v]) => [k, new Uint8Array(v)]));
  const m: ModelFiles = { ...seed, files };
  for (const mu of c.mutations) {
    if (mu.kind === 'graph') {
      if (m.kind !== 'onnx') continue;
      let g: Graph;
      try {
        g = parseOnnx(files.get(m.entry)!, 'fuzz');
      } catch {
        continue; // already broken at the byte level
      }
      graphMutations[mu.op](g, mu.pick, mu.value);
      files.set(m.entry, serializeOnnx(g));
    } else if (mu.kind === 'json') {
      if (m.kind !== 'tfjs') continue;
      let json: Json;
      try {
        json = JSON.parse(new TextDecoder().decode(files.get(m.entry)!)) as Json;
      } catch {
        continue;
      }
      jsonMutations[mu.op](json, mu.pick, mu.value, files);
      files.set(m.entry, new TextEncoder().encode(JSON.stringify(json)));
    } else {
      const names = [...files.keys()];
      const name = names[Math.floor(mu.file * names.length)]!;
      files.set(name, byteMutation_(files.get(name)!, mu));
    }
  }
  return m;
}

function byteMutation_(b: Uint8Array<ArrayBufferLike>, mu: { kind: string; at: number; size: number }): Uint8Array {
  const at = Math.floor(mu.at * b.length);
  if (mu.kind === 'truncate') return b.slice(0, at);
  const out = new Uint8Array(b);
  if (mu.kind === 'flip') {
    // 1 to 8 flipped bits near `at`.
    const n = 1 + Math.floor(mu.size * 8);
    for (let i = 0; i < n && b.length > 0; i++) {
      const k = (at + i * 7) % b.length;
      out[k] = out[k]! ^ (1 << ((i * 3 + Math.floor(mu.size * 97)) % 8));
    }
  } else {
    const len = 1 + Math.floor(mu.size * mu.size * 256);
    out.fill(0, at, Math.min(b.length, at + len));
  }
  return out;
}

// ---------------------------------------------------------------------------------------
// ONNX graph mutations

const pickOf = <T>(list: readonly T[], u: number): T | undefined => (list.length ? list[Math.floor(u * list.length)] : undefined);
const absurd = [0, 1, 2, 100_000, 2 ** 31, 3e9, 65_537];

function tensorNames(g: Graph): string[] {
  return [...g.inputs.map((i) => i.name), ...g.initializers.keys(), ...g.nodes.flatMap((n) => n.outputs)];
}

const graphMutations: Record<(typeof GRAPH_KINDS)[number], (g: Graph, pick: number, value: number) => void> = {
  removeInitializer(g, pick) {
    const k = pickOf([...g.initializers.keys()], pick);
    if (k) g.initializers.delete(k);
  },
  danglingInput(g, pick, value) {
    const n = pickOf(g.nodes, pick);
    if (n && n.inputs.length) n.inputs[Math.floor(value * n.inputs.length)] = 'fuzz/no_such_tensor';
  },
  unknownOp(g, pick, value) {
    const n = pickOf(g.nodes, pick);
    if (n) n.opType = pickOf(['FuzzOp', 'Foo', 'Acos', 'Einsum', 'NonZero', 'TopK', ''], value)!;
  },
  cycle(g, pick, value) {
    // An earlier node reads a later node's output.
    const i = Math.floor(pick * g.nodes.length);
    const later = g.nodes.slice(i + 1);
    const src = pickOf(later, value);
    const n = g.nodes[i];
    if (n && src && n.inputs.length) n.inputs[0] = src.outputs[0]!;
  },
  duplicateOutput(g, pick, value) {
    const n = pickOf(g.nodes, pick);
    const other = pickOf(tensorNames(g), value);
    if (n && other) n.outputs[0] = other;
  },
  convWeightShape(g, pick, value) {
    const convs = g.nodes.filter((n) => n.opType === 'Conv' && g.initializers.has(n.inputs[1]!));
    const n = pickOf(convs, pick);
    if (!n) return;
    const w = g.initializers.get(n.inputs[1]!)!;
    const dims = [...w.dims];
    const variant = Math.floor(value * 5);
    if (variant === 0) dims[1] = dims[1]! + 1; // input channels
    else if (variant === 1) dims[0] = dims[0]! + 1; // output channels (bias mismatch, group split)
    else if (variant === 2) dims.pop(); // rank
    else if (variant === 3) dims.push(1);
    else dims[2] = dims[2]! + 2; // kernel
    const count = dims.reduce((a, b) => a * b, 1);
    g.initializers.set(n.inputs[1]!, float32Tensor(new Float32Array(count).fill(0.01), dims));
  },
  kernelShape(g, pick, value) {
    const n = pickOf(g.nodes.filter((x) => ['Conv', 'MaxPool', 'AveragePool'].includes(x.opType)), pick);
    if (n) n.attributes['kernel_shape'] = { type: 'ints', value: pickOf([[5, 5], [1], [0, 0], [-1, 3], [3, 3, 3], [100000, 1]], value)! };
  },
  zeroStrides(g, pick, value) {
    const n = pickOf(g.nodes.filter((x) => ['Conv', 'MaxPool', 'AveragePool'].includes(x.opType)), pick);
    if (n) n.attributes['strides'] = { type: 'ints', value: pickOf([[0, 0], [0, 1], [-1, -1], [1], [2 ** 40, 1]], value)! };
    if (n && value > 0.8) n.attributes['dilations'] = { type: 'ints', value: [0, 0] };
  },
  absurdInputShape(g, pick, value) {
    const input = g.inputs[0];
    if (!input?.shape) return;
    const axis = 1 + Math.floor(pick * 3);
    input.shape[axis] = pickOf(absurd, value)!;
    if (value > 0.7) input.shape = input.shape.map((d, i) => (i === 0 ? d : 100_000));
  },
  badPads(g, pick, value) {
    const n = pickOf(g.nodes.filter((x) => ['Conv', 'MaxPool', 'AveragePool'].includes(x.opType)), pick);
    if (n) n.attributes['pads'] = { type: 'ints', value: pickOf([[1, 1], [-1, 0, 0, 0], [9, 9, 9, 9], [1, 1, 1, 1, 1, 1], [100000, 0, 0, 0]], value)! };
  },
  badGroup(g, pick, value) {
    const n = pickOf(g.nodes.filter((x) => x.opType === 'Conv'), pick);
    if (n) n.attributes['group'] = { type: 'int', value: pickOf([0, -1, 2, 3, 7, 1000], value)! };
  },
  dropAttribute(g, pick, value) {
    const n = pickOf(g.nodes.filter((x) => Object.keys(x.attributes).length > 0), pick);
    const k = n && pickOf(Object.keys(n.attributes), value);
    if (n && k) delete n.attributes[k];
  },
  attributeType(g, pick, value) {
    const n = pickOf(g.nodes.filter((x) => Object.keys(x.attributes).length > 0), pick);
    const k = n && pickOf(Object.keys(n.attributes), value);
    if (!n || !k) return;
    const a = n.attributes[k]!;
    const swapped: Attribute =
      a.type === 'ints' ? { type: 'int', value: a.value[0] ?? 0 } : a.type === 'int' ? { type: 'ints', value: [a.value, a.value] } : a.type === 'float' ? { type: 'string', value: 'x' } : { type: 'float', value: 1.5 };
    n.attributes[k] = swapped;
  },
  dropNode(g, pick) {
    const i = Math.floor(pick * g.nodes.length);
    g.nodes.splice(i, 1);
  },
  swapInputs(g, pick) {
    const n = pickOf(g.nodes.filter((x) => x.inputs.length > 1), pick);
    if (n) n.inputs.reverse();
  },
  initializerDims(g, pick, value) {
    const k = pickOf([...g.initializers.keys()], pick);
    if (!k) return;
    const t = g.initializers.get(k)!;
    const dims = [...t.dims];
    const v = Math.floor(value * 4);
    if (v === 0) dims.push(2);
    else if (v === 1) dims[0] = (dims[0] ?? 1) + 1;
    else if (v === 2) dims.length = 0;
    else dims[0] = 2 ** 33;
    g.initializers.set(k, { ...t, dims });
  },
  initializerType(g, pick) {
    const k = pickOf([...g.initializers.keys()].filter((n) => g.initializers.get(n)!.dataType === 'float32'), pick);
    if (!k) return;
    const t = g.initializers.get(k)!;
    g.initializers.set(k, int64Tensor(Array.from(t.data as Float32Array, (x) => (Number.isFinite(x) ? Math.round(x * 100) : 0)), t.dims));
  },
  opset(g, _pick, value) {
    g.opset = pickOf([1, 6, 7, 9, 10, 18, 21, 27, 1000], value)!;
  },
  renameOutput(g, _pick, value) {
    const o = g.outputs[0];
    if (o) o.name = value < 0.5 ? 'fuzz/no_such_output' : (g.inputs[0]?.name ?? '');
  },
  reshapeTarget(g, pick, value) {
    const n = pickOf(g.nodes.filter((x) => x.opType === 'Reshape' || x.opType === 'Flatten'), pick);
    if (!n) return;
    if (n.opType === 'Flatten') n.attributes['axis'] = { type: 'int', value: pickOf([-7, 9, 0, 4], value)! };
    else {
      const name = `fuzz/shape_${n.name}`;
      g.initializers.set(name, int64Tensor(pickOf([[0, 7], [-1, -1], [1, 2, 3, 4, 5], [0, -2], [3, -1]], value)!));
      n.inputs[1] = name;
    }
  },
  resizeScales(g, pick, value) {
    const n = pickOf(g.nodes.filter((x) => x.opType === 'Resize' || x.opType === 'Upsample'), pick) ?? pickOf(g.nodes.filter((x) => x.opType === 'Relu'), pick);
    if (!n) return;
    const scales = pickOf([[1, 1, 1e6, 1e6], [1, 1, 0, 0], [1, 1, -2, 2], [1, 1, 2], [1, 1, NaN, 2]], value)!;
    const name = `fuzz/scales_${n.name}`;
    g.initializers.set(name, float32Tensor(scales, [scales.length]));
    if (n.opType === 'Relu') {
      // Insert a Resize after a Relu.
      const out = `${n.outputs[0]}/fuzz_resized`;
      const node: Node = { name: `fuzz/resize_${n.name}`, opType: 'Resize', domain: '', inputs: [out, '', name], outputs: [n.outputs[0]!], attributes: { mode: { type: 'string', value: 'nearest' } } };
      n.outputs[0] = out;
      g.nodes.splice(g.nodes.indexOf(n) + 1, 0, node);
    } else n.inputs = [n.inputs[0]!, '', name];
  },
  badAxis(g, pick, value) {
    const n = pickOf(g.nodes.filter((x) => ['Concat', 'Softmax', 'Flatten', 'Gather', 'Split', 'Squeeze', 'Unsqueeze', 'Transpose'].includes(x.opType)), pick);
    if (!n) return;
    if (n.opType === 'Transpose') n.attributes['perm'] = { type: 'ints', value: pickOf([[0, 0, 1, 2], [3, 2, 1], [0, 1, 2, 9]], value)! };
    else n.attributes['axis'] = { type: 'int', value: pickOf([-9, 7, 4, 100], value)! };
  },
  unknownAttribute(g, pick, value) {
    const n = pickOf(g.nodes, pick);
    if (n) n.attributes[pickOf(['fuzz', 'kernel_shapes', 'stride', 'Group'], value)!] = { type: 'int', value: 1 };
  },
  extraInput(g, pick) {
    const n = pickOf(g.nodes, pick);
    if (n) n.inputs.push(n.inputs[0] ?? 'x', g.inputs[0]?.name ?? '');
  },
  nonFinite(g, pick, value) {
    const k = pickOf([...g.initializers.keys()].filter((n) => g.initializers.get(n)!.dataType === 'float32'), pick);
    if (!k) return;
    const d = new Float32Array(g.initializers.get(k)!.data as Float32Array);
    d[Math.floor(value * d.length)] = value < 0.5 ? NaN : Infinity;
    g.initializers.set(k, { ...g.initializers.get(k)!, data: d });
  },
};

// ---------------------------------------------------------------------------------------
// TF.js model.json mutations

type Json = Record<string, unknown>;
interface LayerJson {
  name?: string;
  class_name?: string;
  config?: Json;
  inbound_nodes?: unknown[];
}

/** The layer's config, when it is an object holding `key`. */
function configWith(l: LayerJson, ...keys: string[]): Json | undefined {
  const c = l.config;
  return c && typeof c === 'object' && !Array.isArray(c) && keys.some((k) => k in c) ? c : undefined;
}

function layersOf(json: Json): LayerJson[] {
  const t = json['modelTopology'];
  const top = t && typeof t === 'object' ? (t as Json) : {};
  const mc = top['model_config'];
  const cfg = mc && typeof mc === 'object' ? (mc as Json)['config'] : top['config'];
  const layers = Array.isArray(cfg) ? cfg : cfg && typeof cfg === 'object' ? (cfg as Json)['layers'] : undefined;
  return Array.isArray(layers) ? (layers as LayerJson[]) : [];
}

/** The entries of `layersOf` that are objects (a mutation may have replaced some). */
function layerObjects(json: Json): LayerJson[] {
  return layersOf(json).filter((l) => l !== null && typeof l === 'object' && !Array.isArray(l));
}

function weightsOf(json: Json): Json[] {
  const m = json['weightsManifest'];
  if (!Array.isArray(m)) return [];
  return m
    .flatMap((g) => (g && typeof g === 'object' && Array.isArray((g as Json)['weights']) ? ((g as Json)['weights'] as Json[]) : []))
    .filter((w) => w !== null && typeof w === 'object' && !Array.isArray(w));
}

function graphNodes(json: Json): Json[] {
  const t = json['modelTopology'];
  const nodes = t && typeof t === 'object' ? (t as Json)['node'] : undefined;
  return Array.isArray(nodes) ? nodes.filter((n): n is Json => n !== null && typeof n === 'object' && !Array.isArray(n)) : [];
}

/** Every (container, key) in the JSON tree, depth first. */
function slots(v: unknown, out: [Json | unknown[], string | number][] = []): [Json | unknown[], string | number][] {
  if (Array.isArray(v)) v.forEach((x, i) => (out.push([v, i]), slots(x, out)));
  else if (v && typeof v === 'object') for (const [k, x] of Object.entries(v)) out.push([v as Json, k]), slots(x, out);
  return out;
}

const randomValues: unknown[] = [null, 0, -1, 1.5, 1e9, 'x', '', true, [], {}, [null], [0, 0], { class_name: 'x' }, NaN];

const jsonMutations: Record<(typeof JSON_KINDS)[number], (json: Json, pick: number, value: number, files: Map<string, Uint8Array<ArrayBufferLike>>) => void> = {
  removeLayer(json, pick) {
    const layers = layersOf(json);
    layers.splice(Math.floor(pick * layers.length), 1);
  },
  danglingInbound(json, pick) {
    const l = pickOf(layerObjects(json).filter((x) => Array.isArray(x.inbound_nodes) && x.inbound_nodes.length > 0), pick);
    if (l) l.inbound_nodes = [[['fuzz_no_such_layer', 0, 0, {}]]];
  },
  unknownClass(json, pick, value) {
    const l = pickOf(layerObjects(json), pick);
    if (l) l.class_name = pickOf(['FuzzLayer', 'LSTM', 'Conv3D', 'Lambda', ''], value);
  },
  cycle(json, pick, value) {
    const layers = layersOf(json);
    const i = Math.floor(pick * layers.length);
    const later = pickOf(layers.slice(i + 1), value);
    const l = layers[i];
    if (!l || typeof l !== 'object' || !later || typeof later !== 'object') return;
    const top = json['modelTopology'] as Json | undefined;
    if (top?.['class_name'] === 'Sequential') {
      // In a Sequential the order is the wiring: a later layer comes first instead.
      layers.splice(i, 0, layers.splice(layers.indexOf(later), 1)[0]!);
    } else l.inbound_nodes = [[[later.name, 0, 0, {}]]];
  },
  duplicateName(json, pick, value) {
    const layers = layerObjects(json);
    const a = pickOf(layers, pick);
    const b = pickOf(layers, value);
    if (a && b && a !== b) {
      a.name = b.name;
      if (a.config) a.config['name'] = b.name;
    }
  },
  kernelSize(json, pick, value) {
    const l = pickOf(layerObjects(json).filter((x) => configWith(x, 'kernel_size')), pick);
    if (l) l.config!['kernel_size'] = pickOf([[5, 5], [0, 0], [-1, 3], [1], 'x', [100000, 1], [2.5, 2]], value);
  },
  zeroStrides(json, pick, value) {
    const l = pickOf(layerObjects(json).filter((x) => configWith(x, 'strides')), pick);
    if (l) l.config!['strides'] = pickOf([[0, 0], [0, 1], [-1, -1], null, [1e9, 1e9], [0.5, 1]], value);
  },
  filters(json, pick, value) {
    const l = pickOf(layerObjects(json).filter((x) => configWith(x, 'filters', 'units')), pick);
    if (!l) return;
    const key = 'filters' in l.config! ? 'filters' : 'units';
    l.config![key] = pickOf([0, -3, 1, 2.5, 1e9, '8', null], value);
  },
  absurdInputShape(json, pick, value) {
    const l = layerObjects(json).find((x) => configWith(x, 'batch_input_shape', 'batch_shape'));
    if (!l) return;
    const key = 'batch_input_shape' in l.config! ? 'batch_input_shape' : 'batch_shape';
    const shape = [...(l.config![key] as unknown[])];
    shape[1 + Math.floor(pick * 3)] = pickOf([0, -5, 100_000, 2 ** 31, 1, 2.5, null, 'x'], value);
    l.config![key] = value > 0.85 ? [null, 100000, 100000, 3] : shape;
  },
  removeWeight(json, pick) {
    const m = json['weightsManifest'] as Json[] | undefined;
    const w = m?.[0]?.['weights'];
    if (Array.isArray(w) && w.length) w.splice(Math.floor(pick * w.length), 1);
  },
  weightShape(json, pick, value) {
    const w = pickOf(weightsOf(json), pick);
    if (!w || !Array.isArray(w['shape'])) return;
    const shape = [...(w['shape'] as number[])];
    const v = Math.floor(value * 5);
    if (v === 0) shape.reverse();
    else if (v === 1) shape[0] = (shape[0] ?? 1) + 1;
    else if (v === 2) shape.push(1);
    else if (v === 3) shape[0] = -1;
    else shape[0] = 2 ** 31;
    w['shape'] = shape;
  },
  weightDtype(json, pick, value) {
    const w = pickOf(weightsOf(json), pick);
    if (!w) return;
    const v = pickOf(['int32', 'float16', 'uint8', 'string', 'complex64', 'quant'], value)!;
    if (v === 'quant') w['quantization'] = { dtype: pickOf(['uint8', 'uint16', 'float16', 'int4'], value)!, scale: value, min: -value };
    else w['dtype'] = v;
  },
  deleteKey(json, pick) {
    const s = slots(json);
    const slot = pickOf(s, pick);
    if (!slot) return;
    const [c, k] = slot;
    if (Array.isArray(c)) c.splice(k as number, 1);
    else delete c[k as string];
  },
  replaceValue(json, pick, value) {
    const slot = pickOf(slots(json), pick);
    if (!slot) return;
    const [c, k] = slot;
    (c as Record<string | number, unknown>)[k] = structuredClone(pickOf(randomValues, value));
  },
  removePath(json, _pick, value, files) {
    const m = json['weightsManifest'] as Json[] | undefined;
    const paths = m?.[0]?.['paths'];
    if (!Array.isArray(paths) || !paths.length) return;
    const i = Math.floor(value * paths.length);
    if (value < 0.5) files.delete(paths[i]!);
    else paths.splice(i, 1);
  },
  unknownActivation(json, pick, value) {
    const l = pickOf(layerObjects(json).filter((x) => configWith(x, 'activation')), pick);
    if (l) l.config!['activation'] = pickOf(['fuzz', '', null, 7, { class_name: 'X' }], value);
  },
  badPadding(json, pick, value) {
    const l = pickOf(layerObjects(json).filter((x) => configWith(x, 'padding', 'pool_size')), pick);
    if (!l) return;
    if ('pool_size' in l.config! && value < 0.5) l.config!['pool_size'] = pickOf([[0, 0], [100, 100], 3, [-2, 2]], value * 2);
    else l.config!['padding'] = pickOf(['causal', 'SAME', 5, [[1, 1], [1]], [[-3, -3], [0, 0]], [[1e6, 0], [0, 0]]], value);
  },
  // Graph models: modelTopology.node[] of { name, op, input, attr }.
  nodeOp(json, pick, value) {
    const n = pickOf(graphNodes(json), pick);
    if (n) n['op'] = pickOf(['FuzzOp', 'LSTM', 'Conv3D', 'Const', 'Placeholder', 'NonMaxSuppressionV5', 'Relu6', ''], value);
  },
  nodeInput(json, pick, value) {
    const n = pickOf(graphNodes(json).filter((x) => Array.isArray(x['input']) && (x['input'] as unknown[]).length > 0), pick);
    if (!n) return;
    const inputs = n['input'] as unknown[];
    inputs[Math.floor(value * inputs.length)] = pickOf(['fuzz/no_such_node', '^ctrl', 'x:7', 42], value);
  },
  nodeCycle(json, pick, value) {
    const nodes = graphNodes(json);
    const i = Math.floor(pick * nodes.length);
    const later = pickOf(nodes.slice(i + 1), value);
    const n = nodes[i];
    if (n && later && Array.isArray(n['input']) && (n['input'] as unknown[]).length) (n['input'] as unknown[])[0] = later['name'];
  },
  nodeAttr(json, pick, value) {
    const n = pickOf(graphNodes(json).filter((x) => x['attr'] && typeof x['attr'] === 'object'), pick);
    if (!n) return;
    const attr = n['attr'] as Json;
    const key = pickOf(Object.keys(attr), value);
    if (!key) return;
    attr[key] = pickOf(
      [{ list: { i: ['1', '0', '0', '1'] } }, { list: { i: ['1', '-2', '2', '1'] } }, { s: 'Q0FVU0FM' }, { i: '-1' }, { f: 'NaN' }, { type: 'DT_STRING' }, { list: {} }, {}, { tensor: { dtype: 'DT_FLOAT', tensorShape: { dim: [{ size: '100000000' }] } } }],
      value,
    );
  },
  nodeName(json, pick, value) {
    const nodes = graphNodes(json);
    const a = pickOf(nodes, pick);
    const b = pickOf(nodes, value);
    if (a && b && a !== b) a['name'] = b['name'];
  },
  swapWeights(json, pick, value) {
    const ws = weightsOf(json);
    const a = pickOf(ws, pick);
    const b = pickOf(ws, value);
    if (a && b && a !== b) [a['name'], b['name']] = [b['name'], a['name']];
  },
};

/** A short readable description of a case, for reports. */
export function describe(c: FuzzCase): string {
  const ms = c.mutations.map((m) => (m.kind === 'graph' || m.kind === 'json' ? `${m.op}(${m.pick.toFixed(3)},${m.value.toFixed(3)})` : `${m.kind}(${m.file.toFixed(2)},${m.at.toFixed(4)},${m.size.toFixed(2)})`));
  return `${c.seed} ${ms.join(' ')}`;
}
