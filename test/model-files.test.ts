/** Opening models from files through a reader (the page's path; Node reads sidecars through it too). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { importModelFile, readSidecars, type ModelFileReader } from '../src/model-files.js';
import { parseOnnx } from '../src/engine/graph/onnx-io.js';
import { ModelFormatError, OptionError } from '../src/errors.js';
import { FIXTURES, REPO_ROOT } from './helpers/fixtures.js';
import { modelJsonOf, saveArtifacts, tf } from './helpers/tfjs-oracle.js';

const fromMap = (files: Record<string, Uint8Array>): ModelFileReader => async (p) => files[p];

test('ONNX with external data: each file asked for is read once; missing, short or outside files are clear errors', async () => {
  const { default: onnxProto } = await import('onnx-proto');
  const bytes = readFileSync(path.join(FIXTURES, 'resnet.onnx'));
  const model = onnxProto.onnx.ModelProto.decode(bytes);
  const chunks: Uint8Array[][] = [[], []];
  const offsets = [0, 0];
  let large = 0;
  model.graph!.initializer!.forEach((t) => {
    if (!t.rawData || t.rawData.length < 256) return;
    const f = large++ % 2; // two external files, as a split export writes them
    chunks[f]!.push(Uint8Array.from(t.rawData));
    t.externalData = [
      { key: 'location', value: `w${f}.bin` },
      { key: 'offset', value: String(offsets[f]) },
      { key: 'length', value: String(t.rawData.length) },
    ];
    t.dataLocation = 1;
    offsets[f]! += t.rawData.length;
    t.rawData = new Uint8Array();
  });
  const join = (cs: Uint8Array[]) => {
    const all = new Uint8Array(cs.reduce((a, c) => a + c.length, 0));
    let o = 0;
    for (const c of cs) all.set(c, (o += c.length) - c.length);
    return all;
  };
  const ext = onnxProto.onnx.ModelProto.encode(model).finish();
  const files = { 'w0.bin': join(chunks[0]!), 'w1.bin': join(chunks[1]!) };
  const asked: string[] = [];
  const read: ModelFileReader = async (p) => (asked.push(p), files[p as keyof typeof files]);
  const { graph, format } = await importModelFile('ext.onnx', ext, read);
  assert.equal(format, 'onnx');
  assert.deepEqual(asked.sort(), ['w0.bin', 'w1.bin']);
  const ref = parseOnnx(bytes, 'resnet.onnx');
  for (const [k, t] of ref.initializers) assert.deepEqual(graph.initializers.get(k)!.data, t.data, k);
  await assert.rejects(importModelFile('ext.onnx', ext, fromMap({ 'w0.bin': files['w0.bin'] })), (e: Error) => e instanceof ModelFormatError && /'w1\.bin' is missing/.test(e.message));
  await assert.rejects(importModelFile('ext.onnx', ext, fromMap({ ...files, 'w1.bin': files['w1.bin'].subarray(0, 10) })), /too short/);
  model.graph!.initializer!.find((t) => t.externalData?.length)!.externalData![0]!.value = '../secret.bin';
  await assert.rejects(importModelFile('ext.onnx', onnxProto.onnx.ModelProto.encode(model).finish(), fromMap(files)), /outside the model's folder/);
});

test('TF.js model.json: weight files from the reader (percent-encoded names too); a short or missing file is named', async () => {
  const model = tf.sequential({ layers: [tf.layers.conv2d({ inputShape: [8, 8, 3], filters: 4, kernelSize: 3, activation: 'relu' }), tf.layers.globalAveragePooling2d({}), tf.layers.dense({ units: 3, activation: 'softmax' })] });
  const a = await saveArtifacts(model);
  const name = 'group1 shard1of1.bin';
  const json = { ...modelJsonOf(a), weightsManifest: [{ paths: [encodeURIComponent(name)], weights: a.weightSpecs }] };
  const bytes = new TextEncoder().encode(JSON.stringify(json));
  const r = await importModelFile('model.json', bytes, fromMap({ [name]: a.weightData }));
  assert.equal(r.format, 'tfjs');
  assert.ok(r.graph.nodes.some((n) => n.opType === 'Conv') && r.logits);
  await assert.rejects(importModelFile('model.json', bytes, fromMap({})), (e: Error) => e instanceof ModelFormatError && e.message.includes(`'${encodeURIComponent(name)}' is missing`));
  await assert.rejects(importModelFile('model.json', bytes, fromMap({ [name]: a.weightData.subarray(0, 100) })), /truncated/);
  await assert.rejects(importModelFile('model.json', new TextEncoder().encode('{ not json'), fromMap({})), /not valid JSON/);
});

test('sidecars: <stem>.preprocess.json before preprocess.json, labels.json, and metadata.json only for TF.js models', async () => {
  const enc = (v: unknown) => new TextEncoder().encode(JSON.stringify(v));
  const demo = path.join(REPO_ROOT, 'assets/demo');
  const files = { 'preprocess.json': readFileSync(path.join(demo, 'preprocess.json')), 'labels.json': readFileSync(path.join(demo, 'labels.json')) };
  const s = await readSidecars('demo-cnn.onnx', fromMap(files));
  assert.deepEqual(s.labels, JSON.parse(files['labels.json'].toString()));
  assert.deepEqual(s.spec?.size, [96, 96]);
  assert.equal(s.spec?.scale, 1 / 255);
  const own = await readSidecars('net.onnx', fromMap({ ...files, 'net.preprocess.json': enc({ preset: 'tf', fit: 'crop' }) }), { size: [32, 32] });
  assert.equal(own.spec?.scale, 1 / 127.5);
  assert.deepEqual(own.spec?.size, [32, 32]);
  assert.equal(own.fit, 'crop');
  const meta = { 'metadata.json': enc({ labels: ['a', 'b'] }) };
  assert.deepEqual((await readSidecars('model.json', fromMap(meta))).labels, ['a', 'b']);
  assert.equal((await readSidecars('net.onnx', fromMap(meta))).labels, undefined);
  await assert.rejects(readSidecars('net.onnx', fromMap({ 'labels.json': enc({ names: [] }) })), OptionError);
  await assert.rejects(readSidecars('net.onnx', fromMap({ 'preprocess.json': new TextEncoder().encode('{') })), /preprocess\.json: not valid JSON/);
});
