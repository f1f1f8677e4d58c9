/**
 * A method written the way a user would write one: outside src/, against the public API only
 * (src/core.ts). Max-Grad-CAM: w_k = the largest gradient of channel k.
 */
import { GradientCam, registerMethod, methodNames, type GradientMaps } from '../../src/core.js';

export const USER_METHOD = 'test-maxgrad';

export class MaxGradCam extends GradientCam {
  readonly name = USER_METHOD;

  protected maps(_a: Float32Array, g: Float32Array, channels: number, hw: number): GradientMaps {
    const weights = new Float32Array(channels);
    for (let k = 0; k < channels; k++) {
      let m = -Infinity;
      for (let j = 0; j < hw; j++) m = Math.max(m, g[k * hw + j]!);
      weights[k] = m;
    }
    return { weights };
  }
}

/** Registers the method once per process. */
export function registerUserMethod(): void {
  if (!methodNames().includes(USER_METHOD)) registerMethod(USER_METHOD, (p) => new MaxGradCam(p));
}
