/**
 * The session store of the Node runtime: onnxruntime's optimised graphs as files in the cache
 * folder, so a new process loads a graph's session instead of optimising it again (seconds
 * for a big model's forward + backward graph).
 *
 * One folder per entry, `<cache>/sessions/<key>/`: `model.onnx` (the optimised graph),
 * `model.onnx.data` (its weights, mapped from disk by onnxruntime) and `meta.json`. The key
 * hashes the graph's content (structure and every weight: it follows from the model file,
 * the layers, the score and the variants), onnxruntime's version, the session options and
 * the machine's CPU (an optimised graph holds CPU-specific layouts, e.g. onnxruntime's NCHWc
 * blocks). An entry is written in a temporary folder and renamed into place, so it is
 * complete or absent; one whose files do not match the sizes and hashes its meta.json
 * records, or that onnxruntime cannot load, is removed and built again. Hashing a big
 * model's weights on every load costs about a second (528 MB for VGG-16), so meta.json also
 * records each file's identity as written (inode, size, modification and change times in
 * nanoseconds): a file that still has it was not written since, and is not hashed again;
 * any write, copy or replacement changes it, and the file is then hashed (an entry copied
 * whole, e.g. with `cp -a`, that hashes right is kept and its identity recorded anew).
 * Entries are removed, least recently used first, when they pass `maxMB` together.
 */
import { createHash } from 'node:crypto';
import { createReadStream, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, readdir, rename, rm, stat, utimes, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import * as ort from 'onnxruntime-node';
import type * as OrtCommon from 'onnxruntime-common';
import type { CreateSession, SessionStore, StoredGraph } from '../engine/runtime/session-store.js';
import { defaultCacheDir } from './download.js';

/** Bumped when the entries' layout changes: older entries are then never read. */
const FORMAT = 1;
const MODEL = 'model.onnx';
const DATA = 'model.onnx.data';
const META = 'meta.json';
/** Digests of model files, by path (`fileDigest`). */
const FILES = '.files';
/** Weights below this size stay inside model.onnx. */
const EXTERNAL_MIN_BYTES = 1024;
const DEFAULT_MAX_MB = 4096;
/** A temporary folder this old was left by a process that died while writing. */
const STALE_TMP_MS = 24 * 3600 * 1000;

export interface DiskSessionStoreOptions {
  /** Folder of the entries. Default: `sessions` in the cache folder (`$RSI_GRAD_CAM_CACHE`, ...). */
  dir?: string;
  /** Entries are removed, least recently used first, above this total size in MiB. Default `$RSI_GRAD_CAM_SESSION_CACHE_MB` or 4096. */
  maxMB?: number;
  /** onnxruntime's version, part of every key. Default: onnxruntime-node's. */
  ortVersion?: string;
  /** The machine, part of every key. Default: platform, architecture, CPU model and flags. */
  host?: string;
}

interface FileRecord {
  bytes: number;
  sha256: string;
  /** The file's identity when it was hashed (`identity`); absent in entries of older versions. */
  stat?: string;
}

interface Meta {
  format: number;
  key: string;
  ort: string;
  host: string;
  created: string;
  model: FileRecord;
  data?: FileRecord;
}

/** What happened to the sessions opened through a store (for tests and the bench). */
export interface SessionStoreStats {
  /** Loaded from a stored entry. */
  hits: number;
  /** Built, nothing stored for the key. */
  misses: number;
  /** Built because the stored entry was unreadable, did not match its record, or did not load. */
  rebuilt: number;
  /** Built but could not be stored (unwritable folder, full disk, onnxruntime could not save it). */
  unsaved: number;
}

export class DiskSessionStore implements SessionStore {
  readonly dir: string;
  readonly maxMB: number;
  readonly ortVersion: string;
  readonly host: string;
  readonly stats: SessionStoreStats = { hits: 0, misses: 0, rebuilt: 0, unsaved: 0 };

  constructor(options: DiskSessionStoreOptions = {}) {
    this.dir = options.dir ?? path.join(defaultCacheDir(), 'sessions');
    const envMax = Number(process.env.RSI_GRAD_CAM_SESSION_CACHE_MB);
    this.maxMB = options.maxMB ?? (envMax > 0 ? envMax : DEFAULT_MAX_MB);
    this.ortVersion = options.ortVersion ?? ort.env.versions.node ?? ort.env.versions.common;
    this.host = options.host ?? hostIdentity();
  }

  hash(chunks: Iterable<Uint8Array>): string {
    const h = createHash('sha256');
    for (const c of chunks) h.update(c);
    return h.digest('hex');
  }

  /**
   * SHA-256 of a model file's bytes, remembered in `<dir>/.files/` under the file's path with
   * the identity it had when read (`fileIdentity` before and after): the same identity again
   * gives the remembered digest without hashing; any write to the file changes it.
   */
  async fileDigest(file: string, identity: string, bytes: Uint8Array): Promise<string | undefined> {
    const memo = path.join(this.dir, FILES, `${this.hash([new TextEncoder().encode(path.resolve(file))])}.json`);
    try {
      const known = JSON.parse(await readFile(memo, 'utf8')) as { identity?: string; sha256?: string };
      if (known.identity === identity && typeof known.sha256 === 'string') return known.sha256;
    } catch {
      // none yet, or unreadable: hashed below
    }
    const sha256 = this.hash([bytes]);
    try {
      await mkdir(path.dirname(memo), { recursive: true });
      const tmp = `${memo}.${process.pid}`;
      await writeFile(tmp, JSON.stringify({ file: path.resolve(file), identity, sha256 }));
      await rename(tmp, memo);
    } catch {
      // an unwritable cache: hashed again next time
    }
    return sha256;
  }

  /** The entry's key: the graph's digest with everything else that shapes the optimised graph. */
  keyOf(graph: StoredGraph): string {
    const { intraOpNumThreads: _threads, ...options } = graph.options;
    const what = JSON.stringify({ format: FORMAT, graph: graph.digest, ort: this.ortVersion, host: this.host, options });
    return this.hash([new TextEncoder().encode(what)]);
  }

  async open(graph: StoredGraph, create: CreateSession): Promise<OrtCommon.InferenceSession> {
    const key = this.keyOf(graph);
    const dir = path.join(this.dir, key);
    const found = await this.load(dir, key, graph.options, create);
    if (found === 'absent') this.stats.misses++;
    else if (found === 'invalid') this.stats.rebuilt++;
    else {
      this.stats.hits++;
      return found;
    }
    return this.build(dir, key, graph, create);
  }

  /** The stored session, or why there is none (an invalid entry is removed). */
  private async load(dir: string, key: string, options: OrtCommon.InferenceSession.SessionOptions, create: CreateSession): Promise<OrtCommon.InferenceSession | 'absent' | 'invalid'> {
    if (!(await exists(dir))) return 'absent';
    try {
      // A folder without a readable meta.json is not an entry (entries arrive whole).
      const meta = JSON.parse(await readFile(path.join(dir, META), 'utf8')) as Meta;
      if (meta.format !== FORMAT || meta.key !== key || meta.ort !== this.ortVersion) return this.discard(dir);
      const model = await matches(path.join(dir, MODEL), meta.model);
      const data = meta.data ? await matches(path.join(dir, DATA), meta.data) : (await exists(path.join(dir, DATA))) ? 'differs' : 'same';
      if (model === 'differs' || data === 'differs') return this.discard(dir);
      // Hashed right under another identity (a copied entry): remember the new one.
      if (model === 'rehashed' || data === 'rehashed') await writeMeta(dir, meta).catch(() => {});
      // Optimised already: onnxruntime only loads it (the weights are mapped from the file).
      const session = await create(path.join(dir, MODEL), { ...options, graphOptimizationLevel: 'disabled' });
      const now = new Date();
      await utimes(path.join(dir, META), now, now).catch(() => {});
      return session;
    } catch {
      return this.discard(dir);
    }
  }

  private async discard(dir: string): Promise<'invalid'> {
    await rm(dir, { recursive: true, force: true }).catch(() => {});
    return 'invalid';
  }

  /** Build the session from the graph, asking onnxruntime to write its optimised form, and store that. */
  private async build(dir: string, key: string, graph: StoredGraph, create: CreateSession): Promise<OrtCommon.InferenceSession> {
    const bytes = graph.bytes();
    let tmp: string;
    try {
      await mkdir(this.dir, { recursive: true });
      tmp = await mkdtemp(path.join(this.dir, '.tmp-'));
    } catch {
      this.stats.unsaved++;
      return create(bytes, graph.options);
    }
    try {
      let session: OrtCommon.InferenceSession;
      const extra = graph.options.extra as { session?: Record<string, unknown> } | undefined;
      try {
        session = await create(bytes, {
          ...graph.options,
          optimizedModelFilePath: path.join(tmp, MODEL),
          // Not onnxruntime's warning that the saved graph is specific to this CPU: the key holds the CPU.
          logSeverityLevel: 3,
          extra: {
            ...extra,
            session: { ...extra?.session, optimized_model_external_initializers_file_name: DATA, optimized_model_external_initializers_min_size_in_bytes: String(EXTERNAL_MIN_BYTES) },
          },
        });
      } catch {
        // Saving may be what failed (a full disk, a graph onnxruntime cannot write back):
        // build without it; a graph that is itself at fault fails here with its own error.
        this.stats.unsaved++;
        return await create(bytes, graph.options);
      }
      try {
        const meta: Meta = { format: FORMAT, key, ort: this.ortVersion, host: this.host, created: new Date().toISOString(), model: await record(path.join(tmp, MODEL)) };
        if (await exists(path.join(tmp, DATA))) meta.data = await record(path.join(tmp, DATA));
        await writeMeta(tmp, meta);
        // Whole or not at all. If another process stored the same key first, keep its entry.
        await rename(tmp, dir).catch(() => {});
        await this.prune(dir);
      } catch {
        this.stats.unsaved++;
      }
      return session;
    } finally {
      await rm(tmp, { recursive: true, force: true }).catch(() => {});
    }
  }

  /** Remove the least recently used entries above `maxMB` (never `keep`), and temporary folders of dead writers. */
  private async prune(keep: string): Promise<void> {
    const entries: { dir: string; used: number; bytes: number }[] = [];
    for (const name of await readdir(this.dir)) {
      const dir = path.join(this.dir, name);
      try {
        if (name === FILES) continue;
        if (name.startsWith('.tmp-')) {
          if (Date.now() - (await stat(dir)).mtimeMs > STALE_TMP_MS) await rm(dir, { recursive: true, force: true });
          continue;
        }
        const meta = JSON.parse(await readFile(path.join(dir, META), 'utf8')) as Meta;
        entries.push({ dir, used: (await stat(path.join(dir, META))).mtimeMs, bytes: meta.model.bytes + (meta.data?.bytes ?? 0) });
      } catch {
        // unreadable: removed when its key is next opened
      }
    }
    let total = entries.reduce((s, e) => s + e.bytes, 0);
    const max = this.maxMB * 1024 * 1024;
    for (const e of entries.sort((a, b) => a.used - b.used)) {
      if (total <= max) break;
      if (e.dir === keep) continue;
      await rm(e.dir, { recursive: true, force: true }).catch(() => {});
      total -= e.bytes;
    }
  }
}

/**
 * The session store the Node runtime uses by default: `sessions` in the cache folder (or in
 * `cacheDir`), one per folder in a process; none when `$RSI_GRAD_CAM_SESSION_CACHE` is `off`
 * (or `0`, `false`, `no`).
 */
export function defaultSessionStore(cacheDir = defaultCacheDir()): DiskSessionStore | undefined {
  const v = process.env.RSI_GRAD_CAM_SESSION_CACHE?.trim().toLowerCase();
  if (v === 'off' || v === '0' || v === 'false' || v === 'no') return undefined;
  const dir = path.resolve(cacheDir, 'sessions');
  let store = stores.get(dir);
  if (!store) stores.set(dir, (store = new DiskSessionStore({ dir })));
  return store;
}
const stores = new Map<string, DiskSessionStore>();

/** Platform, architecture, CPU model and (on Linux) the CPU's feature flags. */
function hostIdentity(): string {
  let flags = '';
  try {
    flags = /^flags\s*:(.*)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1]?.trim() ?? '';
  } catch {
    // not Linux: the model name stands for the CPU
  }
  return `${process.platform} ${process.arch} ${os.cpus()[0]?.model ?? '?'} ${flags}`;
}

async function exists(p: string): Promise<boolean> {
  return stat(p).then(
    () => true,
    () => false,
  );
}

/**
 * Size, SHA-256 and identity of a file, streamed. The identity is taken before and after the
 * read and kept only if it did not change meanwhile.
 */
async function record(file: string): Promise<FileRecord> {
  const before = await fileIdentity(file);
  const h = createHash('sha256');
  let bytes = 0;
  for await (const chunk of createReadStream(file, { highWaterMark: 1 << 20 })) {
    bytes += (chunk as Buffer).length;
    h.update(chunk as Buffer);
  }
  const after = await fileIdentity(file);
  return { bytes, sha256: h.digest('hex'), ...(before === after ? { stat: after } : {}) };
}

/**
 * Device, inode, size and the modification and change times in nanoseconds: any write to the
 * file, or another file put in its place, changes it (the change time cannot be set back).
 */
export async function fileIdentity(file: string): Promise<string> {
  const s = await stat(file, { bigint: true });
  return `${s.dev}:${s.ino}:${s.size}:${s.mtimeNs}:${s.ctimeNs}`;
}

/**
 * Whether a file has the recorded size and hash: 'same' when it still has the identity it had
 * when hashed (nothing read), 'rehashed' when it hashes right under another identity (which
 * `want.stat` then holds), else 'differs' (the size first: a truncated file costs no read).
 */
async function matches(file: string, want: FileRecord): Promise<'same' | 'rehashed' | 'differs'> {
  const s = await stat(file);
  if (s.size !== want.bytes) return 'differs';
  if (want.stat !== undefined && want.stat === (await fileIdentity(file))) return 'same';
  const now = await record(file);
  if (now.sha256 !== want.sha256) return 'differs';
  want.stat = now.stat;
  return 'rehashed';
}

/** meta.json, written whole (a temporary file renamed over it). */
async function writeMeta(dir: string, meta: Meta): Promise<void> {
  const tmp = path.join(dir, `.${META}.${process.pid}`);
  await writeFile(tmp, JSON.stringify(meta, null, 1));
  await rename(tmp, path.join(dir, META));
}
