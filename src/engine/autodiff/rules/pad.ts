/** Gradient rule for Pad (constant mode). */
import { attrInts, attrString } from '../../graph/attributes.js';
import type { GradRule } from '../context.js';

const INT64_MAX = Number.MAX_SAFE_INTEGER;

/**
 * Constant padding places X inside a larger tensor, so dX is dY cut back to X's extent:
 * Slice away the added borders, and where a pad is negative (Pad cropped X) put the cropped
 * part back as zeros with a second Pad.
 */
const Pad: GradRule = (c) => {
  const node = c.node;
  if (c.needsGrad(2)) c.fail('the gradient with respect to constant_value is not supported');
  if (!c.needsGrad(0)) return;
  const mode = attrString(node, 'mode', 'constant');
  if (mode !== 'constant') c.fail(`mode '${mode}' is not supported (only constant)`);
  const rank = c.shape(node.inputs[0]!).length;
  const pads = attrInts(node, 'pads') ?? (node.inputs[1] ? c.constant(node.inputs[1]) : undefined);
  if (!pads) c.fail('pads must be a constant for the gradient');
  let axes = Array.from({ length: rank }, (_, i) => i);
  if (node.inputs[3]) {
    const a = c.constant(node.inputs[3]);
    if (!a) c.fail('axes must be a constant for the gradient');
    axes = a!.map((v) => (v < 0 ? v + rank : v));
  }
  const n = axes.length;
  if (pads!.length !== 2 * n) c.fail(`expected ${2 * n} pads, got ${pads!.length}`);
  const begin = pads!.slice(0, n);
  const end = pads!.slice(n);

  let g = c.outputGrad(0)!;
  const sliced = axes.filter((_, j) => begin[j]! > 0 || end[j]! > 0);
  if (sliced.length) {
    const js = axes.flatMap((_, j) => (begin[j]! > 0 || end[j]! > 0 ? [j] : []));
    const starts = js.map((j) => Math.max(0, begin[j]!));
    const ends = js.map((j) => (end[j]! > 0 ? -end[j]! : INT64_MAX));
    g = c.op('Slice', [g, c.constInt64(starts), c.constInt64(ends), c.constInt64(sliced)]);
  }
  if (begin.some((p) => p < 0) || end.some((p) => p < 0)) {
    const restore = new Array(2 * rank).fill(0);
    axes.forEach((a, j) => {
      restore[a] = Math.max(0, -begin[j]!);
      restore[a + rank] = Math.max(0, -end[j]!);
    });
    g = c.op('Pad', [g, c.constInt64(restore)]);
  }
  if (g === c.outputGrad(0)) g = c.op('Identity', [g]);
  c.setGrad(0, g);
};

export const padRules: Record<string, GradRule> = { Pad };
