/**
 * Smoothing modifiers over any method:
 * - `noise`: Captum's NoiseTunnel: the method on `noiseSamples` copies of the input with
 *   Gaussian noise (std `noiseStdev`, preprocessed units), aggregated as smoothgrad (mean),
 *   smoothgrad_sq (mean of squares) or vargrad (variance); Captum's defaults: 5 samples, std 1.
 * - `aug`: pytorch-grad-cam's aug_smooth: horizontal flip x brightness (the input tensor times
 *   1.0 and 1.1), each map flipped back, averaged.
 * - `eigen`: pytorch-grad-cam's eigen_smooth: the cam is the first principal component of the
 *   weighted activations (w_k A_k, or the method's element-wise products) instead of their sum.
 * The targets are resolved once on the clean input, so every copy explains the same thing.
 */
import { OptionError } from '../errors.js';
import type { OptionInfo } from './method.js';
import { Prng, mixSeed } from '../prng.js';
import type { ResolvedTarget, Target } from './targets.js';

export type SmoothMode = 'noise' | 'aug' | 'eigen';
export type NoiseType = 'smoothgrad' | 'smoothgrad_sq' | 'vargrad';
export const SMOOTH_MODES: readonly SmoothMode[] = ['noise', 'aug', 'eigen'];
export const NOISE_TYPES: readonly NoiseType[] = ['smoothgrad', 'smoothgrad_sq', 'vargrad'];
export const MAX_NOISE_SAMPLES = 1000;

export interface SmoothingOptions {
  /** A smoothing modifier (see src/methods/smoothing.ts). */
  smooth?: SmoothMode;
  /** noise: number of noisy copies. Default 5 (Captum's). */
  noiseSamples?: number;
  /** noise: standard deviation of the noise, in preprocessed units. Default 1 (Captum's). */
  noiseStdev?: number;
  /** noise: how the copies' maps combine. Default 'smoothgrad'. */
  noiseType?: NoiseType;
  /** noise: seed of the noise (RISE: of its masks). Default 0. */
  seed?: number;
}

export const SMOOTHING_OPTION_INFO: Readonly<Record<string, OptionInfo>> = {
  smooth: { description: 'smoothing: noise (NoiseTunnel), aug (flip x brightness), eigen (first principal component)', type: 'choice', choices: SMOOTH_MODES },
  noiseSamples: { description: 'noise: number of noisy copies', type: 'integer', default: 5, min: 1, max: MAX_NOISE_SAMPLES, when: { smooth: 'noise' } },
  noiseStdev: { description: 'noise: standard deviation, in preprocessed units', type: 'number', default: 1, min: 0, when: { smooth: 'noise' } },
  noiseType: { description: 'noise: how the maps combine', type: 'choice', default: 'smoothgrad', choices: NOISE_TYPES, when: { smooth: 'noise' } },
  // RISE describes its own seed (of its masks); as a smoothing setting the seed is the noise's.
  seed: { description: 'noise: seed of the noise', type: 'integer', default: 0, min: 0, when: { smooth: 'noise' } },
};

/** Checks the smoothing options (`seed` may be set without noise: one seed serves a whole run). */
export function checkSmoothing(o: SmoothingOptions): void {
  if (o.smooth !== undefined && !SMOOTH_MODES.includes(o.smooth)) throw new OptionError(`smooth must be one of ${SMOOTH_MODES.join(', ')}, got '${String(o.smooth)}'`);
  const noise = o.smooth === 'noise';
  for (const k of ['noiseSamples', 'noiseStdev', 'noiseType'] as const) {
    if (o[k] !== undefined && !noise) throw new OptionError(`${k} applies to smooth: 'noise' only`);
  }
  const n = o.noiseSamples ?? 5;
  if (!Number.isSafeInteger(n) || n < 1 || n > MAX_NOISE_SAMPLES) throw new OptionError(`noiseSamples must be an integer from 1 to ${MAX_NOISE_SAMPLES}, got ${n}`);
  const sd = o.noiseStdev ?? 1;
  if (!Number.isFinite(sd) || sd < 0) throw new OptionError(`noiseStdev must be a non-negative number, got ${sd}`);
  if (o.noiseType !== undefined && !NOISE_TYPES.includes(o.noiseType)) throw new OptionError(`noiseType must be one of ${NOISE_TYPES.join(', ')}, got '${String(o.noiseType)}'`);
  const seed = o.seed ?? 0;
  if (!Number.isSafeInteger(seed) || seed < 0) throw new OptionError(`seed must be a non-negative integer, got ${seed}`);
}

/** A resolved target as a target object that resolves to the same row on any input. */
export function fixedTarget(t: ResolvedTarget): Target {
  const d = t.description;
  switch (d.kind) {
    case 'class':
      return d.classes[0]!;
    case 'contrast':
      return { contrast: [d.classes[0]!, d.classes[1]!] };
    case 'classes':
      return { classes: d.classes, weights: d.weights };
    case 'unit':
      return { unit: d.classes[0]!, output: d.output, activation: d.activation };
  }
}

/** Copy `sample` of image `image` with Gaussian noise (Box-Muller on the library's PRNG). */
export function noisyCopy(x: Float32Array, stdev: number, seed: number, image: number, sample: number): Float32Array {
  const prng = new Prng(mixSeed(mixSeed(seed, image), sample));
  const out = new Float32Array(x.length);
  for (let i = 0; i < x.length; i += 2) {
    const u = 1 - prng.float(); // (0, 1]
    const v = prng.float();
    const r = Math.sqrt(-2 * Math.log(u));
    out[i] = x[i]! + stdev * r * Math.cos(2 * Math.PI * v);
    if (i + 1 < x.length) out[i + 1] = x[i + 1]! + stdev * r * Math.sin(2 * Math.PI * v);
  }
  return out;
}

/** Combines the copies' maps element-wise: mean, mean of squares, or variance (vargrad). */
export function combineNoise(maps: readonly Float32Array[], type: NoiseType): Float32Array {
  const n = maps.length;
  const out = new Float32Array(maps[0]!.length);
  for (let e = 0; e < out.length; e++) {
    let s = 0;
    let s2 = 0;
    for (const m of maps) {
      s += m[e]!;
      s2 += m[e]! * m[e]!;
    }
    out[e] = type === 'smoothgrad' ? s / n : type === 'smoothgrad_sq' ? s2 / n : s2 / n - (s / n) * (s / n);
  }
  return out;
}

/** The augmentations of aug smoothing: horizontal flip x brightness factor. */
export const AUGMENTATIONS: readonly { flip: boolean; factor: number }[] = [
  { flip: false, factor: 1 },
  { flip: true, factor: 1 },
  { flip: false, factor: 1.1 },
  { flip: true, factor: 1.1 },
];

/** A [rows x cols x depth] grid (row-major, `depth` values per position) mirrored left-right. */
export function flipWidth(t: Float32Array, rows: number, cols: number, depth = 1, channelsFirst = false): Float32Array {
  const out = new Float32Array(t.length);
  if (channelsFirst) {
    // [depth, rows, cols]
    for (let k = 0; k < depth; k++) for (let y = 0; y < rows; y++) for (let x = 0; x < cols; x++) out[(k * rows + y) * cols + x] = t[(k * rows + y) * cols + (cols - 1 - x)]!;
  } else {
    for (let y = 0; y < rows; y++) for (let x = 0; x < cols; x++) for (let k = 0; k < depth; k++) out[(y * cols + x) * depth + k] = t[(y * cols + (cols - 1 - x)) * depth + k]!;
  }
  return out;
}
