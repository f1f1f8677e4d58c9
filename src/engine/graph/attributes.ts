import type { Attribute, Node, TensorData } from './types.js';

/** Typed attribute readers with ONNX defaults. */
export function attrInt(node: Node, name: string, fallback: number): number;
export function attrInt(node: Node, name: string): number | undefined;
export function attrInt(node: Node, name: string, fallback?: number): number | undefined {
  const a = node.attributes[name];
  return a && a.type === 'int' ? a.value : fallback;
}

export function attrFloat(node: Node, name: string, fallback: number): number;
export function attrFloat(node: Node, name: string): number | undefined;
export function attrFloat(node: Node, name: string, fallback?: number): number | undefined {
  const a = node.attributes[name];
  if (a && (a.type === 'float' || a.type === 'int')) return a.value;
  return fallback;
}

export function attrInts(node: Node, name: string, fallback: number[]): number[];
export function attrInts(node: Node, name: string): number[] | undefined;
export function attrInts(node: Node, name: string, fallback?: number[]): number[] | undefined {
  const a = node.attributes[name];
  return a && a.type === 'ints' ? a.value : fallback;
}

export function attrFloats(node: Node, name: string): number[] | undefined {
  const a = node.attributes[name];
  return a && a.type === 'floats' ? a.value : undefined;
}

export function attrString(node: Node, name: string, fallback: string): string;
export function attrString(node: Node, name: string): string | undefined;
export function attrString(node: Node, name: string, fallback?: string): string | undefined {
  const a = node.attributes[name];
  return a && a.type === 'string' ? a.value : fallback;
}

export function attrTensor(node: Node, name: string): TensorData | undefined {
  const a = node.attributes[name];
  return a && a.type === 'tensor' ? a.value : undefined;
}

/** Shorthands for building attribute maps. */
export const A = {
  int: (value: number): Attribute => ({ type: 'int', value }),
  float: (value: number): Attribute => ({ type: 'float', value }),
  ints: (value: number[]): Attribute => ({ type: 'ints', value }),
  floats: (value: number[]): Attribute => ({ type: 'floats', value }),
  string: (value: string): Attribute => ({ type: 'string', value }),
  tensor: (value: TensorData): Attribute => ({ type: 'tensor', value }),
};
