/** Perturbation methods: Occlusion against Captum's formula in torch, and its defining property. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Model } from '../../src/engine/model.js';
import { A } from '../../src/engine/graph/attributes.js';
import { float32Tensor } from '../../src/engine/graph/tensor-data.js';
import type { Graph } from '../../src/engine/graph/types.js';
import { OptionError } from '../../src/errors.js';
import { Pipeline } from '../../src/methods/pipeline.js';
import { createMethod } from '../../src/methods/registry.js';
import { relError } from '../helpers/fixtures.js';
import { fixturePipeline, runtime } from '../helpers/methods.js';

const REFS = JSON.parse(readFileSync(fileURLToPath(new URL('../fixtures/method-refs.json', import.meta.url)), 'utf8'));

for (const name of ['resnet', 'vgg']) {
  test(`occlusion on ${name} equals Captum's Occlusion (window 6, stride 4: the last window cropped)`, async () => {
    const { fx, pipeline, images } = await fixturePipeline(name);
    const ref = REFS[name].occlusion;
    const progress: number[] = [];
    const res = await createMethod('occlusion', pipeline).explain(images, {
      targets: fx.meta.samples.map((s) => s.target), window: ref.window, stride: ref.stride, occlusionValue: ref.value, internalBatchSize: 7,
      onProgress: (_d: number, t: number) => progress.push(t),
    });
    res.forEach((e, i) => {
      const err = relError(e.attributions!, ref.attributions[i]!);
      assert.ok(err < 1e-4, `${name} sample ${i}: error ${err}`);
    });
    assert.equal(progress[0], images.length + images.length * (1 + 8 * 8), 'predictions, then F(x) and 64 windows per image');
  });
}

/** x [N, 1, 8, 8] -> Mul by a mask that zeroes the right half -> Conv 3x3 -> Relu -> GlobalAveragePool -> Gemm. */
function leftHalfModel(): Pipeline {
  const n = (opType: string, inputs: string[], outputs: string[], attributes: Graph['nodes'][number]['attributes'] = {}) => ({ name: `${opType}_${outputs[0]}`, opType, domain: '', inputs, outputs, attributes });
  const mask = Array.from({ length: 64 }, (_, i) => (i % 8 < 4 ? 1 : 0));
  const graph: Graph = {
    name: 'left', opset: 17, otherOpsets: [], irVersion: 8, producerName: 'test', valueInfo: new Map(),
    inputs: [{ name: 'x', dataType: 'float32', shape: ['N', 1, 8, 8] }],
    outputs: [{ name: 'y', dataType: 'float32' }],
    initializers: new Map([
      ['mask', float32Tensor(mask, [1, 1, 8, 8])],
      ['w', float32Tensor(Array.from({ length: 18 }, (_, i) => Math.sin(i + 1)), [2, 1, 3, 3])],
      ['wg', float32Tensor([1, -0.5, 0.3, 1], [2, 2])],
    ]),
    nodes: [
      n('Mul', ['x', 'mask'], ['m']), n('Conv', ['m', 'w'], ['c'], { pads: A.ints([1, 1, 1, 1]) }), n('Relu', ['c'], ['r']),
      n('GlobalAveragePool', ['r'], ['p']), n('Flatten', ['p'], ['f']), n('Gemm', ['f', 'wg'], ['y'], { transB: A.int(1) }),
    ],
  };
  return new Pipeline(Model.prepare(graph, { source: 'left-half' }), runtime);
}

test('occlusion over pixels the score ignores gives exactly zero; bad windows are refused', async () => {
  const pipeline = leftHalfModel();
  const x = Float32Array.from({ length: 64 }, (_, i) => Math.cos(i));
  const [e] = await createMethod('occlusion', pipeline).explain([x], { targets: 0, window: 2, stride: 2, occlusionValue: 0.7 });
  for (let y = 0; y < 8; y++) {
    for (let q = 0; q < 8; q++) {
      const v = e!.attributions![y * 8 + q]!;
      if (q >= 4) assert.equal(v, 0, `pixel (${y}, ${q}) is ignored by the score`);
    }
  }
  assert.ok(e!.attributions!.some((v, i) => i % 8 < 4 && Math.abs(v) > 1e-4), 'the left half matters');
  const occ = createMethod('occlusion', pipeline);
  await assert.rejects(occ.explain([x], { window: 9 }), (err: Error) => err instanceof OptionError && /window must be an integer from 1 to 8/.test(err.message));
  await assert.rejects(occ.explain([x], { window: 4, stride: 5 }), /stride must be an integer from 1 to the window \(4\)/);
  await assert.rejects(occ.explain([x], { occlusionValue: NaN }), /occlusionValue must be a finite number/);
});

for (const name of ['resnet', 'vgg']) {
  test(`rise on ${name} equals the authors' RISE with the same masks (skimage resize, reflect)`, async () => {
    const { fx, pipeline, images } = await fixturePipeline(name);
    const ref = REFS[name].rise;
    const res = await createMethod('rise', pipeline).explain(images, { targets: fx.meta.samples.map((s) => s.target), masks: ref.masks, cell: ref.cell, keep: ref.keep, seed: ref.seed, internalBatchSize: 16 });
    res.forEach((e, i) => {
      const err = relError(e.cam, ref.saliency[i]!);
      assert.ok(err < 1e-4, `${name} sample ${i}: error ${err}`);
      assert.equal(e.scoreMode, 'softmax');
      assert.ok(Math.abs(e.score - fx.read(fx.meta.samples[i]!.probs)[fx.meta.samples[i]!.target]!) < 1e-5, 'score: the target probability at the image');
    });
    const again = await createMethod('rise', pipeline).explain([images[0]!], { targets: fx.meta.samples[0]!.target, masks: ref.masks, cell: ref.cell, keep: ref.keep, seed: ref.seed + 1 });
    assert.ok(relError(again[0]!.cam, ref.saliency[0]!) > 1e-3, 'another seed, other masks');
  });
}
