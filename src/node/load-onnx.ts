/** Reading ONNX models from disk (Node only). */
import { readFile } from 'node:fs/promises';
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import nodePath from 'node:path';
import { ModelFormatError } from '../errors.js';
import { parseOnnx } from '../engine/graph/onnx-io.js';
import type { Graph } from '../engine/graph/types.js';
import { externalDataRange } from '../model-files.js';
import { modelRelativePath } from '../model-paths.js';

/** Parse an `.onnx` file, with errors that name the file. */
export async function readOnnxFile(path: string): Promise<Graph> {
  let bytes: Uint8Array;
  try {
    bytes = await readFile(path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new ModelFormatError(code === 'ENOENT' ? `${path}: model file not found` : `${path}: cannot read the model file (${code ?? (e as Error).message})`);
  }
  return parseOnnx(bytes, path, externalReader(path));
}

/** Reads tensors saved as ONNX external data, from files beside the model. */
function externalReader(modelPath: string) {
  const dir = nodePath.dirname(modelPath);
  return (location: string, offset: number, length: number | undefined, tensor: string): Uint8Array => {
    const file = nodePath.join(dir, modelRelativePath(location, `tensor '${tensor}': external data location '${location}'`, modelPath));
    let fd: number;
    try {
      fd = openSync(file, 'r');
    } catch {
      throw new ModelFormatError(`${modelPath}: external data file '${location}' is missing (expected at ${file})`);
    }
    try {
      const [, n] = externalDataRange(offset, length, fstatSync(fd).size, `${modelPath}: tensor '${tensor}': external data file '${location}'`);
      const buf = new Uint8Array(n);
      readSync(fd, buf, 0, n, offset);
      return buf;
    } finally {
      closeSync(fd);
    }
  };
}
