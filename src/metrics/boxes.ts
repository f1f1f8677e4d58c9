/** Ground-truth boxes over a heatmap: which pixels they cover. */
import type { Box } from '../image/types.js';

/**
 * 1 for each pixel whose centre (x + 0.5, y + 0.5) lies within Euclidean distance `tolerance`
 * of one of the boxes [x0, y0, x1, y1] (pixel-edge coordinates of the heatmap's frame;
 * tolerance 0: inside the closed box).
 */
export function boxMask(boxes: readonly Box[], width: number, height: number, tolerance = 0): Uint8Array {
  const mask = new Uint8Array(width * height);
  const t2 = tolerance * tolerance;
  for (const [x0, y0, x1, y1] of boxes) {
    const ya = Math.max(0, Math.floor(Math.min(y0, y1) - tolerance - 0.5));
    const yb = Math.min(height - 1, Math.ceil(Math.max(y0, y1) + tolerance - 0.5));
    const xa = Math.max(0, Math.floor(Math.min(x0, x1) - tolerance - 0.5));
    const xb = Math.min(width - 1, Math.ceil(Math.max(x0, x1) + tolerance - 0.5));
    for (let y = ya; y <= yb; y++) {
      const cy = y + 0.5;
      const dy = cy < Math.min(y0, y1) ? Math.min(y0, y1) - cy : cy > Math.max(y0, y1) ? cy - Math.max(y0, y1) : 0;
      for (let x = xa; x <= xb; x++) {
        const cx = x + 0.5;
        const dx = cx < Math.min(x0, x1) ? Math.min(x0, x1) - cx : cx > Math.max(x0, x1) ? cx - Math.max(x0, x1) : 0;
        if (dx * dx + dy * dy <= t2) mask[y * width + x] = 1;
      }
    }
  }
  return mask;
}
