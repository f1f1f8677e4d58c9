/**
 * Reading and writing `.onnx` bytes, through the `onnx-proto` schema package (protobufjs).
 * Everything else in the engine works on the typed `Graph`; only this file knows protobuf.
 */
import onnxProto from 'onnx-proto';
import { ModelFormatError } from '../../errors.js';
import { ONNX_DATA_TYPES, type Attribute, type DataType, type Graph, type Node, type OpsetImport, type Shape, type TensorData, type ValueInfo } from './types.js';
import { bytesPerElement, emptyTyped, tensorToNumbers, typedFromBytes, typedToBytes } from './tensor-data.js';
import { MAX_TENSOR_ELEMENTS } from './node-checks.js';

const { onnx } = onnxProto;

const DT_FROM_ONNX = ONNX_DATA_TYPES;
const DT_TO_ONNX: Record<DataType, number> = {
  float32: 1,
  uint8: 2,
  int8: 3,
  uint16: 4,
  int16: 5,
  int32: 6,
  int64: 7,
  bool: 9,
  float16: 10,
  float64: 11,
};

export function dataTypeFromOnnx(code: number, where: string): DataType {
  const t = DT_FROM_ONNX[code];
  if (!t) throw new ModelFormatError(`${where}: ONNX element type ${code} is not supported`);
  return t;
}

export function dataTypeToOnnx(t: DataType): number {
  return DT_TO_ONNX[t];
}

const num = (v: unknown): number => (typeof v === 'number' ? v : Number(String(v)));

/**
 * Reads `length` bytes at `offset` of an external data file named in the model (relative to
 * the model's folder) for tensor `tensor`; `length` undefined means to the end. Supplied by the
 * Node adapter.
 */
export type ExternalDataReader = (location: string, offset: number, length: number | undefined, tensor: string) => Uint8Array;

function tensorFromProto(t: onnxProto.onnx.ITensorProto, where: string, external?: ExternalDataReader): TensorData {
  const name = t.name || '(unnamed)';
  if (t.dataLocation === 1 || (t.externalData && t.externalData.length > 0)) {
    const entry = (k: string) => t.externalData?.find((e) => e.key === k)?.value ?? undefined;
    const loc = entry('location') ?? '?';
    if (!external) {
      throw new ModelFormatError(
        `${where}: tensor '${name}' keeps its data in an external file '${loc}'; load the model from its path so the file can be read, or save it with the data inside`,
      );
    }
    const offset = Number(entry('offset') ?? 0);
    const length = entry('length') !== undefined ? Number(entry('length')) : undefined;
    t = { ...t, dataLocation: 0, externalData: [], rawData: external(loc, offset, length, name) };
  }
  const dataType = dataTypeFromOnnx(t.dataType ?? 0, `${where}: tensor '${name}'`);
  const dims = (t.dims ?? []).map(num);
  if (!dims.every((d) => Number.isSafeInteger(d) && d >= 0)) throw new ModelFormatError(`${where}: tensor '${name}' has dims [${dims}]`);
  const count = dims.reduce((a, b) => a * b, 1);
  // Before allocating: a corrupt file may declare absurd dims.
  if (count > MAX_TENSOR_ELEMENTS) throw new ModelFormatError(`${where}: tensor '${name}' has dims [${dims}], ${count} values, over the limit of ${MAX_TENSOR_ELEMENTS}`);
  let data;
  if (t.rawData && t.rawData.length > 0) {
    const size = bytesPerElement(dataType);
    if (t.rawData.length !== count * size) {
      throw new ModelFormatError(`${where}: tensor '${name}' holds ${t.rawData.length} bytes but its shape [${dims}] of ${dataType} needs ${count * size} (truncated file?)`);
    }
    data = typedFromBytes(dataType, t.rawData);
  } else {
    data = emptyTyped(dataType, count);
    const src: ArrayLike<unknown> =
      dataType === 'float32'
        ? t.floatData ?? []
        : dataType === 'float64'
          ? t.doubleData ?? []
          : dataType === 'int64'
            ? t.int64Data ?? []
            : t.int32Data ?? [];
    if (src.length !== count && !(src.length === 0 && count === 0)) {
      throw new ModelFormatError(`${where}: tensor '${name}' has ${src.length} values for shape [${dims}]`);
    }
    for (let i = 0; i < count; i++) {
      if (data instanceof BigInt64Array) data[i] = BigInt(String(src[i]));
      else (data as Float32Array)[i] = num(src[i]);
    }
  }
  if (data.length !== count) {
    throw new ModelFormatError(`${where}: tensor '${name}' holds ${data.length} values but its shape [${dims}] needs ${count} (truncated file?)`);
  }
  return { dataType, dims, data };
}

function tensorToProto(name: string, t: TensorData): onnxProto.onnx.ITensorProto {
  return { name, dataType: dataTypeToOnnx(t.dataType), dims: t.dims, rawData: typedToBytes(t.data) };
}

function attributeFromProto(a: onnxProto.onnx.IAttributeProto, where: string, external?: ExternalDataReader): Attribute | undefined {
  switch (a.type) {
    case 1:
      return { type: 'float', value: a.f ?? 0 };
    case 2:
      return { type: 'int', value: clampInt(a.i) };
    case 3:
      return { type: 'string', value: new TextDecoder().decode(a.s ?? new Uint8Array()) };
    case 4:
      return { type: 'tensor', value: tensorFromProto(a.t ?? {}, where, external) };
    case 6:
      return { type: 'floats', value: [...(a.floats ?? [])] };
    case 7:
      return { type: 'ints', value: (a.ints ?? []).map(clampInt) };
    case 8:
      return { type: 'strings', value: (a.strings ?? []).map((s) => new TextDecoder().decode(s)) };
    default:
      return undefined;
  }
}

// Exporters write INT64_MAX/MIN as "to the end"; keep them as safe integers with the same meaning.
function clampInt(v: unknown): number {
  const n = num(v);
  if (n > Number.MAX_SAFE_INTEGER) return Number.MAX_SAFE_INTEGER;
  if (n < Number.MIN_SAFE_INTEGER) return Number.MIN_SAFE_INTEGER;
  return n;
}

function attributeToProto(name: string, a: Attribute): onnxProto.onnx.IAttributeProto {
  switch (a.type) {
    case 'float':
      return { name, type: 1, f: a.value };
    case 'int':
      return { name, type: 2, i: a.value };
    case 'string':
      return { name, type: 3, s: new TextEncoder().encode(a.value) };
    case 'tensor':
      return { name, type: 4, t: tensorToProto('', a.value) };
    case 'floats':
      return { name, type: 6, floats: a.value };
    case 'ints':
      return { name, type: 7, ints: a.value };
    case 'strings':
      return { name, type: 8, strings: a.value.map((s) => new TextEncoder().encode(s)) };
  }
}

function valueInfoFromProto(v: onnxProto.onnx.IValueInfoProto, where: string): ValueInfo | undefined {
  const tt = v.type?.tensorType;
  if (!tt) return undefined;
  const dataType = dataTypeFromOnnx(tt.elemType ?? 0, `${where}: value '${v.name}'`);
  let shape: Shape | undefined;
  if (tt.shape) {
    shape = (tt.shape.dim ?? []).map((d, i) =>
      d.dimValue !== undefined && d.dimValue !== null && num(d.dimValue) > 0
        ? num(d.dimValue)
        : d.dimParam || `${v.name}_d${i}`,
    );
  }
  return { name: v.name ?? '', dataType, shape };
}

function valueInfoToProto(v: ValueInfo): onnxProto.onnx.IValueInfoProto {
  return {
    name: v.name,
    type: {
      tensorType: {
        elemType: dataTypeToOnnx(v.dataType),
        shape: v.shape
          ? { dim: v.shape.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) }
          : undefined,
      },
    },
  };
}

/**
 * Parse `.onnx` bytes. `source` (a path or URL) is used in error messages only.
 * Large models keep initializers as views of the decoded buffers' copies; nothing is shared
 * with `bytes` afterwards.
 */
export function parseOnnx(bytes: Uint8Array, source = 'model', external?: ExternalDataReader): Graph {
  let model: onnxProto.onnx.ModelProto;
  try {
    model = onnx.ModelProto.decode(bytes);
  } catch (e) {
    throw new ModelFormatError(`${source}: not a readable ONNX file (${(e as Error).message}); the file may be truncated or of another format`);
  }
  const g = model.graph;
  if (!g || !g.node || g.node.length === 0) {
    throw new ModelFormatError(`${source}: not an ONNX model (no graph nodes found)`);
  }
  const initializers = new Map<string, TensorData>();
  for (const t of g.initializer ?? []) initializers.set(t.name ?? '', tensorFromProto(t, source, external));
  const nodes: Node[] = g.node.map((n, i) => {
    const attributes: Record<string, Attribute> = {};
    for (const a of n.attribute ?? []) {
      const v = attributeFromProto(a, `${source}: node '${n.name}'`, external);
      if (v) attributes[a.name ?? ''] = v;
    }
    return {
      name: n.name || `${n.opType}_${i}`,
      opType: n.opType ?? '',
      domain: n.domain === 'ai.onnx' ? '' : n.domain ?? '',
      inputs: [...(n.input ?? [])],
      outputs: [...(n.output ?? [])],
      attributes,
    };
  });
  const inputs: ValueInfo[] = [];
  for (const v of g.input ?? []) {
    if (initializers.has(v.name ?? '')) continue;
    const vi = valueInfoFromProto(v, source);
    if (vi) inputs.push(vi);
  }
  const outputs = (g.output ?? []).map((v) => valueInfoFromProto(v, source)).filter((v): v is ValueInfo => !!v);
  const valueInfo = new Map<string, ValueInfo>();
  for (const v of g.valueInfo ?? []) {
    const vi = valueInfoFromProto(v, source);
    if (vi) valueInfo.set(vi.name, vi);
  }
  let opset = 0;
  const otherOpsets: OpsetImport[] = [];
  for (const o of model.opsetImport ?? []) {
    const d = o.domain ?? '';
    if (d === '' || d === 'ai.onnx') opset = num(o.version);
    else otherOpsets.push({ domain: d, version: num(o.version) });
  }
  if (!opset) throw new ModelFormatError(`${source}: the model declares no ONNX opset`);
  return {
    name: g.name ?? 'graph',
    nodes,
    initializers,
    inputs,
    outputs,
    valueInfo,
    opset,
    otherOpsets,
    irVersion: num(model.irVersion ?? 7),
    producerName: model.producerName ?? '',
  };
}

/** Serialise to `.onnx` bytes (initializers as raw data). */
export function serializeOnnx(graph: Graph): Uint8Array {
  const model: onnxProto.onnx.IModelProto = {
    // 8 covers every opset onnxruntime runs; a newer IR stamped in the file could be one it refuses.
    irVersion: 8,
    producerName: graph.producerName || 'rsi-grad-cam',
    opsetImport: [{ domain: '', version: graph.opset }, ...graph.otherOpsets],
    graph: {
      name: graph.name,
      node: graph.nodes.map((n) => ({
        name: n.name,
        opType: n.opType,
        domain: n.domain,
        // Trailing omitted optional inputs are dropped: same meaning, and some onnxruntime
        // kernels (LayerNormalization) crash on an explicit empty last input.
        input: trimTrailingEmpty(n.inputs),
        output: n.outputs,
        attribute: Object.entries(n.attributes).map(([k, a]) => attributeToProto(k, a)),
      })),
      initializer: [...graph.initializers].map(([name, t]) => tensorToProto(name, t)),
      input: graph.inputs.map(valueInfoToProto),
      output: graph.outputs.map(valueInfoToProto),
    },
  };
  return onnx.ModelProto.encode(model).finish();
}

function trimTrailingEmpty(inputs: string[]): string[] {
  let n = inputs.length;
  while (n > 0 && !inputs[n - 1]) n--;
  return n === inputs.length ? inputs : inputs.slice(0, n);
}

/** Number values of a constant int tensor, for attribute-like inputs (shapes, axes, pads). */
export { tensorToNumbers };
