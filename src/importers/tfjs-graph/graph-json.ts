/**
 * Reading a TF.js graph model's `model.json` (`"format": "graph-model"`): the TensorFlow
 * GraphDef as JSON (nodes with `op`, `input` and `attr`, attribute values in protobuf's JSON
 * mapping: strings base64, int64 as decimal strings), the signature and the weights manifest.
 */
import { ModelFormatError } from '../../errors.js';
import { parseManifest, type ManifestGroup } from '../tfjs/model-json.js';

type Json = Record<string, unknown>;

/** One GraphDef node, its data inputs split from its control inputs. */
export interface TfNode {
  name: string;
  op: string;
  /** Data inputs as [node name, output index]. */
  inputs: [string, number][];
  attr: Json;
}

/** A tensor named by the signature: `name:index` and its declared shape (-1 for open sizes). */
export interface SignatureTensor {
  node: string;
  index: number;
  shape?: number[];
  dtype?: string;
}

export interface ParsedGraphModel {
  nodes: TfNode[];
  manifest: ManifestGroup[];
  inputs: SignatureTensor[];
  outputs: SignatureTensor[];
  /** `convertedBy`, e.g. 'TensorFlow.js Converter v4.22.0', when given. */
  convertedBy?: string;
}

function isObject(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** `name`, `name:1` or `^name` (a control input, returned as undefined). */
export function parseTensorRef(ref: string): [string, number] | undefined {
  if (ref.startsWith('^')) return undefined;
  const m = /^(.*):(\d+)$/.exec(ref);
  return m ? [m[1]!, Number(m[2])] : [ref, 0];
}

/** Parse the whole graph-model `model.json` object. */
export function parseGraphModelJson(json: unknown, source: string): ParsedGraphModel {
  if (!isObject(json)) throw new ModelFormatError(`${source}: model.json is not a JSON object`);
  const topology = json['modelTopology'];
  if (!isObject(topology) || !Array.isArray(topology['node'])) {
    throw new ModelFormatError(`${source}: a graph model needs 'modelTopology' with a 'node' list (a TensorFlow GraphDef)`);
  }
  if (topology['node'].length === 0) throw new ModelFormatError(`${source}: the TF.js graph model has no nodes`);
  const seen = new Set<string>();
  const nodes = topology['node'].map((n, i): TfNode => {
    if (!isObject(n) || typeof n['name'] !== 'string' || typeof n['op'] !== 'string') {
      throw new ModelFormatError(`${source}: GraphDef node ${i} needs a 'name' and an 'op'`);
    }
    const name = n['name'];
    if (seen.has(name)) throw new ModelFormatError(`${source}: two GraphDef nodes are named '${name}'`);
    seen.add(name);
    const raw = n['input'] ?? [];
    if (!Array.isArray(raw) || raw.some((r) => typeof r !== 'string')) throw new ModelFormatError(`${source}: node '${name}' has a malformed 'input' list`);
    const inputs = (raw as string[]).map(parseTensorRef).filter((r): r is [string, number] => r !== undefined);
    return { name, op: n['op'], inputs, attr: isObject(n['attr']) ? n['attr'] : {} };
  });
  // TF.js 2+ writes the signature at the top; older converters under userDefinedMetadata.
  const meta = json['userDefinedMetadata'];
  const signature = isObject(json['signature']) ? json['signature'] : isObject(meta) && isObject(meta['signature']) ? meta['signature'] : undefined;
  return {
    nodes,
    manifest: parseManifest(json['weightsManifest'], source),
    inputs: signatureTensors(signature?.['inputs']),
    outputs: signatureTensors(signature?.['outputs']),
    convertedBy: typeof json['convertedBy'] === 'string' ? json['convertedBy'] : undefined,
  };
}

function signatureTensors(v: unknown): SignatureTensor[] {
  if (!isObject(v)) return [];
  const out: SignatureTensor[] = [];
  for (const [key, t] of Object.entries(v)) {
    const info = isObject(t) ? t : {};
    const ref = parseTensorRef(typeof info['name'] === 'string' ? info['name'] : key);
    if (!ref) continue;
    const dims = shapeDims(info['tensorShape']);
    out.push({ node: ref[0], index: ref[1], shape: dims, dtype: typeof info['dtype'] === 'string' ? info['dtype'] : undefined });
  }
  return out;
}

/** A TensorShapeProto as numbers (-1 for an open size); undefined for an unknown rank. */
export function shapeDims(shape: unknown): number[] | undefined {
  if (!isObject(shape) || shape['unknownRank']) return undefined;
  const dims = shape['dim'];
  if (dims === undefined) return [];
  if (!Array.isArray(dims)) return undefined;
  return dims.map((d) => (isObject(d) && d['size'] !== undefined ? Number(d['size']) : -1));
}

function decodeBase64(s: string): string {
  try {
    return atob(s);
  } catch {
    return s;
  }
}

/**
 * Typed readers for one node's attributes. `fail` raises the importer's error for the node.
 * Missing attributes give the fallback, as TensorFlow's op defaults do.
 */
export class Attrs {
  constructor(
    private readonly node: TfNode,
    private readonly fail: (message: string) => never,
  ) {}

  has(key: string): boolean {
    return this.node.attr[key] !== undefined;
  }

  private value(key: string): Json | undefined {
    const v = this.node.attr[key];
    if (v === undefined) return undefined;
    if (!isObject(v)) this.fail(`attribute '${key}' is malformed`);
    return v;
  }

  int(key: string, fallback: number): number {
    const v = this.value(key);
    if (!v || v['i'] === undefined) return fallback;
    const n = Number(v['i']);
    if (!Number.isInteger(n)) this.fail(`attribute '${key}' is not an int`);
    return n;
  }

  float(key: string, fallback: number): number {
    const v = this.value(key);
    if (!v || v['f'] === undefined) return fallback;
    const n = Number(v['f']);
    if (Number.isNaN(n)) this.fail(`attribute '${key}' is not a number`);
    return n;
  }

  bool(key: string, fallback: boolean): boolean {
    const v = this.value(key);
    return !v || v['b'] === undefined ? fallback : Boolean(v['b']);
  }

  /** A string attribute (stored base64, decoded here). */
  string(key: string, fallback: string): string {
    const v = this.value(key);
    if (!v || typeof v['s'] !== 'string') return fallback;
    return decodeBase64(v['s']);
  }

  /** A dtype attribute such as 'DT_FLOAT'. */
  type(key: string, fallback: string): string {
    const v = this.value(key);
    return v && typeof v['type'] === 'string' ? v['type'] : fallback;
  }

  ints(key: string, fallback: number[]): number[] {
    const list = this.list(key);
    if (!list || list['i'] === undefined) return fallback;
    if (!Array.isArray(list['i'])) this.fail(`attribute '${key}' is not a list of ints`);
    return (list['i'] as unknown[]).map(Number);
  }

  strings(key: string): string[] {
    const list = this.list(key);
    if (!list || !Array.isArray(list['s'])) return [];
    return (list['s'] as unknown[]).map((s) => decodeBase64(String(s)));
  }

  /** The shape attribute (e.g. a Placeholder's) as numbers with -1 for open sizes. */
  shape(key: string): number[] | undefined {
    const v = this.value(key);
    return v ? shapeDims(v['shape']) : undefined;
  }

  /** A Const node's declared tensor: dtype and shape (the values live in the weight files). */
  tensor(key: string): { dtype: string; shape?: number[] } | undefined {
    const v = this.value(key);
    const t = v?.['tensor'];
    if (!isObject(t)) return undefined;
    return { dtype: typeof t['dtype'] === 'string' ? t['dtype'] : 'DT_FLOAT', shape: shapeDims(t['tensorShape']) };
  }

  private list(key: string): Json | undefined {
    const v = this.value(key);
    if (!v) return undefined;
    const list = v['list'];
    if (list === undefined) return undefined;
    if (!isObject(list)) this.fail(`attribute '${key}' is not a list`);
    return list;
  }
}
