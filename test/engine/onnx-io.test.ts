import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseOnnx, serializeOnnx } from '../../src/engine/graph/onnx-io.js';
import { readOnnxFile } from '../../src/node/load-onnx.js';
import { ModelFormatError } from '../../src/errors.js';
import { FIXTURES } from '../helpers/fixtures.js';
import { runGraph } from '../helpers/grad-check.js';
import { floatToHalf, halfToFloat } from '../../src/engine/graph/tensor-data.js';

test('parse -> serialise round trip keeps nodes, initializers and outputs; onnxruntime gives the same logits', async () => {
  const bytes = readFileSync(path.join(FIXTURES, 'resnet.onnx'));
  const g = parseOnnx(bytes, 'resnet.onnx');
  assert.equal(g.opset, 13);
  assert.equal(g.inputs.length, 1);
  assert.deepEqual(g.inputs[0]!.shape, ['batch', 3, 32, 32]);
  const again = parseOnnx(serializeOnnx(g), 'again');
  assert.equal(again.nodes.length, g.nodes.length);
  assert.deepEqual(again.nodes.map((n) => n.opType), g.nodes.map((n) => n.opType));
  for (const [k, t] of g.initializers) assert.deepEqual(again.initializers.get(k)!.data, t.data);
  const x = new Float32Array(3 * 32 * 32).map((_, i) => Math.sin(i));
  const a = await runGraph(g, { input: { data: x, dims: [1, 3, 32, 32] } });
  const b = await runGraph(again, { input: { data: x, dims: [1, 3, 32, 32] } });
  assert.deepEqual(a['logits']!.data, b['logits']!.data);
});

test('truncated, empty and non-ONNX files are clear errors naming the file', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'rsi-onnx-'));
  const bytes = readFileSync(path.join(FIXTURES, 'vgg.onnx'));
  const cases: [string, Uint8Array][] = [
    ['truncated.onnx', bytes.subarray(0, Math.floor(bytes.length / 2))],
    ['empty.onnx', new Uint8Array()],
    ['text.onnx', new TextEncoder().encode('this is not a model at all, just words\n')],
  ];
  for (const [name, data] of cases) {
    const file = path.join(dir, name);
    writeFileSync(file, data);
    await assert.rejects(readOnnxFile(file), (e: Error) => e instanceof ModelFormatError && e.message.startsWith(file) && !e.message.includes('\n'), name);
  }
  await assert.rejects(readOnnxFile(path.join(dir, 'missing.onnx')), /missing\.onnx: model file not found/);
});

test('float16 conversion round-trips representable values', () => {
  for (const v of [0, 1, -2.5, 65504, 6.103515625e-5, 0.333251953125]) assert.equal(halfToFloat(floatToHalf(v)), v);
  assert.equal(halfToFloat(floatToHalf(1 / 3)), 0.333251953125);
});

test('ONNX external data: read from beside the model; a missing or short file is a clear error', async () => {
  const { default: onnxProto } = await import('onnx-proto');
  const dir = mkdtempSync(path.join(tmpdir(), 'rsi-ext-'));
  const bytes = readFileSync(path.join(FIXTURES, 'resnet.onnx'));
  const model = onnxProto.onnx.ModelProto.decode(bytes);
  // Move every large initializer into weights.bin, as onnx.save(..., save_as_external_data=True) does.
  const chunks: Uint8Array[] = [];
  let offset = 0;
  for (const t of model.graph!.initializer!) {
    if (!t.rawData || t.rawData.length < 256) continue;
    chunks.push(Uint8Array.from(t.rawData));
    t.externalData = [
      { key: 'location', value: 'weights.bin' },
      { key: 'offset', value: String(offset) },
      { key: 'length', value: String(t.rawData.length) },
    ];
    t.dataLocation = 1;
    offset += t.rawData.length;
    t.rawData = new Uint8Array();
  }
  const file = path.join(dir, 'ext.onnx');
  writeFileSync(file, onnxProto.onnx.ModelProto.encode(model).finish());
  await assert.rejects(readOnnxFile(file), (e: Error) => e instanceof ModelFormatError && /external data file 'weights\.bin' is missing/.test(e.message) && e.message.startsWith(file));
  const all = new Uint8Array(offset);
  let o = 0;
  for (const c of chunks) {
    all.set(c, o);
    o += c.length;
  }
  writeFileSync(path.join(dir, 'weights.bin'), all.subarray(0, offset - 10));
  await assert.rejects(readOnnxFile(file), /too short/);
  writeFileSync(path.join(dir, 'weights.bin'), all);
  const g = await readOnnxFile(file);
  const ref = parseOnnx(bytes, 'resnet.onnx');
  for (const [k, t] of ref.initializers) assert.deepEqual(g.initializers.get(k)!.data, t.data, k);
});
