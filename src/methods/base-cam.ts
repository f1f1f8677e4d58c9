/**
 * The frame of every CAM method (pytorch-grad-cam's BaseCAM): check inputs, resolve the
 * layer and targets, let the method compute channel weights, then cam and heatmap.
 */
import { OptionError } from '../errors.js';
import type { LayerInfo } from '../engine/layers.js';
import type { BuildOptions, ScoreMode } from '../engine/model.js';
import { camToHeatmap, weightedCam } from './cam.js';
import type { ImagePrediction, Pipeline } from './pipeline.js';
import type { CommonOptions, Explanation } from './types.js';

/** What a method computes for one image. */
export interface LayerResult {
  /** A(x): the layer's activations at the image, [C, H*W]. */
  activations: Float32Array;
  weights: Float32Array;
  /** For element-wise methods: sum_k (map_k * A_k) before the final ReLU; else computed from weights. */
  cam?: Float32Array;
  /** The differentiated score at the image. */
  score: number;
  /** Extra fields (completeness, steps, ...) merged into the Explanation. */
  extra?: Partial<Explanation>;
  /** Milliseconds of this image's share of the work. */
  ms: number;
}

/** Everything a method needs to run. */
export interface MethodContext<O extends CommonOptions> {
  images: readonly Float32Array[];
  targets: number[];
  predictions: ImagePrediction[];
  layer: LayerInfo;
  channels: number;
  hw: number;
  scoreMode: ScoreMode;
  options: O;
}

export abstract class BaseCam<O extends CommonOptions = CommonOptions> {
  /** Method name as the CLI spells it. */
  abstract readonly name: string;
  /** Score mode when the options give none. */
  protected abstract readonly defaultScore: ScoreMode;

  /** This method's own view of the pipeline: the sessions a call takes are held until it ends. */
  readonly pipeline: Pipeline;

  constructor(pipeline: Pipeline) {
    this.pipeline = pipeline.view();
  }

  /** Explain each image for its target at the chosen layer. */
  async explain(images: readonly Float32Array[], options: O = {} as O): Promise<Explanation[]> {
    const end = this.pipeline.hold();
    try {
      return await this.explainHeld(images, options);
    } finally {
      end();
    }
  }

  private async explainHeld(images: readonly Float32Array[], options: O): Promise<Explanation[]> {
    const p = this.pipeline;
    const model = p.model;
    p.checkImages(images);
    this.validate(options);
    const layer = model.layer(options.layer);
    if (layer.shape.length !== 4) {
      throw new OptionError(`layer '${layer.tensor}' has shape [${layer.shape.join(', ')}]; CAM methods need a 4-D layer [N, C, H, W]`);
    }
    model.assertDependsOnInput(layer.tensor);
    const [, c, h, w] = layer.shape as [string, number, number, number];
    const scoreMode = options.score ?? this.defaultScore;
    if (scoreMode !== 'softmax' && scoreMode !== 'logit') throw new OptionError(`score must be 'softmax' or 'logit', got '${String(scoreMode)}'`);
    const predictions = await p.predict(images, p.batchSize(options, images.length), this.sessionFor(layer, scoreMode));
    const targets = p.resolveTargets(options.targets, predictions);
    const results = await this.run({ images, targets, predictions, layer, channels: c, hw: h * w, scoreMode, options });
    const [ih, iw] = model.imageSize;
    return results.map((r, i) => {
      const cam = r.cam ? r.cam.map((v) => (v > 0 ? v : 0)) : weightedCam(r.activations, r.weights, c, h * w);
      const pred = predictions[i]!;
      const t = targets[i]!;
      return {
        method: this.name,
        layer: layer.tensor,
        target: t,
        scoreMode,
        score: r.score,
        probability: pred.probabilities[t]!,
        logit: pred.logits[t]!,
        probabilities: pred.probabilities,
        topk: pred.topk,
        cam,
        camShape: [h, w],
        heatmap: camToHeatmap(cam, [h, w], [ih, iw]),
        heatmapShape: [ih, iw],
        weights: r.weights,
        timings: { explain: r.ms },
        ...r.extra,
      };
    });
  }

  /** The graph variant the method runs (predictions reuse it, so one session serves both). */
  protected sessionFor(layer: LayerInfo, score: ScoreMode): BuildOptions {
    return { expose: [layer.tensor], score, wrt: [layer.tensor] };
  }

  /** Check method-specific options before any work. */
  protected validate(_options: O): void {}

  /** Compute activations and channel weights for every image. */
  protected abstract run(ctx: MethodContext<O>): Promise<LayerResult[]>;
}
