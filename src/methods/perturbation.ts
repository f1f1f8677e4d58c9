/**
 * The frame of forward-only input attributions that score perturbed copies of each image
 * (Occlusion, RISE): one forward session with the score, the input's geometry, and the
 * batched loop over an image's copies.
 */
import type { BuildOptions, ScoreSpec } from '../engine/model.js';
import type { CamLayer, MethodContext } from './base-cam.js';
import { InputAttribution } from './input-attribution.js';
import { runForTargets } from './shared-forwards.js';
import type { CommonOptions } from './types.js';

/** The model input's geometry: size, channels, values per image and where (channel k, pixel q) lies. */
export interface InputGeometry {
  h: number;
  w: number;
  c: number;
  /** Values of one image: c * h * w. */
  per: number;
  /** Index of channel k at pixel q (= y * w + x) in the model's layout (NCHW or NHWC). */
  at(k: number, q: number): number;
}

/**
 * Scores `count` copies of the image of `group` (indices of equal images, see
 * sameImageGroups): `perturb(copy, i)` changes copy i (holding the image's values) in place;
 * `take(i, scores)` gets its score for each member's target, in the group's order. Copies run
 * in batches, once for the whole group.
 */
export type CopyScorer = (
  group: readonly number[], count: number, perturb: (copy: Float32Array, i: number) => void, take: (i: number, scores: readonly number[]) => void,
) => Promise<void>;

export abstract class PerturbationAttribution<O extends CommonOptions = CommonOptions> extends InputAttribution<O> {
  /** Forward only: the score, no gradients. */
  protected override sessionFor(_layers: CamLayer[], score: ScoreSpec): BuildOptions {
    return { score };
  }

  protected inputGeometry(): InputGeometry {
    const model = this.pipeline.model;
    const [h, w] = model.imageSize;
    const c = model.channels;
    const n = h * w;
    const at = model.inputLayout === 'NCHW' ? (k: number, q: number) => k * n + q : (k: number, q: number) => q * c + k;
    return { h, w, c, per: this.pipeline.imageSize(), at };
  }

  /** The copy scorer over this call's forward session, each copy scored for its group's targets. */
  protected async copyScorer(ctx: MethodContext<O>): Promise<CopyScorer> {
    const p = this.pipeline;
    const built = await p.session(this.sessionFor(ctx.layers, ctx.score));
    const width = p.model.scoreWidth(ctx.score);
    const per = p.imageSize();
    return (group, count, perturb, take) => {
      const x = ctx.images[group[0]!]!;
      return runForTargets(p, built, ctx, group, {
        count,
        batchSize: p.batchSize(ctx.options, count),
        feeds: (start, n, rows) => {
          const data = new Float32Array(n * per);
          for (let j = 0; j < n; j++) {
            const copy = data.subarray(j * per, (j + 1) * per);
            copy.set(x);
            perturb(copy, start + j);
          }
          return p.feeds(p.batchTensor(data, n), rows, width);
        },
        take: (_out, start, n, scores) => {
          for (let j = 0; j < n; j++) take(start + j, scores.map((s) => s[j]!));
        },
      }).then(() => undefined);
    };
  }
}
