/** Node adapter for the TF.js importers (Layers and graph models): reads model.json and its weight files from disk. */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { ModelFormatError } from '../errors.js';
import type { TfjsImport } from '../importers/tfjs/import.js';
import { importTfjs, tfjsManifest, type TfjsImportOptions } from '../importers/tfjs-model.js';

const BYTES: Record<string, number> = { float32: 4, int32: 4, float16: 2, uint16: 2, int16: 2, uint8: 1, int8: 1, bool: 1 };

/**
 * Load a TF.js model (Layers or graph model) from `modelJsonPath`; weight files are resolved
 * relative to it. Errors name the missing or short weight file.
 */
export async function loadTfjsModelFromFile(modelJsonPath: string, options: TfjsImportOptions = {}): Promise<TfjsImport> {
  let text: string;
  try {
    text = await readFile(modelJsonPath, 'utf8');
  } catch (e) {
    throw new ModelFormatError(`${modelJsonPath}: cannot read the model file (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new ModelFormatError(`${modelJsonPath}: not valid JSON (${(e as Error).message})`);
  }
  const manifest = tfjsManifest(json, modelJsonPath);
  const dir = path.dirname(modelJsonPath);
  const parts: Uint8Array[] = [];
  for (const group of manifest) {
    const need = group.weights.reduce((sum, w) => {
      const per = BYTES[w.quantization?.dtype ?? w.dtype] ?? 4;
      return sum + per * w.shape.reduce((a, b) => a * b, 1);
    }, 0);
    let have = 0;
    for (const p of group.paths) {
      const bytes = await readWeightFile(dir, p, modelJsonPath);
      parts.push(bytes);
      have += bytes.byteLength;
    }
    if (have < need) {
      const files = group.paths.map((p) => `'${p}'`).join(', ');
      throw new ModelFormatError(
        `${modelJsonPath}: weight file ${files} holds ${have} bytes but the weights manifest needs ${need}; the file is truncated`,
      );
    }
  }
  const total = parts.reduce((a, p) => a + p.byteLength, 0);
  const data = new Uint8Array(total);
  let off = 0;
  for (const p of parts) {
    data.set(p, off);
    off += p.byteLength;
  }
  return importTfjs(json as object, data, modelJsonPath, options);
}

async function readWeightFile(dir: string, rel: string, source: string): Promise<Uint8Array> {
  // Paths are relative URLs; converters may percent-encode them.
  const candidates = [rel];
  try {
    const decoded = decodeURIComponent(rel);
    if (decoded !== rel) candidates.push(decoded);
  } catch {
    /* not percent-encoded */
  }
  for (const c of candidates) {
    try {
      const buf = await readFile(path.resolve(dir, c));
      return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') {
        throw new ModelFormatError(`${source}: cannot read weight file '${c}' (${(e as Error).message})`);
      }
    }
  }
  throw new ModelFormatError(`${source}: weight file '${rel}' is missing (looked for ${path.resolve(dir, rel)})`);
}
