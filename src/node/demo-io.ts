/**
 * Writes demo datasets to disk: one PNG per image, one 0/255 mask PNG per image and an
 * annotations.json (see src/demo/annotations.ts). Node-only (fs, sharp).
 */
import path from 'node:path';
import sharp from 'sharp';
import { buildAnnotations, sampleStem, type DemoAnnotations } from '../demo/annotations.js';
import { generateDataset, type DemoOptions, type DemoSample } from '../demo/generate.js';
import { ensureFolder, writeFileAtomic } from './output.js';

/** Writes given samples (all of one seed and size) into `dir`, images under `imagesSubdir`. */
export async function writeSamples(
  dir: string,
  samples: DemoSample[],
  seed: number,
  size: number,
  imagesSubdir = '',
): Promise<DemoAnnotations> {
  const imageDir = path.join(dir, imagesSubdir);
  await ensureFolder(imageDir);
  for (const s of samples) {
    const stem = sampleStem(s);
    const png = await sharp(s.rgb, { raw: { width: size, height: size, channels: 3 } })
      .png({ compressionLevel: 9 })
      .toBuffer();
    await writeFileAtomic(path.join(imageDir, `${stem}.png`), png);
    const mask = new Uint8Array(s.mask.length);
    for (let i = 0; i < mask.length; i++) mask[i] = s.mask[i] ? 255 : 0;
    // b-w keeps it a 1-channel (grayscale) PNG; sharp would otherwise write RGB.
    const maskPng = await sharp(mask, { raw: { width: size, height: size, channels: 1 } })
      .toColourspace('b-w')
      .png({ compressionLevel: 9 })
      .toBuffer();
    await writeFileAtomic(path.join(imageDir, `${stem}.mask.png`), maskPng);
  }
  const annotations = buildAnnotations(samples, seed, size);
  if (imagesSubdir) {
    for (const a of annotations.images) {
      a.file = path.posix.join(imagesSubdir, a.file);
      a.mask = path.posix.join(imagesSubdir, a.mask);
    }
  }
  await writeFileAtomic(path.join(dir, 'annotations.json'), new TextEncoder().encode(JSON.stringify(annotations, null, 1) + '\n'));
  return annotations;
}

/**
 * Generates `count` images of `seed` and writes them to `dir` as demo-NNNNN.png,
 * demo-NNNNN.mask.png and annotations.json. Returns the annotations.
 */
export async function writeDataset(dir: string, options: DemoOptions): Promise<DemoAnnotations> {
  const dataset = generateDataset(options);
  return writeSamples(dir, dataset.samples, dataset.seed, dataset.size);
}
