/**
 * The frame of forward-only CAMs that run one model evaluation per channel of the layer
 * (Ablation-CAM, Score-CAM): the score and the layers' activations at the image from a
 * forward that exposes them, then the per-channel evaluations; equal images of one call share
 * their forwards across targets (shared-forwards.ts).
 */
import type { BuildOptions, ScoreSpec } from '../engine/model.js';
import { BaseCam, type CamLayer, type MethodContext } from './base-cam.js';
import type { BuiltSession } from './pipeline.js';
import { distinctImages, runForTargets, type GroupBatches } from './shared-forwards.js';
import type { CommonOptions } from './types.js';

export abstract class ChannelCam extends BaseCam<CommonOptions> {
  /** A forward exposing the layers, with the score (no gradients). */
  protected override sessionFor(layers: CamLayer[], score: ScoreSpec): BuildOptions {
    return { expose: layers.map((l) => l.info.tensor), score };
  }

  /** One forward per image, then one evaluation per channel of each layer. */
  protected override plannedEvaluations(images: readonly Float32Array[], layers: CamLayer[]): number {
    return distinctImages(images) * (1 + layers.reduce((n, l) => n + l.channels, 0));
  }

  /**
   * The layers' activations ([C, H*W] each) at the image of `group` (equal images, see
   * sameImageGroups) and each member's score there: one forward for the whole group.
   */
  protected async atImage(ctx: MethodContext<CommonOptions>, built: BuiltSession, group: readonly number[]): Promise<{ acts: Float32Array[]; ys: number[] }> {
    const p = this.pipeline;
    let acts: Float32Array[] = [];
    let ys: number[] = [];
    await runForTargets(p, built, ctx, group, {
      count: 1,
      batchSize: p.batchSize(ctx.options, 1),
      fetch: built.outputs.activations,
      feeds: (_start, _n, rows) => p.feeds(p.stack(ctx.images, [group[0]!]), rows, p.model.scoreWidth(ctx.score)),
      take: (r, _start, _n, scores) => {
        acts = built.outputs.activations.map((name) => r[name]!.data);
        ys = scores.map((s) => s[0]!);
      },
    });
    return { acts, ys };
  }

  /**
   * One evaluation per channel of layer `L` for the image of `group`, run once for all its
   * members: `feeds(start, n, rows)` builds the items of channels [start, start + n). Returns
   * each member's score per channel.
   */
  protected async channelScores(
    ctx: MethodContext<CommonOptions>, built: BuiltSession, group: readonly number[], L: CamLayer, feeds: GroupBatches['feeds'],
  ): Promise<Float32Array[]> {
    const scores = group.map(() => new Float32Array(L.channels));
    await runForTargets(this.pipeline, built, ctx, group, {
      count: L.channels,
      batchSize: this.pipeline.batchSize(ctx.options, L.channels),
      feeds,
      take: (_r, start, n, s) => scores.forEach((out, m) => out.set(s[m]!.subarray(0, n), start)),
    });
    return scores;
  }
}
