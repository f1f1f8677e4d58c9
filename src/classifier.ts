/**
 * A loaded classifier: the prepared model with its labels and preprocessing, on a runtime.
 * The entry point of the library API; the CLI and the web app are thin shells over it.
 */
import { Model } from './engine/model.js';
import type { LayerInfo } from './engine/layers.js';
import type { Runtime } from './engine/runtime/runtime.js';
import { blackBaseline, photoChannels, photoConversion, toTensor, unsupportedChannels, type InputSpec } from './image/preprocess.js';
import type { RgbImage } from './image/types.js';
import { Pipeline } from './methods/pipeline.js';
import { createMethod, DEFAULT_METHOD, type MethodName, type MethodOptionsMap } from './methods/registry.js';
import type { ExplanationMethod } from './methods/method.js';
import type { CommonOptions, Explanation, TargetDescription } from './methods/types.js';
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

/**
 * Options of `explain`: the method's name and that method's options. For a built-in method
 * `M` the options are typed (`{ method: 'gradcam', steps: 5 }` does not compile); a method
 * registered at run time takes the common options plus whatever it declares, checked when it
 * runs. Without `method`: RSI-Grad-CAM.
 */
export type ExplainOptions<M extends string = MethodName> = M extends MethodName
  ? { method?: M } & MethodOptionsMap[M]
  : { method: M } & CommonOptions & { [option: string]: unknown };

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
    // The black image at the model's size and channels (none when photos cannot be made for it).
    const spec = this.inputSpec;
    this.pipeline = new Pipeline(model, runtime, { blackBaseline: spec && photoChannels(spec) ? () => blackBaseline(spec) : undefined });
    if (info.labels && info.labels.length !== model.numClasses) {
      throw new OptionError(`${info.source}: ${info.labels.length} labels for a model with ${model.numClasses} classes`);
    }
  }

  get labels(): string[] | undefined {
    return this.info.labels;
  }
  /** How images become input tensors (at the model's size, layout and channels); undefined when unknown. */
  get inputSpec(): InputSpec | undefined {
    const spec = this.info.inputSpec;
    const m = this.model;
    return spec && { ...spec, size: m.imageSize, layout: m.inputLayout, channels: m.channels };
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

  /** What an explanation explains, in words: 'tabby', 'tabby - tiger cat', '0.7 tabby + 0.3 tiger cat', 'sigmoid(unit 3 of logits)'. */
  describeTarget(objective: TargetDescription): string {
    const name = (c: number) => this.label(c).split(',')[0]!;
    const { kind, classes, weights } = objective;
    if (kind === 'unit') {
      const unit = `unit ${classes[0]} of ${objective.output}`;
      return objective.activation === 'none' ? unit : `${objective.activation}(${unit})`;
    }
    if (kind === 'contrast') return `${name(classes[0]!)} - ${name(classes[1]!)}`;
    return classes.map((c, i) => (weights[i] === 1 ? name(c) : `${weights[i]} ${name(c)}`)).join(' + ');
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

  /**
   * RGB pixels at the model's input size -> input tensor, through the model's preprocessing
   * (luminance and alpha for 1-, 2- and 4-channel models: see `photoConversion`).
   */
  toTensor(img: RgbImage): Float32Array {
    return toTensor(img, this.requireSpec());
  }

  /**
   * How a photo (with transparency or not) becomes this model's input channels, in one line
   * for the user; undefined for RGB models.
   */
  photoConversion(hasAlpha: boolean): string | undefined {
    return photoConversion(this.requireSpec(), hasAlpha);
  }

  /** The black image after the model's preprocessing (path methods' default baseline). */
  blackBaseline(): Float32Array {
    return blackBaseline(this.requireSpec());
  }

  private requireSpec(): InputSpec {
    const spec = this.inputSpec;
    if (!spec) {
      throw new OptionError(`${this.info.source}: the model's preprocessing is unknown; give one (--preprocess imagenet|tf|caffe|unit|FILE.json, or raw)`);
    }
    if (!photoChannels(spec)) throw unsupportedChannels(spec.channels!, this.info.source);
    return spec;
  }

  /** A method by name (built-in or registered), over this classifier's pipeline: ask its `capabilities`. */
  method(name: string = DEFAULT_METHOD): ExplanationMethod<any> {
    return createMethod(name, this.pipeline);
  }

  /**
   * Explain preprocessed input tensors (each C*H*W) with a method (default RSI-Grad-CAM): a
   * built-in one with its typed options, or a registered one by name.
   */
  explain(inputs: readonly Float32Array[], options?: ExplainOptions): Promise<Explanation[]>;
  explain<M extends string>(inputs: readonly Float32Array[], options: ExplainOptions<M>): Promise<Explanation[]>;
  async explain(inputs: readonly Float32Array[], options: { method?: string } = {}): Promise<Explanation[]> {
    const { method = DEFAULT_METHOD, ...rest } = options;
    return this.method(method).explain(inputs, rest);
  }

  /** Release the runtime's sessions. */
  async dispose(): Promise<void> {
    await this.runtime.dispose();
  }
}
