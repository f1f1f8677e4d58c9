/**
 * Writes two small TF.js Layers models with seeded weights, as `tensorflowjs_converter` lays
 * them out (model.json + weight shards), for the fuzz test to mutate:
 *
 * - test/fixtures/tfjs/small/: functional, 24x20x3 input: Conv2D(relu) -> BatchNormalization
 *   -> DepthwiseConv2D -> MaxPooling2D, a 1x1 Conv2D branch added back (Add), SeparableConv2D,
 *   ZeroPadding2D, Conv2D stride 2, AveragePooling2D, GlobalAveragePooling2D, Dense(softmax, 5);
 *   two shards.
 * - test/fixtures/tfjs/seq/: Sequential, 16x16x3 input: Conv2D, Activation, MaxPooling2D,
 *   Conv2D, Dropout, Flatten, Dense(relu), Dense(softmax, 4); one shard.
 *
 * Run: npx tsx tools/tfjs-fixture.ts
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { randomizeWeights, saveArtifacts, tf } from '../test/helpers/tfjs-oracle.js';

const OUT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', 'test', 'fixtures', 'tfjs');

/** model.json and `shards` weight files in OUT/name; shards are split at float boundaries. */
async function save(model: tf.LayersModel, name: string, shards: number): Promise<void> {
  const a = await saveArtifacts(model);
  const data = a.weightData;
  const dir = path.join(OUT, name);
  mkdirSync(dir, { recursive: true });
  const paths: string[] = [];
  const per = Math.ceil(data.byteLength / 4 / shards) * 4;
  for (let i = 0; i < shards; i++) {
    const file = `group1-shard${i + 1}of${shards}.bin`;
    writeFileSync(path.join(dir, file), data.subarray(i * per, Math.min(data.byteLength, (i + 1) * per)));
    paths.push(file);
  }
  const json = {
    format: 'layers-model',
    generatedBy: 'tools/tfjs-fixture.ts',
    convertedBy: null,
    modelTopology: a.modelTopology,
    weightsManifest: [{ paths, weights: a.weightSpecs }],
  };
  writeFileSync(path.join(dir, 'model.json'), `${JSON.stringify(json, null, 1)}\n`);
  process.stdout.write(`wrote ${dir}: ${model.countParams()} parameters, ${data.byteLength} weight bytes in ${shards} shard(s)\n`);
}

function sequential(): tf.LayersModel {
  return tf.sequential({
    name: 'seq_fuzz',
    layers: [
      tf.layers.conv2d({ inputShape: [16, 16, 3], filters: 6, kernelSize: 3, name: 'c1' }),
      tf.layers.activation({ activation: 'relu', name: 'act1' }),
      tf.layers.maxPooling2d({ poolSize: 2, name: 'mp1' }),
      tf.layers.conv2d({ filters: 8, kernelSize: 3, padding: 'same', activation: 'relu', name: 'c2' }),
      tf.layers.dropout({ rate: 0.25, name: 'drop' }),
      tf.layers.flatten({ name: 'flat' }),
      tf.layers.dense({ units: 12, activation: 'relu', name: 'fc1' }),
      tf.layers.dense({ units: 4, activation: 'softmax', name: 'out' }),
    ],
  });
}

async function main(): Promise<void> {
  await tf.setBackend('cpu');
  const input = tf.input({ shape: [24, 20, 3], name: 'image' });
  const c1 = tf.layers.conv2d({ filters: 8, kernelSize: 3, padding: 'same', activation: 'relu', name: 'conv1' }).apply(input) as tf.SymbolicTensor;
  const bn = tf.layers.batchNormalization({ name: 'bn1' }).apply(c1) as tf.SymbolicTensor;
  const dw = tf.layers.depthwiseConv2d({ kernelSize: 3, padding: 'same', activation: 'relu', name: 'dw1' }).apply(bn) as tf.SymbolicTensor;
  const mp = tf.layers.maxPooling2d({ poolSize: 2, name: 'pool1' }).apply(dw) as tf.SymbolicTensor;
  const branch = tf.layers.conv2d({ filters: 8, kernelSize: 1, name: 'branch' }).apply(mp) as tf.SymbolicTensor;
  const add = tf.layers.add({ name: 'add1' }).apply([mp, branch]) as tf.SymbolicTensor;
  const sep = tf.layers.separableConv2d({ filters: 12, kernelSize: 3, padding: 'valid', activation: 'relu', name: 'sep1' }).apply(add) as tf.SymbolicTensor;
  const pad = tf.layers.zeroPadding2d({ padding: 1, name: 'pad1' }).apply(sep) as tf.SymbolicTensor;
  const conv2 = tf.layers.conv2d({ filters: 16, kernelSize: 3, strides: 2, activation: 'relu', name: 'conv2' }).apply(pad) as tf.SymbolicTensor;
  const ap = tf.layers.averagePooling2d({ poolSize: 2, padding: 'same', name: 'pool2' }).apply(conv2) as tf.SymbolicTensor;
  const gap = tf.layers.globalAveragePooling2d({ name: 'gap' }).apply(ap) as tf.SymbolicTensor;
  const out = tf.layers.dense({ units: 5, activation: 'softmax', name: 'probs' }).apply(gap) as tf.SymbolicTensor;
  const model = tf.model({ inputs: input, outputs: out, name: 'small_fuzz' });

  randomizeWeights(model, 20240611);
  await save(model, 'small', 2);
  const seq = sequential();
  randomizeWeights(seq, 7);
  await save(seq, 'seq', 1);
}

await main();
