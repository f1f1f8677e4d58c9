/**
 * scorecam, eigencam, eigengradcam, occlusion and rise against references computed apart in
 * torch from pytorch-grad-cam's, Captum's and the RISE authors' code
 * (tools/perturb_references.py, test/fixtures/perturb-refs.json), on four fixture models:
 * an NCHW MobileNetV2 and DenseNet, an NHWC input (masks and windows in the input's own
 * layout) and a 30x30 input (RISE's grid and Occlusion's last window not dividing the side).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { createMethod } from '../../src/methods/registry.js';
import { defaultWindow } from '../../src/methods/occlusion.js';
import { relError } from '../helpers/fixtures.js';
import { fixturePipeline } from '../helpers/methods.js';

interface RefSample {
  target: number;
  scorecam: { weights: number[]; cam: number[] };
  eigencam: { cam: number[] };
  eigengradcam: { cam: number[] };
  occlusion: number[];
  rise: number[];
}
interface RefModel {
  layer: string;
  layout: string;
  occlusion: { window: number; stride: number; value: number };
  rise: { masks: number; cell: number; keep: number; seed: number };
  samples: RefSample[];
}

const REFS: { models: Record<string, RefModel> } = JSON.parse(readFileSync(fileURLToPath(new URL('../fixtures/perturb-refs.json', import.meta.url)), 'utf8'));
const TOL = 1e-4;

for (const [name, ref] of Object.entries(REFS.models)) {
  test(`${name}: scorecam, eigencam, eigengradcam equal pytorch-grad-cam's (layer ${ref.layer})`, async (t) => {
    const { pipeline, images } = await fixturePipeline(name);
    const targets = ref.samples.map((s) => s.target);
    for (const method of ['scorecam', 'eigencam', 'eigengradcam'] as const) {
      const res = await createMethod(method, pipeline).explain(images, { layer: ref.layer, targets, internalBatchSize: 5 });
      res.forEach((e, i) => {
        const err = relError(e.cam, ref.samples[i]![method].cam);
        t.diagnostic(`${method} sample ${i}: cam error ${err.toExponential(2)}`);
        assert.ok(err < TOL, `${method} sample ${i}: cam error ${err}`);
        if (method === 'scorecam') {
          const werr = relError(e.weights, ref.samples[i]!.scorecam.weights);
          t.diagnostic(`scorecam sample ${i}: weights error ${werr.toExponential(2)}`);
          assert.ok(werr < TOL, `scorecam sample ${i}: weights error ${werr}`);
        }
      });
    }
  });

  test(`${name}: occlusion equals Captum's (window ${ref.occlusion.window}, stride ${ref.occlusion.stride}, value ${ref.occlusion.value})`, async (t) => {
    const { pipeline, images } = await fixturePipeline(name);
    const { window, stride, value } = ref.occlusion;
    let worst = 0;
    const res = await createMethod('occlusion', pipeline).explain(images, { targets: ref.samples.map((s) => s.target), window, stride, occlusionValue: value, internalBatchSize: 9 });
    res.forEach((e, i) => {
      const [c, h, w] = e.attributionShape!;
      assert.deepEqual([h, w], e.heatmapShape);
      for (let k = 0; k < c; k++) {
        const err = relError(e.attributions!.subarray(k * h * w, (k + 1) * h * w), ref.samples[i]!.occlusion);
        assert.ok(err < TOL, `sample ${i} channel ${k}: error ${err}`);
        worst = Math.max(worst, err);
      }
    });
    t.diagnostic(`occlusion: largest error ${worst.toExponential(2)}`);
  });

  test(`${name}: rise equals the authors' RISE on the same masks (N ${ref.rise.masks}, cell ${ref.rise.cell}, p ${ref.rise.keep}, seed ${ref.rise.seed})`, async (t) => {
    const { pipeline, images } = await fixturePipeline(name);
    const { masks, cell, keep, seed } = ref.rise;
    const res = await createMethod('rise', pipeline).explain(images, { targets: ref.samples.map((s) => s.target), masks, cell, keep, seed, internalBatchSize: 13 });
    res.forEach((e, i) => {
      const err = relError(e.cam, ref.samples[i]!.rise);
      t.diagnostic(`rise sample ${i}: saliency error ${err.toExponential(2)}`);
      assert.ok(err < TOL, `sample ${i}: saliency error ${err}`);
    });
  });
}

test("occlusion's default window is the smaller side / 15 (Captum tutorials' 15 px, stride 8, at 224), stride half of it", async () => {
  assert.deepEqual([defaultWindow(224, 224), defaultWindow(32, 32), defaultWindow(300, 10)], [15, 2, 1]);
  const { pipeline, images } = await fixturePipeline('mobilenetv2');
  let total = 0;
  await createMethod('occlusion', pipeline).explain([images[0]!], { onProgress: (_d: number, t: number) => (total = t) });
  // 32 x 32: window 2, stride 1, 31 x 31 windows; one prediction and F(x) besides.
  assert.equal(total, 1 + 1 + 31 * 31);
});
