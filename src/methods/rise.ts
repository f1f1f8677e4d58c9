/**
 * RISE (Petsiuk, Das and Saenko, BMVC 2018), as the authors' code (eclique/RISE,
 * explanations.py): N random binary s x s grids (each cell kept with probability p), each
 * upsampled bilinearly to (s + 1) x cell pixels (skimage resize, order 1, mode 'reflect') and
 * cropped at a random shift below one cell; saliency = sum_i score(x * M_i) M_i / (N p).
 * Grids and shifts come from the seeded PRNG, so a seed gives the same masks everywhere;
 * masks are built per batch (N full-size masks would not fit in memory).
 */
import { OptionError } from '../errors.js';
import { Prng } from '../prng.js';
import type { CamLayer, ImageResult, MethodContext } from './base-cam.js';
import { inputCapabilities, type MethodCapabilities } from './method.js';
import { PerturbationAttribution } from './perturbation.js';
import { distinctImages, perImageGroup } from './shared-forwards.js';
import type { CommonOptions } from './types.js';

export interface RiseOptions extends CommonOptions {
  /** Number of masks N. Default 4000 (the paper's). */
  masks?: number;
  /** Side of a grid cell, in model-input pixels. Default: the smaller side / 7 (the paper's 7 x 7 grid). */
  cell?: number;
  /** Probability p that a cell is kept. Default 0.5. */
  keep?: number;
  /** Seed of the grids and shifts. Default 0. */
  seed?: number;
}

export const MAX_RISE_MASKS = 100_000;

export class Rise extends PerturbationAttribution<RiseOptions> {
  readonly name = 'rise';
  static readonly capabilities: MethodCapabilities = {
    ...inputCapabilities('RISE'),
    options: ['masks', 'cell', 'keep', 'seed'],
    optionInfo: {
      masks: { description: 'number of random masks', type: 'integer', default: 4000, min: 1, max: MAX_RISE_MASKS },
      cell: { description: 'side of a mask cell in model-input pixels (default: the smaller side / 7)', type: 'integer', min: 1 },
      keep: { description: 'probability that a cell is kept', type: 'number', default: 0.5, min: 0, max: 1 },
      seed: { description: 'seed of the masks', type: 'integer', default: 0, min: 0 },
    },
    defaultScore: 'softmax',
  };
  readonly capabilities = Rise.capabilities;

  private settings(o: RiseOptions) {
    const [h, w] = this.pipeline.model.imageSize;
    const n = o.masks ?? 4000;
    if (!Number.isSafeInteger(n) || n < 1 || n > MAX_RISE_MASKS) throw new OptionError(`masks must be an integer from 1 to ${MAX_RISE_MASKS}, got ${n}`);
    const cell = o.cell ?? Math.max(1, Math.ceil(Math.min(h, w) / 7));
    if (!Number.isSafeInteger(cell) || cell < 1 || cell > Math.max(h, w)) throw new OptionError(`cell must be an integer from 1 to ${Math.max(h, w)} pixels, got ${cell}`);
    const keep = o.keep ?? 0.5;
    if (!(keep > 0 && keep <= 1)) throw new OptionError(`keep must be a probability in (0, 1], got ${keep}`);
    const seed = o.seed ?? 0;
    if (!Number.isSafeInteger(seed) || seed < 0) throw new OptionError(`seed must be a non-negative integer, got ${seed}`);
    return { n, cell, keep, seed };
  }

  protected override validate(o: RiseOptions): void {
    this.settings(o);
  }

  protected override plannedEvaluations(images: readonly Float32Array[], _layers: CamLayer[], o: RiseOptions): number {
    return distinctImages(images) * this.settings(o).n;
  }

  protected async run(ctx: MethodContext<RiseOptions>): Promise<ImageResult[]> {
    const layer = ctx.layers[0]!;
    const { n, cell, keep, seed } = this.settings(ctx.options);
    const masks = riseMasks(n, this.pipeline.model.imageSize, cell, keep, seed);
    const { h, w, c, at } = this.inputGeometry();
    const score = await this.copyScorer(ctx);
    return perImageGroup(ctx.images, async (group) => {
      // One saliency per member (target) of the group: the masked copies run once for all.
      const sal = group.map(() => new Float64Array(h * w));
      // Masks of the copies in flight: built when a copy is made, dropped when its score is in.
      const inFlight = new Map<number, Float32Array>();
      await score(
        group,
        n,
        (copy, i) => {
          const m = masks.mask(i);
          inFlight.set(i, m);
          for (let q = 0; q < h * w; q++) for (let k = 0; k < c; k++) copy[at(k, q)]! *= m[q]!;
        },
        (i, scores) => {
          const m = inFlight.get(i)!;
          inFlight.delete(i);
          sal.forEach((acc, g) => {
            const s = scores[g]!;
            for (let q = 0; q < h * w; q++) acc[q]! += s * m[q]!;
          });
        },
      );
      const x = this.toChw(ctx.images[group[0]!]!);
      return group.map((img, g) => {
        const cam = Float32Array.from(sal[g]!, (v) => v / n / keep);
        return { layers: [{ activations: x, weights: new Float32Array(0), cam, extra: { attributions: cam, attributionShape: [1, layer.height, layer.width] } }], score: this.predictedScore(ctx, img) };
      });
    });
  }
}

/**
 * RISE's masks for an input of `size` [H, W]: grid s = ceil(max(H, W) / cell) cells a side, cell
 * size ceil(size / s) per axis, grids drawn first (row-major, p < keep), then each mask's shift
 * (row, then column) in [0, cell size). `mask(i)` builds mask i ([H * W]).
 */
export function riseMasks(n: number, size: [number, number], cell: number, keep: number, seed: number) {
  const [h, w] = size;
  const s = Math.ceil(Math.max(h, w) / cell);
  const cellH = Math.ceil(h / s);
  const cellW = Math.ceil(w / s);
  const prng = new Prng(seed);
  const grids = new Uint8Array(n * s * s);
  for (let i = 0; i < grids.length; i++) grids[i] = prng.float() < keep ? 1 : 0;
  const shifts = Array.from({ length: n }, () => [prng.int(0, cellH - 1), prng.int(0, cellW - 1)] as const);
  const upH = (s + 1) * cellH;
  const upW = (s + 1) * cellW;
  const rowTaps = reflectTaps(s, upH);
  const colTaps = reflectTaps(s, upW);
  return {
    grid: s,
    mask(i: number): Float32Array {
      const [dy, dx] = shifts[i]!;
      const g = grids.subarray(i * s * s, (i + 1) * s * s);
      const out = new Float32Array(h * w);
      for (let y = 0; y < h; y++) {
        const ty = rowTaps[y + dy]!;
        for (let x = 0; x < w; x++) {
          const tx = colTaps[x + dx]!;
          const top = g[ty.i0 * s + tx.i0]! * (1 - tx.w) + g[ty.i0 * s + tx.i1]! * tx.w;
          const bottom = g[ty.i1 * s + tx.i0]! * (1 - tx.w) + g[ty.i1 * s + tx.i1]! * tx.w;
          out[y * w + x] = top * (1 - ty.w) + bottom * ty.w;
        }
      }
      return out;
    },
  };
}

/**
 * Bilinear taps from `n` cells to `out` pixels as skimage's resize (order 1): source coordinate
 * (o + 0.5) n / out - 0.5, mirrored at the edges (mode 'reflect': -d reads d).
 */
function reflectTaps(n: number, out: number): { i0: number; i1: number; w: number }[] {
  return Array.from({ length: out }, (_, o) => {
    let c = ((o + 0.5) * n) / out - 0.5;
    if (n === 1) return { i0: 0, i1: 0, w: 0 };
    if (c < 0) c = -c;
    if (c > n - 1) c = 2 * (n - 1) - c;
    const i0 = Math.min(n - 2, Math.floor(c));
    return { i0, i1: i0 + 1, w: c - i0 };
  });
}
