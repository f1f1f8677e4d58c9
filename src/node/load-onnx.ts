/** Reading ONNX models from disk (Node only). */
import { readFile } from 'node:fs/promises';
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import nodePath from 'node:path';
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
  return parseOnnx(bytes, path, externalReader(path));
}

/** Reads tensors saved as ONNX external data, from files beside the model. */
function externalReader(modelPath: string) {
  const dir = nodePath.dirname(modelPath);
  return (location: string, offset: number, length: number | undefined): Uint8Array => {
    const file = nodePath.resolve(dir, location);
    if (!file.startsWith(nodePath.resolve(dir) + nodePath.sep)) {
      throw new ModelFormatError(`${modelPath}: external data location '${location}' points outside the model's folder`);
    }
    let fd: number;
    try {
      fd = openSync(file, 'r');
    } catch {
      throw new ModelFormatError(`${modelPath}: external data file '${location}' is missing (expected at ${file})`);
    }
    try {
      const size = fstatSync(fd).size;
      const n = length ?? size - offset;
      if (offset + n > size) throw new ModelFormatError(`${modelPath}: external data file '${location}' is ${size} bytes, too short for ${n} bytes at offset ${offset}`);
      const buf = new Uint8Array(n);
      readSync(fd, buf, 0, n, offset);
      return buf;
    } finally {
      closeSync(fd);
    }
  };
}
