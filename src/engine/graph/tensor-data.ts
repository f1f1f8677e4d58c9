import type { DataType, TensorData, TypedData } from './types.js';

export function float32Tensor(data: ArrayLike<number>, dims: number[]): TensorData {
  return { dataType: 'float32', dims: [...dims], data: Float32Array.from(data) };
}

export function int64Tensor(data: ArrayLike<number>, dims: number[] = [data.length]): TensorData {
  const out = new BigInt64Array(data.length);
  for (let i = 0; i < data.length; i++) out[i] = BigInt(Math.trunc(data[i]!));
  return { dataType: 'int64', dims: [...dims], data: out };
}

export function elementCount(dims: readonly number[]): number {
  let n = 1;
  for (const d of dims) n *= d;
  return n;
}

/** Values as plain numbers (int64 beyond 2^53 loses precision; float16 is decoded). */
export function tensorToNumbers(t: TensorData): number[] {
  const out: number[] = new Array(t.data.length);
  if (t.dataType === 'float16') {
    for (let i = 0; i < t.data.length; i++) out[i] = halfToFloat(t.data[i] as number);
  } else {
    for (let i = 0; i < t.data.length; i++) out[i] = Number(t.data[i]);
  }
  return out;
}

/** A float32 copy of a floating-point tensor (float16 / float64 converted). */
export function toFloat32(t: TensorData): Float32Array {
  if (t.dataType === 'float32') return t.data as Float32Array;
  return Float32Array.from(tensorToNumbers(t));
}

export function halfToFloat(h: number): number {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const f = h & 0x3ff;
  if (e === 0) return s * f * 2 ** -24;
  if (e === 0x1f) return f ? NaN : s * Infinity;
  return s * (1 + f / 1024) * 2 ** (e - 15);
}

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);
/** IEEE float32 -> float16 bits, round to nearest even. */
export function floatToHalf(v: number): number {
  f32[0] = v;
  const x = u32[0]!;
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  let mant = x & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0);
  let e = exp - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign;
    mant |= 0x800000;
    const shift = 14 - e;
    let half = mant >>> shift;
    const rem = mant & ((1 << shift) - 1);
    const mid = 1 << (shift - 1);
    if (rem > mid || (rem === mid && half & 1)) half++;
    return sign | half;
  }
  let half = (e << 10) | (mant >>> 13);
  const rem = mant & 0x1fff;
  if (rem > 0x1000 || (rem === 0x1000 && half & 1)) half++;
  return sign | half;
}

export function bytesPerElement(t: DataType): number {
  switch (t) {
    case 'float64':
    case 'int64':
      return 8;
    case 'float32':
    case 'int32':
      return 4;
    case 'float16':
    case 'int16':
    case 'uint16':
      return 2;
    default:
      return 1;
  }
}

/** A typed array of the right class for `t`, copied out of raw little-endian bytes. */
export function typedFromBytes(t: DataType, bytes: Uint8Array): TypedData {
  // A copy with its own buffer (Node Buffers share pooled memory; their slice() is a view).
  const copy = new Uint8Array(bytes);
  const buf = copy.buffer;
  switch (t) {
    case 'float32':
      return new Float32Array(buf, 0, copy.byteLength / 4);
    case 'float64':
      return new Float64Array(buf, 0, copy.byteLength / 8);
    case 'int64':
      return new BigInt64Array(buf, 0, copy.byteLength / 8);
    case 'int32':
      return new Int32Array(buf, 0, copy.byteLength / 4);
    case 'int16':
      return new Int16Array(buf, 0, copy.byteLength / 2);
    case 'float16':
    case 'uint16':
      return new Uint16Array(buf, 0, copy.byteLength / 2);
    case 'int8':
      return new Int8Array(buf, 0, copy.byteLength);
    case 'uint8':
    case 'bool':
      return new Uint8Array(buf, 0, copy.byteLength);
  }
}

export function emptyTyped(t: DataType, n: number): TypedData {
  return typedFromBytes(t, new Uint8Array(n * bytesPerElement(t)));
}

export function typedToBytes(data: TypedData): Uint8Array {
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}
