/**
 * The annotations.json layout shared with ../shared/data/imagenet-val-200 ({ imageSize,
 * boxFormat, labelSpace, images: [{ file, label, name, boxes }] }), plus a mask file per image
 * and the generator parameters that reproduce it.
 */
import type { DemoSample } from './generate.js';
import { DEMO_CLASSES } from './shapes.js';

/** One image entry. */
export interface DemoAnnotation {
  file: string;
  label: number;
  name: string;
  /** One box per object (always one here), [x0, y0, x1, y1]. */
  boxes: [number, number, number, number][];
  /** Object mask file (PNG, 0 background / 255 object). */
  mask: string;
  /** Generator seed and index that reproduce the image. */
  seed: number;
  index: number;
}

/** The whole annotations.json. */
export interface DemoAnnotations {
  imageSize: [number, number];
  boxFormat: string;
  labelSpace: string;
  classes: string[];
  images: DemoAnnotation[];
}

/** File name stem of a sample: `<prefix><index padded to 5>`. */
export function sampleStem(sample: DemoSample, prefix = 'demo-'): string {
  return `${prefix}${String(sample.index).padStart(5, '0')}`;
}

/** Builds annotations.json content for `samples` of dataset `seed` (files named by sampleStem). */
export function buildAnnotations(samples: DemoSample[], seed: number, size: number): DemoAnnotations {
  return {
    imageSize: [size, size],
    boxFormat: `x0,y0,x1,y1 in pixels of the ${size}x${size} image (pixel edges: x1, y1 exclusive; tight box of the mask)`,
    labelSpace: `rsi-grad-cam demo shapes, index 0-${DEMO_CLASSES.length - 1}: ${DEMO_CLASSES.join(', ')}`,
    classes: [...DEMO_CLASSES],
    images: samples.map((s) => ({
      file: `${sampleStem(s)}.png`,
      label: s.label,
      name: s.name,
      boxes: [s.box],
      mask: `${sampleStem(s)}.mask.png`,
      seed,
      index: s.index,
    })),
  };
}
