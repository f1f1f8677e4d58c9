/**
 * Property over every fixture model: at EVERY layer that `layers` lists, the graphs Grad-CAM
 * (logit score) and RSI-Grad-CAM (softmax score) run build and run in onnxruntime, the
 * methods explain there (or refuse a non-4-D layer with a typed error), and the layer
 * gradient agrees with central finite differences of the score, taken by feeding the layer
 * perturbed activations: along a random direction and at two single units.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { Model, type ScoreMode } from '../../src/engine/model.js';
import { readOnnxFile } from '../../src/node/load-onnx.js';
import { createNodeRuntime } from '../../src/node/runtime.js';
import { Classifier } from '../../src/classifier.js';
import { OptionError, RsiGradCamError } from '../../src/errors.js';
import type { LayerInfo } from '../../src/engine/layers.js';
import { FIXTURES, loadFixture } from '../helpers/fixtures.js';
import { rng } from '../helpers/grad-check.js';

const QUANTIZED = path.join(FIXTURES, 'quantized');
/** Every torch fixture, and the quantized models (explained through their float twin) with their float model's samples. */
const cases = [
  ...readdirSync(FIXTURES).filter((f) => f.endsWith('.json')).map((f) => ({ name: f.replace(/\.json$/, ''), file: path.join(FIXTURES, f.replace(/\.json$/, '.onnx')), samples: f.replace(/\.json$/, '') })),
  ...readdirSync(QUANTIZED).filter((f) => f.endsWith('.onnx')).map((f) => ({ name: `quantized/${f}`, file: path.join(QUANTIZED, f), samples: 'quant_float' })),
];

for (const { name, file, samples } of cases) {
  test(`${name}: at every listed layer the Grad-CAM and RSI-Grad-CAM graphs run and the layer gradient matches finite differences`, async () => {
    const fx = loadFixture(samples);
    const model = Model.prepare(await readOnnxFile(file), { source: name });
    const runtime = createNodeRuntime({ threads: 1, maxSessions: 4 });
    const classifier = new Classifier(model, runtime, { source: name });
    const sample = fx.meta.samples[0]!;
    const x = fx.read(sample.input);
    const failures: string[] = [];
    try {
      assert.ok(model.layers.length > 0);
      for (const layer of model.layers) {
        for (const method of ['gradcam', 'rsi-grad-cam'] as const) {
          try {
            const path = classifier.method(method).capabilities.usesBaseline ? { steps: 3, baseline: new Float32Array(x.length) } : {};
            const [e] = await classifier.explain([x], { method, layer: layer.tensor, targets: sample.target, ...path });
            if (layer.shape.length !== 4) failures.push(`${layer.tensor}: ${method} explained a ${layer.shape.length}-D layer`);
            else if (!e!.cam.every(Number.isFinite) || e!.camShape.join() !== layer.shape.slice(2).join()) failures.push(`${layer.tensor}: ${method} cam is not finite or mis-shaped`);
          } catch (err) {
            // Not a map, or a 1x1 map (after a global pooling: a CAM there cannot localise): refused.
            const pointMap = layer.shape.length === 4 && (layer.shape[2] as number) * (layer.shape[3] as number) === 1;
            const refused = err instanceof OptionError && (layer.shape.length !== 4 || (pointMap && /1x1 spatial map/.test(err.message)));
            if (!refused) failures.push(`${layer.tensor}: ${method}: ${(err as Error).message}`);
          }
        }
        for (const score of ['logit', 'softmax'] as const) {
          const problem = await checkGradient(classifier, layer, x, sample.target, score).catch((err: Error) => `${err instanceof RsiGradCamError ? '' : 'internal error: '}${err.message}`);
          if (problem) failures.push(`${layer.tensor} (${layer.op}) ${score}: ${problem}`);
        }
      }
    } finally {
      await runtime.dispose();
    }
    assert.deepEqual(failures, [], `${name}: ${failures.length} problems of ${model.layers.length} layers`);
  });
}

/** Undefined when the gradient at `layer` agrees with central differences; else what differs. */
async function checkGradient(c: Classifier, layer: LayerInfo, x: Float32Array, target: number, score: ScoreMode): Promise<string | undefined> {
  const p = c.pipeline;
  const model = c.model;
  // The very session the methods run (cached by the pipeline).
  const { session, outputs } = await p.session({ expose: [layer.tensor], score, wrt: [layer.tensor] });
  const r = await session.run(p.feeds(p.stack([x], [0]), [target]));
  const a = r[outputs.activations[0]!]!;
  const g = r[outputs.gradients[0]!]!.data;
  if (!g.every(Number.isFinite)) return 'the gradient is not finite';

  // Perturbed activations fed to the layer: a random direction over 4 units and two single
  // units (the largest gradient, a random one). Units holding exact zeros are avoided: after a
  // ReLU they tie in MaxPool windows, where the score is not differentiable. The nets are
  // piecewise linear (ReLU, Clip, MaxPool): a kink near the point spoils one side's
  // difference, rarely both and rarely at two step sizes, so a probe passes when the
  // central, forward or backward difference agrees at either step size.
  const n = a.data.length;
  const rand = rng(n + 17);
  const finite = Array.from(a.data).filter(Number.isFinite);
  let candidates = Array.from({ length: n }, (_, i) => i).filter((i) => a.data[i] !== 0 && Number.isFinite(a.data[i]!));
  if (candidates.length === 0) candidates = Array.from({ length: n }, (_, i) => i);
  const pick = () => candidates[Math.floor(rand(0, candidates.length))]!;
  const direction = new Float32Array(n);
  for (let i = 0; i < 4; i++) direction[pick()] = rand();
  const best = candidates.reduce((b, i) => (Math.abs(g[i]!) > Math.abs(g[b]!) ? i : b), candidates[0]!);
  const probes: { v: Float32Array; analytic: number; what: string }[] = [
    { v: direction, analytic: dot(g, direction), what: 'random direction' },
    ...[best, pick()].map((u) => ({ v: unit(n, u), analytic: g[u]!, what: `unit ${u}` })),
  ];
  const rms = Math.sqrt(finite.reduce((s, v) => s + v * v, 0) / Math.max(1, finite.length)) || 1;
  const steps = [1e-2 * rms, 1e-3 * rms];
  const items = [a.data, ...steps.flatMap((eps) => probes.flatMap((q) => [1, -1].map((s) => a.data.map((v, i) => v + s * eps * q.v[i]!))))];
  const fed = await p.session({ feed: layer.tensor });
  const per = n / a.dims[0]!;
  const batch = new Float32Array(per * items.length);
  items.forEach((it, i) => batch.set(it, i * per));
  const feeds: Record<string, { data: Float32Array; dims: number[] }> = { [layer.tensor]: { data: batch, dims: [items.length, ...a.dims.slice(1)] } };
  if (fed.session.inputNames.includes(model.inputName)) feeds[model.inputName] = p.stack(items.map(() => x), items.map((_, i) => i));
  const outName = score === 'logit' ? fed.outputs.logits : fed.outputs.probs;
  const y = (await fed.session.run(feeds, [outName]))[outName]!.data;
  const k = model.numClasses;
  const f = (item: number) => y[item * k + target]!;
  const problems: string[] = [];
  probes.forEach((q, j) => {
    const diffs: number[] = [];
    let tolerance = 0;
    const agrees = steps.some((eps, e) => {
      const base = 1 + 2 * (e * probes.length + j);
      const [plus, zero, minus] = [f(base), f(0), f(base + 1)];
      const d = [(plus - minus) / (2 * eps), (plus - zero) / eps, (zero - minus) / eps];
      diffs.push(...d);
      // float32 scores: a difference carries about 1.2e-7 * |y| / eps of rounding.
      tolerance = 2e-2 * Math.abs(q.analytic) + (5e-7 * Math.max(1, Math.abs(zero))) / eps;
      return d.some((v) => Math.abs(v - q.analytic) <= tolerance);
    });
    if (!agrees) problems.push(`${q.what}: finite differences ${diffs.map((d) => d.toPrecision(4)).join(' / ')} vs gradient ${q.analytic.toPrecision(5)}`);
  });
  return problems.length ? problems.join('; ') : undefined;
}

function dot(a: Float32Array, b: Float32Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]! * b[i]!;
  return s;
}

function unit(n: number, i: number): Float32Array {
  const v = new Float32Array(n);
  v[i] = 1;
  return v;
}

test("timm's MaxPool2dSame: its -inf Pad is not listed as a layer, and naming it is refused", async () => {
  const model = Model.prepare(await readOnnxFile(loadFixture('variety_pad_same').onnxPath), { source: 'variety_pad_same' });
  const pads = model.graph.nodes.filter((n) => n.opType === 'Pad');
  assert.equal(pads.length, 4);
  const listed = new Set(model.layers.map((l) => l.tensor));
  assert.deepEqual(pads.map((n) => listed.has(n.outputs[0]!)), [true, false, true, true]);
  assert.throws(() => model.layer('/pool/Pad_output_0'), (e: Error) => e instanceof OptionError && /infinite value.*pooling output/.test(e.message));
  assert.equal(model.layer('pool').op, 'MaxPool');
});
