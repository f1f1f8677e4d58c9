/**
 * The JSON form of one explanation (what `explain --raw` writes and the web page downloads):
 * every field a researcher needs to redo the picture or the statistics.
 */
import type { Classifier } from './classifier.js';
import type { FitMode } from './image/fit.js';
import type { Explanation } from './methods/types.js';

export interface ExplanationJsonContext {
  /** The image's file name or path. */
  image: string;
  /** [width, height] of the photo. */
  imageSize: [number, number];
  fit: FitMode;
  /** How the photo became the model's channels (1-, 2- and 4-channel models). */
  conversion?: string;
  /** Milliseconds: model load and this explanation. */
  timings: { load: number; explain: number };
}

export function explanationJson(c: Classifier, e: Explanation, ctx: ExplanationJsonContext) {
  // Input methods explain at the image input itself, which belongs to no module.
  const modules = (tensor: string) => (tensor === c.model.inputName ? [] : c.model.layer(tensor).modules);
  // Element-wise attributions (input methods: [C, H, W] as Captum returns them; layer-ig, conductance: at the layer).
  const attributions = (l: Explanation['layers'][number]) =>
    l.attributions ? { attributionShape: l.attributionShape, attributions: Array.from(l.attributions) } : {};
  const several = e.layers.length > 1;
  return {
    method: e.method,
    model: c.info.source,
    image: ctx.image,
    imageSize: ctx.imageSize,
    conversion: ctx.conversion,
    layer: e.layer,
    layerModules: several ? undefined : modules(e.layer),
    steps: e.steps,
    score: e.scoreMode,
    scoreValue: e.score,
    target: { index: e.target, label: c.label(e.target) },
    objective: { ...e.objective, description: c.describeTarget(e.objective) },
    probability: e.probability,
    logit: e.logit,
    topk: e.topk.map((t) => ({ index: t.index, label: c.label(t.index), probability: t.probability })),
    camShape: e.camShape,
    cam: Array.from(e.cam),
    weights: Array.from(e.weights),
    ...(several ? {} : attributions(e)),
    completenessError: e.completenessError,
    relativeCompletenessError: e.relativeCompletenessError,
    // Path methods: model evaluations along the path and the estimated error (steps 'auto': with its tolerance and whether the cap stopped it).
    evaluations: e.evaluations,
    estimatedError: e.estimatedError,
    estimatedHeatmapError: e.estimatedHeatmapError,
    estimatedCompletenessError: e.estimatedCompletenessError,
    tolerance: e.tolerance,
    evaluationCapReached: e.evaluationCapReached,
    baselineScore: e.baselineScore,
    // The smoothing modifier (noise, aug, eigen) and how many copies its maps combine.
    smoothing: e.smoothing,
    // Several layers: each one's cam and weights (the top-level cam is their aggregate at the input size).
    layers: several
      ? e.layers.map((l) => ({
          layer: l.layer, layerModules: modules(l.layer), camShape: l.camShape, cam: Array.from(l.cam), weights: Array.from(l.weights), ...attributions(l),
          completenessError: l.completenessError, relativeCompletenessError: l.relativeCompletenessError,
          estimatedError: l.estimatedError, estimatedHeatmapError: l.estimatedHeatmapError, estimatedCompletenessError: l.estimatedCompletenessError,
        }))
      : undefined,
    fit: ctx.fit,
    timings: ctx.timings,
  };
}
