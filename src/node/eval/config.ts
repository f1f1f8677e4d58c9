/**
 * The settings that change metric values, kept in <out>/run.json. A rerun into the same folder
 * must use the same settings (which images, methods, layers and metrics may differ: they only
 * choose what to compute), so results from different settings never mix.
 */
import { readFile } from 'node:fs/promises';
import { OptionError } from '../../errors.js';
import type { InputSpec } from '../../image/preprocess.js';
import { writeFileAtomic } from '../render.js';

/** The metric settings: kept in run.json and passed to the runner as they are. */
export interface MetricSettingsChoice {
  /** Deletion / insertion: curve steps. */
  curveSteps: number;
  /** Deletion replaces pixels by: black (after preprocessing), blur, or zero (a zero tensor, as the RISE code). */
  deletionBaseline: 'black' | 'blur' | 'zero';
  /** Insertion starts from: blur (as RISE) or black. */
  insertionStart: 'blur' | 'black';
  blurSigma: number;
  pointingTolerance: number;
  roadPercentiles: number[];
  /** ROAD noise std as a fraction of each channel's value range (0.01). */
  roadNoise: number;
  completenessSteps: number[];
  sanityStages: number;
  seed: number;
}

export interface EvalSettings extends MetricSettingsChoice {
  /** The model's absolute path (a URL or catalogue name as given). */
  model: string;
  /** The annotations file's absolute path: results are keyed by its image names. */
  annotations: string;
  inputSpec?: InputSpec;
  fit: string;
  /** 'label', 'topK' or a class index / label as given. */
  target: string;
  /** RSI-Grad-CAM: steps m or 'auto' (with its tolerance and evaluation cap when given). */
  steps: number | 'auto';
  tolerance?: number;
  maxEvaluations?: number;
  score?: string;
  weighting: string;
  rule: string;
  baseline: string;
  /**
   * The other method options given (occlusion's window, RISE's masks, smoothing, ...), each
   * only when set, so folders written before they existed still match a run without them.
   */
  [methodOption: string]: unknown;
}

/**
 * Checks `settings` against run.json in the folder, writing it when absent. With
 * `hasResults` false there is nothing to mix with, so another run.json is replaced.
 */
export async function checkSettings(file: string, settings: EvalSettings, hasResults = true): Promise<void> {
  let text: string | undefined;
  try {
    if (hasResults) text = await readFile(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
  if (text !== undefined) {
    let old: Record<string, unknown>;
    try {
      old = JSON.parse(text) as Record<string, unknown>;
    } catch {
      throw new OptionError(`${file} is not valid JSON; remove it (and results.jsonl) or choose another --out`);
    }
    for (const [k, v] of Object.entries(settings)) {
      if (JSON.stringify(old[k] ?? null) !== JSON.stringify(v ?? null)) {
        throw new OptionError(
          `--out holds results made with ${k} = ${JSON.stringify(old[k])}, not ${JSON.stringify(v)} (${file}); use the same settings or another --out`,
        );
      }
    }
    return;
  }
  await writeFileAtomic(file, new TextEncoder().encode(`${JSON.stringify(settings, null, 2)}\n`));
}
