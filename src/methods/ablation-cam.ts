/**
 * Ablation-CAM (Desai and Ramaswamy, WACV 2020): w_k = (y - y_k) / y, where y_k is the target
 * score with channel k of the layer set to zero. Gradient-free: it runs the graph cut at the
 * layer with its activations fed from outside, so only the part above the layer runs for
 * each ablated channel.
 */
import type { ImageResult, LayerMaps, MethodContext } from './base-cam.js';
import { ChannelCam } from './channel-cam.js';
import { gradientCapabilities, type MethodCapabilities } from './method.js';
import { runBatches } from './runner.js';
import type { CommonOptions } from './types.js';

export class AblationCam extends ChannelCam {
  readonly name = 'ablationcam';
  static readonly capabilities: MethodCapabilities = gradientCapabilities('Ablation-CAM');
  readonly capabilities = AblationCam.capabilities;

  protected async run(ctx: MethodContext<CommonOptions>): Promise<ImageResult[]> {
    const p = this.pipeline;
    const { images, targets, layers, options, evaluations } = ctx;
    const expose = await p.session(this.sessionFor(layers, ctx.score));
    const results: ImageResult[] = [];
    for (let img = 0; img < images.length; img++) {
      const t0 = performance.now();
      const row = targets[img]!.row;
      let acts: Float32Array[] = [];
      let y = 0;
      await this.runImages(ctx, expose, [...expose.outputs.activations, expose.outputs.score!], (r) => {
        acts = expose.outputs.activations.map((name) => r[name]!.data);
        y = r[expose.outputs.score!]!.data[0]!;
      }, [img]);
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
            source: p.model.source,
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
