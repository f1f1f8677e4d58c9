/**
 * Grad-CAM++, XGrad-CAM, LayerCAM and HiResCAM against their definitions (as pytorch-grad-cam
 * writes them) evaluated on torch autograd's activations and gradients from the fixtures.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createMethod } from '../../src/methods/registry.js';
import { relError } from '../helpers/fixtures.js';
import { fixturePipeline } from '../helpers/methods.js';

type Ref = (a: Float64Array[], g: Float64Array[], hw: number) => Float64Array;
const sum = (x: Float64Array) => x.reduce((s, v) => s + v, 0);
const channelCam = (w: number[]): Ref => (a, _g, hw) => {
  const cam = new Float64Array(hw);
  a.forEach((ak, k) => ak.forEach((v, j) => (cam[j]! += w[k]! * v)));
  return cam;
};
const REFS: Record<string, (a: Float64Array[], g: Float64Array[], hw: number) => Float64Array> = {
  'gradcam++': (a, g, hw) =>
    channelCam(
      a.map((ak, k) => {
        const sA = sum(ak);
        return g[k]!.reduce((s, gk) => {
          if (gk === 0) return s;
          const aij = (gk * gk) / (2 * gk * gk + sA * gk ** 3 + 1e-6);
          return s + aij * Math.max(gk, 0);
        }, 0);
      }),
    )(a, g, hw),
  xgradcam: (a, g, hw) => channelCam(a.map((ak, k) => sum(ak.map((v, j) => v * g[k]![j]!)) / (sum(ak) + 1e-7)))(a, g, hw),
  layercam: (a, g, hw) => {
    const cam = new Float64Array(hw);
    a.forEach((ak, k) => ak.forEach((v, j) => (cam[j]! += Math.max(0, g[k]![j]!) * v)));
    return cam;
  },
  hirescam: (a, g, hw) => {
    const cam = new Float64Array(hw);
    a.forEach((ak, k) => ak.forEach((v, j) => (cam[j]! += g[k]![j]! * v)));
    return cam;
  },
};

for (const name of ['resnet', 'mobilenetv2']) {
  test(`gradient CAM family on ${name} matches the definitions on torch's gradients`, async () => {
    const { fx, pipeline, images } = await fixturePipeline(name);
    const layer = fx.meta.layers[1]!;
    const targets = fx.meta.samples.map((s) => s.target);
    for (const [method, ref] of Object.entries(REFS)) {
      const res = await createMethod(method, pipeline).explain(images, { layer: layer.modulePath, targets });
      res.forEach((r, i) => {
        const rec = fx.meta.samples[i]!.layers[layer.modulePath]!;
        const [c, h, w] = rec.activation.shape.slice(1) as [number, number, number];
        const hw = h * w;
        const split = (t: Float32Array) => Array.from({ length: c }, (_, k) => Float64Array.from(t.subarray(k * hw, (k + 1) * hw)));
        const cam = ref(split(fx.read(rec.activation)), split(fx.read(rec.gradLogit)), hw).map((v) => Math.max(0, v));
        const e = relError(r.cam, cam);
        assert.ok(e < 1e-4, `${method} ${name} sample ${i}: cam error ${e}`);
        assert.equal(r.method, method);
      });
    }
  });
}
