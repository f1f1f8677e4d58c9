/** TF.js Layers models written to disk (model.json + weights.bin), as users get them. */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { modelJsonOf, randomizeWeights, saveArtifacts, tf } from './tfjs-oracle.js';

/**
 * Save `model` into `dir` as model.json + weights.bin; `topology` may rewrite the topology
 * first (e.g. into Keras 3's spelling). Returns the model.json path.
 */
export async function writeTfjsModel(model: tf.LayersModel, dir: string, topology?: (t: Record<string, unknown>) => Record<string, unknown>): Promise<string> {
  const art = await saveArtifacts(model);
  const json = modelJsonOf(art);
  if (topology) json.modelTopology = topology(art.modelTopology);
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, 'weights.bin'), art.weightData);
  const file = path.join(dir, 'model.json');
  writeFileSync(file, JSON.stringify(json));
  return file;
}

/** A Keras 3 dtype policy object, as Keras 3 writes `dtype`. */
const POLICY = { module: 'keras', class_name: 'DTypePolicy', config: { name: 'float32' }, registered_name: null };

/**
 * A TF.js Sequential topology in Keras 3's spelling: an explicit InputLayer with
 * `batch_shape`, `module` / `registered_name` on every layer, dtype policies, keras_version 3.
 * `extra` layers (Keras 3 config objects) are inserted after the input layer.
 */
export function keras3Sequential(topology: Record<string, unknown>, extra: Record<string, unknown>[] = []): Record<string, unknown> {
  const t = structuredClone(topology) as { config: { name: string; layers: { class_name: string; config: Record<string, unknown> }[] } };
  const layers = t.config.layers.map((l) => {
    const { batch_input_shape: _b, dtype: _d, ...config } = l.config;
    return { module: 'keras.layers', class_name: l.class_name, config: { ...config, dtype: POLICY }, registered_name: null };
  });
  const shape = t.config.layers[0]!.config['batch_input_shape'];
  const input = { module: 'keras.layers', class_name: 'InputLayer', config: { batch_shape: shape, dtype: 'float32', sparse: false, name: 'input_layer' }, registered_name: null };
  return {
    class_name: 'Sequential',
    config: { name: t.config.name, trainable: true, dtype: POLICY, layers: [input, ...extra, ...layers] },
    keras_version: '3.4.1',
    backend: 'tensorflow',
  };
}

/**
 * A small Keras model that takes raw 0-255 pixels: Rescaling(1/255) at its 16x16x3 input,
 * two convs around a max-pool, a softmax over 4 classes; seeded random weights.
 */
export function rescalingTfjsModel(): tf.Sequential {
  const model = tf.sequential({
    layers: [
      tf.layers.rescaling({ inputShape: [16, 16, 3], scale: 1 / 255, name: 'rescaling' }),
      tf.layers.conv2d({ filters: 6, kernelSize: 3, padding: 'same', activation: 'relu', name: 'conv1' }),
      tf.layers.maxPooling2d({ poolSize: 2, name: 'pool' }),
      tf.layers.conv2d({ filters: 8, kernelSize: 3, padding: 'same', activation: 'relu', name: 'conv2' }),
      tf.layers.flatten({ name: 'flatten' }),
      tf.layers.dense({ units: 4, activation: 'softmax', name: 'probs' }),
    ],
  });
  randomizeWeights(model, 17, 1);
  return model;
}
