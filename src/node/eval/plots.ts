/**
 * Metric plots as SVG line charts, rasterised to PNG by sharp (librsvg): mean deletion and
 * insertion curves, ROAD curves, completeness error against path steps, and sanity-check
 * correlations against randomisation depth.
 */
import sharp from 'sharp';
import { escapeXml } from '../render.js';
import type { ComboCurves } from './summary.js';

export interface Series {
  label: string;
  color: string;
  dash?: string;
  x: number[];
  y: number[];
}

export interface Panel {
  title: string;
  xLabel: string;
  yLabel: string;
  series: Series[];
  xLog?: boolean;
  yLog?: boolean;
  /** Fixed y range; default from the data. */
  yRange?: [number, number];
  /** x tick positions (default: round numbers). */
  xTicks?: number[];
}

const FONT = 'DejaVu Sans, Liberation Sans, Arial, sans-serif';
const PANEL_W = 470;
const PLOT_H = 280;
const M = { left: 62, right: 16, top: 34, bottom: 46 };
const LEGEND_LINE = 17;

/** An SVG of the panels side by side, each with its legend below. */
export function chartSvg(panels: Panel[]): { svg: string; width: number; height: number } {
  const legendRows = Math.max(...panels.map((p) => p.series.length));
  const H = M.top + PLOT_H + M.bottom + legendRows * LEGEND_LINE + 8;
  const W = PANEL_W * panels.length;
  const body = panels.map((p, i) => panelSvg(p, i * PANEL_W, H)).join('');
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="${FONT}"><rect width="${W}" height="${H}" fill="white"/>${body}</svg>`;
  return { svg, width: W, height: H };
}

export async function chartPng(panels: Panel[]): Promise<Buffer> {
  const { svg } = chartSvg(panels);
  return sharp(Buffer.from(svg)).png().toBuffer();
}

function panelSvg(p: Panel, x0: number, _H: number): string {
  const pw = PANEL_W - M.left - M.right;
  const left = x0 + M.left;
  const top = M.top;
  const pts = p.series.flatMap((s) => s.x.map((x, i) => [x, s.y[i]!] as const)).filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y) && (!p.xLog || x > 0) && (!p.yLog || y > 0));
  if (!pts.length) return `<text x="${x0 + PANEL_W / 2}" y="${top + PLOT_H / 2}" text-anchor="middle" font-size="13">${escapeXml(p.title)}: no data</text>`;
  const tx = (v: number) => (p.xLog ? Math.log10(v) : v);
  const ty = (v: number) => (p.yLog ? Math.log10(v) : v);
  let [xmin, xmax] = extent(pts.map(([x]) => tx(x)));
  let [ymin, ymax] = p.yRange ? [ty(p.yRange[0]), ty(p.yRange[1])] : extent(pts.map(([, y]) => ty(y)));
  if (xmax === xmin) (xmin -= 0.5), (xmax += 0.5);
  if (ymax === ymin) (ymin -= 0.5), (ymax += 0.5);
  if (!p.yRange) {
    const pad = (ymax - ymin) * 0.05;
    ymin -= pad;
    ymax += pad;
  }
  const sx = (v: number) => left + ((tx(v) - xmin) / (xmax - xmin)) * pw;
  const sy = (v: number) => top + PLOT_H - ((ty(v) - ymin) / (ymax - ymin)) * PLOT_H;
  const out: string[] = [];
  out.push(`<text x="${x0 + PANEL_W / 2}" y="20" text-anchor="middle" font-size="14" font-weight="bold">${escapeXml(p.title)}</text>`);
  out.push(`<rect x="${left}" y="${top}" width="${pw}" height="${PLOT_H}" fill="none" stroke="#444"/>`);
  const xTicks = p.xTicks ?? (p.xLog ? logTicks(xmin, xmax).map((t) => 10 ** t) : niceTicks(xmin, xmax));
  for (const v of xTicks) {
    const X = sx(v);
    out.push(`<line x1="${X}" y1="${top}" x2="${X}" y2="${top + PLOT_H}" stroke="#e4e4e4"/>`);
    out.push(`<text x="${X}" y="${top + PLOT_H + 15}" text-anchor="middle" font-size="11">${tickText(v)}</text>`);
  }
  for (const t of p.yLog ? logTicks(ymin, ymax) : niceTicks(ymin, ymax)) {
    const v = p.yLog ? 10 ** t : t;
    const Y = sy(v);
    out.push(`<line x1="${left}" y1="${Y}" x2="${left + pw}" y2="${Y}" stroke="#e4e4e4"/>`);
    out.push(`<text x="${left - 5}" y="${Y + 4}" text-anchor="end" font-size="11">${tickText(v)}</text>`);
  }
  out.push(`<text x="${left + pw / 2}" y="${top + PLOT_H + 34}" text-anchor="middle" font-size="12">${escapeXml(p.xLabel)}</text>`);
  out.push(`<text transform="translate(${x0 + 13},${top + PLOT_H / 2}) rotate(-90)" text-anchor="middle" font-size="12">${escapeXml(p.yLabel)}</text>`);
  p.series.forEach((s, i) => {
    const d = s.x
      .map((x, k) => [x, s.y[k]!] as const)
      .filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y) && (!p.xLog || x > 0) && (!p.yLog || y > 0))
      .map(([x, y], k) => `${k ? 'L' : 'M'}${sx(x).toFixed(1)},${sy(y).toFixed(1)}`)
      .join('');
    out.push(`<path d="${d}" fill="none" stroke="${s.color}" stroke-width="2"${s.dash ? ` stroke-dasharray="${s.dash}"` : ''}/>`);
    if (s.x.length <= 12) {
      for (const [k, x] of s.x.entries()) {
        const y = s.y[k]!;
        if (Number.isFinite(y) && (!p.yLog || y > 0)) out.push(`<circle cx="${sx(x).toFixed(1)}" cy="${sy(y).toFixed(1)}" r="3" fill="${s.color}"/>`);
      }
    }
    const ly = top + PLOT_H + M.bottom + i * LEGEND_LINE + 8;
    out.push(`<line x1="${left}" y1="${ly}" x2="${left + 28}" y2="${ly}" stroke="${s.color}" stroke-width="2"${s.dash ? ` stroke-dasharray="${s.dash}"` : ''}/>`);
    out.push(`<text x="${left + 34}" y="${ly + 4}" font-size="11">${escapeXml(s.label)}</text>`);
  });
  return out.join('');
}

function extent(v: number[]): [number, number] {
  return [Math.min(...v), Math.max(...v)];
}

function niceTicks(lo: number, hi: number, target = 6): number[] {
  const span = hi - lo;
  const raw = span / target;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((f) => f * mag).find((s) => span / s <= target) ?? 10 * mag;
  const out: number[] = [];
  for (let t = Math.ceil(lo / step) * step; t <= hi + step * 1e-9; t += step) out.push(Number(t.toPrecision(12)));
  return out;
}

/** Ticks (in log10 units) at powers of 10, or of 2 when the range spans less than two decades. */
/** Ticks (in log10 units) at 1, 2 and 5 times powers of ten when the range spans under two decades, else at powers of ten. */
function logTicks(lo: number, hi: number): number[] {
  const out: number[] = [];
  const mantissas = hi - lo < 2 ? [1, 2, 5] : [1];
  for (let k = Math.floor(lo); k <= Math.ceil(hi); k++) {
    for (const m of mantissas) {
      const t = k + Math.log10(m);
      if (t >= lo - 1e-9 && t <= hi + 1e-9) out.push(t);
    }
  }
  return out;
}

function tickText(v: number): string {
  const a = Math.abs(v);
  if (a !== 0 && (a < 1e-4 || a >= 1e5)) return v.toExponential(0);
  return String(Number(v.toPrecision(3)));
}

const METHOD_COLORS: Record<string, string> = { gradcam: '#1f77b4', 'rsi-grad-cam': '#d62728' };
const EXTRA_COLORS = ['#2ca02c', '#9467bd', '#ff7f0e', '#8c564b', '#e377c2', '#17becf', '#bcbd22', '#7f7f7f'];
const DASHES = [undefined, '7 4', '2 3', '10 3 2 3'];

/** Colour by method, dash pattern by layer. */
export function seriesStyle(curves: ComboCurves[]): (c: ComboCurves) => { color: string; dash?: string; label: string } {
  const methods = [...new Set(curves.map((c) => c.method))];
  const layers = [...new Set(curves.map((c) => c.layer))];
  return (c) => ({
    color: METHOD_COLORS[c.method] ?? EXTRA_COLORS[methods.indexOf(c.method) % EXTRA_COLORS.length]!,
    dash: DASHES[layers.indexOf(c.layer) % DASHES.length],
    label: `${c.method} @ ${c.layer}`,
  });
}

/** The plots the curves allow, by file name. */
export async function metricPlots(curves: ComboCurves[]): Promise<Map<string, Buffer>> {
  const style = seriesStyle(curves);
  const out = new Map<string, Buffer>();
  const auc = (y: number[]) => (y.reduce((s, v) => s + v, 0) - y[0]! / 2 - y[y.length - 1]! / 2) / (y.length - 1);
  const xs = (n: number) => Array.from({ length: n }, (_, i) => i / (n - 1));
  const del = curves.filter((c) => c.deletion);
  const ins = curves.filter((c) => c.insertion);
  if (del.length || ins.length) {
    const panels: Panel[] = [];
    if (del.length) {
      panels.push({
        title: 'Deletion (lower area is better)', xLabel: 'fraction of pixels deleted', yLabel: 'mean class probability', yRange: [0, 1],
        series: del.map((c) => ({ ...style(c), label: `${style(c).label} (AUC ${auc(c.deletion!).toFixed(3)})`, x: xs(c.deletion!.length), y: c.deletion! })),
      });
    }
    if (ins.length) {
      panels.push({
        title: 'Insertion (higher area is better)', xLabel: 'fraction of pixels inserted', yLabel: 'mean class probability', yRange: [0, 1],
        series: ins.map((c) => ({ ...style(c), label: `${style(c).label} (AUC ${auc(c.insertion!).toFixed(3)})`, x: xs(c.insertion!.length), y: c.insertion! })),
      });
    }
    out.set('deletion-insertion.png', await chartPng(panels));
  }
  const road = curves.filter((c) => c.road);
  if (road.length) {
    out.set('road.png', await chartPng([
      { title: 'ROAD MoRF (lower is better)', xLabel: '% of pixels removed (most relevant first)', yLabel: 'mean class probability', yRange: [0, 1], series: road.map((c) => ({ ...style(c), x: c.road!.percentiles, y: c.road!.morf })) },
      { title: 'ROAD LeRF (higher is better)', xLabel: '% of pixels removed (least relevant first)', yLabel: 'mean class probability', yRange: [0, 1], series: road.map((c) => ({ ...style(c), x: c.road!.percentiles, y: c.road!.lerf })) },
    ]));
  }
  const comp = curves.filter((c) => c.completeness);
  if (comp.length) {
    out.set('completeness.png', await chartPng([
      { title: 'Completeness error vs path steps', xLabel: 'path steps m', yLabel: "mean |sum IG - (s(x) - s(x'))|", xLog: true, yLog: true, xTicks: comp[0]!.completeness!.steps, series: comp.map((c) => ({ ...style(c), x: c.completeness!.steps, y: c.completeness!.absError })) },
      { title: 'Relative completeness error', xLabel: 'path steps m', yLabel: "mean |error| / |s(x) - s(x')|", xLog: true, yLog: true, xTicks: comp[0]!.completeness!.steps, series: comp.map((c) => ({ ...style(c), x: c.completeness!.steps, y: c.completeness!.relError })) },
    ]));
  }
  const san = curves.filter((c) => c.sanity);
  if (san.length) {
    const low = Math.min(-0.2, ...san.flatMap((c) => c.sanity!.rho.filter(Number.isFinite)));
    out.set('sanity.png', await chartPng([
      {
        title: 'Sanity check: cascading randomisation', xLabel: 'top layers with random weights (from the logits down)', yLabel: 'mean Spearman rho with the original map',
        yRange: [Math.floor(low * 10) / 10, 1],
        xTicks: san[0]!.sanity!.counts,
        series: san.map((c) => ({ ...style(c), x: c.sanity!.counts, y: c.sanity!.rho })),
      },
    ]));
  }
  return out;
}
