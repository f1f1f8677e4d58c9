/**
 * Sharded evals. `eval --shard K/N` evaluates its part of the images (src/node/shard.ts) in
 * `<out>/shard-K-of-N`, recording its images in shard.json. `eval merge OUT DIR...` makes
 * the shard folders of one run one eval folder, as if one process had run it: run.json,
 * results.jsonl, the summary tables and the plots. Refused, with the folder and the image
 * named: shards with different settings, a shard given twice or missing, an image in two
 * shards, a shard that did not finish, and shards that computed different methods, layers or
 * metrics.
 */
import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { OptionError } from '../../errors.js';
import { writeFileAtomic } from '../output.js';
import { byName, shardFolder, shardItems, type Shard } from '../shard.js';
import type { Annotations } from './annotations.js';
import type { EvalSettings } from './config.js';
import { writeReport, type EvalReport } from './report.js';
import { readResults, recordLine, RESULTS_FILE, type ImageRecord } from './results.js';

/** What a shard folder records about its part (shard.json). */
export interface ShardRecord {
  index: number;
  count: number;
  /** Images of the whole run (after --limit), all shards together. */
  total: number;
  /** This shard's images (annotation file names), sorted. */
  images: string[];
}

export const SHARD_FILE = 'shard.json';
/** Marks a folder `eval merge` wrote, so a merge may replace it (and never an eval's own results). */
export const MERGED_FILE = 'merged.json';

interface ShardFolder {
  dir: string;
  settings: EvalSettings & { shard?: string };
  shard: ShardRecord;
  records: Map<string, ImageRecord>;
}

export interface MergeResult extends EvalReport {
  shards: number;
  images: number;
}

/**
 * A shard's part of an eval: its images (of the first `limit`) and its folder under `out`,
 * with shard.json written. A folder whose results came from other images (other annotations
 * or --limit) is refused.
 */
export async function evalShard(annotations: Annotations, limit: number | undefined, shard: Shard, out: string): Promise<{ annotations: Annotations; out: string }> {
  const all = annotations.images.slice(0, limit ?? undefined);
  const images = shardItems(all, shard, (i) => i.file);
  const folder = shardFolder(out, shard);
  const record: ShardRecord = { ...shard, total: all.length, images: images.map((i) => i.file) };
  const file = path.join(folder, SHARD_FILE);
  const exists = (f: string) => stat(f).then(() => true, () => false);
  if ((await exists(path.join(folder, RESULTS_FILE))) && (await exists(file))) {
    let old: ShardRecord | undefined;
    try {
      old = JSON.parse(await readFile(file, 'utf8')) as ShardRecord;
    } catch {
      // unreadable: written anew below
    }
    if (old && (old.total !== record.total || JSON.stringify(old.images) !== JSON.stringify(record.images))) {
      throw new OptionError(`${folder} holds results of shard ${shard.index}/${shard.count} of other images (${old.total} in the run, not ${record.total}: other annotations or --limit); use the same ones or another --out`);
    }
  }
  await writeFileAtomic(file, new TextEncoder().encode(`${JSON.stringify(record, null, 1)}\n`));
  return { annotations: { ...annotations, images }, out: folder };
}

export async function mergeShards(out: string, dirs: string[]): Promise<MergeResult> {
  if (!dirs.length) throw new OptionError('eval merge: give the shard folders to merge');
  const resolved = path.resolve(out);
  for (const d of dirs) if (path.resolve(d) === resolved) throw new OptionError(`eval merge: the output folder ${out} is also a shard folder; merge into another folder`);
  const shards = await Promise.all(dirs.map(readShard));
  const settings = sameSettings(shards);
  checkShardSet(shards);
  checkImages(shards);
  checkCoverage(shards);

  await checkOutput(out);
  const records = shards.flatMap((s) => [...s.records.values()]).sort((a, b) => byName(a.image, b.image));
  const enc = new TextEncoder();
  await writeFileAtomic(path.join(out, 'run.json'), enc.encode(`${JSON.stringify(settings, null, 2)}\n`));
  await writeFileAtomic(path.join(out, RESULTS_FILE), enc.encode(records.map((r) => `${recordLine(r)}\n`).join('')));
  const report = await writeReport(out, settings, records);
  const sources = [...shards].sort((a, b) => a.shard.index - b.shard.index).map((s) => path.resolve(s.dir));
  await writeFileAtomic(path.join(out, MERGED_FILE), enc.encode(`${JSON.stringify({ shards: shards[0]!.shard.count, images: records.length, from: sources }, null, 2)}\n`));
  return { ...report, shards: shards.length, images: records.length };
}

async function readShard(dir: string): Promise<ShardFolder> {
  const json = async (name: string, missing: string) => {
    const file = path.join(dir, name);
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') throw new OptionError(`eval merge: ${file} not found: ${missing}`);
      throw e;
    }
    try {
      return JSON.parse(text) as unknown;
    } catch {
      throw new OptionError(`eval merge: ${file} is not valid JSON`);
    }
  };
  const settings = (await json('run.json', `${dir} is not an eval output folder`)) as ShardFolder['settings'];
  const shard = (await json(SHARD_FILE, `${dir} was not written by eval --shard K/N`)) as ShardRecord;
  if (!Number.isInteger(shard?.index) || !Number.isInteger(shard.count) || !Number.isInteger(shard.total) || !Array.isArray(shard.images)) {
    throw new OptionError(`eval merge: ${path.join(dir, SHARD_FILE)} does not describe a shard`);
  }
  return { dir, settings, shard, records: await readResults(path.join(dir, RESULTS_FILE)) };
}

/** The settings every shard shares (without the shard itself); refuses shards of different runs. */
function sameSettings(shards: ShardFolder[]): EvalSettings {
  const strip = (s: ShardFolder['settings']) => {
    const { shard: _shard, ...rest } = s;
    return rest as EvalSettings;
  };
  const first = strip(shards[0]!.settings);
  for (const s of shards.slice(1)) {
    const other = strip(s.settings);
    for (const k of new Set([...Object.keys(first), ...Object.keys(other)])) {
      const a = JSON.stringify((first as unknown as Record<string, unknown>)[k] ?? null);
      const b = JSON.stringify((other as unknown as Record<string, unknown>)[k] ?? null);
      if (a !== b) {
        throw new OptionError(`eval merge: the shards were run with different settings: ${k} = ${a} in ${shards[0]!.dir}, ${b} in ${s.dir}; merge only the shards of one run`);
      }
    }
  }
  return first;
}

/** One folder per shard 0 ... N-1 of the same N and the same images. */
function checkShardSet(shards: ShardFolder[]): void {
  const { count, total } = shards[0]!.shard;
  const seen = new Map<number, string>();
  for (const s of shards) {
    if (s.shard.count !== count) throw new OptionError(`eval merge: ${shards[0]!.dir} is one of ${count} shards, ${s.dir} one of ${s.shard.count}; merge only the shards of one run`);
    if (s.shard.total !== total) throw new OptionError(`eval merge: ${shards[0]!.dir} is part of ${total} images, ${s.dir} of ${s.shard.total}; merge only the shards of one run`);
    const twice = seen.get(s.shard.index);
    if (twice !== undefined) throw new OptionError(`eval merge: ${twice} and ${s.dir} are both shard ${s.shard.index}/${count}`);
    seen.set(s.shard.index, s.dir);
  }
  const missing = Array.from({ length: count }, (_, k) => k).filter((k) => !seen.has(k));
  if (missing.length) {
    throw new OptionError(`eval merge: shard${missing.length > 1 ? 's' : ''} ${missing.join(', ')} of ${count} missing (give the folders of all ${count} shards)`);
  }
}

/** No image in two shards; every image of a shard has results, and no other image has. */
function checkImages(shards: ShardFolder[]): void {
  const owner = new Map<string, string>();
  for (const s of shards) {
    for (const img of s.shard.images) {
      const other = owner.get(img);
      if (other !== undefined) throw new OptionError(`eval merge: image ${img} is in two shards: ${other} and ${s.dir}`);
      owner.set(img, s.dir);
    }
  }
  const total = shards[0]!.shard.total;
  if (owner.size !== total) throw new OptionError(`eval merge: the shards hold ${owner.size} images, but the run has ${total}`);
  for (const s of shards) {
    const mine = new Set(s.shard.images);
    for (const img of s.records.keys()) {
      if (!mine.has(img)) {
        const where = owner.get(img);
        throw new OptionError(`eval merge: ${s.dir} has results for ${img}, which is ${where ? `an image of ${where}` : 'not an image of the run'}`);
      }
    }
    const without = s.shard.images.filter((img) => !s.records.has(img));
    if (without.length) {
      throw new OptionError(`eval merge: ${s.dir}: ${without.length} of ${s.shard.images.length} images have no results (first: ${without[0]}); the shard did not finish — rerun it (it resumes)`);
    }
  }
}

/** Every image of every shard has the same methods, layers and metrics. */
function checkCoverage(shards: ShardFolder[]): void {
  const fields = (r: ImageRecord) => Object.entries(r.combos).flatMap(([combo, c]) => Object.keys(c).map((f) => `${f} of ${combo}`)).sort();
  let reference: { dir: string; list: string[] } | undefined;
  for (const s of shards) {
    for (const r of s.records.values()) {
      const list = fields(r);
      if (!reference) {
        reference = { dir: s.dir, list };
        continue;
      }
      const lacks = reference.list.filter((f) => !list.includes(f));
      const extra = list.filter((f) => !reference!.list.includes(f));
      if (lacks.length || extra.length) {
        const what = lacks.length ? `lacks ${lacks[0]}` : `has ${extra[0]}, which images of ${reference.dir} lack`;
        throw new OptionError(
          `eval merge: image ${r.image} in ${s.dir} ${what}: the shard did not finish (rerun it) or the shards were run with different --methods, --layers or --metrics`,
        );
      }
    }
  }
}

/** The output folder may be new, empty, or an earlier merge; never an eval's own results. */
async function checkOutput(out: string): Promise<void> {
  const has = (name: string) => stat(path.join(out, name)).then(() => true, () => false);
  if ((await has(RESULTS_FILE)) && !(await has(MERGED_FILE))) {
    throw new OptionError(`eval merge: ${out} holds the results of an eval run (${RESULTS_FILE}); merge into a new folder`);
  }
}
