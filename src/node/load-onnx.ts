/** Reading ONNX models from disk (Node only). */
import { readFile } from 'node:fs/promises';
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import nodePath from 'node:path';
import { ModelFormatError } from '../errors.js';
import { parseOnnx } from '../engine/graph/onnx-io.js';
import type { Graph } from '../engine/graph/types.js';
import { externalDataRange } from '../model-files.js';
import { modelRelativePath } from '../model-paths.js';
import { fileIdentity } from './session-store.js';

/** Parse an `.onnx` file, with errors that name the file. */
export async function readOnnxFile(path: string): Promise<Graph> {
  return (await readOnnxFileWhole(path)).graph;
}

/**
 * Parse an `.onnx` file; `whole` when every weight came from the file's own bytes (no external
 * data) and the file kept one identity (`fileIdentity`) while it was read: its bytes and that
 * identity, for `seedWeightDigests`.
 */
export async function readOnnxFileWhole(path: string): Promise<{ graph: Graph; whole?: { bytes: Uint8Array; identity: string } }> {
  let bytes: Uint8Array;
  let before: string | undefined;
  try {
    before = await fileIdentity(path).catch(() => undefined);
    bytes = await readFile(path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new ModelFormatError(code === 'ENOENT' ? `${path}: model file not found` : `${path}: cannot read the model file (${code ?? (e as Error).message})`);
  }
  let external = false;
  const read = externalReader(path);
  const graph = parseOnnx(bytes, path, (...args) => {
    external = true;
    return read(...args);
  });
  const after = await fileIdentity(path).catch(() => undefined);
  return { graph, ...(!external && before !== undefined && before === after ? { whole: { bytes, identity: after } } : {}) };
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
