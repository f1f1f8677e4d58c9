/**
 * The eval runner: every method at every layer on every annotated image, each metric asked
 * for, results appended per image to <out>/results.jsonl (see results.ts) so that a rerun
 * resumes. The sanity check runs after the other metrics, one randomised model at a time.
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
import { parameterLayers, randomizeTopLayers, stageCounts } from '../../metrics/sanity.js';
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
  /** Images per sanity-check chunk (default SANITY_CHUNK). */
  sanityChunk?: number;
  /** Progress: phase, images done, images in the phase, current file. */
  onProgress?: (phase: 'eval' | 'sanity', done: number, total: number, label: string) => void;
}

export interface EvalRunResult {
  /** Images computed this run (in either phase). */
  computed: number;
  /** Images whose results were all there already. */
  skipped: number;
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
  const layout = tensorLayout(classifier);
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
  const todo = images.filter((img) => perImage.some((m) => missing(img, m).length > 0));
  const pathBaseline = await baselineSource(classifier, o.explain.baseline);

  for (const [i, img] of todo.entries()) {
    o.onProgress?.('eval', i, todo.length, img.file);
    const { prepared, image } = await prepareImage(classifier, img, o, black, settings);
    const record: ImageRecord = { image: img.file, label: img.label, target: image.target, probability: image.y, combos: {} };
    for (const c of combos) {
      const want = new Set(perImage.filter((m) => missing(img, m).some((x) => x.key === c.key)));
      if (want.size === 0) continue;
      const opts = explainOptions(classifier, o, c.method, c.layer, image.target, await pathBaseline(prepared));
      const [e] = await classifier.explain([image.input], opts);
      record.combos[c.key] = await comboMetrics(classifier, image, e!, want, settings, layout, opts);
    }
    mergeRecord(records, await appendResult(file, record));
  }
  if (todo.length) o.onProgress?.('eval', todo.length, todo.length, '');

  const touched = new Set(todo.map((i) => i.file));
  if (o.metrics.includes('sanity')) {
    const need = images.filter((img) => missing(img, 'sanity').length > 0);
    if (need.length) await sanityPhase(classifier, need, combos, o, black, settings, pathBaseline, file, records);
    for (const i of need) touched.add(i.file);
  }
  return { computed: touched.size, skipped: images.length - touched.size, records };
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
): Promise<{ prepared: PreparedPhoto; image: PreparedImage }> {
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
 * Images per sanity-check chunk. Each chunk runs its originals and every randomised model and
 * then appends its results, so an interrupted run loses at most one chunk; the randomised
 * models are rebuilt per chunk (the same seeded weights each time), a small cost next to
 * the chunk's explanations.
 */
export const SANITY_CHUNK = 16;

/** Cascading randomisation, chunk by chunk: originals first, then one randomised model at a time. */
async function sanityPhase(
  classifier: Classifier,
  images: AnnotatedImage[],
  combos: { method: string; layer: string; key: string }[],
  o: EvalRunOptions,
  black: Float32Array,
  settings: MetricSettings,
  pathBaseline: (p: PreparedPhoto) => Promise<Float32Array>,
  file: string,
  records: Map<string, ImageRecord>,
): Promise<void> {
  const layers = parameterLayers(classifier.model.graph);
  const counts = stageCounts(layers.length, o.sanityStages);
  const deepest = counts.map((c) => layers[layers.length - c]!.node);
  const stages = counts.length;
  const total = images.length * (stages + 1);
  let done = 0;
  const chunk = o.sanityChunk ?? SANITY_CHUNK;
  for (let start = 0; start < images.length; start += chunk) {
    const items: { img: AnnotatedImage; input: Float32Array; target: number; y: number; baseline: Float32Array; original: Map<string, Float32Array>; rho: Map<string, number[]> }[] = [];
    for (const img of images.slice(start, start + chunk)) {
      o.onProgress?.('sanity', done++, total, `${img.file} (original model)`);
      const { prepared, image } = await prepareImage(classifier, img, o, black, settings);
      const baseline = await pathBaseline(prepared);
      const original = new Map<string, Float32Array>();
      for (const c of combos) {
        const [e] = await classifier.explain([image.input], explainOptions(classifier, o, c.method, c.layer, image.target, baseline));
        original.set(c.key, e!.heatmap);
      }
      items.push({ img, input: image.input, target: image.target, y: image.y, baseline, original, rho: new Map(combos.map((c) => [c.key, []])) });
    }
    for (const [s, count] of counts.entries()) {
      const graph = randomizeTopLayers(classifier.model.graph, layers, count, o.seed);
      const model = Model.prepare(graph, { source: `${classifier.info.source} (top ${count} layers randomised)`, logits: classifier.model.logits });
      const runtime = createNodeRuntime({ threads: classifier.runtime.options.threads, maxSessions: combos.length + 1, sessionStore: classifier.runtime.options.sessionStore });
      const randomised = new Classifier(model, runtime, classifier.info);
      try {
        for (const it of items) {
          o.onProgress?.('sanity', done++, total, `${it.img.file} (stage ${s + 1}/${stages}: down to ${deepest[s]})`);
          for (const c of combos) {
            const [e] = await randomised.explain([it.input], explainOptions(randomised, o, c.method, c.layer, it.target, it.baseline));
            const rho = spearman(it.original.get(c.key)!, e!.heatmap);
            // A constant map (often all zero once weights are random) shares no ranking with the original: 0.
            it.rho.get(c.key)!.push(Number.isFinite(rho) ? rho : 0);
          }
        }
      } finally {
        await randomised.dispose();
      }
    }
    for (const it of items) {
      const combosOut: Record<string, ComboResult> = {};
      for (const c of combos) combosOut[c.key] = { sanity: { counts, deepest, rho: it.rho.get(c.key)! } };
      const record: ImageRecord = { image: it.img.file, label: it.img.label, target: it.target, probability: it.y, combos: combosOut };
      mergeRecord(records, await appendResult(file, record));
    }
  }
  o.onProgress?.('sanity', total, total, '');
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
