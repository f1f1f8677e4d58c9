/**
 * `node --import` this before the CLI: registers `test-append`, a Grad-CAM-like user method
 * that, on its first map, appends a record to $RSI_TEST_APPEND_TO as another eval process
 * writing to the same folder would (method `foreign`, pointing 1 on $RSI_TEST_APPEND_IMAGE).
 */
import { appendFileSync } from 'node:fs';
import { GradientCam, registerMethod, type GradientMaps } from '../../src/core.js';

const APPENDING_METHOD = 'test-append';

let appended = false;

class AppendingCam extends GradientCam {
  readonly name = APPENDING_METHOD;

  protected maps(_a: Float32Array, _g: Float32Array, channels: number): GradientMaps {
    if (!appended) {
      appended = true;
      const record = { image: process.env.RSI_TEST_APPEND_IMAGE, label: 0, target: 0, probability: 0.5, combos: { 'foreign|some_layer': { pointing: 1 } } };
      appendFileSync(process.env.RSI_TEST_APPEND_TO!, `${JSON.stringify(record)}\n`);
    }
    return { weights: new Float32Array(channels).fill(1) };
  }
}

registerMethod(APPENDING_METHOD, (p) => new AppendingCam(p));
