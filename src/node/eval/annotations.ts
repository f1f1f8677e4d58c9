/**
 * annotations.json as in ../shared/data/imagenet-val-200 and `rsi-grad-cam generate`:
 * `{ imageSize: [w, h], boxFormat, labelSpace, images: [{ file, label, name, boxes: [[x0, y0, x1, y1], ...] }] }`,
 * boxes in pixels of an imageSize image.
 */
import { access, readFile } from 'node:fs/promises';
import path from 'node:path';
import { OptionError } from '../../errors.js';
import type { Box } from '../../image/types.js';

export interface AnnotatedImage {
  /** As written in the annotations. */
  file: string;
  /** Resolved path on disk. */
  path: string;
  label: number;
  name?: string;
  boxes: Box[];
}

export interface Annotations {
  source: string;
  /** [width, height] of the frame the boxes are in; undefined: the image's own size. */
  imageSize?: [number, number];
  images: AnnotatedImage[];
}

/**
 * Reads and checks an annotations file. Image files are looked up under `imagesDir`, then
 * next to the annotations file. Every error names the file and the entry at fault.
 */
export async function readAnnotations(file: string, imagesDir?: string): Promise<Annotations> {
  let json: unknown;
  try {
    json = JSON.parse(await readFile(file, 'utf8'));
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new OptionError(`--annotations ${file}: ${code === 'ENOENT' ? 'file not found' : `not valid JSON (${(e as Error).message.split('\n')[0]})`}`);
  }
  const o = json as { imageSize?: unknown; images?: unknown };
  if (typeof o !== 'object' || o === null || !Array.isArray(o.images)) throw new OptionError(`${file}: expected { imageSize, images: [{ file, label, boxes }] }`);
  let imageSize: [number, number] | undefined;
  if (o.imageSize !== undefined) {
    const s = o.imageSize;
    if (!Array.isArray(s) || s.length !== 2 || !s.every((v) => typeof v === 'number' && v > 0)) throw new OptionError(`${file}: imageSize must be [width, height], got ${JSON.stringify(s)}`);
    imageSize = [s[0], s[1]];
  }
  const bases = [...(imagesDir ? [imagesDir] : []), path.dirname(file)];
  const images: AnnotatedImage[] = [];
  for (const [i, raw] of (o.images as unknown[]).entries()) {
    const e = raw as { file?: unknown; label?: unknown; name?: unknown; boxes?: unknown };
    const where = `${file}: images[${i}]`;
    if (typeof e?.file !== 'string' || !e.file) throw new OptionError(`${where}: 'file' must be a file name`);
    if (!Number.isInteger(e.label) || (e.label as number) < 0) throw new OptionError(`${where} (${e.file}): 'label' must be a class index, got ${JSON.stringify(e.label)}`);
    const boxes = e.boxes ?? [];
    if (!Array.isArray(boxes) || !boxes.every((b) => Array.isArray(b) && b.length === 4 && b.every((v) => typeof v === 'number' && Number.isFinite(v)))) {
      throw new OptionError(`${where} (${e.file}): 'boxes' must be a list of [x0, y0, x1, y1]`);
    }
    images.push({
      file: e.file,
      path: await locate(e.file, bases),
      label: e.label as number,
      name: typeof e.name === 'string' ? e.name : undefined,
      boxes: (boxes as number[][]).map((b) => [b[0]!, b[1]!, b[2]!, b[3]!] as Box),
    });
  }
  if (images.length === 0) throw new OptionError(`${file}: no images listed`);
  return { source: file, imageSize, images };
}

async function locate(file: string, bases: string[]): Promise<string> {
  if (path.isAbsolute(file)) return file;
  for (const b of bases) {
    const p = path.join(b, file);
    try {
      await access(p);
      return p;
    } catch {
      // try the next folder
    }
  }
  return path.join(bases[0]!, file);
}

/**
 * Boxes from the annotation frame into the photo's pixels: scaled when the photo's size
 * differs from imageSize (either orientation of [w, h] is accepted for a matching photo).
 */
export function boxesToPhoto(boxes: readonly Box[], imageSize: [number, number] | undefined, photoWidth: number, photoHeight: number): Box[] {
  if (!imageSize) return [...boxes];
  let [w, h] = imageSize;
  if (w === photoHeight && h === photoWidth && w !== h) [w, h] = [h, w];
  const sx = photoWidth / w;
  const sy = photoHeight / h;
  return boxes.map(([x0, y0, x1, y1]) => [x0 * sx, y0 * sy, x1 * sx, y1 * sy] as Box);
}
