/**
 * Cluttered backgrounds (flat, gradient, stripes, blocks, smooth noise) between two colours,
 * and the shared palette that objects and distractors draw from, so colour alone cannot
 * tell the class.
 */
import type { Prng } from '../prng.js';
import { cosDeg, sinDeg } from './trig.js';

export type Rgb = [number, number, number];

/** Colours of objects and distractors alike. */
export const PALETTE: readonly Rgb[] = [
  [220, 40, 40],
  [240, 140, 30],
  [235, 215, 40],
  [50, 170, 60],
  [30, 160, 160],
  [40, 80, 220],
  [140, 60, 190],
  [235, 110, 170],
  [130, 80, 40],
  [240, 240, 240],
  [25, 25, 25],
  [128, 128, 128],
];

/** The kinds of background, in the order the generator draws them. */
export const BACKGROUNDS = ['flat', 'gradient', 'stripes', 'blocks', 'smooth'] as const;

function mix(a: Rgb, b: Rgb, t: number): Rgb {
  return [
    Math.round(a[0] + (b[0] - a[0]) * t),
    Math.round(a[1] + (b[1] - a[1]) * t),
    Math.round(a[2] + (b[2] - a[2]) * t),
  ];
}

function l1(a: Rgb, b: Rgb): number {
  return Math.abs(a[0] - b[0]) + Math.abs(a[1] - b[1]) + Math.abs(a[2] - b[2]);
}

/** Minimum L1 distance between the object colour and any background colour on the c1-c2 line. */
const MIN_CONTRAST = 150;

/** Two random background colours whose every mix stays at least MIN_CONTRAST from `avoid`. */
export function contrastingPair(rng: Prng, avoid: Rgb): [Rgb, Rgb] {
  for (;;) {
    const c1: Rgb = [rng.int(0, 255), rng.int(0, 255), rng.int(0, 255)];
    const c2: Rgb = [rng.int(0, 255), rng.int(0, 255), rng.int(0, 255)];
    let ok = true;
    for (let q = 0; q <= 4 && ok; q++) ok = l1(mix(c1, c2, q / 4), avoid) >= MIN_CONTRAST;
    if (ok) return [c1, c2];
  }
}

/** Fills `img` (size x size RGB) with one random background between c1 and c2. */
export function paintBackground(img: Uint8Array, size: number, rng: Prng, c1: Rgb, c2: Rgb): string {
  const kind = rng.pick(BACKGROUNDS);
  const scale = size / 128;
  let colourAt: (x: number, y: number) => Rgb;
  switch (kind) {
    case 'flat':
      colourAt = () => c1;
      break;
    case 'gradient': {
      const deg = rng.int(0, 359);
      const gx = cosDeg(deg);
      const gy = sinDeg(deg);
      // Project the image corners to find the ramp's span.
      const c = size / 2;
      const span = (Math.abs(gx) + Math.abs(gy)) * c;
      colourAt = (x, y) => mix(c1, c2, ((x - c) * gx + (y - c) * gy + span) / (2 * span));
      break;
    }
    case 'stripes': {
      const deg = rng.int(0, 179);
      const gx = cosDeg(deg);
      const gy = sinDeg(deg);
      const period = rng.range(5, 20) * scale;
      const duty = rng.range(0.3, 0.7);
      colourAt = (x, y) => {
        const p = (x * gx + y * gy) / period;
        return p - Math.floor(p) < duty ? c1 : c2;
      };
      break;
    }
    case 'blocks':
    case 'smooth': {
      const cell = Math.max(4, Math.round(rng.range(8, 28) * scale));
      const n = Math.floor(size / cell) + 2;
      const grid: number[] = [];
      for (let i = 0; i < n * n; i++) grid.push(rng.float());
      if (kind === 'blocks') {
        colourAt = (x, y) => mix(c1, c2, grid[Math.floor(y / cell) * n + Math.floor(x / cell)]!);
      } else {
        colourAt = (x, y) => {
          const gxF = x / cell;
          const gyF = y / cell;
          const i = Math.floor(gxF);
          const j = Math.floor(gyF);
          const fx = gxF - i;
          const fy = gyF - j;
          const top = grid[j * n + i]! * (1 - fx) + grid[j * n + i + 1]! * fx;
          const bottom = grid[(j + 1) * n + i]! * (1 - fx) + grid[(j + 1) * n + i + 1]! * fx;
          return mix(c1, c2, top * (1 - fy) + bottom * fy);
        };
      }
      break;
    }
  }
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      const c = colourAt(x + 0.5, y + 0.5);
      const o = (y * size + x) * 3;
      img[o] = c[0];
      img[o + 1] = c[1];
      img[o + 2] = c[2];
    }
  }
  return kind;
}

/** Adds independent uniform integer noise in [-amp, amp] to every byte, clamped. */
export function addNoise(img: Uint8Array, rng: Prng, amp: number): void {
  for (let i = 0; i < img.length; i++) {
    const v = img[i]! + rng.int(-amp, amp);
    img[i] = v < 0 ? 0 : v > 255 ? 255 : v;
  }
}
