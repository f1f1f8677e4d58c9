/**
 * Targets: what is differentiated, as pytorch-grad-cam's target callables and Captum's
 * `target`. Every target becomes a row r over an output y of the model and the score is
 * sum_k r_k y_k, built into the graph (the targets input of Model.build): a class is a
 * one-hot row, a weighted sum of classes a weighted row, a contrast (a, b) the row e_a - e_b,
 * and a unit of another output (multi-label sigmoid, regression) a one-hot row over that
 * output through its activation.
 */
import { OptionError } from '../errors.js';
import type { Model, OutputActivation, ScoreMode, ScoreSpec } from '../engine/model.js';
import type { ImagePrediction } from './pipeline.js';

export type { OutputActivation } from '../engine/model.js';

/**
 * What to explain for an image:
 * - `3` or `{ class: 3 }`: class 3 (its probability or logit, by the score mode);
 * - `{ topK: 2 }`: the second best class (`{ topK: 1 }`, the default, is the top class);
 * - `{ classes: [3, 5], weights?: [0.5, 0.5] }`: the (weighted, default 1 each) sum of classes;
 * - `{ contrast: [3, 5] }`: the margin y_3 - y_5 (with the logit score: z_3 - z_5);
 * - `{ unit: 0, output?: 'tensor', activation?: 'sigmoid' }`: one unit of an output (default:
 *   the logits tensor), raw or through a sigmoid/softmax: multi-label and regression heads.
 */
export type Target =
  | number
  | { topK: number }
  | { class: number }
  | { classes: number[]; weights?: number[] }
  | { contrast: [number, number] }
  | { unit: number; output?: string; activation?: OutputActivation };

/** A target made concrete for one image. */
export interface ResolvedTarget {
  /** The class (or unit) reported as Explanation.target: the class, the first of several, a of a contrast. */
  index: number;
  /** Weights over the scored output's units: score = sum_k row[k] * y[k]. */
  row: Float32Array;
  /** What is explained, for display and JSON. */
  description: TargetDescription;
}

export interface TargetDescription {
  kind: 'class' | 'classes' | 'contrast' | 'unit';
  /** The classes (or unit) involved, and their weights in the score. */
  classes: number[];
  weights: number[];
  /** For unit targets: the output tensor and activation scored. */
  output?: string;
  activation?: OutputActivation;
}

const isObject = (t: unknown): t is Record<string, unknown> => typeof t === 'object' && t !== null && !Array.isArray(t);

/** The list of targets, one per image (a single target applies to all). */
export function targetList(targets: Target | Target[] | undefined, count: number): Target[] {
  const list: Target[] = Array.isArray(targets) ? targets : Array.from({ length: count }, () => targets ?? { topK: 1 });
  if (list.length !== count) throw new OptionError(`targets: ${list.length} given for ${count} images`);
  return list;
}

/**
 * The output a call's targets score: the class output under `score` (probabilities or
 * logits), or, for unit targets, their output through their activation. Known before any
 * prediction, so one session serves predictions and the method. Targets of one call must
 * agree on it.
 */
export function scoreSpecFor(model: Model, targets: Target | Target[] | undefined, score: ScoreMode, scoreGiven: boolean): ScoreSpec {
  const list = Array.isArray(targets) ? targets : [targets ?? { topK: 1 }];
  const units = list.filter((t) => isObject(t) && 'unit' in t) as { unit: number; output?: string; activation?: OutputActivation }[];
  if (units.length === 0) return score;
  if (units.length !== list.length) throw new OptionError('targets: unit targets ({ unit }) and class targets cannot be mixed in one call');
  if (scoreGiven) throw new OptionError("targets: a unit target ({ unit, activation }) sets its own score; leave 'score' unset");
  const specs = units.map((u) => ({ output: u.output ?? model.logits, activation: u.activation ?? 'none' }));
  const first = specs[0]!;
  if (specs.some((s) => s.output !== first.output || s.activation !== first.activation)) {
    throw new OptionError('targets: every unit target of one call must use the same output and activation');
  }
  if (!['none', 'sigmoid', 'softmax'].includes(first.activation)) {
    throw new OptionError(`target activation must be none, sigmoid or softmax, got '${String(first.activation)}'`);
  }
  return first;
}

/** Each image's target as a row over the output `score` reads. */
export function resolveTargets(model: Model, targets: Target | Target[] | undefined, predictions: ImagePrediction[], score: ScoreSpec): ResolvedTarget[] {
  const width = model.scoreWidth(score);
  return targetList(targets, predictions.length).map((t, i) => resolveTarget(t, predictions[i]!, width, model.numClasses, score));
}

function resolveTarget(t: Target, prediction: ImagePrediction, width: number, numClasses: number, score: ScoreSpec): ResolvedTarget {
  const classIndex = (c: unknown, what: string): number => {
    if (typeof c !== 'number' || !Number.isInteger(c) || c < 0 || c >= numClasses) {
      throw new OptionError(`${what} ${String(c)} is out of range: the model has ${numClasses} classes (0-${numClasses - 1})`);
    }
    return c;
  };
  const row = (classes: number[], weights: number[], kind: TargetDescription['kind']): ResolvedTarget => {
    const r = new Float32Array(width);
    classes.forEach((c, j) => (r[c]! += weights[j]!));
    return { index: classes[0]!, row: r, description: { kind, classes, weights } };
  };
  const mixed = () => new OptionError('targets: unit targets ({ unit }) and class targets cannot be mixed in one call');
  if (isObject(t) && 'unit' in t) {
    if (typeof score !== 'object') throw mixed();
    const u = t.unit;
    if (!Number.isInteger(u) || u < 0 || u >= width) throw new OptionError(`target unit ${u} is out of range: the output has ${width} units (0-${width - 1})`);
    const r = row([u], [1], 'unit');
    return { ...r, description: { ...r.description, output: score.output, activation: score.activation } };
  }
  if (typeof score === 'object') throw mixed();
  if (typeof t === 'number') return row([classIndex(t, 'target class')], [1], 'class');
  if (!isObject(t)) throw new OptionError(`target must be a class index or a target object, got ${JSON.stringify(t)}`);
  if ('topK' in t) {
    if (!Number.isInteger(t.topK) || t.topK < 1 || t.topK > numClasses) throw new OptionError(`target topK ${t.topK} must be between 1 and ${numClasses}`);
    const p = prediction.probabilities;
    const order = Array.from({ length: numClasses }, (_, c) => c).sort((a, b) => p[b]! - p[a]!);
    return row([order[t.topK - 1]!], [1], 'class');
  }
  if ('class' in t) return row([classIndex(t.class, 'target class')], [1], 'class');
  if ('classes' in t) {
    if (!Array.isArray(t.classes) || t.classes.length === 0) throw new OptionError('target classes: give at least one class');
    const classes = t.classes.map((c) => classIndex(c, 'target class'));
    if (new Set(classes).size !== classes.length) throw new OptionError(`target classes [${classes.join(', ')}] repeat a class`);
    const weights = t.weights ?? classes.map(() => 1);
    if (weights.length !== classes.length || weights.some((w) => typeof w !== 'number' || !Number.isFinite(w))) {
      throw new OptionError(`target weights must be ${classes.length} finite numbers, one per class`);
    }
    return row(classes, [...weights], 'classes');
  }
  if ('contrast' in t) {
    const c = t.contrast;
    if (!Array.isArray(c) || c.length !== 2) throw new OptionError('target contrast must be two classes [a, b] (the margin y_a - y_b)');
    const [a, b] = [classIndex(c[0], 'target class'), classIndex(c[1], 'target class')];
    if (a === b) throw new OptionError(`target contrast [${a}, ${b}]: the two classes must differ`);
    return row([a, b], [1, -1], 'contrast');
  }
  throw new OptionError(`target ${JSON.stringify(t)} is not one of: a class index, { class }, { topK }, { classes, weights? }, { contrast: [a, b] }, { unit, output?, activation? }`);
}
