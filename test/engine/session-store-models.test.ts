/**
 * The session store on every ONNX fixture model (torch exports, tf2onnx patterns, old
 * opsets, quantized graphs): onnxruntime's saved optimised graph must load again and give the
 * same numbers bit for bit as a session built from scratch, for a gradient method and a path
 * method. A graph whose saved form does not load is rebuilt (counted), never a failure.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadModel } from '../../src/node/load-model.js';
import { createNodeRuntime } from '../../src/node/runtime.js';
import { DiskSessionStore } from '../../src/node/session-store.js';
import { FIXTURES, REPO_ROOT } from '../helpers/fixtures.js';

const onnxFiles = (dir: string): string[] =>
  readdirSync(dir).flatMap((n) => {
    const p = path.join(dir, n);
    return statSync(p).isDirectory() ? onnxFiles(p) : n.endsWith('.onnx') ? [p] : [];
  });
const MODELS = [path.join(REPO_ROOT, 'assets/demo/demo-cnn.onnx'), ...onnxFiles(FIXTURES).sort()];

/** Deterministic values in [0, 1). */
function input(size: number): Float32Array {
  let s = 11;
  return Float32Array.from({ length: size }, () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  });
}

type Outcome = { cams: Float32Array[]; weights: (Float32Array | undefined)[] } | { error: string };

async function explainAll(file: string, store: DiskSessionStore | undefined): Promise<Outcome> {
  try {
    const classifier = await loadModel(file, { runtime: createNodeRuntime({ threads: 1, sessionStore: store, sessionCache: store !== undefined }) });
    try {
      const x = input(classifier.pipeline.imageSize());
      const [g] = await classifier.explain([x], { method: 'gradcam' });
      const [r] = await classifier.explain([x], { method: 'rsi-grad-cam', steps: 3, baseline: new Float32Array(x.length) });
      return { cams: [g!.cam, r!.cam], weights: [g!.weights, r!.weights] };
    } finally {
      await classifier.runtime.dispose();
    }
  } catch (e) {
    return { error: (e as Error).message };
  }
}

test('every ONNX fixture: stored sessions load again and give the same cams and weights bit for bit', async () => {
  assert.ok(MODELS.length > 10, `${MODELS.length} models`);
  const dir = mkdtempSync(path.join(os.tmpdir(), 'rsi-sessions-models-'));
  const rebuilt: string[] = [];
  let compared = 0;
  try {
    for (const file of MODELS) {
      const name = path.relative(REPO_ROOT, file);
      const plain = await explainAll(file, undefined);
      const first = new DiskSessionStore({ dir });
      const miss = await explainAll(file, first);
      const second = new DiskSessionStore({ dir });
      const hit = await explainAll(file, second);
      assert.deepEqual(miss, plain, `${name}: first call with the store`);
      assert.deepEqual(hit, plain, `${name}: second call with the store`);
      if ('error' in plain) continue; // refused the same way with and without the store
      compared++;
      assert.equal(first.stats.unsaved, 0, `${name}: not stored`);
      assert.equal(second.stats.misses, 0, `${name}: the second call found nothing`);
      if (second.stats.rebuilt) rebuilt.push(name);
      assert.ok(second.stats.hits > 0, `${name}: ${JSON.stringify(second.stats)}`);
    }
    assert.ok(compared > 10, `${compared} models compared`);
    // Every fixture's saved graph loads today; a future onnxruntime whose saved form does not
    // load shows up here (still correct, but slow: every call rebuilds).
    assert.deepEqual(rebuilt, []);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
