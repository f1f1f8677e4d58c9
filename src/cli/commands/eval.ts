/** `rsi-grad-cam eval`: faithfulness, localisation, completeness and sanity metrics over an annotated image folder. */
import path from 'node:path';
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import type { Command } from 'commander';
import { Classifier } from '../../classifier.js';
import { OptionError } from '../../errors.js';
import { methodNames } from '../../methods/registry.js';
import { COMPLETENESS_STEPS } from '../../metrics/completeness.js';
import { POINTING_TOLERANCE } from '../../metrics/pointing-game.js';
import { ROAD_PERCENTILES } from '../../metrics/road.js';
import { readAnnotations } from '../../node/eval/annotations.js';
import { checkSettings, type EvalSettings, type MetricSettingsChoice } from '../../node/eval/config.js';
import { writeReport } from '../../node/eval/report.js';
import { METRIC_NAMES, RESULTS_FILE, type MetricName } from '../../node/eval/results.js';
import { runEval } from '../../node/eval/runner.js';
import { evalShard } from '../../node/eval/shards.js';
import { createNodeRuntime } from '../../node/runtime.js';
import { shardText } from '../../node/shard.js';
import { shardOption, type Shard } from '../shard.js';
import { registerEvalMerge } from './eval-merge.js';
import {
  addMethodOptions, addModelOptions, floatArg, intArg, loadFromOptions, methodSettings, noteUnusedFlags, parseMethod, parseTarget, type MethodOpts, type ModelOpts,
} from '../options.js';
import { progressBar } from '../progress.js';

type EvalOpts = ModelOpts & MethodOpts & {
  images?: string;
  annotations: string;
  methods: string;
  layers?: string;
  metrics: string;
  limit?: number;
  out: string;
  curveSteps: number;
  deletionBaseline: string;
  insertionStart: string;
  blurSigma: number;
  pointingTolerance: number;
  roadPercentiles: string;
  roadNoise: number;
  completenessSteps: string;
  sanityStages: number;
  seed: number;
  shard?: Shard;
};

export function registerEval(program: Command): Command {
  const cmd = program
    .command('eval')
    .description('score explanation methods on annotated images: deletion/insertion, AD/IC/AG, ROAD, pointing games, class sensitivity, completeness, sanity check');
  addModelOptions(cmd);
  addMethodOptions(cmd);
  const target = cmd.options.find((opt) => opt.long === '--target');
  if (target) {
    target.default('label');
    // commander stores an option's default when the option is added: replace that value too.
    cmd.setOptionValueWithSource('target', 'label', 'default');
    target.description = "class to explain: label (the annotation's class), top1, top2, ..., a class index, or a class name";
  }
  registerEvalMerge(cmd);
  const seed = cmd.options.find((opt) => opt.long === '--seed');
  if (seed) {
    // One seed for the run: tie-breaking, ROAD noise, random weights, and random methods' masks and noise.
    seed.default(0);
    cmd.setOptionValueWithSource('seed', 0, 'default');
    seed.description = 'seed of tie-breaking, ROAD noise, random weights, and of RISE masks and smoothing noise';
  }
  return cmd
    .requiredOption('--annotations <file>', 'annotations.json: { imageSize, images: [{ file, label, boxes }] }')
    .option('--images <dir>', "folder the annotations' files are in (default: the annotations file's folder)")
    .option('--methods <list>', `methods to compare, comma-separated (any of ${methodNames().join(', ')})`, 'gradcam,rsi-grad-cam')
    .option('--layers <list>', 'layers to explain at, comma-separated (default: --layer, or the last conv layer)')
    .option('--metrics <list>', `metrics, comma-separated: ${METRIC_NAMES.join(', ')}`, METRIC_NAMES.join(','))
    .option('--limit <n>', 'only the first n images', intArg('--limit', 1))
    .option('-o, --out <dir>', 'output folder (results.jsonl, summary.csv/.json/.md, plots); a rerun resumes', 'eval-out')
    .option('--curve-steps <n>', 'deletion/insertion: steps S of each curve (S + 1 points)', intArg('--curve-steps', 2), 28)
    .option('--deletion-baseline <b>', 'deletion replaces pixels by: black, blur, or zero (a zero tensor, as the RISE code)', 'black')
    .option('--insertion-start <b>', 'insertion starts from: blur (as RISE) or black', 'blur')
    .option('--blur-sigma <px>', 'Gaussian sigma of the blurred image, in model pixels (RISE: 5)', floatArg('--blur-sigma', 0, 1000), 5)
    .option('--pointing-tolerance <px>', 'pointing game tolerance, in model pixels', floatArg('--pointing-tolerance', 0, 10000), POINTING_TOLERANCE)
    .option('--road-percentiles <list>', 'ROAD: percentages of pixels removed', ROAD_PERCENTILES.join(','))
    .option('--road-noise <f>', "ROAD: imputation noise std as a fraction of the value range", floatArg('--road-noise', 0, 1), 0.01)
    .option('--completeness-steps <list>', 'completeness: path steps m to try (RSI-Grad-CAM)', COMPLETENESS_STEPS.join(','))
    .option('--sanity-stages <n>', 'sanity check: randomisation stages, from the top layer alone to all layers', intArg('--sanity-stages', 1), 6)
    .addOption(shardOption())
    .addHelpText(
      'after',
      `
Per-image results are appended to <out>/results.jsonl as images finish; a rerun with the same
settings skips what is done, and the summary covers every image in the folder.

Examples:
  $ rsi-grad-cam eval --model mobilenet_v1_0.25_224 --images val/images --annotations val/annotations.json
  $ rsi-grad-cam eval --model model.json --preprocess tf --annotations data/annotations.json \\
      --layers conv_pw_13_relu,conv_pw_11_relu --metrics road,sanity --limit 20 --out eval`,
    )
    .action(async (o: EvalOpts, command: Command) => {
      const methods = list(o.methods, '--methods').map(parseMethod);
      const metrics = list(o.metrics, '--metrics').map((m) => {
        if (!(METRIC_NAMES as readonly string[]).includes(m)) throw new OptionError(`--metrics: unknown metric '${m}' (expected ${METRIC_NAMES.join(', ')})`);
        return m as MetricName;
      });
      const deletionBaseline = choice(o.deletionBaseline, '--deletion-baseline', ['black', 'blur', 'zero'] as const);
      const insertionStart = choice(o.insertionStart, '--insertion-start', ['blur', 'black'] as const);
      const roadPercentiles = numbers(o.roadPercentiles, '--road-percentiles', (v) => v > 0 && v < 100, 'numbers in (0, 100)');
      const completenessSteps = numbers(o.completenessSteps, '--completeness-steps', (v) => Number.isInteger(v) && v >= 1, 'positive integers');
      let annotations = await readAnnotations(o.annotations, o.images);
      let out = o.out;
      if (o.shard) ({ annotations, out } = await evalShard(annotations, o.limit, o.shard, o.out));

      const loaded = await loadFromOptions(o);
      const layerNames = o.layers ? list(o.layers, '--layers') : [o.layer];
      const layers = [...new Set(layerNames.map((l) => loaded.model.layer(l).tensor))];
      // Enough cached sessions for every method x layer plus prediction, so none is rebuilt per image.
      const classifier = new Classifier(loaded.model, createNodeRuntime({ threads: o.threads, maxSessions: methods.length * layers.length + 2, sessionStore: loaded.runtime.options.sessionStore }), loaded.info);
      await loaded.dispose();
      const targetArg = o.target === 'label' ? 'label' : parseTarget(o.target, classifier);
      classifier.blackBaseline(); // fails early, naming --preprocess, when the preprocessing is unknown
      noteUnusedFlags(command, methods.map((m) => classifier.method(m)));

      const metricChoice: MetricSettingsChoice = {
        curveSteps: o.curveSteps,
        deletionBaseline,
        insertionStart,
        blurSigma: o.blurSigma,
        pointingTolerance: o.pointingTolerance,
        roadPercentiles,
        roadNoise: o.roadNoise,
        completenessSteps,
        sanityStages: o.sanityStages,
        seed: o.seed,
      };
      const settings: EvalSettings = {
        // Absolute, so a rerun from another folder or with a relative path still matches.
        model: existsSync(o.model) ? path.resolve(o.model) : o.model,
        annotations: path.resolve(o.annotations),
        inputSpec: classifier.inputSpec,
        fit: o.fit ?? classifier.info.fit ?? 'stretch',
        target: o.target,
        steps: o.steps,
        tolerance: o.tolerance,
        maxEvaluations: o.maxEvaluations,
        score: o.score,
        weighting: o.weighting,
        rule: o.rule ?? 'trapezoid', // RSI-Grad-CAM's default, as run.json has always recorded it
        baseline: o.baseline,
        ...otherMethodOptions(o),
        ...metricChoice,
        ...(o.shard ? { shard: shardText(o.shard) } : {}),
      };
      await mkdir(out, { recursive: true });
      await checkSettings(path.join(out, 'run.json'), settings, existsSync(path.join(out, RESULTS_FILE)));

      // One count over the whole run: chunks interleave the metrics and the sanity check.
      const bar = progressBar('eval', 'explanations');
      const started = performance.now();
      let result;
      try {
        result = await runEval(classifier, {
          annotations,
          limit: o.shard ? undefined : o.limit,
          methods,
          layers,
          metrics,
          out,
          fit: o.fit,
          target: targetArg,
          explain: methodSettings(o),
          ...metricChoice,
          onProgress: (phase, done, total, label) => bar.update(label && `${phase}: ${label}`, done, total),
        });
      } finally {
        bar.stop();
        await classifier.dispose();
      }

      const report = await writeReport(out, settings, result.records.values());
      process.stdout.write(report.markdown);
      const secs = ((performance.now() - started) / 1000).toFixed(1);
      process.stdout.write(
        `\n${result.computed} image${result.computed === 1 ? '' : 's'} evaluated, ${result.skipped} already done, in ${secs} s; ` +
          `summary over ${report.summary.images} images in ${out} (${report.files.join(', ')})\n`,
      );
    });
}

function list(text: string, option: string): string[] {
  const items = text.split(',').map((s) => s.trim()).filter(Boolean);
  if (!items.length) throw new OptionError(`${option}: give at least one name`);
  return items;
}

function numbers(text: string, option: string, ok: (v: number) => boolean, what: string): number[] {
  return list(text, option).map((s) => {
    const v = Number(s);
    if (!Number.isFinite(v) || !ok(v)) throw new OptionError(`${option}: expected ${what}, got '${s}'`);
    return v;
  });
}

function choice<T extends string>(v: string, option: string, allowed: readonly T[]): T {
  if (!(allowed as readonly string[]).includes(v)) throw new OptionError(`${option}: expected one of ${allowed.join(', ')}, got '${v}'`);
  return v as T;
}

/** Method options that change maps beyond those run.json always records: only those given. */
function otherMethodOptions(o: EvalOpts): Record<string, unknown> {
  const { window, stride, occlusionValue, masks, cell, keep, smooth, noiseSamples, noiseStdev, noiseType } = o;
  const given = { window, stride, occlusionValue, masks, cell, keep, smooth, noiseSamples, noiseStdev, noiseType };
  return Object.fromEntries(Object.entries(given).filter(([, v]) => v !== undefined));
}
