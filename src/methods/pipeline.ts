/**
 * The pipeline every method shares (the role of pytorch-grad-cam's BaseCAM): sessions built
 * from the model and cached in the runtime, input checks, batched predictions, target
 * resolution, batch sizing from a memory budget, and what is known of the model's
 * preprocessing (the black-image baseline of path methods).
 */
import { ModelFormatError, OptionError, RuntimeDisposedError } from '../errors.js';
import type { BuildOptions, GraphOutputs, Model } from '../engine/model.js';
import { TARGETS_INPUT } from '../engine/model.js';
import type { EngineSession, FloatTensor, Runtime, SessionLease } from '../engine/runtime/runtime.js';
import { BATCH, FLOAT_TYPES } from '../engine/graph/types.js';
import { consumers } from '../engine/graph/graph-utils.js';
import { topK } from './cam.js';
import { Evaluations, allFinite, range, runBatches } from './runner.js';
import { resolveTargets } from './targets.js';
import type { CommonOptions, Prediction } from './types.js';

export { range } from './runner.js';

const modelIds = new WeakMap<Model, number>();
const itemBytes = new WeakMap<Model, number>();
let nextId = 1;

/** The default memory budget of one batch, in MiB. */
export const DEFAULT_MEMORY_BUDGET_MB = 512;

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

/** What the pipeline knows beyond the model: its preprocessing. */
export interface PipelineEnv {
  /** The black image after the model's preprocessing (path methods' default baseline). */
  blackBaseline?: () => Float32Array;
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
    readonly env: PipelineEnv = {},
    private readonly outputNames = new Map<string, GraphOutputs>(),
  ) {}

  /**
   * A pipeline over the same model, runtime and caches that holds its own sessions: each
   * method instance takes one, so one call's sessions are released when that call ends.
   */
  view(): Pipeline {
    return new Pipeline(this.model, this.runtime, this.env, this.outputNames);
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
    const options = variants ? { ...requested, variants: { ...variants, ...requested.variants } } : requested;
    let id = modelIds.get(this.model);
    if (!id) modelIds.set(this.model, (id = nextId++));
    const key = `${id}|${JSON.stringify(options)}`;
    const build = () => {
      const built = this.model.build(options);
      this.outputNames.set(key, built.outputs);
      return built.graph;
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

  /** `count` items of one image size each, as a batch tensor. */
  batchTensor(data: Float32Array, count: number): FloatTensor {
    return { data, dims: [count, ...this.model.inputShape.slice(1) as number[]] };
  }

  /** Elements in one image tensor (C*H*W). */
  imageSize(): number {
    const [, c, h, w] = this.model.inputShape;
    return c * h * w;
  }

  /** Refuses an empty list, wrong sizes, and NaN or infinite values. */
  checkImages(images: readonly Float32Array[]): void {
    if (images.length === 0) throw new OptionError('no images to explain');
    const per = this.imageSize();
    images.forEach((im, i) => {
      if (im.length !== per) {
        throw new OptionError(`image ${i} has ${im.length} values; the model '${this.model.source}' takes ${this.model.inputShape.slice(1).join('x')} = ${per}`);
      }
      assertFinite(im, `image ${i}`);
    });
  }

  /** The black image after the model's preprocessing; an OptionError when the preprocessing is unknown. */
  defaultBaseline(): Float32Array {
    const make = this.env.blackBaseline;
    if (!make) throw new OptionError("baseline: the model's preprocessing is unknown, so the black-image baseline cannot be made; pass a baseline");
    return make();
  }

  /**
   * Probabilities, logits and top-5 of each image, in batches. `via` names the graph variant
   * to run (default: plain forward); passing the method's own variant avoids creating a
   * second session (slow for large models): onnxruntime computes only what the requested
   * outputs need, so this costs one forward pass. Outputs with NaN or infinite values are
   * refused (they would make every later choice, such as the top class, meaningless).
   */
  async predict(images: readonly Float32Array[], batchSize: number, via: BuildOptions = {}, evaluations = new Evaluations()): Promise<ImagePrediction[]> {
    const end = this.hold();
    try {
      return await this.predictHeld(images, batchSize, via, evaluations);
    } finally {
      end();
    }
  }

  private async predictHeld(images: readonly Float32Array[], batchSize: number, via: BuildOptions, evaluations: Evaluations): Promise<ImagePrediction[]> {
    const { session, outputs } = await this.session(via);
    const k = this.model.numClasses;
    const out: ImagePrediction[] = [];
    await runBatches(
      session,
      {
        count: images.length,
        batchSize,
        source: this.model.source,
        fetch: [outputs.probs, outputs.logits],
        feeds: (start, n) => this.feeds(this.stack(images, range(start, start + n)), via.score ? new Array<number>(n).fill(-1) : undefined, via.score ? this.model.scoreWidth(via.score) : undefined),
        take: (r, start, n) => {
          const probs = r[outputs.probs]!.data;
          const logits = r[outputs.logits]!.data;
          for (let j = 0; j < n; j++) {
            const p = probs.slice(j * k, (j + 1) * k);
            const l = logits.slice(j * k, (j + 1) * k);
            if (!allFinite(l) || !allFinite(p)) {
              throw new ModelFormatError(`${this.model.source}: the model's outputs for image ${start + j} are NaN or infinite although the input is finite (overflow in the model or broken weights)`);
            }
            out.push({ probabilities: p, logits: l, topk: topK(p, l, Math.min(5, k)) });
          }
        },
      },
      evaluations,
    );
    return out;
  }

  /** The class each image is explained for (class targets only: a class, topK). */
  resolveTargets(targets: CommonOptions['targets'], predictions: ImagePrediction[]): number[] {
    return resolveTargets(this.model, targets, predictions, 'logit').map((t) => {
      if (t.description.kind !== 'class') throw new OptionError(`targets: one class per image is needed here, got a ${t.description.kind} target`);
      return t.index;
    });
  }

  /** Target rows over `width` units (default: the classes): a class index gives a one-hot row (-1 an all-zero row); a row is used as it is. */
  targetRows(targets: readonly (number | Float32Array)[], width = this.model.numClasses): FloatTensor {
    const data = new Float32Array(targets.length * width);
    targets.forEach((t, i) => {
      if (typeof t === 'number') {
        if (t >= 0) data[i * width + t] = 1;
      } else data.set(t, i * width);
    });
    return { data, dims: [targets.length, width] };
  }

  /**
   * Items per batch, at most `limit`. Without `internalBatchSize`: as many as fit the memory
   * budget (`memoryBudgetMB`, default 512 MiB, lowered to the free memory the runtime
   * reports), counting every float activation of one item twice (forward and backward). An
   * `internalBatchSize` over the budget or the free memory, or a budget below one item, is
   * refused, naming what fits.
   */
  batchSize(options: Pick<CommonOptions, 'internalBatchSize' | 'memoryBudgetMB'>, limit: number): number {
    const per = this.bytesPerItem();
    const MiB = 1024 * 1024;
    const free = this.runtime.options.freeMemoryMB?.();
    const given = options.memoryBudgetMB;
    if (given !== undefined && !(Number.isFinite(given) && given > 0)) throw new OptionError(`memoryBudgetMB must be a positive number, got ${given}`);
    const need = (n: number) => `about ${Math.ceil((n * per) / MiB)} MiB`;
    if (given !== undefined && given * MiB < per) {
      throw new OptionError(`memoryBudgetMB ${given} is less than one item of this model needs (${need(1)})`);
    }
    const b = options.internalBatchSize;
    if (b !== undefined) {
      if (!Number.isSafeInteger(b) || b < 1) throw new OptionError(`internalBatchSize must be a positive integer, got ${b}`);
      const n = Math.min(b, limit);
      const cap = Math.min(given ?? Infinity, free ?? Infinity);
      if (n * per > cap * MiB) {
        const what = cap === given ? `memoryBudgetMB ${given}` : `the ${Math.floor(cap)} MiB of free memory`;
        throw new OptionError(`internalBatchSize ${b} needs ${need(n)} per batch, more than ${what}; use at most ${Math.max(1, Math.floor((cap * MiB) / per))}`);
      }
      return n;
    }
    const budget = this.memoryBudgetMB(options) * MiB;
    return Math.max(1, Math.min(limit, Math.floor(budget / per)));
  }

  /** The memory budget in MiB: `memoryBudgetMB` (default 512), lowered to the free memory the runtime reports. */
  memoryBudgetMB(options: Pick<CommonOptions, 'memoryBudgetMB'>): number {
    return Math.min(options.memoryBudgetMB ?? DEFAULT_MEMORY_BUDGET_MB, this.runtime.options.freeMemoryMB?.() ?? Infinity);
  }

  /**
   * Bytes one item needs: its float activations, twice (forward and backward). A tensor that
   * onnxruntime computes in place of its producer's output (an activation, a BatchNorm, a
   * Mul or Add by a constant after a node whose output has no other use: fused) or that is
   * a view (Reshape, Flatten, ...) is not counted. An upper bound: the measured peak is 2-4
   * times lower (MobileNet v1 at 224: estimate 33 MiB per path point, peak 7-15 MiB).
   */
  bytesPerItem(): number {
    let cached = itemBytes.get(this.model);
    if (cached === undefined) itemBytes.set(this.model, (cached = activationFloats(this.model) * 4 * 2));
    return cached;
  }

  /**
   * Feeds for `count` items of a graph cut at `layer` (`fed`, built with `feed: layer`): the
   * layer's values, the image repeated when the cut graph still reads it (a branch around the
   * layer), and each item's target row when the graph has a score.
   */
  cutFeeds(fed: BuiltSession, layer: string, values: FloatTensor, image: Float32Array, rows?: readonly Float32Array[]): Record<string, FloatTensor> {
    const count = values.dims[0]!;
    const f: Record<string, FloatTensor> = { [layer]: values };
    if (fed.session.inputNames.includes(this.model.inputName)) f[this.model.inputName] = this.stack(new Array<Float32Array>(count).fill(image), range(0, count));
    if (rows) f[TARGETS_INPUT] = this.targetRows(rows, rows[0]!.length);
    return f;
  }

  /** Feeds for a batch of inputs with targets (class indices or target rows over `width` units). */
  feeds(input: FloatTensor, targets?: readonly (number | Float32Array)[], width?: number): Record<string, FloatTensor> {
    const f: Record<string, FloatTensor> = { [this.model.inputName]: input };
    if (targets) f[TARGETS_INPUT] = this.targetRows(targets, width);
    return f;
  }
}

/** Ops onnxruntime fuses into the node before them (or runs in place), and views. */
const FUSED = new Set(['Relu', 'Clip', 'LeakyRelu', 'Sigmoid', 'HardSigmoid', 'HardSwish', 'Tanh', 'Elu', 'Selu', 'Softplus', 'BatchNormalization', 'Identity', 'Dropout']);
const SCALE = new Set(['Mul', 'Add', 'Sub', 'Div']);
const VIEWS = new Set(['Reshape', 'Flatten', 'Squeeze', 'Unsqueeze', 'Identity']);

/** Float values of one item's activations that take memory of their own (see bytesPerItem). */
function activationFloats(model: Model): number {
  const g = model.graph;
  const uses = consumers(g);
  const isConst = (t: string) => g.initializers.has(t) || !model.shapes.get(t)?.shape || model.shapes.get(t)!.shape![0] !== BATCH;
  const size = (t: string) => {
    const k = model.shapes.get(t);
    if (!k?.shape || !FLOAT_TYPES.has(k.dataType) || k.shape[0] !== BATCH) return 0;
    let n = 1;
    for (const d of k.shape.slice(1)) n *= typeof d === 'number' ? d : 1;
    return n;
  };
  let floats = size(model.inputName);
  for (const node of g.nodes) {
    const acts = node.inputs.filter((i) => i && !isConst(i));
    const inPlace =
      acts.length === 1 && (uses.get(acts[0]!)?.length ?? 0) === 1 && (FUSED.has(node.opType) || (SCALE.has(node.opType) && node.inputs.length === 2));
    if (inPlace || VIEWS.has(node.opType)) continue;
    for (const o of node.outputs) if (o) floats += size(o);
  }
  return floats;
}

/** Refuses NaN and infinite values in a tensor given by the caller, naming it. */
export function assertFinite(data: Float32Array, what: string): void {
  for (let i = 0; i < data.length; i++) {
    if (!Number.isFinite(data[i]!)) throw new OptionError(`${what} holds ${data[i]} at index ${i}; inputs must be finite numbers`);
  }
}

