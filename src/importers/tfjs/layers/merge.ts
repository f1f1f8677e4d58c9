/** Merge layers: element-wise Add, Subtract, Multiply, Average, Maximum, Minimum, and Concatenate. */
import { A } from '../../../engine/graph/attributes.js';
import { ktensor, storageAxis, type KTensor } from '../builder.js';
import { cfgNum, type Converter, type LayerContext } from '../context.js';

function sameShapes(ctx: LayerContext, min: number): KTensor[] {
  const xs = ctx.inputs;
  if (xs.length < min) ctx.fail(`expects at least ${min} inputs, got ${xs.length}`);
  const s0 = JSON.stringify(xs[0]!.shape);
  for (const x of xs) {
    if (JSON.stringify(x.shape) !== s0) ctx.fail(`inputs have different shapes (${xs.map((t) => JSON.stringify(t.shape)).join(', ')})`);
  }
  return xs;
}

/** Fold the inputs pairwise with a binary op (binary ops have gradient rules everywhere). */
function chain(op: string): Converter {
  return (ctx) => {
    const xs = sameShapes(ctx, 2);
    let acc = xs[0]!.name;
    for (let i = 1; i < xs.length; i++) acc = ctx.b.op(op, [acc, xs[i]!.name], {}, `${ctx.base}/${op.toLowerCase()}`);
    return ktensor(acc, xs[0]!.shape);
  };
}

const Subtract: Converter = (ctx) => {
  const xs = sameShapes(ctx, 2);
  if (xs.length !== 2) ctx.fail(`expects exactly 2 inputs, got ${xs.length}`);
  return ktensor(ctx.b.op('Sub', [xs[0]!.name, xs[1]!.name], {}, `${ctx.base}/sub`), xs[0]!.shape);
};

const Average: Converter = (ctx) => {
  const sum = chain('Add')(ctx);
  const y = ctx.b.op('Mul', [sum.name, ctx.b.scalar(`${ctx.base}/inv_n`, 1 / ctx.inputs.length)], {}, `${ctx.base}/mean`);
  return ktensor(y, sum.shape);
};

const Concatenate: Converter = (ctx) => {
  const xs = ctx.inputs;
  if (xs.length < 1) ctx.fail('has no inputs');
  const rank = xs[0]!.shape.length;
  let axis = cfgNum(ctx, 'axis', -1);
  if (axis < 0) axis += rank;
  if (axis <= 0 || axis >= rank) ctx.fail(`axis ${cfgNum(ctx, 'axis', -1)} is out of range for rank ${rank}`);
  const shape = [...xs[0]!.shape];
  let total = 0;
  for (const x of xs) {
    if (x.shape.length !== rank || x.shape.some((d, i) => i !== axis && i > 0 && d !== shape[i])) {
      ctx.fail(`input shapes ${xs.map((t) => JSON.stringify(t.shape)).join(', ')} do not concatenate on axis ${axis}`);
    }
    const d = x.shape[axis];
    if (typeof d !== 'number') return ctx.fail('needs fixed sizes on the concatenation axis');
    total += d;
  }
  shape[axis] = total;
  if (xs.length === 1) return xs[0]!;
  return ktensor(ctx.b.op('Concat', xs.map((x) => x.name), { axis: A.int(storageAxis(xs[0]!, axis)) }, `${ctx.base}/concat`), shape);
};

export const mergeConverters: Record<string, Converter> = {
  Add: chain('Add'),
  Subtract,
  Multiply: chain('Mul'),
  Average,
  Maximum: chain('Max'),
  Minimum: chain('Min'),
  Concatenate,
};
