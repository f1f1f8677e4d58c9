/**
 * The session store: onnxruntime's optimised graphs kept in the cache folder between
 * processes. A second runtime (as a new process would) loads the stored graph; corrupt,
 * foreign or stale entries are built again; another layer is another entry; the results are
 * the same bit for bit with and without the store.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import os from 'node:os';
import path from 'node:path';
import { loadModel } from '../../src/node/load-model.js';
import { createNodeRuntime } from '../../src/node/runtime.js';
import { DiskSessionStore, defaultSessionStore } from '../../src/node/session-store.js';
import { REPO_ROOT } from '../helpers/fixtures.js';
import { parseOnnx, serializeOnnx } from '../../src/engine/graph/onnx-io.js';
import { runCli } from '../helpers/cli.js';

const DEMO = path.join(REPO_ROOT, 'assets/demo/demo-cnn.onnx');
const tmp = () => mkdtempSync(path.join(os.tmpdir(), 'rsi-sessions-'));

/** A deterministic input in the demo model's range. */
function input(size: number, seed = 5): Float32Array {
  let s = seed;
  return Float32Array.from({ length: size }, () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  });
}

/** Explain with a fresh runtime on `store` (as a new process would), returning the cam and the store's stats. */
async function explainWith(store: DiskSessionStore | undefined, options: { method: 'gradcam' | 'rsi-grad-cam'; layer?: string }) {
  const classifier = await loadModel(DEMO, { runtime: createNodeRuntime({ threads: 1, sessionStore: store, sessionCache: store !== undefined }) });
  const x = input(classifier.pipeline.imageSize());
  const [e] = await classifier.explain([x], options.method === 'rsi-grad-cam' ? { method: 'rsi-grad-cam', steps: 4, layer: options.layer } : { method: 'gradcam', layer: options.layer });
  await classifier.runtime.dispose();
  return { cam: e!.cam, weights: e!.weights, layer: e!.layer, stats: store ? { ...store.stats } : undefined };
}

const entries = (dir: string) => readdirSync(dir).filter((n) => !n.startsWith('.'));

test('miss, then hit in a new runtime: same cam and weights bit for bit as without the store', async () => {
  const dir = tmp();
  try {
    const plain = await explainWith(undefined, { method: 'rsi-grad-cam' });
    const first = await explainWith(new DiskSessionStore({ dir }), { method: 'rsi-grad-cam' });
    assert.deepEqual(first.stats, { hits: 0, misses: 1, rebuilt: 0, unsaved: 0 });
    const [key] = entries(dir);
    assert.equal(entries(dir).length, 1);
    assert.deepEqual(readdirSync(path.join(dir, key!)).sort(), ['meta.json', 'model.onnx', 'model.onnx.data']);
    const meta = JSON.parse(readFileSync(path.join(dir, key!, 'meta.json'), 'utf8'));
    assert.equal(meta.key, key);
    assert.equal(meta.data.bytes, statSync(path.join(dir, key!, 'model.onnx.data')).size);
    // The weights are in the data file, not in the graph file.
    assert.ok(meta.data.bytes > 250_000 && meta.model.bytes < 100_000, `${meta.model.bytes} + ${meta.data.bytes}`);

    const second = await explainWith(new DiskSessionStore({ dir }), { method: 'rsi-grad-cam' });
    assert.deepEqual(second.stats, { hits: 1, misses: 0, rebuilt: 0, unsaved: 0 });
    assert.deepEqual(entries(dir), [key]);
    for (const r of [first, second]) {
      assert.deepEqual(r.cam, plain.cam);
      assert.deepEqual(r.weights, plain.weights);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a different layer, method score or graph is a different entry', async () => {
  const dir = tmp();
  try {
    const store = new DiskSessionStore({ dir });
    const classifier = await loadModel(DEMO, { runtime: createNodeRuntime({ threads: 1, sessionStore: store }) });
    const layers = classifier.layers().filter((l) => l.shape.length === 4 && typeof l.shape[2] === 'number' && (l.shape[2] as number) > 1);
    const [a, b] = [layers[layers.length - 1]!.tensor, layers[layers.length - 2]!.tensor];
    await classifier.runtime.dispose();
    await explainWith(store, { method: 'gradcam', layer: a });
    await explainWith(store, { method: 'gradcam', layer: b });
    assert.deepEqual(store.stats, { hits: 0, misses: 2, rebuilt: 0, unsaved: 0 });
    assert.equal(entries(dir).length, 2);
    const again = await explainWith(new DiskSessionStore({ dir }), { method: 'gradcam', layer: b });
    assert.equal(again.layer, b);
    assert.deepEqual(again.stats, { hits: 1, misses: 0, rebuilt: 0, unsaved: 0 });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a corrupt entry is rebuilt, not a failure: each file damaged in turn', async () => {
  const dir = tmp();
  try {
    const reference = await explainWith(new DiskSessionStore({ dir }), { method: 'gradcam' });
    const [key] = entries(dir);
    const file = (name: string) => path.join(dir, key!, name);
    const damages: [string, () => void][] = [
      ['graph file garbage', () => writeFileSync(file('model.onnx'), 'not an onnx file')],
      ['graph file one byte changed', () => flip(file('model.onnx'), 200)],
      ['weights truncated', () => truncateSync(file('model.onnx.data'), 1000)],
      ['weights one byte changed', () => flip(file('model.onnx.data'), 12345)],
      ['weights missing', () => rmSync(file('model.onnx.data'))],
      ['meta.json garbage', () => writeFileSync(file('meta.json'), '{"format": ')],
      ['meta.json missing', () => rmSync(file('meta.json'))],
    ];
    for (const [what, damage] of damages) {
      damage();
      const r = await explainWith(new DiskSessionStore({ dir }), { method: 'gradcam' });
      assert.deepEqual(r.stats, { hits: 0, misses: 0, rebuilt: 1, unsaved: 0 }, what);
      assert.deepEqual(r.cam, reference.cam, what);
      // Rebuilt whole: the next runtime loads it.
      const next = await explainWith(new DiskSessionStore({ dir }), { method: 'gradcam' });
      assert.deepEqual(next.stats, { hits: 1, misses: 0, rebuilt: 0, unsaved: 0 }, what);
      assert.deepEqual(entries(dir), [key], what);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a stored file that still has the identity it was hashed with is not hashed again; a touched or copied one is', async () => {
  const dir = tmp();
  try {
    const reference = await explainWith(new DiskSessionStore({ dir }), { method: 'gradcam' });
    const [key] = entries(dir);
    const metaFile = path.join(dir, key!, 'meta.json');
    const meta = JSON.parse(readFileSync(metaFile, 'utf8'));
    assert.match(meta.data.stat, /^\d+:\d+:\d+:\d+:\d+$/);
    // A wrong hash under the file's own identity: trusted, so nothing was read to check it.
    writeFileSync(metaFile, JSON.stringify({ ...meta, data: { ...meta.data, sha256: '0'.repeat(64) } }));
    const trusted = await explainWith(new DiskSessionStore({ dir }), { method: 'gradcam' });
    assert.deepEqual(trusted.stats, { hits: 1, misses: 0, rebuilt: 0, unsaved: 0 });
    // The same bytes written again: a new identity, so the file is hashed, and the wrong hash found.
    const data = path.join(dir, key!, 'model.onnx.data');
    writeFileSync(data, readFileSync(data));
    const hashed = await explainWith(new DiskSessionStore({ dir }), { method: 'gradcam' });
    assert.deepEqual(hashed.stats, { hits: 0, misses: 0, rebuilt: 1, unsaved: 0 });
    assert.deepEqual(hashed.cam, reference.cam);
    // An entry copied whole (new inodes, same bytes) hashes right: kept, its new identity recorded.
    const copy = tmp();
    try {
      cpSync(path.join(dir, key!), path.join(copy, key!), { recursive: true, preserveTimestamps: true });
      const before = JSON.parse(readFileSync(path.join(copy, key!, 'meta.json'), 'utf8'));
      const copied = await explainWith(new DiskSessionStore({ dir: copy }), { method: 'gradcam' });
      assert.deepEqual(copied.stats, { hits: 1, misses: 0, rebuilt: 0, unsaved: 0 });
      assert.deepEqual(copied.cam, reference.cam);
      const after = JSON.parse(readFileSync(path.join(copy, key!, 'meta.json'), 'utf8'));
      assert.notEqual(after.data.stat, before.data.stat);
      assert.equal(after.data.sha256, before.data.sha256);
      assert.deepEqual(readdirSync(path.join(copy, key!)).sort(), ['meta.json', 'model.onnx', 'model.onnx.data']);
    } finally {
      rmSync(copy, { recursive: true, force: true });
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a model file read again under the same identity is not hashed again; a changed file of the same size is a new key, never the old entry', async () => {
  const dir = tmp();
  const work = tmp();
  try {
    const model = path.join(work, 'model.onnx');
    // Written by our own serialiser, so that the changed copy below has the same size.
    writeFileSync(model, serializeOnnx(parseOnnx(readFileSync(DEMO))));
    const run = async (store?: DiskSessionStore) => {
      const classifier = await loadModel(model, { runtime: createNodeRuntime({ threads: 1, sessionStore: store, sessionCache: store !== undefined }) });
      const [e] = await classifier.explain([input(classifier.pipeline.imageSize())], { method: 'gradcam' });
      await classifier.runtime.dispose();
      return { cam: e!.cam, stats: store ? { ...store.stats } : undefined };
    };
    const first = await run(new DiskSessionStore({ dir }));
    assert.deepEqual(first.stats, { hits: 0, misses: 1, rebuilt: 0, unsaved: 0 });
    // The file's digest is remembered with its identity.
    const memos = readdirSync(path.join(dir, '.files'));
    assert.equal(memos.length, 1);
    const memo = JSON.parse(readFileSync(path.join(dir, '.files', memos[0]!), 'utf8'));
    assert.equal(memo.file, model);
    assert.equal(memo.sha256, createHash('sha256').update(readFileSync(model)).digest('hex'));
    // A wrong digest under the file's own identity is believed (so the file was not hashed): the
    // weights' digests then differ from the first run's, a miss, never a wrong hit.
    writeFileSync(path.join(dir, '.files', memos[0]!), JSON.stringify({ ...memo, sha256: '1'.repeat(64) }));
    assert.deepEqual((await run(new DiskSessionStore({ dir }))).stats, { hits: 0, misses: 1, rebuilt: 0, unsaved: 0 });
    // Touched (same bytes, new identity): hashed again, the right digest, the first entry.
    writeFileSync(model, readFileSync(model));
    assert.deepEqual((await run(new DiskSessionStore({ dir }))).stats, { hits: 1, misses: 0, rebuilt: 0, unsaved: 0 });
    // One weight changed, the file's size the same: a new key, and the cam of the changed model.
    const graph = parseOnnx(readFileSync(model));
    const [name, w] = [...graph.initializers].find(([, t]) => t.dataType === 'float32' && t.data.length > 100)!;
    const data = Float32Array.from(w.data as Float32Array, (v) => v * 3);
    graph.initializers.set(name, { ...w, data });
    const bytes = serializeOnnx(graph);
    assert.equal(bytes.length, statSync(model).size);
    writeFileSync(model, bytes);
    const changed = await run(new DiskSessionStore({ dir }));
    assert.deepEqual(changed.stats, { hits: 0, misses: 1, rebuilt: 0, unsaved: 0 });
    assert.deepEqual(changed.cam, (await run(undefined)).cam);
    assert.notDeepEqual(changed.cam, first.cam);
  } finally {
    rmSync(dir, { recursive: true, force: true });
    rmSync(work, { recursive: true, force: true });
  }
});

test('another onnxruntime version is another key; an entry recorded by another version is rebuilt', async () => {
  const dir = tmp();
  try {
    const old = new DiskSessionStore({ dir, ortVersion: '1.29.0' });
    await explainWith(old, { method: 'gradcam' });
    const [oldKey] = entries(dir);
    const current = new DiskSessionStore({ dir });
    assert.notEqual(current.ortVersion, '1.29.0');
    const r = await explainWith(current, { method: 'gradcam' });
    assert.deepEqual(r.stats, { hits: 0, misses: 1, rebuilt: 0, unsaved: 0 });
    const newKey = entries(dir).find((k) => k !== oldKey)!;
    assert.ok(newKey);
    // An entry under the current key that says it was written by another version (copied
    // caches, a hand-edited folder) is not trusted.
    const metaFile = path.join(dir, newKey, 'meta.json');
    writeFileSync(metaFile, readFileSync(metaFile, 'utf8').replace(`"ort": "${current.ortVersion}"`, '"ort": "1.29.0"'));
    const again = await explainWith(new DiskSessionStore({ dir }), { method: 'gradcam' });
    assert.deepEqual(again.stats, { hits: 0, misses: 0, rebuilt: 1, unsaved: 0 });
    // The other machine's key: a different CPU is a different entry too.
    const other = await explainWith(new DiskSessionStore({ dir, host: 'linux x64 another CPU' }), { method: 'gradcam' });
    assert.deepEqual(other.stats, { hits: 0, misses: 1, rebuilt: 0, unsaved: 0 });
    assert.equal(entries(dir).length, 3);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('entries above the size limit go, least recently used first; the one just written stays', async () => {
  const dir = tmp();
  try {
    const store = new DiskSessionStore({ dir, maxMB: 0.5 });
    await explainWith(store, { method: 'gradcam' });
    const [first] = entries(dir);
    await explainWith(store, { method: 'rsi-grad-cam' });
    const left = entries(dir);
    assert.equal(left.length, 1);
    assert.notEqual(left[0], first);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('an unwritable cache folder: the session is built and used, nothing stored', async () => {
  const dir = tmp();
  try {
    const blocked = path.join(dir, 'a-file');
    writeFileSync(blocked, '');
    const store = new DiskSessionStore({ dir: path.join(blocked, 'sessions') });
    const plain = await explainWith(undefined, { method: 'gradcam' });
    const r = await explainWith(store, { method: 'gradcam' });
    assert.deepEqual(r.stats, { hits: 0, misses: 1, rebuilt: 0, unsaved: 1 });
    assert.deepEqual(r.cam, plain.cam);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('$RSI_GRAD_CAM_SESSION_CACHE=off turns the store off; createNodeRuntime({ sessionCache: false }) too', () => {
  const saved = process.env.RSI_GRAD_CAM_SESSION_CACHE;
  try {
    process.env.RSI_GRAD_CAM_SESSION_CACHE = 'off';
    assert.equal(defaultSessionStore(), undefined);
    assert.equal(createNodeRuntime().options.sessionStore, undefined);
    delete process.env.RSI_GRAD_CAM_SESSION_CACHE;
    assert.ok(defaultSessionStore() instanceof DiskSessionStore);
    assert.ok(createNodeRuntime().options.sessionStore instanceof DiskSessionStore);
    assert.equal(createNodeRuntime({ sessionCache: false }).options.sessionStore, undefined);
  } finally {
    if (saved === undefined) delete process.env.RSI_GRAD_CAM_SESSION_CACHE;
    else process.env.RSI_GRAD_CAM_SESSION_CACHE = saved;
  }
});

test('CLI: a second explain process loads the stored session and writes the same files; off stores nothing', async () => {
  const cache = tmp();
  const out = tmp();
  try {
    const photo = path.join(REPO_ROOT, 'assets/demo/images/demo-00001.png');
    const run = (dest: string, env: NodeJS.ProcessEnv = {}) =>
      runCli(['explain', photo, '--model', DEMO, '--method', 'gradcam', '--raw', '-o', path.join(out, dest)], { env: { RSI_GRAD_CAM_CACHE: cache, ...env } });
    const a = await run('a');
    assert.equal(a.code, 0, a.stderr);
    const sessions = path.join(cache, 'sessions');
    const stored = entries(sessions);
    assert.ok(stored.length >= 1);
    const modified = stored.map((k) => statSync(path.join(sessions, k, 'model.onnx')).mtimeMs);
    const b = await run('b');
    assert.equal(b.code, 0, b.stderr);
    // Nothing rebuilt: the same entries, untouched.
    assert.deepEqual(entries(sessions), stored);
    assert.deepEqual(stored.map((k) => statSync(path.join(sessions, k, 'model.onnx')).mtimeMs), modified);
    const files = readdirSync(path.join(out, 'a')).sort();
    assert.deepEqual(readdirSync(path.join(out, 'b')).sort(), files);
    assert.deepEqual(files, ['demo-00001.gradcam.json', 'demo-00001.gradcam.png']);
    assert.ok(readFileSync(path.join(out, 'a', files[1]!)).equals(readFileSync(path.join(out, 'b', files[1]!))));
    const raw = (dest: string) => ({ ...JSON.parse(readFileSync(path.join(out, dest, files[0]!), 'utf8')), timings: undefined });
    assert.deepEqual(raw('b'), raw('a'));

    const offCache = tmp();
    try {
      const c = await runCli(['explain', photo, '--model', DEMO, '--method', 'gradcam', '-o', path.join(out, 'c')], { env: { RSI_GRAD_CAM_CACHE: offCache, RSI_GRAD_CAM_SESSION_CACHE: 'off' } });
      assert.equal(c.code, 0, c.stderr);
      assert.deepEqual(readdirSync(offCache), []);
    } finally {
      rmSync(offCache, { recursive: true, force: true });
    }
  } finally {
    rmSync(cache, { recursive: true, force: true });
    rmSync(out, { recursive: true, force: true });
  }
});

/** Change one byte of a file in place (same size). */
function flip(file: string, at: number) {
  const b = readFileSync(file);
  b[at % b.length] ^= 0xff;
  writeFileSync(file, b);
}
