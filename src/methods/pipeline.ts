/**
 * The pipeline every method shares (the role of pytorch-grad-cam's BaseCAM): sessions built
 * from the model and cached in the runtime, batched predictions, target resolution,
 * batch sizing from a memory budget, and the final cam -> heatmap step.
 */
import { OptionError, RuntimeDisposedError } from '../errors.js';
import type { BuildOptions, GraphOutputs, Model } from '../engine/model.js';
import { TARGETS_INPUT } from '../engine/model.js';
import { serializeOnnx } from '../engine/graph/onnx-io.js';
import type { EngineSession, FloatTensor, Runtime, SessionLease } from '../engine/runtime/runtime.js';
import { FLOAT_TYPES } from '../engine/graph/types.js';
import { topK } from './cam.js';
import type { CommonOptions, Prediction, Target } from './types.js';

const modelIds = new WeakMap<Model, number>();
let nextId = 1;

/** A built graph running in a session, with its output names. */
export interface BuiltSession {
  session: EngineSession;
  outputs: GraphOutputs;
}

/** Predictions for one image. */
export interface ImagePrediction {
  probabilities: Float32Array;
  logits: Float32Array;
  topk: Prediction[];
}

export class Pipeline {
  /** Sessions this pipeline holds for its running calls, by key (see `hold`). */
  private readonly leases = new Map<string, Promise<SessionLease>>();
  private calls = 0;
  /** The runtime's generation when the running calls started: a dispose since ends them. */
  private generation = 0;

  constructor(
    readonly model: Model,
    readonly runtime: Runtime,
    private readonly outputNames = new Map<string, GraphOutputs>(),
  ) {}

  /**
   * A pipeline over the same model, runtime and caches that holds its own sessions: each
   * method instance takes one, so one call's sessions are released when that call ends.
   */
  view(): Pipeline {
    return new Pipeline(this.model, this.runtime, this.outputNames);
  }

  /**
   * Start a call: until the returned function is called (once per call), the sessions this
   * pipeline takes are leased, so the runtime cannot release them under the call however many
   * other calls run at once. Overlapping calls share the leases; the last to end releases them.
   */
  hold(): () => void {
    if (this.calls++ === 0) this.generation = this.runtime.generation;
    let ended = false;
    return () => {
      if (ended) return;
      ended = true;
      if (--this.calls > 0) return;
      for (const lease of this.leases.values()) void lease.then((l) => l.release(), () => {});
      this.leases.clear();
    };
  }

  /** A cached session for a graph variant of the model; leased while a call holds this pipeline. */
  async session(requested: BuildOptions): Promise<BuiltSession> {
    // The runtime's backend may need other backward graphs (e.g. WebGPU: MaxPool without Indices).
    const variants = this.runtime.options.variants;
    const options = variants ? { ...requested, variants } : requested;
    let id = modelIds.get(this.model);
    if (!id) modelIds.set(this.model, (id = nextId++));
    const key = `${id}|${JSON.stringify(options)}`;
    const build = () => {
      const built = this.model.build(options);
      this.outputNames.set(key, built.outputs);
      return serializeOnnx(built.graph);
    };
    let session: EngineSession;
    if (this.calls > 0) {
      if (this.runtime.generation !== this.generation) {
        throw new RuntimeDisposedError('the runtime was disposed while this call was running (Classifier.dispose / Runtime.dispose)');
      }
      let lease = this.leases.get(key);
      if (!lease) {
        const taken = (lease = this.runtime.acquire(key, build));
        this.leases.set(key, taken);
        taken.catch(() => this.leases.get(key) === taken && this.leases.delete(key));
      }
      session = (await lease).session;
    } else {
      session = await this.runtime.session(key, build);
    }
    let outputs = this.outputNames.get(key);
    if (!outputs) this.outputNames.set(key, (outputs = this.model.build(options).outputs));
    return { session, outputs };
  }

  /** Check images' sizes and stack `indices` of them into one NCHW batch. */
  stack(images: readonly Float32Array[], indices: number[]): FloatTensor {
    const per = this.imageSize();
    const data = new Float32Array(per * indices.length);
    indices.forEach((img, j) => data.set(images[img]!, j * per));
    return { data, dims: [indices.length, ...this.model.inputShape.slice(1) as number[]] };
  }

  /** Elements in one image tensor (C*H*W). */
  imageSize(): number {
    const [, c, h, w] = this.model.inputShape;
    return c * h * w;
  }

  checkImages(images: readonly Float32Array[]): void {
    if (images.length === 0) throw new OptionError('no images to explain');
    const per = this.imageSize();
    images.forEach((im, i) => {
      if (im.length !== per) {
        throw new OptionError(`image ${i} has ${im.length} values; the model '${this.model.source}' takes ${this.model.inputShape.slice(1).join('x')} = ${per}`);
      }
    });
  }

  /**
   * Probabilities, logits and top-5 of each image, in batches. `via` names the graph variant
   * to run (default: plain forward); passing the method's own variant avoids creating a
   * second session (slow for large models): onnxruntime computes only what the requested
   * outputs need, so this costs one forward pass.
   */
  async predict(images: readonly Float32Array[], batchSize: number, via: BuildOptions = {}): Promise<ImagePrediction[]> {
    const end = this.hold();
    try {
      return await this.predictHeld(images, batchSize, via);
    } finally {
      end();
    }
  }

  private async predictHeld(images: readonly Float32Array[], batchSize: number, via: BuildOptions): Promise<ImagePrediction[]> {
    const { session, outputs } = await this.session(via);
    const k = this.model.numClasses;
    const out: ImagePrediction[] = [];
    for (let start = 0; start < images.length; start += batchSize) {
      const idx = range(start, Math.min(images.length, start + batchSize));
      const feeds = this.feeds(this.stack(images, idx), via.score ? idx.map(() => -1) : undefined);
      const r = await session.run(feeds, [outputs.probs, outputs.logits]);
      const probs = r[outputs.probs]!.data;
      const logits = r[outputs.logits]!.data;
      idx.forEach((_, j) => {
        const p = probs.slice(j * k, (j + 1) * k);
        const l = logits.slice(j * k, (j + 1) * k);
        out.push({ probabilities: p, logits: l, topk: topK(p, l, Math.min(5, k)) });
      });
    }
    return out;
  }

  /** The class index each image is explained for. */
  resolveTargets(targets: CommonOptions['targets'], predictions: ImagePrediction[]): number[] {
    const list: Target[] = Array.isArray(targets) ? targets : predictions.map(() => targets ?? { topK: 1 });
    if (list.length !== predictions.length) {
      throw new OptionError(`targets: ${list.length} given for ${predictions.length} images`);
    }
    const k = this.model.numClasses;
    return list.map((t, i) => {
      if (typeof t === 'number') {
        if (!Number.isInteger(t) || t < 0 || t >= k) throw new OptionError(`target class ${t} is out of range: the model has ${k} classes (0-${k - 1})`);
        return t;
      }
      if (!Number.isInteger(t.topK) || t.topK < 1 || t.topK > k) throw new OptionError(`target topK ${t.topK} must be between 1 and ${k}`);
      const p = predictions[i]!.probabilities;
      const order = Array.from({ length: k }, (_, c) => c).sort((a, b) => p[b]! - p[a]!);
      return order[t.topK - 1]!;
    });
  }

  /** One-hot target rows for a batch (a class of -1 gives an all-zero row). */
  targetRows(classes: number[]): FloatTensor {
    const k = this.model.numClasses;
    const data = new Float32Array(classes.length * k);
    classes.forEach((c, i) => c >= 0 && (data[i * k + c] = 1));
    return { data, dims: [classes.length, k] };
  }

  /**
   * Items per batch when the caller gives none: as many as fit `memoryBudgetMB` (default
   * 512 MiB), counting every float activation of one item twice (forward and backward).
   */
  batchSize(options: CommonOptions, limit: number): number {
    if (options.internalBatchSize !== undefined) {
      const b = options.internalBatchSize;
      if (!Number.isInteger(b) || b < 1) throw new OptionError(`internalBatchSize must be a positive integer, got ${b}`);
      return Math.min(b, limit);
    }
    const budget = (options.memoryBudgetMB ?? 512) * 1024 * 1024;
    return Math.max(1, Math.min(limit, Math.floor(budget / this.bytesPerItem())));
  }

  private bytesPerItem(): number {
    let floats = 0;
    for (const k of this.model.shapes.values()) {
      if (!k.shape || !FLOAT_TYPES.has(k.dataType) || k.shape[0] !== 'N') continue;
      let n = 1;
      for (const d of k.shape.slice(1)) n *= typeof d === 'number' ? d : 1;
      floats += n;
    }
    return floats * 4 * 2;
  }

  /** Feeds for a batch of inputs with targets. */
  feeds(input: FloatTensor, classes?: number[]): Record<string, FloatTensor> {
    const f: Record<string, FloatTensor> = { [this.model.inputName]: input };
    if (classes) f[TARGETS_INPUT] = this.targetRows(classes);
    return f;
  }
}

export function range(start: number, end: number): number[] {
  return Array.from({ length: Math.max(0, end - start) }, (_, i) => start + i);
}
