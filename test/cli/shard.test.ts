/**
 * Sharding: `--shard K/N` (K from the command line, a Kubernetes Indexed Job or a Slurm array)
 * splits the sorted inputs; `eval merge` makes the shards' folders the folder one process
 * would have written, and refuses shards that do not make one run.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { OptionError } from '../../src/errors.js';
import { mergeShards } from '../../src/node/eval/shards.js';
import { expandInputs } from '../../src/node/input-files.js';
import { readResults } from '../../src/node/eval/results.js';
import { parseShard, shardFolder, shardItems } from '../../src/node/shard.js';
import { runCli } from '../helpers/cli.js';
import { REPO_ROOT } from '../helpers/fixtures.js';

const DEMO = path.join(REPO_ROOT, 'assets/demo');

test('--shard K/N and auto/N: K from the command line, $JOB_COMPLETION_INDEX, or the Slurm array (from its first index)', () => {
  assert.deepEqual(parseShard('2/5', {}), { index: 2, count: 5 });
  assert.deepEqual(parseShard(' 0 / 1 ', {}), { index: 0, count: 1 });
  assert.deepEqual(parseShard('auto/4', { JOB_COMPLETION_INDEX: '3' }), { index: 3, count: 4 });
  // The Kubernetes index wins over Slurm's when both are set.
  assert.deepEqual(parseShard('auto/4', { JOB_COMPLETION_INDEX: '1', SLURM_ARRAY_TASK_ID: '2' }), { index: 1, count: 4 });
  assert.deepEqual(parseShard('auto/4', { SLURM_ARRAY_TASK_ID: '2' }), { index: 2, count: 4 });
  // --array=1-4: task ids 1..4 are shards 0..3.
  assert.deepEqual(parseShard('AUTO/4', { SLURM_ARRAY_TASK_ID: '4', SLURM_ARRAY_TASK_MIN: '1', SLURM_ARRAY_TASK_COUNT: '4', SLURM_ARRAY_TASK_STEP: '1' }), { index: 3, count: 4 });
  const refused = (text: string, env: NodeJS.ProcessEnv, message: RegExp) =>
    assert.throws(() => parseShard(text, env), (e: Error) => e instanceof OptionError && message.test(e.message), `${text} ${JSON.stringify(env)}`);
  refused('5/5', {}, /K = 5 is out of range; shards are numbered from 0 to 4/);
  refused('1/0', {}, /N must be a positive integer/);
  refused('1-5', {}, /expected K\/N \(K = 0 \.\.\. N-1\) or auto\/N, got '1-5'/);
  refused('-1/5', {}, /expected K\/N/);
  refused('auto/5', {}, /neither is set — give the shard as K\/N/);
  refused('auto/5', { JOB_COMPLETION_INDEX: 'x' }, /\$JOB_COMPLETION_INDEX is 'x'/);
  refused('auto/5', { JOB_COMPLETION_INDEX: '5' }, /K = 5 is out of range/);
  refused('auto/5', { SLURM_ARRAY_TASK_ID: '3', SLURM_ARRAY_TASK_COUNT: '4' }, /the Slurm array has 4 tasks, not 5; give --shard auto\/4/);
  refused('auto/5', { SLURM_ARRAY_TASK_ID: '4', SLURM_ARRAY_TASK_STEP: '2' }, /step of 2/);
  refused('auto/5', { SLURM_ARRAY_TASK_ID: '0', SLURM_ARRAY_TASK_MIN: '1' }, /K = -1 is out of range/);
  assert.equal(shardFolder('out', { index: 3, count: 12 }), path.join('out', 'shard-03-of-12'));
  assert.equal(shardFolder('out', { index: 0, count: 1 }), path.join('out', 'shard-0-of-1'));
});

test('the shards of any list are a partition of its sorted items into contiguous parts of sizes within one, whatever the input order', () => {
  fc.assert(
    fc.property(fc.uniqueArray(fc.string(), { maxLength: 60 }), fc.integer({ min: 1, max: 12 }), (names, count) => {
      const shards = Array.from({ length: count }, (_, index) => shardItems(names, { index, count }, (s) => s));
      const reversed = Array.from({ length: count }, (_, index) => shardItems([...names].reverse(), { index, count }, (s) => s));
      assert.deepEqual(reversed, shards);
      const sorted = [...names].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
      assert.deepEqual(shards.flat(), sorted);
      const sizes = shards.map((s) => s.length);
      assert.ok(Math.max(...sizes) - Math.min(...sizes) <= 1, `${sizes}`);
    }),
  );
  // Code-unit order, not the locale's: 'B' < 'a'.
  assert.deepEqual(shardItems(['a.png', 'B.png', 'c.png'], { index: 0, count: 1 }, (s) => s), ['B.png', 'a.png', 'c.png']);
});

test('explain --shard: each shard explains its part of the sorted photos into its own folder; a folder stands for its images', async () => {
  const out = mkdtempSync(path.join(os.tmpdir(), 'rsi-shard-explain-'));
  try {
    // A folder of photos (and a file that is not one), listed in no particular order.
    const photos = path.join(out, 'photos');
    mkdirSync(photos);
    for (const f of ['demo-00004.png', 'demo-00000.png', 'demo-00003.png']) copyFileSync(path.join(DEMO, 'images', f), path.join(photos, f.replace('.png', '.PNG')));
    writeFileSync(path.join(photos, 'notes.txt'), 'not a photo');
    assert.deepEqual(await expandInputs([photos]), ['demo-00000.PNG', 'demo-00003.PNG', 'demo-00004.PNG'].map((f) => path.join(photos, f)));
    const results = path.join(out, 'heatmaps');
    const r = await runCli(['explain', photos, '--model', path.join(DEMO, 'demo-cnn.onnx'), '--method', 'gradcam', '--shard', 'auto/2', '-o', results], {
      env: { JOB_COMPLETION_INDEX: '1' },
    });
    assert.equal(r.code, 0, r.stderr);
    // Sorted: 00000 | 00003, 00004 (shard K takes items floor(K n / N) to floor((K + 1) n / N) - 1).
    assert.deepEqual(readdirSync(results), ['shard-1-of-2']);
    assert.deepEqual(readdirSync(path.join(results, 'shard-1-of-2')).sort(), ['demo-00003.gradcam.png', 'demo-00004.gradcam.png']);
    // A folder without photos: exit 1, naming it.
    const empty = path.join(out, 'empty');
    mkdirSync(empty);
    const e = await runCli(['explain', empty, '--model', path.join(DEMO, 'demo-cnn.onnx'), '-o', results]);
    assert.equal(e.code, 1, e.stderr);
    assert.match(e.stderr, /empty: a folder with no image files/);
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});

test('eval in 3 shards (3 processes) + eval merge = the single-process eval, file for file; merge refuses what is not one run', async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'rsi-shard-eval-'));
  try {
    const args = [
      'eval', '--model', path.join(DEMO, 'demo-cnn.onnx'), '--annotations', path.join(DEMO, 'annotations.json'), '--methods', 'gradcam,rsi-grad-cam', '--steps', '4',
      '--metrics', 'deletion,insertion,ad-ic,road,pointing,energy,class-sensitivity,completeness,sanity', '--curve-steps', '6', '--road-percentiles', '30,70',
      '--completeness-steps', '2,4', '--sanity-stages', '2', '--limit', '7',
    ];
    const sharded = path.join(dir, 'sharded');
    // Generous: four processes at once on a loaded 2-core machine.
    const timeoutMs = 900_000;
    const [single, ...shards] = await Promise.all([
      runCli([...args, '-o', path.join(dir, 'single')], { timeoutMs }),
      runCli([...args, '--shard', '0/3', '-o', sharded], { timeoutMs }),
      runCli([...args, '--shard', 'auto/3', '-o', sharded], { timeoutMs, env: { JOB_COMPLETION_INDEX: '1' } }),
      runCli([...args, '--shard', 'auto/3', '-o', sharded], { timeoutMs, env: { SLURM_ARRAY_TASK_ID: '3', SLURM_ARRAY_TASK_MIN: '1', SLURM_ARRAY_TASK_COUNT: '3' } }),
    ]);
    assert.equal(single!.code, 0, single!.stderr);
    shards.forEach((s) => assert.equal(s.code, 0, s.stderr));
    const folders = readdirSync(sharded).sort();
    assert.deepEqual(folders, ['shard-0-of-3', 'shard-1-of-3', 'shard-2-of-3']);
    // 7 images: 2 + 2 + 3, by sorted file name.
    const parts = folders.map((f) => JSON.parse(readFileSync(path.join(sharded, f, 'shard.json'), 'utf8')).images as string[]);
    assert.deepEqual(parts.map((p) => p.length), [2, 2, 3]);
    const annotated = (JSON.parse(readFileSync(path.join(DEMO, 'annotations.json'), 'utf8')).images as { file: string }[]).slice(0, 7).map((i) => i.file);
    assert.deepEqual(parts.flat(), [...annotated].sort());

    const merged = path.join(dir, 'merged');
    const m = await runCli(['eval', 'merge', merged, ...folders.map((f) => path.join(sharded, f))]);
    assert.equal(m.code, 0, m.stderr);
    assert.match(m.stdout, /3 shards merged: summary over 7 images/);
    const files = readdirSync(path.join(dir, 'single')).filter((f) => f !== 'results.jsonl').sort();
    assert.deepEqual(files, ['completeness.png', 'deletion-insertion.png', 'road.png', 'run.json', 'sanity.png', 'summary.csv', 'summary.json', 'summary.md']);
    for (const f of files) assert.ok(readFileSync(path.join(dir, 'single', f)).equals(readFileSync(path.join(merged, f))), `${f} differs`);
    const records = async (d: string) => Object.fromEntries(await readResults(path.join(d, 'results.jsonl')));
    assert.deepEqual(await records(merged), await records(path.join(dir, 'single')));
    // The merged folder is an eval folder: eval with the same settings finds everything done.
    const again = await runCli([...args, '-o', merged], { timeoutMs });
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stdout, /0 images evaluated, 7 already done/);

    // What merge refuses, each on a copy of the shard folders.
    const refuse = async (what: string, damage: (shardDirs: string[]) => string[], message: RegExp) => {
      const copy = mkdtempSync(path.join(dir, 'copy-'));
      const dirs = folders.map((f) => {
        cpSync(path.join(sharded, f), path.join(copy, f), { recursive: true });
        return path.join(copy, f);
      });
      await assert.rejects(mergeShards(path.join(copy, 'out'), damage(dirs)), (e: Error) => e instanceof OptionError && message.test(e.message), what);
    };
    const edit = (file: string, f: (o: Record<string, unknown>) => void) => {
      const o = JSON.parse(readFileSync(file, 'utf8'));
      f(o);
      writeFileSync(file, JSON.stringify(o));
    };
    await refuse('a shard missing', (d) => [d[0]!, d[2]!], /shard 1 of 3 missing/);
    await refuse('a shard twice', (d) => [d[0]!, d[1]!, d[1]!, d[2]!], /are both shard 1\/3/);
    await refuse('other settings', (d) => (edit(path.join(d[2]!, 'run.json'), (o) => (o.curveSteps = 9)), d), /different settings: curveSteps = 6 in .*shard-0-of-3, 9 in .*shard-2-of-3/);
    await refuse('another N', (d) => (edit(path.join(d[1]!, 'shard.json'), (o) => (o.count = 4)), d), /is one of 3 shards, .*shard-1-of-3 one of 4/);
    await refuse(
      'an image in two shards',
      (d) => (edit(path.join(d[1]!, 'shard.json'), (o) => (o.images as string[]).push(parts[0]![0]!)), d),
      new RegExp(`image ${parts[0]![0]!.replace(/[.]/g, '\\.')} is in two shards`),
    );
    await refuse(
      'a shard that did not finish',
      (d) => {
        const file = path.join(d[2]!, 'results.jsonl');
        const lines = readFileSync(file, 'utf8').trim().split('\n');
        const last = JSON.parse(lines[0]!).image;
        writeFileSync(file, `${lines.filter((l) => JSON.parse(l).image !== last).join('\n')}\n`);
        return d;
      },
      /shard-2-of-3: 1 of 3 images have no results .* the shard did not finish — rerun it/,
    );
    await refuse(
      'a shard with fewer metrics',
      (d) => {
        const file = path.join(d[1]!, 'results.jsonl');
        const lines = readFileSync(file, 'utf8').trim().split('\n').filter((l) => !l.includes('"sanity"'));
        writeFileSync(file, `${lines.join('\n')}\n`);
        return d;
      },
      /lacks sanity of .*: the shard did not finish \(rerun it\) or the shards were run with different --methods, --layers or --metrics/,
    );
    await refuse('a folder that is not a shard', () => [path.join(dir, 'single')], /single.shard\.json not found: .* was not written by eval --shard K\/N/);
    // Never over an eval's own results.
    await assert.rejects(mergeShards(path.join(dir, 'single'), folders.map((f) => path.join(sharded, f))), /holds the results of an eval run \(results\.jsonl\); merge into a new folder/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
