/**
 * What an explanation method is to its callers (Classifier, CLI, compare, eval, the page):
 * a name, declared capabilities, and `explain`. Callers ask the capabilities instead of
 * comparing method names.
 */
import { OptionError } from '../errors.js';
import type { ScoreMode } from '../engine/model.js';
import type { Pipeline } from './pipeline.js';
import { COMMON_OPTIONS, type CommonOptions, type Explanation } from './types.js';

/** How a method's own option is set from a form or a command line (the page builds its controls from these). */
export interface OptionInfo {
  description: string;
  /** 'baseline': a tensor, or one of `choices` (black, blur) that the caller turns into one. */
  type: 'integer' | 'number' | 'choice' | 'boolean' | 'baseline';
  default?: number | string | boolean;
  /** For 'choice' and 'baseline'. Read it when needed: registries (weightings) may grow. */
  choices?: readonly string[];
  min?: number;
  max?: number;
  /** For 'integer' and 'number': words taken instead of a number (steps: 'auto'). */
  keywords?: readonly string[];
  /**
   * The option applies only while the options named here have these values (tolerance:
   * { steps: 'auto' }); the library refuses it otherwise, so a form offers it only then.
   */
  when?: Readonly<Record<string, string>>;
}

export interface MethodCapabilities {
  /** Display name, e.g. 'Grad-CAM++'. */
  label: string;
  /** Takes a baseline x' (`baseline` option); callers may supply one (black, blur, an image). */
  usesBaseline: boolean;
  /** Reports `completenessError` (sum of attributions vs score difference). */
  hasCompleteness: boolean;
  /**
   * false: the method attributes to the input pixels and takes no `layer` / `layers` (callers
   * that give one layer setting to several methods leave it out through `optionsFor`).
   * Default true.
   */
  usesLayer?: boolean;
  /**
   * Where the map (`cam`, `camShape`) lies: 'layer' (the layer's H x W; default) or 'input'
   * (the model input's pixels: input attributions, and Guided Grad-CAM, which takes a layer).
   */
  mapAt?: 'layer' | 'input';
  /** Option names the method takes besides the common ones (CommonOptions). */
  options: readonly string[];
  /** How to set those of `options` a user sets (a form, a flag); the rest are for programs (paths, returnAttributions). */
  optionInfo?: Readonly<Record<string, OptionInfo>>;
  /** The score differentiated when the options give none. */
  defaultScore: ScoreMode;
}

export interface ExplanationMethod<O extends CommonOptions = CommonOptions> {
  /** Name as the CLI spells it (and as `Explanation.method` reports it). */
  readonly name: string;
  readonly capabilities: MethodCapabilities;
  /** Explain each preprocessed input tensor (C*H*W values each). */
  explain(images: readonly Float32Array[], options?: O): Promise<Explanation[]>;
}

/** The capabilities of the single-point gradient CAMs (no options of their own). */
export function gradientCapabilities(label: string): MethodCapabilities {
  return { label, usesBaseline: false, hasCompleteness: false, options: [], defaultScore: 'logit' };
}

/** The capabilities of a method that attributes to the input pixels: no layer, no baseline, no options of its own (spread and override). */
export function inputCapabilities(label: string): MethodCapabilities {
  return { ...gradientCapabilities(label), usesLayer: false, mapAt: 'input' };
}

const LAYER_OPTIONS = new Set(['layer', 'layers']);

/** The option names a method takes: the common ones (without the layer for input methods) and its own. */
function allowedOptions(method: { capabilities: MethodCapabilities }): Set<string> {
  const common = method.capabilities.usesLayer === false ? COMMON_OPTIONS.filter((o) => !LAYER_OPTIONS.has(o)) : COMMON_OPTIONS;
  return new Set<string>([...common, ...method.capabilities.options]);
}

/** Makes a method over a pipeline (cheap: no session is built until `explain`). */
export type MethodFactory = (pipeline: Pipeline) => ExplanationMethod<any>;

/**
 * Refuses options the method does not take (an option set to undefined counts as not given),
 * so `{ method: 'gradcam', steps: 20 }` is an error rather than silently ignored.
 */
export function checkOptionNames(method: { name: string; capabilities: MethodCapabilities }, options: object): void {
  const allowed = allowedOptions(method);
  for (const [k, v] of Object.entries(options)) {
    if (v === undefined || allowed.has(k)) continue;
    if (LAYER_OPTIONS.has(k)) throw new OptionError(`${method.name} attributes to the input pixels; it takes no layer`);
    const own = method.capabilities.options;
    throw new OptionError(`${method.name} does not take the option '${k}'${own.length ? ` (its own options: ${own.join(', ')})` : ''}`);
  }
}

/**
 * The values among `values` that a method takes: for settings given once to several methods
 * (a `compare` or `eval` line), each method gets the ones it declares (input methods no layer).
 */
export function optionsFor<T extends object>(method: { capabilities: MethodCapabilities }, values: T): Partial<T> {
  const allowed = allowedOptions(method);
  return Object.fromEntries(Object.entries(values).filter(([k, v]) => v !== undefined && allowed.has(k))) as Partial<T>;
}
