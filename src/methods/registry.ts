/** The methods by the names the CLI and the web app use. */
import { GradCam } from './gradcam.js';
import { RsiGradCam } from './rsi-grad-cam.js';
import { GradCamPlusPlus } from './gradcam-plus-plus.js';
import { XGradCam } from './xgradcam.js';
import { LayerCam } from './layercam.js';
import { HiResCam } from './hirescam.js';
import { AblationCam } from './ablation-cam.js';
import type { BaseCam } from './base-cam.js';
import type { Pipeline } from './pipeline.js';
import { OptionError } from '../errors.js';

export const METHODS = {
  'rsi-grad-cam': (p: Pipeline) => new RsiGradCam(p),
  gradcam: (p: Pipeline) => new GradCam(p),
  'gradcam++': (p: Pipeline) => new GradCamPlusPlus(p),
  xgradcam: (p: Pipeline) => new XGradCam(p),
  layercam: (p: Pipeline) => new LayerCam(p),
  hirescam: (p: Pipeline) => new HiResCam(p),
  ablationcam: (p: Pipeline) => new AblationCam(p),
} as const;

export type MethodName = keyof typeof METHODS;
export const METHOD_NAMES = Object.keys(METHODS) as MethodName[];

/** A method instance by name; unknown names are an OptionError listing the known ones. */
export function createMethod(name: string, pipeline: Pipeline): BaseCam<any> {
  const make = (METHODS as Record<string, (p: Pipeline) => BaseCam<any>>)[name];
  if (!make) throw new OptionError(`method: unknown method '${name}' (expected one of ${METHOD_NAMES.join(', ')})`);
  return make(pipeline);
}
