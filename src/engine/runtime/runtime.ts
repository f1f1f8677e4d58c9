/**
 * The one module that talks to onnxruntime. It is written against `onnxruntime-common`'s
 * types only; the caller injects the implementation (`onnxruntime-node` or
 * `onnxruntime-web`), so the same core runs in Node and in the browser.
 */
import type * as OrtCommon from 'onnxruntime-common';
import type { RuleVariants } from '../autodiff/context.js';
import { serializeOnnx } from '../graph/onnx-io.js';
import type { Graph } from '../graph/types.js';
import { RuntimeDisposedError } from '../../errors.js';
import { graphDigest, type SessionStore } from './session-store.js';

/** The part of an onnxruntime package the engine uses. */
export interface OrtModule {
  InferenceSession: typeof OrtCommon.InferenceSession;
  Tensor: typeof OrtCommon.Tensor;
}

export interface RuntimeOptions {
  /** Threads for one operator (intra-op). Default: all cores the host reports. */
  threads?: number;
  /** Idle sessions kept alive at once (default 4); the least recently used is released first. Sessions in use are never released. */
  maxSessions?: number;
  /** onnxruntime execution providers, e.g. ['webgpu'] with onnxruntime-web (default: the package's own). */
  executionProviders?: OrtCommon.InferenceSession.SessionOptions['executionProviders'];
  /** Backward-graph variants this backend needs, e.g. { maxPoolGradient: 'mask' } for WebGPU. */
  variants?: RuleVariants;
  /** Free memory of the machine in MiB, when the host can tell (batch sizes stay below it). */
  freeMemoryMB?: () => number;
  /**
   * Keeps optimised graphs between processes (the Node runtime: files in the cache folder),
   * so building a graph's session a second time is fast. Used for graphs given as a Graph,
   * on the CPU execution provider only. Unset: every session is built from scratch.
   */
  sessionStore?: SessionStore;
}

/** A float tensor going in or coming out: plain data plus its shape. */
export interface FloatTensor {
  data: Float32Array;
  dims: number[];
}

/** One onnxruntime session over a graph the engine built. */
export class EngineSession {
  private running = 0;
  private idle: (() => void) | undefined;
  private closedBy: Error | undefined;
  private released: Promise<void> | undefined;

  constructor(
    private readonly ort: OrtModule,
    private readonly session: OrtCommon.InferenceSession,
  ) {}

  get inputNames(): readonly string[] {
    return this.session.inputNames;
  }
  get outputNames(): readonly string[] {
    return this.session.outputNames;
  }
  /** Whether the session was released (a run now rejects). */
  get closed(): boolean {
    return this.closedBy !== undefined;
  }

  /**
   * Run with float32 feeds; returns the requested outputs (all by default) as float32. A
   * session closed before or during the run rejects with the error it was closed with.
   */
  async run(feeds: Record<string, FloatTensor>, outputs?: string[]): Promise<Record<string, FloatTensor>> {
    if (this.closedBy) throw this.closedBy;
    this.running++;
    try {
      const ortFeeds: Record<string, OrtCommon.Tensor> = {};
      for (const [name, t] of Object.entries(feeds)) ortFeeds[name] = new this.ort.Tensor('float32', t.data, t.dims);
      const result = outputs ? await this.session.run(ortFeeds, outputs) : await this.session.run(ortFeeds);
      const out: Record<string, FloatTensor> = {};
      for (const [name, t] of Object.entries(result)) {
        const data = t.data instanceof Float32Array ? t.data : Float32Array.from(t.data as ArrayLike<number>, Number);
        out[name] = { data, dims: [...t.dims] };
        t.dispose?.();
      }
      if (this.closedBy) throw this.closedBy;
      return out;
    } finally {
      if (--this.running === 0) this.idle?.();
    }
  }

  /**
   * Release the native session once the runs in flight have finished (onnxruntime must not
   * free a session under a running call); those runs and any later one reject with `reason`.
   */
  release(reason: Error = new Error('the session was released')): Promise<void> {
    this.closedBy ??= reason;
    return (this.released ??= (async () => {
      if (this.running > 0) await new Promise<void>((r) => (this.idle = r));
      await this.session.release();
    })());
  }
}

/**
 * Weights from which sessions skip onnxruntime's prepacking (copying each weight into its
 * kernel's layout when the session is created). Measured on VGG-16 (528 MB, 2 threads):
 * prepacking costs 1.4 CPU s per session, also when it is loaded from the session store,
 * and its runs were no faster for it (batch 1: 579 vs 559 ms, batch 17: 7.02 vs 6.93 s), so a
 * process that explains a few images loses by it. Smaller models keep it (their results stay
 * as they were bit for bit; skipping it changes the last bits of some sums).
 */
export const NO_PREPACKING_BYTES = 256 * 2 ** 20;

function weightBytes(graph: Graph): number {
  let n = 0;
  for (const t of graph.initializers.values()) n += t.data.byteLength;
  return n;
}

/**
 * Whether sessions run on the CPU provider alone: optimised graphs stored for other providers
 * hold their partitioning and may not load again, so only these are stored.
 */
function cpuOnly(providers: OrtCommon.InferenceSession.SessionOptions['executionProviders']): boolean {
  return (providers ?? []).every((p) => (typeof p === 'string' ? p : p.name) === 'cpu');
}

/**
 * A session held for use: the runtime never releases it for space while it is leased.
 * Call `release()` when done with it (more than once is harmless).
 */
export interface SessionLease {
  readonly session: EngineSession;
  release(): void;
}

interface CacheEntry {
  session: Promise<EngineSession>;
  leases: number;
}

/**
 * Creates and caches sessions by key, e.g. (model, layers, mode). Up to `maxSessions` idle
 * sessions stay cached, the least recently used released first; leased sessions are never
 * released for space, so while many are in use the cache holds more for the moment.
 */
export class Runtime {
  private readonly cache = new Map<string, CacheEntry>();
  private disposals = 0;

  constructor(
    readonly ort: OrtModule,
    readonly options: RuntimeOptions = {},
  ) {}

  /** How many times `dispose()` was called: a call that saw another value was cut short. */
  get generation(): number {
    return this.disposals;
  }

  /** Sessions cached now (idle and leased), and how many of them are leased. */
  get stats(): { cached: number; leased: number } {
    let leased = 0;
    for (const e of this.cache.values()) if (e.leases > 0) leased++;
    return { cached: this.cache.size, leased };
  }

  /**
   * The cached session for `key` (or a new one from the graph or bytes `build` returns), leased
   * until the lease is released. A runtime disposed meanwhile rejects with RuntimeDisposedError.
   */
  async acquire(key: string, build: () => Uint8Array | Graph): Promise<SessionLease> {
    let entry = this.cache.get(key);
    if (entry) {
      this.cache.delete(key);
    } else {
      entry = { session: this.create(build()), leases: 0 };
      const created = entry;
      created.session.catch(() => this.cache.get(key) === created && this.cache.delete(key));
    }
    this.cache.set(key, entry);
    entry.leases++;
    this.evict();
    const held = entry;
    let released = false;
    const release = () => {
      if (released) return;
      released = true;
      held.leases--;
      this.evict();
    };
    let session: EngineSession;
    try {
      session = await held.session;
    } catch (e) {
      release();
      throw e;
    }
    if (session.closed) {
      release();
      throw new RuntimeDisposedError('the runtime was disposed while this call was starting');
    }
    return { session, release };
  }

  /**
   * A cached session for `key`, not leased: the cache may release it once more than
   * `maxSessions` others are used. Prefer `acquire` when the session is used across awaits.
   */
  async session(key: string, build: () => Uint8Array | Graph): Promise<EngineSession> {
    const lease = await this.acquire(key, build);
    lease.release();
    return lease.session;
  }

  /**
   * A session that is not cached in memory (the caller releases it). A graph goes through the
   * session store when there is one (see `RuntimeOptions.sessionStore`).
   */
  async create(source: Uint8Array | Graph): Promise<EngineSession> {
    const opts: OrtCommon.InferenceSession.SessionOptions = {
      graphOptimizationLevel: 'all',
      executionMode: 'sequential',
      // Errors reach the caller as exceptions; onnxruntime's own (coloured) log lines would
      // only duplicate them on stderr, around the CLI's one-line message.
      logSeverityLevel: 4,
    };
    if (this.options.threads) opts.intraOpNumThreads = this.options.threads;
    if (this.options.executionProviders) opts.executionProviders = this.options.executionProviders;
    if (!(source instanceof Uint8Array) && weightBytes(source) >= NO_PREPACKING_BYTES) opts.extra = { session: { disable_prepacking: '1' } };
    const create = (src: Uint8Array | string, o: OrtCommon.InferenceSession.SessionOptions) =>
      typeof src === 'string' ? this.ort.InferenceSession.create(src, o) : this.ort.InferenceSession.create(src, o);
    const store = this.options.sessionStore;
    let s: OrtCommon.InferenceSession;
    if (source instanceof Uint8Array) s = await create(source, opts);
    else if (!store || !cpuOnly(opts.executionProviders)) s = await create(serializeOnnx(source), opts);
    else s = await store.open({ digest: graphDigest(source, store), bytes: () => serializeOnnx(source), options: opts }, create);
    return new EngineSession(this.ort, s);
  }

  /** Release idle sessions, least recently used first, until at most `maxSessions` are cached. */
  private evict() {
    const max = this.options.maxSessions ?? 4;
    for (const [key, entry] of this.cache) {
      if (this.cache.size <= max) break;
      if (entry.leases > 0) continue;
      this.cache.delete(key);
      void entry.session.then((s) => s.release()).catch(() => {});
    }
  }

  /**
   * Release every cached session. Calls running on them end with RuntimeDisposedError (a run
   * in flight finishes inside onnxruntime first); the runtime itself stays usable.
   */
  async dispose(): Promise<void> {
    this.disposals++;
    const all = [...this.cache.values()];
    this.cache.clear();
    const reason = new RuntimeDisposedError('the runtime was disposed while this call was running (Classifier.dispose / Runtime.dispose)');
    await Promise.all(all.map((e) => e.session.then((s) => s.release(reason)).catch(() => {})));
  }
}
