/**
 * Picture output (Node only): PNG writing, caption bands and comparison grids with sharp.
 * Text is SVG rendered by sharp's librsvg (fonts through fontconfig; DejaVu Sans preferred).
 * The pixel work itself (overlay, boxes) is core code, re-exported here.
 */
import sharp, { type OverlayOptions as SharpOverlay } from 'sharp';
import type { Rgb, RgbImage } from '../image/types.js';
import { writeFileAtomic } from './output.js';

export { writeFileAtomic };

export { renderOverlay, type OverlayOptions } from '../image/overlay.js';
export { drawBoxes, type BoxStyle } from '../image/draw.js';

const FONT = "DejaVu Sans, Liberation Sans, Arial, Helvetica, sans-serif";
// Average advance of DejaVu Sans glyphs is about 0.55 em; a little more keeps text inside.
const CHAR_EM = 0.6;

/** Encodes RGB pixels as a PNG. */
export async function encodePng(img: RgbImage): Promise<Buffer> {
  return sharp(img.data, { raw: { width: img.width, height: img.height, channels: 3 }, limitInputPixels: false }).png().toBuffer();
}

/**
 * Writes RGB pixels (interleaved, w*h*3 bytes) as a PNG, atomically: a temporary file in the
 * same directory is renamed over `path`, so readers never see half a file. Creates the
 * directory if needed.
 */
export async function writePng(path: string, rgb: Uint8Array, w: number, h: number): Promise<void> {
  if (rgb.length !== w * h * 3) throw new RangeError(`writePng ${path}: ${rgb.length} bytes for ${w}x${h} RGB`);
  await writeFileAtomic(path, await encodePng({ width: w, height: h, data: rgb }));
}

export interface TextStyle {
  /** Pixels; default 13 for captions, 14 for grid headers. */
  fontSize?: number;
  /** Text colour; default black. */
  color?: Rgb;
  /** Band / canvas colour; default white. */
  background?: Rgb;
}

export interface CaptionOptions extends TextStyle {
  /** Caption band below (default) or above the tile. */
  position?: 'below' | 'above';
}

/**
 * The tile with a caption band of `lines` (one text line each, centred; lines too long for
 * the tile are cut with an ellipsis) below or above it. The result is taller than the tile.
 */
export async function captionTile(tile: RgbImage, lines: readonly string[], options: CaptionOptions = {}): Promise<RgbImage> {
  const fontSize = options.fontSize ?? 13;
  const lineH = Math.round(fontSize * 1.3);
  const pad = Math.round(fontSize * 0.3);
  const band = lines.length ? lines.length * lineH + 2 * pad : 0;
  const W = tile.width;
  const H = tile.height + band;
  const bandTop = options.position === 'above' ? 0 : tile.height;
  const tileTop = options.position === 'above' ? band : 0;
  const texts = lines.map((line, i) =>
    svgText(ellipsize(line, W - 2 * pad, fontSize), W / 2, bandTop + pad + i * lineH, lineH, fontSize, options.color, 'middle'),
  );
  const composites: SharpOverlay[] = [{ input: rawInput(tile), raw: rawInfo(tile), left: 0, top: tileTop }];
  if (texts.length) composites.push({ input: svg(W, H, texts), left: 0, top: 0 });
  return compose(W, H, options.background ?? [255, 255, 255], composites);
}

export interface GridOptions extends TextStyle {
  /** One header per column, above the tiles. */
  columnHeaders?: readonly string[];
  /** One header per row, left of the tiles. */
  rowHeaders?: readonly string[];
  /**
   * Shown in the top-left corner (typically the photo): the header row is at least as tall
   * and the header column at least as wide as it. Column headers sit at the bottom of the
   * header row, next to the tiles they name.
   */
  corner?: RgbImage;
  /** Space between cells and around the grid, pixels; default 4. */
  gap?: number;
}

/**
 * A PNG of tiles laid out row-major in `columns` columns (for a methods x layers comparison:
 * one row per method, one column per layer). `null` leaves a cell empty. Cells are as large
 * as the largest tile; smaller tiles are centred. Headers longer than the cell wrap (at most
 * three lines, then an ellipsis).
 */
export async function grid(tiles: readonly (RgbImage | null)[], columns: number, options: GridOptions = {}): Promise<Buffer> {
  if (!Number.isInteger(columns) || columns < 1) throw new RangeError(`grid: columns must be a positive integer, got ${columns}`);
  const rows = Math.max(1, Math.ceil(tiles.length / columns));
  const fontSize = options.fontSize ?? 14;
  const lineH = Math.round(fontSize * 1.3);
  const pad = Math.round(fontSize * 0.4);
  const gap = options.gap ?? 4;
  const all = tiles.filter((t): t is RgbImage => !!t);
  const cellW = Math.max(1, ...all.map((t) => t.width));
  const cellH = Math.max(1, ...all.map((t) => t.height));
  const colHeads = options.columnHeaders ?? [];
  const rowHeads = options.rowHeaders ?? [];
  const corner = options.corner;

  // Header column width and header row height; with a corner image, at least its size.
  const rowWrapW = corner ? Math.max(corner.width, cellW / 2) - 2 * pad : (3 * cellW) / 2;
  const rowHeadLines = rowHeads.map((h) => wrap(h, rowWrapW, fontSize));
  const colHeadLines = colHeads.map((h) => wrap(h, cellW - 2 * pad, fontSize));
  const textW = (ls: string[]) => Math.max(0, ...ls.map((l) => l.length * fontSize * CHAR_EM));
  const headW = Math.max(
    corner?.width ?? 0,
    rowHeads.length ? Math.ceil(Math.max(...rowHeadLines.map(textW))) + 2 * pad : 0,
  );
  const headH = Math.max(
    corner?.height ?? 0,
    colHeads.length ? Math.max(...colHeadLines.map((l) => l.length)) * lineH + 2 * pad : 0,
  );

  const x0 = gap + (headW ? headW + gap : 0);
  const y0 = gap + (headH ? headH + gap : 0);
  const W = x0 + columns * (cellW + gap);
  const H = y0 + rows * (cellH + gap);
  const cellX = (c: number) => x0 + c * (cellW + gap);
  const cellY = (r: number) => y0 + r * (cellH + gap);

  const composites: SharpOverlay[] = [];
  const place = (t: RgbImage, x: number, y: number) =>
    composites.push({ input: rawInput(t), raw: rawInfo(t), left: x + Math.floor((cellW - t.width) / 2), top: y + Math.floor((cellH - t.height) / 2) });
  tiles.forEach((t, i) => t && place(t, cellX(i % columns), cellY(Math.floor(i / columns))));
  if (corner) {
    composites.push({ input: rawInput(corner), raw: rawInfo(corner), left: gap + Math.floor((headW - corner.width) / 2), top: gap + headH - corner.height });
  }

  const texts: string[] = [];
  colHeadLines.slice(0, columns).forEach((ls, c) => {
    const top = gap + headH - pad - ls.length * lineH; // bottom-aligned, next to the tiles
    ls.forEach((l, k) => texts.push(svgText(l, cellX(c) + cellW / 2, top + k * lineH, lineH, fontSize, options.color, 'middle', true)));
  });
  rowHeadLines.slice(0, rows).forEach((ls, r) => {
    const top = cellY(r) + (cellH - ls.length * lineH) / 2;
    ls.forEach((l, k) => texts.push(svgText(l, gap + headW / 2, top + k * lineH, lineH, fontSize, options.color, 'middle', true)));
  });
  if (texts.length) composites.push({ input: svg(W, H, texts), left: 0, top: 0 });
  const img = await compose(W, H, options.background ?? [255, 255, 255], composites);
  return encodePng(img);
}

/** Escapes text for SVG/XML content and attributes. */
export function escapeXml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' })[c]!);
}

function rawInput(t: RgbImage): Buffer {
  return Buffer.from(t.data.buffer, t.data.byteOffset, t.data.length);
}

function rawInfo(t: RgbImage): { width: number; height: number; channels: 3 } {
  return { width: t.width, height: t.height, channels: 3 };
}

async function compose(W: number, H: number, bg: Rgb, composites: SharpOverlay[]): Promise<RgbImage> {
  const { data, info } = await sharp({ create: { width: W, height: H, channels: 3, background: { r: bg[0], g: bg[1], b: bg[2] } }, limitInputPixels: false })
    .composite(composites)
    .removeAlpha()
    .raw()
    .toBuffer({ resolveWithObject: true });
  return { width: info.width, height: info.height, data: new Uint8Array(data.buffer, data.byteOffset, data.length) };
}

function svg(W: number, H: number, body: string[]): Buffer {
  return Buffer.from(`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}">${body.join('')}</svg>`);
}

/** One line of text whose line box starts at `top`; baseline placed by hand (librsvg's dominant-baseline support varies). */
function svgText(text: string, x: number, top: number, lineH: number, fontSize: number, color: Rgb = [0, 0, 0], anchor = 'middle', bold = false): string {
  const baseline = top + (lineH - fontSize) / 2 + fontSize * 0.8;
  const fill = `rgb(${color[0]},${color[1]},${color[2]})`;
  return `<text x="${x.toFixed(1)}" y="${baseline.toFixed(1)}" font-family="${FONT}" font-size="${fontSize}"${bold ? ' font-weight="bold"' : ''} fill="${fill}" text-anchor="${anchor}">${escapeXml(text)}</text>`;
}

/** Cuts `text` with an ellipsis so its estimated width fits `maxW` pixels. */
function ellipsize(text: string, maxW: number, fontSize: number): string {
  const maxChars = Math.max(1, Math.floor(maxW / (fontSize * CHAR_EM)));
  return text.length <= maxChars ? text : text.slice(0, Math.max(0, maxChars - 1)) + '\u2026';
}

/** Greedy wrap at spaces, '_', '/', '.', '-' (then anywhere) into at most `maxLines` lines. */
function wrap(text: string, maxW: number, fontSize: number, maxLines = 3): string[] {
  const maxChars = Math.max(1, Math.floor(maxW / (fontSize * CHAR_EM)));
  const tokens = text.match(/[^\s_/.\-]*[\s_/.\-]?/g)?.filter((t) => t) ?? [text];
  const lines: string[] = [];
  let cur = '';
  for (let tok of tokens) {
    while (tok.length > maxChars) {
      if (cur) lines.push(cur.trimEnd()), (cur = '');
      lines.push(tok.slice(0, maxChars));
      tok = tok.slice(maxChars);
    }
    if ((cur + tok).trimEnd().length > maxChars) lines.push(cur.trimEnd()), (cur = '');
    cur += tok;
  }
  if (cur.trim()) lines.push(cur.trimEnd());
  if (lines.length > maxLines) {
    const kept = lines.slice(0, maxLines);
    const last = kept[maxLines - 1]!;
    kept[maxLines - 1] = (last.length >= maxChars ? last.slice(0, maxChars - 1) : last) + '\u2026';
    return kept;
  }
  return lines.length ? lines : [''];
}
