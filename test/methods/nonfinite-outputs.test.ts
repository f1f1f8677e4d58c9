/**
 * A model that computes NaN or infinite values from finite inputs (overflow, broken weights)
 * is refused wherever it happens - at a path point or baseline, or in a layer's activations
 * while the probabilities stay finite - never an explanation built on them (found by the
 * model fuzzer: a flipped weight byte gave a NaN baseline score, or an infinite activation
 * that a Min clipped before the head, and exit 0).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { A } from '../../src/engine/graph/attributes.js';
import { float32Tensor } from '../../src/engine/graph/tensor-data.js';
import { Model } from '../../src/engine/model.js';
import { ModelFormatError } from '../../src/errors.js';
import { GradCam } from '../../src/methods/gradcam.js';
import { Pipeline } from '../../src/methods/pipeline.js';
import { RsiGradCam } from '../../src/methods/rsi-grad-cam.js';
import { graphOf, node } from '../helpers/graphs.js';
import { runtime } from '../helpers/methods.js';


/** x [N, 1, 4, 4] -> Conv 2x1x1x1 (weights `scale`, 0.5) = 'c' -> Min(c, 1) -> GlobalAveragePool -> Flatten -> Gemm 3 classes. */
function clipped(scale: number): Pipeline {
  const g = graphOf(
    [
      node('conv', 'Conv', ['x', 'w'], ['c'], { kernel_shape: A.ints([1, 1]) }),
      node('min', 'Min', ['c', 'one'], ['m']),
      node('gap', 'GlobalAveragePool', ['m'], ['p']),
      node('flat', 'Flatten', ['p'], ['f']),
      node('fc', 'Gemm', ['f', 'fw'], ['y'], { transB: A.int(1) }),
    ],
    { w: float32Tensor([scale, 0.5], [2, 1, 1, 1]), one: float32Tensor([1], []), fw: float32Tensor([1, -1, 0.5, 0.5, -1, 1], [3, 2]) },
    ['x', ['N', 1, 4, 4]],
    ['y'],
  );
  return new Pipeline(Model.prepare(g, { source: 'clip.onnx' }), runtime);
}

const image = Float32Array.from({ length: 16 }, (_, i) => (i % 5) / 4 - 0.5);
const refused = (e: Error) => e instanceof ModelFormatError && /^clip\.onnx: the model computes NaN or infinite values although its input is finite/.test(e.message);

test('sound weights: Grad-CAM and RSI-Grad-CAM give finite maps (the checks do not fire)', async () => {
  const p = clipped(2);
  const [g] = await new GradCam(p).explain([image], { layer: 'c' });
  assert.ok(g!.cam.every(Number.isFinite) && g!.weights.every(Number.isFinite));
  const [r] = await new RsiGradCam(p).explain([image], { layer: 'c', steps: 4, baseline: new Float32Array(16) });
  assert.ok(Number.isFinite(r!.completenessError));
});

test('an infinite activation at the layer is refused although the probabilities are finite', async () => {
  // Positive pixels times 1e38 overflow float32 to +Infinity where a pixel exceeds 3.4 in the
  // first channel; Min(., 1) hands the head finite values.
  const p = clipped(1e38);
  const bright = Float32Array.from(image, (v) => (v + 0.6) * 4);
  const [pred] = await p.predict([bright], 1);
  assert.ok(pred!.probabilities.every(Number.isFinite), 'the probabilities themselves are finite');
  await assert.rejects(new GradCam(p).explain([bright], { layer: 'c' }), refused);
});

test('a baseline at which the model overflows is refused, though the image is fine', async () => {
  const p = clipped(1e30);
  const [ok] = await new GradCam(p).explain([image], { layer: 'c' });
  assert.ok(ok!.cam.every(Number.isFinite));
  const baseline = new Float32Array(16).fill(1e9); // finite; 1e30 * 1e9 is not
  await assert.rejects(new RsiGradCam(p).explain([image], { layer: 'c', steps: 4, baseline }), refused);
});
