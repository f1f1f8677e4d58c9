/** Drawing rectangle outlines (ground-truth boxes) on RGB pixels. */
import type { Box, Rgb, RgbImage } from './types.js';

export interface BoxStyle {
  /** Default green [0, 255, 0]. */
  color?: Rgb;
  /** Line width in pixels, drawn inside the box; default 2. */
  thickness?: number;
}

/**
 * A copy of `img` with the outline of each box [x0, y0, x1, y1] (pixel edges, x1/y1
 * exclusive, as in the annotations) drawn inside its edges; boxes are clipped to the image.
 */
export function drawBoxes(img: RgbImage, boxes: readonly Box[], style: BoxStyle = {}): RgbImage {
  const out: RgbImage = { width: img.width, height: img.height, data: img.data.slice() };
  const [r, g, b] = style.color ?? [0, 255, 0];
  const t = Math.max(1, Math.round(style.thickness ?? 2));
  const fill = (x0: number, y0: number, x1: number, y1: number) => {
    for (let y = Math.max(0, y0); y < Math.min(img.height, y1); y++) {
      for (let x = Math.max(0, x0); x < Math.min(img.width, x1); x++) {
        const p = (y * img.width + x) * 3;
        out.data[p] = r;
        out.data[p + 1] = g;
        out.data[p + 2] = b;
      }
    }
  };
  for (const box of boxes) {
    const x0 = Math.round(box[0]), y0 = Math.round(box[1]);
    const x1 = Math.round(box[2]), y1 = Math.round(box[3]);
    if (x1 <= x0 || y1 <= y0) continue;
    fill(x0, y0, x1, Math.min(y1, y0 + t));
    fill(x0, Math.max(y0, y1 - t), x1, y1);
    fill(x0, y0, Math.min(x1, x0 + t), y1);
    fill(Math.max(x0, x1 - t), y0, x1, y1);
  }
  return out;
}
