/**
 * Explaining photos on disk: decode, fit to the model input, preprocess, explain, and map
 * the heatmap back onto the photo at its own size and orientation.
 */
import type { Classifier, ExplainOptions } from '../classifier.js';
import type { MethodName } from '../methods/registry.js';
import { heatmapToPhoto, type FitGeometry, type FitMode } from '../image/fit.js';
import { BASELINE_NAMES, namedBaseline, takesAlpha, type BaselineName } from '../image/preprocess.js';
import type { FloatMap, RgbImage } from '../image/types.js';
import type { Explanation } from '../methods/types.js';
import { OptionError } from '../errors.js';
import { fitImageSharp, loadImage, type LoadedImage } from './image-io.js';

/** A baseline for path methods: 'black' (default), 'blur', or an image file's path. */
export type BaselineChoice = 'black' | 'blur' | string;

/** A method's options with `baseline` (where it takes one) also given as a BaselineChoice. */
type WithBaselineChoice<T> = 'baseline' extends keyof T ? Omit<T, 'baseline'> & { baseline?: BaselineChoice | Float32Array | Float32Array[] } : T;

/** The options of Classifier.explain for method `M` (baselines also as a choice), and how the photo is fitted. */
export type ExplainFileOptions<M extends string = MethodName> = (M extends MethodName ? WithBaselineChoice<ExplainOptions<M>> : ExplainOptions<M>) & { fit?: FitMode };

export interface PhotoExplanation {
  file: string;
  photo: LoadedImage;
  geometry: FitGeometry;
  explanation: Explanation;
  /** The heatmap over the whole photo, in [0, 1]. */
  photoHeatmap: FloatMap;
  /** How the photo became the model's channels, for models that do not take RGB (Classifier.photoConversion). */
  conversion?: string;
}

/** A photo fitted and preprocessed for the classifier. */
export interface PreparedPhoto {
  file: string;
  photo: LoadedImage;
  geometry: FitGeometry;
  input: Float32Array;
  fitted: LoadedImage['data'];
  /** The fitted photo's alpha, for models that take an alpha channel and photos that have one. */
  fittedAlpha?: Uint8Array;
  /** How the photo became the model's channels (1-, 2- and 4-channel models). */
  conversion?: string;
}

/**
 * Decodes a photo and fits it to the model input. For models with an alpha channel the model
 * sees the photo's transparency; `photo` (what the pictures show) is flattened onto white as always.
 */
export async function preparePhoto(classifier: Classifier, file: string, fit?: FitMode): Promise<PreparedPhoto> {
  const photo = await loadImage(file);
  const spec = classifier.inputSpec;
  const source = spec && takesAlpha(spec) ? await loadImage(file, { keepAlpha: true }) : photo;
  const { image, geometry } = await fitImageSharp(source, classifier.inputSize, fit ?? classifier.info.fit ?? 'stretch');
  const input = classifier.toTensor(image);
  const conversion = classifier.photoConversion(source.alpha !== undefined);
  return { file, photo, geometry, input, fitted: image.data, ...(image.alpha ? { fittedAlpha: image.alpha } : {}), ...(conversion ? { conversion } : {}) };
}

/** The fitted photo (with its alpha, where kept) of a prepared photo. */
export function fittedImage(classifier: Classifier, prepared: PreparedPhoto): RgbImage {
  const [h, w] = classifier.inputSize;
  return { width: w, height: h, data: prepared.fitted, ...(prepared.fittedAlpha ? { alpha: prepared.fittedAlpha } : {}) };
}

async function baselineFor(classifier: Classifier, prepared: PreparedPhoto, choice: BaselineChoice): Promise<Float32Array> {
  if (choice === 'black') return classifier.blackBaseline();
  if ((BASELINE_NAMES as readonly string[]).includes(choice)) {
    return namedBaseline(choice as BaselineName, fittedImage(classifier, prepared), classifier.inputSpec!);
  }
  if (typeof choice !== 'string') throw new OptionError('baseline must be black, blur or an image file');
  const other = await preparePhoto(classifier, choice, 'stretch');
  return other.input;
}

/** Explain one photo file; the heatmap comes back at the photo's size. */
export async function explainFile<M extends string = 'rsi-grad-cam'>(classifier: Classifier, file: string, options: ExplainFileOptions<M> = {} as ExplainFileOptions<M>): Promise<PhotoExplanation> {
  const { fit, ...rest } = options as { fit?: FitMode };
  return explainPrepared(classifier, await preparePhoto(classifier, file, fit), rest as ExplainFileOptions<M>);
}

/** Explain a photo already decoded and fitted (so several methods or layers decode it once). */
export async function explainPrepared<M extends string = 'rsi-grad-cam'>(classifier: Classifier, prepared: PreparedPhoto, options: ExplainFileOptions<M> = {} as ExplainFileOptions<M>): Promise<PhotoExplanation> {
  const { method: name, baseline, fit: _fit, ...rest } = options as { method?: string; baseline?: unknown; fit?: FitMode };
  const method = classifier.method(name);
  // A baseline choice becomes a tensor for methods that take one; others get it as given and refuse it.
  const base = typeof baseline === 'string' && method.capabilities.usesBaseline ? await baselineFor(classifier, prepared, baseline) : baseline;
  const [explanation] = await method.explain([prepared.input], { ...rest, ...(base !== undefined ? { baseline: base } : {}) });
  const [h, w] = explanation!.heatmapShape;
  const photoHeatmap = heatmapToPhoto({ width: w, height: h, data: explanation!.heatmap }, prepared.geometry);
  return { file: prepared.file, photo: prepared.photo, geometry: prepared.geometry, explanation: explanation!, photoHeatmap, ...(prepared.conversion ? { conversion: prepared.conversion } : {}) };
}
