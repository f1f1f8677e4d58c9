/**
 * Synthetic classification images with ground truth: one object of a known class on a
 * cluttered background with distractors. Deterministic: image i of a seed is the same bytes
 * on every machine and for any `count` (integer PRNG, exact IEEE arithmetic, no Math.random,
 * no Math.sin / Math.cos).
 */
import { OptionError } from '../errors.js';
import { addNoise, contrastingPair, paintBackground, PALETTE, type Rgb } from './background.js';
import { mixSeed, Prng } from '../prng.js';
import { paintRegion, type Fill } from './raster.js';
import { DEMO_CLASSES, makeDiscs, makeObject, makeSegment, MAX_EXTENT, segmentDistance, type DemoClassName, type Region } from './shapes.js';
import { cosDeg, sinDeg } from './trig.js';

/** One generated image and its ground truth. */
export interface DemoSample {
  /** Position in its dataset; with the seed it fixes the image. */
  index: number;
  /** Class index into DEMO_CLASSES. */
  label: number;
  name: DemoClassName;
  /** Width = height in pixels. */
  size: number;
  /** RGB, interleaved, row-major, size * size * 3 bytes. */
  rgb: Uint8Array;
  /** 1 where the object covers at least half the pixel, else 0; size * size bytes. */
  mask: Uint8Array;
  /**
   * Tight box of the mask, [x0, y0, x1, y1] in pixel-edge coordinates: mask pixel (x, y)
   * satisfies x0 <= x < x1 and y0 <= y < y1.
   */
  box: [number, number, number, number];
  /** Object centre, outer radius (px) and rotation (degrees), for reference. */
  center: [number, number];
  radius: number;
  rotation: number;
  /** Background kind and number of distractors drawn. */
  background: string;
  distractors: number;
}

/** Options of generateDataset. */
export interface DemoOptions {
  /** Number of images (>= 0). */
  count: number;
  /** Any 32-bit integer; the same seed gives the same images. */
  seed: number;
  /** Image width = height in pixels (default 128, at least 32). */
  size?: number;
}

/** A generated dataset. */
export interface DemoDataset {
  size: number;
  seed: number;
  classes: readonly DemoClassName[];
  samples: DemoSample[];
}

/** Object radius range in pixels at size 128 (diameters 20-50 px); scales with size. */
const RADIUS_RANGE: [number, number] = [10, 25];
const DISTRACTORS_RANGE: [number, number] = [3, 7];

function checkInteger(name: string, value: number, min: number): void {
  if (!Number.isInteger(value) || value < min) {
    throw new OptionError(`demo generator: option '${name}' must be an integer >= ${min}, got ${value}`);
  }
}

/** Places one distractor away from the object; undefined when no spot was found. */
function placeDistractor(rng: Prng, size: number, object: Region): Region | undefined {
  const scale = size / 128;
  const kind = rng.float();
  for (let attempt = 0; attempt < 30; attempt++) {
    const x = rng.range(-4, size + 4);
    const y = rng.range(-4, size + 4);
    let region: Region;
    let clearance: number;
    if (kind < 0.45) {
      // Irregular blob: a union of 3-6 overlapping discs of similar size.
      const base = rng.range(4, 10) * scale;
      const n = rng.int(3, 6);
      const discs = [];
      for (let i = 0; i < n; i++) {
        discs.push({ x: x + rng.range(-1.2, 1.2) * base, y: y + rng.range(-1.2, 1.2) * base, r: base * rng.range(0.5, 1) });
      }
      region = makeDiscs(x, y, discs);
      clearance = Math.sqrt((x - object.cx) * (x - object.cx) + (y - object.cy) * (y - object.cy)) - region.extent;
    } else if (kind < 0.75) {
      const len = rng.range(15, 70) * scale;
      const deg = rng.int(0, 359);
      const w = rng.range(0.8, 2.5) * scale;
      const x1 = x + len * cosDeg(deg);
      const y1 = y + len * sinDeg(deg);
      region = makeSegment(x, y, x1, y1, w);
      clearance = segmentDistance(object.cx, object.cy, x, y, x1, y1) - w;
    } else {
      // A cluster of dots, each far smaller than the smallest object.
      const n = rng.int(4, 12);
      const discs = [];
      for (let i = 0; i < n; i++) {
        discs.push({ x: x + rng.range(-14, 14) * scale, y: y + rng.range(-14, 14) * scale, r: rng.range(1.2, 3) * scale });
      }
      region = makeDiscs(x, y, discs);
      clearance = Math.sqrt((x - object.cx) * (x - object.cx) + (y - object.cy) * (y - object.cy)) - region.extent;
    }
    if (clearance > object.extent + 3 * scale) return region;
  }
  return undefined;
}

function randomFill(rng: Prng, rgb: Rgb, maxShade: number): Fill {
  const deg = rng.int(0, 359);
  return { rgb, shade: rng.int(0, maxShade), gx: cosDeg(deg), gy: sinDeg(deg) };
}

/** Image `index` of dataset `seed`, independent of any other image. */
export function generateSample(seed: number, index: number, size = 128): DemoSample {
  checkInteger('size', size, 32);
  checkInteger('index', index, 0);
  if (!Number.isInteger(seed)) throw new OptionError(`demo generator: option 'seed' must be an integer, got ${seed}`);
  const rng = new Prng(mixSeed(seed, index));
  const scale = size / 128;

  // The object first, so the background can be chosen to contrast with it.
  const label = rng.int(0, DEMO_CLASSES.length - 1);
  const radius = rng.range(RADIUS_RANGE[0] * scale, RADIUS_RANGE[1] * scale);
  const margin = MAX_EXTENT * radius + 2 * scale;
  const cx = rng.range(margin, size - margin);
  const cy = rng.range(margin, size - margin);
  const rotation = rng.int(0, 359);
  const object = makeObject(label, cx, cy, radius, rotation);
  const objectRgb = rng.pick(PALETTE);
  const objectFill = randomFill(rng, objectRgb, 35);

  const rgb = new Uint8Array(size * size * 3);
  const [c1, c2] = contrastingPair(rng, objectRgb);
  const background = paintBackground(rgb, size, rng, c1, c2);

  const wanted = rng.int(DISTRACTORS_RANGE[0], DISTRACTORS_RANGE[1]);
  let distractors = 0;
  for (let i = 0; i < wanted; i++) {
    const region = placeDistractor(rng, size, object);
    const fill = randomFill(rng, rng.pick(PALETTE), 30);
    if (region) {
      paintRegion(rgb, size, region, fill);
      distractors++;
    }
  }

  const mask = new Uint8Array(size * size);
  paintRegion(rgb, size, object, objectFill, mask);
  addNoise(rgb, rng, rng.int(3, 24));

  return {
    index,
    label,
    name: DEMO_CLASSES[label]!,
    size,
    rgb,
    mask,
    box: maskBox(mask, size),
    center: [cx, cy],
    radius,
    rotation,
    background,
    distractors,
  };
}

/** Tight [x0, y0, x1, y1] (exclusive ends) of the non-zero pixels of a size x size mask. */
export function maskBox(mask: Uint8Array, size: number): [number, number, number, number] {
  let x0 = size;
  let y0 = size;
  let x1 = -1;
  let y1 = -1;
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      if (!mask[y * size + x]) continue;
      if (x < x0) x0 = x;
      if (x > x1) x1 = x;
      if (y < y0) y0 = y;
      if (y > y1) y1 = y;
    }
  }
  return x1 < 0 ? [0, 0, 0, 0] : [x0, y0, x1 + 1, y1 + 1];
}

/** `count` images of dataset `seed` (image i is generateSample(seed, i, size)). */
export function generateDataset(options: DemoOptions): DemoDataset {
  const size = options.size ?? 128;
  checkInteger('count', options.count, 0);
  checkInteger('size', size, 32);
  const samples: DemoSample[] = [];
  for (let i = 0; i < options.count; i++) samples.push(generateSample(options.seed, i, size));
  return { size, seed: options.seed, classes: DEMO_CLASSES, samples };
}
