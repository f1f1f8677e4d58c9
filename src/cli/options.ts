/** Options shared by several commands, their parsing and validation (errors name the option). */
import { Option, type Command } from 'commander';
import { OptionError } from '../errors.js';
import { COLORMAP_NAMES, type ColormapName } from '../image/colormap.js';
import { FIT_MODES, type FitMode } from '../image/fit.js';
import { DEFAULT_METHOD, methodNames } from '../methods/registry.js';
import type { ExplanationMethod } from '../methods/method.js';
import { CAPTUM_RULES, MAX_STEPS, STIELTJES_RULES } from '../methods/quadrature.js';
import { MAX_RISE_MASKS } from '../methods/rise.js';
import { MAX_NOISE_SAMPLES, NOISE_TYPES, SMOOTH_MODES, type NoiseType, type SmoothMode } from '../methods/smoothing.js';
import { DEFAULT_MAX_EVALUATIONS, DEFAULT_TOLERANCE, INITIAL_POINTS } from '../methods/adaptive.js';
import { DEFAULT_WEIGHTING, WEIGHTINGS, type Weighting } from '../methods/weightings.js';
import type { Classifier } from '../classifier.js';
import type { Target } from '../methods/targets.js';
import { loadModel } from '../node/load-model.js';
import { parseTokensGrid } from '../engine/tokens.js';
import { preprocessHelp } from './preprocess-help.js';
import { progressBar } from './progress.js';
import { interruptSignal } from './interrupt.js';

export function addModelOptions(cmd: Command): Command {
  return cmd
    .requiredOption('-m, --model <src>', 'model: a .onnx file, a TF.js model.json, an http(s) URL, or a catalogue name (mobilenet_v1_0.25_224 ...)')
    .option('--preprocess <preset|file>', 'input preprocessing: imagenet, tf, caffe, unit, raw (see below), or a JSON file (default: from the model)')
    .addHelpText('after', preprocessHelp())
    .addOption(new Option('--fit <mode>', 'how photos fit the model input (default: from the model)').choices(FIT_MODES as string[]))
    .option('--threads <n>', 'onnxruntime threads (default: all cores)', intArg('--threads', 1))
    .option('--tokens-grid <HxW>', 'transformers: the grid of the patch tokens, e.g. 14x14 (default: from the patch embedding)', (v: string) => parseTokensGrid(v))
    .option('--drop-tokens <k>', 'transformers: leading tokens that are not on the grid, e.g. 1 for a class token (default: the tokens beyond the grid)', intArg('--drop-tokens', 0))
    .option('--cache-dir <dir>', 'cache of downloaded models and of built onnxruntime sessions, in <dir>/sessions (default: $RSI_GRAD_CAM_CACHE or ~/.cache/rsi-grad-cam; RSI_GRAD_CAM_SESSION_CACHE=off: no sessions stored)');
}

export function addMethodOptions(cmd: Command): Command {
  cmd.addHelpText('after', `\n${TARGET_HELP}`);
  return cmd
    .option('--layer <name>', 'target layer: tensor name, node name or module path (default: last conv layer); a,b,c: several layers, their cams averaged as pytorch-grad-cam does')
    .option('-t, --target <target>', 'what to explain: top1, top2, ..., a class index or label, a-b (contrast), a+b (sum), sigmoid:K (unit); see below', 'top1')
    .option('--steps <n|auto>', `path methods: steps m (m + 1 points), at most ${MAX_STEPS}; auto: RSI-Grad-CAM refines the path where it matters until --tolerance is met`, stepsArg, 50)
    .option('--tolerance <t>', `with --steps auto: the estimated relative error of the heatmap and the completeness sum to reach, in (0, 1] (default ${DEFAULT_TOLERANCE})`, toleranceArg)
    .option('--max-evaluations <n>', `with --steps auto: the most model evaluations along one image's path (default ${DEFAULT_MAX_EVALUATIONS})`, intArg('--max-evaluations', INITIAL_POINTS, MAX_STEPS + 1))
    .addOption(new Option('--score <score>', 'score to differentiate (default: softmax for RSI-Grad-CAM, logit for Grad-CAM)').choices(['softmax', 'logit']))
    .addOption(new Option('--weighting <w>', 'RSI-Grad-CAM channel weights').choices(WEIGHTINGS).default(DEFAULT_WEIGHTING))
    .addOption(
      new Option('--rule <rule>', "path methods' quadrature (default: trapezoid for rsi-grad-cam; gauss-legendre, Captum's default, for ig and layer-ig)").choices([
        ...new Set<string>([...STIELTJES_RULES, ...CAPTUM_RULES]),
      ]),
    )
    .option('--window <px>', 'occlusion: side of the square window, in model-input pixels (default: the smaller side / 15, 15 at 224)', intArg('--window', 1))
    .option('--stride <px>', 'occlusion: shift between windows in pixels (default: half the window)', intArg('--stride', 1))
    .option('--occlusion-value <v>', 'occlusion: value of occluded pixels, in preprocessed units (default 0)', floatArg('--occlusion-value', -1e6, 1e6))
    .option('--masks <n>', `rise: number of random masks (default 4000)`, intArg('--masks', 1, MAX_RISE_MASKS))
    .option('--cell <px>', 'rise: side of a mask cell in model-input pixels (default: the smaller side / 7)', intArg('--cell', 1))
    .option('--keep <p>', 'rise: probability that a cell is kept (default 0.5)', floatArg('--keep', 0, 1))
    .option('--seed <n>', 'rise: seed of the masks; --smooth noise: of the noise (default 0)', intArg('--seed', 0))
    .addOption(new Option('--smooth <mode>', 'smoothing over any method: noise (NoiseTunnel), aug (flip x brightness), eigen (first principal component)').choices(SMOOTH_MODES as string[]))
    .option('--noise-samples <n>', '--smooth noise: noisy copies (default 5)', intArg('--noise-samples', 1, MAX_NOISE_SAMPLES))
    .option('--noise-stdev <s>', '--smooth noise: standard deviation in preprocessed units (default 1)', floatArg('--noise-stdev', 0, 1e6))
    .addOption(new Option('--noise-type <t>', '--smooth noise: how the copies combine (default smoothgrad)').choices(NOISE_TYPES as string[]))
    .option('--baseline <b>', 'path methods: baseline, black, blur, or an image file', 'black')
    .option('--internal-batch-size <n>', 'path points run at once (default: from a 512 MiB budget)', intArg('--internal-batch-size', 1));
}

export function addPictureOptions(cmd: Command): Command {
  return cmd
    .addOption(new Option('--colormap <name>', 'heatmap colours').choices(COLORMAP_NAMES as string[]).default('jet'))
    .option('--alpha <a>', 'heatmap opacity over the photo, 0-1', floatArg('--alpha', 0, 1), 0.5);
}

/** Values the shared options produce. */
export interface ModelOpts {
  model: string;
  preprocess?: string;
  fit?: FitMode;
  threads?: number;
  cacheDir?: string;
  tokensGrid?: [number, number];
  dropTokens?: number;
}
export interface MethodOpts {
  layer?: string;
  target: string;
  steps: number | 'auto';
  tolerance?: number;
  maxEvaluations?: number;
  score?: 'softmax' | 'logit';
  weighting: Weighting;
  rule?: string;
  window?: number;
  stride?: number;
  occlusionValue?: number;
  masks?: number;
  cell?: number;
  keep?: number;
  seed?: number;
  smooth?: SmoothMode;
  noiseSamples?: number;
  noiseStdev?: number;
  noiseType?: NoiseType;
  baseline: string;
  internalBatchSize?: number;
}
export interface PictureOpts {
  colormap: ColormapName;
  alpha: number;
}

export function intArg(name: string, min: number, max = Number.MAX_SAFE_INTEGER) {
  return (v: string): number => {
    const n = Number(v);
    if (!Number.isSafeInteger(n) || n < min || n > max) {
      throw new OptionError(`${name} must be an integer >= ${min}${max < Number.MAX_SAFE_INTEGER ? ` and <= ${max}` : ''}, got '${v}'`);
    }
    return n;
  };
}

/** --steps: an integer m, or auto. */
function stepsArg(v: string): number | 'auto' {
  return v === 'auto' ? 'auto' : intArg('--steps', 1, MAX_STEPS)(v);
}

function toleranceArg(v: string): number {
  const n = Number(v);
  if (!(Number.isFinite(n) && n > 0 && n <= 1)) throw new OptionError(`--tolerance must be a number in (0, 1], got '${v}'`);
  return n;
}

export function floatArg(name: string, lo: number, hi: number) {
  return (v: string): number => {
    const n = Number(v);
    if (!Number.isFinite(n) || n < lo || n > hi) throw new OptionError(`${name} must be a number in [${lo}, ${hi}], got '${v}'`);
    return n;
  };
}

/** A registered method's name (the registry is read when the command runs, so registered methods count). */
export function parseMethod(name: string): string {
  if (!methodNames().includes(name)) throw new OptionError(`--method: unknown method '${name}' (expected one of ${methodNames().join(', ')})`);
  return name;
}

/** `layer` for one layer name, `layers` for a comma-separated list (--layer a,b,c). */
export function layerOption(text: string | undefined): { layer?: string } | { layers: string[] } {
  if (text === undefined || !text.includes(',')) return { layer: text };
  const layers = text.split(',').map((l) => l.trim());
  if (layers.some((l) => !l)) throw new OptionError(`--layer: empty name in '${text}'`);
  return { layers };
}

/** The --method option: any registered method. */
export function methodOption(): Option {
  return new Option('--method <name>', `explanation method: ${methodNames().join(', ')}`).default(DEFAULT_METHOD);
}

/** The method flags by the option each sets (a method takes the ones it declares in its capabilities). */
const METHOD_FLAGS = {
  steps: '--steps', tolerance: '--tolerance', maxEvaluations: '--max-evaluations', weighting: '--weighting', rule: '--rule', baseline: '--baseline', window: '--window', stride: '--stride', occlusionValue: '--occlusion-value',
  masks: '--masks', cell: '--cell', keep: '--keep',
} as const;

/**
 * The method settings of a command line, for every method on it: each method takes what it
 * declares. They carry the CLI's Ctrl-C signal, so an explanation stops between batches.
 */
export function methodSettings(o: MethodOpts): { baseline: string; [option: string]: unknown } {
  // Ctrl-C cancels a running explanation between batches (the CLI then exits 130).
  return {
    steps: o.steps, tolerance: o.tolerance, maxEvaluations: o.maxEvaluations, score: o.score, weighting: o.weighting, rule: o.rule, baseline: o.baseline, internalBatchSize: o.internalBatchSize,
    window: o.window, stride: o.stride, occlusionValue: o.occlusionValue, masks: o.masks, cell: o.cell, keep: o.keep, seed: o.seed,
    smooth: o.smooth, noiseSamples: o.noiseSamples, noiseStdev: o.noiseStdev, noiseType: o.noiseType, signal: interruptSignal,
  };
}

/** The method flags given on the command line that none of `methods` takes (e.g. --steps with gradcam). */
export function unusedMethodFlags(cmd: Command, methods: readonly ExplanationMethod[]): string[] {
  return Object.entries(METHOD_FLAGS)
    .filter(([key]) => cmd.getOptionValueSource(key) === 'cli' && !methods.some((m) => m.capabilities.options.includes(key)))
    .map(([, flag]) => flag);
}

/** A one-line note on stderr when flags on the line apply to none of the methods run. */
export function noteUnusedFlags(cmd: Command, methods: readonly ExplanationMethod[]): void {
  const unused = unusedMethodFlags(cmd, methods);
  if (unused.length) process.stderr.write(`note: ${unused.join(', ')} ${unused.length === 1 ? 'does' : 'do'} not apply to ${methods.map((m) => m.name).join(', ')}; ignored\n`);
}

/** The --target syntax, for --help. */
export const TARGET_HELP = `Targets (--target):
  top1, top2, ...     the best, second best, ... class (default top1)
  3                   class 3
  "golden retriever"  a class by label (exact, case-insensitive, or one name of a comma-separated label)
  3-5                 the margin y_3 - y_5 (contrastive; with --score logit, z_3 - z_5)
  3+5                 the sum y_3 + y_5
  0.7*3+0.3*5         a weighted sum
  unit:0              unit 0 of the logits tensor, raw (regression)
  sigmoid:0           sigmoid of unit 0 (multi-label); softmax:0 likewise
  sigmoid:0@NAME      the same on another [N, K] tensor NAME
  Labels work wherever a class index does ("tabby-tiger cat" is a contrast of two labels).`;

/** A --target value: see TARGET_HELP. */
export function parseTarget(text: string, classifier: Classifier): Target {
  const top = /^top(\d+)$/i.exec(text);
  if (top) return { topK: Number(top[1]) };
  const unit = /^(unit|sigmoid|softmax):(\d+)(?:@(.+))?$/i.exec(text);
  if (unit) {
    const kind = unit[1]!.toLowerCase();
    return { unit: Number(unit[2]), activation: kind === 'unit' ? 'none' : (kind as 'sigmoid' | 'softmax'), ...(unit[3] ? { output: unit[3] } : {}) };
  }
  // The whole text first: labels may hold '-' or '+'.
  const whole = classOf(text, classifier);
  if (whole !== undefined) return whole;
  if (text.includes('+')) {
    const terms = text.split('+').map((term) => {
      const m = /^\s*(?:([0-9]*\.?[0-9]+(?:e-?[0-9]+)?)\s*\*\s*)?(.+?)\s*$/i.exec(term);
      const c = m ? classOf(m[2]!, classifier) : undefined;
      if (!m || c === undefined) throw new OptionError(`--target: '${term.trim()}' in '${text}' is not a class index or label`);
      return { weight: m[1] === undefined ? 1 : Number(m[1]), c };
    });
    const weighted = terms.some((t) => t.weight !== 1);
    return { classes: terms.map((t) => t.c), ...(weighted ? { weights: terms.map((t) => t.weight) } : {}) };
  }
  // a-b: every split at a '-' whose two sides are classes; exactly one must work.
  const splits = [...text.matchAll(/-/g)].flatMap((m) => {
    const a = classOf(text.slice(0, m.index), classifier);
    const b = classOf(text.slice(m.index! + 1), classifier);
    return a !== undefined && b !== undefined ? [[a, b] as [number, number]] : [];
  });
  if (splits.length === 1) return { contrast: splits[0]! };
  if (splits.length > 1) throw new OptionError(`--target: '${text}' splits into two classes in ${splits.length} ways; use class indices`);
  if (/^\d+$/.test(text)) {
    const k = classifier.model.numClasses;
    throw new OptionError(`--target: class index ${text} is out of range (the model has ${k} classes, 0-${k - 1})`);
  }
  return classifier.classIndex(text);
}

/** A class index or label, or undefined when `text` is neither. */
function classOf(text: string, classifier: Classifier): number | undefined {
  const t = text.trim();
  if (/^\d+$/.test(t)) return Number(t) < classifier.model.numClasses ? Number(t) : undefined;
  if (!t || !classifier.labels) return undefined;
  try {
    return classifier.classIndex(t);
  } catch {
    return undefined;
  }
}

/** Load the model named by the shared options, with a download progress bar on a terminal. */
export async function loadFromOptions(o: ModelOpts): Promise<Classifier> {
  const bar = progressBar('download', 'bytes');
  let classifier: Classifier;
  try {
    classifier = await loadModel(o.model, {
      preprocess: o.preprocess,
      fit: o.fit,
      cacheDir: o.cacheDir,
      tokens: o.tokensGrid || o.dropTokens !== undefined ? { grid: o.tokensGrid, drop: o.dropTokens } : undefined,
      runtimeOptions: o.threads ? { threads: o.threads } : undefined,
      onProgress: (file, received, total) => bar.update(file, received, total),
    });
  } finally {
    bar.stop();
  }
  // One line per fact about how the model is explained (a quantized model's float twin).
  for (const note of classifier.model.notes) process.stderr.write(`note: ${note}\n`);
  return classifier;
}
