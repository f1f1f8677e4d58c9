/**
 * `npm run bench:steps`: RSI-Grad-CAM's adaptive path steps (`steps: 'auto'`) against uniform
 * steps (issue 15). Reference: uniform m = 400. Rows: uniform m = 8, 16, 32, 50, 100 and auto at
 * tolerances 0.1, 0.05, 0.01, 0.003 (and any given with --tolerances), each with the median and 90th percentile of the model
 * evaluations along the path, the heatmap's correlation with the reference's, and the relative
 * completeness error |sum(IG) - (s(x) - s(x'))| / |s(x) - s(x')|.
 *
 * Data: the 200 shared ImageNet photos on MobileNet v1 0.75 at conv_pw_13_relu and
 * conv_pw_11_relu (uniform runs take both layers in one path; auto runs one layer at a time, as
 * a user would), and images of the demo generator (seed 2002) on the demo CNN, whose softmax
 * saturates. Top-1 target, softmax score, black baseline, the weighting given (default: the
 * library's default).
 *
 * Cost: uniform m = 8, 16, 50 and 100 are not run on their own: their points are points of the
 * m = 400 reference path, so their sums come from that run (layerPathSums' coarse sums; equal
 * bit for bit to separate runs). Every result is appended to a JSON-lines file per dataset,
 * weighting and setting under --out (default bench/out/steps), and a run skips what is there,
 * so it can be stopped and resumed (run it under `nice -n 19` in the background on a shared
 * machine); images go in chunks of 8 through every setting, so the first N images are complete.
 *
 *   npm run bench:steps -- [--limit N] [--datasets mobilenet,demo] [--only ref,uniform,auto]
 *                          [--tolerances 0.05,0.01] [--weighting W] [--out DIR] [--figures DIR] [--report-only]
 *                          [--from K]
 *
 * --from K reports on images K, K+1, ... only (0-based): images not looked at when a tolerance was
 * chosen, to check it on photos it was not tuned on.
 * --figures writes correlation.png and completeness.png (evaluations on x; uniform and auto).
 */
import { appendFileSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadModel } from '../src/node/load-model.js';
import { preparePhoto } from '../src/node/explain-files.js';
import { generateDataset } from '../src/demo/generate.js';
import { camToHeatmap, weightedCam } from '../src/methods/cam.js';
import { registerMethod } from '../src/methods/registry.js';
import { RsiGradCam, type RsiGradCamOptions } from '../src/methods/rsi-grad-cam.js';
import type { ImageResult, MethodContext } from '../src/methods/base-cam.js';
import { completeness, inputPaths, layerPathSums, total } from '../src/methods/path.js';
import { DEFAULT_WEIGHTING, weightingSpec } from '../src/methods/weightings.js';
import { pearson } from '../src/metrics/spearman.js';
import { chartPng, type Series } from '../src/node/eval/plots.js';
import type { Classifier } from '../src/classifier.js';
import type { Explanation } from '../src/methods/types.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const SHARED = path.resolve(ROOT, '..', 'shared');
const REFERENCE_STEPS = 400;
const UNIFORM_STEPS = [8, 16, 32, 50, 100];
const ALL_TOLERANCES = [0.1, 0.05, 0.01, 0.003];
/** Images per explain call: auto refines them together, so its batches stay full. */
const CHUNK = 8;
/** The demo target's images: those whose score changes by at least this along the path. */
const MIN_SCORE_CHANGE = 0.05;

const args = process.argv.slice(2);
const flag = (name: string) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};
const limit = Number(flag('--limit') ?? 200);
const datasets = (flag('--datasets') ?? 'mobilenet,demo').split(',');
const only = new Set((flag('--only') ?? 'ref,uniform,auto').split(','));
const outDir = path.resolve(flag('--out') ?? path.join(ROOT, 'bench/out/steps'));
const figures = flag('--figures');
const weighting = flag('--weighting') ?? DEFAULT_WEIGHTING;
weightingSpec(weighting);
const reportOnly = args.includes('--report-only');
const from = Number(flag('--from') ?? 0);
/** --tolerances: run auto at some of them only (the report shows every one there are results for). */
const runTolerances = new Set((flag('--tolerances') ?? ALL_TOLERANCES.join(',')).split(',').map(Number));
/** ALL_TOLERANCES, any other given with --tolerances, and any other whose results are under --out; largest first. */
function tolerances(): number[] {
  const stored = existsSync(outDir) ? readdirSync(outDir).map((f) => /\.auto-([0-9.e-]+?)-[^.]*\.jsonl$/.exec(f)?.[1]).filter((t): t is string => !!t).map(Number) : [];
  return [...new Set([...ALL_TOLERANCES, ...runTolerances, ...stored])].filter((t) => t > 0 && t <= 1).sort((a, b) => b - a);
}

interface Result {
  i: number;
  name: string;
  layer: string;
  evaluations: number;
  cam: number[];
  camShape: [number, number];
  score: number;
  baselineScore: number;
  relativeCompletenessError: number;
  estimatedError: number | null;
  capReached: boolean;
  ms: number;
  /** Computed from the reference run's points (DERIVED), not by a run of its own. */
  derived?: boolean;
}

interface Dataset {
  name: string;
  title: string;
  load(): Promise<Classifier>;
  inputs(c: Classifier): Promise<{ name: string; input: Float32Array }[]>;
  layers(c: Classifier): string[];
}

const DATASETS: Dataset[] = [
  {
    name: 'mobilenet',
    title: 'MobileNet v1 0.75',
    load: () => loadModel(path.join(SHARED, 'models/mobilenet_v1_0.75_224/model.json')),
    async inputs(c) {
      const dir = path.join(SHARED, 'data/imagenet-val-200/images');
      const files = readdirSync(dir).sort().slice(0, limit);
      return Promise.all(files.map(async (f) => ({ name: f, input: (await preparePhoto(c, path.join(dir, f))).input })));
    },
    layers: () => ['conv_pw_13_relu', 'conv_pw_11_relu'],
  },
  {
    name: 'demo',
    title: 'demo CNN',
    load: () => loadModel(path.join(ROOT, 'assets/demo/demo-cnn.onnx')),
    async inputs(c) {
      const [h, w] = c.inputSize;
      const { samples } = generateDataset({ count: limit, seed: 2002, size: w });
      if (h !== w) throw new Error('the demo model takes square images');
      return samples.map((s) => ({ name: `demo-${s.index}`, input: c.toTensor({ width: s.size, height: s.size, data: s.rgb }) }));
    },
    layers: (c) => [c.model.layer(undefined).tensor],
  },
];

/** Uniform m whose points are the reference path's points (point i of m is point i * M / m of M: the same alpha). */
const DERIVED = UNIFORM_STEPS.filter((m) => REFERENCE_STEPS % m === 0);
const SUBGRIDS = 'rsi-grad-cam-subgrids';

/** One layer's result of a uniform m derived from the reference path. */
interface DerivedResult {
  steps: number;
  layer: string;
  cam: Float32Array;
  camShape: [number, number];
  relativeCompletenessError: number;
}

/**
 * RSI-Grad-CAM at the reference's m that also computes, from the same points, every uniform m
 * in DERIVED: layerPathSums' coarse sums over every (M / m)-th point are exactly the sums a
 * path of m steps accumulates (the same inputs, the same order). Saves their evaluations
 * (m = 8, 16, 50, 100: 178 per image).
 */
class SubgridRsi extends RsiGradCam {
  /** Per image of the last call: the derived m's results, per layer. */
  derived: { score: number; baselineScore: number; results: DerivedResult[] }[] = [];

  protected override async run(ctx: MethodContext<RsiGradCamOptions>): Promise<ImageResult[]> {
    const { images, targets, layers, options } = ctx;
    if (options.steps !== REFERENCE_STEPS) return super.run(ctx);
    const p = this.pipeline;
    const built = await p.session(this.sessionFor(layers, ctx.score));
    const spec = weightingSpec(options.weighting ?? DEFAULT_WEIGHTING);
    const sizes = layers.map((L) => L.channels * L.hw);
    const results: ImageResult[] = [];
    this.derived = [];
    for (const [img, path] of inputPaths(p, images, { ...options, steps: REFERENCE_STEPS }).entries()) {
      const t0 = performance.now();
      const strides = DERIVED.map((m) => REFERENCE_STEPS / m);
      const sums = await layerPathSums(p, built, path, targets[img]!.row, sizes, 'trapezoid', p.batchSize(options, path.points), ctx.evaluations, spec.integrands, strides);
      const s0 = sums.scores[0]!;
      const sX = sums.scores[path.points - 1]!;
      const maps = sums.layers.map((L, l) => {
        const { channels, hw, height, width } = layers[l]!;
        return [L, ...L.coarse].map((c) => {
          const weights = spec.weights({
            ig: Float32Array.from(c.sum),
            integrals: Object.fromEntries(Object.entries(c.integrals).map(([name, x]) => [name, Float32Array.from(x)])),
            activations: L.aX,
            baselineActivations: L.a0,
            channels,
            hw,
          });
          const steps = 'stride' in c ? REFERENCE_STEPS / c.stride : REFERENCE_STEPS;
          const camShape: [number, number] = [height, width];
          return { steps, layer: layers[l]!.info.tensor, weights, cam: weightedCam(L.aX, weights, channels, hw), camShape, ...completeness(total(c.sum), sX - s0) };
        });
      });
      this.derived.push({ score: sX, baselineScore: s0, results: maps.flatMap((m) => m.slice(1)) });
      results.push({
        layers: maps.map((m, l) => ({ activations: sums.layers[l]!.aX, weights: m[0]!.weights, extra: { completenessError: m[0]!.completenessError, relativeCompletenessError: m[0]!.relativeCompletenessError } })),
        score: sX,
        ms: performance.now() - t0,
        extra: { baselineScore: s0, steps: REFERENCE_STEPS, evaluations: path.points },
      });
    }
    return results;
  }
}
let subgrids: SubgridRsi | undefined;
registerMethod(SUBGRIDS, (p) => (subgrids = new SubgridRsi(p)));

/** A setting: uniform m (all layers in one path) or auto at a tolerance (one layer). */
interface Setting {
  key: string;
  kind: 'ref' | 'uniform' | 'auto';
  steps: number | 'auto';
  tolerance?: number;
  layers: string[];
}

function settings(layers: string[]): Setting[] {
  return [
    { key: `m${REFERENCE_STEPS}`, kind: 'ref', steps: REFERENCE_STEPS, layers },
    ...UNIFORM_STEPS.map((m): Setting => ({ key: `m${m}`, kind: 'uniform', steps: m, layers })),
    ...tolerances().flatMap((t) => layers.map((l): Setting => ({ key: `auto-${t}-${l}`, kind: 'auto', steps: 'auto', tolerance: t, layers: [l] }))),
  ];
}

const fileOf = (d: Dataset, s: Pick<Setting, 'key'>) => path.join(outDir, `${d.name}.${weighting}.${s.key}.jsonl`);

function readRecords(file: string): Result[] {
  if (!existsSync(file)) return [];
  // One record per image and layer (the first), should two runs have written the same one.
  const seen = new Set<string>();
  return readFileSync(file, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as Result).filter((r) => !seen.has(`${r.i} ${r.layer}`) && !!seen.add(`${r.i} ${r.layer}`));
}

function records(e: Explanation, i: number, name: string, ms: number): Result[] {
  return e.layers.map((l) => ({
    i,
    name,
    layer: l.layer,
    evaluations: e.evaluations!,
    cam: Array.from(l.cam),
    camShape: l.camShape,
    score: e.score,
    baselineScore: e.baselineScore!,
    relativeCompletenessError: l.relativeCompletenessError!,
    estimatedError: l.estimatedError ?? null,
    capReached: e.evaluationCapReached ?? false,
    ms,
  }));
}

/** The reference run's derived uniform results, for images their files do not hold yet. */
function writeDerived(d: Dataset, idx: number[], inputs: { name: string }[], derived: SubgridRsi['derived']): void {
  for (const m of DERIVED) {
    const file = fileOf(d, { key: `m${m}` });
    const done = new Set(readRecords(file).map((r) => r.i));
    const lines = idx.flatMap((i, j) => {
      if (done.has(i)) return [];
      const { score, baselineScore, results } = derived[j]!;
      return results
        .filter((r) => r.steps === m)
        .map((r): Result => ({
          i, name: inputs[i]!.name, layer: r.layer, evaluations: m + 1, cam: Array.from(r.cam), camShape: r.camShape, score, baselineScore,
          relativeCompletenessError: r.relativeCompletenessError, estimatedError: null, capReached: false, ms: NaN, derived: true,
        }));
    });
    if (lines.length) appendFileSync(file, lines.map((r) => JSON.stringify(r)).join('\n') + '\n');
  }
}

async function run(d: Dataset): Promise<void> {
  const c = await d.load();
  try {
    const inputs = await d.inputs(c);
    const todo = settings(d.layers(c)).filter((s) => only.has(s.kind) && (s.tolerance === undefined || runTolerances.has(s.tolerance)));
    for (let start = 0; start < inputs.length; start += CHUNK) {
      const chunk = inputs.slice(start, start + CHUNK);
      for (const s of todo) {
        const file = fileOf(d, s);
        const done = new Set(readRecords(file).map((r) => r.i));
        const idx = chunk.map((_, j) => start + j).filter((i) => !done.has(i));
        if (!idx.length) continue;
        const t0 = performance.now();
        const layerOption = s.layers.length === 1 ? { layer: s.layers[0] } : { layers: s.layers };
        const options = s.steps === 'auto' ? { steps: 'auto' as const, tolerance: s.tolerance } : { steps: s.steps };
        const method = (s.kind === 'ref' ? SUBGRIDS : 'rsi-grad-cam') as 'rsi-grad-cam';
        const out = await c.explain(idx.map((i) => inputs[i]!.input), { method, ...layerOption, ...options, weighting });
        const ms = (performance.now() - t0) / idx.length;
        appendFileSync(file, out.flatMap((e, j) => records(e, idx[j]!, inputs[idx[j]!]!.name, ms)).map((r) => JSON.stringify(r)).join('\n') + '\n');
        if (s.kind === 'ref') writeDerived(d, idx, inputs, subgrids!.derived);
        process.stderr.write(`${d.name} ${s.key}: images ${idx[0]}-${idx[idx.length - 1]} (${ms.toFixed(0)} ms each)\n`);
      }
    }
  } finally {
    await c.dispose();
  }
}

function quantile(values: number[], p: number): number {
  if (!values.length) return NaN;
  const s = [...values].sort((a, b) => a - b);
  const x = p * (s.length - 1);
  const lo = Math.floor(x);
  return s[lo]! + (x - lo) * ((s[Math.min(lo + 1, s.length - 1)] ?? s[lo]!) - s[lo]!);
}

interface Row {
  dataset: string;
  title: string;
  layer: string;
  setting: string;
  kind: Setting['kind'];
  n: number;
  evMedian: number;
  evP90: number;
  corrMedian: number;
  corrP10: number;
  corrMin: number;
  relMedian: number;
  relP90: number;
  /** Over images whose score changes by at least MIN_SCORE_CHANGE. */
  relP90Moving: number;
  moving: number;
  capped: number;
}

function report(d: Dataset, layers: string[], inputSize: [number, number]): Row[] {
  const rows: Row[] = [];
  const all = settings(layers);
  const ref = all.find((s) => s.kind === 'ref')!;
  for (const layer of layers) {
    const refs = new Map(readRecords(fileOf(d, ref)).filter((r) => r.layer === layer && r.i >= from).map((r) => [r.i, camToHeatmap(Float32Array.from(r.cam), r.camShape, inputSize)]));
    for (const s of all.filter((x) => x.layers.includes(layer))) {
      const recs = readRecords(fileOf(d, s)).filter((r) => r.layer === layer && refs.has(r.i));
      if (!recs.length) continue;
      const corr = recs.map((r) => pearson(camToHeatmap(Float32Array.from(r.cam), r.camShape, inputSize), refs.get(r.i)!)).map((v) => (Number.isFinite(v) ? v : 0));
      const moving = recs.filter((r) => Math.abs(r.score - r.baselineScore) >= MIN_SCORE_CHANGE);
      rows.push({
        dataset: d.name,
        title: d.title,
        layer,
        setting: s.kind === 'auto' ? `auto, tolerance ${s.tolerance}` : `uniform m = ${s.steps}`,
        kind: s.kind,
        n: recs.length,
        evMedian: quantile(recs.map((r) => r.evaluations), 0.5),
        evP90: quantile(recs.map((r) => r.evaluations), 0.9),
        corrMedian: quantile(corr, 0.5),
        corrP10: quantile(corr, 0.1),
        corrMin: Math.min(...corr),
        relMedian: quantile(recs.map((r) => r.relativeCompletenessError), 0.5),
        relP90: quantile(recs.map((r) => r.relativeCompletenessError), 0.9),
        relP90Moving: quantile(moving.map((r) => r.relativeCompletenessError), 0.9),
        moving: moving.length,
        capped: recs.filter((r) => r.capReached).length,
      });
    }
  }
  return rows;
}

const f = (v: number, digits: number) => (Number.isFinite(v) ? v.toFixed(digits) : 'n/a');
const e = (v: number) => (Number.isFinite(v) ? v.toExponential(1) : 'n/a');

function printRows(rows: Row[]): void {
  console.log('| model | layer | steps | images | evaluations median | p90 | corr. with m = 400: median | p10 | min | rel. completeness error: median | p90 | p90, score change >= 0.05 (images) | capped |');
  console.log('|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
  for (const r of rows) {
    console.log(
      `| ${r.dataset} | ${r.layer} | ${r.setting} | ${r.n} | ${f(r.evMedian, 0)} | ${f(r.evP90, 0)} | ${f(r.corrMedian, 5)} | ${f(r.corrP10, 5)} | ${f(r.corrMin, 4)} | ${e(r.relMedian)} | ${e(r.relP90)} | ${e(r.relP90Moving)} (${r.moving}) | ${r.capped} |`,
    );
  }
}

/** Evaluations (median) on x; per group, uniform (blue) and auto (red): the median solid, the tail dashed. */
async function plot(rows: Row[], dir: string): Promise<void> {
  mkdirSync(dir, { recursive: true });
  const groups = [...new Set(rows.map((r) => `${r.dataset} ${r.layer}`))];
  const panels = (yLabel: string, mid: (r: Row) => number, tail: (r: Row) => number, tailName: string) =>
    groups.map((g) => {
      const of = (kind: Row['kind']) => rows.filter((r) => `${r.dataset} ${r.layer}` === g && r.kind === kind).sort((a, b) => a.evMedian - b.evMedian);
      const line = (kind: Row['kind'], label: string, color: string, pick: (r: Row) => number, dash?: string): Series => ({
        label, color, dash, x: of(kind).map((r) => r.evMedian), y: of(kind).map(pick),
      });
      const ref = rows.find((r) => `${r.dataset} ${r.layer}` === g && r.kind === 'ref')!;
      const title = `${ref.title} @ ${ref.layer}, n = ${ref.n}`;
      const series: Series[] = [
        line('uniform', 'uniform m = 8 ... 100: median', '#1f77b4', mid),
        line('uniform', `uniform: ${tailName}`, '#1f77b4', tail, '5,4'),
        line('auto', 'auto, tolerance 0.1 ... 0.003: median', '#d62728', mid),
        line('auto', `auto: ${tailName}`, '#d62728', tail, '5,4'),
      ];
      return { title, xLabel: 'model evaluations per image (median)', yLabel, xLog: true, yLog: true, series };
    });
  writeFileSync(path.join(dir, 'correlation.png'), await chartPng(panels('1 - correlation with m = 400', (r) => 1 - r.corrMedian, (r) => 1 - r.corrP10, '10th percentile')));
  writeFileSync(
    path.join(dir, 'completeness.png'),
    await chartPng(panels('relative completeness error', (r) => r.relMedian, (r) => r.relP90Moving, '90th percentile (score change >= 0.05)')),
  );
}

mkdirSync(outDir, { recursive: true });
console.log(`bench:steps: ${os.cpus().length} cores (${os.cpus()[0]?.model ?? '?'}), Node ${process.version}, up to ${limit} images per dataset${from ? `, reporting images ${from}-` : ''}, results in ${outDir}\n`);
const rows: Row[] = [];
for (const name of datasets) {
  const d = DATASETS.find((x) => x.name === name);
  if (!d) throw new Error(`unknown dataset '${name}' (expected ${DATASETS.map((x) => x.name).join(', ')})`);
  if (d.name === 'mobilenet' && !existsSync(SHARED)) {
    console.log(`skipping ${d.name}: ${SHARED} is missing`);
    continue;
  }
  if (!reportOnly) await run(d);
  const c = await d.load();
  rows.push(...report(d, d.layers(c), c.inputSize));
  await c.dispose();
}
printRows(rows);
if (figures) await plot(rows, path.resolve(figures));
