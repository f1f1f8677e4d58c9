/**
 * The photos a command is given: a folder stands for the image files directly in it (by
 * extension, sorted), so a data set of tens of thousands of photos needs no shell glob that
 * outgrows the command line. Files are passed on as given; a folder without images is refused.
 */
import { readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { ImageError } from '../errors.js';
import { byName } from './shard.js';

/** Extensions of the formats the image reader takes (README: Images). */
export const IMAGE_EXTENSIONS = ['.jpg', '.jpeg', '.png', '.webp', '.gif', '.tif', '.tiff'] as const;

export async function expandInputs(inputs: readonly string[]): Promise<string[]> {
  const out: string[] = [];
  for (const input of inputs) {
    const s = await stat(input).catch(() => undefined);
    if (!s?.isDirectory()) {
      out.push(input); // missing or unreadable files are reported by the image reader, naming them
      continue;
    }
    const names = (await readdir(input, { withFileTypes: true }))
      .filter((d) => !d.isDirectory() && (IMAGE_EXTENSIONS as readonly string[]).includes(path.extname(d.name).toLowerCase()))
      .map((d) => d.name)
      .sort(byName);
    if (!names.length) throw new ImageError(`${input}: a folder with no image files (${IMAGE_EXTENSIONS.join(', ')}) directly in it`);
    out.push(...names.map((n) => path.join(input, n)));
  }
  return out;
}
