/**
 * The eval runner: every method at every layer on every annotated image, each metric asked
 * for, results appended per image to <out>/results.jsonl (see results.ts) so that a rerun
 * resumes. Images run in chunks: each chunk's per-image metrics, then its sanity check, one
 * randomised model at a time, comparing with the maps the metrics already explained.
 */
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { Classifier } from '../../classifier.js';
import { Model } from '../../engine/model.js';
import { OptionError } from '../../errors.js';
import { boxToModel, type FitMode } from '../../image/fit.js';
import { blurBaseline, defaultBlurSigma } from '../../image/preprocess.js';
import { createRgbImage } from '../../image/types.js';
import { optionsFor } from '../../methods/method.js';
import type { Target } from '../../methods/types.js';
import { contrastClasses } from '../../metrics/class-sensitivity.js';
import { parameterLayers, randomizeTopLayers, stageCounts, type ParameterLayer } from '../../metrics/sanity.js';
import { spearman } from '../../metrics/spearman.js';
import type { TensorLayout } from '../../metrics/tensor-image.js';
import { fittedImage, preparePhoto, type PreparedPhoto } from '../explain-files.js';
import { createNodeRuntime } from '../runtime.js';
import { boxesToPhoto, type AnnotatedImage, type Annotations } from './annotations.js';
import type { ExplainOptions } from '../../classifier.js';
import { comboMetrics, type MetricSettings, type PreparedImage } from './image-metrics.js';
import { appendResult, comboKey, METRIC_FIELD, RESULTS_FILE, mergeRecord, readResults, type ComboResult, type ImageRecord, type MetricName } from './results.js';
import type { MetricSettingsChoice } from './config.js';

export interface EvalRunOptions extends MetricSettingsChoice {
  annotations: Annotations;
  /** Only the first `limit` images. */
  limit?: number;
  /** Method names (built-in or registered). */
  methods: string[];
  /** Layer tensor names (resolved). */
  layers: string[];
  metrics: MetricName[];
  /** Folder of results.jsonl. */
  out: string;
  fit?: FitMode;
  /** 'label': the annotation's class; else a class index or the k-th prediction. */
  target: 'label' | Target;
  /**
   * Method settings for every method (layer and targets are set per run): each method gets
   * the ones it takes. `baseline` is a choice (black, blur or an image file) for methods with a baseline.
   */
  explain: { baseline: string; internalBatchSize?: number; [option: string]: unknown };
  /** Images per chunk: per-image metrics, then the sanity check (default SANITY_CHUNK). */
  sanityChunk?: number;
  /**
   * Progress, before each explanation: its phase, explanations done and planned in the whole
   * run (one method on one image and one model each; the phases interleave chunk by chunk), and
   * a label that starts with the image's file.
   */
  onProgress?: (phase: 'eval' | 'sanity', done: number, total: number, label: string) => void;
}

export interface EvalRunResult {
  /** Images computed this run (in either phase). */
  computed: number;
  /** Images whose results were all there already. */
  skipped: number;
  /**
   * The folder's results as results.jsonl holds them when the run ends: with those of any other
   * process writing to the same folder meanwhile (another method set, side by side), not only
   * those this run read at its start and added.
   */
  records: Map<string, ImageRecord>;
}

/** Completeness applies to the methods that report a completeness error. */
export function applies(metric: MetricName, method: string, classifier: Classifier): boolean {
  return metric !== 'completeness' || classifier.method(method).capabilities.hasCompleteness;
}

export async function runEval(classifier: Classifier, o: EvalRunOptions): Promise<EvalRunResult> {
  await mkdir(o.out, { recursive: true });
  const file = path.join(o.out, RESULTS_FILE);
  const records = await readResults(file);
  const images = o.annotations.images.slice(0, o.limit ?? undefined);
  // A method that takes no layer (input attributions) runs once, at the input.
  const layersOf = (method: string) => (classifier.method(method).capabilities.usesLayer === false ? [classifier.model.inputName] : o.layers);
  const combos = o.methods.flatMap((method) => layersOf(method).map((layer) => ({ method, layer, key: comboKey(method, layer) })));
  const black = classifier.blackBaseline();
  const settings: MetricSettings = {
    curveSteps: o.curveSteps,
    pointingTolerance: o.pointingTolerance,
    roadPercentiles: o.roadPercentiles,
    roadNoiseStd: channelRanges(classifier).map((r) => o.roadNoise * r),
    completenessSteps: o.completenessSteps,
    batchSize: classifier.pipeline.batchSize({ internalBatchSize: o.explain.internalBatchSize }, 64),
  };
  const missing = (img: AnnotatedImage, metric: MetricName) =>
    combos.filter((c) => applies(metric, c.method, classifier) && records.get(img.file)?.combos[c.key]?.[METRIC_FIELD[metric]] === undefined);
  const perImage = o.metrics.filter((m) => m !== 'sanity');
  // What each image needs, decided before anything is appended.
  const wanted = images.map((img) => {
    const evalCombos = combos.filter((c) => perImage.some((m) => missing(img, m).some((x) => x.key === c.key)));
    const sanity = o.metrics.includes('sanity') && missing(img, 'sanity').length > 0;
    return { img, evalCombos, sanity };
  }).filter((w) => w.evalCombos.length > 0 || w.sanity);
  const stages = wanted.some((w) => w.sanity) ? sanityStages(classifier, o.sanityStages) : undefined;
  const progress = stepProgress(o.onProgress, wanted.reduce((n, w) => n + w.evalCombos.length + (w.sanity ? combos.length * (stages!.counts.length + 1) - w.evalCombos.length : 0), 0));
  const pathBaseline = await baselineSource(classifier, o.explain.baseline);
  const context: RunContext = { classifier, o, black, settings, combos, pathBaseline, progress };

  // Chunk by chunk: the chunk's per-image metrics, then its sanity check, which reuses the
  // maps the metrics explained (the original model's), so only the randomised models run.
  const chunk = o.sanityChunk ?? SANITY_CHUNK;
  for (let start = 0; start < wanted.length; start += chunk) {
    const items: SanityItem[] = [];
    for (const w of wanted.slice(start, start + chunk)) {
      const item = w.evalCombos.length
        ? await imageMetrics(context, w.img, w.evalCombos, (c) => perImage.filter((m) => missing(w.img, m).some((x) => x.key === c.key)), file, records, w.sanity)
        : undefined;
      if (w.sanity) items.push(item ?? { img: w.img });
    }
    if (items.length) await sanityChunk(context, items, stages!, file, records);
  }
  progress.end();
  return { computed: wanted.length, skipped: images.length - wanted.length, records: await readResults(file) };
}

/** What a run shares across its images. */
interface RunContext {
  classifier: Classifier;
  o: EvalRunOptions;
  black: Float32Array;
  settings: MetricSettings;
  combos: { method: string; layer: string; key: string }[];
  pathBaseline: (p: PreparedPhoto) => Promise<Float32Array>;
  progress: StepProgress;
}

/** An image of a sanity chunk, with what the metrics phase already has of it (its original maps by combo). */
interface SanityItem {
  img: AnnotatedImage;
  known?: { input: Float32Array; target: number; y: number; baseline: Float32Array; original: Map<string, Float32Array> };
}

/**
 * The per-image metrics of one image for `evalCombos`, appended as one record. The target, the
 * runner-up and a random class (class sensitivity) are explained in one call, so methods that
 * share forwards across targets on one image run their perturbed copies once. With `keep`,
 * returns what the sanity check reuses: the target's maps, from the original model.
 */
async function imageMetrics(
  r: RunContext, img: AnnotatedImage, evalCombos: RunContext['combos'], want: (c: RunContext['combos'][number]) => MetricName[],
  file: string, records: Map<string, ImageRecord>, keep: boolean,
): Promise<SanityItem> {
  const { classifier, o, settings } = r;
  const { prepared, image } = await prepareImage(classifier, img, o, r.black, settings);
  const baseline = await r.pathBaseline(prepared);
  const record: ImageRecord = { image: img.file, label: img.label, target: image.target, probability: image.y, combos: {} };
  const original = new Map<string, Float32Array>();
  const layout = tensorLayout(classifier);
  for (const c of evalCombos) {
    const metrics = new Set(want(c));
    r.progress.step('eval', `${img.file} (${c.method} at ${c.layer})`);
    const opts = explainOptions(classifier, o, c.method, c.layer, image.target, baseline);
    // The comparison classes depend only on the model's probabilities on the image.
    const contrast = metrics.has('class-sensitivity') ? contrastClasses(image.probabilities, image.target, image.seed) : undefined;
    const targets = contrast ? [image.target, contrast.second, contrast.random] : [image.target];
    const explanations = await classifier.explain(targets.map(() => image.input), { ...opts, targets });
    record.combos[c.key] = await comboMetrics(classifier, image, explanations, metrics, settings, layout, opts);
    original.set(c.key, explanations[0]!.heatmap);
  }
  mergeRecord(records, await appendResult(file, record));
  return { img, known: keep ? { input: image.input, target: image.target, y: image.y, baseline, original } : undefined };
}

/** One method's options for one image at one layer: the settings it takes, the baseline if it takes one. */
function explainOptions(classifier: Classifier, o: EvalRunOptions, method: string, layer: string, target: number, baseline: Float32Array): ExplainOptions<string> {
  const m = classifier.method(method);
  const { baseline: _b, ...rest } = o.explain;
  return { ...optionsFor(m, { ...rest, layer }), method, targets: [target], ...(m.capabilities.usesBaseline ? { baseline } : {}) };
}

/** The image fitted and preprocessed, its boxes in the model frame, its target and the shared scores. */
async function prepareImage(
  classifier: Classifier, img: AnnotatedImage, o: EvalRunOptions, black: Float32Array, settings: MetricSettings,
): Promise<{ prepared: PreparedPhoto; image: PreparedImage & { probabilities: Float32Array } }> {
  const prepared = await preparePhoto(classifier, img.path, o.fit);
  const g = prepared.geometry;
  const boxes = boxesToPhoto(img.boxes, o.annotations.imageSize, g.photoWidth, g.photoHeight).map((b) => boxToModel(b, g));
  const spec = classifier.inputSpec!;
  const blurred = blurBaseline(fittedImage(classifier, prepared), spec, o.blurSigma);
  const deletionFinish = o.deletionBaseline === 'black' ? black : o.deletionBaseline === 'blur' ? blurred : new Float32Array(black.length);
  const insertionStart = o.insertionStart === 'blur' ? blurred : black;
  const [p0, pDel, pIns] = await classifier.pipeline.predict([prepared.input, deletionFinish, insertionStart], settings.batchSize);
  const k = classifier.model.numClasses;
  let target: number;
  if (o.target === 'label') {
    if (img.label >= k) throw new OptionError(`${o.annotations.source}: ${img.file} has label ${img.label}, but the model has ${k} classes (0-${k - 1})`);
    target = img.label;
  } else {
    target = classifier.pipeline.resolveTargets(o.target, [p0!])[0]!;
  }
  return {
    prepared,
    image: {
      input: prepared.input,
      deletionFinish,
      insertionStart,
      black,
      boxes,
      target,
      y: p0!.probabilities[target]!,
      yDeleted: pDel!.probabilities[target]!,
      yInsertStart: pIns!.probabilities[target]!,
      probabilities: p0!.probabilities,
      seed: seedOf(img.file, o.seed),
    },
  };
}

/** Path methods' baseline per image: black, blur (the default blur sigma) or one image file. */
async function baselineSource(classifier: Classifier, choice: string): Promise<(p: PreparedPhoto) => Promise<Float32Array>> {
  if (choice === 'black') {
    const b = classifier.blackBaseline();
    return async () => b;
  }
  if (choice === 'blur') {
    const spec = classifier.inputSpec!;
    return async (p) => blurBaseline(fittedImage(classifier, p), spec, defaultBlurSigma(spec));
  }
  const other = (await preparePhoto(classifier, choice, 'stretch')).input;
  return async () => other;
}

/**
 * Images per chunk. Each chunk runs its per-image metrics, then its sanity check (originals
 * and every randomised model), and appends their results, so an interrupted run loses at
 * most one chunk and the originals kept for the sanity check stay few; the randomised models
 * are rebuilt per chunk (the same seeded weights each time), a small cost next to the chunk's
 * explanations.
 */
export const SANITY_CHUNK = 16;

/** The sanity check's stages: how many top layers each randomises, and the deepest layer each reaches. */
interface SanityStages {
  layers: ParameterLayer[];
  counts: number[];
  deepest: string[];
}

function sanityStages(classifier: Classifier, stages: number): SanityStages {
  const layers = parameterLayers(classifier.model.graph);
  const counts = stageCounts(layers.length, stages);
  return { layers, counts, deepest: counts.map((c) => layers[layers.length - c]!.node) };
}

/**
 * Cascading randomisation of one chunk: the original maps the metrics phase did not keep, then
 * one randomised model at a time; one record per image appended at the end.
 */
async function sanityChunk(r: RunContext, items: SanityItem[], stages: SanityStages, file: string, records: Map<string, ImageRecord>): Promise<void> {
  const { classifier, o, combos } = r;
  const ready: (Required<SanityItem> & { rho: Map<string, number[]> })[] = [];
  for (const it of items) {
    let known = it.known;
    if (!known) {
      const { prepared, image } = await prepareImage(classifier, it.img, o, r.black, r.settings);
      known = { input: image.input, target: image.target, y: image.y, baseline: await r.pathBaseline(prepared), original: new Map() };
    }
    for (const c of combos) {
      if (known.original.has(c.key)) continue;
      r.progress.step('sanity', `${it.img.file} (original model: ${c.method} at ${c.layer})`);
      const [e] = await classifier.explain([known.input], explainOptions(classifier, o, c.method, c.layer, known.target, known.baseline));
      known.original.set(c.key, e!.heatmap);
    }
    ready.push({ img: it.img, known, rho: new Map(combos.map((c) => [c.key, []])) });
  }
  const { counts, deepest } = stages;
  for (const [s, count] of counts.entries()) {
    const graph = randomizeTopLayers(classifier.model.graph, stages.layers, count, o.seed);
    const model = Model.prepare(graph, { source: `${classifier.info.source} (top ${count} layers randomised)`, logits: classifier.model.logits });
    const runtime = createNodeRuntime({ threads: classifier.runtime.options.threads, maxSessions: combos.length + 1, sessionStore: classifier.runtime.options.sessionStore });
    const randomised = new Classifier(model, runtime, classifier.info);
    try {
      for (const it of ready) {
        for (const c of combos) {
          r.progress.step('sanity', `${it.img.file} (stage ${s + 1}/${counts.length}: down to ${deepest[s]}; ${c.method} at ${c.layer})`);
          const [e] = await randomised.explain([it.known.input], explainOptions(randomised, o, c.method, c.layer, it.known.target, it.known.baseline));
          const rho = spearman(it.known.original.get(c.key)!, e!.heatmap);
          // A constant map (often all zero once weights are random) shares no ranking with the original: 0.
          it.rho.get(c.key)!.push(Number.isFinite(rho) ? rho : 0);
        }
      }
    } finally {
      await randomised.dispose();
    }
  }
  for (const it of ready) {
    const combosOut: Record<string, ComboResult> = {};
    for (const c of combos) combosOut[c.key] = { sanity: { counts, deepest, rho: it.rho.get(c.key)! } };
    const record: ImageRecord = { image: it.img.file, label: it.img.label, target: it.known.target, probability: it.known.y, combos: combosOut };
    mergeRecord(records, await appendResult(file, record));
  }
}

/** Progress of a run in explanations (one method on one image and one model), over the whole run. */
interface StepProgress {
  /** Reports the explanation about to run (its phase and label), then counts it. */
  step(phase: 'eval' | 'sanity', label: string): void;
  /** Reports the run done. */
  end(): void;
}

/**
 * Every explanation the run makes counts one step, in one count over both phases: chunks
 * interleave the phases, and each chunk holds the same mix of work, so the share of steps
 * done is the share of time spent and an ETA from it holds.
 */
function stepProgress(onProgress: EvalRunOptions['onProgress'], total: number): StepProgress {
  let done = 0;
  let last: 'eval' | 'sanity' = 'eval';
  return {
    step(phase, label) {
      last = phase;
      onProgress?.(phase, done++, total, label);
    },
    end() {
      if (total > 0) onProgress?.(last, total, total, '');
    },
  };
}

/** How the classifier's input tensor lays out one image. */
export function tensorLayout(classifier: Classifier): TensorLayout {
  const [h, w] = classifier.inputSize;
  return { height: h, width: w, channels: classifier.model.channels, layout: classifier.model.inputLayout };
}

/** Each tensor channel's value range: preprocess(white) - preprocess(black), at pixel 0. */
function channelRanges(classifier: Classifier): number[] {
  const [h, w] = classifier.inputSize;
  const white = classifier.toTensor(createRgbImage(w, h, [255, 255, 255]));
  const black = classifier.blackBaseline();
  const l = tensorLayout(classifier);
  return Array.from({ length: l.channels }, (_, c) => {
    const i = l.layout === 'NCHW' ? c * h * w : c;
    return Math.abs(white[i]! - black[i]!);
  });
}

/** A 32-bit seed from the image's name and the run's seed (FNV-1a). */
function seedOf(name: string, seed: number): number {
  let h = (0x811c9dc5 ^ seed) >>> 0;
  for (let i = 0; i < name.length; i++) h = Math.imul(h ^ name.charCodeAt(i), 0x01000193);
  return h >>> 0;
}
