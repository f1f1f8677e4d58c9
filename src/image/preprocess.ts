/**
 * Turning model-size RGB pixels into the model's input tensor.
 *
 * Convention: for each channel c (named in RGB order),
 *     value = (pixel[c] * scale - mean[c]) / std[c]
 * with pixel in 0-255, so `mean` and `std` are on the scale AFTER multiplying by `scale`
 * (imagenet: scale 1/255, mean 0.485...; caffe: scale 1, mean 123.68...). `mean` and `std`
 * are always listed as [r, g, b]; `channelOrder` only decides the order of the channels in
 * the tensor.
 */
import { OptionError } from '../errors.js';
import { gaussianBlurRgb } from './blur.js';
import { createRgbImage, type RgbImage } from './types.js';

export type Layout = 'NCHW' | 'NHWC';
export type ChannelOrder = 'RGB' | 'BGR';

/** How a model wants its input image. */
export interface InputSpec {
  /** [height, width] of the model input. */
  size: [number, number];
  /** Tensor layout; the engine's graphs are NCHW (NHWC is kept for information / export). */
  layout: Layout;
  channelOrder: ChannelOrder;
  /** Per-channel mean [r, g, b], on the scale after multiplying by `scale`. */
  mean: [number, number, number];
  /** Per-channel std [r, g, b], on the scale after multiplying by `scale`. */
  std: [number, number, number];
  /** Factor applied to the 0-255 pixel before subtracting the mean. */
  scale: number;
}

export type PresetName = 'imagenet' | 'tf' | 'caffe' | 'unit';

const PRESET_VALUES: Record<PresetName, Omit<InputSpec, 'size' | 'layout'>> = {
  // torchvision: x/255, minus mean, over std.
  imagenet: { channelOrder: 'RGB', scale: 1 / 255, mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225] },
  // TF / Keras MobileNet, Inception: x/127.5 - 1.
  tf: { channelOrder: 'RGB', scale: 1 / 127.5, mean: [1, 1, 1], std: [1, 1, 1] },
  // Caffe / Keras VGG, ResNet50: BGR, minus the BGR means (103.939, 116.779, 123.68).
  caffe: { channelOrder: 'BGR', scale: 1, mean: [123.68, 116.779, 103.939], std: [1, 1, 1] },
  // x/255.
  unit: { channelOrder: 'RGB', scale: 1 / 255, mean: [0, 0, 0], std: [1, 1, 1] },
};

export const PRESET_NAMES = Object.keys(PRESET_VALUES) as PresetName[];

/** A preset (imagenet, tf, caffe, unit) for the given input size (default 224x224, NCHW). */
export function presetSpec(name: PresetName, size: [number, number] = [224, 224], layout: Layout = 'NCHW'): InputSpec {
  const p = PRESET_VALUES[name];
  if (!p) throw new OptionError(`preprocess: unknown preset '${name}' (expected one of ${PRESET_NAMES.join(', ')})`);
  return { size: [size[0], size[1]], layout, channelOrder: p.channelOrder, scale: p.scale, mean: [...p.mean], std: [...p.std] };
}

/** True when `name` is one of the preset names. */
export function isPresetName(name: string): name is PresetName {
  return Object.hasOwn(PRESET_VALUES, name);
}

/**
 * Validates a JSON value describing an InputSpec. Fields: size [h, w], layout, channelOrder,
 * mean [r, g, b], std [r, g, b], scale, and optionally `preset` (a preset name whose values
 * fill the fields not given). Without `preset`, mean, std and scale are required. size
 * defaults to defaults.size or [224, 224], layout to NCHW, channelOrder to RGB.
 * `source` (file name) is named in every OptionError.
 */
export function parseInputSpec(value: unknown, source: string, defaults: Partial<InputSpec> = {}): InputSpec {
  const fail = (field: string, msg: string): never => {
    throw new OptionError(`${source}: field '${field}' ${msg}`);
  };
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new OptionError(`${source}: expected a JSON object with size, layout, channelOrder, mean, std, scale`);
  }
  const o = value as Record<string, unknown>;
  const known = ['preset', 'size', 'layout', 'channelOrder', 'mean', 'std', 'scale'];
  for (const k of Object.keys(o)) if (!known.includes(k)) fail(k, `is unknown (expected ${known.join(', ')})`);
  let base: Partial<InputSpec> = { layout: 'NCHW', channelOrder: 'RGB', ...defaults };
  if (o.preset !== undefined) {
    if (typeof o.preset !== 'string' || !isPresetName(o.preset)) fail('preset', `must be one of ${PRESET_NAMES.join(', ')}`);
    base = { ...base, ...PRESET_VALUES[o.preset as PresetName] };
  }
  const triple = (field: 'mean' | 'std', positive: boolean): [number, number, number] => {
    const v = o[field] ?? base[field];
    if (v === undefined) fail(field, 'is required (or give a preset)');
    if (!Array.isArray(v) || v.length !== 3 || !v.every((x) => typeof x === 'number' && Number.isFinite(x))) {
      fail(field, `must be three numbers [r, g, b], got ${JSON.stringify(v)}`);
    }
    const t = v as number[];
    if (positive && !t.every((x) => x > 0)) fail(field, `must be positive, got ${JSON.stringify(v)}`);
    return [t[0]!, t[1]!, t[2]!];
  };
  const sizeV = o.size ?? base.size ?? [224, 224];
  if (!Array.isArray(sizeV) || sizeV.length !== 2 || !sizeV.every((x) => Number.isInteger(x) && x >= 1)) {
    fail('size', `must be [height, width] positive integers, got ${JSON.stringify(sizeV)}`);
  }
  const layout = o.layout ?? base.layout;
  if (layout !== 'NCHW' && layout !== 'NHWC') fail('layout', `must be 'NCHW' or 'NHWC', got ${JSON.stringify(layout)}`);
  const order = o.channelOrder ?? base.channelOrder;
  if (order !== 'RGB' && order !== 'BGR') fail('channelOrder', `must be 'RGB' or 'BGR', got ${JSON.stringify(order)}`);
  const scale = o.scale ?? base.scale;
  if (scale === undefined) fail('scale', 'is required (or give a preset)');
  if (typeof scale !== 'number' || !Number.isFinite(scale) || scale <= 0) fail('scale', `must be a positive number, got ${JSON.stringify(scale)}`);
  const s = sizeV as number[];
  return {
    size: [s[0]!, s[1]!],
    layout: layout as Layout,
    channelOrder: order as ChannelOrder,
    mean: triple('mean', false),
    std: triple('std', true),
    scale: scale as number,
  };
}

/** The tensor shape for one image: [1, 3, h, w] (NCHW) or [1, h, w, 3] (NHWC). */
export function tensorShape(spec: InputSpec): number[] {
  const [h, w] = spec.size;
  return spec.layout === 'NCHW' ? [1, 3, h, w] : [1, h, w, 3];
}

/**
 * Converts model-size RGB pixels to a float32 tensor in spec.layout (batch of one). Throws
 * OptionError when the image is not spec.size: fit it first (fitImage).
 */
export function toTensor(img: RgbImage, spec: InputSpec): Float32Array {
  const [h, w] = spec.size;
  if (img.width !== w || img.height !== h) {
    throw new OptionError(`preprocess: image is ${img.width}x${img.height} but the model input is ${w}x${h}; fit it first`);
  }
  // Per output channel: which RGB channel it reads, and value = px * a + b.
  const srcC = spec.channelOrder === 'RGB' ? [0, 1, 2] : [2, 1, 0];
  const a = srcC.map((c) => spec.scale / spec.std[c]!);
  const b = srcC.map((c) => -spec.mean[c]! / spec.std[c]!);
  const n = h * w;
  const out = new Float32Array(n * 3);
  const px = img.data;
  if (spec.layout === 'NCHW') {
    for (let c = 0; c < 3; c++) {
      const s = srcC[c]!, ac = a[c]!, bc = b[c]!, off = c * n;
      for (let i = 0; i < n; i++) out[off + i] = px[i * 3 + s]! * ac + bc;
    }
  } else {
    for (let i = 0; i < n; i++) {
      for (let c = 0; c < 3; c++) out[i * 3 + c] = px[i * 3 + srcC[c]!]! * a[c]! + b[c]!;
    }
  }
  return out;
}

/** The "black image" baseline: all-zero RGB pixels through the same preprocessing. */
export function blackBaseline(spec: InputSpec): Float32Array {
  return toTensor(createRgbImage(spec.size[1], spec.size[0]), spec);
}

/** Default blur for the blur baseline: a tenth of the longer side (22.4 px at 224). */
export function defaultBlurSigma(spec: InputSpec): number {
  return Math.max(spec.size[0], spec.size[1]) / 10;
}

/**
 * The "blur" baseline: the model-size image heavily Gaussian-blurred (sigma in pixels,
 * default defaultBlurSigma), then preprocessed. Blur after fitting, so sigma is in model pixels.
 */
export function blurBaseline(img: RgbImage, spec: InputSpec, sigma = defaultBlurSigma(spec)): Float32Array {
  return toTensor(gaussianBlurRgb(img, sigma), spec);
}
