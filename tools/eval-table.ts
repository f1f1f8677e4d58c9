/**
 * One comparison table from several `eval` output folders (issue 17's weighting comparison,
 * where each weighting is a setting of its own run): a column per source and layer, a row per
 * metric, `mean ± half-width` of the 95% t-interval. Every row is computed on the images that
 * all its columns have (paired: the same photos in every column), so runs cut at different
 * lengths still compare like with like; the row's `n` says how many.
 *
 *   node --import tsx tools/eval-table.ts [--metrics a,b,...] [--layers l1,l2] [--limit N]
 *     [--diff LABEL] LABEL=FOLDER[+FOLDER...][:METHOD] ...
 *
 * Reads each folder's results.jsonl; a folder without one (docs/eval keeps only summaries) gives
 * its summary.csv rows, unpaired, marked with their own n where it differs from the row's. METHOD picks one method of a folder that holds several
 * (default: the folder's only one). Several folders for one label are runs of the same
 * configuration with different metrics: per image, a metric comes from the first folder that
 * has it. --limit N keeps the first N images seen (results.jsonl order: the annotation order). --diff LABEL adds, under the table, each column's paired difference from
 * LABEL's column at the same layer (mean ± half-width over the shared images).
 * --metrics takes row names (deletion, sanity@1, class-sens-2nd, ...).
 *
 * --methods-of FOLDER[+FOLDER...] adds one source per method the folders hold (label = the
 * method's name, in the order of the run's --methods), as LABEL=FOLDERS:METHOD would.
 * --transpose writes one row per source and layer and one column per metric (for many methods
 * against few metrics), with a first row giving each column's n: a column's cells are paired
 * over the images every row has; a row with fewer images for that metric (a method run on
 * fewer photos) gets its own n in its cell, unpaired.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { meanCi } from '../src/metrics/stats.js';
import { readResults, splitComboKey, type ComboResult, type ImageRecord } from '../src/node/eval/results.js';
import { summarize, type Better } from '../src/node/eval/summary.js';

interface Column {
  label: string;
  layer: string;
  /** Per image (in first-seen order): metric row name -> value. */
  values: Map<string, Map<string, number>>;
  /** Rows from a folder's summary.csv alone (no results.jsonl kept): not paired, their own n. */
  summary: Map<string, { mean: number; half: number; n: number }>;
}

const ARROWS: Record<Better, string> = { lower: '↓', higher: '↑', zero: '→0' };

/** Three significant figures, as the README tables have them. */
function fmt(v: number): string {
  if (!Number.isFinite(v)) return '-';
  const a = Math.abs(v);
  if (a !== 0 && a < 1e-3) return v.toExponential(1);
  return a >= 100 ? v.toFixed(1) : a >= 10 ? v.toFixed(2) : a >= 1 ? v.toFixed(2) : v.toFixed(3);
}

/** summary.csv rows of one method, by layer and metric. */
function readSummary(folder: string, method: string | undefined, better: Map<string, Better>) {
  const [head, ...lines] = readFileSync(path.join(folder, 'summary.csv'), 'utf8').trim().split('\n');
  const keys = head!.split(',');
  const rows = lines.map((line) => Object.fromEntries(line.split(',').map((x, i) => [keys[i]!, x])) as Record<string, string>);
  const methods = [...new Set(rows.map((r) => r.method!))];
  if (!method && methods.length > 1) throw new Error(`${folder} holds ${methods.join(', ')}: name one as LABEL=${folder}:METHOD`);
  const out = new Map<string, Map<string, { mean: number; half: number; n: number }>>();
  for (const r of rows.filter((x) => x.method === (method ?? methods[0]))) {
    const m = out.get(r.layer!) ?? new Map();
    out.set(r.layer!, m);
    m.set(r.metric!, { mean: Number(r.mean), half: (Number(r.ci_high) - Number(r.ci_low)) / 2, n: Number(r.n) });
    better.set(r.metric!, r.better as Better);
  }
  return out;
}

/** Each image's metric values for one method at one layer (one-image summaries). */
function perImage(records: ImageRecord[], key: string, better: Map<string, Better>): Map<string, Map<string, number>> {
  const out = new Map<string, Map<string, number>>();
  for (const r of records) {
    const c: ComboResult | undefined = r.combos[key];
    if (!c) continue;
    const vals = new Map<string, number>();
    for (const row of summarize([{ ...r, combos: { [key]: c } }]).rows) {
      if (Number.isFinite(row.mean)) vals.set(row.metric, row.mean);
      better.set(row.metric, row.better);
    }
    out.set(r.image, vals);
  }
  return out;
}

/** results.jsonl of a folder, read once however many sources name it. */
const cache = new Map<string, Promise<Map<string, ImageRecord>>>();
function recordsOf(folder: string): Promise<Map<string, ImageRecord>> {
  const file = path.join(folder, 'results.jsonl');
  if (!cache.has(file)) cache.set(file, readResults(file));
  return cache.get(file)!;
}

/** The methods of the folders' results, in the order they first appear (the run's --methods order). */
async function methodsOf(folders: string[]): Promise<string[]> {
  const out: string[] = [];
  for (const f of folders) {
    for (const r of (await recordsOf(f)).values()) for (const k of Object.keys(r.combos)) if (!out.includes(splitComboKey(k).method)) out.push(splitComboKey(k).method);
  }
  return out;
}

async function main(argv: string[]): Promise<void> {
  let metrics: string[] | undefined;
  let transpose = false;
  let layers: string[] | undefined;
  let limit: number | undefined;
  let diff: string | undefined;
  const sources: { label: string; folders: string[]; method?: string }[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--metrics') metrics = argv[++i]!.split(',');
    else if (a === '--layers') layers = argv[++i]!.split(',');
    else if (a === '--limit') limit = Number(argv[++i]);
    else if (a === '--diff') diff = argv[++i]!;
    else if (a === '--transpose') transpose = true;
    else if (a === '--methods-of') {
      const folders = argv[++i]!.split('+');
      for (const method of await methodsOf(folders)) sources.push({ label: method, folders, method });
    } else {
      const eq = a.indexOf('=');
      if (eq < 1) throw new Error(`expected LABEL=FOLDER[+FOLDER...][:METHOD], got '${a}'`);
      const [folders, method] = a.slice(eq + 1).split(':');
      sources.push({ label: a.slice(0, eq), folders: folders!.split('+'), method });
    }
  }
  const better = new Map<string, Better>();
  const columns: Column[] = [];
  const order: string[] = []; // every image seen, in first-seen order
  const seen = new Set<string>();
  for (const s of sources) {
    const byLayer = new Map<string, Map<string, Map<string, number>>>();
    const summaries = new Map<string, Map<string, { mean: number; half: number; n: number }>>();
    for (const folder of s.folders) {
      if (!existsSync(path.join(folder, 'results.jsonl'))) {
        if (!existsSync(path.join(folder, 'summary.csv'))) throw new Error(`${folder}: neither results.jsonl nor summary.csv there`);
        for (const [layer, rows] of readSummary(folder, s.method, better)) {
          const mine = summaries.get(layer) ?? new Map();
          summaries.set(layer, mine);
          for (const [m, v] of rows) if (!mine.has(m)) mine.set(m, v);
          if (!byLayer.has(layer)) byLayer.set(layer, new Map());
        }
        continue;
      }
      const records = [...(await recordsOf(folder)).values()];
      if (!records.length) throw new Error(`${folder}: no results in results.jsonl`);
      for (const r of records) {
        if (!seen.has(r.image)) order.push(r.image);
        seen.add(r.image);
      }
      const keys = [...new Set(records.flatMap((r) => Object.keys(r.combos)))];
      const methods = [...new Set(keys.map((k) => splitComboKey(k).method))];
      const method = s.method ?? methods[0]!;
      if (!s.method && methods.length > 1) throw new Error(`${folder} holds ${methods.join(', ')}: name one as ${s.label}=${folder}:METHOD`);
      for (const key of keys.filter((k) => splitComboKey(k).method === method)) {
        const layer = splitComboKey(key).layer;
        const mine = byLayer.get(layer) ?? new Map<string, Map<string, number>>();
        byLayer.set(layer, mine);
        // First folder wins per image and metric.
        for (const [image, vals] of perImage(records, key, better)) {
          const have = mine.get(image) ?? new Map<string, number>();
          mine.set(image, have);
          for (const [m, v] of vals) if (!have.has(m)) have.set(m, v);
        }
      }
    }
    for (const [layer, values] of byLayer) columns.push({ label: s.label, layer, values, summary: summaries.get(layer) ?? new Map() });
  }
  const keep = limit ? new Set(order.slice(0, limit)) : undefined;
  const layerOrder = layers ?? [...new Set(columns.map((c) => c.layer))];
  // Transposed: rows in the sources' order (the run's --methods order); else columns grouped by layer.
  const cols = transpose ? columns.filter((c) => layerOrder.includes(c.layer)) : layerOrder.flatMap((l) => columns.filter((c) => c.layer === l));
  const allMetrics = [...better.keys()];
  const metricOrder = metrics ? metrics.filter((m) => better.has(m)) : allMetrics;

  /** The images every given column has a value of metric m for, in the first source's order. */
  const common = (cs: Column[], m: string) =>
    order.filter((img) => (!keep || keep.has(img)) && cs.every((c) => c.values.get(img)?.has(m)));

  const short = (l: string) => l.replace(/^conv_pw_(\d+)_relu$/, '@$1').replace(/^(block\d+)_pool$/, '@$1');
  if (transpose) {
    process.stdout.write(transposed(cols, metricOrder, common, better, short));
    return;
  }
  const head = (cs: Column[]) => [`| metric | n | ${cs.map((c) => `${c.label} ${short(c.layer)}`).join(' | ')} |`, `|---|---|${cs.map(() => '---|').join('')}`];
  const out = head(cols);
  for (const m of metricOrder) {
    // A column's per-image values win over its summary rows; summary-only cells keep their own n.
    const have = cols.filter((c) => [...c.values.values()].some((v) => v.has(m)));
    const fromSummary = cols.filter((c) => !have.includes(c) && c.summary.has(m));
    if (!have.length && !fromSummary.length) continue;
    const imgs = common(have, m);
    const n = have.length ? imgs.length : Math.max(...fromSummary.map((c) => c.summary.get(m)!.n));
    const cells = cols.map((c) => {
      if (fromSummary.includes(c)) {
        const r = c.summary.get(m)!;
        return `${fmt(r.mean)} ± ${fmt(r.half)}${r.n === n ? '' : ` (n=${r.n})`}`;
      }
      if (!have.includes(c)) return '';
      const ci = meanCi(imgs.map((i) => c.values.get(i)!.get(m)!));
      return `${fmt(ci.mean)} ± ${fmt((ci.high - ci.low) / 2)}`;
    });
    out.push(`| ${m} ${ARROWS[better.get(m)!]} | ${n} | ${cells.join(' | ')} |`);
  }
  process.stdout.write(`${out.join('\n')}\n`);

  if (diff) {
    const others = cols.filter((c) => c.label !== diff && cols.some((r) => r.label === diff && r.layer === c.layer));
    const d = [`| metric | ${others.map((c) => `${c.label} − ${diff} ${short(c.layer)}`).join(' | ')} |`, `|---|${others.map(() => '---|').join('')}`];
    for (const m of metricOrder) {
      const cells = others.map((c) => {
        const ref = cols.find((r) => r.label === diff && r.layer === c.layer)!;
        const imgs = common([c, ref], m);
        if (imgs.length < 2) return '';
        const ci = meanCi(imgs.map((i) => c.values.get(i)!.get(m)! - ref.values.get(i)!.get(m)!));
        return `${fmt(ci.mean)} ± ${fmt((ci.high - ci.low) / 2)} (${imgs.length})`;
      });
      if (cells.some(Boolean)) d.push(`| ${m} ${ARROWS[better.get(m)!]} | ${cells.join(' | ')} |`);
    }
    process.stdout.write(`\nPaired differences from ${diff} (mean ± half-width, (n)):\n\n${d.join('\n')}\n`);
  }
}


/** Metric ids as the transposed table's column heads. */
const HEADS: Record<string, string> = { ad: 'AD %', ic: 'IC %', ag: 'AG %' };

/**
 * One row per column (source and layer), one column per metric, a first row of n. Per metric,
 * the rows with the most images are paired over the images they all have; a row with fewer
 * images gets its own mean over those, marked with its n.
 */
function transposed(
  cols: Column[], metricOrder: string[], common: (cs: Column[], m: string) => string[], better: Map<string, Better>, short: (l: string) => string,
): string {
  const ms = metricOrder.filter((m) => cols.some((c) => [...c.values.values()].some((v) => v.has(m))));
  const count = (c: Column, m: string) => common([c], m).length;
  const paired = new Map(ms.map((m) => {
    const most = Math.max(...cols.map((c) => count(c, m)));
    const full = cols.filter((c) => count(c, m) === most);
    return [m, { full, imgs: common(full, m) }];
  }));
  const lines = [
    `| method | where | ${ms.map((m) => `${HEADS[m] ?? m} ${ARROWS[better.get(m)!]}`).join(' | ')} |`,
    `|---|---|${ms.map(() => '---:|').join('')}`,
    `| *n (photos)* | | ${ms.map((m) => paired.get(m)!.imgs.length).join(' | ')} |`,
  ];
  for (const c of cols) {
    const cells = ms.map((m) => {
      const p = paired.get(m)!;
      const imgs = p.full.includes(c) ? p.imgs : common([c], m);
      if (!imgs.length) return '';
      const ci = meanCi(imgs.map((i) => c.values.get(i)!.get(m)!));
      const half = (ci.high - ci.low) / 2;
      return `${fmt(ci.mean)}${Number.isFinite(half) ? ` ± ${fmt(half)}` : ''}${p.full.includes(c) ? '' : ` (n=${imgs.length})`}`;
    });
    lines.push(`| \`${c.label}\` | ${short(c.layer)} | ${cells.join(' | ')} |`);
  }
  return `${lines.join('\n')}\n`;
}

await main(process.argv.slice(2));
