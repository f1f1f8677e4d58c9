/**
 * The frame of methods that attribute to the input pixels (Captum's Saliency,
 * InputXGradient, IntegratedGradients, ...): the "layer" is the input, attributions come back
 * as [C, H, W] whatever the model's input layout, and the cam is ReLU of their channel sum.
 */
import { OptionError } from '../errors.js';
import type { BuildOptions, ScoreSpec } from '../engine/model.js';
import { BaseCam, type CamLayer, type ImageResult, type LayerMaps, type MethodContext } from './base-cam.js';
import { attributionMaps, captumHeatmap } from './cam.js';
import type { CommonOptions } from './types.js';

export abstract class InputAttribution<O extends CommonOptions = CommonOptions> extends BaseCam<O> {
  /** The input image, as the only "layer". */
  protected override resolveLayers(options: O): CamLayer[] {
    if (options.layer !== undefined || options.layers !== undefined) throw new OptionError(`${this.name} attributes to the input pixels; it takes no layer`);
    const m = this.pipeline.model;
    const [h, w] = m.imageSize;
    const info = { tensor: m.inputName, node: '', op: 'Input', shape: ['N', m.channels, h, w], modules: [], index: -1 };
    return [{ info, channels: m.channels, height: h, width: w, hw: h * w }];
  }

  protected override sessionFor(_layers: CamLayer[], score: ScoreSpec): BuildOptions {
    return { score, wrt: [this.pipeline.model.inputName] };
  }

  /** One image tensor in the input's layout (NCHW or NHWC) as [C, H*W]. */
  protected toChw(t: Float32Array, offset = 0): Float32Array {
    const m = this.pipeline.model;
    const [h, w] = m.imageSize;
    const c = m.channels;
    if (m.inputLayout === 'NCHW') return t.slice(offset, offset + c * h * w);
    const out = new Float32Array(c * h * w);
    for (let p = 0; p < h * w; p++) for (let k = 0; k < c; k++) out[k * h * w + p] = t[offset + p * c + k]!;
    return out;
  }

  /** The maps of attributions [C, H*W] at input `x` ([C, H*W]): cam = their channel sum. */
  protected attributionMaps(x: Float32Array, attributions: Float32Array, layer: CamLayer): LayerMaps {
    return attributionMaps(x, attributions, layer.channels, layer.height, layer.width);
  }
}

/** Single-point input-gradient methods: one forward + backward per image, batched over images. */
export abstract class InputGradientMethod<O extends CommonOptions = CommonOptions> extends InputAttribution<O> {
  /** Drawn as Captum draws pixel attributions: a few outlier pixels saturate instead of darkening the rest. */
  protected override heatmap(cam: Float32Array, camShape: [number, number], size: [number, number]): Float32Array {
    return captumHeatmap(cam, camShape, size);
  }

  /** Attributions from the input `x` and the gradient `g` there (both [C, H*W]). */
  protected abstract fromGradient(x: Float32Array, g: Float32Array): Float32Array;

  protected async run(ctx: MethodContext<O>): Promise<ImageResult[]> {
    const layer = ctx.layers[0]!;
    const built = await this.pipeline.session(this.sessionFor(ctx.layers, ctx.score));
    const { outputs } = built;
    const per = this.pipeline.imageSize();
    const results: ImageResult[] = [];
    const ms = await this.runImages(ctx, built, [outputs.gradients[0]!, outputs.score!], (r, j, i) => {
      const x = this.toChw(ctx.images[i]!);
      const g = this.toChw(r[outputs.gradients[0]!]!.data, j * per);
      results.push({ layers: [this.attributionMaps(x, this.fromGradient(x, g), layer)], score: r[outputs.score!]!.data[j]!, ms: 0 });
    });
    for (const r of results) r.ms = ms / ctx.images.length;
    return results;
  }
}
