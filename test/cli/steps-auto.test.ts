/** `--steps auto`, `--tolerance`, `--max-evaluations` end to end: the real binary on the demo CNN and a demo image. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { runCli } from '../helpers/cli.js';
import { DEMO_DIR } from '../../src/node/demo-run.js';

const MODEL = path.join(DEMO_DIR, 'demo-cnn.onnx');
const IMAGE = path.join(DEMO_DIR, 'images', 'demo-00001.png');
const json = (out: string) => JSON.parse(readFileSync(path.join(out, 'demo-00001.rsi-grad-cam.json'), 'utf8'));

test('explain --steps auto: the summary and the raw JSON report evaluations, estimated error and completeness', async () => {
  const out = mkdtempSync(path.join(tmpdir(), 'rsi-auto-'));
  const r = await runCli(['explain', IMAGE, '--model', MODEL, '--steps', 'auto', '--tolerance', '0.02', '--out', out, '--raw']);
  assert.equal(r.code, 0, r.stderr);
  const j = json(out);
  assert.match(r.stdout, new RegExp(`\\[auto: ${j.evaluations} evaluations, estimated error [0-9.e-]+\\]`));
  assert.doesNotMatch(r.stderr, /note:/);
  assert.equal(j.tolerance, 0.02);
  assert.equal(j.evaluationCapReached, false);
  assert.ok(j.evaluations > 5 && j.steps === j.evaluations - 1);
  assert.ok(j.estimatedError <= 0.02 && j.estimatedError === Math.max(j.estimatedHeatmapError, j.estimatedCompletenessError));
  assert.equal(typeof j.completenessError, 'number');
  assert.equal(typeof j.relativeCompletenessError, 'number');
});

test('explain --steps auto at the evaluation cap says so, on stderr and in the JSON', async () => {
  const out = mkdtempSync(path.join(tmpdir(), 'rsi-auto-'));
  const r = await runCli(['explain', IMAGE, '--model', MODEL, '--steps', 'auto', '--tolerance', '0.0001', '--max-evaluations', '7', '--out', out, '--raw']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /note: .*demo-00001\.png: --steps auto reached --max-evaluations \(7\) with estimated error [0-9.e-]+ above --tolerance 0\.0001/);
  const j = json(out);
  assert.equal(j.evaluationCapReached, true);
  assert.ok(j.evaluations <= 7);
});

test('fixed steps report their evaluations too; auto options without --steps auto, or out of range, are refused', async () => {
  const out = mkdtempSync(path.join(tmpdir(), 'rsi-auto-'));
  const ok = await runCli(['explain', IMAGE, '--model', MODEL, '--steps', '8', '--out', out, '--raw']);
  assert.equal(ok.code, 0, ok.stderr);
  const j = json(out);
  assert.equal(j.evaluations, 9);
  assert.equal(typeof j.estimatedError, 'number');
  assert.equal(j.tolerance, undefined);
  for (const [args, message] of [
    [['--tolerance', '0.05'], /tolerance applies only with steps 'auto'/],
    [['--steps', 'fast'], /--steps must be an integer >= 1 and <= 10000, got 'fast'/],
    [['--steps', 'auto', '--tolerance', '2'], /--tolerance must be a number in \(0, 1\], got '2'/],
    [['--steps', 'auto', '--max-evaluations', '3'], /--max-evaluations must be an integer >= 5 and <= 10001, got '3'/],
  ] as const) {
    const r = await runCli(['explain', IMAGE, '--model', MODEL, '--out', out, ...args]);
    assert.equal(r.code, 1, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, message);
  }
});
