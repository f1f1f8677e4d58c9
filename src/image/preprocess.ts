/**
 * Turning model-size RGB pixels into the model's input tensor.
 *
 * Convention: for each channel c (named in RGB order),
 *     value = (pixel[c] * scale - mean[c]) / std[c]
 * with pixel in 0-255, so `mean` and `std` are on the scale AFTER multiplying by `scale`
 * (imagenet: scale 1/255, mean 0.485...; caffe: scale 1, mean 123.68...). `mean` and `std`
 * are listed as [r, g, b]; `channelOrder` only decides the order of the channels in the
 * tensor.
 *
 * A model with one input channel gets the luminance L = 0.299 R + 0.587 G + 0.114 B
 * (ITU-R BT.601, as PIL's convert('L') and TensorFlow's rgb_to_grayscale compute it):
 *     value = (L * scale - mean) / std
 * with `mean` and `std` given as one number each, or as [r, g, b] (then weighted the same
 * way, so a preset means the same for a grey image in either form). Other channel counts
 * (2, 4, ...) have no single meaning for a photo (alpha? infrared?), so photos are refused
 * for them: preprocess such tensors yourself.
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
  /** Per-channel mean [r, g, b] (or [grey] for one channel), on the scale after multiplying by `scale`. */
  mean: number[];
  /** Per-channel std [r, g, b] (or [grey] for one channel), on the scale after multiplying by `scale`. */
  std: number[];
  /** Factor applied to the 0-255 pixel before subtracting the mean. */
  scale: number;
  /** Input channels of the model: 3 (RGB, in channelOrder) or 1 (luminance). Default 3. */
  channels?: number;
}

export type PresetName = 'imagenet' | 'tf' | 'caffe' | 'unit' | 'raw';

const PRESET_VALUES: Record<PresetName, Omit<InputSpec, 'size' | 'layout' | 'channels'>> = {
  // torchvision: x/255, minus mean, over std.
  imagenet: { channelOrder: 'RGB', scale: 1 / 255, mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225] },
  // TF / Keras MobileNet, Inception: x/127.5 - 1.
  tf: { channelOrder: 'RGB', scale: 1 / 127.5, mean: [1, 1, 1], std: [1, 1, 1] },
  // Caffe / Keras VGG, ResNet50: BGR, minus the BGR means (103.939, 116.779, 123.68).
  caffe: { channelOrder: 'BGR', scale: 1, mean: [123.68, 116.779, 103.939], std: [1, 1, 1] },
  // x/255.
  unit: { channelOrder: 'RGB', scale: 1 / 255, mean: [0, 0, 0], std: [1, 1, 1] },
  // x: 0-255 as it is, for models that scale inside (a Keras Rescaling / Normalization layer).
  raw: { channelOrder: 'RGB', scale: 1, mean: [0, 0, 0], std: [1, 1, 1] },
};

/**
 * What each preset computes, for help texts and the README (x is the 0-255 pixel, per
 * channel; one-channel models use the luminance).
 */
export const PRESET_FORMULAS: Record<PresetName, string> = {
  imagenet: '(x/255 - [0.485, 0.456, 0.406]) / [0.229, 0.224, 0.225], RGB (torchvision)',
  tf: 'x/127.5 - 1, RGB (Keras / TF.js MobileNet, Inception, Teachable Machine)',
  caffe: 'x - [103.939, 116.779, 123.68] in B, G, R order (Keras VGG16, ResNet50)',
  unit: 'x/255, RGB',
  raw: 'x, 0-255 as it is (models that rescale inside: Keras Rescaling / Normalization)',
};

/**
 * The preset a model gets when nothing (catalogue, sidecar, option) says otherwise: `raw`
 * when a Keras Rescaling / Normalization layer scales its input inside the model, `tf` for
 * other TF.js models (Keras and Teachable Machine scale to [-1, 1]); none for other ONNX
 * models (the caller must ask).
 */
export function defaultPreset(format: 'onnx' | 'tfjs', scalesInput: boolean): PresetName | undefined {
  if (scalesInput) return 'raw';
  return format === 'tfjs' ? 'tf' : undefined;
}

/**
 * The preprocessing a model gets when no option overrides it, in the CLI and the page alike:
 * what it carries (catalogue entry, sidecar file), else its default preset (defaultPreset) at
 * `size`; undefined when neither says (the caller must ask).
 */
export function modelDefaultSpec(carried: InputSpec | undefined, format: 'onnx' | 'tfjs', scalesInput: boolean, size?: [number, number]): InputSpec | undefined {
  if (carried) return carried;
  const preset = defaultPreset(format, scalesInput);
  return preset ? presetSpec(preset, size) : undefined;
}

/** BT.601 luminance weights of R, G and B. */
export const LUMINANCE: readonly [number, number, number] = [0.299, 0.587, 0.114];

export const PRESET_NAMES = Object.keys(PRESET_VALUES) as PresetName[];

/** A preset (imagenet, tf, caffe, unit, raw) for the given input size (default 224x224, NCHW, 3 channels). */
export function presetSpec(name: PresetName, size: [number, number] = [224, 224], layout: Layout = 'NCHW', channels?: number): InputSpec {
  const p = PRESET_VALUES[name];
  if (!p) throw new OptionError(`preprocess: unknown preset '${name}' (expected one of ${PRESET_NAMES.join(', ')})`);
  const spec: InputSpec = { size: [size[0], size[1]], layout, channelOrder: p.channelOrder, scale: p.scale, mean: [...p.mean], std: [...p.std] };
  if (channels !== undefined) spec.channels = channels;
  return spec;
}

/** True when `name` is one of the preset names. */
export function isPresetName(name: string): name is PresetName {
  return Object.hasOwn(PRESET_VALUES, name);
}

/**
 * Validates a JSON value describing an InputSpec. Fields: size [h, w], layout, channelOrder,
 * mean [r, g, b], std [r, g, b], scale, channels (1 or 3), and optionally `preset` (a preset
 * name whose values fill the fields not given). Without `preset`, mean, std and scale are
 * required; for a one-channel model they may be one number each ([0.1307]). size defaults
 * to defaults.size or [224, 224], layout to NCHW, channelOrder to RGB, channels to
 * defaults.channels. `source` (file name) is named in every OptionError.
 */
export function parseInputSpec(value: unknown, source: string, defaults: Partial<InputSpec> = {}): InputSpec {
  const fail = (field: string, msg: string): never => {
    throw new OptionError(`${source}: field '${field}' ${msg}`);
  };
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new OptionError(`${source}: expected a JSON object with size, layout, channelOrder, mean, std, scale`);
  }
  const o = value as Record<string, unknown>;
  const known = ['preset', 'size', 'layout', 'channelOrder', 'mean', 'std', 'scale', 'channels'];
  for (const k of Object.keys(o)) if (!known.includes(k)) fail(k, `is unknown (expected ${known.join(', ')})`);
  let base: Partial<InputSpec> = { layout: 'NCHW', channelOrder: 'RGB', ...defaults };
  if (o.preset !== undefined) {
    if (typeof o.preset !== 'string' || !isPresetName(o.preset)) fail('preset', `must be one of ${PRESET_NAMES.join(', ')}`);
    base = { ...base, ...PRESET_VALUES[o.preset as PresetName] };
  }
  const channels = o.channels ?? base.channels;
  if (channels !== undefined && channels !== 1 && channels !== 3) fail('channels', `must be 1 (luminance) or 3 (RGB), got ${JSON.stringify(channels)}`);
  const triple = (field: 'mean' | 'std', positive: boolean): number[] => {
    const v = o[field] ?? base[field];
    if (v === undefined) fail(field, 'is required (or give a preset)');
    const lengthOk = Array.isArray(v) && (v.length === 3 || (v.length === 1 && channels === 1));
    if (!lengthOk || !(v as unknown[]).every((x) => typeof x === 'number' && Number.isFinite(x))) {
      fail(field, `must be three numbers [r, g, b]${channels === 1 ? ' or one [grey]' : ''}, got ${JSON.stringify(v)}`);
    }
    const t = v as number[];
    if (positive && !t.every((x) => x > 0)) fail(field, `must be positive, got ${JSON.stringify(v)}`);
    return [...t];
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
  const spec: InputSpec = {
    size: [s[0]!, s[1]!],
    layout: layout as Layout,
    channelOrder: order as ChannelOrder,
    mean: triple('mean', false),
    std: triple('std', true),
    scale: scale as number,
  };
  if (channels !== undefined) spec.channels = channels as number;
  return spec;
}

/** The tensor shape for one image: [1, C, h, w] (NCHW) or [1, h, w, C] (NHWC). */
export function tensorShape(spec: InputSpec): number[] {
  const [h, w] = spec.size;
  const c = spec.channels ?? 3;
  return spec.layout === 'NCHW' ? [1, c, h, w] : [1, h, w, c];
}

/**
 * Per tensor channel: value = sum_k weight[k] * pixel[k] * a + b. Three channels read R, G or
 * B (in channelOrder); one channel reads the luminance. Other counts are refused.
 */
function channelMaps(spec: InputSpec): { weights: number[][]; a: number[]; b: number[] } {
  const c = spec.channels ?? 3;
  const pick = (v: number[], k: number) => v[v.length === 1 ? 0 : k]!;
  if (c === 1) {
    const grey = (v: number[]) => (v.length === 1 ? v[0]! : LUMINANCE.reduce((sum, w, k) => sum + w * v[k]!, 0));
    const m = grey(spec.mean);
    const sd = grey(spec.std);
    return { weights: [[...LUMINANCE]], a: [spec.scale / sd], b: [-m / sd] };
  }
  if (c !== 3) {
    throw new OptionError(
      `preprocess: the model takes ${c} input channels; photos convert only to 3 (RGB) or 1 (luminance) channels, so give the input tensors yourself (Classifier.explain with Float32Arrays)`,
    );
  }
  const src = spec.channelOrder === 'RGB' ? [0, 1, 2] : [2, 1, 0];
  return {
    weights: src.map((k) => [0, 1, 2].map((j) => (j === k ? 1 : 0))),
    a: src.map((k) => spec.scale / pick(spec.std, k)),
    b: src.map((k) => -pick(spec.mean, k) / pick(spec.std, k)),
  };
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
  const { weights, a, b } = channelMaps(spec);
  const channels = weights.length;
  const n = h * w;
  const out = new Float32Array(n * channels);
  const px = img.data;
  // Element (pixel i, channel c) goes to c * n + i (NCHW) or i * channels + c (NHWC).
  const [strideC, strideI] = spec.layout === 'NCHW' ? [n, 1] : [1, channels];
  for (let c = 0; c < channels; c++) {
    const [wr, wg, wb] = weights[c]! as [number, number, number];
    const ac = a[c]!, bc = b[c]!;
    for (let i = 0; i < n; i++) {
      const v = px[i * 3]! * wr + px[i * 3 + 1]! * wg + px[i * 3 + 2]! * wb;
      out[c * strideC + i * strideI] = v * ac + bc;
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

/** The baselines given by name (a path method's `baseline` choices in forms and on the command line). */
export const BASELINE_NAMES = ['black', 'blur'] as const;
export type BaselineName = (typeof BASELINE_NAMES)[number];

/** A named baseline for `fitted` (the photo at the model's input size), preprocessed by `spec`. */
export function namedBaseline(name: BaselineName, fitted: RgbImage, spec: InputSpec): Float32Array {
  if (!BASELINE_NAMES.includes(name)) throw new OptionError(`baseline must be one of ${BASELINE_NAMES.join(', ')}, got '${String(name)}'`);
  return name === 'blur' ? blurBaseline(fitted, spec) : blackBaseline(spec);
}
