/**
 * The frame of every CAM method (pytorch-grad-cam's BaseCAM): check options and inputs,
 * resolve the layers and targets, let the method compute channel weights (or the cam) per
 * layer, then cams and the heatmap.
 */
import { OptionError } from '../errors.js';
import type { LayerInfo } from '../engine/layers.js';
import { unknownTokenLayout } from '../engine/tokens.js';
import type { BuildOptions, ScoreMode, ScoreSpec } from '../engine/model.js';
import { aggregateLayerCams, camToHeatmap, weightedCam } from './cam.js';
import { checkOptionNames, type ExplanationMethod, type MethodCapabilities } from './method.js';
import type { ImagePrediction, Pipeline } from './pipeline.js';
import { Evaluations } from './runner.js';
import { resolveTargets, scoreSpecFor, type ResolvedTarget } from './targets.js';
import type { CommonOptions, Explanation, LayerExplanation } from './types.js';

/** A layer a CAM is computed at: [N, C, H, W]. */
export interface CamLayer {
  info: LayerInfo;
  channels: number;
  height: number;
  width: number;
  /** height * width */
  hw: number;
}

/** What a method computes for one image at one layer. */
export interface LayerMaps {
  /** A(x): the layer's activations at the image, [C, H*W]. */
  activations: Float32Array;
  weights: Float32Array;
  /** For element-wise methods: the cam before the final ReLU; else computed from weights. */
  cam?: Float32Array;
  /** Per-layer fields (completeness, attributions) for the Explanation. */
  extra?: Partial<LayerExplanation>;
}

/** What a method computes for one image. */
export interface ImageResult {
  /** One entry per layer, in the order of `ctx.layers`. */
  layers: LayerMaps[];
  /** The differentiated score at the image. */
  score: number;
  /** Milliseconds of this image's share of the work. */
  ms: number;
  /** Extra fields (baseline score, steps, ...) merged into the Explanation. */
  extra?: Partial<Explanation>;
}

/** Everything a method needs to run. */
export interface MethodContext<O extends CommonOptions> {
  images: readonly Float32Array[];
  /** Each image's target: its row over the scored output is the seed of the backward pass. */
  targets: ResolvedTarget[];
  predictions: ImagePrediction[];
  layers: CamLayer[];
  /** What the score reads (the class output under the score mode, or a unit target's output). */
  score: ScoreSpec;
  options: O;
  /** Counts model evaluations (progress) and cancels between batches. */
  evaluations: Evaluations;
}

export abstract class BaseCam<O extends CommonOptions = CommonOptions> implements ExplanationMethod<O> {
  /** Method name as the CLI spells it. */
  abstract readonly name: string;
  abstract readonly capabilities: MethodCapabilities;

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
    checkOptionNames(this, options);
    p.checkImages(images);
    this.validate(options);
    const layers = this.resolveLayers(options);
    const scoreMode = options.score ?? this.capabilities.defaultScore;
    if (scoreMode !== 'softmax' && scoreMode !== 'logit') throw new OptionError(`score must be 'softmax' or 'logit', got '${String(scoreMode)}'`);
    const score = scoreSpecFor(model, options.targets, scoreMode, options.score !== undefined);
    model.scoreWidth(score);
    const evaluations = new Evaluations(options.onProgress, options.signal);
    evaluations.plan(images.length + this.plannedEvaluations(images, layers, options));
    const predictions = await p.predict(images, p.batchSize(options, images.length), this.sessionFor(layers, score), evaluations);
    const targets = resolveTargets(model, options.targets, predictions, score);
    const results = await this.run({ images, targets, predictions, layers, score, options, evaluations });
    const [ih, iw] = model.imageSize;
    return results.map((r, i) => {
      const perLayer: LayerExplanation[] = r.layers.map((m, li) => {
        const L = layers[li]!;
        const cam = m.cam ? m.cam.map((v) => (v > 0 ? v : 0)) : weightedCam(m.activations, m.weights, L.channels, L.hw);
        return { layer: L.info.tensor, cam, camShape: [L.height, L.width], weights: m.weights, ...m.extra };
      });
      // One layer: its own fields at the top level. Several: the aggregate.
      const several = perLayer.length > 1 ? aggregateLayerCams(perLayer, [ih, iw]) : undefined;
      const first: LayerExplanation = several
        ? { layer: perLayer.map((l) => l.layer).join(','), cam: several.mean, camShape: [ih, iw], weights: new Float32Array(0) }
        : perLayer[0]!;
      const pred = predictions[i]!;
      const { index: t, description } = targets[i]!;
      // A unit of another output than the logits is no class: no class probability to report.
      const isClass = typeof score === 'string' || score.output === model.logits;
      return {
        method: this.name,
        ...first,
        target: t,
        objective: description,
        scoreMode: typeof score === 'string' ? score : 'output',
        score: r.score,
        probability: isClass ? pred.probabilities[t]! : NaN,
        logit: isClass ? pred.logits[t]! : NaN,
        probabilities: pred.probabilities,
        topk: pred.topk,
        heatmap: several ? several.heatmap : camToHeatmap(first.cam, first.camShape, [ih, iw]),
        heatmapShape: [ih, iw],
        layers: perLayer,
        timings: { explain: r.ms },
        ...r.extra,
      };
    });
  }

  /** The layers asked for (`layer`, or `layers`), each a 4-D map with more than one position. */
  protected resolveLayers(options: O): CamLayer[] {
    if (options.layers !== undefined && options.layer !== undefined) throw new OptionError("give 'layer' or 'layers', not both");
    if (options.layers !== undefined && (!Array.isArray(options.layers) || options.layers.length === 0)) throw new OptionError("'layers' must be a non-empty list of layer names");
    const layers = (options.layers ?? [options.layer]).map((name) => this.camLayer(name));
    const seen = new Set<string>();
    for (const l of layers) {
      if (seen.has(l.info.tensor)) throw new OptionError(`layer '${l.info.tensor}' is asked for twice`);
      seen.add(l.info.tensor);
    }
    return layers;
  }

  /** One layer by name (default: the model's default layer), checked to be a map a CAM can use. */
  protected camLayer(name: string | undefined): CamLayer {
    const model = this.pipeline.model;
    const info = model.layer(name);
    if (info.shape.length === 3) throw unknownTokenLayout(info.tensor, info.shape);
    if (info.shape.length !== 4) {
      throw new OptionError(`layer '${info.tensor}' has shape [${info.shape.join(', ')}]; CAM methods need a 4-D layer [N, C, H, W]`);
    }
    model.assertDependsOnInput(info.tensor);
    const [, c, h, w] = info.shape as [string, number, number, number];
    if (h * w === 1) {
      // One position: the cam is one number and the heatmap would be blank.
      const before = model.layers.filter((l) => l.index < info.index && l.shape.length === 4 && (l.shape[2] as number) * (l.shape[3] as number) > 1).pop();
      throw new OptionError(
        `layer '${info.tensor}' has a 1x1 spatial map, so a CAM there cannot show where anything is; choose a layer before the global pooling${before ? ` (e.g. '${before.tensor}')` : ''}`,
      );
    }
    return { info, channels: c, height: h, width: w, hw: h * w };
  }

  /** The graph variant the method runs (predictions reuse it, so one session serves both). */
  protected sessionFor(layers: CamLayer[], score: ScoreSpec): BuildOptions {
    const tensors = layers.map((l) => l.info.tensor);
    return { expose: tensors, score, wrt: tensors };
  }

  /** Model evaluations `run` will make (for progress); predictions are counted apart. Default: one per image. */
  protected plannedEvaluations(images: readonly Float32Array[], _layers: CamLayer[], _options: O): number {
    return images.length;
  }

  /** Check method-specific options before any work. */
  protected validate(_options: O): void {}

  /** Compute activations and channel weights (or cams) for every image at every layer. */
  protected abstract run(ctx: MethodContext<O>): Promise<ImageResult[]>;
}
