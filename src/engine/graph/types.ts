/**
 * The project's one graph representation. It follows ONNX semantics (operator names,
 * attributes and input order are ONNX's), so graphs round-trip to `.onnx` bytes that
 * onnxruntime runs, and every importer targets it.
 */

/** Element types the engine understands. float16 data is kept as raw IEEE half bits. */
export type DataType =
  | 'float32'
  | 'float16'
  | 'float64'
  | 'int64'
  | 'int32'
  | 'int16'
  | 'int8'
  | 'uint16'
  | 'uint8'
  | 'bool';

/** ONNX TensorProto element type codes of the types above. */
export const ONNX_DATA_TYPES: Readonly<Record<number, DataType>> = {
  1: 'float32',
  2: 'uint8',
  3: 'int8',
  4: 'uint16',
  5: 'int16',
  6: 'int32',
  7: 'int64',
  9: 'bool',
  10: 'float16',
  11: 'float64',
};

export type TypedData =
  | Float32Array
  | Float64Array
  | BigInt64Array
  | Int32Array
  | Int16Array
  | Int8Array
  | Uint16Array
  | Uint8Array;

/** A constant tensor (an initializer or a Constant node's value). Row-major. */
export interface TensorData {
  dataType: DataType;
  dims: number[];
  /** float16 as Uint16Array (raw bits), bool as Uint8Array (0/1). */
  data: TypedData;
}

/** A dimension: a number, or a symbol such as `"N"` (the batch) when not fixed. */
export type Dim = number | string;
export type Shape = Dim[];

export interface ValueInfo {
  name: string;
  dataType: DataType;
  /** Undefined when the rank is unknown. */
  shape?: Shape;
}

export type Attribute =
  | { type: 'int'; value: number }
  | { type: 'float'; value: number }
  | { type: 'string'; value: string }
  | { type: 'ints'; value: number[] }
  | { type: 'floats'; value: number[] }
  | { type: 'strings'; value: string[] }
  | { type: 'tensor'; value: TensorData };

export interface Node {
  name: string;
  opType: string;
  /** '' for the default ONNX domain. */
  domain: string;
  /** '' marks an omitted optional input, as in ONNX. */
  inputs: string[];
  outputs: string[];
  attributes: Record<string, Attribute>;
}

export interface OpsetImport {
  domain: string;
  version: number;
}

/** A model: one graph plus what ONNX keeps beside it. Nodes are in topological order. */
export interface Graph {
  name: string;
  nodes: Node[];
  initializers: Map<string, TensorData>;
  /** Graph inputs that are fed at run time (initializers are not listed here). */
  inputs: ValueInfo[];
  outputs: ValueInfo[];
  /** Shapes recorded in the file or found by shape inference, by tensor name. */
  valueInfo: Map<string, ValueInfo>;
  /** Opset of the default ONNX domain. */
  opset: number;
  /** Opsets of other domains, if any. */
  otherOpsets: OpsetImport[];
  irVersion: number;
  producerName: string;
}

/** The symbol used for the batch dimension throughout the engine. */
export const BATCH = 'N';

export const FLOAT_TYPES: ReadonlySet<DataType> = new Set(['float32', 'float16', 'float64']);
