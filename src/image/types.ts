/** Plain pixel and map containers shared by the image helpers (no Node imports). */

/** An 8-bit RGB colour, each channel 0-255. */
export type Rgb = readonly [number, number, number];

/** 8-bit RGB pixels, row-major, interleaved (r, g, b, r, g, b, ...); length width*height*3. */
export interface RgbImage {
  width: number;
  height: number;
  data: Uint8Array;
  /**
   * Opacity of each pixel, 0-255, row-major, length width*height; absent: opaque. Kept only
   * where a model takes an alpha channel (the photo is then decoded without flattening, the
   * colours being the straight, unpremultiplied values); fitting and blurring carry it along.
   */
  alpha?: Uint8Array;
}

/** A single-channel float map (a heatmap), row-major; length width*height. */
export interface FloatMap {
  width: number;
  height: number;
  data: Float32Array;
}

/** An axis-aligned box [x0, y0, x1, y1] in pixel-edge coordinates (x1, y1 exclusive). */
export type Box = readonly [number, number, number, number];

/** A rectangle in pixel-edge coordinates: covers [x, x + width) x [y, y + height). */
export interface Rect {
  x: number;
  y: number;
  width: number;
  height: number;
}

/** A new all-`fill` RGB image. */
export function createRgbImage(width: number, height: number, fill: Rgb = [0, 0, 0]): RgbImage {
  const data = new Uint8Array(width * height * 3);
  if (fill[0] || fill[1] || fill[2]) {
    for (let i = 0; i < data.length; i += 3) {
      data[i] = fill[0];
      data[i + 1] = fill[1];
      data[i + 2] = fill[2];
    }
  }
  return { width, height, data };
}

/** The alpha plane as an RGB image (alpha in R, G and B), so RGB operations can resample it. */
export function alphaAsRgb(img: RgbImage): RgbImage {
  const a = img.alpha!;
  const data = new Uint8Array(a.length * 3);
  for (let i = 0; i < a.length; i++) data[3 * i] = data[3 * i + 1] = data[3 * i + 2] = a[i]!;
  return { width: img.width, height: img.height, data };
}

/** The R plane of an RGB image (the inverse of alphaAsRgb). */
export function firstChannel(img: RgbImage): Uint8Array {
  const out = new Uint8Array(img.width * img.height);
  for (let i = 0; i < out.length; i++) out[i] = img.data[3 * i]!;
  return out;
}
