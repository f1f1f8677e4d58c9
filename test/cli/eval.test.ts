import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import sharp from 'sharp';
import { writeDataset } from '../../src/node/demo-io.js';
import { boxesToPhoto, readAnnotations } from '../../src/node/eval/annotations.js';
import { boxToModel, fitGeometry } from '../../src/image/fit.js';
import { checkSettings } from '../../src/node/eval/config.js';
import { runEval, type EvalRunOptions } from '../../src/node/eval/runner.js';
import { loadModel } from '../../src/node/load-model.js';
import { markdownTable, summarize } from '../../src/node/eval/summary.js';
import { OptionError } from '../../src/errors.js';
import { FIXTURES, REPO_ROOT } from '../helpers/fixtures.js';

const run = promisify(execFile);
const CLI = path.join(REPO_ROOT, 'bin', 'rsi-grad-cam.js');

async function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const r = await run(process.execPath, [CLI, ...args], { cwd: REPO_ROOT, maxBuffer: 1 << 24 });
    return { code: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (e) {
    const x = e as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof x.code === 'number' ? x.code : -1, stdout: x.stdout ?? '', stderr: x.stderr ?? '' };
  }
}

function parseCsv(text: string): Record<string, string>[] {
  const [head, ...rows] = text.trim().split('\n');
  const keys = head!.split(',');
  return rows.map((r) => Object.fromEntries(r.split(',').map((v, i) => [keys[i]!, v])));
}

test('annotation boxes map from the annotation frame into the model frame through the fit', async () => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'rsi-ann-'));
  try {
    const file = path.join(dir, 'annotations.json');
    await writeFile(file, JSON.stringify({ imageSize: [227, 227], images: [{ file: 'a.png', label: 3, boxes: [[0, 105.9, 29.4, 176.8]] }] }));
    const ann = await readAnnotations(file);
    assert.equal(ann.images[0]!.path, path.join(dir, 'a.png'));
    // Photo at 454 x 454 (twice the frame), stretched to 224 x 224.
    const g = fitGeometry(454, 454, [224, 224], 'stretch');
    const [b] = boxesToPhoto(ann.images[0]!.boxes, ann.imageSize, 454, 454).map((x) => boxToModel(x, g));
    const k = 224 / 227;
    [0, 105.9 * k, 29.4 * k, 176.8 * k].forEach((v, i) => assert.ok(Math.abs(b![i]! - v) < 1e-9, `${b![i]} vs ${v}`));
    await writeFile(file, JSON.stringify({ images: [{ file: 'a.png', label: -1, boxes: [] }] }));
    await assert.rejects(readAnnotations(file), /images\[0\] \(a\.png\): 'label' must be a class index/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('rsi-grad-cam eval writes tables and plots, and a rerun resumes', async () => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'rsi-eval-'));
  try {
    await writeDataset(dir, { count: 4, seed: 3, size: 32 });
    const out = path.join(dir, 'out');
    const args = [
      'eval', '--model', path.join(FIXTURES, 'resnet.onnx'), '--preprocess', 'imagenet', '--annotations', path.join(dir, 'annotations.json'), '--methods', 'gradcam,rsi-grad-cam',
      '--steps', '8', '--curve-steps', '8', '--road-percentiles', '20,50,80', '--completeness-steps', '4,16', '--sanity-stages', '3', '--out', out,
    ];
    const first = await cli([...args, '--limit', '3']);
    assert.equal(first.code, 0, first.stderr);
    assert.match(first.stdout, /\| metric \| better \| n \| gradcam @ \S+ \| rsi-grad-cam @ \S+ \|/);
    assert.match(first.stdout, /3 images evaluated, 0 already done/);

    const rows = parseCsv(await readFile(path.join(out, 'summary.csv'), 'utf8'));
    const metrics = (m: string) => rows.filter((r) => r.method === m).map((r) => r.metric);
    const common = ['deletion', 'insertion', 'ad', 'ic', 'ag', 'road-morf', 'road-lerf', 'road', 'pointing', 'energy', 'class-sens-2nd', 'class-sens-random', 'sanity@1', 'sanity@5', 'sanity@9'];
    assert.deepEqual(metrics('gradcam'), common);
    assert.deepEqual(metrics('rsi-grad-cam'), [...common.slice(0, 12), 'completeness@4', 'completeness@16', 'completeness-rel@4', 'completeness-rel@16', ...common.slice(12)]);
    for (const r of rows) {
      assert.equal(r.n, '3', `${r.method} ${r.metric}`);
      const v = Number(r.mean);
      if (['deletion', 'insertion', 'pointing', 'energy', 'road-morf', 'road-lerf'].includes(r.metric!)) assert.ok(v >= 0 && v <= 1, `${r.metric} ${v}`);
      if (['ad', 'ic', 'ag'].includes(r.metric!)) assert.ok(v >= 0 && v <= 100, `${r.metric} ${v}`);
      if (r.metric!.startsWith('sanity') || r.metric!.startsWith('class-sens')) assert.ok(v >= -1 && v <= 1);
    }

    // The table agrees with the per-image lines: mean and t-interval (t_0.975 with 2 df = 4.302653) recomputed here.
    const lines = (await readFile(path.join(out, 'results.jsonl'), 'utf8')).trim().split('\n').map((l) => JSON.parse(l));
    assert.equal(lines.length, 6); // 3 images, then their sanity results
    const energy = lines.filter((l) => l.combos['gradcam|' + rows[0]!.layer]?.energy !== undefined).map((l) => l.combos['gradcam|' + rows[0]!.layer].energy as number);
    assert.equal(energy.length, 3);
    const mean = energy.reduce((a, b) => a + b, 0) / 3;
    const sd = Math.sqrt(energy.reduce((a, b) => a + (b - mean) ** 2, 0) / 2);
    const row = rows.find((r) => r.method === 'gradcam' && r.metric === 'energy')!;
    assert.ok(Math.abs(Number(row.mean) - mean) < 1e-5);
    assert.ok(Math.abs(Number(row.ci_high) - (mean + (4.302653 * sd) / Math.sqrt(3))) < 1e-4);
    // Deletion AUC in the lines is the trapezoid area of the stored curve.
    for (const l of lines.slice(0, 3)) {
      for (const c of Object.values(l.combos) as { deletion: { auc: number; curve: number[] } }[]) {
        const y = c.deletion.curve;
        assert.equal(y.length, 9);
        assert.ok(Math.abs(c.deletion.auc - (y.reduce((a, b) => a + b, 0) - y[0]! / 2 - y[8]! / 2) / 8) < 1e-5);
      }
    }

    const summary = JSON.parse(await readFile(path.join(out, 'summary.json'), 'utf8'));
    assert.equal(summary.images, 3);
    assert.equal(summary.rows.length, rows.length);
    for (const png of ['deletion-insertion.png', 'road.png', 'completeness.png', 'sanity.png']) {
      const meta = await sharp(path.join(out, png)).metadata();
      assert.equal(meta.format, 'png', png);
      assert.ok(meta.width! >= 400 && meta.height! >= 300, `${png} ${meta.width}x${meta.height}`);
    }

    // Same settings again: nothing to do, nothing appended.
    const before = await readFile(path.join(out, 'results.jsonl'), 'utf8');
    const again = await cli([...args, '--limit', '3']);
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stdout, /0 images evaluated, 3 already done/);
    assert.equal(await readFile(path.join(out, 'results.jsonl'), 'utf8'), before);

    // One more image, two metrics: only that image runs; the summary then counts 4 images for them.
    // The model and annotations are given as relative paths this time: still the same run.
    const relative = args.map((a) => (a.endsWith('.onnx') || a.endsWith('annotations.json') ? path.relative(REPO_ROOT, a) : a));
    assert.notDeepEqual(relative, args);
    const more = await cli([...relative, '--limit', '4', '--metrics', 'pointing,energy']);
    assert.equal(more.code, 0, more.stderr);
    assert.match(more.stdout, /1 image evaluated, 3 already done/);
    const rows2 = parseCsv(await readFile(path.join(out, 'summary.csv'), 'utf8'));
    assert.equal(rows2.find((r) => r.method === 'gradcam' && r.metric === 'pointing')!.n, '4');
    assert.equal(rows2.find((r) => r.method === 'gradcam' && r.metric === 'deletion')!.n, '3');

    // Other settings into the same folder are refused, naming the setting.
    const settings = JSON.parse(await readFile(path.join(out, 'run.json'), 'utf8'));
    await assert.doesNotReject(checkSettings(path.join(out, 'run.json'), settings));
    await assert.rejects(
      checkSettings(path.join(out, 'run.json'), { ...settings, curveSteps: 9 }),
      (e: Error) => e instanceof OptionError && /--out holds results made with curveSteps = 8, not 9/.test(e.message),
    );
    // Without results there is nothing to mix with: the new settings replace run.json.
    await checkSettings(path.join(out, 'run.json'), { ...settings, curveSteps: 9 }, false);
    assert.equal(JSON.parse(await readFile(path.join(out, 'run.json'), 'utf8')).curveSteps, 9);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('the summary averages per-image values: AD / IC / AG from (Y, O), ROAD from its curves', () => {
  const rec = (image: string, y: number, o: number, morf: number[], lerf: number[]) => ({
    image, label: 0, target: 0, probability: y,
    combos: { 'gradcam|L': { adic: { y, o }, road: { percentiles: [10, 50], morf, lerf }, pointing: 1 } },
  });
  const s = summarize([rec('a', 0.8, 0.6, [0.4, 0.2], [0.8, 0.6]), rec('b', 0.5, 0.75, [0.3, 0.1], [0.5, 0.5])]);
  const get = (m: string) => s.rows.find((r) => r.metric === m)!;
  // a: drop 25, no increase, no gain; b: no drop, increase, gain 50.
  assert.ok(Math.abs(get('ad').mean - 12.5) < 1e-12);
  assert.equal(get('ic').mean, 50);
  assert.ok(Math.abs(get('ag').mean - 25) < 1e-12);
  assert.ok(Math.abs(get('road-morf').mean - 0.25) < 1e-12);
  assert.ok(Math.abs(get('road').mean - ((0.7 - 0.3) / 2 + (0.5 - 0.2) / 2) / 2) < 1e-12);
  assert.equal(get('pointing').ciHigh - get('pointing').ciLow, 0);
  assert.equal(get('pointing').n, 2);
  const md = markdownTable(s);
  assert.match(md, /^\| metric \| better \| n \| gradcam @ L \|$/m);
  assert.match(md, /^\| ad \| ↓ \| 2 \| 12\.500 ± 158\.8 \|$/m); // 12.5 +- 12.706 * 17.678 / sqrt(2)
});

test('the sanity check appends per chunk: an interrupted run keeps finished chunks and resumes to the same values', async () => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'rsi-sanity-'));
  try {
    await writeDataset(dir, { count: 5, seed: 4, size: 32 });
    const annotations = await readAnnotations(path.join(dir, 'annotations.json'));
    const classifier = await loadModel(path.join(FIXTURES, 'resnet.onnx'), { preprocess: 'imagenet' });
    const options = (out: string, onProgress?: EvalRunOptions['onProgress']): EvalRunOptions => ({
      annotations, methods: ['gradcam', 'rsi-grad-cam'], layers: [classifier.model.layer().tensor], metrics: ['sanity'], out,
      target: 'label', explain: { steps: 4, weighting: 'guided', rule: 'trapezoid', baseline: 'black' },
      curveSteps: 8, deletionBaseline: 'black', insertionStart: 'blur', blurSigma: 5, pointingTolerance: 15, roadPercentiles: [50],
      roadNoise: 0.01, completenessSteps: [4], sanityStages: 2, seed: 0, sanityChunk: 2, onProgress,
    });
    try {
      const whole = path.join(dir, 'whole');
      await runEval(classifier, options(whole));
      const byImage = async (out: string) => new Map((await readFile(path.join(out, 'results.jsonl'), 'utf8')).trim().split('\n').map((l) => JSON.parse(l)).map((r) => [r.image, r.combos]));
      const reference = await byImage(whole);
      assert.equal(reference.size, 5);

      // Stop while the third image (second chunk) is being explained.
      const cut = path.join(dir, 'cut');
      const third = annotations.images[2]!.file;
      const stop = new Error('interrupted');
      await assert.rejects(runEval(classifier, options(cut, (_phase, _done, _total, label) => {
        if (label.startsWith(third)) throw stop;
      })), (e) => e === stop);
      const kept = await byImage(cut);
      assert.deepEqual([...kept.keys()], annotations.images.slice(0, 2).map((i) => i.file));

      const resumed = await runEval(classifier, options(cut));
      assert.equal(resumed.computed, 3);
      const after = await byImage(cut);
      assert.equal(after.size, 5);
      for (const [image, combos] of reference) assert.deepEqual(after.get(image), combos, image);
    } finally {
      await classifier.dispose();
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
