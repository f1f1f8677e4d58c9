/**
 * Guided Backpropagation (Springenberg et al. 2015) and Guided Grad-CAM (Selvaraju et al.
 * 2017), as Captum's `GuidedBackprop` and `GuidedGradCam`: the input gradient with every
 * ReLU's backward passing only positive gradients through positive inputs (the engine's
 * 'guided' ReLU rule; every Relu node of the graph, where Captum hooks nn.ReLU modules);
 * Guided Grad-CAM multiplies it by the layer's Grad-CAM (ReLU'd), upsampled to the input
 * by nearest neighbour (Captum's default interpolation).
 */
import { OptionError } from '../errors.js';
import type { BuildOptions, ScoreSpec } from '../engine/model.js';
import type { CamLayer, ImageResult, MethodContext } from './base-cam.js';
import { captumHeatmap, spatialMean, weightedCam } from './cam.js';
import { InputAttribution, InputGradientMethod } from './input-attribution.js';
import { gradientCapabilities, inputCapabilities, type MethodCapabilities } from './method.js';
import type { CommonOptions } from './types.js';

export class GuidedBackprop extends InputGradientMethod {
  readonly name = 'guided-backprop';
  static readonly capabilities: MethodCapabilities = inputCapabilities('Guided Backprop');
  readonly capabilities = GuidedBackprop.capabilities;

  protected override sessionFor(layers: CamLayer[], score: ScoreSpec): BuildOptions {
    return { ...super.sessionFor(layers, score), variants: { reluGradient: 'guided' } };
  }

  protected fromGradient(_x: Float32Array, g: Float32Array): Float32Array {
    return g;
  }
}

export class GuidedGradCam extends InputAttribution<CommonOptions> {
  readonly name = 'guided-gradcam';
  static readonly capabilities: MethodCapabilities = { ...gradientCapabilities('Guided Grad-CAM'), mapAt: 'input' };
  readonly capabilities = GuidedGradCam.capabilities;
  protected override resolveLayers(options: CommonOptions): CamLayer[] {
    if (options.layers !== undefined) throw new OptionError('guided-gradcam takes one layer (layer), not layers');
    this.camLayer(options.layer); // checked now; the explanation's "layer" is the input
    return super.resolveLayers({ ...options, layer: undefined });
  }

  /** Drawn as Captum draws pixel attributions: a few outlier pixels saturate instead of darkening the rest. */
  protected override heatmap(cam: Float32Array, camShape: [number, number], size: [number, number]): Float32Array {
    return captumHeatmap(cam, camShape, size);
  }

  /** The guided input gradient (predictions run on it too). */
  protected override sessionFor(layers: CamLayer[], score: ScoreSpec): BuildOptions {
    return { ...super.sessionFor(layers, score), variants: { reluGradient: 'guided' } };
  }

  /** Two runs per image: Grad-CAM at the layer, the guided gradient at the input. */
  protected override plannedEvaluations(images: readonly Float32Array[]): number {
    return 2 * images.length;
  }

  protected async run(ctx: MethodContext<CommonOptions>): Promise<ImageResult[]> {
    const p = this.pipeline;
    const { images, options } = ctx;
    const input = ctx.layers[0]!;
    const L = this.camLayer(options.layer);
    const per = p.imageSize();
    const size = L.channels * L.hw;
    const plain = await p.session({ expose: [L.info.tensor], score: ctx.score, wrt: [L.info.tensor] });
    const guided = await p.session(this.sessionFor(ctx.layers, ctx.score));
    const cams: Float32Array[] = [];
    const scores: number[] = [];
    let ms = await this.runImages(ctx, plain, [plain.outputs.activations[0]!, plain.outputs.gradients[0]!, plain.outputs.score!], (r, j) => {
      const a = r[plain.outputs.activations[0]!]!.data.subarray(j * size, (j + 1) * size);
      const g = r[plain.outputs.gradients[0]!]!.data.subarray(j * size, (j + 1) * size);
      cams.push(weightedCam(a, spatialMean(g, L.channels, L.hw), L.channels, L.hw));
      scores.push(r[plain.outputs.score!]!.data[j]!);
    });
    const results: ImageResult[] = [];
    ms += await this.runImages(ctx, guided, [guided.outputs.gradients[0]!], (r, j, i) => {
      const gb = this.toChw(r[guided.outputs.gradients[0]!]!.data, j * per);
      const up = nearest(cams[i]!, L.height, L.width, input.height, input.width);
      const attributions = gb.map((v, e) => v * up[e % input.hw]!);
      results.push({ layers: [this.attributionMaps(this.toChw(images[i]!), attributions, input)], score: scores[i]!, ms: 0 });
    });
    for (const r of results) r.ms = ms / images.length;
    return results;
  }
}

/** Nearest-neighbour resize as torch's F.interpolate(mode='nearest'): source index floor(dst * in / out). */
function nearest(src: Float32Array, h: number, w: number, oh: number, ow: number): Float32Array {
  const out = new Float32Array(oh * ow);
  for (let y = 0; y < oh; y++) {
    const sy = Math.min(h - 1, Math.floor((y * h) / oh));
    for (let x = 0; x < ow; x++) out[y * ow + x] = src[sy * w + Math.min(w - 1, Math.floor((x * w) / ow))]!;
  }
  return out;
}
