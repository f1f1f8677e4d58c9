/**
 * Either kind of TF.js model.json: Layers models (`"format": "layers-model"`, or none) and
 * graph models (`"format": "graph-model"`), told apart by the file itself.
 */
import { ModelFormatError } from '../errors.js';
import { importTfjsGraph, type GraphImportOptions } from './tfjs-graph/import.js';
import { importTfjsLayers, type TfjsImport } from './tfjs/import.js';
import { parseManifest, type ManifestGroup } from './tfjs/model-json.js';

export type TfjsFormat = 'layers-model' | 'graph-model';

export type TfjsImportOptions = GraphImportOptions;

/** Which importer a model.json needs. Files without `format` are told by their topology. */
export function tfjsFormat(json: unknown, source: string): TfjsFormat {
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw new ModelFormatError(`${source}: model.json is not a JSON object`);
  const o = json as Record<string, unknown>;
  const format = o['format'];
  if (format === 'graph-model' || format === 'layers-model') return format;
  if (format !== undefined) throw new ModelFormatError(`${source}: unknown TF.js model format '${String(format)}' (expected 'layers-model' or 'graph-model')`);
  const topology = o['modelTopology'] as Record<string, unknown> | undefined;
  return Array.isArray(topology?.['node']) ? 'graph-model' : 'layers-model';
}

/** The weights manifest of either kind of model.json. */
export function tfjsManifest(json: unknown, source: string): ManifestGroup[] {
  tfjsFormat(json, source);
  return parseManifest((json as Record<string, unknown>)['weightsManifest'], source);
}

/** Import a TF.js model of either format; `weightData` is all weight files concatenated in manifest order. */
export function importTfjs(json: object, weightData: ArrayBuffer | Uint8Array, source: string, options: TfjsImportOptions = {}): TfjsImport {
  return tfjsFormat(json, source) === 'graph-model' ? importTfjsGraph(json, weightData, source, options) : importTfjsLayers(json, weightData, source);
}
