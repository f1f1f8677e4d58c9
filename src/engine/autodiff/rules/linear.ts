/** Gradient rules for Gemm and MatMul. */
import { attrFloat, attrInt } from '../../graph/attributes.js';
import { broadcastShapes } from '../../graph/dims.js';
import type { Attribute, Dim } from '../../graph/types.js';
import type { GradContext, GradRule } from '../context.js';
import { unbroadcast } from '../unbroadcast.js';
import { unsqueeze } from './reduce.js';

const int = (value: number): Attribute => ({ type: 'int', value });
const float = (value: number): Attribute => ({ type: 'float', value });

/** alpha * op(p) @ op(q) as a two-input Gemm. */
function gemm(c: GradContext, p: string, q: string, transP: boolean, transQ: boolean, alpha: number): string {
  const attrs: Record<string, Attribute> = {};
  if (transP) attrs['transA'] = int(1);
  if (transQ) attrs['transB'] = int(1);
  if (alpha !== 1) attrs['alpha'] = float(alpha);
  return c.op('Gemm', [p, q], attrs);
}

/**
 * Y = alpha * op(A) @ op(B) + beta * C. With G the output gradient:
 * dop(A) = alpha * G @ op(B)^T and dop(B) = alpha * op(A)^T @ G, transposed back when
 * the forward op transposed; dC = beta * G summed to C's (broadcast) shape.
 */
const Gemm: GradRule = (c) => {
  const g = c.outputGrad(0)!;
  const [a, b, cIn] = c.node.inputs as [string, string, string | undefined];
  const alpha = attrFloat(c.node, 'alpha', 1);
  const beta = attrFloat(c.node, 'beta', 1);
  const tA = attrInt(c.node, 'transA', 0) === 1;
  const tB = attrInt(c.node, 'transB', 0) === 1;
  if (c.needsGrad(0)) {
    // dA = alpha * G @ op(B)^T, or its transpose (alpha * op(B) @ G^T) when transA.
    c.setGrad(0, tA ? gemm(c, b, g, tB, true, alpha) : gemm(c, g, b, false, !tB, alpha));
  }
  if (c.needsGrad(1)) {
    // dB = alpha * op(A)^T @ G, or its transpose (alpha * G^T @ op(A)) when transB.
    c.setGrad(1, tB ? gemm(c, g, a, true, tA, alpha) : gemm(c, a, g, !tA, false, alpha));
  }
  if (cIn && c.needsGrad(2)) {
    const scaled = beta === 1 ? g : c.op('Mul', [g, c.constFloat([beta], [])]);
    c.setGrad(2, unbroadcast(c, scaled, c.shape(cIn), c.shape(c.node.outputs[0]!), cIn));
  }
};

/** Swap the last two axes of a tensor of the given rank. */
function swapLast(c: GradContext, t: string, rank: number): string {
  const perm = Array.from({ length: rank }, (_, i) => i);
  [perm[rank - 2], perm[rank - 1]] = [perm[rank - 1]!, perm[rank - 2]!];
  return c.op('Transpose', [t], { perm: { type: 'ints', value: perm } });
}

/**
 * Y = A @ B with numpy matmul semantics: batch axes broadcast, a 1-D A is a row and a 1-D B a
 * column (their axis removed from Y). Work on the 2-D-or-more forms A2, B2 and G2:
 * dA2 = G2 @ B2^T and dB2 = A2^T @ G2, each summed over the batch axes its input broadcast on.
 */
const MatMul: GradRule = (c) => {
  const g = c.outputGrad(0)!;
  const [a, b] = c.node.inputs as [string, string];
  const aShape = c.shape(a);
  const bShape = c.shape(b);
  const a2Shape: Dim[] = aShape.length === 1 ? [1, aShape[0]!] : aShape;
  const b2Shape: Dim[] = bShape.length === 1 ? [bShape[0]!, 1] : bShape;
  const batch = broadcastShapes([a2Shape.slice(0, -2), b2Shape.slice(0, -2)]);
  if (!batch) return c.fail('the batch axes of the inputs do not broadcast');
  const a2 = aShape.length === 1 ? unsqueeze(c, a, [0]) : a;
  const b2 = bShape.length === 1 ? unsqueeze(c, b, [1]) : b;
  let g2 = g;
  if (bShape.length === 1) g2 = unsqueeze(c, g2, [-1]);
  if (aShape.length === 1) g2 = unsqueeze(c, g2, [-2]);

  const back = (i: number, grad: string, own: Dim[], input: string, was1d: boolean) => {
    // The product's shape before summing: batch axes, then the input's own last two axes.
    const full = [...batch, ...own.slice(-2)];
    let r = unbroadcast(c, grad, own, full, input);
    if (was1d) r = c.op('Reshape', [r, c.op('Shape', [input])]);
    c.setGrad(i, r);
  };
  if (c.needsGrad(0)) back(0, c.op('MatMul', [g2, swapLast(c, b2, b2Shape.length)]), a2Shape, a, aShape.length === 1);
  if (c.needsGrad(1)) back(1, c.op('MatMul', [swapLast(c, a2, a2Shape.length), g2]), b2Shape, b, bShape.length === 1);
};

export const linearRules: Record<string, GradRule> = { Gemm, MatMul };
