/**
 * Ablation-CAM (Desai and Ramaswamy, WACV 2020): w_k = (y - y_k) / y, where y_k is the target
 * logit with channel k of the layer set to zero. Gradient-free: it runs the graph cut at the
 * layer with its activations fed from outside, so only the part above the layer runs for
 * each ablated channel.
 */
import { BaseCam, type LayerResult, type MethodContext } from './base-cam.js';
import type { CommonOptions } from './types.js';
import type { BuildOptions } from '../engine/model.js';
import type { LayerInfo } from '../engine/layers.js';

export class AblationCam extends BaseCam<CommonOptions> {
  readonly name = 'ablationcam';
  protected readonly defaultScore = 'logit' as const;

  protected override sessionFor(layer: LayerInfo): BuildOptions {
    return { expose: [layer.tensor] };
  }

  protected async run(ctx: MethodContext<CommonOptions>): Promise<LayerResult[]> {
    const p = this.pipeline;
    const { images, targets, layer, channels, hw, options } = ctx;
    const model = p.model;
    const k = model.numClasses;
    const per = channels * hw;
    const expose = await p.session(this.sessionFor(layer));
    const fed = await p.session({ feed: layer.tensor });
    const needsImage = fed.session.inputNames.includes(model.inputName);
    const batch = p.batchSize(options, channels);
    const scoreOf = (probs: Float32Array, logits: Float32Array, j: number, t: number) =>
      ctx.scoreMode === 'softmax' ? probs[j * k + t]! : logits[j * k + t]!;
    const results: LayerResult[] = [];
    for (let img = 0; img < images.length; img++) {
      const t0 = performance.now();
      const t = targets[img]!;
      const x = p.stack(images, [img]);
      const r = await expose.session.run({ [model.inputName]: x });
      const a = r[expose.outputs.activations[0]!]!.data;
      const y = scoreOf(r[expose.outputs.probs]!.data, r[expose.outputs.logits]!.data, 0, t);
      const weights = new Float32Array(channels);
      for (let start = 0; start < channels; start += batch) {
        const n = Math.min(batch, channels - start);
        const acts = new Float32Array(n * per);
        for (let j = 0; j < n; j++) {
          acts.set(a, j * per);
          acts.fill(0, j * per + (start + j) * hw, j * per + (start + j + 1) * hw);
        }
        const feeds: Record<string, { data: Float32Array; dims: number[] }> = {
          [layer.tensor]: { data: acts, dims: [n, channels, ...(layer.shape.slice(2) as number[])] },
        };
        if (needsImage) feeds[model.inputName] = p.stack(new Array(n).fill(images[img]!), Array.from({ length: n }, (_, i) => i));
        const out = await fed.session.run(feeds, [fed.outputs.probs, fed.outputs.logits]);
        for (let j = 0; j < n; j++) {
          weights[start + j] = (y - scoreOf(out[fed.outputs.probs]!.data, out[fed.outputs.logits]!.data, j, t)) / (y + 1e-7);
        }
      }
      results.push({ activations: a, weights, score: y, ms: performance.now() - t0 });
      options.onProgress?.(img + 1, images.length);
    }
    return results;
  }
}
