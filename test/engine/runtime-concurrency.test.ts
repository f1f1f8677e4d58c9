/**
 * The runtime's session cache under concurrent calls (real onnxruntime sessions): sessions a
 * call uses are leased, never released under it; the cache grows past its size while every
 * session is busy and trims idle ones afterwards; dispose() during a call ends that call with
 * RuntimeDisposedError and leaves the runtime usable.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { loadModel } from '../../src/node/load-model.js';
import { RsiGradCamError, RuntimeDisposedError } from '../../src/errors.js';
import type { ExplainOptions } from '../../src/classifier.js';
import type { Explanation } from '../../src/methods/types.js';
import type { MethodName } from '../../src/methods/registry.js';
import { FIXTURES, loadFixture } from '../helpers/fixtures.js';

const METHODS: MethodName[] = ['rsi-grad-cam', 'gradcam', 'gradcam++', 'xgradcam', 'layercam', 'hirescam', 'ablationcam'];
const MAX_SESSIONS = 4;

async function resnet() {
  const classifier = await loadModel(path.join(FIXTURES, 'resnet.onnx'), { preprocess: 'unit', runtimeOptions: { threads: 1, maxSessions: MAX_SESSIONS } });
  const fx = loadFixture('resnet');
  const images = fx.meta.samples.map((s) => fx.read(s.input));
  return { classifier, images };
}

/** What must agree between a concurrent and a sequential run of the same call. */
function summary(e: Explanation) {
  return { method: e.method, layer: e.layer, target: e.target, score: e.score, cam: e.cam, heatmap: e.heatmap, weights: e.weights, probabilities: e.probabilities };
}

test('8 concurrent calls at 6 layers with mixed methods, 5 rounds: all resolve and equal the same calls run one by one', async () => {
  const { classifier, images } = await resnet();
  const runtime = classifier.runtime;
  const spatial = classifier.layers().filter((l) => l.shape.length === 4 && (l.shape[2] as number) * (l.shape[3] as number) > 1);
  assert.ok(spatial.length >= 6, `the fixture has ${spatial.length} spatial layers`);
  const layers = Array.from({ length: 6 }, (_, i) => spatial[Math.floor((i * (spatial.length - 1)) / 5)]!.tensor);
  assert.equal(new Set(layers).size, 6);

  let maxCached = 0;
  let maxLeased = 0;
  const watch = () => {
    const s = runtime.stats;
    maxCached = Math.max(maxCached, s.cached);
    maxLeased = Math.max(maxLeased, s.leased);
  };
  const callsOfRound = (round: number): ExplainOptions[] =>
    Array.from({ length: 8 }, (_, i) => {
      const method = METHODS[(i + round) % METHODS.length]!;
      // Path methods take steps; the others refuse options they do not take.
      const steps = classifier.method(method).capabilities.options.includes('steps') ? { steps: 6 } : {};
      return { method, layer: layers[(i + 2 * round) % layers.length], ...steps, onProgress: watch } as ExplainOptions;
    });

  for (let round = 0; round < 5; round++) {
    const calls = callsOfRound(round);
    const concurrent = await Promise.all(calls.map((c) => classifier.explain(images, c)));
    assert.equal(runtime.stats.leased, 0, 'no lease outlives its call');
    assert.ok(runtime.stats.cached <= MAX_SESSIONS, `idle sessions trimmed to ${MAX_SESSIONS}: ${runtime.stats.cached} cached`);
    for (let i = 0; i < calls.length; i++) {
      const alone = await classifier.explain(images, calls[i]);
      assert.equal(concurrent[i]!.length, images.length);
      concurrent[i]!.forEach((e, k) => {
        assert.equal(e.method, calls[i]!.method);
        assert.equal(e.layer, calls[i]!.layer);
        assert.ok(e.heatmap.every(Number.isFinite));
        assert.deepEqual(summary(e), summary(alone[k]!), `round ${round}, call ${i} (${calls[i]!.method} at ${calls[i]!.layer}), image ${k}`);
      });
    }
  }
  // While every call held its sessions, the cache went past its size rather than failing.
  assert.ok(maxLeased > MAX_SESSIONS, `at most ${maxLeased} sessions were leased at once`);
  assert.ok(maxCached > MAX_SESSIONS);
  await classifier.dispose();
  assert.equal(runtime.stats.cached, 0);
});

test('dispose() during a running call ends it with RuntimeDisposedError; the runtime stays usable', async () => {
  const { classifier, images } = await resnet();
  let disposing: Promise<void> | undefined;
  const long = classifier.explain([images[0]!], {
    method: 'rsi-grad-cam',
    steps: 400,
    internalBatchSize: 1,
    onProgress: (done) => {
      if (done >= 3 && !disposing) disposing = classifier.dispose();
    },
  });
  await assert.rejects(long, (e: Error) => e instanceof RuntimeDisposedError && e instanceof RsiGradCamError && /disposed while this call was running/.test(e.message));
  assert.ok(disposing, 'dispose was called during the call');
  await disposing;
  assert.deepEqual(classifier.runtime.stats, { cached: 0, leased: 0 });
  // Concurrent calls at dispose time all end with the same error, none with another one.
  let second: Promise<void> | undefined;
  const many = [0, 1, 2].map((i) =>
    classifier.explain([images[0]!], {
      method: (['rsi-grad-cam', 'gradcam', 'ablationcam'] as const)[i],
      ...(i === 0 ? { steps: 400 } : {}), // the others take no steps
      internalBatchSize: 1,
      onProgress: () => {
        second ??= classifier.dispose();
      },
    }),
  );
  const settled = await Promise.allSettled(many);
  await second;
  for (const s of settled) {
    if (s.status === 'rejected') assert.ok(s.reason instanceof RuntimeDisposedError, `rejected with ${s.reason}`);
  }
  assert.ok(settled.some((s) => s.status === 'rejected'), 'the long call was cut short');
  // Fresh sessions after dispose: the same call now completes.
  const [e] = await classifier.explain([images[0]!], { method: 'gradcam' });
  assert.ok(e!.heatmap.every(Number.isFinite));
  await classifier.dispose();
});
