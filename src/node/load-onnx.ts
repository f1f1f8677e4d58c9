/** Reading ONNX models from disk (Node only). */
import { readFile } from 'node:fs/promises';
import { ModelFormatError } from '../errors.js';
import { parseOnnx } from '../engine/graph/onnx-io.js';
import type { Graph } from '../engine/graph/types.js';

/** Parse an `.onnx` file, with errors that name the file. */
export async function readOnnxFile(path: string): Promise<Graph> {
  let bytes: Uint8Array;
  try {
    bytes = await readFile(path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new ModelFormatError(code === 'ENOENT' ? `${path}: model file not found` : `${path}: cannot read the model file (${code ?? (e as Error).message})`);
  }
  return parseOnnx(bytes, path);
}
