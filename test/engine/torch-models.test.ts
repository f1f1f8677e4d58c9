/**
 * Whole models against torch autograd: the engine's gradients of a class score w.r.t. two
 * inner layers and the input match the references recorded by tools/export_fixtures.py.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { Model } from '../../src/engine/model.js';
import { readOnnxFile } from '../../src/node/load-onnx.js';
import { serializeOnnx } from '../../src/engine/graph/onnx-io.js';
import { createNodeRuntime } from '../../src/node/runtime.js';
import { FIXTURES, loadFixture, relError } from '../helpers/fixtures.js';

const runtime = createNodeRuntime({ threads: 1 });
const names = readdirSync(FIXTURES).filter((f) => f.endsWith('.json')).map((f) => f.replace(/\.json$/, ''));

for (const name of names) {
  test(`${name}: logits, layer and input gradients match torch (logit and softmax scores)`, async () => {
    const fx = loadFixture(name);
    const model = Model.prepare(await readOnnxFile(fx.onnxPath), { source: name });
    const layers = fx.meta.layers.map((l) => model.layer(l.modulePath));
    fx.meta.layers.forEach((l, i) => assert.deepEqual(layers[i]!.shape.slice(1), l.shape.slice(1), `${l.modulePath} shape`));
    for (const score of ['logit', 'softmax'] as const) {
      const wrt = [...layers.map((l) => l.tensor), model.inputName];
      const { graph, outputs } = model.build({ expose: layers.map((l) => l.tensor), score, wrt });
      const session = await runtime.create(serializeOnnx(graph));
      // Both samples in one batch: batching must not mix items.
      const samples = fx.meta.samples;
      const per = samples[0]!.input.length;
      const x = new Float32Array(per * samples.length);
      samples.forEach((s, i) => x.set(fx.read(s.input), i * per));
      const k = fx.meta.numClasses;
      const t = new Float32Array(k * samples.length);
      samples.forEach((s, i) => (t[i * k + s.target] = 1));
      const r = await session.run({
        [model.inputName]: { data: x, dims: [samples.length, ...model.inputShape.slice(1) as number[]] },
        'rsi/targets': { data: t, dims: [samples.length, k] },
      });
      samples.forEach((s, i) => {
        const slice = (data: Float32Array, n: number) => data.slice(i * n, (i + 1) * n);
        assert.ok(relError(slice(r[outputs.logits]!.data, k), fx.read(s.logits)) < 1e-4, 'logits');
        fx.meta.layers.forEach((l, j) => {
          const ref = s.layers[l.modulePath]!;
          const n = ref.activation.length;
          assert.ok(relError(slice(r[outputs.activations[j]!]!.data, n), fx.read(ref.activation)) < 1e-4, `${l.modulePath} activation`);
          const g = slice(r[outputs.gradients[j]!]!.data, n);
          const e = relError(g, fx.read(score === 'logit' ? ref.gradLogit : ref.gradProb));
          assert.ok(e < 1e-4, `${name} ${l.modulePath} ${score} gradient: relative error ${e}`);
        });
        const gi = slice(r[outputs.gradients[layers.length]!]!.data, per);
        const e = relError(gi, fx.read(score === 'logit' ? s.inputGrad.logit : s.inputGrad.prob));
        assert.ok(e < 1e-4, `${name} input ${score} gradient: relative error ${e}`);
      });
      await session.release();
    }
  });
}
