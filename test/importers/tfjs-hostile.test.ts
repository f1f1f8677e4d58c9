/**
 * Hostile and broken TF.js model.json files (issue #11): each is refused by loadModel with one
 * line naming the file, the layer or node, and what is wrong - a cycle in the inbound nodes,
 * a reference to a layer or call that does not exist, zero or fractional strides and kernel
 * sizes, a kernel size the weights do not have, absurd input sizes - never an internal error,
 * a layer downstream blamed, or an allocation the size of the declared input.
 */
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { ModelFormatError } from '../../src/errors.js';
import { loadModel } from '../../src/node/load-model.js';
import { createNodeRuntime } from '../../src/node/runtime.js';
import { FIXTURES } from '../helpers/fixtures.js';

const LAYERS_MODEL = path.resolve(FIXTURES, '..', 'tfjs', 'small');
const GRAPH_MODEL = path.resolve(FIXTURES, '..', 'tfjs-graph', 'keras_fused');
const work = mkdtempSync(path.join(os.tmpdir(), 'tfjs-hostile-'));
const runtime = createNodeRuntime({ threads: 1, sessionCache: false });
after(async () => {
  await runtime.dispose();
  rmSync(work, { recursive: true, force: true });
});

// Free-form JSON: the edits reach deep into it.
type Json = Record<string, any>;
let count = 0;

/** A copy of the fixture folder `from` whose model.json `edit` changed; returns its model.json. */
function variant(from: string, edit: (json: Json) => void): string {
  const dir = path.join(work, String(count++));
  cpSync(from, dir, { recursive: true });
  const file = path.join(dir, 'model.json');
  const json = JSON.parse(readFileSync(file, 'utf8')) as Json;
  edit(json);
  writeFileSync(file, JSON.stringify(json));
  return file;
}

const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
const layer = (json: Json, name: string): Json => (json['modelTopology'].config.layers as Json[]).find((l) => l['name'] === name)!;

/** loadModel refuses `file` with a ModelFormatError: one line, naming the file, matching `pattern`. */
async function refused(file: string, pattern: RegExp): Promise<void> {
  await assert.rejects(
    loadModel(file, { runtime, preprocess: 'imagenet' }),
    (e: Error) => {
      assert.ok(e instanceof ModelFormatError, `${e.constructor.name}: ${e.message}\n${e.stack}`);
      assert.ok(e.message.startsWith(`${file}: `), e.message);
      assert.ok(!e.message.includes('\n'), e.message);
      assert.match(e.message, pattern);
      return true;
    },
  );
}

test('the unmutated fixtures load (the refusals below are the edits, not the files)', async () => {
  for (const dir of [LAYERS_MODEL, GRAPH_MODEL]) {
    const c = await loadModel(variant(dir, () => {}), { runtime, preprocess: 'imagenet' });
    assert.ok(c.model.numClasses > 1);
    await c.dispose();
  }
});

test('inbound nodes: a cycle is named with its layers, a missing layer or call is named', async () => {
  // add1 = pool1 + pool2, while pool2 depends on add1 (add1 -> sep1 -> pad1 -> conv2 -> pool2).
  await refused(
    variant(LAYERS_MODEL, (j) => (layer(j, 'add1')['inbound_nodes'][0][1] = ['pool2', 0, 0, {}])),
    /layer 'add1' is on a cycle of inbound nodes \('add1' -> 'pool2' -> 'conv2' -> 'pad1' -> 'sep1' -> 'add1', each reading the next\); a model graph must be acyclic/,
  );
  await refused(
    variant(LAYERS_MODEL, (j) => (layer(j, 'sep1')['inbound_nodes'] = [[['ghost', 0, 0, {}]]])),
    /layer 'sep1' cannot be connected: there is no layer 'ghost'/,
  );
  await refused(
    variant(LAYERS_MODEL, (j) => (layer(j, 'sep1')['inbound_nodes'] = [[['add1', 1, 0, {}]]])),
    /layer 'sep1' cannot be connected: call 1 of layer 'add1' is never computed/,
  );
});

test('window sizes: zero, negative or fractional strides, kernel and pool sizes are named at their layer', async () => {
  const cases: [string, string, unknown][] = [
    ['conv2', 'strides', [0, 0]],
    ['conv1', 'strides', [-1, 1]],
    ['pool1', 'strides', [0.5, 1]],
    ['conv1', 'dilation_rate', 0],
    ['pool1', 'pool_size', [0, 2]],
    ['branch', 'kernel_size', [2.5, 2]],
  ];
  for (const [name, key, value] of cases) {
    const cls = name.startsWith('pool') ? 'MaxPooling2D' : 'Conv2D';
    await refused(
      variant(LAYERS_MODEL, (j) => (layer(j, name)['config'][key] = value)),
      new RegExp(`layer '${name}' \\(${cls}\\): config '${key}' must be a positive integer or a pair of them, got ${escape(JSON.stringify(value))}$`),
    );
  }
  // A kernel size the weights do not have.
  await refused(
    variant(LAYERS_MODEL, (j) => (layer(j, 'conv1')['config']['kernel_size'] = [5, 5])),
    /layer 'conv1' \(Conv2D\) weight 'conv1\/kernel' has shape \[3, 3, 3, 8\] in the weights manifest, but the topology needs \[5, 5, 3, 8\]/,
  );
});

test('absurd input sizes are named as the input, before any layer is built on them', async () => {
  for (const shape of [
    [null, 100000, 100000, 3],
    [null, 24, 20, 70000],
    [null, 5000, 5000, 3],
  ]) {
    await refused(
      variant(LAYERS_MODEL, (j) => (layer(j, 'image')['config']['batch_input_shape'] = shape)),
      /the input 'input' has shape \[N, \d+, \d+, \d+\]; rsi-grad-cam accepts images of at most 16384 pixels a side and 50331648 values/,
    );
  }
  const dims = (h: number, w: number) => ({ dim: [{ size: '-1' }, { size: String(h) }, { size: String(w) }, { size: '3' }] });
  await refused(
    variant(GRAPH_MODEL, (j) => {
      (j['modelTopology'].node as Json[]).find((n) => n['op'] === 'Placeholder')!['attr'].shape = { shape: dims(100000, 100000) };
      j['signature'].inputs.input_1.tensorShape = dims(100000, 100000);
    }),
    /the input 'input' has shape \[N, 3, 100000, 100000\]; rsi-grad-cam accepts images of at most 16384 pixels a side/,
  );
});

test('huge declared weight shapes are refused from the sizes, before anything allocates', async () => {
  const spec = (j: Json, name: string): Json => (j['weightsManifest'] as Json[]).flatMap((g) => g['weights'] as Json[]).find((w) => w['name'] === name)!;
  await refused(
    variant(LAYERS_MODEL, (j) => (spec(j, 'conv1/kernel')['shape'] = [2 ** 31, 3, 3, 8])),
    /weight files 'group1-shard1of2\.bin', 'group1-shard2of2\.bin' hold 9668 bytes but the weights manifest needs 618475299428; the file is truncated/,
  );
  await refused(
    variant(LAYERS_MODEL, (j) => (spec(j, 'conv1/kernel')['shape'] = [-1, 3, 3, 8])),
    /weight 'conv1\/kernel' has shape \[-1,3,3,8\] in the weights manifest; its sizes must be non-negative integers$/,
  );
  await refused(
    variant(LAYERS_MODEL, (j) => (spec(j, 'bn1/gamma')['shape'] = [null])),
    /weight 'bn1\/gamma' has shape \[null\] in the weights manifest; its sizes must be non-negative integers$/,
  );
  await refused(
    variant(GRAPH_MODEL, (j) => {
      const c = (j['modelTopology'].node as Json[]).find((n) => n['op'] === 'Const' && n['attr']?.value?.tensor?.tensorShape?.dim?.length === 4)!;
      c['attr'].value.tensor.tensorShape.dim[0].size = '100000000';
    }),
    /node '[^']+' \(Const\): the node declares shape \[100000000, 3, 3, 8\] but the weights manifest gives \[3, 3, 3, 8\]$/,
  );
});
