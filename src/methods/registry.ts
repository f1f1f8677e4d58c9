/**
 * The methods by the names the API, the CLI (--method, compare, eval) and the web app use.
 * Open: `registerMethod` adds a user's own method, and every caller finds it here.
 */
import { GradCam, type GradCamOptions } from './gradcam.js';
import { RsiGradCam, type RsiGradCamOptions } from './rsi-grad-cam.js';
import { GradCamPlusPlus } from './gradcam-plus-plus.js';
import { XGradCam } from './xgradcam.js';
import { LayerCam } from './layercam.js';
import { HiResCam } from './hirescam.js';
import { AblationCam } from './ablation-cam.js';
import { Saliency } from './saliency.js';
import { InputXGradient } from './input-x-gradient.js';
import { IntegratedGradients, type IntegratedGradientsOptions } from './integrated-gradients.js';
import { LayerIntegratedGradients, type LayerIntegratedGradientsOptions } from './layer-ig.js';
import { Conductance, type ConductanceOptions } from './conductance.js';
import { ScoreCam } from './score-cam.js';
import { EigenCam, EigenGradCam } from './eigen-cam.js';
import { Occlusion, type OcclusionOptions } from './occlusion.js';
import { GuidedBackprop, GuidedGradCam } from './guided-backprop.js';
import { Rise, type RiseOptions } from './rise.js';
import type { ExplanationMethod, MethodCapabilities, MethodFactory } from './method.js';
import type { Pipeline } from './pipeline.js';
import type { CommonOptions } from './types.js';
import { OptionError } from '../errors.js';

/**
 * Each built-in method's options type, by name. `ExplainOptions` is built from it, so
 * `{ method: 'gradcam', steps: 20 }` is a type error (and a runtime OptionError).
 */
export interface MethodOptionsMap {
  'rsi-grad-cam': RsiGradCamOptions;
  gradcam: GradCamOptions;
  'gradcam++': CommonOptions;
  xgradcam: CommonOptions;
  layercam: CommonOptions;
  hirescam: CommonOptions;
  ablationcam: CommonOptions;
  saliency: CommonOptions;
  'input-x-gradient': CommonOptions;
  ig: IntegratedGradientsOptions;
  'layer-ig': LayerIntegratedGradientsOptions;
  conductance: ConductanceOptions;
  scorecam: CommonOptions;
  eigencam: CommonOptions;
  eigengradcam: CommonOptions;
  occlusion: OcclusionOptions;
  'guided-backprop': CommonOptions;
  'guided-gradcam': CommonOptions;
  rise: RiseOptions;
}

/** A built-in method's name. */
export type MethodName = keyof MethodOptionsMap;

/** The method used when none is named. */
export const DEFAULT_METHOD = 'rsi-grad-cam' satisfies MethodName;

interface Entry {
  factory: MethodFactory;
  /** Known without a pipeline for built-ins and methods registered with them; else from the first instance. */
  capabilities?: MethodCapabilities;
}

const registry = new Map<string, Entry>([
  ['rsi-grad-cam', { factory: (p) => new RsiGradCam(p), capabilities: RsiGradCam.capabilities }],
  ['gradcam', { factory: (p) => new GradCam(p), capabilities: GradCam.capabilities }],
  ['gradcam++', { factory: (p) => new GradCamPlusPlus(p), capabilities: GradCamPlusPlus.capabilities }],
  ['xgradcam', { factory: (p) => new XGradCam(p), capabilities: XGradCam.capabilities }],
  ['layercam', { factory: (p) => new LayerCam(p), capabilities: LayerCam.capabilities }],
  ['hirescam', { factory: (p) => new HiResCam(p), capabilities: HiResCam.capabilities }],
  ['ablationcam', { factory: (p) => new AblationCam(p), capabilities: AblationCam.capabilities }],
  ['scorecam', { factory: (p) => new ScoreCam(p), capabilities: ScoreCam.capabilities }],
  ['eigencam', { factory: (p) => new EigenCam(p), capabilities: EigenCam.capabilities }],
  ['eigengradcam', { factory: (p) => new EigenGradCam(p), capabilities: EigenGradCam.capabilities }],
  ['saliency', { factory: (p) => new Saliency(p), capabilities: Saliency.capabilities }],
  ['input-x-gradient', { factory: (p) => new InputXGradient(p), capabilities: InputXGradient.capabilities }],
  ['guided-backprop', { factory: (p) => new GuidedBackprop(p), capabilities: GuidedBackprop.capabilities }],
  ['guided-gradcam', { factory: (p) => new GuidedGradCam(p), capabilities: GuidedGradCam.capabilities }],
  ['ig', { factory: (p) => new IntegratedGradients(p), capabilities: IntegratedGradients.capabilities }],
  ['layer-ig', { factory: (p) => new LayerIntegratedGradients(p), capabilities: LayerIntegratedGradients.capabilities }],
  ['conductance', { factory: (p) => new Conductance(p), capabilities: Conductance.capabilities }],
  ['rise', { factory: (p) => new Rise(p), capabilities: Rise.capabilities }],
  ['occlusion', { factory: (p) => new Occlusion(p), capabilities: Occlusion.capabilities }],
]);

/**
 * Makes a method available by `name` to Classifier.explain, explainFile, and the CLI's
 * --method, compare and eval. A name already taken is an error unless `replace` is set.
 * Give `capabilities` (the same object the instances report) so that forms can be built
 * before any model is loaded (methodCapabilities).
 */
export function registerMethod(name: string, factory: MethodFactory, options: { replace?: boolean; capabilities?: MethodCapabilities } = {}): void {
  if (!/^[a-z0-9][a-z0-9+_.-]*$/i.test(name)) throw new OptionError(`method name '${name}' must be letters, digits and + _ . - (no spaces or commas)`);
  if (registry.has(name) && !options.replace) throw new OptionError(`method '${name}' is already registered (pass { replace: true } to replace it)`);
  registry.set(name, { factory, capabilities: options.capabilities });
}

/** The names of every registered method, built-in first, in registration order. */
export function methodNames(): string[] {
  return [...registry.keys()];
}

/** A method's capabilities without a model: undefined for a method registered without them and not yet created. */
export function methodCapabilities(name: string): MethodCapabilities | undefined {
  return entry(name).capabilities;
}

/** A method instance by name; unknown names are an OptionError listing the known ones. */
export function createMethod(name: string, pipeline: Pipeline): ExplanationMethod<any> {
  const e = entry(name);
  const method = e.factory(pipeline);
  e.capabilities ??= method.capabilities;
  return method;
}

function entry(name: string): Entry {
  const e = registry.get(name);
  if (!e) throw new OptionError(`method: unknown method '${name}' (expected one of ${methodNames().join(', ')})`);
  return e;
}
