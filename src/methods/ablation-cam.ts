/**
 * Ablation-CAM (Desai and Ramaswamy, WACV 2020): w_k = (y - y_k) / y, where y_k is the target
 * score with channel k of the layer set to zero. Gradient-free: it runs the graph cut at the
 * layer with its activations fed from outside, so only the part above the layer runs for
 * each ablated channel.
 */
import type { ImageResult, LayerMaps, MethodContext } from './base-cam.js';
import { ChannelCam } from './channel-cam.js';
import { gradientCapabilities, type MethodCapabilities } from './method.js';
import { perImageGroup } from './shared-forwards.js';
import type { CommonOptions } from './types.js';

export class AblationCam extends ChannelCam {
  readonly name = 'ablationcam';
  static readonly capabilities: MethodCapabilities = gradientCapabilities('Ablation-CAM');
  readonly capabilities = AblationCam.capabilities;

  protected async run(ctx: MethodContext<CommonOptions>): Promise<ImageResult[]> {
    const p = this.pipeline;
    const { images, layers } = ctx;
    const expose = await p.session(this.sessionFor(layers, ctx.score));
    return perImageGroup(images, async (group) => {
      const { acts, ys } = await this.atImage(ctx, expose, group);
      // Per member (target) of the group: the ablated channels run once for all.
      const maps: LayerMaps[][] = group.map(() => []);
      for (const [li, layer] of layers.entries()) {
        const fed = await p.session({ feed: layer.info.tensor, score: ctx.score });
        const a = acts[li]!;
        const per = layer.channels * layer.hw;
        const scores = await this.channelScores(ctx, fed, group, layer, (start, n, rows) => {
          const data = new Float32Array(n * per);
          for (let j = 0; j < n; j++) {
            data.set(a, j * per);
            data.fill(0, j * per + (start + j) * layer.hw, j * per + (start + j + 1) * layer.hw);
          }
          return p.cutFeeds(fed, layer.info.tensor, { data, dims: [n, layer.channels, layer.height, layer.width] }, images[group[0]!]!, rows);
        });
        scores.forEach((s, m) => {
          const y = ys[m]!;
          maps[m]!.push({ activations: a, weights: s.map((v) => (y - v) / (y + 1e-7)) });
        });
      }
      return group.map((_img, m) => ({ layers: maps[m]!, score: ys[m]! }));
    });
  }
}
