/** Parsing of colours given as options (CLI flags, JSON). */
import { OptionError } from '../errors.js';
import type { Rgb } from './types.js';

const NAMED: Record<string, Rgb> = {
  white: [255, 255, 255],
  black: [0, 0, 0],
  grey: [128, 128, 128],
  gray: [128, 128, 128],
  red: [255, 0, 0],
  green: [0, 255, 0],
  blue: [0, 0, 255],
  yellow: [255, 255, 0],
  cyan: [0, 255, 255],
  magenta: [255, 0, 255],
};

/**
 * Parses '#rgb', '#rrggbb', 'r,g,b' (0-255) or a basic colour name (white, black, grey, red,
 * green, blue, yellow, cyan, magenta). `what` names the option in the error message.
 */
export function parseColor(text: string, what = 'colour'): Rgb {
  const s = text.trim().toLowerCase();
  const named = NAMED[s];
  if (named) return named;
  let m = /^#?([0-9a-f]{6})$/.exec(s);
  if (m) {
    const v = parseInt(m[1]!, 16);
    return [(v >> 16) & 255, (v >> 8) & 255, v & 255];
  }
  m = /^#([0-9a-f]{3})$/.exec(s);
  if (m) {
    const [r, g, b] = [...m[1]!].map((c) => parseInt(c + c, 16)) as [number, number, number];
    return [r, g, b];
  }
  const parts = s.split(',').map((p) => p.trim());
  if (parts.length === 3 && parts.every((p) => /^\d{1,3}$/.test(p) && Number(p) <= 255)) {
    return parts.map(Number) as unknown as Rgb;
  }
  throw new OptionError(`${what}: cannot parse colour '${text}' (use #rrggbb, r,g,b or a name such as white)`);
}

/** Throws OptionError unless `c` is three integers in 0-255. */
export function checkRgb(c: unknown, what: string): Rgb {
  if (!Array.isArray(c) || c.length !== 3 || !c.every((v) => Number.isInteger(v) && v >= 0 && v <= 255)) {
    throw new OptionError(`${what}: expected three integers 0-255, got ${JSON.stringify(c)}`);
  }
  return c as unknown as Rgb;
}
