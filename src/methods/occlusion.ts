/**
 * Occlusion (Zeiler and Fergus 2014), as Captum's `Occlusion` with a square window over all
 * channels: a window of `window` x `window` model-input pixels slides with `stride` (Captum's
 * shift counts, ceil((D - window) / stride) + 1 per axis, the last window cropped at the edge);
 * each position sets the window to `occlusionValue` (preprocessed units) and the score's drop
 * F(x) - F(x occluded) goes to every pixel of the window; each pixel's attribution is the mean
 * over the windows that cover it. All windows of an image run in batches.
 */
import { OptionError } from '../errors.js';
import type { CamLayer, ImageResult, MethodContext } from './base-cam.js';
import { inputCapabilities, type MethodCapabilities } from './method.js';
import { PerturbationAttribution } from './perturbation.js';
import { distinctImages, perImageGroup } from './shared-forwards.js';
import type { CommonOptions } from './types.js';

export interface OcclusionOptions extends CommonOptions {
  /**
   * Side of the square window, in model-input pixels. Default: the image's smaller side / 15,
   * rounded (15 at 224, the window of Captum's tutorials), at least 1.
   */
  window?: number;
  /** Shift between windows, in pixels, at most `window`. Default window / 2 (rounded up). */
  stride?: number;
  /** The value occluded pixels take, in preprocessed units. Default 0. */
  occlusionValue?: number;
}

export class Occlusion extends PerturbationAttribution<OcclusionOptions> {
  readonly name = 'occlusion';
  static readonly capabilities: MethodCapabilities = {
    ...inputCapabilities('Occlusion'),
    options: ['window', 'stride', 'occlusionValue'],
    optionInfo: {
      window: { description: 'side of the square occluding window, in model-input pixels (default: the smaller side / 15, 15 at 224)', type: 'integer', min: 1 },
      stride: { description: 'shift between windows in pixels (default: half the window)', type: 'integer', min: 1 },
      occlusionValue: { description: 'value of occluded pixels, in preprocessed units', type: 'number', default: 0 },
    },
    defaultScore: 'logit',
  };
  readonly capabilities = Occlusion.capabilities;

  /** Window, stride and the windows' top-left corners along each axis. */
  private grid(o: OcclusionOptions): { window: number; stride: number; rows: number[]; cols: number[] } {
    const [h, w] = this.pipeline.model.imageSize;
    const window = o.window ?? defaultWindow(h, w);
    if (!Number.isSafeInteger(window) || window < 1 || window > Math.min(h, w)) throw new OptionError(`window must be an integer from 1 to ${Math.min(h, w)} (the image is ${w}x${h}), got ${window}`);
    const stride = o.stride ?? Math.ceil(window / 2);
    if (!Number.isSafeInteger(stride) || stride < 1 || stride > window) throw new OptionError(`stride must be an integer from 1 to the window (${window}), got ${stride}`);
    if (o.occlusionValue !== undefined && !Number.isFinite(o.occlusionValue)) throw new OptionError(`occlusionValue must be a finite number, got ${o.occlusionValue}`);
    const starts = (d: number) => Array.from({ length: Math.ceil((d - window) / stride) + 1 }, (_, k) => k * stride);
    return { window, stride, rows: starts(h), cols: starts(w) };
  }

  protected override validate(o: OcclusionOptions): void {
    this.grid(o);
  }

  protected override plannedEvaluations(images: readonly Float32Array[], _layers: CamLayer[], o: OcclusionOptions): number {
    const g = this.grid(o);
    return distinctImages(images) * (1 + g.rows.length * g.cols.length);
  }

  protected async run(ctx: MethodContext<OcclusionOptions>): Promise<ImageResult[]> {
    const layer = ctx.layers[0]!;
    const { window, rows, cols } = this.grid(ctx.options);
    const value = ctx.options.occlusionValue ?? 0;
    const { h, w, c, at } = this.inputGeometry();
    const score = await this.copyScorer(ctx);
    const windows = rows.flatMap((r) => cols.map((q) => [r, q] as const));
    // Pixels y * w + q of window i.
    const pixels = function* (i: number) {
      const [r0, q0] = windows[i]!;
      for (let y = r0; y < Math.min(h, r0 + window); y++) for (let q = q0; q < Math.min(w, q0 + window); q++) yield y * w + q;
    };
    return perImageGroup(ctx.images, async (group) => {
      // One F(x) and drop map per member (target) of the group: the windows run once for all.
      const fx = group.map(() => 0);
      const drop = group.map(() => new Float64Array(h * w));
      const covered = new Float64Array(h * w);
      // Copy 0 is the image itself (F(x)); copy i > 0 is window i - 1.
      await score(
        group,
        windows.length + 1,
        (copy, i) => {
          if (i > 0) for (const q of pixels(i - 1)) for (let k = 0; k < c; k++) copy[at(k, q)] = value;
        },
        (i, scores) => {
          if (i === 0) {
            scores.forEach((s, g) => (fx[g] = s));
            return;
          }
          for (const q of pixels(i - 1)) covered[q]! += 1;
          scores.forEach((s, g) => {
            const d = fx[g]! - s;
            const acc = drop[g]!;
            for (const q of pixels(i - 1)) acc[q]! += d;
          });
        },
      );
      const x = this.toChw(ctx.images[group[0]!]!);
      return group.map((_img, g) => {
        // The same value for every channel of a pixel: the window spans all channels.
        const attributions = new Float32Array(c * h * w);
        for (let k = 0; k < c; k++) for (let q = 0; q < h * w; q++) attributions[k * h * w + q] = drop[g]![q]! / covered[q]!;
        return { layers: [this.attributionMaps(x, attributions, layer)], score: fx[g]! };
      });
    });
  }
}

/** The default window: the image's smaller side / 15, rounded (Captum's tutorials: 15 px windows, stride 8, at 224). */
export function defaultWindow(h: number, w: number): number {
  return Math.max(1, Math.round(Math.min(h, w) / 15));
}
