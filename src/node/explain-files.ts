/**
 * Explaining photos on disk: decode, fit to the model input, preprocess, explain, and map
 * the heatmap back onto the photo at its own size and orientation.
 */
import type { Classifier, ExplainOptions } from '../classifier.js';
import { heatmapToPhoto, type FitGeometry, type FitMode } from '../image/fit.js';
import { blurBaseline } from '../image/preprocess.js';
import type { FloatMap } from '../image/types.js';
import type { Explanation } from '../methods/types.js';
import { OptionError } from '../errors.js';
import { fitImageSharp, loadImage, type LoadedImage } from './image-io.js';

/** A baseline for path methods: 'black' (default), 'blur', or an image file's path. */
export type BaselineChoice = 'black' | 'blur' | string;

export interface ExplainFileOptions extends Omit<ExplainOptions, 'baseline'> {
  fit?: FitMode;
  baseline?: BaselineChoice;
}

export interface PhotoExplanation {
  file: string;
  photo: LoadedImage;
  geometry: FitGeometry;
  explanation: Explanation;
  /** The heatmap over the whole photo, in [0, 1]. */
  photoHeatmap: FloatMap;
}

/** A photo fitted and preprocessed for the classifier. */
export interface PreparedPhoto {
  file: string;
  photo: LoadedImage;
  geometry: FitGeometry;
  input: Float32Array;
  fitted: LoadedImage['data'];
}

export async function preparePhoto(classifier: Classifier, file: string, fit?: FitMode): Promise<PreparedPhoto> {
  const photo = await loadImage(file);
  const { image, geometry } = await fitImageSharp(photo, classifier.inputSize, fit ?? classifier.info.fit ?? 'stretch');
  return { file, photo, geometry, input: classifier.toTensor(image), fitted: image.data };
}

async function baselineFor(classifier: Classifier, prepared: PreparedPhoto, choice: BaselineChoice | undefined): Promise<Float32Array> {
  if (choice === undefined || choice === 'black') return classifier.blackBaseline();
  if (choice === 'blur') {
    const [h, w] = classifier.inputSize;
    return blurBaseline({ width: w, height: h, data: prepared.fitted }, classifier.inputSpec!);
  }
  if (typeof choice !== 'string') throw new OptionError('baseline must be black, blur or an image file');
  const other = await preparePhoto(classifier, choice, 'stretch');
  return other.input;
}

/** Explain one photo file; the heatmap comes back at the photo's size. */
export async function explainFile(classifier: Classifier, file: string, options: ExplainFileOptions = {}): Promise<PhotoExplanation> {
  const { fit, baseline, ...rest } = options;
  const prepared = await preparePhoto(classifier, file, fit);
  const method = rest.method ?? 'rsi-grad-cam';
  const base = method === 'rsi-grad-cam' ? await baselineFor(classifier, prepared, baseline) : undefined;
  const [explanation] = await classifier.explain([prepared.input], { ...rest, method, ...(base ? { baseline: base } : {}) });
  const [h, w] = explanation!.heatmapShape;
  const photoHeatmap = heatmapToPhoto({ width: w, height: h, data: explanation!.heatmap }, prepared.geometry);
  return { file, photo: prepared.photo, geometry: prepared.geometry, explanation: explanation!, photoHeatmap };
}
