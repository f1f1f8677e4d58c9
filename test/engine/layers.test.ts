import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Model } from '../../src/engine/model.js';
import { readOnnxFile } from '../../src/node/load-onnx.js';
import { moduleScopes } from '../../src/engine/layers.js';
import { UnknownLayerError } from '../../src/errors.js';
import { loadFixture } from '../helpers/fixtures.js';

async function prepared(name: string) {
  const fx = loadFixture(name);
  return { fx, model: Model.prepare(await readOnnxFile(fx.onnxPath), { source: name }) };
}

test('module scopes come from torch.onnx node names', () => {
  assert.deepEqual(moduleScopes('/layer4/layer4.2/relu_2/Relu'), ['layer4', 'layer4.2', 'layer4.2.relu_2']);
  assert.deepEqual(moduleScopes('/features/features.3/MaxPool'), ['features', 'features.3']);
  assert.deepEqual(moduleScopes('Conv_0'), []);
});

test('module paths resolve to the tensor torch recorded for that module, on every fixture', async () => {
  for (const name of ['vgg', 'resnet', 'mobilenetv2', 'densenet', 'variety_silu', 'variety_upsample']) {
    const { fx, model } = await prepared(name);
    for (const l of fx.meta.layers) assert.equal(model.layer(l.modulePath).tensor, l.onnxTensor, `${name} ${l.modulePath}`);
  }
});

test('layers list name, node, op and batched shape; names resolve by tensor, node and module', async () => {
  const { model } = await prepared('resnet');
  const l = model.layers.find((x) => x.modules.includes('layer1'))!;
  assert.equal(l.op, 'Relu');
  assert.deepEqual(l.shape, ['N', 8, 16, 16]);
  assert.equal(model.layer(l.tensor), l);
  assert.equal(model.layer(l.node), l);
  assert.equal(model.layer('layer1.0'), l);
});

test('default layer is the last 4-D map before the head', async () => {
  const expect: Record<string, string> = {
    // VGG ends its features with a MaxPool (3x3 here), as torchvision's VGG does.
    vgg: '/features/features.11/MaxPool_output_0',
    resnet: '/layer2/layer2.1/relu2/Relu_output_0',
    mobilenetv2: '/features/features.4/features.4.2/Clip_output_0',
    densenet: '/features/relu5/Relu_output_0',
    // Squeeze-and-excitation pools globally inside blocks; that is not the head.
    variety_silu: '/head/head.2/Mul_output_0',
  };
  for (const [name, tensor] of Object.entries(expect)) {
    const { model } = await prepared(name);
    assert.equal(model.layer().tensor, tensor, name);
  }
});

test('unknown and ambiguous layer names list close matches', async () => {
  const { model } = await prepared('resnet');
  assert.throws(() => model.layer('layr2'), (e: Error) => e instanceof UnknownLayerError && /did you mean 'layer2'/.test(e.message));
  assert.throws(() => model.layer('relu2'), (e: Error) => e instanceof UnknownLayerError && /ambiguous/.test(e.message) && /layer1\.0\.relu2/.test(e.message));
});
