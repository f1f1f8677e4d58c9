/**
 * The demo model's input: RGB / 255 ('unit' preset), NCHW float32, as in
 * assets/demo/preprocess.json. Kept here so tools and tests need no image pipeline.
 */
import type { DemoSample } from './generate.js';

/** Stacks samples (all of one size) into an [n, 3, size, size] float32 batch in [0, 1]. */
export function samplesToUnitNchw(samples: readonly DemoSample[]): { data: Float32Array; dims: number[] } {
  const size = samples[0]?.size ?? 0;
  const plane = size * size;
  const data = new Float32Array(samples.length * 3 * plane);
  samples.forEach((s, n) => {
    const base = n * 3 * plane;
    for (let p = 0; p < plane; p++) {
      for (let c = 0; c < 3; c++) data[base + c * plane + p] = s.rgb[p * 3 + c]! / 255;
    }
  });
  return { data, dims: [samples.length, 3, size, size] };
}
