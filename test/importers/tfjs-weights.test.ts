/**
 * TF.js Layers weights: the converter's uint8 / uint16 / float16 quantisation (TF.js's own
 * loader decoding the same bytes is the oracle), several groups and shards read from disk by
 * the Node adapter, and the errors for broken files and manifests.
 */
import assert from 'node:assert/strict';
import { appendFile, mkdir, mkdtemp, rm, truncate, unlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { floatToHalf } from '../../src/engine/graph/tensor-data.js';
import { ModelFormatError } from '../../src/errors.js';
import { importTfjsLayers } from '../../src/importers/tfjs/import.js';
import { loadTfjsModelFromFile } from '../../src/node/load-tfjs.js';
import { assertClose, modelJsonOf, predict, randomData, randomizeWeights, runImported, saveArtifacts, tf, type Artifacts } from '../helpers/tfjs-oracle.js';

tf.setBackend('cpu');

let dir: string;
let art: Artifacts;
const SHAPE = [2, 6, 5, 3];

before(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'tfjs-import-'));
  const model = tf.sequential({
    layers: [
      tf.layers.conv2d({ inputShape: [6, 5, 3], filters: 5, kernelSize: 3, padding: 'same', name: 'c1' }),
      tf.layers.batchNormalization({ name: 'bn1' }),
      tf.layers.depthwiseConv2d({ kernelSize: 3, strides: 2, padding: 'same', activation: 'relu', name: 'dw1' }),
      tf.layers.flatten({ name: 'flat' }),
      tf.layers.dense({ units: 4, activation: 'softmax', name: 'probs' }),
    ],
  });
  randomizeWeights(model, 91);
  art = await saveArtifacts(model);
});

after(async () => {
  await rm(dir, { recursive: true, force: true });
});

type Quant = 'float32' | 'uint8' | 'uint16' | 'float16';

/** Quantise every weight the way the TF.js converter does, returning specs and bytes. */
function quantise(a: Artifacts, q: Quant): { specs: tf.io.WeightsManifestEntry[]; bytes: Uint8Array[] } {
  const specs: tf.io.WeightsManifestEntry[] = [];
  const bytes: Uint8Array[] = [];
  let off = 0;
  for (const s of a.weightSpecs) {
    const n = s.shape.reduce((x, y) => x * y, 1);
    const v = new Float32Array(a.weightData.slice(off, off + 4 * n).buffer);
    off += 4 * n;
    if (q === 'float32') {
      specs.push(s);
      bytes.push(new Uint8Array(v.buffer));
    } else if (q === 'float16') {
      specs.push({ ...s, quantization: { dtype: 'float16' } });
      bytes.push(new Uint8Array(Uint16Array.from(v, floatToHalf).buffer));
    } else {
      const levels = q === 'uint8' ? 255 : 65535;
      let min = Math.min(...v);
      const max = Math.max(...v);
      const scale = max > min ? (max - min) / levels : 1;
      if (max === min) min = v[0]!;
      const codes = Array.from(v, (x) => Math.min(levels, Math.max(0, Math.round((x - min) / scale))));
      specs.push({ ...s, quantization: { dtype: q, scale, min } });
      bytes.push(new Uint8Array((q === 'uint8' ? Uint8Array.from(codes) : Uint16Array.from(codes)).buffer));
    }
  }
  return { specs, bytes };
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((a, p) => a + p.byteLength, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.byteLength;
  }
  return out;
}

/**
 * Write model.json with the weights in two groups: the first split over two shard files,
 * the second in one file. Returns the model.json path.
 */
async function writeModel(name: string, topology: unknown, specs: tf.io.WeightsManifestEntry[], bytes: Uint8Array[]): Promise<string> {
  const sub = path.join(dir, name);
  await mkdir(sub, { recursive: true });
  const cut = Math.ceil(specs.length / 2);
  const g1 = concat(bytes.slice(0, cut));
  const g2 = concat(bytes.slice(cut));
  const half = Math.floor(g1.byteLength / 2);
  await writeFile(path.join(sub, 'group1-shard1of2.bin'), g1.subarray(0, half));
  await writeFile(path.join(sub, 'group1-shard2of2.bin'), g1.subarray(half));
  await writeFile(path.join(sub, 'group2 shard1of1.bin'), g2);
  const json = {
    format: 'layers-model',
    generatedBy: 'test',
    modelTopology: topology,
    weightsManifest: [
      { paths: ['group1-shard1of2.bin', 'group1-shard2of2.bin'], weights: specs.slice(0, cut) },
      { paths: ['group2%20shard1of1.bin'], weights: specs.slice(cut) },
    ],
  };
  const file = path.join(sub, 'model.json');
  await writeFile(file, JSON.stringify(json));
  return file;
}

for (const q of ['float32', 'uint8', 'uint16', 'float16'] as const) {
  test(`${q} weights from sharded files match TF.js loading the same bytes`, async () => {
    const { specs, bytes } = quantise(art, q);
    const file = await writeModel(q, art.modelTopology, specs, bytes);
    const imp = await loadTfjsModelFromFile(file);
    // The oracle: TF.js decodes the quantised weights itself.
    const oracle = await tf.loadLayersModel(tf.io.fromMemory({ modelTopology: art.modelTopology, weightSpecs: specs, weightData: concat(bytes).slice().buffer }));
    const x = randomData(SHAPE.reduce((a, b) => a * b, 1), 97);
    const [want] = await predict(oracle, x, SHAPE);
    const got = await runImported(imp, x, SHAPE);
    assertClose(got.get(imp.outputName)!, want!, q);
    assert.equal(imp.logitsName !== undefined, true);
  });
}

async function rejects(p: Promise<unknown>, pattern: RegExp): Promise<void> {
  await assert.rejects(p, (e: unknown) => {
    assert.ok(e instanceof ModelFormatError, `a ModelFormatError, got ${String(e)}`);
    assert.match(e.message, pattern);
    assert.ok(!e.message.includes('\n'), 'one-line message');
    return true;
  });
}

test('a missing weight file is named', async () => {
  const { specs, bytes } = quantise(art, 'float32');
  const file = await writeModel('missing', art.modelTopology, specs, bytes);
  await unlink(path.join(path.dirname(file), 'group1-shard2of2.bin'));
  await rejects(loadTfjsModelFromFile(file), /weight file 'group1-shard2of2\.bin' is missing/);
});

test('a truncated weight file is named', async () => {
  const { specs, bytes } = quantise(art, 'float32');
  const file = await writeModel('short', art.modelTopology, specs, bytes);
  await truncate(path.join(path.dirname(file), 'group2 shard1of1.bin'), 10);
  await rejects(loadTfjsModelFromFile(file), /group2%20shard1of1\.bin.*truncated/);
});

test('a weight shard longer than the manifest says is refused, naming its group', async () => {
  const { specs, bytes } = quantise(art, 'float32');
  // Extra bytes in the first shard would shift every later weight of the group (NaN outputs).
  const file = await writeModel('long', art.modelTopology, specs, bytes);
  await appendFile(path.join(path.dirname(file), 'group1-shard1of2.bin'), new Uint8Array(4));
  await rejects(loadTfjsModelFromFile(file), /weight files 'group1-shard1of2\.bin', 'group1-shard2of2\.bin' hold (\d+) bytes but the weights manifest needs (\d+); the file does not match the manifest/);
  const last = await writeModel('long-last', art.modelTopology, specs, bytes);
  await appendFile(path.join(path.dirname(last), 'group2 shard1of1.bin'), new Uint8Array(1));
  await rejects(loadTfjsModelFromFile(last), /weight file 'group2%20shard1of1\.bin' holds \d+ bytes but the weights manifest needs \d+; the file does not match/);
});

test('weight data longer than the manifest is an error', () => {
  const longer = new Uint8Array(art.weightData.byteLength + 8);
  longer.set(art.weightData);
  assert.throws(
    () => importTfjsLayers(modelJsonOf(art), longer, 'mem'),
    (e: unknown) => e instanceof ModelFormatError && e.message === `mem: the weight data holds ${longer.byteLength} bytes but the weights manifest needs ${art.weightData.byteLength}; the weight files do not match the manifest`,
  );
});

test('a weight whose manifest shape does not match the topology names layer and weight', async () => {
  const swapped = art.weightSpecs.map((s) => (s.name === 'c1/kernel' ? { ...s, shape: [3, 3, 5, 3] } : s));
  const { bytes } = quantise(art, 'float32');
  const file = await writeModel('mismatch', art.modelTopology, swapped, bytes);
  await rejects(loadTfjsModelFromFile(file), /layer 'c1' \(Conv2D\) weight 'c1\/kernel' has shape \[3, 3, 5, 3\].*needs \[3, 3, 3, 5\]/);
  const smaller = art.weightSpecs.map((s) => (s.name === 'bn1/gamma' ? { ...s, shape: [4] } : s));
  assert.throws(
    () => importTfjsLayers({ modelTopology: art.modelTopology, weightsManifest: [{ paths: ['w'], weights: smaller }] }, art.weightData, 'mem'),
    /layer 'bn1' \(BatchNormalization\) weight 'bn1\/gamma' has shape \[4\]/,
  );
});

test('a weight missing from the manifest is named', () => {
  const fewer = art.weightSpecs.filter((s) => s.name !== 'dw1/depthwise_kernel');
  assert.throws(
    () => importTfjsLayers({ modelTopology: art.modelTopology, weightsManifest: [{ paths: ['w'], weights: fewer }] }, art.weightData, 'mem'),
    /layer 'dw1' \(DepthwiseConv2D\) needs weight 'dw1\/depthwise_kernel'/,
  );
});

test('weight data shorter than the manifest is an error', () => {
  assert.throws(() => importTfjsLayers(modelJsonOf(art), art.weightData.subarray(0, 100), 'mem'), /holds 100 bytes but the weights manifest needs/);
});

test('an unsupported layer class is named with its layer', () => {
  const topo = structuredClone(art.modelTopology) as { config: { layers: { class_name: string }[] } };
  topo.config.layers[3]!.class_name = 'LayerNormalization';
  assert.throws(
    () => importTfjsLayers({ modelTopology: topo, weightsManifest: [{ paths: ['w'], weights: art.weightSpecs }] }, art.weightData, 'mem'),
    (e: unknown) => e instanceof ModelFormatError && /unsupported layer class 'LayerNormalization' \(layer 'flat'\)/.test(e.message),
  );
});

test('unreadable model files: missing, not JSON, a graph model', async () => {
  await rejects(loadTfjsModelFromFile(path.join(dir, 'nope', 'model.json')), /cannot read the model file/);
  const bad = path.join(dir, 'bad.json');
  await writeFile(bad, '{ not json');
  await rejects(loadTfjsModelFromFile(bad), /not valid JSON/);
  const graphModel = path.join(dir, 'graph.json');
  await writeFile(graphModel, JSON.stringify({ format: 'graph-model', modelTopology: { node: [] }, weightsManifest: [] }));
  await rejects(loadTfjsModelFromFile(graphModel), /TF\.js graph model/);
});
