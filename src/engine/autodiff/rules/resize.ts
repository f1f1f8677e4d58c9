/**
 * Gradient rules for Resize and Upsample (nearest and linear, 4-D, scaling H and W). Such a
 * resize is separable and linear: Y = Rh X Rw^T for each (n, c) plane with constant
 * interpolation matrices, so dX = Rh^T dY Rw. The matrices follow onnxruntime's arithmetic
 * (float32 coordinates, clamping at the borders) so they reproduce its forward output.
 */
import { attrFloats, attrInt, attrInts, attrString } from '../../graph/attributes.js';
import type { GradContext, GradRule } from '../context.js';

export type NearestMode = 'round_prefer_floor' | 'round_prefer_ceil' | 'floor' | 'ceil' | 'simple';

/** How one axis is resized. */
export interface AxisResize {
  inLen: number;
  outLen: number;
  /** outLen / inLen as the op sees it (the scales value, or computed from sizes). */
  scale: number;
  mode: 'nearest' | 'linear';
  coordinateMode: string;
  /** 'simple' is the pre-opset-11 rule: truncate when upsampling, ceil when downsampling. */
  nearestMode: NearestMode;
}

const f = Math.fround;

/** Input coordinate of output position `o` (float32 arithmetic, as onnxruntime does it). */
function sourceCoordinate(a: AxisResize, o: number): number {
  const { scale, inLen, outLen } = a;
  switch (a.coordinateMode) {
    case 'half_pixel':
      return f(f(f(o + 0.5) / scale) - 0.5);
    case 'pytorch_half_pixel':
      return outLen > 1 ? f(f(f(o + 0.5) / scale) - 0.5) : 0;
    case 'asymmetric':
      return f(o / scale);
    case 'tf_half_pixel_for_nn':
      return f(f(o + 0.5) / scale);
    case 'align_corners':
      return outLen === 1 ? 0 : f(f(o * (inLen - 1)) / (outLen - 1));
    case 'half_pixel_symmetric': {
      const adjustment = f(outLen / f(scale * inLen));
      const offset = f(f(inLen / 2) * f(1 - adjustment));
      return f(offset + f(f(f(o + 0.5) / scale) - 0.5));
    }
    default:
      throw new Error(`coordinate_transformation_mode '${a.coordinateMode}'`);
  }
}

function nearestIndex(x: number, mode: NearestMode, downsampling: boolean): number {
  switch (mode) {
    case 'round_prefer_floor':
      return x - Math.floor(x) === 0.5 ? Math.floor(x) : Math.round(x);
    case 'round_prefer_ceil':
      return Math.round(x);
    case 'floor':
      return Math.floor(x);
    case 'ceil':
      return Math.ceil(x);
    case 'simple':
      return downsampling ? Math.ceil(x) : Math.trunc(x);
  }
}

/** The [outLen, inLen] row-major matrix R with y = R x along this axis. */
export function interpolationMatrix(a: AxisResize): Float64Array {
  const { inLen, outLen } = a;
  const m = new Float64Array(outLen * inLen);
  for (let o = 0; o < outLen; o++) {
    const x = sourceCoordinate(a, o);
    if (a.mode === 'nearest') {
      const i = Math.min(Math.max(nearestIndex(x, a.nearestMode, a.scale < 1), 0), inLen - 1);
      m[o * inLen + i] = 1;
    } else {
      const xc = Math.min(Math.max(x, 0), inLen - 1);
      const i0 = Math.min(Math.trunc(xc), inLen - 1);
      const i1 = Math.min(i0 + 1, inLen - 1);
      const w1 = f(xc - i0);
      m[o * inLen + i0] += i0 === i1 ? 1 : f(1 - w1);
      if (i1 !== i0) m[o * inLen + i1] += w1;
    }
  }
  return m;
}

function isIdentity(m: Float64Array, n: number, rows: number): boolean {
  if (n !== rows) return false;
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) if (m[i * n + j] !== (i === j ? 1 : 0)) return false;
  return true;
}

function transposed(m: Float64Array, rows: number, cols: number): Float64Array {
  const t = new Float64Array(m.length);
  for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) t[j * rows + i] = m[i * cols + j]!;
  return t;
}

/** Non-empty constant values of optional input i, or undefined. */
function optionalConstant(c: GradContext, i: number, what: string): number[] | undefined {
  const name = c.node.inputs[i];
  if (!name) return undefined;
  const v = c.constant(name);
  if (!v) c.fail(`${what} ('${name}') must be a constant for the gradient`);
  return v!.length ? v : undefined;
}

const resizeRule: GradRule = (c) => {
  if (!c.needsGrad(0)) return;
  const node = c.node;
  for (let i = 1; i < node.inputs.length; i++) if (c.needsGrad(i)) c.fail(`the gradient with respect to input ${i} is not supported`);
  const xShape = c.shape(node.inputs[0]!);
  const yShape = c.shape(node.outputs[0]!);
  if (xShape.length !== 4) c.fail(`only 4-D inputs are supported, got rank ${xShape.length}`);
  // Upsample and Resize-10 use asymmetric coordinates and the old nearest rule.
  const legacy = node.opType === 'Upsample' || c.opset < 11;
  let mode = attrString(node, 'mode', 'nearest');
  if (mode === 'bilinear') mode = 'linear';
  if (mode !== 'nearest' && mode !== 'linear') c.fail(`mode '${mode}' is not supported (nearest and linear are)`);
  const coordinateMode = legacy ? 'asymmetric' : attrString(node, 'coordinate_transformation_mode', 'half_pixel');
  const known = ['half_pixel', 'pytorch_half_pixel', 'asymmetric', 'tf_half_pixel_for_nn', 'align_corners', 'half_pixel_symmetric'];
  if (!known.includes(coordinateMode)) c.fail(`coordinate_transformation_mode '${coordinateMode}' is not supported`);
  const nearestMode = (legacy ? 'simple' : attrString(node, 'nearest_mode', 'round_prefer_floor')) as NearestMode;
  if (!['round_prefer_floor', 'round_prefer_ceil', 'floor', 'ceil', 'simple'].includes(nearestMode)) c.fail(`nearest_mode '${nearestMode}' is not supported`);
  if (attrString(node, 'keep_aspect_ratio_policy', 'stretch') !== 'stretch') c.fail('keep_aspect_ratio_policy other than stretch is not supported');

  let scales: number[] | undefined;
  let sizes: number[] | undefined;
  if (node.opType === 'Upsample') scales = attrFloats(node, 'scales') ?? optionalConstant(c, 1, 'scales');
  else if (legacy) scales = optionalConstant(c, 1, 'scales');
  else {
    sizes = optionalConstant(c, 3, 'sizes');
    if (!sizes) scales = optionalConstant(c, 2, 'scales');
  }
  // opset 18: scales/sizes may list only some axes.
  const axes = attrInts(node, 'axes');
  if (axes) {
    const full = (v: number[] | undefined, fill: (i: number) => number) => {
      if (!v) return undefined;
      const out = xShape.map((_, i) => fill(i));
      axes.forEach((a, j) => (out[a < 0 ? a + 4 : a] = v[j]!));
      return out;
    };
    scales = full(scales, () => 1);
    sizes = full(sizes, (i) => xShape[i] as number);
  }
  if (!scales && !sizes) c.fail('neither scales nor sizes is given');
  for (let i = 0; i < 2; i++) {
    if (scales ? scales[i] !== 1 : sizes![i] !== xShape[i]) c.fail('resizing the batch or channel axis is not supported');
  }
  const dims = [xShape[2], xShape[3], yShape[2], yShape[3]];
  if (!dims.every((d): d is number => typeof d === 'number')) c.fail('the spatial sizes must be fixed');
  const [hIn, wIn, hOut, wOut] = dims as number[];
  if (attrInt(node, 'antialias', 0) === 1 && (hOut! < hIn! || wOut! < wIn!)) c.fail('antialias=1 when downsampling is not supported');

  const axis = (k: 2 | 3, inLen: number, outLen: number): AxisResize => ({
    inLen,
    outLen,
    scale: scales ? f(scales[k]!) : f(f(outLen) / f(inLen)),
    mode: mode as 'nearest' | 'linear',
    coordinateMode,
    nearestMode,
  });
  const rh = interpolationMatrix(axis(2, hIn!, hOut!));
  const rw = interpolationMatrix(axis(3, wIn!, wOut!));
  let g = c.outputGrad(0)!;
  // [Hi, Ho] x [N, C, Ho, Wo] -> [N, C, Hi, Wo], then x [Wo, Wi] -> [N, C, Hi, Wi].
  if (!isIdentity(rh, hIn!, hOut!)) g = c.op('MatMul', [c.constFloat(transposed(rh, hOut!, hIn!), [hIn!, hOut!]), g]);
  if (!isIdentity(rw, wIn!, wOut!)) g = c.op('MatMul', [g, c.constFloat(rw, [wOut!, wIn!])]);
  if (g === c.outputGrad(0)) g = c.op('Identity', [g]);
  c.setGrad(0, g);
};

export const resizeRules: Record<string, GradRule> = { Resize: resizeRule, Upsample: resizeRule };
