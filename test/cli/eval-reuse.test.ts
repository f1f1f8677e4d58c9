/**
 * The eval runner's shared work: class sensitivity explains the target, the runner-up and a
 * random class in one call, and the sanity check reuses the target's maps from the metrics
 * phase. The values are those of the plain computation (separate calls per target, randomised
 * classifiers built here), and a run resumed after its metrics were stored, or interrupted
 * inside a chunk, ends with the same results.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Classifier } from '../../src/classifier.js';
import { Model } from '../../src/engine/model.js';
import { boxToModel } from '../../src/image/fit.js';
import { classSensitivity } from '../../src/metrics/class-sensitivity.js';
import { energyPointingGame } from '../../src/metrics/energy-pointing.js';
import { parameterLayers, randomizeTopLayers, stageCounts } from '../../src/metrics/sanity.js';
import { spearman } from '../../src/metrics/spearman.js';
import { writeDataset } from '../../src/node/demo-io.js';
import { boxesToPhoto, readAnnotations } from '../../src/node/eval/annotations.js';
import { readResults, type ImageRecord } from '../../src/node/eval/results.js';
import { runEval, type EvalRunOptions } from '../../src/node/eval/runner.js';
import { preparePhoto } from '../../src/node/explain-files.js';
import { loadModel } from '../../src/node/load-model.js';
import { createNodeRuntime } from '../../src/node/runtime.js';
import { REPO_ROOT } from '../helpers/fixtures.js';

const DEMO = path.join(REPO_ROOT, 'assets', 'demo', 'demo-cnn.onnx');
const METHODS = ['gradcam', 'rsi-grad-cam', 'scorecam', 'rise', 'occlusion', 'ablationcam'];
const STAGES = 2;

/** Equal up to the file's six significant digits (and 1e-6 where batching reorders sums). */
function close(got: number, want: number, what: string): void {
  const rounded = Number(want.toPrecision(6));
  assert.ok(Math.abs(got - rounded) <= 1e-6 + 1e-9, `${what}: ${got} vs ${want}`);
}

/** Every number of two results files' records, pairwise within 1e-6. */
function sameRecords(a: Map<string, ImageRecord>, b: Map<string, ImageRecord>): void {
  assert.deepEqual([...a.keys()].sort(), [...b.keys()].sort());
  const walk = (x: unknown, y: unknown, at: string): void => {
    if (typeof x === 'number' && typeof y === 'number') return close(x, y, at);
    if (x && typeof x === 'object') {
      assert.deepEqual(Object.keys(x).sort(), Object.keys(y as object).sort(), at);
      for (const k of Object.keys(x)) walk((x as Record<string, unknown>)[k], (y as Record<string, unknown>)[k], `${at}.${k}`);
      return;
    }
    assert.equal(x, y, at);
  };
  for (const [k, r] of a) walk(r, b.get(k), k);
}

test('eval reuses its maps: one call for the three class-sensitivity targets, no original map in the sanity check; the values are the plain computation\'s', async () => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'rsi-eval-reuse-'));
  const classifier = await loadModel(DEMO);
  try {
    await writeDataset(dir, { count: 3, seed: 6, size: 96 });
    const annotations = await readAnnotations(path.join(dir, 'annotations.json'));
    const layer = classifier.model.layer().tensor;
    const methodOptions: Record<string, Record<string, unknown>> = {
      gradcam: { layer },
      'rsi-grad-cam': { layer, steps: 4, baseline: classifier.blackBaseline() },
      scorecam: { layer },
      ablationcam: { layer },
      rise: { masks: 40 },
      occlusion: { window: 16, stride: 16 },
    };
    const options = (out: string, metrics: EvalRunOptions['metrics'], onProgress?: EvalRunOptions['onProgress']): EvalRunOptions => ({
      annotations, methods: METHODS, layers: [layer], metrics, out, target: 'label',
      explain: { baseline: 'black', steps: 4, masks: 40, window: 16, stride: 16 },
      curveSteps: 8, deletionBaseline: 'black', insertionStart: 'blur', blurSigma: 5, pointingTolerance: 15, roadPercentiles: [50],
      roadNoise: 0.01, completenessSteps: [4], sanityStages: STAGES, seed: 0, sanityChunk: 2, onProgress,
    });
    // The original classifier's explain calls, as (images, targets) of each.
    const calls: { images: number; targets: unknown }[] = [];
    const explain = classifier.explain.bind(classifier);
    classifier.explain = ((inputs: readonly Float32Array[], o: { targets?: unknown } = {}) => {
      calls.push({ images: inputs.length, targets: o.targets });
      return explain(inputs, o as Parameters<typeof explain>[1]);
    }) as typeof classifier.explain;
    const metrics: EvalRunOptions['metrics'] = ['energy', 'class-sensitivity', 'sanity'];

    const whole = path.join(dir, 'whole');
    const progress: { done: number; total: number; label: string }[] = [];
    await runEval(classifier, options(whole, metrics, (_phase, done, total, label) => progress.push({ done, total, label })));
    const results = await readResults(path.join(whole, 'results.jsonl'));

    // One call per image and method, with the three targets; no original map in the sanity check.
    assert.equal(calls.length, 3 * METHODS.length);
    for (const c of calls) assert.equal(c.images, 3);
    assert.ok(!progress.some((p) => p.label.includes('original')));
    // Progress counts every explanation of the run (3 images x 6 methods, on the model and at each stage) in one count.
    const total = 3 * METHODS.length * (1 + STAGES);
    assert.deepEqual(progress.map((p) => p.done), Array.from({ length: total + 1 }, (_, i) => i));
    assert.ok(progress.every((p) => p.total === total));

    // The plain computation: a call for the target, one for the two other classes; randomised classifiers built here.
    const graph = classifier.model.graph;
    const layers = parameterLayers(graph);
    const counts = stageCounts(layers.length, STAGES);
    const randomised = counts.map((count) => new Classifier(Model.prepare(randomizeTopLayers(graph, layers, count, 0), { source: 'randomised', logits: classifier.model.logits }), createNodeRuntime({ threads: 1 }), classifier.info));
    try {
      for (const img of annotations.images) {
        const prepared = await preparePhoto(classifier, img.path);
        const x = prepared.input;
        const g = prepared.geometry;
        const boxes = boxesToPhoto(img.boxes, annotations.imageSize, g.photoWidth, g.photoHeight).map((b) => boxToModel(b, g));
        const [p] = await classifier.pipeline.predict([x], 1);
        const rec = results.get(img.file)!;
        assert.equal(rec.target, img.label);
        for (const method of METHODS) {
          const combo = rec.combos[`${method}|${method === 'rise' || method === 'occlusion' ? classifier.model.inputName : layer}`]!;
          const [second, random] = combo.classSensitivity!.classes;
          // The runner-up, independently; the random class is another one.
          const runnerUp = [...p!.probabilities.keys()].filter((c) => c !== img.label).sort((a, b) => p!.probabilities[b]! - p!.probabilities[a]!)[0];
          assert.equal(second, runnerUp);
          assert.ok(random !== img.label && random !== second);
          const o = { method, ...methodOptions[method] };
          const [e] = await explain([x], { ...o, targets: [img.label] });
          const others = await explain([x, x], { ...o, targets: [second, random] });
          const what = `${img.file} ${method}`;
          close(combo.energy!, energyPointingGame(e!.heatmap, 96, 96, boxes), `${what} energy`);
          others.forEach((other, i) => close(combo.classSensitivity!.rho[i]!, classSensitivity(e!.heatmap, other.heatmap), `${what} class sensitivity ${i}`));
          assert.deepEqual(combo.sanity!.counts, counts);
          for (const [s, r] of randomised.entries()) {
            const [m] = await r.explain([x], { ...o, targets: [img.label] });
            const rho = spearman(e!.heatmap, m!.heatmap);
            close(combo.sanity!.rho[s]!, Number.isFinite(rho) ? rho : 0, `${what} sanity stage ${s + 1}`);
          }
        }
      }
    } finally {
      for (const r of randomised) await r.dispose();
    }

    // Metrics stored by an earlier run: the sanity check explains the originals itself, to the same values.
    const later = path.join(dir, 'later');
    await runEval(classifier, options(later, ['energy', 'class-sensitivity']));
    calls.length = 0;
    const labels: string[] = [];
    const resumed = await runEval(classifier, options(later, metrics, (_phase, _done, _total, label) => labels.push(label)));
    assert.equal(resumed.computed, 3);
    assert.equal(calls.length, 3 * METHODS.length);
    for (const c of calls) assert.equal(c.images, 1);
    assert.equal(labels.filter((l) => l.includes('original model')).length, 3 * METHODS.length);
    sameRecords(await readResults(path.join(later, 'results.jsonl')), results);

    // Interrupted in the second chunk's sanity check (after its metrics were appended): the rerun completes it.
    const cut = path.join(dir, 'cut');
    const third = annotations.images[2]!.file;
    const stop = new Error('interrupted');
    await assert.rejects(runEval(classifier, options(cut, metrics, (_phase, _done, _total, label) => {
      if (label.startsWith(third) && label.includes('stage')) throw stop;
    })), (e) => e === stop);
    const kept = await readResults(path.join(cut, 'results.jsonl'));
    assert.equal(kept.size, 3);
    assert.ok(kept.get(third)!.combos[`gradcam|${layer}`]!.energy !== undefined && kept.get(third)!.combos[`gradcam|${layer}`]!.sanity === undefined);
    await runEval(classifier, options(cut, metrics));
    sameRecords(await readResults(path.join(cut, 'results.jsonl')), results);
  } finally {
    await classifier.dispose();
    await rm(dir, { recursive: true, force: true });
  }
});
