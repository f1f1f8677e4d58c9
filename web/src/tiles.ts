/** Result tiles: the heatmap over the photo, hover readout, downloads, and RSI-Grad-CAM's path plot. */
import { colormapLut, type ColormapName } from '../../src/core.js';
import type { MethodResult } from './protocol.js';

export interface DisplayOptions {
  alpha: number;
  colormap: ColormapName;
}

export interface Tile {
  el: HTMLElement;
  method: string;
  result?: MethodResult;
  /** The photo at display size (RGBA) the heatmap is drawn over. */
  redraw(d: DisplayOptions): void;
}

const h = <K extends keyof HTMLElementTagNameMap>(tag: K, props: Partial<HTMLElementTagNameMap[K]> & Record<string, unknown> = {}, ...children: (Node | string)[]) => {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(props)) {
    if (k.startsWith('data-') || k.startsWith('aria-')) el.setAttribute(k, String(v));
    else (el as unknown as Record<string, unknown>)[k] = v;
  }
  el.append(...children);
  return el;
};
export { h };

/** A tile for a method, pending until its result arrives. */
export function createTile(method: string, title: string, photo: ImageData, hover: (text: string) => void): Tile {
  const canvas = h('canvas', { className: 'view', width: photo.width, height: photo.height, 'aria-label': `${title} heatmap` });
  const time = h('span', { className: 'time' }, 'waiting…');
  const body = h('div', { className: 'body' });
  const el = h('article', { className: 'tile pending', 'data-method': method, 'data-state': 'pending' }, h('header', {}, h('h3', {}, title), time), canvas, body);
  canvas.getContext('2d')!.putImageData(photo, 0, 0);
  const tile: Tile = {
    el,
    method,
    redraw(d) {
      if (!tile.result) return;
      drawOverlay(canvas, photo, tile.result, d);
    },
  };
  canvas.addEventListener('mousemove', (ev) => {
    const r = tile.result;
    if (!r) return;
    const rect = canvas.getBoundingClientRect();
    const x = Math.floor(((ev.clientX - rect.left) / rect.width) * r.heatSize[0]);
    const y = Math.floor(((ev.clientY - rect.top) / rect.height) * r.heatSize[1]);
    if (x < 0 || y < 0 || x >= r.heatSize[0] || y >= r.heatSize[1]) return;
    hover(`${title}: ${r.heat[y * r.heatSize[0] + x]!.toFixed(3)} at (${x}, ${y})`);
  });
  canvas.addEventListener('mouseleave', () => hover(''));
  (tile as Tile & { fill(r: MethodResult, d: DisplayOptions, photoName: string): void });
  Object.assign(tile, {
    fill(r: MethodResult, d: DisplayOptions, photoName: string) {
      tile.result = r;
      el.classList.remove('pending');
      el.dataset.state = 'done';
      time.textContent = `${formatMs(r.ms)} · ${r.evaluations} evaluation${r.evaluations === 1 ? '' : 's'}${r.backend === 'webgpu' ? ' · WebGPU' : ''}`;
      drawOverlay(canvas, photo, r, d);
      body.replaceChildren();
      const target = r.json.target as { index: number; label: string };
      body.append(h('div', {}, `class `, h('b', {}, target.label), ` · p = ${(r.json.probability as number).toFixed(3)} · ${r.usesLayer ? `layer ${String(r.json.layer)}` : 'input pixels'}`));
      if (r.completenessError !== undefined) {
        const rel = r.relativeCompletenessError!;
        body.append(
          h('div', { className: 'completeness', 'data-relative': String(rel) }, `completeness error ${r.completenessError.toExponential(2)} (${Number.isFinite(rel) ? (rel * 100).toFixed(2) + '%' : '∞'} of the score change)`),
        );
      }
      if (r.pathTrace) body.append(pathPlot(r.pathTrace));
      const stem = `${photoName.replace(/\.[^.]*$/, '')}.${r.method}`;
      const png = h('button', { className: 'button small', type: 'button', 'data-download': 'png' }, 'PNG');
      png.addEventListener('click', () => canvas.toBlob((b) => b && save(b, `${stem}.png`), 'image/png'));
      const json = h('button', { className: 'button small', type: 'button', 'data-download': 'json' }, 'JSON');
      json.addEventListener('click', () => save(new Blob([`${JSON.stringify(r.json)}\n`], { type: 'application/json' }), `${stem}.json`));
      body.append(h('div', { className: 'links' }, png, json));
    },
  });
  return tile;
}

export function fillTile(tile: Tile, r: MethodResult, d: DisplayOptions, photoName: string): void {
  (tile as Tile & { fill(r: MethodResult, d: DisplayOptions, n: string): void }).fill(r, d, photoName);
}

/** photo * (1 - alpha) + colour(heat) * alpha, per pixel, as the CLI's overlay computes it. */
function drawOverlay(canvas: HTMLCanvasElement, photo: ImageData, r: MethodResult, d: DisplayOptions): void {
  const lut = colormapLut(d.colormap);
  const out = new ImageData(photo.width, photo.height);
  const a = d.alpha;
  const heat = r.heat;
  for (let i = 0, p = 0; i < heat.length; i++, p += 4) {
    const v = heat[i]!;
    const k = (v > 0 ? (v >= 1 ? 255 : Math.round(v * 255)) : 0) * 3;
    out.data[p] = Math.round((1 - a) * photo.data[p]! + a * lut[k]!);
    out.data[p + 1] = Math.round((1 - a) * photo.data[p + 1]! + a * lut[k + 1]!);
    out.data[p + 2] = Math.round((1 - a) * photo.data[p + 2]! + a * lut[k + 2]!);
    out.data[p + 3] = 255;
  }
  canvas.getContext('2d')!.putImageData(out, 0, 0);
}

/** Running sum of the attributions and the score change along the path, against alpha. */
function pathPlot(t: NonNullable<MethodResult['pathTrace']>): HTMLElement {
  const W = 260, H = 90, L = 30, R = 6, T = 6, B = 16;
  const change = t.scores.map((s) => s - t.scores[0]!);
  const all = [...t.runningSum, ...change, 0];
  let lo = Math.min(...all), hi = Math.max(...all);
  if (hi - lo < 1e-12) hi = lo + 1;
  const x = (a: number) => L + a * (W - L - R);
  const y = (v: number) => T + (1 - (v - lo) / (hi - lo)) * (H - T - B);
  const line = (vs: number[]) => vs.map((v, i) => `${i ? 'L' : 'M'}${x(t.alphas[i]!).toFixed(1)},${y(v).toFixed(1)}`).join('');
  const ns = 'http://www.w3.org/2000/svg';
  const svg = document.createElementNS(ns, 'svg');
  svg.setAttribute('viewBox', `0 0 ${W} ${H}`);
  svg.setAttribute('class', 'plot');
  svg.setAttribute('role', 'img');
  svg.setAttribute('aria-label', 'Running sum of the attributions and the score change along the path from the baseline (0) to the photo (1)');
  const add = (tag: string, attrs: Record<string, string | number>, text?: string) => {
    const e = document.createElementNS(ns, tag);
    for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
    if (text) e.textContent = text;
    svg.append(e);
  };
  add('line', { x1: L, x2: W - R, y1: y(0), y2: y(0), stroke: '#d0d5dd', 'stroke-width': 1 });
  add('path', { d: line(change), fill: 'none', stroke: '#2e86ab', 'stroke-width': 1.5, 'stroke-dasharray': '4 3' });
  add('path', { d: line(t.runningSum), fill: 'none', stroke: '#e4572e', 'stroke-width': 1.8 });
  add('text', { x: 2, y: y(hi) + 8 }, fmt(hi));
  add('text', { x: 2, y: y(lo) }, fmt(lo));
  add('text', { x: L, y: H - 3 }, 'baseline');
  add('text', { x: W - R - 28, y: H - 3 }, 'photo');
  const wrap = h('div', {});
  wrap.append(svg, h('div', { className: 'legend' }, h('span', {}, h('i', { style: 'background:#e4572e' } as Record<string, unknown>), 'running sum of attributions'), h('span', {}, h('i', { style: 'background:#2e86ab' } as Record<string, unknown>), 'score − score at baseline')));
  return wrap;
}

function fmt(v: number): string {
  return Math.abs(v) >= 0.01 || v === 0 ? v.toFixed(2) : v.toExponential(0);
}

export function formatMs(ms: number): string {
  return ms < 1000 ? `${ms.toFixed(0)} ms` : `${(ms / 1000).toFixed(2)} s`;
}

function save(blob: Blob, name: string): void {
  const a = h('a', { href: URL.createObjectURL(blob), download: name });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(a.href), 10_000);
}
