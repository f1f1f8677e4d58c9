/**
 * Turning model-size RGB pixels into the model's input tensor.
 *
 * Convention: for each channel c (named in RGB order),
 *     value = (pixel[c] * scale - mean[c]) / std[c]
 * with pixel in 0-255, so `mean` and `std` are on the scale AFTER multiplying by `scale`
 * (imagenet: scale 1/255, mean 0.485...; caffe: scale 1, mean 123.68...). `mean` and `std`
 * are listed as [r, g, b]; `channelOrder` only decides the order of the colour channels in
 * the tensor.
 *
 * Photos convert to the model's channel count:
 * - 3: R, G, B (in channelOrder);
 * - 1: the luminance L = 0.299 R + 0.587 G + 0.114 B (ITU-R BT.601, as PIL's convert('L') and
 *   TensorFlow's rgb_to_grayscale compute it);
 * - 2: L and alpha (PIL's 'LA');
 * - 4: R, G, B (in channelOrder: BGR gives OpenCV's BGRA) and alpha (PIL's 'RGBA').
 * Alpha is the photo's own (the image's `alpha` plane; colours are then the straight, not
 * premultiplied, values as PIL gives them) or 255, opaque, when the photo has none.
 * The luminance and alpha channels are scaled as a grey channel is:
 *     value = (v * scale - mean_L) / std_L,   mean_L = 0.299 mean_r + 0.587 mean_g + 0.114 mean_b
 * (std_L likewise), so a preset means for them what it means for a grey pixel in RGB: an
 * opaque pixel's alpha lands where white does. `mean` and `std` may instead give one value
 * per channel: [grey] (1 channel), [grey, alpha] (2), [r, g, b, alpha] (4). Other channel
 * counts (5 and more) have no single meaning for a photo and are refused: preprocess such
 * tensors yourself.
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
  /**
   * Per-channel mean [r, g, b], on the scale after multiplying by `scale`; or one value per
   * model channel: [grey] (1 channel), [grey, alpha] (2), [r, g, b, alpha] (4).
   */
  mean: number[];
  /** Per-channel std, listed as `mean` is. */
  std: number[];
  /** Factor applied to the 0-255 pixel before subtracting the mean. */
  scale: number;
  /** Input channels of the model: 3 (RGB, in channelOrder), 1 (luminance), 2 (luminance, alpha) or 4 (RGB, alpha). Default 3. */
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
 * channel; one-channel models use the luminance; alpha is scaled as the luminance is, see
 * the file's comment).
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

/** The channel counts photos convert to: 1 (luminance), 2 (luminance, alpha), 3 (RGB), 4 (RGB, alpha). */
export const PHOTO_CHANNELS: readonly number[] = [1, 2, 3, 4];

/** True when the model's channels can be made from photos (PHOTO_CHANNELS). */
export function photoChannels(spec: InputSpec): boolean {
  return PHOTO_CHANNELS.includes(spec.channels ?? 3);
}

/** True when the model takes an alpha channel (2 or 4 channels): decode photos with their transparency. */
export function takesAlpha(spec: InputSpec): boolean {
  return spec.channels === 2 || spec.channels === 4;
}

/** The refusal for a channel count photos do not convert to, saying what to do instead. */
export function unsupportedChannels(channels: number, source = 'preprocess'): OptionError {
  return new OptionError(
    `${source}: the model takes ${channels} input channels; photos convert only to 1 (luminance), 2 (luminance, alpha), 3 (RGB) or 4 (RGB, alpha), ` +
      `so give the input tensors yourself: Classifier.explain([x]) with x a Float32Array of ${channels} x H x W values in the model's layout (and an RSI-Grad-CAM baseline)`,
  );
}

/**
 * How photos become the model's input channels, in one line (the CLI prints it, explainFile
 * returns it); undefined for 3-channel models (nothing to say). `hasAlpha`: whether the photo
 * carries transparency. Throws for channel counts photos do not convert to.
 */
export function photoConversion(spec: InputSpec, hasAlpha: boolean): string | undefined {
  const c = spec.channels ?? 3;
  if (!photoChannels(spec)) throw unsupportedChannels(c);
  const lum = 'luminance 0.299 R + 0.587 G + 0.114 B';
  const alpha = hasAlpha ? "alpha from the photo's transparency" : 'alpha 255 (opaque: the photo has no transparency)';
  const colours = spec.channelOrder === 'BGR' ? 'B, G, R' : 'R, G, B';
  if (c === 1) return `converted to the model's 1 input channel: ${lum}`;
  if (c === 2) return `converted to the model's 2 input channels: ${lum}, and ${alpha}`;
  if (c === 4) return `converted to the model's 4 input channels: ${colours}, and ${alpha}`;
  return undefined;
}

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
 * mean [r, g, b], std [r, g, b], scale, channels (1, 2, 3 or 4), and optionally `preset` (a
 * preset name whose values fill the fields not given). Without `preset`, mean, std and scale
 * are required; they may also give one value per channel: [grey] for a one-channel model
 * ([0.1307]), [grey, alpha] for two, [r, g, b, alpha] for four. size defaults to
 * defaults.size or [224, 224], layout to NCHW, channelOrder to RGB, channels to
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
  if (channels !== undefined && !PHOTO_CHANNELS.includes(channels as number)) {
    fail('channels', `must be 1 (luminance), 2 (luminance, alpha), 3 (RGB) or 4 (RGB, alpha), got ${JSON.stringify(channels)}`);
  }
  // One value per channel is also accepted where it differs from [r, g, b].
  const perChannel: Record<number, string> = { 1: ' or one [grey]', 2: ' or two [grey, alpha]', 4: ' or four [r, g, b, alpha]' };
  const triple = (field: 'mean' | 'std', positive: boolean): number[] => {
    const v = o[field] ?? base[field];
    if (v === undefined) fail(field, 'is required (or give a preset)');
    const lengthOk = Array.isArray(v) && (v.length === 3 || (channels !== undefined && channels !== 3 && v.length === channels));
    if (!lengthOk || !(v as unknown[]).every((x) => typeof x === 'number' && Number.isFinite(x))) {
      fail(field, `must be three numbers [r, g, b]${perChannel[channels as number] ?? ''}, got ${JSON.stringify(v)}`);
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
 * Per tensor channel: value = sum_k weight[k] * source[k] * a + b over the sources R, G, B
 * and alpha. Colour channels read R, G or B (in channelOrder), the luminance channel the
 * BT.601 sum, the alpha channel alpha (see the file's comment for the scaling).
 */
function channelMaps(spec: InputSpec): { weights: number[][]; a: number[]; b: number[] } {
  const c = spec.channels ?? 3;
  if (!photoChannels(spec)) throw unsupportedChannels(c);
  const { mean, std } = spec;
  // The value of channel k of [r, g, b] (one value: the same for all).
  const pick = (v: number[], k: number) => v[v.length === 1 ? 0 : k]!;
  // The grey channel's value: the one given, else the luminance-weighted sum of [r, g, b].
  const grey = (v: number[]) => (v.length === 1 ? v[0]! : LUMINANCE.reduce((sum, w, k) => sum + w * v[k]!, 0));
  const rows: { w: number[]; m: number; s: number }[] = [];
  const lumRow = (m: number, sd: number) => rows.push({ w: [...LUMINANCE, 0], m, s: sd });
  const alphaRow = (m: number, sd: number) => rows.push({ w: [0, 0, 0, 1], m, s: sd });
  const colourRows = () => {
    for (const k of spec.channelOrder === 'RGB' ? [0, 1, 2] : [2, 1, 0]) rows.push({ w: [0, 1, 2, 3].map((j) => (j === k ? 1 : 0)), m: pick(mean, k), s: pick(std, k) });
  };
  if (c === 1) lumRow(grey(mean), grey(std));
  else if (c === 2) {
    // [grey, alpha], or [r, g, b] weighted for both.
    const nth = (v: number[], k: number) => (v.length === 2 ? v[k]! : grey(v));
    lumRow(nth(mean, 0), nth(std, 0));
    alphaRow(nth(mean, 1), nth(std, 1));
  } else {
    colourRows();
    // [r, g, b, alpha], or [r, g, b] weighted for alpha.
    if (c === 4) alphaRow(mean.length === 4 ? mean[3]! : grey(mean), std.length === 4 ? std[3]! : grey(std));
  }
  return { weights: rows.map((r) => r.w), a: rows.map((r) => spec.scale / r.s), b: rows.map((r) => -r.m / r.s) };
}

/**
 * Converts model-size RGB pixels (and their alpha, where the model takes it; absent: opaque)
 * to a float32 tensor in spec.layout (batch of one). Throws OptionError when the image is not
 * spec.size: fit it first (fitImage).
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
  const alpha = img.alpha;
  if (alpha && alpha.length !== n) throw new OptionError(`preprocess: the image's alpha has ${alpha.length} values for ${w}x${h} pixels`);
  // Element (pixel i, channel c) goes to c * n + i (NCHW) or i * channels + c (NHWC).
  const [strideC, strideI] = spec.layout === 'NCHW' ? [n, 1] : [1, channels];
  for (let c = 0; c < channels; c++) {
    const [wr, wg, wb, wa] = weights[c]! as [number, number, number, number];
    const ac = a[c]!, bc = b[c]!;
    if (wa !== 0) {
      // The alpha channel: the photo's, or opaque.
      for (let i = 0; i < n; i++) out[c * strideC + i * strideI] = (alpha ? alpha[i]! : 255) * ac + bc;
      continue;
    }
    for (let i = 0; i < n; i++) {
      const v = px[i * 3]! * wr + px[i * 3 + 1]! * wg + px[i * 3 + 2]! * wb;
      out[c * strideC + i * strideI] = v * ac + bc;
    }
  }
  return out;
}

/** The "black image" baseline: all-zero RGB pixels (opaque, where the model takes alpha) through the same preprocessing. */
export function blackBaseline(spec: InputSpec): Float32Array {
  return toTensor(createRgbImage(spec.size[1], spec.size[0]), spec);
}

/** Default blur for the blur baseline: a tenth of the longer side (22.4 px at 224). */
export function defaultBlurSigma(spec: InputSpec): number {
  return Math.max(spec.size[0], spec.size[1]) / 10;
}

/**
 * The "blur" baseline: the model-size image (its alpha too) heavily Gaussian-blurred (sigma in
 * pixels, default defaultBlurSigma), then preprocessed. Blur after fitting, so sigma is in model pixels.
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
