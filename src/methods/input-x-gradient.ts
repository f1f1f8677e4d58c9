/** Input x Gradient (Shrikumar et al. 2016), as Captum's `InputXGradient`: x * d score / d x. */
import { inputCapabilities, type MethodCapabilities } from './method.js';
import { InputGradientMethod } from './input-attribution.js';

export class InputXGradient extends InputGradientMethod {
  readonly name = 'input-x-gradient';
  static readonly capabilities: MethodCapabilities = inputCapabilities('Input x Gradient');
  readonly capabilities = InputXGradient.capabilities;

  protected fromGradient(x: Float32Array, g: Float32Array): Float32Array {
    return g.map((v, i) => v * x[i]!);
  }
}
