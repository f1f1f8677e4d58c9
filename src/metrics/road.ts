/**
 * ROAD, RemOve And Debias (Rong, Leemann, Borisov, Kasneci, Kasneci, "A Consistent and
 * Efficient Evaluation Strategy for Attribution Methods", ICML 2022).
 *
 * For each percentile p (default 10, 20, ..., 90) the p% most salient pixels (MoRF, most
 * relevant first) or the p% least salient (LeRF) are removed and filled by the noisy linear
 * imputation: the linear imputation of ./imputation.ts, plus Gaussian noise of standard
 * deviation 0.01 of the value range on the filled pixels (the authors' NoisyLinearImputer,
 * noise = 0.01 on images in [0, 1]). The model's class probability is recorded at each p.
 *
 * Summaries per image (averaged over the percentiles): MoRF (lower is better: removing what
 * the map calls important should hurt), LeRF (higher is better), and the combined score
 * (LeRF - MoRF) / 2 (higher is better): the paper shows MoRF and LeRF rank methods
 * inconsistently on their own and that both orders should be read together; the difference
 * is pytorch-grad-cam's ROADCombined, which averages it over the same percentiles.
 */
import { OptionError } from '../errors.js';
import { Prng } from '../prng.js';
import { linearImpute, type ImputeOptions } from './imputation.js';
import { checkPixelMap, checkTensor, pixelCount, valueIndex, type TensorLayout } from './tensor-image.js';

export const ROAD_PERCENTILES: readonly number[] = [10, 20, 30, 40, 50, 60, 70, 80, 90];

export type RoadOrder = 'morf' | 'lerf';

export interface RoadOptions extends ImputeOptions {
  /** Noise standard deviation per channel, in tensor units (0.01 of each channel's value range). */
  noiseStd: readonly number[];
  /** Seed of the noise. */
  seed?: number;
}

/** Pixels removed at percentile p of n: round(p / 100 * n). */
export function removedCount(n: number, percentile: number): number {
  if (!(percentile >= 0 && percentile < 100)) throw new OptionError(`ROAD percentiles must be in [0, 100), got ${percentile}`);
  return Math.round((percentile / 100) * n);
}

/**
 * The image with pixels removed and imputed, one per percentile. `order` lists pixels from the
 * most to the least salient; MoRF removes its head, LeRF its tail.
 */
export function roadInputs(
  image: Float32Array, order: ArrayLike<number>, percentiles: readonly number[], how: RoadOrder, layout: TensorLayout, options: RoadOptions,
): Float32Array[] {
  checkTensor(image, layout, 'ROAD image');
  checkPixelMap(order, layout, 'pixel order');
  if (options.noiseStd.length !== layout.channels) throw new OptionError(`ROAD noise: ${options.noiseStd.length} values for ${layout.channels} channels`);
  const n = pixelCount(layout);
  const rng = new Prng(options.seed ?? 0);
  return percentiles.map((pc) => {
    const k = removedCount(n, pc);
    const removed = new Uint8Array(n);
    for (let i = 0; i < k; i++) removed[how === 'morf' ? order[i]! : order[n - 1 - i]!] = 1;
    return imputeNoisy(image, removed, layout, options, rng);
  });
}

/** The image with `removed` pixels linearly imputed and noise added to them. */
export function imputeNoisy(image: Float32Array, removed: Uint8Array, layout: TensorLayout, options: RoadOptions, rng: Prng): Float32Array {
  const n = pixelCount(layout);
  const planes = Array.from({ length: layout.channels }, (_, c) => {
    const pl = new Float64Array(n);
    for (let p = 0; p < n; p++) pl[p] = image[valueIndex(layout, p, c)]!;
    return pl;
  });
  linearImpute(planes, removed, layout.width, layout.height, options);
  const out = image.slice();
  for (let c = 0; c < layout.channels; c++) {
    const sd = options.noiseStd[c]!;
    const pl = planes[c]!;
    for (let p = 0; p < n; p++) if (removed[p]) out[valueIndex(layout, p, c)] = pl[p]! + sd * gaussian(rng);
  }
  return out;
}

/** A standard normal draw (Box-Muller). */
export function gaussian(rng: Prng): number {
  const u = 1 - rng.float();
  const v = rng.float();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
}

/** One image's ROAD summaries from its probabilities at each percentile. */
export interface RoadSummary {
  morf: number;
  lerf: number;
  combined: number;
}

export function roadSummary(morf: readonly number[], lerf: readonly number[]): RoadSummary {
  if (morf.length !== lerf.length || morf.length === 0) throw new OptionError(`ROAD: ${morf.length} MoRF and ${lerf.length} LeRF points`);
  const mean = (a: readonly number[]) => a.reduce((s, v) => s + v, 0) / a.length;
  const m = mean(morf);
  const l = mean(lerf);
  return { morf: m, lerf: l, combined: (l - m) / 2 };
}
