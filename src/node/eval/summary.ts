/**
 * Per-image results -> one row per method, layer and metric: mean and 95% t-interval over
 * the images that have the metric, plus the mean curves the plots draw. Written as
 * Markdown (printed), CSV and JSON.
 */
import { confidenceTerms } from '../../metrics/average-drop.js';
import { roadSummary } from '../../metrics/road.js';
import { meanCi } from '../../metrics/stats.js';
import { splitComboKey, type ComboResult, type ImageRecord } from './results.js';

export type Better = 'lower' | 'higher' | 'zero';

export interface SummaryRow {
  method: string;
  layer: string;
  metric: string;
  /** zero: the sanity check wants no correlation with the original map. */
  better: Better;
  mean: number;
  ciLow: number;
  ciHigh: number;
  n: number;
}

/** Mean curves of one method at one layer. */
export interface ComboCurves {
  method: string;
  layer: string;
  deletion?: number[];
  insertion?: number[];
  road?: { percentiles: number[]; morf: number[]; lerf: number[] };
  completeness?: { steps: number[]; absError: number[]; relError: number[] };
  sanity?: { counts: number[]; deepest: string[]; rho: number[] };
}

export interface Summary {
  images: number;
  rows: SummaryRow[];
  curves: ComboCurves[];
}

interface MetricDef {
  metric: string;
  better: Better;
  value: (c: ComboResult) => number | undefined;
}

const FIXED: MetricDef[] = [
  { metric: 'deletion', better: 'lower', value: (c) => c.deletion?.auc },
  { metric: 'insertion', better: 'higher', value: (c) => c.insertion?.auc },
  { metric: 'ad', better: 'lower', value: (c) => (c.adic ? confidenceTerms(c.adic.y, c.adic.o).drop : undefined) },
  { metric: 'ic', better: 'higher', value: (c) => (c.adic ? confidenceTerms(c.adic.y, c.adic.o).increase : undefined) },
  { metric: 'ag', better: 'higher', value: (c) => (c.adic ? confidenceTerms(c.adic.y, c.adic.o).gain : undefined) },
  { metric: 'road-morf', better: 'lower', value: (c) => (c.road ? roadSummary(c.road.morf, c.road.lerf).morf : undefined) },
  { metric: 'road-lerf', better: 'higher', value: (c) => (c.road ? roadSummary(c.road.morf, c.road.lerf).lerf : undefined) },
  { metric: 'road', better: 'higher', value: (c) => (c.road ? roadSummary(c.road.morf, c.road.lerf).combined : undefined) },
  { metric: 'pointing', better: 'higher', value: (c) => c.pointing },
  { metric: 'energy', better: 'higher', value: (c) => c.energy },
  { metric: 'class-sens-2nd', better: 'lower', value: (c) => c.classSensitivity?.rho[0] },
  { metric: 'class-sens-random', better: 'lower', value: (c) => c.classSensitivity?.rho[1] },
];

/** Metric ids, their direction and descriptions, for table legends. */
export const METRIC_LEGEND: Record<string, string> = {
  deletion: 'deletion AUC of the class probability (RISE)',
  insertion: 'insertion AUC, from a blurred image (RISE)',
  ad: 'Average Drop, % (Grad-CAM++)',
  ic: 'Increase in Confidence, % (Grad-CAM++)',
  ag: 'Average Gain, % (Opti-CAM)',
  'road-morf': 'ROAD, mean probability with the most relevant pixels imputed',
  'road-lerf': 'ROAD, mean probability with the least relevant pixels imputed',
  road: 'ROAD combined, mean (LeRF - MoRF) / 2',
  pointing: 'pointing game accuracy',
  energy: 'energy-based pointing game',
  'class-sens-2nd': "Spearman rho of the target's map vs the runner-up class's map",
  'class-sens-random': "Spearman rho of the target's map vs a random class's map",
  'completeness@m': '|sum IG - (s(x) - s(x\'))| with m path steps',
  'completeness-rel@m': 'the same over |s(x) - s(x\')|',
  'sanity@k': 'Spearman rho of the map vs the map with the top k layers randomised',
};

export function summarize(records: Iterable<ImageRecord>): Summary {
  const list = [...records];
  const keys: string[] = [];
  for (const r of list) for (const k of Object.keys(r.combos)) if (!keys.includes(k)) keys.push(k);
  const seen = new Map(keys.map((k, i) => [k, i]));
  keys.sort((a, b) => splitComboKey(a).method.localeCompare(splitComboKey(b).method) || seen.get(a)! - seen.get(b)!);
  const rows: SummaryRow[] = [];
  const curves: ComboCurves[] = [];
  for (const key of keys) {
    const { method, layer } = splitComboKey(key);
    const results = list.map((r) => r.combos[key]).filter((c): c is ComboResult => !!c);
    const row = (metric: string, better: Better, values: number[]) => {
      if (!values.length) return;
      const ci = meanCi(values);
      rows.push({ method, layer, metric, better, mean: ci.mean, ciLow: ci.low, ciHigh: ci.high, n: ci.n });
    };
    for (const d of FIXED) row(d.metric, d.better, results.map(d.value).filter((v): v is number => v !== undefined && v !== null));
    const curve: ComboCurves = { method, layer };
    curve.deletion = meanCurve(results.map((c) => c.deletion?.curve));
    curve.insertion = meanCurve(results.map((c) => c.insertion?.curve));
    const road = results.filter((c) => c.road);
    if (road.length) {
      curve.road = { percentiles: road[0]!.road!.percentiles, morf: meanCurve(road.map((c) => c.road!.morf))!, lerf: meanCurve(road.map((c) => c.road!.lerf))! };
    }
    const steps = [...new Set(results.flatMap((c) => c.completeness?.map((p) => p.steps) ?? []))].sort((a, b) => a - b);
    if (steps.length) {
      const at = (m: number, f: 'absError' | 'relError') =>
        results.flatMap((c) => c.completeness?.filter((p) => p.steps === m).map((p) => p[f]) ?? []).filter((v) => typeof v === 'number' && Number.isFinite(v));
      for (const m of steps) row(`completeness@${m}`, 'lower', at(m, 'absError'));
      for (const m of steps) row(`completeness-rel@${m}`, 'lower', at(m, 'relError'));
      curve.completeness = { steps, absError: steps.map((m) => meanCi(at(m, 'absError')).mean), relError: steps.map((m) => meanCi(at(m, 'relError')).mean) };
    }
    const sanity = results.filter((c) => c.sanity);
    if (sanity.length) {
      const { counts, deepest } = sanity[0]!.sanity!;
      counts.forEach((k, s) => row(`sanity@${k}`, 'zero', sanity.map((c) => c.sanity!.rho[s]!).filter((v) => typeof v === 'number')));
      curve.sanity = { counts, deepest, rho: meanCurve(sanity.map((c) => c.sanity!.rho))! };
    }
    curves.push(curve);
  }
  return { images: list.length, rows, curves };
}

/** Point-wise mean of the curves given (all of the first one's length). */
function meanCurve(cs: (number[] | undefined)[]): number[] | undefined {
  const ok = cs.filter((c): c is number[] => !!c);
  if (!ok.length) return undefined;
  const len = ok[0]!.length;
  const same = ok.filter((c) => c.length === len);
  return Array.from({ length: len }, (_, i) => same.reduce((s, c) => s + (c[i] ?? NaN), 0) / same.length);
}

const ARROWS: Record<Better, string> = { lower: '↓', higher: '↑', zero: '→0' };

function fmt(v: number, digits = 3): string {
  if (!Number.isFinite(v)) return '-';
  const a = Math.abs(v);
  if (a !== 0 && (a < 1e-3 || a >= 1e5)) return v.toExponential(2);
  return v.toFixed(a >= 100 ? 1 : digits);
}

/** Wide Markdown table: one row per metric, one column per method and layer, mean +- CI half-width. */
export function markdownTable(s: Summary): string {
  const combos: string[] = [];
  for (const r of s.rows) {
    const c = `${r.method} @ ${r.layer}`;
    if (!combos.includes(c)) combos.push(c);
  }
  const metrics: string[] = [];
  for (const r of s.rows) if (!metrics.includes(r.metric)) metrics.push(r.metric);
  const lines = [`| metric | better | n | ${combos.join(' | ')} |`, `|---|---|---|${combos.map(() => '---|').join('')}`];
  for (const m of metrics) {
    const rs = s.rows.filter((r) => r.metric === m);
    const n = Math.max(...rs.map((r) => r.n));
    const cells = combos.map((c) => {
      const r = rs.find((x) => `${x.method} @ ${x.layer}` === c);
      if (!r) return '';
      const half = (r.ciHigh - r.ciLow) / 2;
      return Number.isFinite(half) ? `${fmt(r.mean)} ± ${fmt(half)}` : fmt(r.mean);
    });
    lines.push(`| ${m} | ${ARROWS[rs[0]!.better]} | ${n} | ${cells.join(' | ')} |`);
  }
  return `${lines.join('\n')}\n`;
}

export function csvTable(s: Summary): string {
  const q = (v: string) => (/[",\n]/.test(v) ? `"${v.replace(/"/g, '""')}"` : v);
  const num = (v: number) => (Number.isFinite(v) ? String(Number(v.toPrecision(6))) : '');
  const lines = ['method,layer,metric,better,mean,ci_low,ci_high,n'];
  for (const r of s.rows) lines.push([q(r.method), q(r.layer), q(r.metric), r.better, num(r.mean), num(r.ciLow), num(r.ciHigh), String(r.n)].join(','));
  return `${lines.join('\n')}\n`;
}
