/**
 * The weights of a TF.js Layers model: where each manifest entry sits in the concatenated
 * weight files, how it decodes (float32, int32, the converter's affine uint8/uint16
 * quantisation and float16), and which entry belongs to which layer weight.
 */
import { ModelFormatError } from '../../errors.js';
import { halfToFloat } from '../../engine/graph/tensor-data.js';
import type { ManifestGroup, WeightSpec } from './model-json.js';

interface Entry {
  spec: WeightSpec;
  /** The name without a TensorFlow ':0' suffix. */
  name: string;
  group: number;
  offset: number;
  byteLength: number;
}

/** A decoded weight: float32 values in the manifest's (Keras) layout. */
export interface DecodedWeight {
  name: string;
  shape: number[];
  values: Float32Array;
}

function storedBytesPerElement(spec: WeightSpec, where: string): number {
  const t = spec.quantization?.dtype ?? spec.dtype;
  switch (t) {
    case 'float32':
    case 'int32':
      return 4;
    case 'float16':
    case 'uint16':
    case 'int16':
      return 2;
    case 'uint8':
    case 'int8':
    case 'bool':
      return 1;
    default:
      throw new ModelFormatError(`${where}: weight '${spec.name}' has dtype '${t}', which cannot be decoded`);
  }
}

export class WeightStore {
  private readonly entries: Entry[] = [];
  private readonly bytes: Uint8Array;
  /** Bytes the manifest describes, by group. */
  readonly groupBytes: number[] = [];
  private readonly manifestBytes: number;

  constructor(
    manifest: ManifestGroup[],
    data: ArrayBuffer | Uint8Array,
    private readonly source: string,
  ) {
    this.bytes = data instanceof Uint8Array ? data : new Uint8Array(data);
    let offset = 0;
    manifest.forEach((g, gi) => {
      const start = offset;
      for (const spec of g.weights) {
        const count = spec.shape.reduce((a, b) => a * b, 1);
        const byteLength = count * storedBytesPerElement(spec, source);
        this.entries.push({ spec, name: spec.name.replace(/:\d+$/, ''), group: gi, offset, byteLength });
        offset += byteLength;
      }
      this.groupBytes.push(offset - start);
    });
    if (this.bytes.byteLength < offset) {
      throw new ModelFormatError(
        `${source}: the weight data holds ${this.bytes.byteLength} bytes but the weights manifest needs ${offset}; a weight file is truncated or missing`,
      );
    }
    this.manifestBytes = offset;
  }

  /**
   * Weight data longer than the manifest says is refused: the files do not match it, and a
   * shard with extra bytes would shift every later weight. Checked after the layers found
   * their weights, so a missing or misshapen manifest entry is named first.
   */
  checkExactLength(): void {
    if (this.bytes.byteLength !== this.manifestBytes) {
      throw new ModelFormatError(
        `${this.source}: the weight data holds ${this.bytes.byteLength} bytes but the weights manifest needs ${this.manifestBytes}; the weight files do not match the manifest`,
      );
    }
  }

  /**
   * The manifest entry for weight `weight` of the layer at `path` (outer model names first, layer
   * last). TF.js matches weights by name, `layer/weight`; converters may prefix outer scopes or, since
   * TF 2.2, insert a cell name (`layer/cell/weight`), so those forms match as well.
   */
  find(path: string[], weight: string): Entry | undefined {
    const layer = path[path.length - 1]!;
    const exact = `${layer}/${weight}`;
    const full = `${path.join('/')}/${weight}`;
    let best: Entry | undefined;
    let bestScore = 0;
    for (const e of this.entries) {
      let score = 0;
      if (e.name === full) score = 4;
      else if (e.name === exact) score = 3;
      else if (e.name.endsWith(`/${exact}`)) score = 2;
      else if (e.name.startsWith(`${layer}/`) && e.name.endsWith(`/${weight}`) && e.name.split('/').length === 3) score = 1;
      if (score > bestScore) {
        best = e;
        bestScore = score;
      }
    }
    return best;
  }

  /** The manifest entry named exactly `name` (a graph model's Const node), if any. */
  get(name: string): Entry | undefined {
    return this.entries.find((e) => e.name === name || e.spec.name === name);
  }

  /** Decode an entry to float32. */
  decode(e: Entry): DecodedWeight {
    const { spec } = e;
    const count = e.byteLength / storedBytesPerElement(spec, this.source);
    const raw = this.bytes.subarray(e.offset, e.offset + e.byteLength);
    const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
    const out = new Float32Array(count);
    const q = spec.quantization;
    if (q && q.dtype !== 'float16') {
      if (q.scale === undefined || q.min === undefined) {
        throw new ModelFormatError(`${this.source}: quantised weight '${spec.name}' lacks 'scale' or 'min'`);
      }
      // The converter's affine quantisation: value = q * scale + min.
      const { scale, min } = q;
      if (q.dtype === 'uint8') for (let i = 0; i < count; i++) out[i] = raw[i]! * scale + min;
      else if (q.dtype === 'uint16') for (let i = 0; i < count; i++) out[i] = view.getUint16(2 * i, true) * scale + min;
      else throw new ModelFormatError(`${this.source}: weight '${spec.name}' uses quantisation dtype '${q.dtype}', which is not supported`);
      return { name: spec.name, shape: spec.shape, values: out };
    }
    const t = q?.dtype ?? spec.dtype;
    for (let i = 0; i < count; i++) {
      switch (t) {
        case 'float32':
          out[i] = view.getFloat32(4 * i, true);
          break;
        case 'int32':
          out[i] = view.getInt32(4 * i, true);
          break;
        case 'float16':
          out[i] = halfToFloat(view.getUint16(2 * i, true));
          break;
        case 'uint16':
          out[i] = view.getUint16(2 * i, true);
          break;
        case 'int16':
          out[i] = view.getInt16(2 * i, true);
          break;
        case 'int8':
          out[i] = view.getInt8(i);
          break;
        default:
          out[i] = raw[i]!;
      }
    }
    return { name: spec.name, shape: spec.shape, values: out };
  }
}
