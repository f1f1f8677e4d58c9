/**
 * Two eval processes on one --out folder (say, two method sets side by side): each appends
 * to results.jsonl, and the summary a run writes at its end covers every result the folder
 * holds then, not only those the run read when it started. Here the other process's record
 * is appended while the run explains (by a user method loaded with --import), so the test
 * is deterministic.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeDataset } from '../../src/node/demo-io.js';
import { runCli } from '../helpers/cli.js';
import { FIXTURES } from '../helpers/fixtures.js';

const REGISTER = fileURLToPath(new URL('../helpers/register-appending-method.ts', import.meta.url));

test("eval's summary includes results another process appended to the folder during the run", async () => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'rsi-eval-shared-'));
  try {
    await writeDataset(dir, { count: 2, seed: 6, size: 32 });
    const out = path.join(dir, 'eval');
    const { code, stderr } = await runCli(
      ['eval', '--model', path.join(FIXTURES, 'resnet.onnx'), '--preprocess', 'imagenet', '--annotations', path.join(dir, 'annotations.json'),
        '--methods', 'test-append', '--metrics', 'pointing', '--out', out],
      { imports: ['tsx', REGISTER], env: { RSI_TEST_APPEND_TO: path.join(out, 'results.jsonl'), RSI_TEST_APPEND_IMAGE: 'demo-00001.png' } },
    );
    assert.equal(code, 0, stderr);
    const results = (await readFile(path.join(out, 'results.jsonl'), 'utf8')).trim().split('\n').map((l) => JSON.parse(l) as { combos: object });
    assert.ok(results.some((r) => 'foreign|some_layer' in r.combos), 'the other process\'s line is in results.jsonl');
    const summary = JSON.parse(await readFile(path.join(out, 'summary.json'), 'utf8')) as { rows: { method: string; metric: string; n: number; mean: number }[] };
    const row = (method: string) => summary.rows.find((r) => r.method === method && r.metric === 'pointing');
    assert.equal(row('test-append')?.n, 2, JSON.stringify(summary.rows));
    assert.deepEqual([row('foreign')?.n, row('foreign')?.mean], [1, 1], JSON.stringify(summary.rows));
    assert.match(await readFile(path.join(out, 'summary.md'), 'utf8'), /foreign/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
