/** Saliency (Simonyan et al. 2014), as Captum's `Saliency` (abs=True): |d score / d x|. */
import { inputCapabilities, type MethodCapabilities } from './method.js';
import { InputGradientMethod } from './input-attribution.js';

export class Saliency extends InputGradientMethod {
  readonly name = 'saliency';
  static readonly capabilities: MethodCapabilities = inputCapabilities('Saliency');
  readonly capabilities = Saliency.capabilities;

  protected fromGradient(_x: Float32Array, g: Float32Array): Float32Array {
    return g.map(Math.abs);
  }
}
