/**
 * The model fuzzer, bounded for CI (seconds): fast-check generates mutated ONNX and
 * TF.js fixture models (test/fuzz/mutations.ts), each is loaded and explained through the
 * real path (loadModel, layers, Grad-CAM and RSI-Grad-CAM on a PNG via explainFile) in a
 * child process with a per-case timeout. Every case must end as a clear user error (a typed
 * error, one line naming the model's file) or a plausible explanation (finite, right
 * shapes) - never an internal error, a crash, a hang, a NaN result, or onnxruntime's own log
 * on stderr. A few cases also go through the real CLI to check exit codes end to end.
 *
 * `npx tsx tools/fuzz.ts --runs 2000` runs the same fuzzer at any size and counts outcomes.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import fc from 'fast-check';
import { runCli } from '../helpers/cli.js';
import { writeModel, writeTestImage } from './evaluate.js';
import { SEEDS, caseArbitrary, describe, mutate, type FuzzCase } from './mutations.js';
import { CaseRunner } from './runner.js';

// Small enough for seconds in CI (about 20 ms a case); tools/fuzz.ts runs thousands.
const RUNS = 300;
const SEED = 20240611;

let work: string;
let image: string;
const runner = new CaseRunner(120_000);

before(async () => {
  work = mkdtempSync(path.join(os.tmpdir(), 'rsi-fuzz-test-'));
  image = path.join(work, 'photo.png');
  await writeTestImage(image);
});

after(async () => {
  await runner.close();
  rmSync(work, { recursive: true, force: true });
});

async function run(c: FuzzCase) {
  const dir = path.join(work, 'case');
  return runner.run(writeModel(mutate(c), dir), dir, image);
}

test('every unmutated fixture loads and explains with finite, well-shaped results', async () => {
  for (const seed of SEEDS) {
    const r = await run({ seed, mutations: [] });
    assert.equal(r.status, 'ok', `${seed}: ${r.status}: ${r.message}\n${r.stack ?? ''}`);
    assert.equal(r.stderr.trim(), '', `${seed} wrote to stderr`);
  }
});

test(`${RUNS} mutated models: a clear error or a plausible explanation, never an internal error, crash, hang or NaN`, async () => {
  const counts = new Map<string, number>();
  await fc.assert(
    fc.asyncProperty(caseArbitrary, async (c) => {
      const r = await run(c);
      counts.set(r.status, (counts.get(r.status) ?? 0) + 1);
      const what = `${describe(c)}\n  -> ${r.status} (${r.error ?? ''} at ${r.stage ?? ''}): ${r.message}\n${r.stack ?? ''}`;
      assert.ok(r.status === 'ok' || r.status === 'user-error', what);
      assert.equal(r.stderr.trim(), '', `stderr written: ${r.stderr}\n${what}`);
    }),
    { seed: SEED, numRuns: RUNS },
  );
  // The mutations reach both ends: most models are refused, some still explain.
  assert.ok((counts.get('user-error') ?? 0) > RUNS / 2, JSON.stringify([...counts]));
  assert.ok((counts.get('ok') ?? 0) > RUNS / 50, JSON.stringify([...counts]));
});

/** Cases tools/fuzz.ts found (seed and run in the comment), each once an internal error. */
const FOUND: [string, FuzzCase, RegExp][] = [
  [
    // --runs 10000 --seed 2026, case 8598: onnxruntime's "Unrecognized attribute: axes for operator ReduceMean", exit 2.
    'tf2onnx graph declared opset 18 with ReduceMean axes as an attribute',
    { seed: 'onnx:tf2onnx_transposes', mutations: [{ kind: 'graph', op: 'opset', pick: 0.21327869035303593, value: 0.5719685088843107 }] },
    /node '[^']+' \(ReduceMean\): has an attribute 'axes', which ReduceMean takes as an input since opset 18/,
  ],
  [
    // --runs 10000 --seed 7, case 8170: onnxruntime's "Type 'tensor(int64)' of input parameter (..._scale) of operator (QLinearAdd) ... is invalid", exit 2.
    'a com.microsoft QLinearAdd whose output scale became int64',
    { seed: 'onnx:quantized/qoperator', mutations: [{ kind: 'graph', op: 'initializerType', pick: 0.532540824264288, value: 0.00019307155162096024 }] },
    /node '[^']+' \(QLinearAdd\): scale \('[^']+'\) is int64; quantization scales are float32$/,
  ],
];

test('cases the fuzzer found at larger sizes stay clear errors', async () => {
  for (const [what, c, pattern] of FOUND) {
    const r = await run(c);
    assert.equal(r.status, 'user-error', `${what}: ${r.status}: ${r.message}`);
    assert.match(r.message, pattern, what);
  }
});

/** A case through the CLI: `explain` with Grad-CAM. */
async function cli(c: FuzzCase) {
  const dir = path.join(work, `cli-${c.seed.replace(':', '-')}-${c.mutations.map((m) => (m.kind === 'graph' || m.kind === 'json' ? m.op : m.kind)).join('-')}`);
  const entry = writeModel(mutate(c), dir);
  const r = await runCli(['explain', image, '--model', entry, '--preprocess', 'imagenet', '--method', 'gradcam', '--out', path.join(dir, 'out')]);
  return { ...r, entry };
}

const graph = (op: string, pick = 0.5, value = 0.5) => ({ kind: 'graph' as const, op: op as never, pick, value });
const json = (op: string, pick = 0.5, value = 0.5) => ({ kind: 'json' as const, op: op as never, pick, value });

test('through the CLI: malformed models exit 1 with one line naming the file and what is wrong; a sound one exits 0', async () => {
  const refused: [FuzzCase, RegExp][] = [
    [{ seed: 'onnx:resnet', mutations: [graph('unknownOp', 0.3, 0)] }, /node '[^']+' has op 'FuzzOp' which rsi-grad-cam does not support/],
    [{ seed: 'onnx:vgg', mutations: [graph('badGroup', 0.5, 0.4)] }, /node '[^']+' \(Conv\): the input \[.*\] has \d+ channels but the weight \[.*\] with group 2 takes/],
    [{ seed: 'onnx:vgg', mutations: [graph('absurdInputShape', 0.5, 0.8)] }, /the input 'input' has shape \[batch, 100000, 100000, 100000\]; rsi-grad-cam accepts images of at most/],
    [{ seed: 'onnx:densenet', mutations: [graph('cycle', 0.3, 0.5)] }, /is on a cycle/],
    [{ seed: 'onnx:mobilenetv2', mutations: [{ kind: 'truncate', file: 0, at: 0.5, size: 0 }] }, /truncated/],
    [{ seed: 'tfjs:small', mutations: [json('danglingInbound', 0.5)] }, /layer '[^']+' cannot be connected: there is no layer 'fuzz_no_such_layer'/],
  ];
  for (const [c, pattern] of refused) {
    const r = await cli(c);
    const lines = r.stderr.trim().split('\n');
    assert.equal(r.code, 1, `${describe(c)}: exit ${r.code}\n${r.stderr}`);
    assert.equal(lines.length, 1, `${describe(c)}: one line expected, got:\n${r.stderr}`);
    assert.ok(lines[0]!.startsWith(`error: ${r.entry}: `), `${describe(c)}: names the file: ${lines[0]}`);
    assert.match(lines[0]!, pattern, describe(c));
  }
  const ok = await cli({ seed: 'tfjs:small', mutations: [] });
  assert.equal(ok.code, 0, ok.stderr);
});
