/** Options shared by several commands, their parsing and validation (errors name the option). */
import { Option, type Command } from 'commander';
import { OptionError } from '../errors.js';
import { COLORMAP_NAMES, type ColormapName } from '../image/colormap.js';
import { FIT_MODES, type FitMode } from '../image/fit.js';
import { METHOD_NAMES, type MethodName } from '../methods/registry.js';
import { STIELTJES_RULES, type StieltjesRule } from '../methods/quadrature.js';
import { DEFAULT_WEIGHTING, WEIGHTINGS, type Weighting } from '../methods/weightings.js';
import type { Classifier } from '../classifier.js';
import type { Target } from '../methods/types.js';
import { loadModel } from '../node/load-model.js';
import { progressBar } from './progress.js';

export function addModelOptions(cmd: Command): Command {
  return cmd
    .requiredOption('-m, --model <src>', 'model: a .onnx file, a TF.js model.json, an http(s) URL, or a catalogue name (mobilenet_v1_0.25_224 ...)')
    .option('--preprocess <preset|file>', 'input preprocessing: imagenet, tf, caffe, unit, or a JSON file (default: from the model)')
    .addOption(new Option('--fit <mode>', 'how photos fit the model input (default: from the model)').choices(FIT_MODES as string[]))
    .option('--threads <n>', 'onnxruntime threads (default: all cores)', intArg('--threads', 1))
    .option('--cache-dir <dir>', 'download cache (default: $RSI_GRAD_CAM_CACHE or ~/.cache/rsi-grad-cam)');
}

export function addMethodOptions(cmd: Command): Command {
  return cmd
    .option('--layer <name>', 'target layer: tensor name, node name or module path (default: last conv layer)')
    .option('-t, --target <target>', 'class to explain: top1, top2, ..., a class index, or a label', 'top1')
    .option('--steps <n>', 'RSI-Grad-CAM path steps m (m + 1 points)', intArg('--steps', 1), 50)
    .addOption(new Option('--score <score>', 'score to differentiate (default: softmax for RSI-Grad-CAM, logit for Grad-CAM)').choices(['softmax', 'logit']))
    .addOption(new Option('--weighting <w>', 'RSI-Grad-CAM channel weights').choices(WEIGHTINGS).default(DEFAULT_WEIGHTING))
    .addOption(new Option('--rule <rule>', 'Riemann-Stieltjes rule').choices(STIELTJES_RULES as string[]).default('trapezoid'))
    .option('--baseline <b>', 'RSI-Grad-CAM baseline: black, blur, or an image file', 'black')
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
}
export interface MethodOpts {
  layer?: string;
  target: string;
  steps: number;
  score?: 'softmax' | 'logit';
  weighting: Weighting;
  rule: StieltjesRule;
  baseline: string;
  internalBatchSize?: number;
}
export interface PictureOpts {
  colormap: ColormapName;
  alpha: number;
}

export function intArg(name: string, min: number) {
  return (v: string): number => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < min) throw new OptionError(`${name} must be an integer >= ${min}, got '${v}'`);
    return n;
  };
}

export function floatArg(name: string, lo: number, hi: number) {
  return (v: string): number => {
    const n = Number(v);
    if (!Number.isFinite(n) || n < lo || n > hi) throw new OptionError(`${name} must be a number in [${lo}, ${hi}], got '${v}'`);
    return n;
  };
}

export function parseMethod(name: string): MethodName {
  if (!(METHOD_NAMES as string[]).includes(name)) throw new OptionError(`--method: unknown method '${name}' (expected one of ${METHOD_NAMES.join(', ')})`);
  return name as MethodName;
}

/** top1/topK, a class index, or a label. */
export function parseTarget(text: string, classifier: Classifier): Target {
  const top = /^top(\d+)$/i.exec(text);
  if (top) return { topK: Number(top[1]) };
  if (/^\d+$/.test(text)) {
    const i = Number(text);
    const k = classifier.model.numClasses;
    if (i >= k) throw new OptionError(`--target: class index ${i} is out of range (the model has ${k} classes, 0-${k - 1})`);
    return i;
  }
  return classifier.classIndex(text);
}

/** Load the model named by the shared options, with a download progress bar on a terminal. */
export async function loadFromOptions(o: ModelOpts): Promise<Classifier> {
  const bar = progressBar('download', 'bytes');
  try {
    return await loadModel(o.model, {
      preprocess: o.preprocess,
      fit: o.fit,
      cacheDir: o.cacheDir,
      runtimeOptions: o.threads ? { threads: o.threads } : undefined,
      onProgress: (file, received, total) => bar.update(file, received, total),
    });
  } finally {
    bar.stop();
  }
}
