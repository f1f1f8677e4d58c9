/**
 * Every metric of one image for one explanation method at one layer: the perturbed inputs
 * of a method/layer pair go through the model together, in batches (pipeline.predict).
 */
import type { Classifier, ExplainOptions } from '../../classifier.js';
import type { Box } from '../../image/types.js';
import type { Explanation } from '../../methods/types.js';
import { explanationMapInput } from '../../metrics/average-drop.js';
import { completenessPoint } from '../../metrics/completeness.js';
import { classSensitivity, contrastClasses } from '../../metrics/class-sensitivity.js';
import { causalCurveInputs, curveAuc } from '../../metrics/deletion-insertion.js';
import { energyPointingGame } from '../../metrics/energy-pointing.js';
import { pointingGame } from '../../metrics/pointing-game.js';
import { salienceOrder } from '../../metrics/ranking.js';
import { roadInputs } from '../../metrics/road.js';
import type { TensorLayout } from '../../metrics/tensor-image.js';
import type { ComboResult, MetricName } from './results.js';

/** Metric settings (see EvalSettings for their meaning). */
export interface MetricSettings {
  curveSteps: number;
  pointingTolerance: number;
  roadPercentiles: number[];
  /** Noise std per tensor channel, in tensor units. */
  roadNoiseStd: number[];
  completenessSteps: number[];
  /** Predict batch size. */
  batchSize: number;
}

/** One image, ready for the metrics. */
export interface PreparedImage {
  input: Float32Array;
  /** Deletion's end point (the baseline pixels are replaced by) and insertion's start. */
  deletionFinish: Float32Array;
  insertionStart: Float32Array;
  /** The black image after preprocessing (for the explanation map of AD / IC). */
  black: Float32Array;
  /** Ground-truth boxes in the model input's pixels. */
  boxes: Box[];
  target: number;
  /** Target probability on the image, on deletionFinish and on insertionStart. */
  y: number;
  yDeleted: number;
  yInsertStart: number;
  /** The model's class probabilities on the image (class sensitivity's comparison classes; default: the explanation's). */
  probabilities?: Float32Array;
  /** Seed of tie-breaking and ROAD noise: per image, the same for every method. */
  seed: number;
}

/**
 * Runs the metrics in `metrics` (sanity excluded: it has its own phase) for one explanation,
 * the target's. With class sensitivity, pass the target's and the comparison classes'
 * (contrastClasses, in its order) as three explanations from one call, or the target's alone
 * and the other two are explained here.
 */
export async function comboMetrics(
  classifier: Classifier,
  image: PreparedImage,
  explained: Explanation | readonly Explanation[],
  metrics: ReadonlySet<MetricName>,
  settings: MetricSettings,
  layout: TensorLayout,
  explainOptions: ExplainOptions<string>,
): Promise<ComboResult> {
  const out: ComboResult = {};
  const explanations = Array.isArray(explained) ? (explained as readonly Explanation[]) : [explained as Explanation];
  const explanation = explanations[0]!;
  const heat = explanation.heatmap;
  const [h, w] = explanation.heatmapShape;
  const order = salienceOrder(heat, image.seed);
  const queue: Float32Array[] = [];
  const add = (xs: Float32Array[]) => {
    const at = queue.length;
    queue.push(...xs);
    return at;
  };
  const S = settings.curveSteps;
  // Point 0 of deletion is the image and point S the finish image, the same for every map;
  // likewise insertion's ends. Only the inner points are run per map.
  const del = metrics.has('deletion') ? add(causalCurveInputs(image.input, image.deletionFinish, order, S, layout).slice(1, S)) : -1;
  const ins = metrics.has('insertion') ? add(causalCurveInputs(image.insertionStart, image.input, order, S, layout).slice(1, S)) : -1;
  const adic = metrics.has('ad-ic') ? add([explanationMapInput(image.input, image.black, heat, layout)]) : -1;
  const P = settings.roadPercentiles;
  let morf = -1;
  let lerf = -1;
  if (metrics.has('road')) {
    const road = { noiseStd: settings.roadNoiseStd, seed: image.seed };
    morf = add(roadInputs(image.input, order, P, 'morf', layout, road));
    lerf = add(roadInputs(image.input, order, P, 'lerf', layout, { ...road, seed: image.seed ^ 0x5bd1e995 }));
  }
  const scores = queue.length ? (await classifier.pipeline.predict(queue, settings.batchSize)).map((p) => p.probabilities[image.target]!) : [];
  queue.length = 0;
  if (del >= 0) {
    const curve = [image.y, ...scores.slice(del, del + S - 1), image.yDeleted];
    out.deletion = { auc: curveAuc(curve), curve };
  }
  if (ins >= 0) {
    const curve = [image.yInsertStart, ...scores.slice(ins, ins + S - 1), image.y];
    out.insertion = { auc: curveAuc(curve), curve };
  }
  if (adic >= 0) out.adic = { y: image.y, o: scores[adic]! };
  if (morf >= 0) out.road = { percentiles: [...P], morf: scores.slice(morf, morf + P.length), lerf: scores.slice(lerf, lerf + P.length) };
  if (metrics.has('pointing')) out.pointing = pointingGame(heat, w, h, image.boxes, settings.pointingTolerance);
  if (metrics.has('energy')) out.energy = energyPointingGame(heat, w, h, image.boxes);
  if (metrics.has('class-sensitivity')) {
    let [second, random] = explanations.slice(1, 3);
    if (!second || !random) {
      const c = contrastClasses(image.probabilities ?? explanation.probabilities, image.target, image.seed);
      [second, random] = await classifier.explain([image.input, image.input], { ...explainOptions, targets: [c.second, c.random] });
    }
    out.classSensitivity = { classes: [second.target, random.target], rho: [classSensitivity(heat, second.heatmap), classSensitivity(heat, random.heatmap)] };
  }
  if (metrics.has('completeness') && classifier.method(explainOptions.method).capabilities.hasCompleteness) {
    out.completeness = [];
    for (const m of settings.completenessSteps) {
      // Fixed steps m here, whatever the run's steps: no 'auto' options with them.
      const [e] = await classifier.explain([image.input], { ...explainOptions, steps: m, tolerance: undefined, maxEvaluations: undefined });
      out.completeness.push(completenessPoint(m, e!.completenessError ?? NaN, e!.relativeCompletenessError));
    }
  }
  return out;
}
