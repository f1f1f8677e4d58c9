/**
 * Arithmetic on dimensions that may be symbolic. A symbolic dimension is a product written
 * as a string, e.g. "N" or "N*512", so Flatten and Reshape keep track of the batch.
 */
import type { Dim } from './types.js';

interface Product {
  coef: number;
  syms: string[];
}

function parse(d: Dim): Product {
  if (typeof d === 'number') return { coef: d, syms: [] };
  let coef = 1;
  const syms: string[] = [];
  for (const part of d.split('*')) {
    if (/^\d+$/.test(part)) coef *= Number(part);
    else syms.push(part);
  }
  return { coef, syms: syms.sort() };
}

function format(p: Product): Dim {
  if (p.syms.length === 0) return p.coef;
  return p.coef === 1 ? p.syms.join('*') : `${p.syms.join('*')}*${p.coef}`;
}

export function dimMul(a: Dim, b: Dim): Dim {
  const pa = parse(a);
  const pb = parse(b);
  return format({ coef: pa.coef * pb.coef, syms: [...pa.syms, ...pb.syms].sort() });
}

export function dimProduct(dims: readonly Dim[]): Dim {
  return dims.reduce<Dim>((acc, d) => dimMul(acc, d), 1);
}

/** a / b when it divides exactly, else undefined. */
export function dimDiv(a: Dim, b: Dim): Dim | undefined {
  const pa = parse(a);
  const pb = parse(b);
  if (pb.coef === 0 || pa.coef % pb.coef !== 0) return undefined;
  const syms = [...pa.syms];
  for (const s of pb.syms) {
    const i = syms.indexOf(s);
    if (i < 0) return undefined;
    syms.splice(i, 1);
  }
  return format({ coef: pa.coef / pb.coef, syms });
}

export function dimAdd(a: Dim, b: Dim): Dim | undefined {
  if (typeof a === 'number' && typeof b === 'number') return a + b;
  return undefined;
}

export function dimEq(a: Dim, b: Dim): boolean {
  return format(parse(a)) === format(parse(b));
}

export function isStatic(shape: readonly Dim[]): shape is number[] {
  return shape.every((d) => typeof d === 'number');
}

/** Numpy-style broadcast of several shapes; undefined when they cannot broadcast. */
export function broadcastShapes(shapes: readonly (readonly Dim[])[]): Dim[] | undefined {
  const rank = Math.max(...shapes.map((s) => s.length));
  const out: Dim[] = [];
  for (let i = 0; i < rank; i++) {
    let d: Dim = 1;
    for (const s of shapes) {
      const k = s.length - rank + i;
      if (k < 0) continue;
      const e = s[k]!;
      if (e === 1) continue;
      if (d === 1) d = e;
      else if (!dimEq(d, e)) {
        if (typeof d === 'number' && typeof e === 'number') return undefined;
        // One side symbolic: trust the model; prefer the numeric value.
        if (typeof e === 'number') d = e;
      }
    }
    out.push(d);
  }
  return out;
}

export function formatShape(shape: readonly Dim[] | undefined): string {
  return shape ? `[${shape.join(', ')}]` : '[?]';
}
