/**
 * The object classes and the distractor shapes, each as an inside test on continuous pixel
 * coordinates (pixel (i, j) covers [i, i+1) x [j, j+1)) plus a bounding disc for placement.
 */
import { cosDeg, sinDeg } from './trig.js';

/** The demo classes, in label order (index = label). */
export const DEMO_CLASSES = ['circle', 'square', 'triangle', 'star', 'cross', 'ring'] as const;

/** One demo class name. */
export type DemoClassName = (typeof DEMO_CLASSES)[number];

/** A filled region of the plane. */
export interface Region {
  /** Centre and radius of a disc that contains the region (used for placement). */
  cx: number;
  cy: number;
  extent: number;
  inside(x: number, y: number): boolean;
}

/** Even-odd crossing test; handles the star's concave outline. */
function insidePolygon(xs: number[], ys: number[], x: number, y: number): boolean {
  let inside = false;
  for (let i = 0, j = xs.length - 1; i < xs.length; j = i++) {
    const yi = ys[i]!;
    const yj = ys[j]!;
    if (yi > y !== yj > y) {
      const xCross = xs[i]! + ((y - yi) * (xs[j]! - xs[i]!)) / (yj - yi);
      if (x < xCross) inside = !inside;
    }
  }
  return inside;
}

/** Vertices at radii `radii[k % radii.length]`, evenly spaced from angle `deg`. */
function starPolygon(cx: number, cy: number, n: number, radii: number[], deg: number): Region {
  const xs: number[] = [];
  const ys: number[] = [];
  // n vertices over 360 degrees; n divides 360 for every polygon used here.
  const step = 360 / n;
  for (let k = 0; k < n; k++) {
    const a = deg + k * step;
    const r = radii[k % radii.length]!;
    xs.push(cx + r * cosDeg(a));
    ys.push(cy - r * sinDeg(a));
  }
  const extent = Math.max(...radii);
  return { cx, cy, extent, inside: (x, y) => insidePolygon(xs, ys, x, y) };
}

/**
 * Ratios that set each class's proportions relative to its outer radius `r`; the extent of
 * every class stays within 1.12 r so placement margins are shared.
 */
const SQUARE_HALF = 0.78;
const STAR_INNER = 0.42;
const CROSS_HALF_WIDTH = 0.28;
const RING_INNER = 0.55;
/** Largest extent over all classes, in units of r. */
export const MAX_EXTENT = 1.12;

/** The object of class `label` centred at (cx, cy), outer radius r, rotated by deg degrees. */
export function makeObject(label: number, cx: number, cy: number, r: number, deg: number): Region {
  const c = cosDeg(deg);
  const s = sinDeg(deg);
  // Local coordinates: rotate the offset back by the object's rotation.
  const local = (x: number, y: number): [number, number] => {
    const dx = x - cx;
    const dy = y - cy;
    return [c * dx - s * dy, s * dx + c * dy];
  };
  switch (DEMO_CLASSES[label]) {
    case 'circle':
      return { cx, cy, extent: r, inside: (x, y) => (x - cx) * (x - cx) + (y - cy) * (y - cy) <= r * r };
    case 'square': {
      const h = SQUARE_HALF * r;
      return {
        cx,
        cy,
        extent: h * 1.4143,
        inside: (x, y) => {
          const [u, v] = local(x, y);
          return Math.abs(u) <= h && Math.abs(v) <= h;
        },
      };
    }
    case 'triangle':
      return starPolygon(cx, cy, 3, [r], 90 + deg);
    case 'star':
      return starPolygon(cx, cy, 10, [r, STAR_INNER * r], 90 + deg);
    case 'cross': {
      const w = CROSS_HALF_WIDTH * r;
      return {
        cx,
        cy,
        extent: Math.sqrt(r * r + w * w),
        inside: (x, y) => {
          const [u, v] = local(x, y);
          const au = Math.abs(u);
          const av = Math.abs(v);
          return (au <= w && av <= r) || (au <= r && av <= w);
        },
      };
    }
    case 'ring': {
      const r2 = r * r;
      const q2 = RING_INNER * RING_INNER * r2;
      return {
        cx,
        cy,
        extent: r,
        inside: (x, y) => {
          const d2 = (x - cx) * (x - cx) + (y - cy) * (y - cy);
          return d2 <= r2 && d2 >= q2;
        },
      };
    }
    default:
      throw new RangeError(`makeObject: label ${label} is not a demo class (0-${DEMO_CLASSES.length - 1})`);
  }
}

/** A union of discs: the irregular blobs and dot clusters. */
export function makeDiscs(cx: number, cy: number, discs: { x: number; y: number; r: number }[]): Region {
  let extent = 0;
  for (const d of discs) extent = Math.max(extent, Math.sqrt((d.x - cx) * (d.x - cx) + (d.y - cy) * (d.y - cy)) + d.r);
  return {
    cx,
    cy,
    extent,
    inside: (x, y) => discs.some((d) => (x - d.x) * (x - d.x) + (y - d.y) * (y - d.y) <= d.r * d.r),
  };
}

/** A thick segment from (x0, y0) to (x1, y1) with half-width w (round caps). */
export function makeSegment(x0: number, y0: number, x1: number, y1: number, w: number): Region {
  const dx = x1 - x0;
  const dy = y1 - y0;
  const len2 = dx * dx + dy * dy;
  const cx = (x0 + x1) / 2;
  const cy = (y0 + y1) / 2;
  return {
    cx,
    cy,
    extent: Math.sqrt(len2) / 2 + w,
    inside: (x, y) => {
      let t = len2 > 0 ? ((x - x0) * dx + (y - y0) * dy) / len2 : 0;
      t = t < 0 ? 0 : t > 1 ? 1 : t;
      const ex = x - (x0 + t * dx);
      const ey = y - (y0 + t * dy);
      return ex * ex + ey * ey <= w * w;
    },
  };
}

/** Shortest distance from (px, py) to the segment (x0, y0)-(x1, y1). */
export function segmentDistance(px: number, py: number, x0: number, y0: number, x1: number, y1: number): number {
  const dx = x1 - x0;
  const dy = y1 - y0;
  const len2 = dx * dx + dy * dy;
  let t = len2 > 0 ? ((px - x0) * dx + (py - y0) * dy) / len2 : 0;
  t = t < 0 ? 0 : t > 1 ? 1 : t;
  const ex = px - x0 - t * dx;
  const ey = py - y0 - t * dy;
  return Math.sqrt(ex * ex + ey * ey);
}
