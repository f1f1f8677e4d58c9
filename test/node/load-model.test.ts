/**
 * loadModel by path, by URL (a real HTTP server on localhost serving ../shared's MobileNet)
 * with the download cache, and by catalogue name.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import { loadModel } from '../../src/node/load-model.js';
import { cacheFolderFor } from '../../src/node/download.js';
import { findCatalogueEntry } from '../../src/catalogue.js';
import { ModelFormatError, OptionError } from '../../src/errors.js';
import { FIXTURES, SHARED } from '../helpers/fixtures.js';

const MODEL_DIR = path.join(SHARED, 'models/mobilenet_v1_0.75_224');
const skip = existsSync(MODEL_DIR) ? false : `needs ${MODEL_DIR} (the shared data folder beside the repo)`;

/** Serves MODEL_DIR; `dropFile` is cut off halfway (headers promise the full length). */
async function serve(dropFile?: string) {
  const requests: string[] = [];
  const server = http.createServer((req, res) => {
    const name = decodeURIComponent(req.url!.split('/').pop()!);
    requests.push(name);
    const file = path.join(MODEL_DIR, name);
    if (!existsSync(file)) {
      res.writeHead(404).end('not found');
      return;
    }
    const body = readFileSync(file);
    res.writeHead(200, { 'content-length': body.length });
    if (name === dropFile) {
      res.write(body.subarray(0, Math.floor(body.length / 2)));
      setTimeout(() => res.socket?.destroy(), 20);
      return;
    }
    res.end(body);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/mobilenet/model.json`;
  return { url, requests, close: () => new Promise((r) => server.close(r)) };
}

test('a URL downloads once into the cache; the second load reads the cache', { skip }, async () => {
  const cacheDir = mkdtempSync(path.join(tmpdir(), 'rsi-cache-'));
  const s = await serve();
  try {
    const progress: number[] = [];
    const a = await loadModel(s.url, { cacheDir, onProgress: (_f, received) => progress.push(received) });
    const first = s.requests.length;
    assert.ok(first >= 1 + 28, `requests: ${first}`); // model.json + weight files (+ metadata.json)
    assert.ok(progress.length > 0);
    assert.equal(a.model.numClasses, 1000);
    assert.equal(a.labels?.[472], 'canoe'); // metadata.json came along
    await a.dispose();
    const b = await loadModel(s.url, { cacheDir });
    assert.equal(s.requests.length, first, 'no request on the second load');
    assert.equal(b.model.layer().tensor, 'conv_pw_13_relu');
    await b.dispose();
  } finally {
    await s.close();
  }
});

test('a connection dropped halfway leaves no corrupt cache entry, and a later load succeeds', { skip }, async () => {
  const cacheDir = mkdtempSync(path.join(tmpdir(), 'rsi-cache-'));
  const weights = readdirSync(MODEL_DIR).filter((f) => f.startsWith('group'));
  const drop = weights.sort()[3]!;
  const bad = await serve(drop);
  await assert.rejects(loadModel(bad.url, { cacheDir }), (e: Error) => e instanceof ModelFormatError && e.message.includes(drop) && /interrupted|incomplete/.test(e.message));
  await bad.close();
  const folder = cacheFolderFor(bad.url, cacheDir);
  const left = readdirSync(folder);
  assert.ok(!left.includes(drop), 'the cut file is not in the cache');
  assert.ok(left.every((f) => !f.includes('.partial')), `temporary files left: ${left}`);
  // Same URL again (same port cannot be reused reliably: serve the same folder under the old URL's cache).
  const good = await serve();
  const goodFolder = cacheFolderFor(good.url, cacheDir);
  mkdirSync(goodFolder, { recursive: true });
  for (const f of left) copyFileSync(path.join(folder, f), path.join(goodFolder, f));
  const c = await loadModel(good.url, { cacheDir });
  assert.ok(good.requests.includes(drop), 'the missing file is fetched');
  assert.ok(!good.requests.includes('model.json'), 'complete files are reused');
  await c.dispose();
  await good.close();
});

test('a URL that 404s is a clear error naming it', async () => {
  const server = http.createServer((_req, res) => res.writeHead(404, 'Not Found').end());
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/nothing/model.onnx`;
  try {
    await assert.rejects(loadModel(url, { cacheDir: mkdtempSync(path.join(tmpdir(), 'rsi-cache-')) }), (e: Error) => e instanceof ModelFormatError && e.message.startsWith(url) && /404/.test(e.message));
  } finally {
    await new Promise((r) => server.close(r));
  }
});

test('a catalogue name loads from the cache with its labels and preprocessing', { skip }, async () => {
  const cacheDir = mkdtempSync(path.join(tmpdir(), 'rsi-cache-'));
  const entry = findCatalogueEntry('mobilenet_v1_0.75_224')!;
  // Stand in for a previous download (no network in tests): fill the cache as the downloader would.
  const folder = cacheFolderFor(entry.url, cacheDir);
  mkdirSync(folder, { recursive: true });
  for (const f of readdirSync(MODEL_DIR)) if (f !== 'metadata.json') copyFileSync(path.join(MODEL_DIR, f), path.join(folder, f));
  const c = await loadModel('mobilenet_v1_0.75_224', { cacheDir });
  assert.equal(c.labels?.length, 1000);
  assert.equal(c.labels?.[0], 'tench, Tinca tinca');
  assert.deepEqual([c.inputSpec?.scale, c.inputSpec?.mean], [1 / 127.5, [1, 1, 1]]);
  assert.equal(c.info.fit, 'crop');
  await c.dispose();
});

test('ONNX without known preprocessing: explain by path asks for --preprocess; sidecar files supply it', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'rsi-side-'));
  const onnx = path.join(dir, 'resnet.onnx');
  copyFileSync(path.join(FIXTURES, 'resnet.onnx'), onnx);
  const bare = await loadModel(onnx);
  assert.equal(bare.inputSpec, undefined);
  assert.throws(() => bare.blackBaseline(), (e: Error) => e instanceof OptionError && /--preprocess imagenet\|tf\|caffe\|unit\|FILE\.json/.test(e.message));
  await bare.dispose();
  writeFileSync(path.join(dir, 'resnet.preprocess.json'), JSON.stringify({ preset: 'imagenet', fit: 'crop' }));
  writeFileSync(path.join(dir, 'resnet.labels.json'), JSON.stringify(Array.from({ length: 10 }, (_, i) => `digit ${i}`)));
  const side = await loadModel(onnx);
  assert.deepEqual(side.inputSpec?.mean, [0.485, 0.456, 0.406]);
  assert.deepEqual(side.inputSpec?.size, [32, 32]);
  assert.equal(side.info.fit, 'crop');
  assert.equal(side.label(3), 'digit 3');
  await side.dispose();
  writeFileSync(path.join(dir, 'resnet.preprocess.json'), JSON.stringify({ preset: 'imagenet', std: [1, 2] }));
  await assert.rejects(loadModel(onnx), (e: Error) => e instanceof OptionError && /resnet\.preprocess\.json: field 'std'/.test(e.message));
});
