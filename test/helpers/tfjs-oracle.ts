/**
 * TF.js as the oracle for the TF.js Layers importer: build models with tf.layers, give them
 * random weights, save them to in-memory artifacts, import, run the graph on onnxruntime and
 * compare with model.predict on the same (NHWC) input.
 */
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { serializeOnnx } from '../../src/engine/graph/onnx-io.js';
import { inferShapes } from '../../src/engine/graph/shape-inference.js';
import type { Graph } from '../../src/engine/graph/types.js';
import { importTfjsLayers, type TfjsImport } from '../../src/importers/tfjs/import.js';
import { createNodeRuntime } from '../../src/node/runtime.js';
import { rng } from './grad-check.js';

export { tf };

const runtime = createNodeRuntime({ threads: 1 });

export interface Artifacts {
  modelTopology: Record<string, unknown>;
  weightSpecs: tf.io.WeightsManifestEntry[];
  weightData: Uint8Array;
}

/** Save a model through a custom IOHandler: topology, weight specs and bytes, no files. */
export async function saveArtifacts(model: tf.LayersModel): Promise<Artifacts> {
  let saved: tf.io.ModelArtifacts | undefined;
  await model.save(
    tf.io.withSaveHandler(async (a) => {
      saved = a;
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
    }),
  );
  const a = saved!;
  const data = a.weightData === undefined ? new ArrayBuffer(0) : tf.io.CompositeArrayBuffer.join(a.weightData);
  return {
    modelTopology: structuredClone(a.modelTopology) as Record<string, unknown>,
    weightSpecs: structuredClone(a.weightSpecs ?? []),
    weightData: new Uint8Array(data),
  };
}

/** The model.json object of a set of artifacts, all weights in one group. */
export function modelJsonOf(a: Artifacts): Record<string, unknown> {
  return { format: 'layers-model', modelTopology: a.modelTopology, weightsManifest: [{ paths: ['weights.bin'], weights: a.weightSpecs }] };
}

/** Seeded random weights (positive variances for BatchNormalization). */
export function randomizeWeights(model: tf.LayersModel, seed = 1, scale = 0.5): void {
  const r = rng(seed);
  model.setWeights(
    model.weights.map((w) => {
      const dims = w.shape as number[];
      const n = dims.reduce((a, b) => a * b, 1);
      const positive = /moving_variance|variance/.test(w.originalName);
      const data = Float32Array.from({ length: n }, () => (positive ? r(0.5, 1.5) : r(-scale, scale)));
      return tf.tensor(data, dims);
    }),
  );
}

/** Seeded random values in [lo, hi). */
export function randomData(n: number, seed: number, lo = -1, hi = 1): Float32Array {
  const r = rng(seed);
  return Float32Array.from({ length: n }, () => r(lo, hi));
}

/** [N, H, W, C] -> [N, C, H, W]. */
export function nhwcToNchw(x: Float32Array, [n, h, w, c]: number[]): Float32Array {
  const out = new Float32Array(x.length);
  for (let b = 0; b < n!; b++)
    for (let y = 0; y < h!; y++)
      for (let xx = 0; xx < w!; xx++)
        for (let ch = 0; ch < c!; ch++) out[((b * c! + ch) * h! + y) * w! + xx] = x[((b * h! + y) * w! + xx) * c! + ch]!;
  return out;
}

/** [N, C, H, W] -> [N, H, W, C]. */
export function nchwToNhwc(x: Float32Array, [n, c, h, w]: number[]): Float32Array {
  const out = new Float32Array(x.length);
  for (let b = 0; b < n!; b++)
    for (let ch = 0; ch < c!; ch++)
      for (let y = 0; y < h!; y++)
        for (let xx = 0; xx < w!; xx++) out[((b * h! + y) * w! + xx) * c! + ch] = x[((b * c! + ch) * h! + y) * w! + xx]!;
  return out;
}

/**
 * Run the imported graph on an NHWC batch, returning `tensors` (default: the output) in
 * Keras layout (4-D results transposed back to NHWC) with their Keras shapes.
 */
export async function runImported(imp: TfjsImport, nhwc: Float32Array, shape: number[], tensors?: string[]): Promise<Map<string, { data: Float32Array; dims: number[] }>> {
  const names = tensors ?? [imp.outputName];
  const graph: Graph = { ...imp.graph, outputs: [] };
  const known = inferShapes(imp.graph, 'test');
  // onnxruntime wants distinct output names that are not graph inputs.
  graph.outputs = [...new Set(names)].map((t) => ({ name: t, dataType: 'float32', shape: known.get(t)?.shape }));
  const session = await runtime.create(serializeOnnx(graph));
  try {
    const res = await session.run({ input: { data: nhwcToNchw(nhwc, shape), dims: [shape[0]!, shape[3]!, shape[1]!, shape[2]!] } });
    const out = new Map<string, { data: Float32Array; dims: number[] }>();
    for (const t of names) {
      const r = res[t]!;
      if (r.dims.length === 4) {
        const [n, c, h, w] = r.dims as [number, number, number, number];
        out.set(t, { data: nchwToNhwc(r.data, r.dims), dims: [n, h, w, c] });
      } else out.set(t, { data: r.data, dims: r.dims });
    }
    return out;
  } finally {
    await session.release();
  }
}

/** |a - b| <= tol * max(1, |b|) element-wise, with the same shape. */
export function assertClose(actual: { data: Float32Array; dims: number[] }, expected: { data: Float32Array | number[]; dims: number[] }, label: string, tol = 1e-4): void {
  assert.deepEqual(actual.dims, expected.dims, `${label}: shape`);
  let worst = 0;
  let at = -1;
  for (let i = 0; i < actual.data.length; i++) {
    const e = expected.data[i]!;
    const err = Math.abs(actual.data[i]! - e) / Math.max(1, Math.abs(e));
    if (!(err <= worst)) {
      worst = err;
      at = i;
    }
  }
  assert.ok(worst <= tol, `${label}: max error ${worst} at ${at} (got ${actual.data[at]}, want ${expected.data[at]})`);
}

export async function predict(model: tf.LayersModel, nhwc: Float32Array, shape: number[]): Promise<{ data: Float32Array; dims: number[] }[]> {
  const x = tf.tensor(nhwc, shape);
  const y = model.predict(x);
  const ys = Array.isArray(y) ? y : [y];
  const out = await Promise.all(ys.map(async (t) => ({ data: (await t.data()) as Float32Array, dims: t.shape as number[] })));
  tf.dispose([x, ...ys]);
  return out;
}

/** Keras layer outputs of `model` as the oracle, by layer name. */
export async function layerOutputs(model: tf.LayersModel, names: string[], nhwc: Float32Array, shape: number[]): Promise<Map<string, { data: Float32Array; dims: number[] }>> {
  if (names.length === 0) return new Map();
  const probe = tf.model({ inputs: model.inputs, outputs: names.map((n) => model.getLayer(n).output as tf.SymbolicTensor) });
  const res = await predict(probe, nhwc, shape);
  return new Map(names.map((n, i) => [n, res[i]!]));
}

export interface OracleCheck {
  imp: TfjsImport;
  /** Layers compared besides the output. */
  checked: string[];
}

/**
 * Import `model` and compare its output (and every named layer in `layers`, default: all
 * top-level layers) with TF.js on a random batch of `batch` images.
 */
export async function checkModel(model: tf.LayersModel, opts: { batch?: number; seed?: number; layers?: string[]; tol?: number; label?: string } = {}): Promise<OracleCheck> {
  const art = await saveArtifacts(model);
  const imp = importTfjsLayers(modelJsonOf(art), art.weightData, opts.label ?? model.name);
  const [, h, w, c] = model.inputs[0]!.shape as number[];
  const shape = [opts.batch ?? 2, h!, w!, c!];
  const x = randomData(shape.reduce((a, b) => a * b, 1), opts.seed ?? 7);
  const layers = opts.layers ?? model.layers.filter((l) => l.getClassName() !== 'InputLayer').map((l) => l.name);
  const want = await layerOutputs(model, layers, x, shape);
  const tensors = layers.map((l) => {
    const t = imp.layerNames.get(l);
    assert.ok(t, `layer '${l}' is not in layerNames`);
    return t;
  });
  const got = await runImported(imp, x, shape, [imp.outputName, ...tensors]);
  const [final] = await predict(model, x, shape);
  assertClose(got.get(imp.outputName)!, final!, `${opts.label ?? model.name}: output`, opts.tol);
  layers.forEach((l, i) => assertClose(got.get(tensors[i]!)!, want.get(l)!, `${opts.label ?? model.name}: layer '${l}'`, opts.tol));
  return { imp, checked: layers };
}
