/**
 * The shape of the methods layer: one batched runner (progress in model evaluations,
 * cancellation), options checked per method, capabilities instead of names, an open registry
 * reaching the API, explainFile, and the CLI's explain, compare and eval.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Classifier } from '../../src/classifier.js';
import { AbortError, OptionError } from '../../src/errors.js';
import { presetSpec } from '../../src/image/preprocess.js';
import { createMethod, methodCapabilities, methodNames, registerMethod } from '../../src/methods/registry.js';
import { WEIGHTINGS } from '../../src/methods/weightings.js';
import { GradCam } from '../../src/methods/gradcam.js';
import { RsiGradCam } from '../../src/methods/rsi-grad-cam.js';
import { AblationCam } from '../../src/methods/ablation-cam.js';
import { Pipeline } from '../../src/methods/pipeline.js';
import { Model } from '../../src/engine/model.js';
import { A } from '../../src/engine/graph/attributes.js';
import { float32Tensor } from '../../src/engine/graph/tensor-data.js';
import type { Graph } from '../../src/engine/graph/types.js';
import { writeDataset } from '../../src/node/demo-io.js';
import { explainFile } from '../../src/node/explain-files.js';
import { FIXTURES, relError } from '../helpers/fixtures.js';
import { fixturePipeline, runtime } from '../helpers/methods.js';
import { runCli } from '../helpers/cli.js';
import { MaxGradCam, USER_METHOD, registerUserMethod } from '../helpers/user-method.js';

test('progress counts model evaluations (predictions included) and ends at its total', async () => {
  const { fx, pipeline, images } = await fixturePipeline('resnet');
  const layer = fx.meta.layers[1]!.modulePath;
  const channels = pipeline.model.layer(layer).shape[1] as number;
  const base = new Float32Array(images[0]!.length);
  const n = images.length;
  const cases: [string, (onProgress: (d: number, t: number) => void) => Promise<unknown>, number][] = [
    ['gradcam', (onProgress) => new GradCam(pipeline).explain(images, { layer, onProgress, internalBatchSize: 1 }), n + n],
    ['rsi-grad-cam', (onProgress) => new RsiGradCam(pipeline).explain(images, { layer, onProgress, steps: 6, baseline: base, internalBatchSize: 4 }), n + n * 7],
    ['ablationcam', (onProgress) => new AblationCam(pipeline).explain(images, { layer, onProgress, internalBatchSize: 5 }), n + n * (1 + channels)],
  ];
  for (const [name, run, expected] of cases) {
    const seen: [number, number][] = [];
    await run((d, t) => seen.push([d, t]));
    assert.ok(seen.length > 2, name);
    assert.ok(seen.every(([, t]) => t === expected), `${name}: totals ${[...new Set(seen.map((s) => s[1]))]} vs ${expected}`);
    assert.ok(seen.every(([d], i) => i === 0 || d > seen[i - 1]![0]), `${name}: progress only grows`);
    assert.equal(seen.at(-1)![0], expected, name);
  }
});

test('an AbortSignal cancels between batches with an AbortError', async () => {
  const { pipeline, images } = await fixturePipeline('vgg');
  const base = new Float32Array(images[0]!.length);
  const rsi = new RsiGradCam(pipeline);
  const before = new AbortController();
  before.abort();
  await assert.rejects(rsi.explain(images, { baseline: base, signal: before.signal }), (e: Error) => e instanceof AbortError && /cancelled after 0 of/.test(e.message));
  const during = new AbortController();
  let last = 0;
  await assert.rejects(
    rsi.explain(images, {
      baseline: base, steps: 40, internalBatchSize: 4, signal: during.signal,
      onProgress: (d) => {
        last = d;
        if (d >= 10) during.abort(new Error('user pressed stop'));
      },
    }),
    (e: Error) => e instanceof AbortError && /user pressed stop/.test(e.message),
  );
  // Stopped after the batch that crossed 10: not the 2 + 2 * 41 evaluations of the whole run.
  assert.ok(last >= 10 && last < 20, `stopped at ${last}`);
});

test('options are checked per method: a method refuses options it does not take', async () => {
  const { pipeline, images, model } = await fixturePipeline('vgg');
  const gc = new GradCam(pipeline);
  await assert.rejects(gc.explain(images, { steps: 20 } as never), (e: Error) => e instanceof OptionError && /gradcam does not take the option 'steps'/.test(e.message));
  // undefined counts as not given.
  await gc.explain(images, { steps: undefined } as never);
  const c = new Classifier(model, runtime, { source: 'vgg', inputSpec: presetSpec('imagenet', [32, 32]) });
  // @ts-expect-error Grad-CAM takes no steps: a type error as well as an OptionError.
  await assert.rejects(c.explain(images, { method: 'gradcam', steps: 20 }), /does not take the option 'steps'/);
  await assert.rejects(c.explain(images, { method: 'rsi-grad-cam', weighting: 'plain', bogus: 1 } as never), /rsi-grad-cam does not take the option 'bogus'.*its own options: steps, baseline, paths, rule, weighting/);
  // Capabilities, not names, tell callers what a method does.
  assert.deepEqual(
    Object.fromEntries(['rsi-grad-cam', 'gradcam', 'ablationcam'].map((m) => [m, c.method(m).capabilities.usesBaseline])),
    { 'rsi-grad-cam': true, gradcam: false, ablationcam: false },
  );
  assert.equal(c.method('rsi-grad-cam').capabilities.hasCompleteness, true);
  assert.equal(c.method().name, 'rsi-grad-cam');
});

test('capabilities are known without a model: labels and how to set each own option (for forms)', () => {
  assert.equal(methodCapabilities('gradcam++')!.label, 'Grad-CAM++');
  const rsi = methodCapabilities('rsi-grad-cam')!;
  assert.deepEqual(rsi.optionInfo!.steps, { description: 'path intervals m (m + 1 points)', type: 'integer', default: 50, min: 1, max: 10000, keywords: ['auto'] });
  // tolerance and maxEvaluations are described, as applying with steps 'auto' only.
  assert.deepEqual(rsi.optionInfo!.tolerance!.when, { steps: 'auto' });
  assert.deepEqual(rsi.optionInfo!.maxEvaluations!.when, { steps: 'auto' });
  assert.deepEqual(rsi.optionInfo!.weighting!.choices, WEIGHTINGS);
  assert.ok(Object.keys(rsi.optionInfo!).every((k) => rsi.options.includes(k)), 'every described option is taken');
  for (const name of methodNames()) if (name !== USER_METHOD) assert.ok(methodCapabilities(name), name);
  assert.throws(() => methodCapabilities('nope'), /unknown method 'nope'/);
});

test('path methods take their default baseline from the pipeline (the model preprocessing), not from the caller', async () => {
  const { model, images } = await fixturePipeline('resnet');
  const spec = presetSpec('unit', [32, 32]);
  const c = new Classifier(model, runtime, { source: 'resnet', inputSpec: spec });
  const [a] = await c.explain([images[0]!], { steps: 4 });
  // unit preprocessing: black is all zeros.
  const [b] = await createMethod('rsi-grad-cam', c.pipeline).explain([images[0]!], { steps: 4, baseline: new Float32Array(images[0]!.length) });
  assert.ok(relError(a!.weights, b!.weights) < 1e-6);
  assert.equal(a!.baselineScore, b!.baselineScore);
});

test('NaN and infinite inputs, baselines and path points are refused; an overflowing model output too', async () => {
  const { pipeline, images } = await fixturePipeline('resnet');
  const rsi = new RsiGradCam(pipeline);
  const base = new Float32Array(images[0]!.length);
  const bad = images[0]!.slice();
  bad[17] = NaN;
  await assert.rejects(rsi.explain([images[1]!, bad], { baseline: base }), (e: Error) => e instanceof OptionError && /image 1 holds NaN at index 17/.test(e.message));
  await assert.rejects(new GradCam(pipeline).explain([bad]), /image 0 holds NaN/);
  const infBase = base.slice();
  infBase[3] = -Infinity;
  await assert.rejects(rsi.explain(images, { baseline: infBase }), (e: Error) => e instanceof OptionError && /baseline holds -Infinity at index 3/.test(e.message));
  const path = [base, bad, images[0]!];
  await assert.rejects(rsi.explain([images[0]!], { paths: [path] }), /paths\[0\]\[1\] holds NaN at index 17/);
  // Finite but huge: the activations overflow and the probabilities would be NaN (and the
  // target silently class 0); refused instead.
  const huge = new Float32Array(images[0]!.length).fill(3e38);
  await assert.rejects(new GradCam(pipeline).explain([huge]), /outputs for image 0 are NaN or infinite/);
});

test('a layer with a 1x1 spatial map is refused, naming a layer before the pooling', async () => {
  const { pipeline, images } = await fixturePipeline('resnet');
  for (const m of ['gradcam', 'rsi-grad-cam', 'ablationcam']) {
    await assert.rejects(
      createMethod(m, pipeline).explain(images, { layer: 'avgpool', ...(m === 'rsi-grad-cam' ? { baseline: new Float32Array(images[0]!.length) } : {}) }),
      (e: Error) => e instanceof OptionError && /1x1 spatial map.*e\.g\. '\/layer2\/layer2\.1\/relu2\/Relu_output_0'/.test(e.message),
    );
  }
});

test('steps beyond 10,000 or not a safe integer are refused at once', async () => {
  const { pipeline, images } = await fixturePipeline('vgg');
  const rsi = new RsiGradCam(pipeline);
  const base = new Float32Array(images[0]!.length);
  for (const steps of [10001, 1e9, 1e20, 2.5, NaN, 0]) {
    await assert.rejects(rsi.explain(images, { steps, baseline: base }), (e: Error) => e instanceof OptionError && /steps must be an integer from 1 to 10000/.test(e.message), String(steps));
  }
});

test('memory: budgets must be positive and hold one item; an internalBatchSize over the budget or the free memory is refused', async () => {
  const { pipeline, model } = await fixturePipeline('resnet');
  const per = pipeline.bytesPerItem();
  const MiB = 1024 * 1024;
  for (const memoryBudgetMB of [0, -1, NaN, Infinity]) {
    assert.throws(() => pipeline.batchSize({ memoryBudgetMB }, 100), /memoryBudgetMB must be a positive number/);
  }
  assert.throws(() => pipeline.batchSize({ memoryBudgetMB: per / MiB / 2 }, 100), /less than one item of this model needs/);
  assert.equal(pipeline.batchSize({ memoryBudgetMB: (7.5 * per) / MiB }, 100), 7);
  assert.equal(pipeline.batchSize({ memoryBudgetMB: (7.5 * per) / MiB }, 3), 3);
  assert.equal(pipeline.batchSize({ memoryBudgetMB: (7.5 * per) / MiB, internalBatchSize: 7 }, 100), 7);
  assert.throws(() => pipeline.batchSize({ memoryBudgetMB: (7.5 * per) / MiB, internalBatchSize: 8 }, 100), /internalBatchSize 8 needs about \d+ MiB per batch, more than memoryBudgetMB .*; use at most 7/);
  assert.throws(() => pipeline.batchSize({ internalBatchSize: 2.5 }, 100), /internalBatchSize must be a positive integer/);
  // A runtime that reports little free memory lowers the default and refuses a larger batch.
  const tight = new (runtime.constructor as typeof import('../../src/engine/runtime/runtime.js').Runtime)(runtime.ort, { threads: 1, freeMemoryMB: () => (4.5 * per) / MiB });
  const p = new Pipeline(model, tight);
  assert.equal(p.batchSize({}, 100), 4);
  assert.throws(() => p.batchSize({ internalBatchSize: 5 }, 100), /more than the \d+ MiB of free memory; use at most 4/);
  assert.equal(p.batchSize({ internalBatchSize: 50 }, 4), 4, 'only the items there are count');
});

test("one item's bytes count the activations that take memory of their own, forward and backward", async () => {
  // x -> Conv -> Relu -> Conv -> Add(residual) -> Relu -> GlobalAveragePool -> Flatten -> Gemm (-> Softmax, added).
  const n = (opType: string, inputs: string[], outputs: string[]) => ({ name: `${opType}_${outputs[0]}`, opType, domain: '', inputs, outputs, attributes: {} });
  const graph: Graph = {
    name: 'tiny', opset: 17, otherOpsets: [], irVersion: 8, producerName: 'test', valueInfo: new Map(),
    inputs: [{ name: 'x', dataType: 'float32', shape: ['N', 3, 8, 8] }],
    outputs: [{ name: 'y', dataType: 'float32' }],
    initializers: new Map([
      ['w1', float32Tensor(new Array(4 * 3 * 9).fill(0.1), [4, 3, 3, 3])], ['w2', float32Tensor(new Array(4 * 4 * 9).fill(0.1), [4, 4, 3, 3])],
      ['wg', float32Tensor(new Array(8).fill(0.1), [2, 4])],
    ]),
    nodes: [
      { ...n('Conv', ['x', 'w1'], ['c1']), attributes: { pads: A.ints([1, 1, 1, 1]) } }, n('Relu', ['c1'], ['r1']),
      { ...n('Conv', ['r1', 'w2'], ['c2']), attributes: { pads: A.ints([1, 1, 1, 1]) } }, n('Add', ['c2', 'r1'], ['s']), n('Relu', ['s'], ['r2']),
      n('GlobalAveragePool', ['r2'], ['p']), n('Flatten', ['p'], ['f']), { ...n('Gemm', ['f', 'wg'], ['y']), attributes: { transB: A.int(1) } },
    ],
  };
  const model = Model.prepare(graph, { source: 'tiny' });
  // Counted: x 192, c1 256 (its Relu runs in place), c2 256, the Add 256 (two activations: its own
  // memory; the Relu after it in place), the pool 4, the logits 2 and the softmax 2. Flatten is a view.
  assert.equal(new Pipeline(model, runtime).bytesPerItem(), (192 + 256 + 256 + 256 + 4 + 2 + 2) * 4 * 2);
});

test('a method registered from outside src/ runs through explain and explainFile, and names are unique', async () => {
  registerUserMethod();
  assert.ok(methodNames().includes(USER_METHOD));
  // Registered without capabilities: known once an instance exists.
  assert.equal(methodCapabilities(USER_METHOD), undefined);
  assert.throws(() => registerMethod(USER_METHOD, (p) => new MaxGradCam(p)), /already registered/);
  assert.throws(() => registerMethod('two words', (p) => new MaxGradCam(p)), /must be letters/);
  const { fx, model, images } = await fixturePipeline('resnet');
  const c = new Classifier(model, runtime, { source: 'resnet', inputSpec: presetSpec('imagenet', [32, 32]) });
  const layer = fx.meta.layers[1]!;
  const targets = fx.meta.samples.map((s) => s.target);
  const res = await c.explain(images, { method: USER_METHOD, layer: layer.modulePath, targets });
  assert.equal(methodCapabilities(USER_METHOD)!.label, 'gradient CAM');
  res.forEach((r, i) => {
    // Against torch's gradients of the logit, from the fixture.
    const rec = fx.meta.samples[i]!.layers[layer.modulePath]!;
    const [ch, h, w] = rec.activation.shape.slice(1) as [number, number, number];
    const g = fx.read(rec.gradLogit);
    const expected = Array.from({ length: ch }, (_, k) => Math.max(...g.subarray(k * h * w, (k + 1) * h * w)));
    assert.ok(relError(r.weights, expected) < 1e-4, `weights error ${relError(r.weights, expected)}`);
    assert.equal(r.method, USER_METHOD);
  });
  const dir = await mkdtemp(path.join(os.tmpdir(), 'rsi-user-'));
  try {
    await writeDataset(dir, { count: 1, seed: 5, size: 32 });
    const f = await explainFile(c, path.join(dir, 'demo-00000.png'), { method: USER_METHOD, baseline: undefined });
    assert.equal(f.explanation.method, USER_METHOD);
    await assert.rejects(explainFile(c, path.join(dir, 'demo-00000.png'), { method: USER_METHOD, baseline: 'blur' }), /test-maxgrad does not take the option 'baseline'/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

const REGISTER = fileURLToPath(new URL('../helpers/register-user-method.ts', import.meta.url));

/** The real CLI with the user's module loaded first (`node --import my-method.js rsi-grad-cam ...`). */
const cliWithUserMethod = (args: string[]) => runCli(args, { imports: ['tsx', REGISTER] });

test("the CLI's explain, compare and eval take a method registered by the user's module", async () => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'rsi-user-cli-'));
  try {
    await writeDataset(dir, { count: 2, seed: 6, size: 32 });
    const model = ['--model', path.join(FIXTURES, 'resnet.onnx'), '--preprocess', 'imagenet'];
    const img = path.join(dir, 'demo-00000.png');
    const ex = await cliWithUserMethod(['explain', img, ...model, '--method', USER_METHOD, '--raw', '--steps', '5', '--out', dir]);
    assert.equal(ex.code, 0, ex.stderr);
    assert.match(ex.stderr, /note: --steps does not apply to test-maxgrad; ignored/);
    const j = JSON.parse(await readFile(path.join(dir, `demo-00000.${USER_METHOD}.json`), 'utf8'));
    assert.equal(j.method, USER_METHOD);
    assert.equal(j.steps, undefined);
    const help = await cliWithUserMethod(['explain', '--help']);
    assert.match(help.stdout, new RegExp(`--method <name>[^]*${USER_METHOD}`));
    const cmp = await cliWithUserMethod(['compare', img, ...model, '--methods', `gradcam,${USER_METHOD}`, '--tile', '64', '--out', dir]);
    assert.equal(cmp.code, 0, cmp.stderr);
    assert.match(cmp.stdout, /2 methods x 1 layers/);
    const ev = await cliWithUserMethod([
      'eval', ...model, '--annotations', path.join(dir, 'annotations.json'), '--methods', `${USER_METHOD},rsi-grad-cam`, '--steps', '4',
      '--metrics', 'deletion,completeness', '--curve-steps', '4', '--completeness-steps', '4', '--out', path.join(dir, 'eval'),
    ]);
    assert.equal(ev.code, 0, ev.stderr);
    const rows = (await readFile(path.join(dir, 'eval', 'summary.csv'), 'utf8')).trim().split('\n').slice(1).map((l) => l.split(','));
    const has = (method: string, metric: string) => rows.some((r) => r[0] === method && r[2] === metric);
    assert.ok(has(USER_METHOD, 'deletion') && has('rsi-grad-cam', 'completeness@4'), rows.map((r) => `${r[0]} ${r[2]}`).join('; '));
    assert.ok(!has(USER_METHOD, 'completeness@4'), 'completeness only for methods that report it');
    // Without the user's module, the name is unknown.
    const plain = await runCli(['explain', img, ...model, '--method', USER_METHOD, '--out', dir]);
    assert.equal(plain.code, 1);
    assert.match(plain.stderr, /--method: unknown method 'test-maxgrad'/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
