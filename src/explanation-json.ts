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
  /** Milliseconds: model load and this explanation. */
  timings: { load: number; explain: number };
}

export function explanationJson(c: Classifier, e: Explanation, ctx: ExplanationJsonContext) {
  const layer = c.model.layer(e.layer);
  return {
    method: e.method,
    model: c.info.source,
    image: ctx.image,
    imageSize: ctx.imageSize,
    layer: e.layer,
    layerModules: layer.modules,
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
    completenessError: e.completenessError,
    relativeCompletenessError: e.relativeCompletenessError,
    baselineScore: e.baselineScore,
    fit: ctx.fit,
    timings: ctx.timings,
  };
}
