/** Node adapter for the TF.js importers (Layers and graph models): reads model.json and its weight files from disk. */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { ModelFormatError } from '../errors.js';
import type { TfjsImport } from '../importers/tfjs/import.js';
import { importTfjs, tfjsManifest, type TfjsImportOptions } from '../importers/tfjs-model.js';
import { assembleWeights, type ModelFileReader } from '../model-files.js';

/**
 * Load a TF.js model (Layers or graph model) from `modelJsonPath`; weight files are resolved
 * relative to it and must stay in its folder. Errors name the missing, short or oversized
 * weight file.
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
  const data = await assembleWeights(manifest, folderReader(path.dirname(modelJsonPath), modelJsonPath), modelJsonPath);
  return importTfjs(json as object, data, modelJsonPath, options);
}

/** Reads files by a path relative to `dir` (already checked to stay inside it); absent files are undefined. */
export function folderReader(dir: string, source: string): ModelFileReader {
  return async (rel) => {
    try {
      const buf = await readFile(path.join(dir, rel));
      return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw new ModelFormatError(`${source}: cannot read '${rel}' (${(e as Error).message})`);
    }
  };
}
