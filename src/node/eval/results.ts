/**
 * Per-image results, one JSON line per image and run, appended to results.jsonl as each image
 * finishes: an interrupted run keeps what it did and a rerun computes only what is missing.
 * Later lines of an image add to (and override) earlier ones.
 */
import { readFile } from 'node:fs/promises';
import { appendToFile } from '../output.js';
import type { CompletenessPoint } from '../../metrics/completeness.js';

/** What the metrics give for one image, one method and one layer. */
export interface ComboResult {
  deletion?: { auc: number; curve: number[] };
  insertion?: { auc: number; curve: number[] };
  /** Probability on the image (y) and on the image times the heatmap (o). */
  adic?: { y: number; o: number };
  road?: { percentiles: number[]; morf: number[]; lerf: number[] };
  pointing?: number;
  energy?: number;
  /** Spearman rho between the target's heatmap and that of the runner-up class (second) and of a random class. */
  classSensitivity?: { classes: [second: number, random: number]; rho: [second: number, random: number] };
  completeness?: CompletenessPoint[];
  /** Spearman rho between the original map and the map of each randomisation stage. */
  sanity?: { counts: number[]; deepest: string[]; rho: number[] };
}

export interface ImageRecord {
  image: string;
  label: number;
  target: number;
  /** Probability of the target on the unperturbed image. */
  probability: number;
  /** Keyed by comboKey(method, layer). */
  combos: Record<string, ComboResult>;
}

/** The per-image results file inside an eval's --out folder. */
export const RESULTS_FILE = 'results.jsonl';

export const METRIC_NAMES = ['deletion', 'insertion', 'ad-ic', 'road', 'pointing', 'energy', 'class-sensitivity', 'completeness', 'sanity'] as const;
export type MetricName = (typeof METRIC_NAMES)[number];

/** The ComboResult field a metric fills. */
export const METRIC_FIELD: Record<MetricName, keyof ComboResult> = {
  deletion: 'deletion',
  insertion: 'insertion',
  'ad-ic': 'adic',
  road: 'road',
  pointing: 'pointing',
  energy: 'energy',
  'class-sensitivity': 'classSensitivity',
  completeness: 'completeness',
  sanity: 'sanity',
};

export function comboKey(method: string, layer: string): string {
  return `${method}|${layer}`;
}

export function splitComboKey(key: string): { method: string; layer: string } {
  const i = key.indexOf('|');
  return { method: key.slice(0, i), layer: key.slice(i + 1) };
}

/** Reads results.jsonl (missing file: none), merging the lines of each image; a torn last line is ignored. */
export async function readResults(file: string): Promise<Map<string, ImageRecord>> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return new Map();
    throw e;
  }
  const out = new Map<string, ImageRecord>();
  for (const line of text.split('\n')) {
    if (!line.trim()) continue;
    let r: ImageRecord;
    try {
      r = JSON.parse(line) as ImageRecord;
    } catch {
      continue; // a line cut short by an interruption
    }
    if (typeof r?.image !== 'string' || typeof r.combos !== 'object') continue;
    mergeRecord(out, r);
  }
  return out;
}

/** Adds a record into the map (combo fields of later records win). */
export function mergeRecord(into: Map<string, ImageRecord>, r: ImageRecord): void {
  const prev = into.get(r.image);
  if (!prev) {
    into.set(r.image, { ...r, combos: { ...r.combos } });
    return;
  }
  prev.label = r.label;
  prev.target = r.target;
  prev.probability = r.probability;
  for (const [k, v] of Object.entries(r.combos)) prev.combos[k] = { ...prev.combos[k], ...v };
}

/**
 * Appends one record as a line (one write call, so a line is whole or cut at its end).
 * Returns the record as the file holds it (numbers rounded), so what a run summarises is what
 * a later read of the file gives.
 */
export async function appendResult(file: string, r: ImageRecord): Promise<ImageRecord> {
  const line = recordLine(r);
  await appendToFile(file, `${line}\n`);
  return JSON.parse(line) as ImageRecord;
}

/** One record as its results.jsonl line (without the newline). */
export function recordLine(r: ImageRecord): string {
  return JSON.stringify(r, roundReplacer);
}

/** Keys whose numbers are stored exactly: Average Gain divides by 1 - Y, which rounding Y would distort when Y is near 1. */
const EXACT = new Set(['y', 'o', 'probability']);

/** Six significant digits are plenty for curves and scores and keep the file small. */
function roundReplacer(key: string, value: unknown): unknown {
  if (typeof value === 'number') return Number.isFinite(value) ? (EXACT.has(key) ? value : Number(value.toPrecision(6))) : null;
  return value;
}
