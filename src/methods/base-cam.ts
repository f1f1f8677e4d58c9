/**
 * The frame of every CAM method (pytorch-grad-cam's BaseCAM): check options and inputs,
 * resolve the layers and targets, let the method compute channel weights (or the cam) per
 * layer, then cams and the heatmap.
 */
import { ModelFormatError, OptionError } from '../errors.js';
import type { LayerInfo } from '../engine/layers.js';
import { unknownTokenLayout } from '../engine/tokens.js';
import type { BuildOptions, ScoreSpec } from '../engine/model.js';
import { aggregateLayerCams, camToHeatmap, weightedCam } from './cam.js';
import { get2dProjection } from './projection.js';
import { normalizeMinMax } from '../image/float-map.js';
import { AUGMENTATIONS, checkSmoothing, combineNoise, fixedTarget, flipWidth, noisyCopy } from './smoothing.js';
import { checkOptionNames, type ExplanationMethod, type MethodCapabilities } from './method.js';
import type { BuiltSession, ImagePrediction, Pipeline } from './pipeline.js';
import { Evaluations, allFinite, range, runBatches } from './runner.js';
import type { FloatTensor } from '../engine/runtime/runtime.js';
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
  /** The [C, H*W] tensor whose channel sum is the cam (eigen smoothing projects it); default w_k A_k. */
  weighted?: Float32Array;
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
    checkSmoothing(options);
    if (options.smooth === 'noise' || options.smooth === 'aug') return this.smoothed(images, options);
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
        const cam = options.smooth === 'eigen' ? this.eigenCam(m, L) : m.cam ? m.cam.map((v) => (v > 0 ? v : 0)) : weightedCam(m.activations, m.weights, L.channels, L.hw);
        // Finite activations and weights can still overflow float32 in their sum (broken weights).
        if (!allFinite(cam) || !allFinite(m.weights)) {
          throw new ModelFormatError(`${model.source}: the cam at layer '${L.info.tensor}' overflows float32 (activations or gradients too large; broken weights?)`);
        }
        return { layer: L.info.tensor, cam, camShape: [L.height, L.width], weights: m.weights, ...m.extra };
      });
      // One layer: its own fields at the top level. Several: the aggregate.
      const several = perLayer.length > 1 ? aggregateLayerCams(perLayer, [ih, iw]) : undefined;
      const first: LayerExplanation = several
        ? { layer: perLayer.map((l) => l.layer).join(','), cam: several.mean, camShape: [ih, iw], weights: new Float32Array(0) }
        : perLayer[0]!;
      return this.explanationOf(first, perLayer, several ? several.heatmap : this.heatmap(first.cam, first.camShape, [ih, iw]), predictions[i]!, targets[i]!, score, r.score, r.ms, r.extra);
    });
  }

  /** One image's Explanation from its top-level layer fields, every layer, the heatmap, the prediction and target. */
  private explanationOf(
    first: LayerExplanation, layers: LayerExplanation[], heatmap: Float32Array, pred: ImagePrediction, target: ResolvedTarget,
    score: ScoreSpec, value: number, ms: number, extra?: Partial<Explanation>,
  ): Explanation {
    const model = this.pipeline.model;
    const t = target.index;
    // A unit of another output than the logits is no class: no class probability to report.
    const isClass = typeof score === 'string' || score.output === model.logits;
    return {
      method: this.name,
      ...first,
      target: t,
      objective: target.description,
      scoreMode: typeof score === 'string' ? score : 'output',
      score: value,
      probability: isClass ? pred.probabilities[t]! : NaN,
      logit: isClass ? pred.logits[t]! : NaN,
      probabilities: pred.probabilities,
      topk: pred.topk,
      heatmap,
      heatmapShape: [...model.imageSize],
      layers,
      timings: { explain: ms },
      ...extra,
    };
  }

  /** Eigen smoothing: ReLU of the first principal component of the weighted activations. */
  private eigenCam(m: LayerMaps, L: CamLayer): Float32Array {
    let weighted = m.weighted;
    if (!weighted && !m.cam) {
      weighted = new Float32Array(L.channels * L.hw);
      for (let k = 0; k < L.channels; k++) for (let j = 0; j < L.hw; j++) weighted[k * L.hw + j] = m.weights[k]! * m.activations[k * L.hw + j]!;
    }
    if (!weighted) throw new OptionError(`eigen smoothing does not apply to ${this.name}: its map is not a sum over channels`);
    return get2dProjection(weighted, L.channels, L.hw).projection.map((v) => (v > 0 ? v : 0));
  }

  /**
   * Noise and aug smoothing: the method on noisy or augmented copies of the images (targets
   * fixed on the clean images), the maps combined per layer; the heatmap from the combination.
   */
  private async smoothed(images: readonly Float32Array[], options: O): Promise<Explanation[]> {
    const p = this.pipeline;
    const model = p.model;
    p.checkImages(images);
    const { smooth, noiseSamples, noiseStdev, noiseType, seed, onProgress, targets: given, ...rest } = options;
    const ownSeed = this.capabilities.options.includes('seed');
    const scoreMode = options.score ?? this.capabilities.defaultScore;
    const score = scoreSpecFor(model, given, scoreMode, options.score !== undefined);
    const predictions = await p.predict(images, p.batchSize(options, images.length), {}, new Evaluations(undefined, options.signal));
    const resolved = resolveTargets(model, given, predictions, score);
    const targets = resolved.map(fixedTarget);
    const [ih, iw] = model.imageSize;
    const c = model.channels;
    const nchw = model.inputLayout === 'NCHW';
    const copies =
      smooth === 'noise'
        ? Array.from({ length: noiseSamples ?? 5 }, (_, k) => ({ flip: false, images: images.map((x, i) => noisyCopy(x, noiseStdev ?? 1, seed ?? 0, i, k)) }))
        : AUGMENTATIONS.map((a) => ({ flip: a.flip, images: images.map((x) => (a.flip ? flipWidth(x, ih, iw, c, nchw) : x).map((v) => v * a.factor)) }));
    const runs: Explanation[][] = [];
    for (const [k, copy] of copies.entries()) {
      const inner = { ...rest, targets, ...(ownSeed && seed !== undefined ? { seed } : {}), onProgress: onProgress && ((d: number, t: number) => onProgress(k * t + d, copies.length * t)) } as O;
      runs.push(await this.explainHeld(copy.images, inner));
    }
    const combine = (maps: Float32Array[]) => (smooth === 'noise' ? combineNoise(maps, noiseType ?? 'smoothgrad') : combineNoise(maps, 'smoothgrad'));
    return images.map((_, i) => {
      const each = runs.map((r) => r[i]!);
      const unflip = (t: Float32Array, rows: number, cols: number, k: number, depth = 1) => (copies[k]!.flip ? flipWidth(t, rows, cols, depth, true) : t);
      const layers: LayerExplanation[] = each[0]!.layers.map((l0, li) => {
        const [h, w] = l0.camShape;
        const att = l0.attributions && l0.attributionShape;
        return {
          layer: l0.layer,
          cam: combine(each.map((e, k) => unflip(e.layers[li]!.cam, h, w, k))),
          camShape: l0.camShape,
          weights: combine(each.map((e) => e.layers[li]!.weights)),
          ...(att ? { attributions: combine(each.map((e, k) => unflip(e.layers[li]!.attributions!, att[1], att[2], k, att[0]))), attributionShape: att } : {}),
        };
      });
      const several = layers.length > 1 ? aggregateLayerCams(layers, [ih, iw]) : undefined;
      // aug (as pytorch-grad-cam): the mean of the copies' heatmaps, each flipped back.
      const augMean = smooth === 'aug' ? combine(each.map((e, k) => unflip(e.heatmap, ih, iw, k))) : undefined;
      const first: LayerExplanation =
        several || augMean
          ? { layer: layers.map((l) => l.layer).join(','), cam: augMean ?? several!.mean, camShape: [ih, iw], weights: layers.length > 1 ? new Float32Array(0) : layers[0]!.weights }
          : layers[0]!;
      const heatmap = augMean ? normalizeMinMax({ width: iw, height: ih, data: augMean }).data : several ? several.heatmap : this.heatmap(first.cam, first.camShape, [ih, iw]);
      const value = scoreFromPrediction(model, score, resolved[i]!.row, predictions[i]!);
      const smoothing = { mode: smooth!, copies: copies.length, ...(smooth === 'noise' ? { noiseType: noiseType ?? 'smoothgrad' } : {}) };
      return this.explanationOf(first, layers, heatmap, predictions[i]!, resolved[i]!, score, value, each.reduce((s, e) => s + e.timings.explain, 0), { smoothing });
    });
  }

  /** The map shown, at the input size in [0, 1]: the cam resized and min-max normalised (pytorch-grad-cam). */
  protected heatmap(cam: Float32Array, camShape: [number, number], size: [number, number]): Float32Array {
    return camToHeatmap(cam, camShape, size);
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

  /**
   * Runs the images `which` (default all) through `built` in batches, each with its target
   * row; `take(out, j, i)` gets item j of a batch's outputs, image i. Returns the ms spent.
   */
  protected runImages(
    ctx: MethodContext<O>,
    built: BuiltSession,
    fetch: string[],
    take: (out: Record<string, FloatTensor>, j: number, image: number) => void,
    which: readonly number[] = range(0, ctx.images.length),
  ): Promise<number> {
    const p = this.pipeline;
    const width = p.model.scoreWidth(ctx.score);
    return runBatches(
      built.session,
      {
        count: which.length,
        batchSize: p.batchSize(ctx.options, which.length),
        source: p.model.source,
        fetch,
        feeds: (start, n) => {
          const idx = which.slice(start, start + n);
          return p.feeds(p.stack(ctx.images, idx), idx.map((i) => ctx.targets[i]!.row), width);
        },
        take: (out, start, n) => {
          for (let j = 0; j < n; j++) take(out, j, which[start + j]!);
        },
      },
      ctx.evaluations,
    );
  }

  /**
   * The single-point loop (one forward + backward at each image, batched over images) of the
   * gradient CAMs and Eigen-CAMs: `perLayer(a, g, L)` turns one image's activations `a` and
   * gradients `g` ([C, H*W] each; g undefined when the session has none) at layer L into its maps.
   */
  protected async runAtImages(
    ctx: MethodContext<O>,
    perLayer: (a: Float32Array, g: Float32Array | undefined, L: CamLayer) => LayerMaps,
  ): Promise<ImageResult[]> {
    const { layers } = ctx;
    const built = await this.pipeline.session(this.sessionFor(layers, ctx.score));
    const { outputs } = built;
    const results: ImageResult[] = [];
    const ms = await this.runImages(ctx, built, [...outputs.activations, ...outputs.gradients, outputs.score!], (r, j) => {
      const maps = layers.map((L, li) => {
        const per = L.channels * L.hw;
        const a = r[outputs.activations[li]!]!.data.slice(j * per, (j + 1) * per);
        const gradient = outputs.gradients[li];
        return perLayer(a, gradient === undefined ? undefined : r[gradient]!.data.subarray(j * per, (j + 1) * per), L);
      });
      results.push({ layers: maps, score: r[outputs.score!]!.data[j]!, ms: 0 });
    });
    for (const r of results) r.ms = ms / ctx.images.length;
    return results;
  }

  /** The score at image `i` from its prediction (for methods that never evaluate the image itself); NaN for a unit of another output. */
  protected predictedScore(ctx: MethodContext<O>, i: number): number {
    return scoreFromPrediction(this.pipeline.model, ctx.score, ctx.targets[i]!.row, ctx.predictions[i]!);
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

/** sum_k row_k y_k over the predicted output the score reads; NaN when the prediction does not hold it (a unit of another output). */
function scoreFromPrediction(model: Pipeline['model'], spec: ScoreSpec, row: Float32Array, pred: ImagePrediction): number {
  const y = spec === 'softmax' ? pred.probabilities : spec === 'logit' || (spec.output === model.logits && spec.activation === 'none') ? pred.logits : undefined;
  if (!y) return NaN;
  let s = 0;
  for (let k = 0; k < row.length; k++) s += row[k]! * y[k]!;
  return s;
}
