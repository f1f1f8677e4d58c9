/**
 * The one module that talks to onnxruntime. It is written against `onnxruntime-common`'s
 * types only; the caller injects the implementation (`onnxruntime-node` or
 * `onnxruntime-web`), so the same core runs in Node and in the browser.
 */
import type * as OrtCommon from 'onnxruntime-common';
import type { RuleVariants } from '../autodiff/context.js';

/** The part of an onnxruntime package the engine uses. */
export interface OrtModule {
  InferenceSession: typeof OrtCommon.InferenceSession;
  Tensor: typeof OrtCommon.Tensor;
}

export interface RuntimeOptions {
  /** Threads for one operator (intra-op). Default: all cores the host reports. */
  threads?: number;
  /** Sessions kept alive at once; the least recently used is released first. */
  maxSessions?: number;
  /** onnxruntime execution providers, e.g. ['webgpu'] with onnxruntime-web (default: the package's own). */
  executionProviders?: OrtCommon.InferenceSession.SessionOptions['executionProviders'];
  /** Backward-graph variants this backend needs, e.g. { maxPoolGradient: 'mask' } for WebGPU. */
  variants?: RuleVariants;
}

/** A float tensor going in or coming out: plain data plus its shape. */
export interface FloatTensor {
  data: Float32Array;
  dims: number[];
}

/** One onnxruntime session over a graph the engine built. */
export class EngineSession {
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

  /** Run with float32 feeds; returns the requested outputs (all by default) as float32. */
  async run(feeds: Record<string, FloatTensor>, outputs?: string[]): Promise<Record<string, FloatTensor>> {
    const ortFeeds: Record<string, OrtCommon.Tensor> = {};
    for (const [name, t] of Object.entries(feeds)) ortFeeds[name] = new this.ort.Tensor('float32', t.data, t.dims);
    const result = outputs ? await this.session.run(ortFeeds, outputs) : await this.session.run(ortFeeds);
    const out: Record<string, FloatTensor> = {};
    for (const [name, t] of Object.entries(result)) {
      const data = t.data instanceof Float32Array ? t.data : Float32Array.from(t.data as ArrayLike<number>, Number);
      out[name] = { data, dims: [...t.dims] };
      t.dispose?.();
    }
    return out;
  }

  async release(): Promise<void> {
    await this.session.release();
  }
}

/** Creates and caches sessions by key, e.g. (model, layers, mode). */
export class Runtime {
  private readonly cache = new Map<string, Promise<EngineSession>>();

  constructor(
    readonly ort: OrtModule,
    readonly options: RuntimeOptions = {},
  ) {}

  /** A cached session for `key`, or a new one from the bytes `build` returns. */
  session(key: string, build: () => Uint8Array): Promise<EngineSession> {
    const hit = this.cache.get(key);
    if (hit) {
      this.cache.delete(key);
      this.cache.set(key, hit);
      return hit;
    }
    const created = this.create(build());
    this.cache.set(key, created);
    created.catch(() => this.cache.delete(key));
    this.evict();
    return created;
  }

  /** A session that is not cached (the caller releases it). */
  async create(bytes: Uint8Array): Promise<EngineSession> {
    const opts: OrtCommon.InferenceSession.SessionOptions = {
      graphOptimizationLevel: 'all',
      executionMode: 'sequential',
    };
    if (this.options.threads) opts.intraOpNumThreads = this.options.threads;
    if (this.options.executionProviders) opts.executionProviders = this.options.executionProviders;
    const s = await this.ort.InferenceSession.create(bytes, opts);
    return new EngineSession(this.ort, s);
  }

  private evict() {
    const max = this.options.maxSessions ?? 4;
    while (this.cache.size > max) {
      const [key, oldest] = this.cache.entries().next().value as [string, Promise<EngineSession>];
      this.cache.delete(key);
      void oldest.then((s) => s.release()).catch(() => {});
    }
  }

  /** Release every cached session. */
  async dispose(): Promise<void> {
    const all = [...this.cache.values()];
    this.cache.clear();
    await Promise.all(all.map((p) => p.then((s) => s.release()).catch(() => {})));
  }
}
