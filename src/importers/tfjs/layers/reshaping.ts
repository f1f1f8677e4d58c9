/**
 * Layers that move elements around: Flatten, Reshape and Permute (done in Keras's NHWC order,
 * so what follows sees Keras's element order), ZeroPadding2D, Cropping2D and UpSampling2D.
 */
import { A } from '../../../engine/graph/attributes.js';
import { ktensor } from '../builder.js';
import { cfgPair, cfgStr, image, single, type Converter, type LayerContext } from '../context.js';
import type { KerasShape } from '../model-json.js';

function fixedDims(ctx: LayerContext, shape: KerasShape): number[] {
  return shape.slice(1).map((d) => (typeof d === 'number' ? d : ctx.fail(`needs a fixed input size, got [${shape.map((v) => v ?? 'None').join(', ')}]`)));
}

const Flatten: Converter = (ctx) => {
  const x = single(ctx);
  if (x.shape.length === 2) return x;
  const n = fixedDims(ctx, x.shape).reduce((a, b) => a * b, 1);
  // Keras flattens in NHWC order; NCHW data is put in that order first.
  const data = ctx.b.kerasOrder(x, ctx.base);
  return ktensor(ctx.b.op('Flatten', [data], { axis: A.int(1) }, `${ctx.base}/flatten`), [null, n]);
};

const Reshape: Converter = (ctx) => {
  const x = single(ctx);
  const target = ctx.layer.config['target_shape'];
  // TF.js writes the free dimension (-1) as null.
  if (!Array.isArray(target) || target.some((d) => typeof d !== 'number' && d !== null)) ctx.fail(`config 'target_shape' ${JSON.stringify(target)} is not a list of ints`);
  const total = fixedDims(ctx, x.shape).reduce((a, b) => a * b, 1);
  const dims = (target as (number | null)[]).map((d) => d ?? -1);
  const free = dims.indexOf(-1);
  if (free >= 0) {
    const known = dims.reduce((a, d, i) => (i === free ? a : a * d), 1);
    if (known === 0 || total % known !== 0) ctx.fail(`cannot reshape ${total} elements to ${JSON.stringify(target)}`);
    dims[free] = total / known;
  }
  if (dims.reduce((a, b) => a * b, 1) !== total) ctx.fail(`cannot reshape [${x.shape.slice(1).join(', ')}] to ${JSON.stringify(target)}`);
  const shape: KerasShape = [null, ...dims];
  const data = ctx.b.kerasOrder(x, ctx.base);
  return ktensor(ctx.b.fromKerasOrder(data, shape, `${ctx.base}/reshape`), shape);
};

const Permute: Converter = (ctx) => {
  const x = single(ctx);
  const dims = ctx.layer.config['dims'];
  const rank = x.shape.length;
  if (!Array.isArray(dims) || dims.length !== rank - 1 || [...dims].sort().some((d, i) => d !== i + 1)) {
    ctx.fail(`config 'dims' ${JSON.stringify(dims)} is not a permutation of 1..${rank - 1}`);
  }
  const p = [0, ...(dims as number[])];
  const shape: KerasShape = p.map((a) => x.shape[a]!);
  // One Transpose: stored -> Keras order, permute, Keras order -> stored.
  const toKeras = x.layout === 'nchw' ? [0, 2, 3, 1] : p.map((_, i) => i);
  const fromKeras = rank === 4 ? [0, 3, 1, 2] : p.map((_, i) => i);
  const perm = fromKeras.map((i) => toKeras[p[i]!]!);
  return ktensor(ctx.b.op('Transpose', [x.name], { perm: A.ints(perm) }, `${ctx.base}/transpose`), shape);
};

/** A 2-D padding / cropping config: int, [h, w] or [[top, bottom], [left, right]]. */
function edges(ctx: LayerContext, key: string): [number, number, number, number] {
  const v = ctx.layer.config[key];
  if (typeof v === 'number') return [v, v, v, v];
  if (Array.isArray(v) && v.length === 2) {
    if (typeof v[0] === 'number' && typeof v[1] === 'number') return [v[0], v[0], v[1], v[1]];
    if (Array.isArray(v[0]) && Array.isArray(v[1])) {
      const [t, b] = v[0] as number[];
      const [l, r] = v[1] as number[];
      if ([t, b, l, r].every((n) => typeof n === 'number')) return [t!, b!, l!, r!];
    }
  }
  return ctx.fail(`config '${key}' ${JSON.stringify(v)} is not understood`);
}

const ZeroPadding2D: Converter = (ctx) => {
  const { x, h, w, c } = image(ctx);
  const [t, bo, l, r] = edges(ctx, 'padding');
  const pads = ctx.b.ints(`${ctx.base}/pads`, [0, 0, t, l, 0, 0, bo, r]);
  return ktensor(ctx.b.op('Pad', [x.name, pads], { mode: A.string('constant') }, `${ctx.base}/pad`), [null, h + t + bo, w + l + r, c]);
};

const Cropping2D: Converter = (ctx) => {
  const { x, h, w, c } = image(ctx);
  const [t, bo, l, r] = edges(ctx, 'cropping');
  if (t + bo >= h || l + r >= w) ctx.fail(`cropping [[${t}, ${bo}], [${l}, ${r}]] leaves nothing of a ${h}x${w} input`);
  const b = ctx.b;
  const y = b.op(
    'Slice',
    [x.name, b.ints(`${ctx.base}/starts`, [t, l]), b.ints(`${ctx.base}/ends`, [h - bo, w - r]), b.ints(`${ctx.base}/axes`, [2, 3])],
    {},
    `${ctx.base}/slice`,
  );
  return ktensor(y, [null, h - t - bo, w - l - r, c]);
};

const UpSampling2D: Converter = (ctx) => {
  const { x, h, w, c } = image(ctx);
  const [sh, sw] = cfgPair(ctx, 'size', [2, 2]);
  const interpolation = cfgStr(ctx, 'interpolation', 'nearest');
  const b = ctx.b;
  // Output sizes as [N, C] (from the input) ++ [H', W'] so the batch stays free.
  const nc = b.op('Shape', [x.name], { start: A.int(0), end: A.int(2) }, `${ctx.base}/nc`);
  const sizes = b.op('Concat', [nc, b.ints(`${ctx.base}/hw`, [h * sh, w * sw])], { axis: A.int(0) }, `${ctx.base}/sizes`);
  // TF.js resizes without half-pixel centres (align_corners = false): ONNX 'asymmetric'.
  let attrs;
  if (interpolation === 'nearest') {
    attrs = { mode: A.string('nearest'), coordinate_transformation_mode: A.string('asymmetric'), nearest_mode: A.string('floor') };
  } else if (interpolation === 'bilinear') {
    attrs = { mode: A.string('linear'), coordinate_transformation_mode: A.string('asymmetric') };
  } else return ctx.fail(`interpolation '${interpolation}' is not supported`);
  return ktensor(b.op('Resize', [x.name, '', '', sizes], attrs, `${ctx.base}/resize`), [null, h * sh, w * sw, c]);
};

export const reshapingConverters: Record<string, Converter> = { Flatten, Reshape, Permute, ZeroPadding2D, Cropping2D, UpSampling2D };
