/** Turning a dropped, picked or pasted image into RGB pixels, EXIF orientation applied. */
import type { PhotoData } from './protocol.js';

/** Same limits as the Node decoder: refuse before decoding what cannot be handled. */
const MAX_PIXELS = 100_000_000;
const MIN_SIDE = 8;

export class PhotoError extends Error {}

/**
 * Decode with the browser: createImageBitmap applies EXIF orientation ('from-image') and no
 * colour-space conversion, so pixels match a plain decoder; transparency is flattened onto
 * white, as the CLI does. A photo with transparency also keeps its own colours and alpha, for
 * models that take an alpha channel (the CLI decodes those straight with sharp).
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
  let rgba: Uint8Array | Uint8ClampedArray = ctx.getImageData(0, 0, width, height, { colorSpace: 'srgb' }).data;
  const transparent = hasTransparency(rgba);
  // A 2D canvas holds colours premultiplied, so it gives back those of nearly transparent
  // pixels rounded (by up to 14 levels at alpha 12); WebGL reads the bitmap's own.
  if (transparent) rgba = straightRgba(bitmap) ?? rgba;
  bitmap.close();
  const n = width * height;
  const rgb = new Uint8Array(n * 3);
  const own = transparent ? { data: new Uint8Array(n * 3), alpha: new Uint8Array(n) } : undefined;
  for (let i = 0; i < n; i++) {
    // Un-premultiplied colour over white.
    const t = rgba[4 * i + 3]! / 255;
    for (let c = 0; c < 3; c++) {
      const v = rgba[4 * i + c]!;
      rgb[3 * i + c] = t === 1 ? v : Math.round(v * t + 255 * (1 - t));
      if (own) own.data[3 * i + c] = v;
    }
    if (own) own.alpha[i] = rgba[4 * i + 3]!;
  }
  return { name, width, height, data: rgb, ...(own ? { transparency: own } : {}) };
}

/** Whether some pixel of interleaved RGBA is not opaque. */
function hasTransparency(rgba: ArrayLike<number>): boolean {
  for (let i = 3; i < rgba.length; i += 4) if (rgba[i]! < 255) return true;
  return false;
}

/**
 * The bitmap's RGBA as decoded (straight, not premultiplied), through a WebGL2 texture;
 * undefined without WebGL2 or for a photo past its largest texture (the caller keeps the 2D
 * canvas's values).
 */
function straightRgba(bitmap: ImageBitmap): Uint8Array | undefined {
  const gl = new OffscreenCanvas(1, 1).getContext('webgl2', { premultipliedAlpha: false });
  if (!gl) return undefined;
  try {
    const { width, height } = bitmap;
    const max = gl.getParameter(gl.MAX_TEXTURE_SIZE) as number;
    if (width > max || height > max) return undefined;
    gl.bindTexture(gl.TEXTURE_2D, gl.createTexture());
    gl.pixelStorei(gl.UNPACK_PREMULTIPLY_ALPHA_WEBGL, false);
    gl.pixelStorei(gl.UNPACK_COLORSPACE_CONVERSION_WEBGL, gl.NONE);
    gl.texImage2D(gl.TEXTURE_2D, 0, gl.RGBA8, gl.RGBA, gl.UNSIGNED_BYTE, bitmap);
    gl.bindFramebuffer(gl.FRAMEBUFFER, gl.createFramebuffer());
    gl.framebufferTexture2D(gl.FRAMEBUFFER, gl.COLOR_ATTACHMENT0, gl.TEXTURE_2D, gl.getParameter(gl.TEXTURE_BINDING_2D) as WebGLTexture, 0);
    if (gl.checkFramebufferStatus(gl.FRAMEBUFFER) !== gl.FRAMEBUFFER_COMPLETE) return undefined;
    const out = new Uint8Array(width * height * 4);
    gl.readPixels(0, 0, width, height, gl.RGBA, gl.UNSIGNED_BYTE, out);
    return gl.getError() === gl.NO_ERROR ? out : undefined;
  } finally {
    gl.getExtension('WEBGL_lose_context')?.loseContext();
  }
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
