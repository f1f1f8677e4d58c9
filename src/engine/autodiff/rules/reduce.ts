/**
 * Gradient rules for reductions (ReduceSum, ReduceMean, ReduceMax, ReduceMin), plus the
 * opset-aware ReduceSum / Unsqueeze builders other rules share.
 */
import { attrInt, attrInts } from '../../graph/attributes.js';
import type { Attribute } from '../../graph/types.js';
import type { GradContext, GradRule } from '../context.js';

const int = (value: number): Attribute => ({ type: 'int', value });

/** ReduceSum over `axes` (already non-negative), axes as an input from opset 13 on. */
export function reduceSum(c: GradContext, x: string, axes: number[], keepdims: boolean): string {
  if (c.opset >= 13) return c.op('ReduceSum', [x, c.constInt64(axes)], { keepdims: int(keepdims ? 1 : 0) });
  return c.op('ReduceSum', [x], { axes: { type: 'ints', value: axes }, keepdims: int(keepdims ? 1 : 0) });
}

/** Unsqueeze at `axes` (of the output), axes as an input from opset 13 on. */
export function unsqueeze(c: GradContext, x: string, axes: number[]): string {
  if (c.opset >= 13) return c.op('Unsqueeze', [x, c.constInt64(axes)]);
  return c.op('Unsqueeze', [x], { axes: { type: 'ints', value: axes } });
}

/**
 * The reduced axes of a Reduce* node, sorted and non-negative, or undefined when the node
 * is a no-op (empty axes with noop_with_empty_axes = 1). Missing / empty axes mean all.
 */
function reducedAxes(c: GradContext, rank: number): number[] | undefined {
  let axes = attrInts(c.node, 'axes');
  const axesInput = c.node.inputs[1];
  if (!axes && axesInput) {
    axes = c.constant(axesInput);
    if (!axes) c.fail(`the axes ('${axesInput}') must be a constant`);
  }
  if (!axes || axes.length === 0) {
    if (attrInt(c.node, 'noop_with_empty_axes', 0) === 1) return undefined;
    return Array.from({ length: rank }, (_, i) => i);
  }
  const norm = axes.map((a) => (a < 0 ? a + rank : a));
  if (norm.some((a) => a < 0 || a >= rank)) c.fail(`axes [${axes.join(', ')}] are out of range for rank ${rank}`);
  return [...new Set(norm)].sort((p, q) => p - q);
}

interface Reduction {
  x: string;
  /** The reduced axes. */
  axes: number[];
  /** The output gradient with the reduced axes kept as size 1 (broadcasts against x). */
  gKeep: string;
  /** Puts the reduced axes back into a tensor shaped like the output. */
  keep: (t: string) => string;
}

/** Common set-up; returns undefined (after passing g through) for a no-op reduction. */
function reduction(c: GradContext): Reduction | undefined {
  const x = c.node.inputs[0]!;
  const axes = reducedAxes(c, c.shape(x).length);
  const g = c.outputGrad(0)!;
  if (!axes) {
    c.setGrad(0, g);
    return undefined;
  }
  const keepdims = attrInt(c.node, 'keepdims', 1) === 1;
  const keep = (t: string) => (keepdims ? t : unsqueeze(c, t, axes));
  return { x, axes, gKeep: keep(g), keep };
}

const ReduceSum: GradRule = (c) => {
  const r = reduction(c);
  if (r) c.setGrad(0, c.op('Expand', [r.gKeep, c.op('Shape', [r.x])]));
};

/** As ReduceSum, divided by the number of elements averaged. */
const ReduceMean: GradRule = (c) => {
  const r = reduction(c);
  if (!r) return;
  const xShape = c.shape(r.x);
  const dims = r.axes.map((a) => xShape[a]!);
  let scale: string;
  if (dims.every((d) => typeof d === 'number')) {
    scale = c.constFloat([1 / (dims as number[]).reduce((p, q) => p * q, 1)], []);
  } else {
    // A symbolic (batch) axis is averaged: the count is size(y) / size(x) at run time.
    const size = (t: string) => c.op('Cast', [c.op('Size', [t])], { to: int(1) });
    scale = c.op('Div', [size(c.node.outputs[0]!), size(r.x)]);
  }
  c.setGrad(0, c.op('Mul', [c.op('Expand', [r.gKeep, c.op('Shape', [r.x])]), scale]));
};

/** The gradient goes to the positions equal to the extreme; ties share it evenly (as torch.amax). */
const extreme: GradRule = (c) => {
  const r = reduction(c);
  if (!r) return;
  const y = r.keep(c.node.outputs[0]!);
  const mask = c.op('Cast', [c.op('Equal', [r.x, y])], { to: int(1) });
  const count = reduceSum(c, mask, r.axes, true);
  c.setGrad(0, c.op('Mul', [mask, c.op('Div', [r.gKeep, count])]));
};

export const reduceRules: Record<string, GradRule> = { ReduceSum, ReduceMean, ReduceMax: extreme, ReduceMin: extreme };
