/**
 * Anti-aliased painting of a Region into an RGB buffer: 4x4 supersampling gives a coverage
 * count k in 0..16, and the blend (fg k + bg (16 - k) + 8) >> 4 is integer maths, so the bytes
 * do not depend on floating-point rounding beyond the exact IEEE inside tests.
 */
import type { Region } from './shapes.js';

/** How a region is coloured: a base colour plus a linear shading ramp across the region. */
export interface Fill {
  rgb: readonly [number, number, number];
  /** Colour change (in 0-255 units) from the centre to the edge of the extent, along (gx, gy). */
  shade: number;
  gx: number;
  gy: number;
}

const SUB = 4;
const FULL = SUB * SUB;

function clampByte(v: number): number {
  return v < 0 ? 0 : v > 255 ? 255 : v;
}

/**
 * Paints `region` over `img` (size x size, RGB interleaved). When `mask` is given, pixels at
 * least half covered get 1 there. Returns the number of pixels touched.
 */
export function paintRegion(img: Uint8Array, size: number, region: Region, fill: Fill, mask?: Uint8Array): number {
  const x0 = Math.max(0, Math.floor(region.cx - region.extent) - 1);
  const y0 = Math.max(0, Math.floor(region.cy - region.extent) - 1);
  const x1 = Math.min(size - 1, Math.ceil(region.cx + region.extent) + 1);
  const y1 = Math.min(size - 1, Math.ceil(region.cy + region.extent) + 1);
  let touched = 0;
  for (let py = y0; py <= y1; py++) {
    for (let px = x0; px <= x1; px++) {
      let k = 0;
      for (let sy = 0; sy < SUB; sy++) {
        const y = py + (sy + 0.5) / SUB;
        for (let sx = 0; sx < SUB; sx++) {
          if (region.inside(px + (sx + 0.5) / SUB, y)) k++;
        }
      }
      if (k === 0) continue;
      touched++;
      const t = ((px + 0.5 - region.cx) * fill.gx + (py + 0.5 - region.cy) * fill.gy) / region.extent;
      const delta = Math.round(fill.shade * t);
      const o = (py * size + px) * 3;
      for (let ch = 0; ch < 3; ch++) {
        const fg = clampByte(fill.rgb[ch]! + delta);
        img[o + ch] = (fg * k + img[o + ch]! * (FULL - k) + FULL / 2) >> 4;
      }
      if (mask && k * 2 >= FULL) mask[py * size + px] = 1;
    }
  }
  return touched;
}
