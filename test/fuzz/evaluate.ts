/**
 * One fuzz case through the real path, in-process: write the (mutated) model files into a
 * folder, `loadModel` it, list its layers, and explain a PNG with Grad-CAM and with
 * RSI-Grad-CAM (few steps) via `explainFile`. The outcome is classified:
 *
 * - `ok`: every result finite and of the right shape (heatmaps in [0, 1], the photo's size);
 * - `user-error`: a typed RsiGradCamError whose message is one line naming the model's folder
 *   (exit 1 in the CLI);
 * - `bad-message`: a typed error whose message is several lines or names no file;
 * - `bad-result`: success with a NaN/Infinity or a mis-shaped result;
 * - `internal`: anything else (exit 2 in the CLI).
 */
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import { RsiGradCamError } from '../../src/errors.js';
import { explainFile } from '../../src/node/explain-files.js';
import { loadModel } from '../../src/node/load-model.js';
import { createNodeRuntime } from '../../src/node/runtime.js';
import type { ModelFiles } from './mutations.js';

export type Status = 'ok' | 'user-error' | 'bad-message' | 'bad-result' | 'internal' | 'hang' | 'crash';

export interface Outcome {
  status: Status;
  /** The error's message (first 300 characters), or what was wrong with the result. */
  message: string;
  /** The error's class name. */
  error?: string;
  /** Where it happened: load, layers, gradcam, rsi-grad-cam. */
  stage?: string;
  /** Top-1 class of the Grad-CAM run, when it succeeded. */
  top1?: number;
  stack?: string;
}

/** A 40x30 colour gradient PNG at `file`. */
export async function writeTestImage(file: string): Promise<void> {
  const w = 40;
  const h = 30;
  const data = Buffer.alloc(w * h * 3);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const i = (y * w + x) * 3;
      data[i] = (x * 255) / w;
      data[i + 1] = (y * 255) / h;
      data[i + 2] = ((x + y) * 97) % 256;
    }
  }
  await sharp(data, { raw: { width: w, height: h, channels: 3 } }).png().toFile(file);
}

/** Write `model` into `dir` (emptied first); returns the entry file's path. */
export function writeModel(model: ModelFiles, dir: string): string {
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  for (const [name, bytes] of model.files) writeFileSync(path.join(dir, name), bytes);
  return path.join(dir, model.entry);
}

function finiteIn(a: ArrayLike<number>, lo = -Infinity, hi = Infinity): boolean {
  for (let i = 0; i < a.length; i++) if (!(Number.isFinite(a[i]!) && a[i]! >= lo && a[i]! <= hi)) return false;
  return true;
}

/** Run the real load + explain path on the model at `entry` (in `dir`) and classify what happens. */
export async function evaluate(entry: string, dir: string, image: string, steps = 3): Promise<Outcome> {
  let stage = 'load';
  // No session cache on disk: thousands of throwaway models would fill it.
  const runtime = createNodeRuntime({ threads: 1, sessionCache: false });
  try {
    const classifier = await loadModel(entry, { runtime, preprocess: 'imagenet' });
    try {
      stage = 'layers';
      classifier.layers();
      let top1: number | undefined;
      for (const method of ['gradcam', 'rsi-grad-cam'] as const) {
        stage = method;
        const r = await explainFile(classifier, image, method === 'rsi-grad-cam' ? { method, steps } : { method });
        const e = r.explanation;
        const [ih, iw] = classifier.inputSize;
        const problems: string[] = [];
        if (e.heatmapShape[0] !== ih || e.heatmapShape[1] !== iw || e.heatmap.length !== ih * iw) problems.push(`heatmap ${e.heatmapShape} for input ${ih}x${iw}`);
        if (!finiteIn(e.heatmap, 0, 1)) problems.push('heatmap not finite in [0, 1]');
        if (e.cam.length !== e.camShape[0] * e.camShape[1] || e.camShape.some((d) => !(d >= 1))) problems.push(`cam of ${e.cam.length} values for shape ${e.camShape}`);
        if (!finiteIn(e.cam)) problems.push('cam not finite');
        if (!finiteIn(e.weights)) problems.push('weights not finite');
        if (r.photoHeatmap.data.length !== r.photo.width * r.photo.height || !finiteIn(r.photoHeatmap.data, 0, 1)) problems.push('photo heatmap mis-sized or not finite');
        if (!finiteIn(e.probabilities, 0, 1) || !(e.probability >= 0 && e.probability <= 1) || !Number.isFinite(e.logit) || !Number.isFinite(e.score)) problems.push(`probability ${e.probability}, logit ${e.logit}`);
        if (e.target < 0 || e.target >= classifier.model.numClasses) problems.push(`target ${e.target}`);
        if (method === 'rsi-grad-cam' && e.completenessError !== undefined && !Number.isFinite(e.completenessError)) problems.push(`completeness error ${e.completenessError}`);
        if (problems.length) return { status: 'bad-result', message: problems.join('; '), stage };
        if (method === 'gradcam') top1 = e.topk[0]?.index;
      }
      return { status: 'ok', message: '', top1 };
    } finally {
      await classifier.dispose();
    }
  } catch (e) {
    const err = e as Error;
    const message = String(err?.message ?? e);
    const out: Outcome = { status: 'internal', message: message.slice(0, 300), error: err?.constructor?.name ?? typeof e, stage, stack: err?.stack?.split('\n').slice(0, 8).join('\n') };
    if (e instanceof RsiGradCamError) {
      out.status = message.includes('\n') || !message.includes(dir) ? 'bad-message' : 'user-error';
      delete out.stack;
    }
    return out;
  } finally {
    await runtime.dispose();
  }
}
