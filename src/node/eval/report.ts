/**
 * What an eval folder shows: summary.md / .csv / .json and the plots, from its per-image
 * records. The records are taken in image-name order, so the same records give the same files
 * byte for byte however they were computed (one run, a resumed run, merged shards).
 */
import path from 'node:path';
import { writeFileAtomic } from '../output.js';
import { byName } from '../shard.js';
import type { EvalSettings } from './config.js';
import { metricPlots } from './plots.js';
import type { ImageRecord } from './results.js';
import { csvTable, markdownTable, METRIC_LEGEND, summarize, type Summary } from './summary.js';

export interface EvalReport {
  summary: Summary;
  /** The Markdown table (also in summary.md). */
  markdown: string;
  /** The files written, by name. */
  files: string[];
}

export async function writeReport(out: string, settings: EvalSettings, records: Iterable<ImageRecord>): Promise<EvalReport> {
  const summary = summarize([...records].sort((a, b) => byName(a.image, b.image)));
  const markdown = markdownTable(summary);
  const enc = new TextEncoder();
  await writeFileAtomic(path.join(out, 'summary.md'), enc.encode(markdown));
  await writeFileAtomic(path.join(out, 'summary.csv'), enc.encode(csvTable(summary)));
  await writeFileAtomic(
    path.join(out, 'summary.json'),
    enc.encode(`${JSON.stringify({ settings, images: summary.images, legend: METRIC_LEGEND, rows: summary.rows, curves: summary.curves }, finite, 1)}\n`),
  );
  const plots = await metricPlots(summary.curves);
  for (const [name, png] of plots) await writeFileAtomic(path.join(out, name), png);
  return { summary, markdown, files: ['summary.md', 'summary.csv', 'summary.json', 'results.jsonl', ...plots.keys()] };
}

/** JSON has no NaN: write null. */
function finite(_k: string, v: unknown): unknown {
  return typeof v === 'number' && !Number.isFinite(v) ? null : v;
}
