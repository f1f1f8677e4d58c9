/**
 * Downloads into a per-user cache. A file enters the cache only when complete: it is
 * streamed to a temporary file, its length checked against Content-Length, then renamed.
 * A dropped connection leaves nothing behind.
 */
import { createWriteStream } from 'node:fs';
import { mkdir, rename, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { createHash } from 'node:crypto';
import { ModelFormatError } from '../errors.js';

/** Progress of one download: bytes so far and the total when the server says it. */
export type DownloadProgress = (file: string, received: number, total: number | undefined) => void;

/** `$RSI_GRAD_CAM_CACHE`, else `$XDG_CACHE_HOME/rsi-grad-cam`, else `~/.cache/rsi-grad-cam`. */
export function defaultCacheDir(): string {
  if (process.env.RSI_GRAD_CAM_CACHE) return process.env.RSI_GRAD_CAM_CACHE;
  const base = process.env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache');
  return path.join(base, 'rsi-grad-cam');
}

/** The cache folder for everything fetched from one base URL. */
export function cacheFolderFor(url: string, cacheDir = defaultCacheDir()): string {
  const u = new URL(url);
  const hash = createHash('sha256').update(url).digest('hex').slice(0, 16);
  return path.join(cacheDir, `${u.hostname.replace(/[^a-z0-9.-]/gi, '_')}-${hash}`);
}

/** Download `url` to `dest` unless `dest` already exists (complete by construction). */
export async function fetchToCache(url: string, dest: string, onProgress?: DownloadProgress): Promise<string> {
  try {
    if ((await stat(dest)).isFile()) return dest;
  } catch {
    // not cached yet
  }
  await mkdir(path.dirname(dest), { recursive: true });
  const tmp = `${dest}.partial-${process.pid}-${Date.now()}`;
  let received = 0;
  try {
    let res: Response;
    try {
      res = await fetch(url);
    } catch (e) {
      throw new ModelFormatError(`${url}: download failed (${causeOf(e)})`);
    }
    if (!res.ok) throw new ModelFormatError(`${url}: download failed with HTTP ${res.status} ${res.statusText}`.trim());
    const header = res.headers.get('content-length');
    const total = header ? Number(header) : undefined;
    const out = createWriteStream(tmp);
    const done = new Promise<void>((resolve, reject) => {
      out.on('finish', resolve);
      out.on('error', reject);
    });
    try {
      for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
        received += chunk.byteLength;
        if (!out.write(chunk)) await new Promise<void>((r) => out.once('drain', () => r()));
        onProgress?.(path.basename(dest), received, total);
      }
    } catch (e) {
      out.destroy();
      throw new ModelFormatError(`${url}: download interrupted after ${received} bytes${total ? ` of ${total}` : ''} (${causeOf(e)})`);
    }
    out.end();
    await done;
    if (total !== undefined && received !== total) {
      throw new ModelFormatError(`${url}: download incomplete: got ${received} of ${total} bytes`);
    }
    await rename(tmp, dest);
    return dest;
  } catch (e) {
    await rm(tmp, { force: true });
    throw e;
  }
}

function causeOf(e: unknown): string {
  const err = e as Error & { cause?: Error & { code?: string } };
  return err.cause?.code ?? err.cause?.message ?? err.message;
}
