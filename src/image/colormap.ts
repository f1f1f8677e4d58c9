/**
 * Colormaps as 256-entry RGB lookup tables. viridis, inferno and turbo come from
 * d3-scale-chromatic. d3 has no jet, so jet is built from matplotlib's own piecewise-linear
 * definition (`_jet_data`), the map most Grad-CAM figures use.
 */
import { interpolateInferno, interpolateTurbo, interpolateViridis } from 'd3-scale-chromatic';
import { OptionError } from '../errors.js';
import type { FloatMap } from './types.js';

export type ColormapName = 'jet' | 'viridis' | 'turbo' | 'inferno';
export const COLORMAP_NAMES: readonly ColormapName[] = ['jet', 'viridis', 'turbo', 'inferno'];

type Segments = readonly (readonly [number, number])[];
// matplotlib's _jet_data: (x, value) anchors per channel, linear in between.
const JET: readonly [Segments, Segments, Segments] = [
  [[0, 0], [0.35, 0], [0.66, 1], [0.89, 1], [1, 0.5]],
  [[0, 0], [0.125, 0], [0.375, 1], [0.64, 1], [0.91, 0], [1, 0]],
  [[0, 0.5], [0.11, 1], [0.34, 1], [0.65, 0], [1, 0]],
];

function piecewise(seg: Segments, x: number): number {
  for (let i = 1; i < seg.length; i++) {
    const [x1, v1] = seg[i]!;
    if (x <= x1) {
      const [x0, v0] = seg[i - 1]!;
      return v0 + ((v1 - v0) * (x - x0)) / (x1 - x0);
    }
  }
  return seg[seg.length - 1]![1];
}

/** Parses d3's colour strings: '#rrggbb' or 'rgb(r, g, b)'. */
function parseD3(c: string): [number, number, number] {
  if (c.startsWith('#')) {
    const v = parseInt(c.slice(1), 16);
    return [(v >> 16) & 255, (v >> 8) & 255, v & 255];
  }
  const m = /rgb\((\d+),\s*(\d+),\s*(\d+)\)/.exec(c);
  if (!m) throw new Error(`unexpected colour string from d3: ${c}`);
  return [Number(m[1]), Number(m[2]), Number(m[3])];
}

const cache = new Map<ColormapName, Uint8Array>();

/** The 256x3 LUT of a colormap: entry i is the colour of value i/255. */
export function colormapLut(name: ColormapName): Uint8Array {
  const hit = cache.get(name);
  if (hit) return hit;
  const lut = new Uint8Array(256 * 3);
  const d3 = { viridis: interpolateViridis, inferno: interpolateInferno, turbo: interpolateTurbo }[name as Exclude<ColormapName, 'jet'>];
  if (name !== 'jet' && !d3) throw new OptionError(`colormap: unknown '${name}' (expected one of ${COLORMAP_NAMES.join(', ')})`);
  for (let i = 0; i < 256; i++) {
    const x = i / 255;
    const rgb = d3 ? parseD3(d3(x)) : JET.map((seg) => Math.round(piecewise(seg, x) * 255));
    lut.set(rgb, i * 3);
  }
  cache.set(name, lut);
  return lut;
}

/** Validates a colormap name given as text (CLI / JSON). */
export function parseColormap(text: string, what = 'colormap'): ColormapName {
  if ((COLORMAP_NAMES as readonly string[]).includes(text)) return text as ColormapName;
  throw new OptionError(`${what}: unknown colormap '${text}' (expected one of ${COLORMAP_NAMES.join(', ')})`);
}

/** Colours a map with values in [0, 1] (clamped; NaN counts as 0) into RGB pixels. */
export function colorize(map: FloatMap, name: ColormapName = 'jet'): Uint8Array {
  const lut = colormapLut(name);
  const out = new Uint8Array(map.data.length * 3);
  for (let i = 0; i < map.data.length; i++) {
    const v = map.data[i]!;
    const k = (v > 0 ? (v >= 1 ? 255 : Math.round(v * 255)) : 0) * 3;
    out[i * 3] = lut[k]!;
    out[i * 3 + 1] = lut[k + 1]!;
    out[i * 3 + 2] = lut[k + 2]!;
  }
  return out;
}
