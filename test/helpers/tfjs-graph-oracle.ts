/**
 * TF.js's graph-model executor (@tensorflow/tfjs-converter's loadGraphModel) as the oracle for
 * the graph-model importer: node outputs by execute(), and Grad-CAM from tf.grad through the
 * part of the graph after the layer (the layer's node fed with its own activations).
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Model } from '../../src/engine/model.js';
import type { TfjsImport } from '../../src/importers/tfjs/import.js';
import { GradCam } from '../../src/methods/gradcam.js';
import { Pipeline } from '../../src/methods/pipeline.js';
import { createNodeRuntime } from '../../src/node/runtime.js';
import { relError } from './fixtures.js';
import { nhwcToNchw, tf } from './tfjs-oracle.js';

export { tf };

export const GRAPH_FIXTURES = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..', 'fixtures', 'tfjs-graph');

export interface GraphFiles {
  json: Record<string, unknown> & { weightsManifest: { paths: string[]; weights: tf.io.WeightsManifestEntry[] }[] };
  /** The weight files concatenated in manifest order. */
  data: Uint8Array;
  modelJsonPath: string;
}

/** model.json and its weight files from a folder. */
export function readGraphModel(dir: string): GraphFiles {
  const modelJsonPath = path.join(dir, 'model.json');
  const json = JSON.parse(readFileSync(modelJsonPath, 'utf8')) as GraphFiles['json'];
  const data = new Uint8Array(Buffer.concat(json.weightsManifest.flatMap((g) => g.paths.map((p) => readFileSync(path.join(dir, p))))));
  return { json, data, modelJsonPath };
}

/** The same files loaded by TF.js's own graph-model loader. */
export async function loadOracle(files: GraphFiles): Promise<tf.GraphModel> {
  const { json, data } = files;
  return tf.loadGraphModel(
    tf.io.fromMemory({
      modelTopology: json['modelTopology'] as object,
      weightSpecs: json.weightsManifest.flatMap((g) => g.weights),
      weightData: data.slice().buffer,
      format: json['format'] as string,
      signature: json['signature'] as object | undefined,
      userDefinedMetadata: json['userDefinedMetadata'] as object | undefined,
    }),
  );
}

/** Node outputs from TF.js (NHWC), by node name. */
export async function oracleOutputs(model: tf.GraphModel, nhwc: Float32Array, shape: number[], nodes: string[]): Promise<Map<string, { data: Float32Array; dims: number[] }>> {
  const x = tf.tensor(nhwc, shape);
  const ys = model.execute(x, nodes) as tf.Tensor | tf.Tensor[];
  const list = Array.isArray(ys) ? ys : [ys];
  const out = new Map<string, { data: Float32Array; dims: number[] }>();
  for (const [i, t] of list.entries()) out.set(nodes[i]!, { data: (await t.data()) as Float32Array, dims: t.shape as number[] });
  tf.dispose([x, ...list]);
  return out;
}

/**
 * Grad-CAM at TF node `layer` of one NHWC image for each class in `targets`, computed on
 * TF.js: A from execute(), d logit / d A from tf.grad with A fed into the layer's node, then
 * w_k = mean_hw grad, cam = ReLU(sum_k w_k A_k) as an [h, w] map.
 */
export async function oracleGradCams(model: tf.GraphModel, nhwc: Float32Array, shape: number[], layer: string, logits: string, targets: number[]): Promise<{ cams: Float32Array[]; h: number; w: number }> {
  const x = tf.tensor(nhwc, shape);
  const a = model.execute(x, layer) as tf.Tensor4D;
  const [, h, w, c] = a.shape;
  const av = (await a.data()) as Float32Array;
  const cams: Float32Array[] = [];
  for (const target of targets) {
    const score = (act: tf.Tensor) => (model.execute({ [layer]: act }, logits) as tf.Tensor2D).slice([0, target], [1, 1]).sum();
    const g = tf.grad(score)(a);
    const gv = (await g.data()) as Float32Array;
    g.dispose();
    const weights = new Float64Array(c);
    for (let i = 0; i < h * w; i++) for (let k = 0; k < c; k++) weights[k] += gv[i * c + k]! / (h * w);
    const cam = new Float32Array(h * w);
    for (let i = 0; i < h * w; i++) {
      let s = 0;
      for (let k = 0; k < c; k++) s += weights[k]! * av[i * c + k]!;
      cam[i] = Math.max(0, s);
    }
    cams.push(cam);
  }
  tf.dispose([x, a]);
  return { cams, h, w };
}

const runtime = createNodeRuntime({ threads: 1 });

/**
 * Our Grad-CAM (logit score) at the model's default layer, or `layer`, against the oracle's
 * on one image, for every class; the cams must agree to `tol` relative to their largest
 * value. Returns how many classes have a cam that is not all zero (a check that compares
 * only zeros proves nothing, so callers assert on it).
 */
export async function checkGradCam(imp: TfjsImport, oracle: tf.GraphModel, nhwc: Float32Array, shape: number[], opts: { label: string; layer?: string; oracleLayer: string; oracleLogits: string; tol?: number }): Promise<number> {
  const model = Model.prepare(imp.graph, { source: opts.label, logits: imp.logitsName, aliases: imp.layerNames });
  const [n, h, w, c] = shape as [number, number, number, number];
  assert.equal(n, 1, 'one image');
  const image = nhwcToNchw(nhwc, [1, h, w, c]);
  const targets = Array.from({ length: model.numClasses }, (_, k) => k);
  const ours = await new GradCam(new Pipeline(model, runtime)).explain(
    targets.map(() => image),
    { layer: opts.layer, targets },
  );
  const ref = await oracleGradCams(oracle, nhwc, shape, opts.oracleLayer, opts.oracleLogits, targets);
  let nonZero = 0;
  for (const target of targets) {
    const r = ours[target]!;
    const want = ref.cams[target]!;
    assert.deepEqual(r.camShape, [ref.h, ref.w], `${opts.label}: cam shape`);
    if (want.every((v) => v === 0)) {
      assert.ok(r.cam.every((v) => v === 0), `${opts.label} class ${target}: tf.grad's cam is all zero, ours is not`);
      continue;
    }
    nonZero++;
    const e = relError(r.cam, want);
    assert.ok(e <= (opts.tol ?? 1e-4), `${opts.label} class ${target}: Grad-CAM differs from tf.grad's by ${e}`);
  }
  return nonZero;
}
