/**
 * Ablation-CAM (Desai and Ramaswamy, WACV 2020): w_k = (y - y_k) / y, where y_k is the target
 * score with channel k of the layer set to zero. Gradient-free: it runs the graph cut at the
 * layer with its activations fed from outside, so only the part above the layer runs for
 * each ablated channel.
 */
import { BaseCam, type CamLayer, type ImageResult, type LayerMaps, type MethodContext } from './base-cam.js';
import { gradientCapabilities, type MethodCapabilities } from './method.js';
import { runBatches } from './runner.js';
import type { CommonOptions } from './types.js';
import type { BuildOptions, ScoreSpec } from '../engine/model.js';

export class AblationCam extends BaseCam<CommonOptions> {
  readonly name = 'ablationcam';
  static readonly capabilities: MethodCapabilities = gradientCapabilities('Ablation-CAM');
  readonly capabilities = AblationCam.capabilities;

  /** The score without gradients: a forward that exposes the layers. */
  protected override sessionFor(layers: CamLayer[], score: ScoreSpec): BuildOptions {
    return { expose: layers.map((l) => l.info.tensor), score };
  }

  /** One forward per image, then one run above the layer per ablated channel. */
  protected override plannedEvaluations(images: readonly Float32Array[], layers: CamLayer[]): number {
    return images.length * (1 + layers.reduce((n, l) => n + l.channels, 0));
  }

  protected async run(ctx: MethodContext<CommonOptions>): Promise<ImageResult[]> {
    const p = this.pipeline;
    const { images, targets, layers, options, evaluations } = ctx;
    const model = p.model;
    const width = model.scoreWidth(ctx.score);
    const expose = await p.session(this.sessionFor(layers, ctx.score));
    const results: ImageResult[] = [];
    for (let img = 0; img < images.length; img++) {
      const t0 = performance.now();
      const row = targets[img]!.row;
      let acts: Float32Array[] = [];
      let y = 0;
      await runBatches(
        expose.session,
        {
          count: 1,
          batchSize: 1,
          fetch: [...expose.outputs.activations, expose.outputs.score!],
          feeds: () => p.feeds(p.stack(images, [img]), [row], width),
          take: (r) => {
            acts = expose.outputs.activations.map((name) => r[name]!.data);
            y = r[expose.outputs.score!]!.data[0]!;
          },
        },
        evaluations,
      );
      const maps: LayerMaps[] = [];
      for (const [li, layer] of layers.entries()) {
        const fed = await p.session({ feed: layer.info.tensor, score: ctx.score });
        const a = acts[li]!;
        const per = layer.channels * layer.hw;
        const weights = new Float32Array(layer.channels);
        await runBatches(
          fed.session,
          {
            count: layer.channels,
            batchSize: p.batchSize(options, layer.channels),
            fetch: [fed.outputs.score!],
            feeds: (start, n) => {
              const data = new Float32Array(n * per);
              for (let j = 0; j < n; j++) {
                data.set(a, j * per);
                data.fill(0, j * per + (start + j) * layer.hw, j * per + (start + j + 1) * layer.hw);
              }
              return p.cutFeeds(fed, layer.info.tensor, { data, dims: [n, layer.channels, layer.height, layer.width] }, images[img]!, new Array<Float32Array>(n).fill(row));
            },
            take: (r, start, n) => {
              const s = r[fed.outputs.score!]!.data;
              for (let j = 0; j < n; j++) weights[start + j] = (y - s[j]!) / (y + 1e-7);
            },
          },
          evaluations,
        );
        maps.push({ activations: a, weights });
      }
      results.push({ layers: maps, score: y, ms: performance.now() - t0 });
    }
    return results;
  }
}
