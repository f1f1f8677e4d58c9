/** Turning a dropped, picked or pasted image into RGB pixels, EXIF orientation applied. */
import type { PhotoData } from './protocol.js';

/** Same limits as the Node decoder: refuse before decoding what cannot be handled. */
const MAX_PIXELS = 100_000_000;
const MIN_SIDE = 8;

export class PhotoError extends Error {}

/**
 * Decode with the browser: createImageBitmap applies EXIF orientation ('from-image') and no
 * colour-space conversion, so pixels match a plain decoder; transparency is flattened onto
 * white, as the CLI does.
 */
export async function decodePhoto(blob: Blob, name: string): Promise<PhotoData> {
  if (blob.size === 0) throw new PhotoError(`cannot read image ${name}: the file is empty`);
  let bitmap: ImageBitmap;
  try {
    bitmap = await createImageBitmap(blob, { imageOrientation: 'from-image', colorSpaceConversion: 'none', premultiplyAlpha: 'none' });
  } catch {
    throw new PhotoError(`cannot read image ${name}: not an image this browser can decode (corrupt, truncated, or another format)`);
  }
  const { width, height } = bitmap;
  if (width * height > MAX_PIXELS) throw new PhotoError(`image ${name} is ${width}x${height}, over the ${MAX_PIXELS / 1e6} megapixel limit; downscale it first`);
  if (Math.min(width, height) < MIN_SIDE) throw new PhotoError(`image ${name} is ${width}x${height}, too small (at least ${MIN_SIDE} pixels a side)`);
  const canvas = new OffscreenCanvas(width, height);
  const ctx = canvas.getContext('2d', { willReadFrequently: true })!;
  ctx.drawImage(bitmap, 0, 0);
  bitmap.close();
  const rgba = ctx.getImageData(0, 0, width, height, { colorSpace: 'srgb' }).data;
  const rgb = new Uint8Array(width * height * 3);
  for (let i = 0, j = 0; i < rgba.length; i += 4, j += 3) {
    const a = rgba[i + 3]!;
    if (a === 255) {
      rgb[j] = rgba[i]!;
      rgb[j + 1] = rgba[i + 1]!;
      rgb[j + 2] = rgba[i + 2]!;
    } else {
      // Un-premultiplied colour over white.
      const t = a / 255;
      rgb[j] = Math.round(rgba[i]! * t + 255 * (1 - t));
      rgb[j + 1] = Math.round(rgba[i + 1]! * t + 255 * (1 - t));
      rgb[j + 2] = Math.round(rgba[i + 2]! * t + 255 * (1 - t));
    }
  }
  return { name, width, height, data: rgb };
}

/** The display size of a photo: at most `max` pixels on its longer side. */
export function displaySize(width: number, height: number, max = 900): [number, number] {
  const s = Math.min(1, max / Math.max(width, height));
  return [Math.max(1, Math.round(width * s)), Math.max(1, Math.round(height * s))];
}

/** RGB pixels drawn into a canvas at the given size. */
export function drawPhoto(canvas: HTMLCanvasElement, photo: PhotoData, size: [number, number]): void {
  const src = new OffscreenCanvas(photo.width, photo.height);
  const img = new ImageData(photo.width, photo.height);
  for (let i = 0, j = 0; j < photo.data.length; i += 4, j += 3) {
    img.data[i] = photo.data[j]!;
    img.data[i + 1] = photo.data[j + 1]!;
    img.data[i + 2] = photo.data[j + 2]!;
    img.data[i + 3] = 255;
  }
  src.getContext('2d')!.putImageData(img, 0, 0);
  canvas.width = size[0];
  canvas.height = size[1];
  const ctx = canvas.getContext('2d')!;
  ctx.imageSmoothingQuality = 'high';
  ctx.drawImage(src, 0, 0, size[0], size[1]);
}
