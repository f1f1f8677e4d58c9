/**
 * Files a model names stay inside its folder: TF.js weight paths read from disk, downloaded
 * into the cache (a real HTTP server on localhost) or given to the core's reader (the page),
 * and ONNX external-data locations. Each
 * hostile path is refused with a ModelFormatError naming the entry, although the file it
 * names exists, and nothing is written outside the cache entry.
 */
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import { loadModel } from '../../src/node/load-model.js';
import { loadTfjsModelFromFile } from '../../src/node/load-tfjs.js';
import { readOnnxFile } from '../../src/node/load-onnx.js';
import { cacheFolderFor } from '../../src/node/download.js';
import { ModelFormatError } from '../../src/errors.js';
import { FIXTURES } from '../helpers/fixtures.js';
import { importModelFile, type ModelFileReader } from '../../src/model-files.js';
import { modelRelativePath, weightFileNames } from '../../src/model-paths.js';
import { randomizeWeights, saveArtifacts, tf, type Artifacts } from '../helpers/tfjs-oracle.js';

tf.setBackend('cpu');
let art: Artifacts;

before(async () => {
  const model = tf.sequential({
    layers: [
      tf.layers.conv2d({ inputShape: [8, 8, 3], filters: 4, kernelSize: 3, padding: 'same', activation: 'relu', name: 'conv' }),
      tf.layers.globalAveragePooling2d({ name: 'gap' }),
      tf.layers.dense({ units: 3, activation: 'softmax', name: 'probs' }),
    ],
  });
  randomizeWeights(model, 5);
  art = await saveArtifacts(model);
});

function modelJson(paths: string[]): string {
  return JSON.stringify({ format: 'layers-model', modelTopology: art.modelTopology, weightsManifest: [{ paths, weights: art.weightSpecs }] });
}

function isRefusal(entry: string, why: RegExp) {
  return (e: unknown) => {
    assert.ok(e instanceof ModelFormatError, `a ModelFormatError, got ${String(e)}`);
    assert.ok(e.message.includes(`weights manifest entry '${entry}'`), e.message);
    assert.match(e.message, why);
    assert.ok(!e.message.includes('\n'));
    return true;
  };
}

test('local TF.js: weight paths that leave the model folder are refused, though the file they name exists', async () => {
  const root = mkdtempSync(path.join(tmpdir(), 'rsi-paths-'));
  const dir = path.join(root, 'a', 'b', 'model');
  mkdirSync(dir, { recursive: true });
  // The real weights, where a traversing path would find them.
  writeFileSync(path.join(root, 'x.bin'), art.weightData);
  writeFileSync(path.join(dir, 'weights.bin'), art.weightData);
  const file = path.join(dir, 'model.json');

  writeFileSync(file, modelJson(['weights.bin']));
  const ok = await loadTfjsModelFromFile(file);
  assert.ok(ok.graph.nodes.length > 0, 'the same model with a plain path loads');

  const outside = /names a file outside the model's folder; refused$/;
  for (const [entry, why] of [
    ['../../../x.bin', outside],
    ['..%2F..%2F..%2Fx.bin', outside],
    ['sub/../../../../x.bin', outside],
    [path.join(root, 'x.bin'), /not a path relative to the model's folder; refused$/],
    ['file:///etc/passwd', /not a path relative to the model's folder; refused$/],
    ['https://example.com/x.bin', /not a path relative to the model's folder; refused$/],
    ['%E0%A4%A.bin', /bad percent-encoding/],
  ] as const) {
    writeFileSync(file, modelJson([entry]));
    await assert.rejects(loadTfjsModelFromFile(file), isRefusal(entry, why), entry);
    await assert.rejects(loadModel(file), isRefusal(entry, why), `loadModel ${entry}`);
  }
  // A path that goes down and back up stays inside: accepted.
  mkdirSync(path.join(dir, 'sub'));
  writeFileSync(file, modelJson(['sub/../weights.bin']));
  await loadTfjsModelFromFile(file);
});

/** Serves `files` (URL path -> bytes) and records every request path. */
async function serve(files: Map<string, Uint8Array | string>) {
  const requests: string[] = [];
  const server = http.createServer((req, res) => {
    requests.push(req.url!);
    const body = files.get(req.url!);
    if (body === undefined) return void res.writeHead(404).end();
    res.writeHead(200, { 'content-length': Buffer.byteLength(body) }).end(body);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { base, requests, close: () => new Promise((r) => server.close(r)) };
}

test('downloaded TF.js: weight paths cannot escape the cache entry; nothing is fetched or written outside it', async () => {
  const cacheDir = path.join(mkdtempSync(path.join(tmpdir(), 'rsi-dl-')), 'deep', 'cache');
  const files = new Map<string, Uint8Array | string>([
    ['/m/good/model.json', modelJson(['weights.bin'])],
    ['/m/good/weights.bin', art.weightData],
    ['/m/evil/model.json', modelJson(['..%2F..%2F..%2Fx.bin'])],
    ['/m/evil/..%2F..%2F..%2Fx.bin', art.weightData],
    ['/m/slash/model.json', modelJson(['/m/good/weights.bin'])],
  ]);
  const s = await serve(files);
  try {
    const good = await loadModel(`${s.base}/m/good/model.json`, { cacheDir });
    assert.equal(good.model.numClasses, 3);
    await good.dispose();

    const evil = `${s.base}/m/evil/model.json`;
    await assert.rejects(loadModel(evil, { cacheDir }), isRefusal('..%2F..%2F..%2Fx.bin', /outside the model's folder/));
    assert.ok(!s.requests.some((r) => r.includes('x.bin')), `no weight request: ${s.requests}`);
    // Three folders above the cache entry is the temporary root: no x.bin there or on the way.
    const entry = cacheFolderFor(evil, cacheDir);
    for (let d = entry, i = 0; i < 4; i++, d = path.dirname(d)) assert.ok(!existsSync(path.join(d, 'x.bin')), `x.bin written into ${d}`);

    await assert.rejects(loadModel(`${s.base}/m/slash/model.json`, { cacheDir }), isRefusal('/m/good/weights.bin', /not a path relative/));
    // The model file's own name, decoded, must stay in the cache entry too.
    const named = `${s.base}/m/..%2F..%2Fevil.json`;
    await assert.rejects(loadModel(named, { cacheDir }), (e: Error) => e instanceof ModelFormatError && /the file name '\.\.%2F\.\.%2Fevil\.json' names a file outside/.test(e.message));
    assert.ok(!s.requests.includes('/m/..%2F..%2Fevil.json'));
    assert.deepEqual(readdirSync(path.dirname(cacheDir)), ['cache']);
  } finally {
    await s.close();
  }
});

test('ONNX external data: locations outside the model folder or with bad offsets are refused, naming the tensor', async () => {
  const { default: onnxProto } = await import('onnx-proto');
  const root = mkdtempSync(path.join(tmpdir(), 'rsi-ext-paths-'));
  const dir = path.join(root, 'model');
  mkdirSync(dir);
  const model = onnxProto.onnx.ModelProto.decode(readFileSync(path.join(FIXTURES, 'resnet.onnx')));
  const t = model.graph!.initializer!.find((i) => i.rawData && i.rawData.length >= 256)!;
  const raw = Uint8Array.from(t.rawData!);
  writeFileSync(path.join(root, 'weights.bin'), raw); // where '../weights.bin' leads
  writeFileSync(path.join(dir, 'weights.bin'), raw);
  t.rawData = new Uint8Array();
  t.dataLocation = 1;
  const file = path.join(dir, 'ext.onnx');
  const write = (location: string, offset = '0', length = String(raw.length)) => {
    t.externalData = [
      { key: 'location', value: location },
      { key: 'offset', value: offset },
      { key: 'length', value: length },
    ];
    writeFileSync(file, onnxProto.onnx.ModelProto.encode(model).finish());
  };
  write('weights.bin');
  const g = await readOnnxFile(file);
  assert.deepEqual(new Uint8Array(g.initializers.get(t.name!)!.data.buffer), raw);
  for (const location of ['../weights.bin', path.join(root, 'weights.bin'), 'a/../../weights.bin', '.']) {
    write(location);
    await assert.rejects(readOnnxFile(file), (e: Error) => e instanceof ModelFormatError && e.message.startsWith(file) && e.message.includes(`tensor '${t.name}'`) && e.message.includes(`location '${location}'`), location);
  }
  write('weights.bin', '-4');
  await assert.rejects(readOnnxFile(file), /tensor '.+': external data file 'weights\.bin': offset '-4' is not a byte count$/);
  write('weights.bin', '0', 'many');
  await assert.rejects(readOnnxFile(file), /external data file 'weights\.bin': length 'NaN' is not a byte count$/);
});

test('the same rules in the browser-safe core: normalised paths, refusals, and importModelFile never asks the reader for an outside file', async () => {
  const ok: [string, string][] = [['w.bin', 'w.bin'], ['a/./b/../c.bin', 'a/c.bin'], ['a\\b.bin', 'a/b.bin'], ['./x/y.bin', 'x/y.bin']];
  for (const [p, want] of ok) assert.equal(modelRelativePath(p, `entry '${p}'`, 'm'), want);
  for (const p of ['../x', 'a/../../x', 'a\\..\\..\\x', '/etc/passwd', '\\\\server\\share\\x', 'C:\\x.bin', 'c:x.bin', 'http://h/x', '', '.', 'a/..']) {
    assert.throws(() => modelRelativePath(p, `entry '${p}'`, 'm'), (e: Error) => e instanceof ModelFormatError && e.message.startsWith(`m: entry '${p}' `) && /; refused$/.test(e.message), p);
  }
  assert.deepEqual(weightFileNames('group1%20shard.bin', 'm'), ['group1%20shard.bin', 'group1 shard.bin']);
  assert.throws(() => weightFileNames('a%2F..%2F..%2Fx.bin', 'm'), /weights manifest entry 'a%2F\.\.%2F\.\.%2Fx\.bin' names a file outside/);

  const asked: string[] = [];
  const read: ModelFileReader = async (p) => (asked.push(p), p === 'w.bin' ? art.weightData : undefined);
  const enc = (paths: string[]) => new TextEncoder().encode(modelJson(paths));
  const imported = await importModelFile('model.json', enc(['w.bin']), read);
  assert.equal(imported.format, 'tfjs');
  await assert.rejects(importModelFile('model.json', enc(['w.bin', '..%2Fsecret.bin']), read), isRefusal('..%2Fsecret.bin', /outside/));
  assert.ok(asked.every((p) => !p.includes('..')), `asked for ${asked}`);
  // A shard longer than the manifest says is refused there too.
  const longer = new Uint8Array(art.weightData.byteLength + 4);
  longer.set(art.weightData);
  await assert.rejects(importModelFile('model.json', enc(['w.bin']), async () => longer), /weight file 'w\.bin' holds \d+ bytes but the weights manifest needs \d+; the file does not match the manifest$/);
});
