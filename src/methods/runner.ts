/**
 * The one batched run loop every method and the pipeline's predictions go through: items
 * (images, path points, masked inputs, ablated channels, ...) are stacked into batches, run,
 * handed back in order, counted as model evaluations for progress, and cancelled between
 * batches when the caller's AbortSignal fires.
 */
import { AbortError, ModelFormatError } from '../errors.js';
import type { EngineSession, FloatTensor } from '../engine/runtime/runtime.js';

/**
 * Model evaluations of one explain (or predict) call: the total planned so far, the count
 * done, progress reports and cancellation. One forward (and backward) of one item counts one.
 */
export class Evaluations {
  total = 0;
  done = 0;

  constructor(
    private readonly onProgress?: (done: number, total: number) => void,
    private readonly signal?: AbortSignal,
  ) {}

  /** Announce `n` more evaluations (before running them, so the total is known early). */
  plan(n: number): void {
    this.total += n;
  }

  /** Throws AbortError when the caller's signal has fired. */
  throwIfAborted(): void {
    if (this.signal?.aborted) {
      const reason = this.signal.reason;
      throw new AbortError(`cancelled after ${this.done} of ${this.total} model evaluations${reason instanceof Error ? ` (${reason.message})` : typeof reason === 'string' ? ` (${reason})` : ''}`);
    }
  }

  /** Record `n` evaluations as done and report progress. */
  count(n: number): void {
    this.done += n;
    this.onProgress?.(this.done, this.total);
  }
}

/** A run of `count` items in batches of `batchSize` through one session. */
export interface Batches {
  count: number;
  batchSize: number;
  /** Feeds for items [start, start + n). */
  feeds(start: number, n: number): Record<string, FloatTensor>;
  /** Outputs to fetch. */
  fetch: string[];
  /** Receives the outputs of items [start, start + n), in order. */
  take(out: Record<string, FloatTensor>, start: number, n: number): void | Promise<void>;
  /** The model's path or URL, for the error raised when an output is NaN or infinite. */
  source: string;
}

/**
 * Runs every batch in order; returns the milliseconds spent. Every output must be finite:
 * inputs are (callers refuse NaN and infinite ones), so a NaN or infinite activation,
 * gradient or score anywhere - at a baseline or path point too - means the model overflows
 * or its weights are broken, and no explanation built on it would mean anything.
 */
export async function runBatches(session: EngineSession, b: Batches, evaluations: Evaluations): Promise<number> {
  const t0 = performance.now();
  for (let start = 0; start < b.count; start += b.batchSize) {
    evaluations.throwIfAborted();
    const n = Math.min(b.batchSize, b.count - start);
    const out = await session.run(b.feeds(start, n), b.fetch);
    await b.take(out, start, n);
    if (!Object.values(out).every((t) => allFinite(t.data))) {
      throw new ModelFormatError(`${b.source}: the model computes NaN or infinite values although its input is finite (overflow in the model or broken weights)`);
    }
    evaluations.count(n);
  }
  return performance.now() - t0;
}

export function allFinite(data: Float32Array): boolean {
  for (let i = 0; i < data.length; i++) if (!Number.isFinite(data[i]!)) return false;
  return true;
}

/** start, start + 1, ..., end - 1. */
export function range(start: number, end: number): number[] {
  return Array.from({ length: Math.max(0, end - start) }, (_, i) => start + i);
}
