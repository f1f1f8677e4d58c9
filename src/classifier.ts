/**
 * A loaded classifier: the prepared model with its labels and preprocessing, on a runtime.
 * The entry point of the library API; the CLI and the web app are thin shells over it.
 */
import { Model } from './engine/model.js';
import type { LayerInfo } from './engine/layers.js';
import type { Runtime } from './engine/runtime/runtime.js';
import { blackBaseline, toTensor, type InputSpec } from './image/preprocess.js';
import type { RgbImage } from './image/types.js';
import { Pipeline } from './methods/pipeline.js';
import { createMethod, type MethodName } from './methods/registry.js';
import { RsiGradCam, type RsiGradCamOptions } from './methods/rsi-grad-cam.js';
import type { Explanation } from './methods/types.js';
import type { FitMode } from './image/fit.js';
import { OptionError } from './errors.js';

export interface ClassifierInfo {
  /** Path, URL or catalogue name the model came from. */
  source: string;
  /** Class names, index-aligned with the model's outputs. */
  labels?: string[];
  /** How images become input tensors; undefined when unknown. */
  inputSpec?: InputSpec;
  /** How photos are fitted to the input size by default. */
  fit?: FitMode;
}

/** Options of `explain`: any method's options plus the method's name. */
export type ExplainOptions = RsiGradCamOptions & { method?: MethodName };

/** A layer as listed to users, with the default marked. */
export interface LayerListing extends LayerInfo {
  isDefault: boolean;
}

export class Classifier {
  readonly pipeline: Pipeline;

  constructor(
    readonly model: Model,
    readonly runtime: Runtime,
    readonly info: ClassifierInfo,
  ) {
    this.pipeline = new Pipeline(model, runtime);
    if (info.labels && info.labels.length !== model.numClasses) {
      throw new OptionError(`${info.source}: ${info.labels.length} labels for a model with ${model.numClasses} classes`);
    }
  }

  get labels(): string[] | undefined {
    return this.info.labels;
  }
  get inputSpec(): InputSpec | undefined {
    return this.info.inputSpec;
  }
  /** [height, width] of the model input. */
  get inputSize(): [number, number] {
    return this.model.imageSize;
  }

  /** The layers a user can pick, in graph order, the default one marked. */
  layers(): LayerListing[] {
    let def: string | undefined;
    try {
      def = this.model.layer().tensor;
    } catch {
      def = undefined;
    }
    return this.model.layers.map((l) => ({ ...l, isDefault: l.tensor === def }));
  }

  /** Class name of an index, or `class N`. */
  label(index: number): string {
    return this.info.labels?.[index] ?? `class ${index}`;
  }

  /** A class index from a label (exact, then case-insensitive, then unique prefix of a comma-separated name). */
  classIndex(name: string): number {
    const labels = this.info.labels;
    if (!labels) throw new OptionError(`target: the model has no labels, so '${name}' cannot be looked up; give a class index`);
    const lower = name.toLowerCase();
    let i = labels.indexOf(name);
    if (i < 0) i = labels.findIndex((l) => l.toLowerCase() === lower);
    if (i < 0) {
      const hits = labels.flatMap((l, k) => (l.toLowerCase().split(/,\s*/).includes(lower) ? [k] : []));
      if (hits.length === 1) i = hits[0]!;
    }
    if (i < 0) throw new OptionError(`target: no class named '${name}'`);
    return i;
  }

  /** RGB pixels at the model's input size -> input tensor, through the model's preprocessing. */
  toTensor(img: RgbImage): Float32Array {
    return toTensor(img, this.requireSpec());
  }

  /** The black image after the model's preprocessing (RSI-Grad-CAM's default baseline). */
  blackBaseline(): Float32Array {
    return blackBaseline(this.requireSpec());
  }

  private requireSpec(): InputSpec {
    if (!this.info.inputSpec) {
      throw new OptionError(`${this.info.source}: the model's preprocessing is unknown; give one (--preprocess imagenet|tf|caffe|unit|FILE.json)`);
    }
    return this.info.inputSpec;
  }

  /** Explain preprocessed input tensors (each C*H*W) with a method (default RSI-Grad-CAM). */
  async explain(inputs: readonly Float32Array[], options: ExplainOptions = {}): Promise<Explanation[]> {
    const { method = 'rsi-grad-cam', ...rest } = options;
    const m = createMethod(method, this.pipeline);
    if (m instanceof RsiGradCam && rest.baseline === undefined && !rest.paths && this.info.inputSpec) {
      m.defaultBaseline = this.blackBaseline();
    }
    return m.explain(inputs, rest);
  }

  /** Release the runtime's sessions. */
  async dispose(): Promise<void> {
    await this.runtime.dispose();
  }
}
